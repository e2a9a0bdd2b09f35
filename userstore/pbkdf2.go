package userstore

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Bounds of the PBKDF2-SHA256 verifier.
const (
	// pbkdf2MaxRounds caps the iteration count of stored hashes: about
	// eight times OWASP's 600,000, and about a second of CPU, like the
	// argon2id bounds.
	pbkdf2MaxRounds = 5_000_000
	pbkdf2MinSalt   = 1
	pbkdf2MaxSalt   = 64
	pbkdf2MinKey    = 16
	pbkdf2MaxKey    = 64
)

// PBKDF2 is a verify-only [PasswordHasher] for PBKDF2-HMAC-SHA256 hashes in
// passlib's format, as Python services (FastAPI's examples among them)
// store them:
//
//	$pbkdf2-sha256$<rounds>$<salt>$<hash>
//
// where salt and hash use passlib's "adapted base64": standard base64
// without padding, with '.' in place of '+'. It exists so that hashes
// migrated from such systems keep working until the next login replaces
// them (see [Hasher]): Hash returns [ErrVerifyOnly] and NeedsRehash is
// always true.
//
// Like passlib, it hashes the password's UTF-8 bytes as they come, without
// NFKC normalisation. Hashes with more than 5,000,000 rounds, a salt over
// 64 bytes or a hash outside 16 to 64 bytes are malformed.
type PBKDF2 struct{}

var _ PasswordHasher = (*PBKDF2)(nil)

// NewPBKDF2SHA256 returns the verify-only PBKDF2-SHA256 hasher.
func NewPBKDF2SHA256() *PBKDF2 { return &PBKDF2{} }

// Hash returns [ErrVerifyOnly]: new hashes should use [Argon2id].
func (*PBKDF2) Hash(string) (string, error) {
	return "", fmt.Errorf("%w: pbkdf2-sha256", ErrVerifyOnly)
}

// Verify reports whether password matches the passlib pbkdf2-sha256 hash
// encoded, comparing in constant time. It returns an error wrapping
// [ErrUnknownHashFormat] if encoded is not pbkdf2-sha256, and one wrapping
// [ErrMalformedHash] if it cannot be read or lies outside the bounds
// documented on [PBKDF2].
func (*PBKDF2) Verify(encoded, password string) (bool, error) {
	rounds, salt, want, err := parsePBKDF2(encoded)
	if err != nil {
		return false, err
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, rounds, len(want))
	if err != nil { // FIPS 140-3 enforcement refusing the parameters
		return false, fmt.Errorf("userstore: pbkdf2-sha256: %w", err)
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NeedsRehash returns true: every PBKDF2 hash should be replaced by one of
// the preferred algorithm.
func (*PBKDF2) NeedsRehash(string) bool { return true }

// passlibB64 is passlib's adapted base64 once '.' is mapped back to '+'.
var passlibB64 = base64.RawStdEncoding

// parsePBKDF2 decodes a passlib pbkdf2-sha256 string.
func parsePBKDF2(encoded string) (rounds int, salt, key []byte, err error) {
	f, err := splitFields(encoded, "pbkdf2-sha256", 3)
	if err != nil {
		return 0, nil, nil, err
	}
	malformed := func(what string, err error) (int, []byte, []byte, error) {
		return 0, nil, nil, fmt.Errorf("%w: pbkdf2-sha256 %s: %w", ErrMalformedHash, what, err)
	}
	r, ok := parseDecimal(f[0], 1, pbkdf2MaxRounds)
	if !ok {
		return malformed("rounds", fmt.Errorf("not a number in [1, %d]", pbkdf2MaxRounds))
	}
	if strings.ContainsRune(f[1]+f[2], '+') {
		return malformed("encoding", errors.New("'+' in adapted base64"))
	}
	if salt, err = decodeB64(passlibB64, strings.ReplaceAll(f[1], ".", "+"), pbkdf2MinSalt, pbkdf2MaxSalt); err != nil {
		return malformed("salt", err)
	}
	if key, err = decodeB64(passlibB64, strings.ReplaceAll(f[2], ".", "+"), pbkdf2MinKey, pbkdf2MaxKey); err != nil {
		return malformed("hash", err)
	}
	return int(r), salt, key, nil
}
