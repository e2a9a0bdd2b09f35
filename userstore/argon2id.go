package userstore

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Bounds of the argon2id hasher. A stored hash outside them is malformed,
// and no constructor accepts parameters outside them, so that one login can
// never be made to take more than 256 MiB or about a second of CPU.
const (
	argon2idSaltLen    = 16
	argon2idKeyLen     = 32
	argon2idMaxMemory  = 256 << 10 // KiB: 256 MiB
	argon2idMaxTime    = 16
	argon2idMaxThreads = 16
	argon2idMaxWork    = 1 << 20 // Memory×Time in KiB: 1 GiB of block writes
	argon2idMinSalt    = 8
	argon2idMaxSalt    = 64
	argon2idMinKey     = 16
	argon2idMaxKey     = 64

	// OWASP's floor: 19 MiB with two passes, or as much memory work
	// spread over more memory and fewer passes.
	argon2idFloorMemory = 19456
	argon2idFloorWork   = 2 * argon2idFloorMemory
)

var b64Argon2 = base64.RawStdEncoding.Strict()

// Argon2idParams are the cost parameters of [Argon2id]. Zero fields mean
// the defaults of [DefaultArgon2idParams].
type Argon2idParams struct {
	// Memory is the memory cost in KiB. Zero means 19456 (19 MiB).
	Memory uint32
	// Time is the number of passes over the memory. Zero means 2.
	Time uint32
	// Threads is the degree of parallelism. Zero means 1.
	Threads uint8
}

// DefaultArgon2idParams returns the parameters that OWASP's Password
// Storage Cheat Sheet sets as the floor for argon2id: m=19456 KiB, t=2, p=1.
func DefaultArgon2idParams() Argon2idParams {
	return Argon2idParams{Memory: argon2idFloorMemory, Time: 2, Threads: 1}
}

func (p Argon2idParams) withDefaults() Argon2idParams {
	d := DefaultArgon2idParams()
	if p.Memory == 0 {
		p.Memory = d.Memory
	}
	if p.Time == 0 {
		p.Time = d.Time
	}
	if p.Threads == 0 {
		p.Threads = d.Threads
	}
	return p
}

// check reports whether p lies within the hasher's bounds. It does not
// apply defaults: a zero field is out of bounds.
func (p Argon2idParams) check() error {
	switch {
	case p.Time < 1 || p.Time > argon2idMaxTime:
		return fmt.Errorf("time %d outside [1, %d]", p.Time, argon2idMaxTime)
	case p.Threads < 1 || p.Threads > argon2idMaxThreads:
		return fmt.Errorf("threads %d outside [1, %d]", p.Threads, argon2idMaxThreads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > argon2idMaxMemory:
		return fmt.Errorf("memory %d KiB outside [8×threads, %d]", p.Memory, argon2idMaxMemory)
	case uint64(p.Memory)*uint64(p.Time) > argon2idMaxWork:
		return fmt.Errorf("memory×time %d KiB above %d", uint64(p.Memory)*uint64(p.Time), argon2idMaxWork)
	}
	return nil
}

// Argon2id is a [PasswordHasher] for argon2id (RFC 9106), the default
// algorithm. It encodes hashes in the PHC string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with a 16-byte salt from crypto/rand and a 32-byte key, both in unpadded
// standard base64. Passwords are NFKC-normalised before hashing, so that a
// password typed in composed or decomposed form verifies alike.
//
// Verify reads the parameters from the encoded string, so hashes made with
// other parameters keep verifying, within bounds: memory at most 256 MiB,
// time at most 16, threads at most 16, memory×time at most 1 GiB, memory at
// least 8×threads, a salt of 8 to 64 bytes and a key of 16 to 64 bytes.
// Strings outside these bounds are malformed.
//
// Every hash costs Memory KiB while it runs: bound the number of concurrent
// hashes with [Hasher].
type Argon2id struct {
	p Argon2idParams
}

var _ PasswordHasher = (*Argon2id)(nil)

// NewArgon2id returns an argon2id hasher with parameters p, zero fields
// taking their defaults. It refuses parameters below OWASP's floor (Memory
// below 19456 KiB, or Memory×Time below 2×19456 KiB) or beyond the bounds
// documented on [Argon2id].
func NewArgon2id(p Argon2idParams) (*Argon2id, error) {
	p = p.withDefaults()
	if p.Memory < argon2idFloorMemory || uint64(p.Memory)*uint64(p.Time) < argon2idFloorWork {
		return nil, fmt.Errorf("userstore: argon2id parameters m=%d,t=%d below the OWASP floor m=%d,t=2 (use NewInsecureArgon2id in tests)",
			p.Memory, p.Time, argon2idFloorMemory)
	}
	return NewInsecureArgon2id(p)
}

// NewInsecureArgon2id is [NewArgon2id] without the OWASP floor, for tests
// that need cheap hashes (m=64, t=1, p=1, say). It still refuses
// parameters beyond the bounds documented on [Argon2id]. Do not use it to
// store real passwords.
func NewInsecureArgon2id(p Argon2idParams) (*Argon2id, error) {
	p = p.withDefaults()
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("userstore: argon2id parameters: %w", err)
	}
	return &Argon2id{p: p}, nil
}

