// Package storetest is the conformance suite for implementations of
// [userstore.Store] and [userstore.Manager].
//
// A store's own tests call [Run] for the read side every store must honour,
// and [RunManager] for the administrative side if the store implements
// [userstore.Manager]:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, seed []userstore.User) userstore.Store {
//			return newSeededStore(t, seed)
//		})
//		storetest.RunManager(t, func(t *testing.T) userstore.Manager {
//			return newEmptyStore(t)
//		})
//	}
//
// The suite checks the documented contract only, never an implementation's
// internals, and it treats password hashes as opaque strings: it stores
// random ones, never real hashes or passwords. It also fixes points the
// interface documentation leaves open, each stated on [Run] or
// [RunManager], so that every store answers alike.
package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/userstore"
)

// Run checks the read side of a store: [userstore.Store].
//
// newStore must return a fresh store that holds exactly the users in seed,
// with their IDs, usernames (as given, not normalised), names, e-mail
// addresses, password hashes, roles, disabled flags and TokensValidAfter
// instants (to the second). It is called once per subtest; the subtests do
// not run in parallel with one another.
//
// Beyond the interface documentation, Run requires that a store:
//   - finds a user by any name with the same [userstore.NormalizeUsername]
//     form, and returns the username as stored;
//   - answers a lookup by a name that NormalizeUsername rejects (empty, a
//     zero-width or control character, invalid UTF-8, too long) with an
//     error wrapping [userstore.ErrInvalidUsername], not ErrNotFound;
//   - compares IDs exactly (no case folding or trimming), and answers an
//     empty or unknown ID with [userstore.ErrNotFound];
//   - returns disabled users like any other (the caller decides what
//     Disabled means);
//   - returns an error wrapping the context's error when the context is
//     already done.
func Run(t *testing.T, newStore func(t *testing.T, seed []userstore.User) userstore.Store) {
	t.Helper()
	seed := seedUsers()
	alice, bob, carol, dora := seed[0], seed[1], seed[2], seed[3]

	t.Run("ByUsername", func(t *testing.T) {
		s := newStore(t, seed)
		for _, want := range seed {
			got, err := s.UserByUsername(t.Context(), want.Username)
			if err != nil {
				t.Fatalf("UserByUsername(%q): %v", want.Username, err)
			}
			checkUser(t, "UserByUsername("+want.Username+")", got, &want)
		}
	})

	t.Run("ByID", func(t *testing.T) {
		s := newStore(t, seed)
		for _, want := range seed {
			got, err := s.UserByID(t.Context(), want.ID)
			if err != nil {
				t.Fatalf("UserByID(%q): %v", want.ID, err)
			}
			checkUser(t, "UserByID("+want.ID+")", got, &want)
		}
	})

	t.Run("Normalization", func(t *testing.T) {
		s := newStore(t, seed)
		tests := []struct {
			name, query string
			want        *userstore.User
		}{
			{"exact", "alice@example.com", &alice},
			{"mixed case", "Alice@Example.com", &alice},
			{"upper case", "ALICE@EXAMPLE.COM", &alice},
			{"surrounding space", "  alice@example.com\t", &alice},
			{"fullwidth letters", "ａｌｉｃｅ@ｅｘａｍｐｌｅ.com", &alice},
			{"stored mixed case, exact", "Bob@Example.COM", &bob},
			{"stored mixed case, lower", "bob@example.com", &bob},
			{"kelvin sign, no such user", "\u212Aarl@example.com", nil},
			{"sharp s folds to ss", "DORA.STRASSE@example.com", &dora},
			{"sharp s", "dora.straße@example.com", &dora},
			{"ligature", "carol.ﬁ@example.com", &carol},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.UserByUsername(t.Context(), tc.query)
				if tc.want == nil {
					if !errors.Is(err, userstore.ErrNotFound) {
						t.Fatalf("UserByUsername(%q) = %v, %v; want ErrNotFound", tc.query, got, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("UserByUsername(%q): %v", tc.query, err)
				}
				checkUser(t, fmt.Sprintf("UserByUsername(%q)", tc.query), got, tc.want)
			})
		}
	})

	t.Run("InvalidUsername", func(t *testing.T) {
		s := newStore(t, seed)
		tests := []struct{ name, query string }{
			{"empty", ""},
			{"only spaces", "   "},
			{"zero-width space", "ali\u200bce@example.com"},
			{"zero-width joiner", "alice\u200d@example.com"},
			{"right-to-left override", "\u202ealice@example.com"},
			{"NUL", "alice\x00@example.com"},
			{"newline inside", "alice\n@example.com"},
			{"invalid UTF-8", "alice\xff@example.com"},
			{"too long", strings.Repeat("a", userstore.MaxUsernameBytes+1)},
			{"far too long", strings.Repeat("a", 1<<20)},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.UserByUsername(t.Context(), tc.query)
				if !errors.Is(err, userstore.ErrInvalidUsername) {
					t.Errorf("UserByUsername(%.40q) = %v, %v; want ErrInvalidUsername", tc.query, got, err)
				}
			})
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t, seed)
		tests := []struct {
			name   string
			lookup func(ctx context.Context) (*userstore.User, error)
		}{
			{"unknown username", func(ctx context.Context) (*userstore.User, error) {
				return s.UserByUsername(ctx, "mallory@example.com")
			}},
			{"username prefix", func(ctx context.Context) (*userstore.User, error) {
				return s.UserByUsername(ctx, "alice@example")
			}},
			{"unknown ID", func(ctx context.Context) (*userstore.User, error) {
				return s.UserByID(ctx, rand.Text())
			}},
			{"empty ID", func(ctx context.Context) (*userstore.User, error) {
				return s.UserByID(ctx, "")
			}},
			{"ID in other case", func(ctx context.Context) (*userstore.User, error) {
				return s.UserByID(ctx, strings.ToLower(alice.ID))
			}},
			{"ID with space", func(ctx context.Context) (*userstore.User, error) {
				return s.UserByID(ctx, " "+alice.ID)
			}},
			{"username as ID", func(ctx context.Context) (*userstore.User, error) {
				return s.UserByID(ctx, alice.Username)
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := tc.lookup(t.Context())
				if !errors.Is(err, userstore.ErrNotFound) {
					t.Errorf("lookup = %v, %v; want ErrNotFound", got, err)
				}
				if got != nil {
					t.Errorf("lookup returned a user with ErrNotFound: %v", got)
				}
			})
		}
	})

	t.Run("DisabledUserIsReturned", func(t *testing.T) {
		s := newStore(t, seed)
		got, err := s.UserByUsername(t.Context(), carol.Username)
		if err != nil {
			t.Fatalf("UserByUsername(%q): %v", carol.Username, err)
		}
		if !got.Disabled {
			t.Errorf("UserByUsername(%q).Disabled = false, want true", carol.Username)
		}
	})

	t.Run("CopyIsolation", func(t *testing.T) {
		s := newStore(t, seed)
		for _, lookup := range []struct {
			name string
			get  func() (*userstore.User, error)
		}{
			{"UserByUsername", func() (*userstore.User, error) { return s.UserByUsername(t.Context(), alice.Username) }},
			{"UserByID", func() (*userstore.User, error) { return s.UserByID(t.Context(), alice.ID) }},
		} {
			t.Run(lookup.name, func(t *testing.T) {
				u, err := lookup.get()
				if err != nil {
					t.Fatalf("%s: %v", lookup.name, err)
				}
				scribble(u)
				again, err := lookup.get()
				if err != nil {
					t.Fatalf("%s after modifying the result: %v", lookup.name, err)
				}
				checkUser(t, lookup.name+" after modifying an earlier result", again, &alice)
			})
		}
	})

	t.Run("Concurrency", func(t *testing.T) {
		s := newStore(t, seed)
		const goroutines, rounds = 16, 50
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		for g := range goroutines {
			wg.Go(func() {
				for i := range rounds {
					want := seed[(g+i)%len(seed)]
					var u *userstore.User
					var err error
					if i%2 == 0 {
						u, err = s.UserByUsername(context.Background(), strings.ToUpper(want.Username))
					} else {
						u, err = s.UserByID(context.Background(), want.ID)
					}
					if err != nil {
						errs <- err
						return
					}
					if u.ID != want.ID {
						errs <- fmt.Errorf("lookup of %q returned ID %q, want %q", want.Username, u.ID, want.ID)
						return
					}
					scribble(u)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for _, want := range seed {
			got, err := s.UserByID(t.Context(), want.ID)
			if err != nil {
				t.Fatalf("UserByID(%q) after concurrent reads: %v", want.ID, err)
			}
			checkUser(t, "UserByID after concurrent reads", got, &want)
		}
	})

	t.Run("ContextDone", func(t *testing.T) {
		s := newStore(t, seed)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if u, err := s.UserByUsername(ctx, alice.Username); !errors.Is(err, context.Canceled) {
			t.Errorf("UserByUsername(canceled ctx) = %v, %v; want context.Canceled", u, err)
		}
		if u, err := s.UserByID(ctx, alice.ID); !errors.Is(err, context.Canceled) {
			t.Errorf("UserByID(canceled ctx) = %v, %v; want context.Canceled", u, err)
		}
	})
}

// seedUsers returns the users Run seeds: alice (admin, with a cut-off
// instant), bob (username stored in mixed case), carol (disabled, with a
// ligature in her name) and dora (whose name folds ß to ss).
func seedUsers() []userstore.User {
	cutoff := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return []userstore.User{{
		ID:               rand.Text(),
		Username:         "alice@example.com",
		Name:             "Alice",
		Email:            "alice@example.com",
		PasswordHash:     fakeHash(),
		Roles:            []string{"admin", "user"},
		TokensValidAfter: cutoff,
	}, {
		ID:           rand.Text(),
		Username:     "Bob@Example.COM",
		Name:         "Bob",
		Email:        "bob@example.com",
		PasswordHash: fakeHash(),
		Roles:        []string{"user"},
	}, {
		ID:           rand.Text(),
		Username:     "carol.fi@example.com",
		Name:         "Carol",
		Email:        "carol@example.com",
		PasswordHash: fakeHash(),
		Disabled:     true,
	}, {
		ID:           rand.Text(),
		Username:     "Dora.Straße@example.com",
		Name:         "Dora",
		Email:        "dora@example.com",
		PasswordHash: fakeHash(),
		Roles:        []string{"user"},
	}}
}

// fakeHash returns a random string shaped like an encoded argon2id hash.
// Stores treat hashes as opaque, so it need not be one.
func fakeHash() string {
	return "$argon2id$v=19$m=19456,t=2,p=1$" + rand.Text() + "$" + rand.Text() + rand.Text()
}

// checkUser reports the fields of got that differ from want. Timestamps the
// store maintains are not compared; TokensValidAfter is, to the second.
func checkUser(t *testing.T, what string, got, want *userstore.User) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = nil user, want %q", what, want.Username)
		return
	}
	diff := func(field string, g, w any) {
		t.Helper()
		t.Errorf("%s: %s = %q, want %q", what, field, g, w)
	}
	if got.ID != want.ID {
		diff("ID", got.ID, want.ID)
	}
	if got.Username != want.Username {
		diff("Username", got.Username, want.Username)
	}
	if got.Name != want.Name {
		diff("Name", got.Name, want.Name)
	}
	if got.Email != want.Email {
		diff("Email", got.Email, want.Email)
	}
	if got.PasswordHash != want.PasswordHash {
		diff("PasswordHash", got.PasswordHash, want.PasswordHash)
	}
	if !slices.Equal(got.Roles, want.Roles) {
		diff("Roles", got.Roles, want.Roles)
	}
	if got.Disabled != want.Disabled {
		t.Errorf("%s: Disabled = %t, want %t", what, got.Disabled, want.Disabled)
	}
	if !sameSecond(got.TokensValidAfter, want.TokensValidAfter) {
		t.Errorf("%s: TokensValidAfter = %v, want %v", what, got.TokensValidAfter, want.TokensValidAfter)
	}
}

// sameSecond reports whether a and b fall in the same second, or are both
// zero.
func sameSecond(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero() == b.IsZero()
	}
	return a.Truncate(time.Second).Equal(b.Truncate(time.Second))
}

// scribble changes every field of u, including the elements of its Roles,
// as a careless caller might.
func scribble(u *userstore.User) {
	u.ID += "x"
	u.Username = "mallory@example.com"
	u.Name = "Mallory"
	u.Email = "mallory@example.com"
	u.PasswordHash = "x"
	for i := range u.Roles {
		u.Roles[i] = "root"
	}
	u.Roles = append(u.Roles, "root")
	u.Disabled = !u.Disabled
	u.CreatedAt = u.CreatedAt.Add(-time.Hour)
	u.UpdatedAt = u.UpdatedAt.Add(-time.Hour)
	u.TokensValidAfter = time.Time{}
}
