package userstore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// PasswordHasher hashes passwords into self-describing encoded strings (PHC
// string format or modular crypt format) and verifies candidates against
// them.
//
// Implementations must be safe for concurrent use, must compare in constant
// time, and must never panic or compute without bound on a hostile encoded
// string: they return an error wrapping [ErrMalformedHash] instead.
type PasswordHasher interface {
	// Hash returns the encoded hash of password, with a fresh random salt.
	Hash(password string) (string, error)
	// Verify reports whether password matches encoded. A mismatch is
	// (false, nil); an encoded string it cannot read is an error wrapping
	// [ErrMalformedHash], and one of an algorithm it does not handle is an
	// error wrapping [ErrUnknownHashFormat] (which lets [Hasher] try the
	// next one).
	Verify(encoded, password string) (bool, error)
	// NeedsRehash reports whether encoded was made with another algorithm
	// or with parameters other than (typically weaker than) the hasher's
	// current ones, or cannot be read, so that the caller should store a
	// fresh Hash after the next successful Verify.
	NeedsRehash(encoded string) bool
}

// ContextHasher is implemented by hashers that bound how many hashes run at
// once. A caller that has a context (a request's, say) should prefer these
// methods: they give up with the context's error when it ends while the call
// waits for its turn.
type ContextHasher interface {
	PasswordHasher
	// HashContext is Hash, waiting for a free slot no longer than ctx
	// allows.
	HashContext(ctx context.Context, password string) (string, error)
	// VerifyContext is Verify, waiting for a free slot no longer than ctx
	// allows.
	VerifyContext(ctx context.Context, encoded, password string) (bool, error)
}

// Errors returned by the hashers.
var (
	// ErrMalformedHash reports an encoded hash that cannot be read, or
	// whose parameters are outside the sane bounds a hasher accepts.
	ErrMalformedHash = errors.New("userstore: malformed password hash")
	// ErrUnknownHashFormat reports an encoded hash of an algorithm the
	// hasher does not know.
	ErrUnknownHashFormat = errors.New("userstore: unknown password hash format")
	// ErrPasswordTooLong reports a password longer than an algorithm can
	// hash without truncating it (72 bytes for bcrypt) or than the
	// [PasswordPolicy] allows.
	ErrPasswordTooLong = errors.New("userstore: password too long")
	// ErrVerifyOnly reports a Hash call on a hasher that only verifies
	// hashes migrated from other systems.
	ErrVerifyOnly = errors.New("userstore: hasher only verifies")
)

// Hasher is the [PasswordHasher] to give the token endpoint: it hashes with
// a preferred hasher, verifies the preferred format and every accepted one,
// and reports through NeedsRehash the hashes that are not in the preferred
// format with the preferred parameters, so that a login can upgrade them.
//
// Hasher bounds how many hashes (Hash or Verify calls) run at once, because
// each argon2id hash holds its memory cost while it runs: a burst of 1,000
// logins at 19 MiB each would otherwise take 19 GiB. Callers beyond the
// bound wait for a slot; [Hasher.HashContext] and [Hasher.VerifyContext]
// stop waiting when their context ends.
//
// The zero Hasher is ready to use and is what NewHasher(HasherConfig{})
// returns: argon2id with [DefaultArgon2idParams], bcrypt and PBKDF2-SHA256
// accepted for verifying, and runtime.GOMAXPROCS(0) hashes at once. It sets
// itself up on first use. A Hasher must not be copied after first use.
//
// A Hasher is safe for concurrent use.
type Hasher struct {
	setup     sync.Once
	setupErr  error
	preferred PasswordHasher
	verifiers []PasswordHasher // preferred first
	slots     chan struct{}
}

var _ ContextHasher = (*Hasher)(nil)

// HasherConfig configures [NewHasher].
type HasherConfig struct {
	// Preferred hashes new passwords and defines which hashes need a
	// rehash. Nil means NewArgon2id(DefaultArgon2idParams()).
	Preferred PasswordHasher
	// Accept lists the hashers of the other formats that Verify
	// recognises, tried in order after Preferred. Nil means bcrypt (at
	// the default cost, which only matters for its NeedsRehash) and
	// PBKDF2-SHA256 from passlib; an empty non-nil slice means none.
	Accept []PasswordHasher
	// MaxConcurrent is the number of hashes that may run at once. Zero
	// means runtime.GOMAXPROCS(0), as hashing is CPU-bound.
	MaxConcurrent int
}

