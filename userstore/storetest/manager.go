package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/userstore"
)

// RunManager checks the administrative side of a store:
// [userstore.Manager], including [userstore.PasswordHashUpgrader].
//
// newStore must return a fresh, empty store. It is called once per
// subtest; the subtests do not run in parallel with one another. The
// store's clock must be close to the real one: RunManager checks the
// timestamps a store sets against [time.Now], to the second.
//
// Beyond the interface documentation, RunManager requires that a store:
//   - answers an invalid username on CreateUser or UpdateUser with an error
//     wrapping [userstore.ErrInvalidUser], and an empty password hash on
//     CreateUser, SetPasswordHash or UpgradePasswordHash likewise;
//   - changes nothing when a write fails;
//   - ignores the caller's CreatedAt and UpdatedAt on CreateUser, but keeps
//     its TokensValidAfter (an imported account keeps its cut-off);
//   - never moves TokensValidAfter backwards;
//   - frees the username, but not the ID, of a deleted user;
//   - orders ListUsers by ID in byte order (the cursor itself is opaque);
//   - returns an error wrapping the context's error from every method when
//     the context is already done, and changes nothing then.
func RunManager(t *testing.T, newStore func(t *testing.T) userstore.Manager) {
	t.Helper()

	t.Run("CreateUser", func(t *testing.T) {
		m := newStore(t)
		in := &userstore.User{
			Username:     "Alice@Example.com",
			Name:         "Alice",
			Email:        "alice@example.com",
			PasswordHash: fakeHash(),
			Roles:        []string{"admin"},
			CreatedAt:    time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
			UpdatedAt:    time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		}
		orig := in.Clone()
		before := time.Now()
		got, err := m.CreateUser(t.Context(), in)
		after := time.Now()
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		if got.ID == "" {
			t.Errorf("CreateUser: ID is empty, want one assigned by the store")
		}
		want := orig.Clone()
		want.ID = got.ID
		checkUser(t, "CreateUser", got, want)
		checkTime(t, "CreateUser: CreatedAt", got.CreatedAt, before, after)
		checkTime(t, "CreateUser: UpdatedAt", got.UpdatedAt, before, after)
		checkUnchanged(t, "CreateUser's argument", in, orig)

		for _, name := range []string{"alice@example.com", "ALICE@EXAMPLE.COM"} {
			u, err := m.UserByUsername(t.Context(), name)
			if err != nil {
				t.Fatalf("UserByUsername(%q) after CreateUser: %v", name, err)
			}
			checkUser(t, "UserByUsername after CreateUser", u, want)
		}
		u, err := m.UserByID(t.Context(), got.ID)
		if err != nil {
			t.Fatalf("UserByID after CreateUser: %v", err)
		}
		checkUser(t, "UserByID after CreateUser", u, want)
		if !u.CreatedAt.Equal(got.CreatedAt) {
			t.Errorf("UserByID: CreatedAt = %v, want %v as CreateUser returned", u.CreatedAt, got.CreatedAt)
		}
	})

	t.Run("CreateUserKeepsGivenIDAndCutoff", func(t *testing.T) {
		m := newStore(t)
		in := newUser("alice@example.com", rand.Text())
		in.TokensValidAfter = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		got, err := m.CreateUser(t.Context(), in)
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		checkUser(t, "CreateUser", got, in)
		checkUser(t, "UserByID after CreateUser", mustGet(t, m, in.ID), in)
	})

	t.Run("CreateUserAssignsDistinctIDs", func(t *testing.T) {
		m := newStore(t)
		seen := make(map[string]bool)
		for i := range 20 {
			u := mustCreate(t, m, fmt.Sprintf("user%d@example.com", i))
			if seen[u.ID] {
				t.Fatalf("CreateUser assigned ID %q twice", u.ID)
			}
			seen[u.ID] = true
		}
	})

	t.Run("CreateUserRejects", func(t *testing.T) {
		m := newStore(t)
		alice := mustCreate(t, m, "Alice@Example.com")
		tests := []struct {
			name string
			user *userstore.User
			want error
		}{
			{"same username", newUser("Alice@Example.com", ""), userstore.ErrDuplicate},
			{"same after case folding", newUser("alice@example.com", ""), userstore.ErrDuplicate},
			{"same after NFKC", newUser("ａｌｉｃｅ@example.com", ""), userstore.ErrDuplicate},
			{"same after trimming", newUser(" alice@example.com ", ""), userstore.ErrDuplicate},
			{"same ID", newUser("other@example.com", alice.ID), userstore.ErrDuplicate},
			{"empty username", newUser("", ""), userstore.ErrInvalidUser},
			{"blank username", newUser(" \t ", ""), userstore.ErrInvalidUser},
			{"zero-width space", newUser("eve\u200b@example.com", ""), userstore.ErrInvalidUser},
			{"control character", newUser("eve\x07@example.com", ""), userstore.ErrInvalidUser},
			{"invalid UTF-8", newUser("eve\xc0@example.com", ""), userstore.ErrInvalidUser},
			{"empty hash", &userstore.User{Username: "eve@example.com"}, userstore.ErrInvalidUser},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if tc.user.ID == "" {
					tc.user.ID = rand.Text()
				}
				got, err := m.CreateUser(t.Context(), tc.user)
				if !errors.Is(err, tc.want) {
					t.Fatalf("CreateUser(%q) = %v, %v; want %v", tc.user.Username, got, err, tc.want)
				}
				if tc.user.ID != alice.ID {
					if u, err := m.UserByID(t.Context(), tc.user.ID); !errors.Is(err, userstore.ErrNotFound) {
						t.Errorf("UserByID after failed CreateUser = %v, %v; want ErrNotFound", u, err)
					}
				}
			})
		}
		u, err := m.UserByID(t.Context(), alice.ID)
		if err != nil {
			t.Fatalf("UserByID(alice) after failed creates: %v", err)
		}
		checkUnchanged(t, "alice after failed creates", u, alice)
	})

	t.Run("CreateUserCopiesInput", func(t *testing.T) {
		m := newStore(t)
		in := newUser("alice@example.com", "")
		in.Roles = []string{"user"}
		created, err := m.CreateUser(t.Context(), in)
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		want := created.Clone()
		scribble(in)
		scribble(created)
		got, err := m.UserByID(t.Context(), want.ID)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		checkUnchanged(t, "stored user after modifying CreateUser's argument and result", got, want)
	})

	t.Run("CreateUserRace", func(t *testing.T) {
		m := newStore(t)
		// All of these name one account.
		names := []string{
			"race@example.com", "RACE@EXAMPLE.COM", "Race@Example.com",
			" race@example.com", "ｒａｃｅ@example.com", "race@ｅｘａｍｐｌｅ.com",
		}
		results := race(50, func(i int) error {
			_, err := m.CreateUser(context.Background(), newUser(names[i%len(names)], ""))
			return err
		})
		winner := checkOneWinner(t, "CreateUser", results, userstore.ErrDuplicate)
		u, err := m.UserByUsername(t.Context(), "race@example.com")
		if err != nil {
			t.Fatalf("UserByUsername after race: %v", err)
		}
		if want := names[winner%len(names)]; u.Username != want {
			t.Errorf("UserByUsername after race: Username = %q, want the winner's %q", u.Username, want)
		}
		checkCount(t, m, 1)
	})

	t.Run("CreateUserRaceSameID", func(t *testing.T) {
		m := newStore(t)
		id := rand.Text()
		results := race(50, func(i int) error {
			_, err := m.CreateUser(context.Background(), newUser(fmt.Sprintf("user%d@example.com", i), id))
			return err
		})
		winner := checkOneWinner(t, "CreateUser", results, userstore.ErrDuplicate)
		u, err := m.UserByID(t.Context(), id)
		if err != nil {
			t.Fatalf("UserByID after race: %v", err)
		}
		if want := fmt.Sprintf("user%d@example.com", winner); u.Username != want {
			t.Errorf("UserByID after race: Username = %q, want the winner's %q", u.Username, want)
		}
		checkCount(t, m, 1)
	})

	t.Run("CreateUserDistinctConcurrently", func(t *testing.T) {
		m := newStore(t)
		results := race(50, func(i int) error {
			_, err := m.CreateUser(context.Background(), newUser(fmt.Sprintf("user%d@example.com", i), ""))
			return err
		})
		for i, err := range results {
			if err != nil {
				t.Errorf("CreateUser(user%d): %v", i, err)
			}
		}
		checkCount(t, m, 50)
	})

	t.Run("UpdateUser", func(t *testing.T) {
		m := newStore(t)
		alice := mustCreate(t, m, "alice@example.com", "user")
		in := alice.Clone()
		in.Username = "Alice.Liddell@Example.com"
		in.Name = "Alice Liddell"
		in.Email = "liddell@example.com"
		in.Disabled = true
		in.PasswordHash = fakeHash()
		in.CreatedAt = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		in.TokensValidAfter = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		orig := in.Clone()
		before := time.Now()
		got, err := m.UpdateUser(t.Context(), in)
		if err != nil {
			t.Fatalf("UpdateUser: %v", err)
		}
		checkUnchanged(t, "UpdateUser's argument", in, orig)
		// Disabling moves TokensValidAfter to now, whatever the caller sent.
		checkTime(t, "UpdateUser: TokensValidAfter after disabling", got.TokensValidAfter, before, time.Now())
		want := in.Clone()
		want.PasswordHash = alice.PasswordHash
		want.TokensValidAfter = got.TokensValidAfter
		checkUser(t, "UpdateUser", got, want)
		if !got.CreatedAt.Equal(alice.CreatedAt) {
			t.Errorf("UpdateUser: CreatedAt = %v, want %v (unchanged)", got.CreatedAt, alice.CreatedAt)
		}
		if got.UpdatedAt.Before(alice.UpdatedAt) {
			t.Errorf("UpdateUser: UpdatedAt = %v, before the previous %v", got.UpdatedAt, alice.UpdatedAt)
		}
		if u, err := m.UserByUsername(t.Context(), "alice@example.com"); !errors.Is(err, userstore.ErrNotFound) {
			t.Errorf("UserByUsername(old name) = %v, %v; want ErrNotFound", u, err)
		}
		u, err := m.UserByUsername(t.Context(), "alice.liddell@example.com")
		if err != nil {
			t.Fatalf("UserByUsername(new name): %v", err)
		}
		checkUser(t, "UserByUsername(new name)", u, want)

		// The old name is free again.
		mustCreate(t, m, "alice@example.com")
	})

	t.Run("UpdateUserCopiesInput", func(t *testing.T) {
		m := newStore(t)
		alice := mustCreate(t, m, "alice@example.com", "user")
		in := alice.Clone()
		in.Roles = []string{"user", "admin"}
		updated, err := m.UpdateUser(t.Context(), in)
		if err != nil {
			t.Fatalf("UpdateUser: %v", err)
		}
		want := updated.Clone()
		scribble(in)
		scribble(updated)
		got := mustGet(t, m, want.ID)
		checkUnchanged(t, "stored user after modifying UpdateUser's argument and result", got, want)
	})

	t.Run("UpdateUserRoles", func(t *testing.T) {
		m := newStore(t)
		alice := mustCreate(t, m, "alice@example.com", "user")
		tva := alice.TokensValidAfter

		in := alice.Clone()
		in.Name = "Alice L."
		got, err := m.UpdateUser(t.Context(), in)
		if err != nil {
			t.Fatalf("UpdateUser(same roles): %v", err)
		}
		if !got.TokensValidAfter.Equal(tva) {
			t.Errorf("UpdateUser(same roles): TokensValidAfter = %v, want %v (unchanged)", got.TokensValidAfter, tva)
		}

		in.Roles = []string{"user", "admin"}
		before := time.Now()
		got, err = m.UpdateUser(t.Context(), in)
		after := time.Now()
		if err != nil {
			t.Fatalf("UpdateUser(new role): %v", err)
		}
		checkTime(t, "UpdateUser(new role): TokensValidAfter", got.TokensValidAfter, before, after)
		in.Roles[1] = "root"
		u := mustGet(t, m, alice.ID)
		if want := []string{"user", "admin"}; !slices.Equal(u.Roles, want) {
			t.Errorf("UserByID after UpdateUser: Roles = %q, want %q", u.Roles, want)
		}

		in.Roles = nil
		got, err = m.UpdateUser(t.Context(), in)
		if err != nil {
			t.Fatalf("UpdateUser(no roles): %v", err)
		}
		if len(got.Roles) != 0 {
			t.Errorf("UpdateUser(no roles): Roles = %q, want none", got.Roles)
		}
		if got.TokensValidAfter.Before(u.TokensValidAfter) {
			t.Errorf("UpdateUser(no roles): TokensValidAfter = %v, moved back from %v", got.TokensValidAfter, u.TokensValidAfter)
		}
	})

	t.Run("UpdateUserRejects", func(t *testing.T) {
		m := newStore(t)
		alice := mustCreate(t, m, "alice@example.com", "user")
		bob := mustCreate(t, m, "bob@example.com", "user")
		rename := func(u *userstore.User, name string) *userstore.User {
			c := u.Clone()
			c.Username = name
			c.Roles = []string{"admin"}
			return c
		}
		unknown := rename(alice, "carol@example.com")
		unknown.ID = rand.Text()
		tests := []struct {
			name string
			user *userstore.User
			want error
		}{
			{"another user's name", rename(alice, "bob@example.com"), userstore.ErrDuplicate},
			{"another user's name after folding", rename(alice, "BOB@example.com"), userstore.ErrDuplicate},
			{"another user's name after NFKC", rename(alice, "ｂｏｂ@example.com"), userstore.ErrDuplicate},
			{"empty username", rename(alice, ""), userstore.ErrInvalidUser},
			{"zero-width space", rename(alice, "al\u200bice@example.com"), userstore.ErrInvalidUser},
			{"unknown ID", unknown, userstore.ErrNotFound},
			{"empty ID", rename(&userstore.User{}, "carol@example.com"), userstore.ErrNotFound},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := m.UpdateUser(t.Context(), tc.user)
				if !errors.Is(err, tc.want) {
					t.Errorf("UpdateUser(%q) = %v, %v; want %v", tc.user.Username, got, err, tc.want)
				}
			})
		}
		checkUnchanged(t, "alice after failed updates", mustGet(t, m, alice.ID), alice)
		checkUnchanged(t, "bob after failed updates", mustGet(t, m, bob.ID), bob)
		if u, err := m.UserByUsername(t.Context(), "carol@example.com"); !errors.Is(err, userstore.ErrNotFound) {
			t.Errorf("UserByUsername(carol) after failed updates = %v, %v; want ErrNotFound", u, err)
		}

		// Renaming to a form of one's own name is no conflict.
		got, err := m.UpdateUser(t.Context(), rename(alice, "ALICE@Example.com"))
		if err != nil {
			t.Fatalf("UpdateUser(own name in upper case): %v", err)
		}
		if got.Username != "ALICE@Example.com" {
			t.Errorf("UpdateUser(own name in upper case): Username = %q, want %q", got.Username, "ALICE@Example.com")
		}
	})

	t.Run("SetPasswordHash", func(t *testing.T) {
		m := newStore(t)
		alice := mustCreate(t, m, "alice@example.com")
		hash := fakeHash()
		before := time.Now()
		if err := m.SetPasswordHash(t.Context(), alice.ID, hash); err != nil {
			t.Fatalf("SetPasswordHash: %v", err)
		}
		after := time.Now()
		u := mustGet(t, m, alice.ID)
		if u.PasswordHash != hash {
			t.Errorf("PasswordHash after SetPasswordHash = %q, want %q", u.PasswordHash, hash)
		}
		checkTime(t, "TokensValidAfter after SetPasswordHash", u.TokensValidAfter, before, after)

		for _, tc := range []struct {
			name, id, hash string
			want           error
		}{
			{"empty hash", alice.ID, "", userstore.ErrInvalidUser},
			{"unknown ID", rand.Text(), fakeHash(), userstore.ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := m.SetPasswordHash(t.Context(), tc.id, tc.hash); !errors.Is(err, tc.want) {
					t.Errorf("SetPasswordHash = %v, want %v", err, tc.want)
				}
			})
		}
		checkUnchanged(t, "alice after failed SetPasswordHash", mustGet(t, m, alice.ID), u)
	})

	t.Run("UpgradePasswordHash", func(t *testing.T) {
		m := newStore(t)
		alice := mustCreate(t, m, "alice@example.com")
		if err := m.RevokeTokens(t.Context(), alice.ID); err != nil {
			t.Fatalf("RevokeTokens: %v", err)
		}
		alice = mustGet(t, m, alice.ID)

		for _, tc := range []struct {
			name, id, old, new string
			want               error
		}{
			{"stale old hash", alice.ID, fakeHash(), fakeHash(), userstore.ErrConflict},
			{"empty old hash", alice.ID, "", fakeHash(), userstore.ErrConflict},
			{"empty new hash", alice.ID, alice.PasswordHash, "", userstore.ErrInvalidUser},
			{"unknown ID", rand.Text(), alice.PasswordHash, fakeHash(), userstore.ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := m.UpgradePasswordHash(t.Context(), tc.id, tc.old, tc.new); !errors.Is(err, tc.want) {
					t.Errorf("UpgradePasswordHash = %v, want %v", err, tc.want)
				}
			})
		}
		checkUnchanged(t, "alice after failed upgrades", mustGet(t, m, alice.ID), alice)

		hash := fakeHash()
		if err := m.UpgradePasswordHash(t.Context(), alice.ID, alice.PasswordHash, hash); err != nil {
			t.Fatalf("UpgradePasswordHash: %v", err)
		}
		u := mustGet(t, m, alice.ID)
		if u.PasswordHash != hash {
			t.Errorf("PasswordHash after UpgradePasswordHash = %q, want %q", u.PasswordHash, hash)
		}
		if !u.TokensValidAfter.Equal(alice.TokensValidAfter) {
			t.Errorf("UpgradePasswordHash moved TokensValidAfter from %v to %v", alice.TokensValidAfter, u.TokensValidAfter)
		}
		if err := m.UpgradePasswordHash(t.Context(), alice.ID, alice.PasswordHash, fakeHash()); !errors.Is(err, userstore.ErrConflict) {
			t.Errorf("UpgradePasswordHash from the replaced hash = %v, want ErrConflict", err)
		}
	})

	t.Run("UpgradePasswordHashRace", func(t *testing.T) {
		m := newStore(t)
		alice := mustCreate(t, m, "alice@example.com")
		hashes := make([]string, 50)
		for i := range hashes {
			hashes[i] = fakeHash()
		}
		results := race(len(hashes), func(i int) error {
			return m.UpgradePasswordHash(context.Background(), alice.ID, alice.PasswordHash, hashes[i])
		})
		winner := checkOneWinner(t, "UpgradePasswordHash", results, userstore.ErrConflict)
		if u := mustGet(t, m, alice.ID); u.PasswordHash != hashes[winner] {
			t.Errorf("PasswordHash after race = %q, want the winner's %q", u.PasswordHash, hashes[winner])
		}
	})

	t.Run("UpgradeLosesToPasswordChange", func(t *testing.T) {
		m := newStore(t)
		alice := mustCreate(t, m, "alice@example.com")
		changed := fakeHash()
		if err := m.SetPasswordHash(t.Context(), alice.ID, changed); err != nil {
			t.Fatalf("SetPasswordHash: %v", err)
		}
		if err := m.UpgradePasswordHash(t.Context(), alice.ID, alice.PasswordHash, fakeHash()); !errors.Is(err, userstore.ErrConflict) {
			t.Errorf("UpgradePasswordHash after a password change = %v, want ErrConflict", err)
		}
		if u := mustGet(t, m, alice.ID); u.PasswordHash != changed {
			t.Errorf("PasswordHash = %q, want the changed %q", u.PasswordHash, changed)
		}
	})

	t.Run("SetDisabled", func(t *testing.T) {
		m := newStore(t)
		alice := mustCreate(t, m, "alice@example.com")
		for _, disabled := range []bool{true, true, false} {
			if err := m.SetDisabled(t.Context(), alice.ID, disabled); err != nil {
				t.Fatalf("SetDisabled(%t): %v", disabled, err)
			}
			u, err := m.UserByUsername(t.Context(), alice.Username)
			if err != nil {
				t.Fatalf("UserByUsername after SetDisabled(%t): %v", disabled, err)
			}
			if u.Disabled != disabled {
				t.Errorf("Disabled after SetDisabled(%t) = %t", disabled, u.Disabled)
			}
		}
		carol := mustCreate(t, m, "carol@example.com")
		if !carol.TokensValidAfter.IsZero() {
			t.Fatalf("TokensValidAfter of a new user = %v, want zero", carol.TokensValidAfter)
		}
		before := time.Now()
		if err := m.SetDisabled(t.Context(), carol.ID, true); err != nil {
			t.Fatalf("SetDisabled(true): %v", err)
		}
		checkTime(t, "TokensValidAfter after disabling", mustGet(t, m, carol.ID).TokensValidAfter, before, time.Now())
		if err := m.SetDisabled(t.Context(), rand.Text(), true); !errors.Is(err, userstore.ErrNotFound) {
			t.Errorf("SetDisabled(unknown ID) = %v, want ErrNotFound", err)
		}
	})

	t.Run("RevokeTokens", func(t *testing.T) {
		m := newStore(t)
		alice := mustCreate(t, m, "alice@example.com")
		before := time.Now()
		if err := m.RevokeTokens(t.Context(), alice.ID); err != nil {
			t.Fatalf("RevokeTokens: %v", err)
		}
		after := time.Now()
		first := mustGet(t, m, alice.ID).TokensValidAfter
		checkTime(t, "TokensValidAfter after RevokeTokens", first, before, after)
		if err := m.RevokeTokens(t.Context(), alice.ID); err != nil {
			t.Fatalf("RevokeTokens again: %v", err)
		}
		if second := mustGet(t, m, alice.ID).TokensValidAfter; second.Before(first) {
			t.Errorf("TokensValidAfter after a second RevokeTokens = %v, before the first %v", second, first)
		}
		if err := m.RevokeTokens(t.Context(), rand.Text()); !errors.Is(err, userstore.ErrNotFound) {
			t.Errorf("RevokeTokens(unknown ID) = %v, want ErrNotFound", err)
		}
	})

	t.Run("DeleteUser", func(t *testing.T) {
		m := newStore(t)
		alice := mustCreate(t, m, "alice@example.com")
		bob := mustCreate(t, m, "bob@example.com")
		if err := m.DeleteUser(t.Context(), alice.ID); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		if u, err := m.UserByID(t.Context(), alice.ID); !errors.Is(err, userstore.ErrNotFound) {
			t.Errorf("UserByID after DeleteUser = %v, %v; want ErrNotFound", u, err)
		}
		if u, err := m.UserByUsername(t.Context(), "ALICE@example.com"); !errors.Is(err, userstore.ErrNotFound) {
			t.Errorf("UserByUsername after DeleteUser = %v, %v; want ErrNotFound", u, err)
		}
		if err := m.DeleteUser(t.Context(), alice.ID); !errors.Is(err, userstore.ErrNotFound) {
			t.Errorf("DeleteUser twice = %v, want ErrNotFound", err)
		}
		for _, op := range []struct {
			name string
			do   func() error
		}{
			{"SetPasswordHash", func() error { return m.SetPasswordHash(t.Context(), alice.ID, fakeHash()) }},
			{"UpgradePasswordHash", func() error {
				return m.UpgradePasswordHash(t.Context(), alice.ID, alice.PasswordHash, fakeHash())
			}},
			{"SetDisabled", func() error { return m.SetDisabled(t.Context(), alice.ID, true) }},
			{"RevokeTokens", func() error { return m.RevokeTokens(t.Context(), alice.ID) }},
			{"UpdateUser", func() error { _, err := m.UpdateUser(t.Context(), alice); return err }},
		} {
			if err := op.do(); !errors.Is(err, userstore.ErrNotFound) {
				t.Errorf("%s on a deleted user = %v, want ErrNotFound", op.name, err)
			}
		}
		checkUnchanged(t, "bob after deleting alice", mustGet(t, m, bob.ID), bob)

		again := mustCreate(t, m, "Alice@example.com")
		if again.ID == alice.ID {
			t.Errorf("CreateUser after DeleteUser reused the deleted ID %q", alice.ID)
		}
		checkCount(t, m, 2)
	})

	t.Run("ListUsers", func(t *testing.T) {
		m := newStore(t)
		want := make(map[string]*userstore.User)
		for i := range 23 {
			u := mustCreate(t, m, fmt.Sprintf("user%02d@example.com", i), "user")
			want[u.ID] = u
		}
		var pages int
		var last string
		seen := make(map[string]bool)
		opts := userstore.ListOptions{Limit: 5}
		for {
			users, next, err := m.ListUsers(t.Context(), opts)
			if err != nil {
				t.Fatalf("ListUsers(%+v): %v", opts, err)
			}
			pages++
			if pages > 10 {
				t.Fatalf("ListUsers: more than 10 pages of 5 for 23 users")
			}
			if len(users) > 5 {
				t.Errorf("ListUsers(Limit 5): %d users", len(users))
			}
			for _, u := range users {
				if u.ID <= last {
					t.Errorf("ListUsers: ID %q after %q, want ascending order", u.ID, last)
				}
				last = u.ID
				if seen[u.ID] {
					t.Errorf("ListUsers: %q listed twice", u.ID)
				}
				seen[u.ID] = true
				if w := want[u.ID]; w == nil {
					t.Errorf("ListUsers: unknown ID %q", u.ID)
				} else {
					checkUser(t, "ListUsers", u, w)
				}
				scribble(u)
			}
			if next == "" {
				break
			}
			opts.After = next
		}
		if len(seen) != len(want) {
			t.Errorf("ListUsers: listed %d users, want %d", len(seen), len(want))
		}
		if pages != 5 {
			t.Errorf("ListUsers: %d pages of 5 for 23 users, want 5", pages)
		}

		users, next, err := m.ListUsers(t.Context(), userstore.ListOptions{})
		if err != nil || len(users) != 23 || next != "" {
			t.Errorf("ListUsers(default limit) = %d users, next %q, %v; want 23, \"\", nil", len(users), next, err)
		}
		for _, u := range users {
			checkUser(t, "ListUsers after modifying earlier results", u, want[u.ID])
		}
		users, next, err = m.ListUsers(t.Context(), userstore.ListOptions{After: last})
		if err != nil || len(users) != 0 || next != "" {
			t.Errorf("ListUsers(after the last) = %d users, next %q, %v; want 0, \"\", nil", len(users), next, err)
		}
		users, next, err = m.ListUsers(t.Context(), userstore.ListOptions{Limit: 23})
		if err != nil || len(users) != 23 || next != "" {
			t.Errorf("ListUsers(Limit 23) = %d users, next %q, %v; want 23, \"\", nil", len(users), next, err)
		}
	})

	t.Run("ListUsersAfterDeletedCursor", func(t *testing.T) {
		m := newStore(t)
		for i := range 6 {
			mustCreate(t, m, fmt.Sprintf("user%d@example.com", i))
		}
		first, next, err := m.ListUsers(t.Context(), userstore.ListOptions{Limit: 3})
		if err != nil || len(first) != 3 || next == "" {
			t.Fatalf("ListUsers(Limit 3) = %d users, next %q, %v; want 3, a cursor, nil", len(first), next, err)
		}
		if err := m.DeleteUser(t.Context(), first[2].ID); err != nil {
			t.Fatalf("DeleteUser(last listed): %v", err)
		}
		rest, next, err := m.ListUsers(t.Context(), userstore.ListOptions{After: next, Limit: 3})
		if err != nil || len(rest) != 3 || next != "" {
			t.Errorf("ListUsers(after a deleted cursor) = %d users, next %q, %v; want 3, \"\", nil", len(rest), next, err)
		}
	})

	t.Run("ContextDone", func(t *testing.T) {
		m := newStore(t)
		alice := mustCreate(t, m, "alice@example.com", "user")
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		changed := alice.Clone()
		changed.Roles = []string{"admin"}
		for _, op := range []struct {
			name string
			do   func() error
		}{
			{"CreateUser", func() error { _, err := m.CreateUser(ctx, newUser("bob@example.com", "")); return err }},
			{"UpdateUser", func() error { _, err := m.UpdateUser(ctx, changed); return err }},
			{"SetPasswordHash", func() error { return m.SetPasswordHash(ctx, alice.ID, fakeHash()) }},
			{"UpgradePasswordHash", func() error {
				return m.UpgradePasswordHash(ctx, alice.ID, alice.PasswordHash, fakeHash())
			}},
			{"SetDisabled", func() error { return m.SetDisabled(ctx, alice.ID, true) }},
			{"RevokeTokens", func() error { return m.RevokeTokens(ctx, alice.ID) }},
			{"DeleteUser", func() error { return m.DeleteUser(ctx, alice.ID) }},
			{"ListUsers", func() error { _, _, err := m.ListUsers(ctx, userstore.ListOptions{}); return err }},
			{"UserByID", func() error { _, err := m.UserByID(ctx, alice.ID); return err }},
			{"UserByUsername", func() error { _, err := m.UserByUsername(ctx, alice.Username); return err }},
		} {
			if err := op.do(); !errors.Is(err, context.Canceled) {
				t.Errorf("%s(canceled ctx) = %v, want context.Canceled", op.name, err)
			}
		}
		checkUnchanged(t, "alice after canceled writes", mustGet(t, m, alice.ID), alice)
		checkCount(t, m, 1)
	})

	t.Run("ConcurrentReadsAndWrites", func(t *testing.T) {
		m := newStore(t)
		alice := mustCreate(t, m, "alice@example.com", "user")
		const goroutines = 16
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		for g := range goroutines {
			wg.Go(func() {
				ctx := context.Background()
				var err error
				switch g % 8 {
				case 0:
					_, err = m.CreateUser(ctx, newUser(fmt.Sprintf("user%d@example.com", g), ""))
				case 1:
					u := alice.Clone()
					u.Roles = []string{"user", fmt.Sprint("role", g)}
					_, err = m.UpdateUser(ctx, u)
				case 2:
					err = m.SetPasswordHash(ctx, alice.ID, fakeHash())
				case 3:
					err = m.RevokeTokens(ctx, alice.ID)
				case 4:
					err = m.SetDisabled(ctx, alice.ID, g%16 == 4)
				case 5:
					_, _, err = m.ListUsers(ctx, userstore.ListOptions{Limit: 2})
				case 6:
					var u *userstore.User
					if u, err = m.UserByUsername(ctx, "ALICE@example.com"); err == nil {
						scribble(u)
					}
				case 7:
					var u *userstore.User
					if u, err = m.UserByID(ctx, alice.ID); err == nil {
						scribble(u)
					}
				}
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent operation: %v", err)
		}
		u := mustGet(t, m, alice.ID)
		if u.Username != alice.Username || u.ID != alice.ID {
			t.Errorf("alice after concurrent writes = %q (%q), want %q (%q)", u.Username, u.ID, alice.Username, alice.ID)
		}
		checkCount(t, m, 1+goroutines/8)
	})
}

// newUser returns a user to create, with a random password hash.
func newUser(username, id string) *userstore.User {
	return &userstore.User{
		ID:           id,
		Username:     username,
		Name:         "Test User",
		Email:        "test@example.com",
		PasswordHash: fakeHash(),
	}
}

// mustCreate creates a user with the given username and roles.
func mustCreate(t *testing.T, m userstore.Manager, username string, roles ...string) *userstore.User {
	t.Helper()
	u := newUser(username, "")
	u.Roles = roles
	got, err := m.CreateUser(t.Context(), u)
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", username, err)
	}
	return got
}

