package userstore

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Errors returned by [PasswordPolicy] (which also returns
// [ErrPasswordTooLong]).
var (
	// ErrPasswordTooShort reports a password with fewer characters than
	// the policy's minimum.
	ErrPasswordTooShort = errors.New("userstore: password too short")
	// ErrPasswordRejected reports a password that the policy's Reject hook
	// refused, as known-breached or too common, say.
	ErrPasswordRejected = errors.New("userstore: password rejected")
	// ErrInvalidPassword reports a password that is not valid UTF-8, or
	// that an algorithm cannot hash (bcrypt and a NUL byte).
	ErrInvalidPassword = errors.New("userstore: invalid password")
	// ErrInvalidPolicy reports a [PasswordPolicy] whose limits are out of
	// bounds.
	ErrInvalidPolicy = errors.New("userstore: invalid password policy")
)

// Limits of [PasswordPolicy], after NIST SP 800-63B rev. 4 §3.1.1.2.
const (
	// defaultMinPasswordLength is the minimum length, in characters, of a
	// password used as the only authentication factor.
	defaultMinPasswordLength = 15
	// minPasswordLengthFloor is the lowest minimum length a policy may
	// set: NIST's figure for a password used with a second factor.
	minPasswordLengthFloor = 8
	// defaultMaxPasswordBytes is the default cap on a password's length
	// in bytes.
	defaultMaxPasswordBytes = 1024
	// minMaxPasswordBytes is the lowest cap a policy may set: room for 64
	// characters of four UTF-8 bytes each, since NIST requires that at
	// least 64 characters be accepted.
	minMaxPasswordBytes = 256
)

// PasswordPolicy decides which new passwords are acceptable, after NIST SP
// 800-63B rev. 4: a minimum length, a generous maximum, any Unicode
// character (spaces and emoji included), no composition rules (no
// "one digit, one symbol"), and an optional check against known-breached
// or common passwords.
//
// Lengths are measured on the NFKC form of the password, which is the form
// the hashers hash. The zero PasswordPolicy is the default policy.
type PasswordPolicy struct {
	// MinLength is the minimum length in characters (Unicode code points
	// of the NFKC form). Zero means 15, NIST's figure for a password that
	// is the only factor; values from 8 (for multi-factor set-ups) up are
	// accepted, lower ones make the policy invalid.
	MinLength int
	// MaxBytes caps the password's length in bytes, both as given and in
	// NFKC form, to bound the cost of normalising and hashing it. Zero
	// means 1024; it must be at least 256 so that any 64 characters fit.
	MaxBytes int
	// Reject, if not nil, is called with the NFKC form of a password that
	// passed the length checks; a non-nil error rejects the password.
	// Use it to refuse known-breached, common or context-specific
	// passwords (the service's name, the username).
	Reject func(password string) error
}

// MaxPasswordBytes returns the effective byte cap of p. A login endpoint
// can refuse a longer password without hashing it: no password that
// [PasswordPolicy.Check] accepts is longer.
func (p PasswordPolicy) MaxPasswordBytes() int {
	if p.MaxBytes == 0 {
		return defaultMaxPasswordBytes
	}
	return p.MaxBytes
}

func (p PasswordPolicy) minLength() int {
	if p.MinLength == 0 {
		return defaultMinPasswordLength
	}
	return p.MinLength
}

// Validate returns an error wrapping [ErrInvalidPolicy] if p's limits are
// out of bounds: a MinLength below 8 (other than zero), a MaxBytes below
// 256 (other than zero), or a MinLength that MaxBytes cannot hold.
func (p PasswordPolicy) Validate() error {
	minLen, maxBytes := p.minLength(), p.MaxPasswordBytes()
	switch {
	case minLen < minPasswordLengthFloor:
		return fmt.Errorf("%w: MinLength %d below %d", ErrInvalidPolicy, minLen, minPasswordLengthFloor)
	case maxBytes < minMaxPasswordBytes:
		return fmt.Errorf("%w: MaxBytes %d below %d", ErrInvalidPolicy, maxBytes, minMaxPasswordBytes)
	case minLen > maxBytes:
		return fmt.Errorf("%w: MinLength %d above MaxBytes %d", ErrInvalidPolicy, minLen, maxBytes)
	}
	return nil
}

// Check returns nil if password is acceptable as a new password under p.
// Otherwise it returns an error wrapping [ErrInvalidPolicy] if p is
// invalid (see [PasswordPolicy.Validate]), [ErrInvalidPassword] if
// password is not valid UTF-8, [ErrPasswordTooLong] if it is over
// MaxBytes, [ErrPasswordTooShort] if it is under MinLength characters, or
// [ErrPasswordRejected] (and the hook's error) if Reject refuses it. The
// errors never contain the password.
func (p PasswordPolicy) Check(password string) error {
	if err := p.Validate(); err != nil {
		return err
	}
	maxBytes := p.MaxPasswordBytes()
	if len(password) > maxBytes {
		return fmt.Errorf("%w: over %d bytes", ErrPasswordTooLong, maxBytes)
	}
	if !utf8.ValidString(password) {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidPassword)
	}
	pw := norm.NFKC.String(password)
	if len(pw) > maxBytes {
		return fmt.Errorf("%w: over %d bytes once normalised", ErrPasswordTooLong, maxBytes)
	}
	if n, minLen := utf8.RuneCountInString(pw), p.minLength(); n < minLen {
		return fmt.Errorf("%w: %d characters, want at least %d", ErrPasswordTooShort, n, minLen)
	}
	if p.Reject != nil {
		if err := p.Reject(pw); err != nil {
			return fmt.Errorf("%w: %w", ErrPasswordRejected, err)
		}
	}
	return nil
}
