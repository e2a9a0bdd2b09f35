package userstore

import (
	"context"
	"errors"
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
	// (false, nil); an encoded string it cannot read is an error.
	Verify(encoded, password string) (bool, error)
	// NeedsRehash reports whether encoded was made with another algorithm
	// or with parameters weaker than the hasher's current ones, so that the
	// caller should store a fresh Hash after the next successful Verify.
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
