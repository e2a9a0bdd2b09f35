package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/sqlstore"
)

// TestTokensValidAfterNeverMovesBack puts a user's cut-off in the future,
// as another instance with a fast clock would, and checks that no write
// moves it back.
func TestTokensValidAfterNeverMovesBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, db := newStore(t, b)
		alice := mustCreate(t, s, "alice@example.com", "user")
		future := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
		if _, err := db.ExecContext(t.Context(), "UPDATE authkit_users SET tokens_valid_after = $1 WHERE id = $2",
			future.UnixMicro(), alice.ID); err != nil {
			t.Fatalf("setting a future cut-off: %v", err)
		}
		for _, op := range []struct {
			name string
			do   func() error
		}{
			{"RevokeTokens", func() error { return s.RevokeTokens(t.Context(), alice.ID) }},
			{"SetPasswordHash", func() error { return s.SetPasswordHash(t.Context(), alice.ID, fakeHash()) }},
			{"SetDisabled(true)", func() error { return s.SetDisabled(t.Context(), alice.ID, true) }},
			{"SetDisabled(false)", func() error { return s.SetDisabled(t.Context(), alice.ID, false) }},
			{"UpdateUser(new roles)", func() error {
				u := mustGet(t, s, alice.ID)
				u.Roles = append(u.Roles, "admin")
				_, err := s.UpdateUser(t.Context(), u)
				return err
			}},
			{"UpdateUser(disable)", func() error {
				u := mustGet(t, s, alice.ID)
				u.Disabled = true
				_, err := s.UpdateUser(t.Context(), u)
				return err
			}},
		} {
			t.Run(op.name, func(t *testing.T) {
				if err := op.do(); err != nil {
					t.Fatalf("%s: %v", op.name, err)
				}
				if got := mustGet(t, s, alice.ID).TokensValidAfter; !got.Equal(future) {
					t.Errorf("TokensValidAfter after %s = %v, want %v (not moved back)", op.name, got, future)
				}
			})
		}
	})
}

// TestRejectsUnstorableText checks that text PostgreSQL cannot hold is
// refused alike on both databases, and that nothing is written.
func TestRejectsUnstorableText(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, _ := newStore(t, b)
		alice := mustCreate(t, s, "alice@example.com", "user")
		user := func(f func(u *userstore.User)) *userstore.User {
			u := &userstore.User{Username: "eve@example.com", Name: "Eve", Email: "eve@example.com", PasswordHash: fakeHash()}
			f(u)
			return u
		}
		creates := []struct {
			name string
			user *userstore.User
		}{
			{"NUL in name", user(func(u *userstore.User) { u.Name = "Eve\x00" })},
			{"invalid UTF-8 in email", user(func(u *userstore.User) { u.Email = "eve\xff@example.com" })},
			{"NUL in hash", user(func(u *userstore.User) { u.PasswordHash += "\x00" })},
			{"invalid UTF-8 in role", user(func(u *userstore.User) { u.Roles = []string{"user", "ad\xc0min"} })},
			{"control character in ID", user(func(u *userstore.User) { u.ID = "id\x01" })},
			{"ID too long", user(func(u *userstore.User) { u.ID = strings.Repeat("x", 257) })},
		}
		for _, tc := range creates {
			t.Run("CreateUser/"+tc.name, func(t *testing.T) {
				if got, err := s.CreateUser(t.Context(), tc.user); !errors.Is(err, userstore.ErrInvalidUser) {
					t.Errorf("CreateUser(%s) = %v, %v; want ErrInvalidUser", tc.name, got, err)
				}
				if u, err := s.UserByUsername(t.Context(), "eve@example.com"); !errors.Is(err, userstore.ErrNotFound) {
					t.Errorf("UserByUsername after the refused create = %v, %v; want ErrNotFound", u, err)
				}
			})
		}
		t.Run("UpdateUser", func(t *testing.T) {
			u := alice.Clone()
			u.Roles = []string{"\x00"}
			if got, err := s.UpdateUser(t.Context(), u); !errors.Is(err, userstore.ErrInvalidUser) {
				t.Errorf("UpdateUser(NUL role) = %v, %v; want ErrInvalidUser", got, err)
			}
		})
		t.Run("SetPasswordHash", func(t *testing.T) {
			if err := s.SetPasswordHash(t.Context(), alice.ID, "\xff"); !errors.Is(err, userstore.ErrInvalidUser) {
				t.Errorf("SetPasswordHash(invalid UTF-8) = %v, want ErrInvalidUser", err)
			}
		})
		t.Run("UpgradePasswordHash", func(t *testing.T) {
			if err := s.UpgradePasswordHash(t.Context(), alice.ID, alice.PasswordHash, "x\x00"); !errors.Is(err, userstore.ErrInvalidUser) {
				t.Errorf("UpgradePasswordHash(NUL) = %v, want ErrInvalidUser", err)
			}
			if err := s.UpgradePasswordHash(t.Context(), alice.ID, "\xff", fakeHash()); !errors.Is(err, userstore.ErrConflict) {
				t.Errorf("UpgradePasswordHash(from invalid UTF-8) = %v, want ErrConflict", err)
			}
		})
		t.Run("lookups", func(t *testing.T) {
			for _, id := range []string{"\xff", "a\x00b", strings.Repeat("x", 300)} {
				if u, err := s.UserByID(t.Context(), id); !errors.Is(err, userstore.ErrNotFound) {
					t.Errorf("UserByID(%q) = %v, %v; want ErrNotFound", id, u, err)
				}
				if err := s.RevokeTokens(t.Context(), id); !errors.Is(err, userstore.ErrNotFound) {
					t.Errorf("RevokeTokens(%q) = %v, want ErrNotFound", id, err)
				}
			}
		})
		got := mustGet(t, s, alice.ID)
		if got.PasswordHash != alice.PasswordHash || len(got.Roles) != 1 || !got.UpdatedAt.Equal(alice.UpdatedAt) {
			t.Errorf("alice after refused writes = %+v, want %+v", got, alice)
		}
	})
}

