package memory_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/memory"
	"github.com/authkit-go/authkit/userstore/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, seed []userstore.User) userstore.Store {
		s := memory.New()
		for _, u := range seed {
			if _, err := s.CreateUser(t.Context(), &u); err != nil {
				t.Fatalf("seeding %q: %v", u.Username, err)
			}
		}
		return s
	})
}

func TestConformanceManager(t *testing.T) {
	t.Parallel()
	storetest.RunManager(t, func(t *testing.T) userstore.Manager { return memory.New() })
}

func TestConformanceZeroValue(t *testing.T) {
	t.Parallel()
	storetest.RunManager(t, func(t *testing.T) userstore.Manager { return new(memory.Store) })
}

func TestZeroValueReads(t *testing.T) {
	t.Parallel()
	var s memory.Store
	ctx := t.Context()
	if u, err := s.UserByID(ctx, "x"); !errors.Is(err, userstore.ErrNotFound) {
		t.Errorf("UserByID = %v, %v; want ErrNotFound", u, err)
	}
	if u, err := s.UserByUsername(ctx, "alice@example.com"); !errors.Is(err, userstore.ErrNotFound) {
		t.Errorf("UserByUsername = %v, %v; want ErrNotFound", u, err)
	}
	if users, next, err := s.ListUsers(ctx, userstore.ListOptions{}); len(users) != 0 || next != "" || err != nil {
		t.Errorf("ListUsers = %d users, %q, %v; want none", len(users), next, err)
	}
	for name, err := range map[string]error{
		"DeleteUser":          s.DeleteUser(ctx, "x"),
		"RevokeTokens":        s.RevokeTokens(ctx, "x"),
		"SetDisabled":         s.SetDisabled(ctx, "x", true),
		"SetPasswordHash":     s.SetPasswordHash(ctx, "x", fakeHash()),
		"UpgradePasswordHash": s.UpgradePasswordHash(ctx, "x", "a", fakeHash()),
	} {
		if !errors.Is(err, userstore.ErrNotFound) {
			t.Errorf("%s = %v, want ErrNotFound", name, err)
		}
	}
	if u, err := s.UpdateUser(ctx, &userstore.User{ID: "x", Username: "a@example.com"}); !errors.Is(err, userstore.ErrNotFound) {
		t.Errorf("UpdateUser = %v, %v; want ErrNotFound", u, err)
	}
}

// clock is a settable clock for NewWithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func fakeHash() string { return "$argon2id$v=19$m=19456,t=2,p=1$" + rand.Text() + "$" + rand.Text() }

func newUser(username string, roles ...string) *userstore.User {
	return &userstore.User{Username: username, PasswordHash: fakeHash(), Roles: roles}
}

func TestClock(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := &clock{t: t0}
	s := memory.NewWithClock(c.Now)
	ctx := t.Context()

	u, err := s.CreateUser(ctx, newUser("alice@example.com", "user"))
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if !u.CreatedAt.Equal(t0) || !u.UpdatedAt.Equal(t0) {
		t.Errorf("CreateUser: CreatedAt, UpdatedAt = %v, %v; want %v", u.CreatedAt, u.UpdatedAt, t0)
	}
	if !u.TokensValidAfter.IsZero() {
		t.Errorf("CreateUser: TokensValidAfter = %v, want zero", u.TokensValidAfter)
	}

	get := func() *userstore.User {
		t.Helper()
		u, err := s.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		return u
	}
	// Each step runs at its clock time and leaves TokensValidAfter and
	// UpdatedAt at the wanted values.
	t1, t2, t3 := t0.Add(time.Minute), t0.Add(2*time.Minute), t0.Add(3*time.Minute)
	steps := []struct {
		name        string
		at          time.Time
		do          func() error
		wantCutoff  time.Time
		wantUpdated time.Time
	}{
		{"RevokeTokens", t1, func() error { return s.RevokeTokens(ctx, u.ID) }, t1, t1},
		{"SetPasswordHash", t2, func() error { return s.SetPasswordHash(ctx, u.ID, fakeHash()) }, t2, t2},
		{"RevokeTokens with the clock set back", t0, func() error { return s.RevokeTokens(ctx, u.ID) }, t2, t0},
		{"SetPasswordHash with the clock set back", t1, func() error { return s.SetPasswordHash(ctx, u.ID, fakeHash()) }, t2, t1},
		{"UpdateUser with roles reordered and repeated", t3, func() error {
			c := get()
			c.Roles = []string{"user", "user"}
			_, err := s.UpdateUser(ctx, c)
			return err
		}, t2, t3},
		{"UpgradePasswordHash", t3.Add(time.Second), func() error {
			return s.UpgradePasswordHash(ctx, u.ID, get().PasswordHash, fakeHash())
		}, t2, t3.Add(time.Second)},
		{"SetDisabled", t3.Add(2 * time.Second), func() error { return s.SetDisabled(ctx, u.ID, true) }, t3.Add(2 * time.Second), t3.Add(2 * time.Second)},
		{"SetDisabled(false)", t3.Add(3 * time.Second), func() error { return s.SetDisabled(ctx, u.ID, false) }, t3.Add(2 * time.Second), t3.Add(3 * time.Second)},
		{"UpdateUser with a new role", t3.Add(4 * time.Second), func() error {
			c := get()
			c.Roles = []string{"user", "admin"}
			_, err := s.UpdateUser(ctx, c)
			return err
		}, t3.Add(4 * time.Second), t3.Add(4 * time.Second)},
	}
	for _, st := range steps {
		c.Set(st.at)
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got := get()
		if !got.TokensValidAfter.Equal(st.wantCutoff) {
			t.Errorf("%s: TokensValidAfter = %v, want %v", st.name, got.TokensValidAfter, st.wantCutoff)
		}
		if !got.UpdatedAt.Equal(st.wantUpdated) {
			t.Errorf("%s: UpdatedAt = %v, want %v", st.name, got.UpdatedAt, st.wantUpdated)
		}
		if !got.CreatedAt.Equal(t0) {
			t.Errorf("%s: CreatedAt = %v, want %v", st.name, got.CreatedAt, t0)
		}
	}
}

