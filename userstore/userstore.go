package userstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Sentinel errors returned by stores and hashers. Compare them with
// [errors.Is]; implementations may wrap them with more context.
var (
	// ErrNotFound reports that no user matches the lookup.
	ErrNotFound = errors.New("userstore: user not found")
	// ErrDuplicate reports that another user already holds the
	// normalised username (or the ID) being written.
	ErrDuplicate = errors.New("userstore: duplicate user")
	// ErrConflict reports that a conditional write lost a race: the stored
	// value was no longer the one the caller expected.
	ErrConflict = errors.New("userstore: conflicting update")
	// ErrInvalidUser reports a user record that cannot be stored, such as
	// one with an empty username or no password hash.
	ErrInvalidUser = errors.New("userstore: invalid user")
	// ErrInvalidUsername reports a login name that is empty, too long, not
	// valid UTF-8 or contains control characters.
	ErrInvalidUsername = errors.New("userstore: invalid username")
)

// MaxUsernameBytes is the longest login name, in bytes after
// normalisation, that [NormalizeUsername] accepts. RFC 5321 caps an e-mail
// address at 254 octets; 256 leaves room for that and little more.
const MaxUsernameBytes = 256

// User is an account as a [Store] keeps it.
//
// A User carries its password only as an encoded hash (see
// [PasswordHasher]); the plaintext never reaches a store. The hash stays
// out of logs and printouts: [User.LogValue] leaves it out, and
// [User.Format], [User.String] and [User.GoString] print a non-empty hash
// as "[redacted]" whatever the fmt verb.
type User struct {
	// ID is the stable, opaque identifier of the account. It becomes the
	// "sub" claim of the user's tokens, so it must never be reused.
	ID string
	// Username is the login name (an e-mail address in the examples).
	// Stores compare it after [NormalizeUsername], so "Alice@Example.com"
	// and "alice@example.com" name one account.
	Username string
	// Name is the display name.
	Name string
	// Email is the contact address. It may equal Username.
	Email string
	// PasswordHash is the encoded hash a [PasswordHasher] produced.
	PasswordHash string
	// Roles are the names of the roles the user holds, such as "admin".
	Roles []string
	// Disabled users cannot log in, and their tokens stop working where
	// the middleware loads the user.
	Disabled bool
	// CreatedAt and UpdatedAt are maintained by the store.
	CreatedAt time.Time
	// UpdatedAt is the time of the last change to the record.
	UpdatedAt time.Time
	// TokensValidAfter is the instant before which the user's tokens are
	// no longer accepted. Stores move it forward on a password change, a
	// role change or [Manager.RevokeTokens]. Its granularity, like that of
	// the JWT "iat" claim, is one second: a token issued in an earlier
	// second than TokensValidAfter is refused. The zero value cuts off
	// nothing.
	TokensValidAfter time.Time
}

// Clone returns a deep copy of u. Stores return clones so that a caller
// that modifies a returned User changes nothing stored.
func (u *User) Clone() *User {
	if u == nil {
		return nil
	}
	c := *u
	c.Roles = slices.Clone(u.Roles)
	return &c
}

// HasRole reports whether the user holds the named role.
func (u *User) HasRole(role string) bool {
	return slices.Contains(u.Roles, role)
}

// LogValue implements [slog.LogValuer]. It leaves the password hash out.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", u.ID),
		slog.String("username", u.Username),
		slog.Any("roles", u.Roles),
		slog.Bool("disabled", u.Disabled),
	)
}

// redactedHash stands in for a non-empty PasswordHash in printouts.
const redactedHash = "[redacted]"

// printedUser has User's fields and none of its methods, so that fmt prints
// it field by field.
type printedUser User

// Format implements [fmt.Formatter]: every verb, flag, width and precision
// prints u as fmt would print the struct, with a non-empty PasswordHash
// replaced by "[redacted]". A *User prints the same (without fmt's "&"
// prefix), and a nil *User as "<nil>".
func (u User) Format(f fmt.State, verb rune) {
	if u.PasswordHash != "" {
		u.PasswordHash = redactedHash
	}
	s := fmt.Sprintf(fmt.FormatString(f, verb), printedUser(u))
	if rest, ok := strings.CutPrefix(s, "userstore.printedUser"); ok && f.Flag('#') {
		s = "userstore.User" + rest
	}
	io.WriteString(f, s)
}

// String returns u as the %v verb prints it, hash redacted.
func (u User) String() string { return fmt.Sprintf("%v", u) }

// GoString returns u as the %#v verb prints it, hash redacted.
func (u User) GoString() string { return fmt.Sprintf("%#v", u) }

// Store looks up users. It is the read side that the token endpoint and the
// Bearer middleware consume.
//
// Implementations must be safe for concurrent use, and must return a
// *User that the caller may keep and modify without affecting the store.
type Store interface {
	// UserByUsername returns the user whose normalised username equals the
	// normalised form of username (see [NormalizeUsername]). It returns an
	// error wrapping [ErrNotFound] if there is none, and one wrapping
	// [ErrInvalidUsername] if username cannot be normalised.
	UserByUsername(ctx context.Context, username string) (*User, error)
	// UserByID returns the user with that ID, or an error wrapping
	// [ErrNotFound].
	UserByID(ctx context.Context, id string) (*User, error)
}