// mustGet returns the stored user with the given ID.
func mustGet(t *testing.T, s userstore.Store, id string) *userstore.User {
	t.Helper()
	u, err := s.UserByID(t.Context(), id)
	if err != nil {
		t.Fatalf("UserByID(%q): %v", id, err)
	}
	return u
}

// checkUnchanged reports the differences between got and want, comparing
// the store's timestamps too.
func checkUnchanged(t *testing.T, what string, got, want *userstore.User) {
	t.Helper()
	checkUser(t, what, got, want)
	if got != nil && !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("%s: CreatedAt = %v, want %v", what, got.CreatedAt, want.CreatedAt)
	}
	if got != nil && !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("%s: UpdatedAt = %v, want %v", what, got.UpdatedAt, want.UpdatedAt)
	}
}

// checkTime reports a time a store set that is not within [before, after],
// to the second.
func checkTime(t *testing.T, what string, got, before, after time.Time) {
	t.Helper()
	if got.Before(before.Truncate(time.Second)) || got.After(after.Add(time.Second)) {
		t.Errorf("%s = %v, want between %v and %v", what, got, before, after)
	}
}

// checkCount reports a store that does not hold exactly n users.
func checkCount(t *testing.T, m userstore.Manager, n int) {
	t.Helper()
	users, _, err := m.ListUsers(t.Context(), userstore.ListOptions{Limit: 1000})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if len(users) != n {
		t.Errorf("store holds %d users, want %d", len(users), n)
	}
}

// race runs f(0) … f(n-1) in n goroutines released at once, and returns
// their errors.
func race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// checkOneWinner reports results that do not hold exactly one nil error
// with every other one wrapping loser, and returns the winner's index.
func checkOneWinner(t *testing.T, op string, results []error, loser error) int {
	t.Helper()
	winner := -1
	for i, err := range results {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("%s: calls %d and %d both succeeded, want exactly one", op, winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, loser):
			t.Errorf("%s: call %d = %v, want %v", op, i, err, loser)
		}
	}
	if winner < 0 {
		t.Fatalf("%s: no call succeeded, want exactly one", op)
	}
	return winner
}
