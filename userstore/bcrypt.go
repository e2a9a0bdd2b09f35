package userstore

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"
)

// Bounds of the bcrypt hasher.
const (
	bcryptDefaultCost = 12
	bcryptFloorCost   = 10 // OWASP's minimum work factor
	bcryptMinCost     = 4  // bcrypt.MinCost
	// bcryptMaxCost caps the cost of stored hashes (and of hashers): each
	// step doubles the work, and cost 16 already takes seconds, whereas
	// x/crypto's own cap of 31 takes days.
	bcryptMaxCost = 16
	// bcryptMaxPassword is the longest password bcrypt reads; it ignores
	// any further bytes.
	bcryptMaxPassword = 72
	bcryptEncodedLen  = 60 // "$2b$" + 2 cost digits + "$" + 22 salt + 31 hash
)

const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Bcrypt is a [PasswordHasher] for bcrypt, in the modular crypt format
// "$2a$12$<22-character salt><31-character hash>". It verifies the $2a$,
// $2b$ and $2y$ variants, at costs from 4 to 16; anything else is
// malformed.
//
// Passwords are NFKC-normalised first (Verify also accepts a migrated hash
// of the password as typed, see [Bcrypt.Verify]). bcrypt reads at most 72
// bytes and stops at a NUL byte, so Hash refuses a longer password with
// [ErrPasswordTooLong] and one containing NUL with [ErrInvalidPassword]
// instead of hashing a prefix of it, and Verify treats such a candidate as
// a mismatch without computing anything. A policy that accepts 64
// characters of any script therefore needs [Argon2id]; keep bcrypt for
// verifying hashes migrated from other systems.
type Bcrypt struct {
	cost int
}

var _ PasswordHasher = (*Bcrypt)(nil)

// NewBcrypt returns a bcrypt hasher of the given cost. Zero means 12. It
// refuses a cost below 10, OWASP's minimum, or above 16.
func NewBcrypt(cost int) (*Bcrypt, error) {
	if cost == 0 {
		cost = bcryptDefaultCost
	}
	if cost < bcryptFloorCost {
		return nil, fmt.Errorf("userstore: bcrypt cost %d below %d (use NewInsecureBcrypt in tests)", cost, bcryptFloorCost)
	}
	return NewInsecureBcrypt(cost)
}

// NewInsecureBcrypt is [NewBcrypt] without the floor of 10, for tests that
// need cheap hashes: it accepts costs from 4 to 16, zero meaning 12. Do not
// use it to store real passwords.
func NewInsecureBcrypt(cost int) (*Bcrypt, error) {
	if cost == 0 {
		cost = bcryptDefaultCost
	}
	if cost < bcryptMinCost || cost > bcryptMaxCost {
		return nil, fmt.Errorf("userstore: bcrypt cost %d outside [%d, %d]", cost, bcryptMinCost, bcryptMaxCost)
	}
	return &Bcrypt{cost: cost}, nil
}

// Cost returns the cost h hashes with.
func (h *Bcrypt) Cost() int { return h.cost }

// Hash returns the bcrypt hash of the NFKC form of password. It returns an
// error wrapping [ErrPasswordTooLong] if that form is over 72 bytes, and
// one wrapping [ErrInvalidPassword] if it contains NUL.
func (h *Bcrypt) Hash(password string) (string, error) {
	pw := norm.NFKC.String(password)
	if len(pw) > bcryptMaxPassword {
		return "", fmt.Errorf("%w: bcrypt reads at most %d bytes", ErrPasswordTooLong, bcryptMaxPassword)
	}
	if strings.IndexByte(pw, 0) >= 0 {
		return "", fmt.Errorf("%w: bcrypt cannot hash a NUL byte", ErrInvalidPassword)
	}
	b, err := bcrypt.GenerateFromPassword([]byte(pw), h.cost)
	if err != nil {
		return "", fmt.Errorf("userstore: bcrypt: %w", err)
	}
	return string(b), nil
}

// Verify reports whether the NFKC form of password, or else password as
// given, matches the bcrypt hash encoded, comparing in constant time:
// hashes that other systems made of the password's bytes as typed keep
// verifying (at the cost of a second comparison for a password not in NFKC
// form). A candidate over 72 bytes or containing NUL is a mismatch. It
// returns an error wrapping [ErrUnknownHashFormat] if encoded is not
// bcrypt, and one wrapping [ErrMalformedHash] if it cannot be read or its
// cost is outside [4, 16].
func (h *Bcrypt) Verify(encoded, password string) (bool, error) {
	if _, err := parseBcrypt(encoded); err != nil {
		return false, err
	}
	pw := norm.NFKC.String(password)
	ok, err := compareBcrypt(encoded, pw)
	if ok || err != nil || pw == password {
		return ok, err
	}
	// A hash migrated from another system is of the password as typed.
	return compareBcrypt(encoded, password)
}

// compareBcrypt reports whether pw matches the bcrypt hash encoded. A pw
// that bcrypt would truncate (over 72 bytes, or at a NUL) is a mismatch.
func compareBcrypt(encoded, pw string) (bool, error) {
	if len(pw) > bcryptMaxPassword || strings.IndexByte(pw, 0) >= 0 {
		return false, nil
	}
	switch err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(pw)); {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, fmt.Errorf("%w: bcrypt: %w", ErrMalformedHash, err)
	}
}

// NeedsRehash reports whether encoded is not a bcrypt hash of h's cost.
func (h *Bcrypt) NeedsRehash(encoded string) bool {
	cost, err := parseBcrypt(encoded)
	return err != nil || cost != h.cost
}

// parseBcrypt checks the syntax of a bcrypt hash and returns its cost.
func parseBcrypt(encoded string) (int, error) {
	switch hashID(encoded) {
	case "2a", "2b", "2y":
	default:
		return 0, ErrUnknownHashFormat
	}
	if len(encoded) != bcryptEncodedLen || encoded[6] != '$' {
		return 0, fmt.Errorf("%w: bcrypt: want $2b$NN$ and 53 characters", ErrMalformedHash)
	}
	cost, ok := parseDecimal(strings.TrimPrefix(encoded[4:6], "0"), bcryptMinCost, bcryptMaxCost)
	if !ok {
		return 0, fmt.Errorf("%w: bcrypt: cost outside [%d, %d]", ErrMalformedHash, bcryptMinCost, bcryptMaxCost)
	}
	for i := 7; i < len(encoded); i++ {
		if strings.IndexByte(bcryptAlphabet, encoded[i]) < 0 {
			return 0, fmt.Errorf("%w: bcrypt: invalid character at %d", ErrMalformedHash, i)
		}
	}
	return int(cost), nil
}