func TestMonotonicReadingDropped(t *testing.T) {
	t.Parallel()
	s := memory.New()
	u, err := s.CreateUser(t.Context(), newUser("alice@example.com"))
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if u.CreatedAt != u.CreatedAt.Round(0) {
		t.Errorf("CreatedAt carries a monotonic clock reading: %v", u.CreatedAt)
	}
}

func TestDeletedIDIsNeverReused(t *testing.T) {
	t.Parallel()
	s := memory.New()
	ctx := t.Context()
	u, err := s.CreateUser(ctx, newUser("alice@example.com"))
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	again := newUser("alice@example.com")
	again.ID = u.ID
	if got, err := s.CreateUser(ctx, again); !errors.Is(err, userstore.ErrDuplicate) {
		t.Errorf("CreateUser with a deleted user's ID = %v, %v; want ErrDuplicate", got, err)
	}
}

func TestCreateUserInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		user  *userstore.User
		wants []error
	}{
		{"nil user", nil, []error{userstore.ErrInvalidUser}},
		{"zero-width space", newUser("al\u200bice@example.com"), []error{userstore.ErrInvalidUser, userstore.ErrInvalidUsername}},
		{"too long", newUser(strings.Repeat("a", userstore.MaxUsernameBytes+1)), []error{userstore.ErrInvalidUser, userstore.ErrInvalidUsername}},
		{"ID with control character", &userstore.User{ID: "a\nb", Username: "a@example.com", PasswordHash: fakeHash()}, []error{userstore.ErrInvalidUser}},
		{"ID with format character", &userstore.User{ID: "a\u200bb", Username: "a@example.com", PasswordHash: fakeHash()}, []error{userstore.ErrInvalidUser}},
		{"ID not UTF-8", &userstore.User{ID: "a\xffb", Username: "a@example.com", PasswordHash: fakeHash()}, []error{userstore.ErrInvalidUser}},
		{"ID too long", &userstore.User{ID: strings.Repeat("x", 257), Username: "a@example.com", PasswordHash: fakeHash()}, []error{userstore.ErrInvalidUser}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := memory.New()
			got, err := s.CreateUser(t.Context(), tc.user)
			for _, want := range tc.wants {
				if !errors.Is(err, want) {
					t.Errorf("CreateUser = %v, %v; want an error wrapping %v", got, err, want)
				}
			}
			if users, _, _ := s.ListUsers(t.Context(), userstore.ListOptions{}); len(users) != 0 {
				t.Errorf("store holds %d users after a failed create, want 0", len(users))
			}
		})
	}
}

func TestUpdateUserNil(t *testing.T) {
	t.Parallel()
	if got, err := memory.New().UpdateUser(t.Context(), nil); !errors.Is(err, userstore.ErrInvalidUser) {
		t.Errorf("UpdateUser(nil) = %v, %v; want ErrInvalidUser", got, err)
	}
}

func TestListUsersLimits(t *testing.T) {
	t.Parallel()
	s := memory.New()
	for range 1003 {
		u := newUser(rand.Text() + "@example.com")
		if _, err := s.CreateUser(t.Context(), u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
	}
	tests := []struct {
		limit, want int
	}{{0, 50}, {-1, 50}, {1, 1}, {1000, 1000}, {1001, 1000}, {1 << 30, 1000}}
	for _, tc := range tests {
		users, next, err := s.ListUsers(t.Context(), userstore.ListOptions{Limit: tc.limit})
		if err != nil || len(users) != tc.want || next != users[len(users)-1].ID {
			t.Errorf("ListUsers(Limit %d) = %d users, next %q, %v; want %d and the last ID", tc.limit, len(users), next, err, tc.want)
		}
	}
}

func BenchmarkUserByUsername(b *testing.B) {
	s, u := benchStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.UserByUsername(ctx, u.Username); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUserByID(b *testing.B) {
	s, u := benchStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.UserByID(ctx, u.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUserByIDParallel(b *testing.B) {
	s, u := benchStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.UserByID(ctx, u.ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchStore returns a store of 1,000 users and one of them.
func benchStore(b *testing.B) (*memory.Store, *userstore.User) {
	b.Helper()
	s := memory.New()
	var u *userstore.User
	for range 1000 {
		var err error
		u, err = s.CreateUser(context.Background(), newUser(rand.Text()+"@example.com", "user"))
		if err != nil {
			b.Fatal(err)
		}
	}
	return s, u
}