// Manager is a [Store] that can also create, change and delete users: the
// administrative side, which the token endpoint never needs.
//
// Every method must be safe for concurrent use. Methods that name a user by
// ID return an error wrapping [ErrNotFound] if there is none.
type Manager interface {
	Store
	PasswordHashUpgrader

	// CreateUser stores a new user. If u.ID is empty the store assigns a
	// random one. It returns an error wrapping [ErrDuplicate] if the
	// normalised username is taken or the ID was ever used (IDs become
	// token subjects and must never name two accounts), and one wrapping
	// [ErrInvalidUser] if the username is invalid or PasswordHash is
	// empty. The store sets CreatedAt and UpdatedAt; the caller's u is not
	// modified, and the stored user is returned.
	CreateUser(ctx context.Context, u *User) (*User, error)
	// UpdateUser replaces the profile of the user with u.ID: Username,
	// Name, Email, Roles and Disabled. It does not change PasswordHash or
	// CreatedAt. A change of roles, or disabling the user, moves
	// TokensValidAfter to now. A change of username to one another user
	// holds returns [ErrDuplicate].
	UpdateUser(ctx context.Context, u *User) (*User, error)
	// SetPasswordHash stores a new password hash for the user, as on a
	// password change, and moves TokensValidAfter to now so that tokens
	// issued before the change stop working.
	SetPasswordHash(ctx context.Context, id, hash string) error
	// SetDisabled disables or re-enables the user. Disabling moves
	// TokensValidAfter to now, so that re-enabling the user does not bring
	// back the tokens issued before.
	SetDisabled(ctx context.Context, id string, disabled bool) error
	// RevokeTokens moves TokensValidAfter to now: sign-out everywhere.
	RevokeTokens(ctx context.Context, id string) error
	// DeleteUser removes the user. Its ID is never handed out again by
	// the store's ID generator.
	DeleteUser(ctx context.Context, id string) error
	// ListUsers returns up to opts.Limit users ordered by ID, starting
	// after opts.After, and the cursor for the next page ("" when there
	// is none).
	ListUsers(ctx context.Context, opts ListOptions) (users []*User, next string, err error)
}

// PasswordHashUpgrader is the optional capability the token endpoint uses to
// store a fresher hash after a successful login (see
// [PasswordHasher.NeedsRehash]). Check for it with a type assertion.
type PasswordHashUpgrader interface {
	// UpgradePasswordHash replaces the user's password hash with newHash
	// if, and only if, it still equals oldHash; otherwise it returns an
	// error wrapping [ErrConflict] and changes nothing, so that a rehash
	// never overwrites a concurrent password change. It does not move
	// TokensValidAfter: the password is the same.
	UpgradePasswordHash(ctx context.Context, id, oldHash, newHash string) error
}

// ListOptions selects a page of [Manager.ListUsers].
type ListOptions struct {
	// After is the cursor returned by the previous page; empty starts at
	// the beginning.
	After string
	// Limit is the page size. Zero means 50; values above 1000 are
	// treated as 1000.
	Limit int
}

// PageLimit returns the effective page size of o.
func (o ListOptions) PageLimit() int {
	switch {
	case o.Limit <= 0:
		return 50
	case o.Limit > 1000:
		return 1000
	}
	return o.Limit
}

// NormalizeUsername returns the canonical form of a login name: Unicode
// NFKC, then case-folded, then NFKC again (case folding can denormalise),
// with surrounding white space removed. Two names with the same canonical
// form name one account.
//
// It returns an error wrapping [ErrInvalidUsername] for a name that is not
// valid UTF-8, is empty after normalisation, is longer than
// [MaxUsernameBytes], or contains control or format characters (which
// include the zero-width and bidirectional marks used to forge look-alike
// names).
func NormalizeUsername(name string) (string, error) {
	if len(name) > 4*MaxUsernameBytes {
		return "", ErrInvalidUsername
	}
	if n, ok := normalizeASCII(name); ok {
		return n, nil
	}
	return normalizeUnicode(name)
}

// normalizeUnicode is the full path of [NormalizeUsername].
func normalizeUnicode(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", ErrInvalidUsername
	}
	n := norm.NFKC.String(name)
	n = cases.Fold().String(n) // a Caser is stateful: one per call
	n = norm.NFKC.String(n)
	n = strings.TrimSpace(n)
	if n == "" || len(n) > MaxUsernameBytes {
		return "", ErrInvalidUsername
	}
	for _, r := range n {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "", ErrInvalidUsername
		}
	}
	return n, nil
}

// normalizeASCII is the fast path of [NormalizeUsername] for printable ASCII
// names, for which NFKC is the identity and case folding is lowering. It
// reports false for anything else, which takes the full path.
func normalizeASCII(name string) (string, bool) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > MaxUsernameBytes {
		return "", false
	}
	upper := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < 0x20 || c > 0x7e {
			return "", false
		}
		upper = upper || ('A' <= c && c <= 'Z')
	}
	if !upper {
		return name, true
	}
	return strings.ToLower(name), true
}