// TestIDNeverReused deletes a user and tries to create another with its
// ID, through the same store and through a second store on the database.
func TestIDNeverReused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, db := newStore(t, b)
		other, err := sqlstore.New(t.Context(), db, b.dialect)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		alice := mustCreate(t, s, "alice@example.com")
		if err := s.DeleteUser(t.Context(), alice.ID); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		for name, store := range map[string]*sqlstore.Store{"same store": s, "other store": other} {
			u := &userstore.User{ID: alice.ID, Username: "alice@example.com", PasswordHash: fakeHash()}
			if got, err := store.CreateUser(t.Context(), u); !errors.Is(err, userstore.ErrDuplicate) {
				t.Errorf("%s: CreateUser(deleted ID) = %v, %v; want ErrDuplicate", name, got, err)
			}
		}
		// The username is free again.
		if again := mustCreate(t, other, "Alice@Example.com"); again.ID == alice.ID {
			t.Errorf("CreateUser after DeleteUser reused ID %q", alice.ID)
		}
	})
}

// TestContextCanceledWhileWaiting blocks a write behind a lock another
// connection holds, then ends the write's context: the write returns an
// error wrapping the context's error instead of waiting out the lock, and
// changes nothing.
func TestContextCanceledWhileWaiting(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, db := newStore(t, b)
		alice := mustCreate(t, s, "alice@example.com")

		// Hold the lock the write needs: SQLite's write lock, or
		// PostgreSQL's row lock on alice.
		holder, err := db.BeginTx(t.Context(), nil)
		if err != nil {
			t.Fatalf("BeginTx: %v", err)
		}
		defer holder.Rollback()
		lock := "UPDATE authkit_users SET name = name WHERE id = $1"
		if _, err := holder.ExecContext(t.Context(), lock, alice.ID); err != nil {
			t.Fatalf("taking the lock: %v", err)
		}

		writes := []struct {
			name string
			do   func(ctx context.Context) error
		}{
			{"SetDisabled", func(ctx context.Context) error { return s.SetDisabled(ctx, alice.ID, true) }},
			{"UpdateUser", func(ctx context.Context) error {
				u := alice.Clone()
				u.Roles = []string{"admin"}
				_, err := s.UpdateUser(ctx, u)
				return err
			}},
		}
		for _, w := range writes {
			t.Run(w.name, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error, 1)
				go func() { done <- w.do(ctx) }()
				// The write cannot finish while the lock is held; cancel
				// it whether it is waiting yet or not.
				time.AfterFunc(50*time.Millisecond, cancel)
				if err := <-done; !errors.Is(err, context.Canceled) {
					t.Errorf("%s with a canceled context = %v, want context.Canceled", w.name, err)
				}
			})
		}
		if err := holder.Rollback(); err != nil {
			t.Fatalf("Rollback: %v", err)
		}
		got := mustGet(t, s, alice.ID)
		if got.Disabled || len(got.Roles) != 0 {
			t.Errorf("alice after canceled writes: Disabled = %t, Roles = %q; want false, none", got.Disabled, got.Roles)
		}
		// The pool is usable afterwards.
		if err := s.SetDisabled(t.Context(), alice.ID, true); err != nil {
			t.Errorf("SetDisabled after the canceled writes: %v", err)
		}
	})
}

func TestNewWrongDialect(t *testing.T) {
	t.Parallel()
	db := openPostgres(t)
	if s, err := sqlstore.New(t.Context(), db, sqlstore.SQLite); err == nil {
		t.Errorf("New(PostgreSQL database, SQLite) = %v, nil; want an error", s)
	}
	if _, err := sqlstore.New(t.Context(), db, sqlstore.Postgres); err != nil {
		t.Errorf("New(PostgreSQL database, Postgres): %v", err)
	}
}
