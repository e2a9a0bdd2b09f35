package memory_test

import (
	"errors"
	"testing"

	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/memory"
)

// FuzzUsernames checks that two names name one account exactly when their
// normalised forms are equal, whatever the names.
func FuzzUsernames(f *testing.F) {
	for _, seed := range [][2]string{
		{"alice@example.com", "Alice@Example.com"},
		{"alice@example.com", "ａｌｉｃｅ@example.com"},
		{"straße@example.com", "STRASSE@example.com"},
		{"alice@example.com", "ali\u200bce@example.com"},
		{"alice", "alice\x00"},
		{"\u212Aelvin", "kelvin"},
		{" x ", "x"},
		{"", "\xff"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		s := memory.New()
		ctx := t.Context()
		na, errA := userstore.NormalizeUsername(a)
		nb, errB := userstore.NormalizeUsername(b)

		created, err := s.CreateUser(ctx, newUser(a))
		if errA != nil {
			if !errors.Is(err, userstore.ErrInvalidUser) || !errors.Is(err, userstore.ErrInvalidUsername) {
				t.Fatalf("CreateUser(%q) = %v, want ErrInvalidUser and ErrInvalidUsername", a, err)
			}
		} else if err != nil {
			t.Fatalf("CreateUser(%q): %v", a, err)
		}

		got, err := s.UserByUsername(ctx, b)
		switch {
		case errB != nil:
			if !errors.Is(err, userstore.ErrInvalidUsername) {
				t.Fatalf("UserByUsername(%q) = %v, %v; want ErrInvalidUsername", b, got, err)
			}
		case errA == nil && na == nb:
			if err != nil || got.ID != created.ID || got.Username != a {
				t.Fatalf("UserByUsername(%q) = %v, %v; want the user created as %q", b, got, err, a)
			}
		default:
			if !errors.Is(err, userstore.ErrNotFound) {
				t.Fatalf("UserByUsername(%q) = %v, %v; want ErrNotFound", b, got, err)
			}
		}

		if errB == nil {
			_, err := s.CreateUser(ctx, newUser(b))
			if dup := errA == nil && na == nb; dup != errors.Is(err, userstore.ErrDuplicate) || !dup && err != nil {
				t.Fatalf("CreateUser(%q) after CreateUser(%q) = %v; duplicate: %t", b, a, err, dup)
			}
		}
	})
}