// Params returns the parameters h hashes with.
func (h *Argon2id) Params() Argon2idParams { return h.p }

// Hash returns the PHC string of the NFKC form of password.
func (h *Argon2id) Hash(password string) (string, error) {
	salt := make([]byte, argon2idSaltLen)
	rand.Read(salt) // never fails
	key := argon2.IDKey([]byte(norm.NFKC.String(password)), salt, h.p.Time, h.p.Memory, h.p.Threads, argon2idKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.p.Memory, h.p.Time, h.p.Threads, b64Argon2.EncodeToString(salt), b64Argon2.EncodeToString(key)), nil
}

// Verify reports whether the NFKC form of password matches the argon2id
// PHC string encoded, comparing in constant time. It returns an error
// wrapping [ErrUnknownHashFormat] if encoded is not argon2id, and one
// wrapping [ErrMalformedHash] if it cannot be read or lies outside the
// bounds documented on [Argon2id].
func (h *Argon2id) Verify(encoded, password string) (bool, error) {
	d, err := parseArgon2id(encoded)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(norm.NFKC.String(password)), d.salt, d.p.Time, d.p.Memory, d.p.Threads, uint32(len(d.key)))
	return subtle.ConstantTimeCompare(key, d.key) == 1, nil
}

// NeedsRehash reports whether encoded is not an argon2id hash made with
// exactly h's parameters, salt length and key length.
func (h *Argon2id) NeedsRehash(encoded string) bool {
	d, err := parseArgon2id(encoded)
	return err != nil || d.p != h.p || len(d.salt) != argon2idSaltLen || len(d.key) != argon2idKeyLen
}

// argon2idHash is a decoded argon2id PHC string.
type argon2idHash struct {
	p         Argon2idParams
	salt, key []byte
}

// parseArgon2id decodes an argon2id PHC string, allocating nothing beyond
// its bounded salt and key.
func parseArgon2id(encoded string) (argon2idHash, error) {
	f, err := splitFields(encoded, "argon2id", 4)
	if err != nil {
		return argon2idHash{}, err
	}
	malformed := func(what string, err error) (argon2idHash, error) {
		return argon2idHash{}, fmt.Errorf("%w: argon2id %s: %w", ErrMalformedHash, what, err)
	}
	if f[0] != fmt.Sprintf("v=%d", argon2.Version) {
		return malformed("version", errors.New("want v=19"))
	}
	v, err := parseParams(f[1],
		paramSpec{"m", 1, argon2idMaxMemory},
		paramSpec{"t", 1, argon2idMaxTime},
		paramSpec{"p", 1, argon2idMaxThreads})
	if err != nil {
		return malformed("parameters", err)
	}
	d := argon2idHash{p: Argon2idParams{Memory: uint32(v[0]), Time: uint32(v[1]), Threads: uint8(v[2])}}
	if err := d.p.check(); err != nil {
		return malformed("parameters", err)
	}
	if d.salt, err = decodeB64(b64Argon2, f[2], argon2idMinSalt, argon2idMaxSalt); err != nil {
		return malformed("salt", err)
	}
	if d.key, err = decodeB64(b64Argon2, f[3], argon2idMinKey, argon2idMaxKey); err != nil {
		return malformed("hash", err)
	}
	return d, nil
}