// NewHasher returns a dispatching hasher configured by cfg. It returns an
// error if MaxConcurrent is negative, an Accept entry is nil, or Preferred
// cannot hash (a verify-only hasher such as [PBKDF2]).
func NewHasher(cfg HasherConfig) (*Hasher, error) {
	h := new(Hasher)
	h.setup.Do(func() { h.setupErr = h.configure(cfg) })
	if h.setupErr != nil {
		return nil, h.setupErr
	}
	return h, nil
}

// configure sets h up as cfg says. It runs once, under h.setup.
func (h *Hasher) configure(cfg HasherConfig) error {
	if cfg.MaxConcurrent < 0 {
		return fmt.Errorf("userstore: hasher: MaxConcurrent %d is negative", cfg.MaxConcurrent)
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = runtime.GOMAXPROCS(0)
	}
	if cfg.Preferred == nil {
		a, err := NewArgon2id(DefaultArgon2idParams())
		if err != nil {
			return err
		}
		cfg.Preferred = a
	}
	if _, ok := cfg.Preferred.(*PBKDF2); ok {
		return fmt.Errorf("userstore: hasher: Preferred is verify-only")
	}
	if cfg.Accept == nil {
		b, err := NewBcrypt(0)
		if err != nil {
			return err
		}
		cfg.Accept = []PasswordHasher{b, NewPBKDF2SHA256()}
	}
	verifiers := make([]PasswordHasher, 0, 1+len(cfg.Accept))
	verifiers = append(verifiers, cfg.Preferred)
	for i, a := range cfg.Accept {
		if a == nil {
			return fmt.Errorf("userstore: hasher: Accept[%d] is nil", i)
		}
		verifiers = append(verifiers, a)
	}
	h.preferred = cfg.Preferred
	h.verifiers = verifiers
	h.slots = make(chan struct{}, cfg.MaxConcurrent)
	return nil
}

// ready sets up a zero Hasher with the defaults on its first use, and
// returns the error that setting up met, if any.
func (h *Hasher) ready() error {
	h.setup.Do(func() { h.setupErr = h.configure(HasherConfig{}) })
	return h.setupErr
}

// acquire waits for a hashing slot, or for ctx to end.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := h.ready(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash hashes password with the preferred hasher, waiting as long as it
// takes for a slot.
func (h *Hasher) Hash(password string) (string, error) {
	return h.HashContext(context.Background(), password)
}

// HashContext hashes password with the preferred hasher. It returns
// ctx.Err() if ctx ends before a slot is free.
func (h *Hasher) HashContext(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.preferred.Hash(password)
}

// Verify verifies password against encoded with whichever hasher knows
// its format, waiting as long as it takes for a slot.
func (h *Hasher) Verify(encoded, password string) (bool, error) {
	return h.VerifyContext(context.Background(), encoded, password)
}

// VerifyContext verifies password against encoded with whichever hasher
// knows its format: the preferred one, then those of
// [HasherConfig.Accept] in order. It returns an error wrapping
// [ErrUnknownHashFormat] if none does, one wrapping [ErrMalformedHash] if
// the one that does cannot read encoded, and ctx.Err() if ctx ends before
// a slot is free.
func (h *Hasher) VerifyContext(ctx context.Context, encoded, password string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	for _, v := range h.verifiers {
		ok, err := v.Verify(encoded, password)
		if errors.Is(err, ErrUnknownHashFormat) {
			continue
		}
		return ok, err
	}
	return false, ErrUnknownHashFormat
}

// NeedsRehash reports whether encoded is not in the preferred format with
// the preferred parameters, as the preferred hasher judges it. It takes no
// slot: it only decodes.
func (h *Hasher) NeedsRehash(encoded string) bool {
	if h.ready() != nil {
		return true
	}
	return h.preferred.NeedsRehash(encoded)
}
