package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/userstore"
)

// SessionStore is the store of refresh-token families and of the
// access-token denylist, method for method the interface the token
// endpoint declares (oauth2pw.RefreshStore), so that a store passing
// [RunSessions] satisfies it without either package importing the other.
type SessionStore interface {
	CreateRefreshFamily(ctx context.Context, family, userID, clientID string, scope []string, created, expires time.Time, token []byte, tokenExpires time.Time) error
	RefreshToken(ctx context.Context, token []byte) (family string, expires, spent time.Time, successor []byte, err error)
	RefreshFamily(ctx context.Context, family string) (userID, clientID string, scope []string, created, expires time.Time, err error)
	RotateRefreshToken(ctx context.Context, old, next []byte, now, nextExpires time.Time, sealed []byte) error
	RevokeRefreshFamily(ctx context.Context, family string) error
	RevokeUserRefreshFamilies(ctx context.Context, userID string) error
	DenyAccessToken(ctx context.Context, jti string, until time.Time) error
	Denied(ctx context.Context, jti string) (bool, error)
	PruneRefresh(ctx context.Context, now time.Time) error
}

// RunSessions checks a [SessionStore]. newStore must return a fresh,
// empty store whose Denied compares against the current time; it is
// called once per subtest.
//
// Beyond the interface documentation, RunSessions requires that a store
// keeps instants to the microsecond (it uses whole seconds), copies the
// scope and successor slices in and out, answers unknown tokens and
// families with [userstore.ErrNotFound], and returns an error wrapping
// the context's error when the context is already done.
func RunSessions(t *testing.T, newStore func(t *testing.T) SessionStore) {
	t.Helper()
	base := time.Now().Truncate(time.Second).Add(-time.Hour)
	day := 24 * time.Hour

	// create stores family f of user with a fresh token, and returns the
	// token.
	create := func(t *testing.T, s SessionStore, f, user string) []byte {
		t.Helper()
		tok := digest()
		if err := s.CreateRefreshFamily(t.Context(), f, user, "web", []string{"read", "write"}, base, base.Add(30*day), tok, base.Add(day)); err != nil {
			t.Fatalf("CreateRefreshFamily(%s): %v", f, err)
		}
		return tok
	}
	rotate := func(t *testing.T, s SessionStore, old []byte) []byte {
		t.Helper()
		next := digest()
		if err := s.RotateRefreshToken(t.Context(), old, next, base.Add(time.Minute), base.Add(2*day), []byte("sealed")); err != nil {
			t.Fatalf("RotateRefreshToken: %v", err)
		}
		return next
	}
	gone := func(t *testing.T, s SessionStore, what string, tok []byte) {
		t.Helper()
		if _, _, _, _, err := s.RefreshToken(t.Context(), tok); !errors.Is(err, userstore.ErrNotFound) {
			t.Errorf("RefreshToken(%s): err = %v, want ErrNotFound", what, err)
		}
	}

	t.Run("CreateAndRead", func(t *testing.T) {
		s := newStore(t)
		scope := []string{"read", "write"}
		tok := digest()
		if err := s.CreateRefreshFamily(t.Context(), "f1", "u1", "web", scope, base, base.Add(30*day), tok, base.Add(day)); err != nil {
			t.Fatalf("CreateRefreshFamily: %v", err)
		}
		scope[0] = "changed"
		fam, exp, spent, succ, err := s.RefreshToken(t.Context(), tok)
		if err != nil {
			t.Fatalf("RefreshToken: %v", err)
		}
		if fam != "f1" || !exp.Equal(base.Add(day)) || !spent.IsZero() || len(succ) != 0 {
			t.Errorf("RefreshToken = %q, %v, %v, %q; want f1, %v, zero, empty", fam, exp, spent, succ, base.Add(day))
		}
		user, client, got, created, expires, err := s.RefreshFamily(t.Context(), "f1")
		if err != nil {
			t.Fatalf("RefreshFamily: %v", err)
		}
		if user != "u1" || client != "web" || !slices.Equal(got, []string{"read", "write"}) || !created.Equal(base) || !expires.Equal(base.Add(30*day)) {
			t.Errorf("RefreshFamily = %q, %q, %q, %v, %v; want u1, web, [read write], %v, %v", user, client, got, created, expires, base, base.Add(30*day))
		}
		got[0] = "changed"
		if _, _, again, _, _, _ := s.RefreshFamily(t.Context(), "f1"); !slices.Equal(again, []string{"read", "write"}) {
			t.Errorf("RefreshFamily after changing a returned scope = %q, want [read write]", again)
		}
	})

	t.Run("Unknown", func(t *testing.T) {
		s := newStore(t)
		gone(t, s, "unknown", digest())
		if _, _, _, _, _, err := s.RefreshFamily(t.Context(), "nope"); !errors.Is(err, userstore.ErrNotFound) {
			t.Errorf("RefreshFamily(unknown): err = %v, want ErrNotFound", err)
		}
		if err := s.RotateRefreshToken(t.Context(), digest(), digest(), base, base.Add(day), nil); !errors.Is(err, userstore.ErrNotFound) {
			t.Errorf("RotateRefreshToken(unknown): err = %v, want ErrNotFound", err)
		}
		if err := s.RevokeRefreshFamily(t.Context(), "nope"); err != nil {
			t.Errorf("RevokeRefreshFamily(unknown): %v", err)
		}
		if err := s.RevokeUserRefreshFamilies(t.Context(), "nobody"); err != nil {
			t.Errorf("RevokeUserRefreshFamilies(unknown): %v", err)
		}
	})

	t.Run("Duplicate", func(t *testing.T) {
		s := newStore(t)
		tok := create(t, s, "f1", "u1")
		if err := s.CreateRefreshFamily(t.Context(), "f1", "u1", "web", nil, base, base.Add(day), digest(), base.Add(day)); !errors.Is(err, userstore.ErrDuplicate) {
			t.Errorf("CreateRefreshFamily(same family): err = %v, want ErrDuplicate", err)
		}
		if err := s.CreateRefreshFamily(t.Context(), "f2", "u1", "web", nil, base, base.Add(day), tok, base.Add(day)); !errors.Is(err, userstore.ErrDuplicate) {
			t.Errorf("CreateRefreshFamily(same token): err = %v, want ErrDuplicate", err)
		}
		// A rotation onto a digest already stored, in this family or
		// another, fails and spends nothing.
		other := create(t, s, "f3", "u2")
		for _, next := range [][]byte{tok, other} {
			if err := s.RotateRefreshToken(t.Context(), tok, next, base.Add(time.Minute), base.Add(day), []byte("sealed")); !errors.Is(err, userstore.ErrDuplicate) {
				t.Errorf("RotateRefreshToken(onto a stored token): err = %v, want ErrDuplicate", err)
			}
		}
		for _, c := range []struct {
			what, family string
			tok          []byte
		}{{"the old token", "f1", tok}, {"the other family's token", "f3", other}} {
			fam, _, spent, succ, err := s.RefreshToken(t.Context(), c.tok)
			if err != nil || fam != c.family || !spent.IsZero() || succ != nil {
				t.Errorf("RefreshToken(%s) after the failed rotations = %q, spent %v, successor %q, %v; want %s unspent",
					c.what, fam, spent, succ, err, c.family)
			}
		}
		rotate(t, s, tok)
	})

	t.Run("Rotate", func(t *testing.T) {
		s := newStore(t)
		old := create(t, s, "f1", "u1")
		next := rotate(t, s, old)
		fam, _, spent, succ, err := s.RefreshToken(t.Context(), old)
		if err != nil {
			t.Fatalf("RefreshToken(old): %v", err)
		}
		if fam != "f1" || !spent.Equal(base.Add(time.Minute)) || string(succ) != "sealed" {
			t.Errorf("RefreshToken(old) = %q, spent %v, successor %q; want f1, %v, sealed", fam, spent, succ, base.Add(time.Minute))
		}
		fam, exp, spent, _, err := s.RefreshToken(t.Context(), next)
		if err != nil {
			t.Fatalf("RefreshToken(next): %v", err)
		}
		if fam != "f1" || !exp.Equal(base.Add(2*day)) || !spent.IsZero() {
			t.Errorf("RefreshToken(next) = %q, expires %v, spent %v; want f1, %v, zero", fam, exp, spent, base.Add(2*day))
		}
		if err := s.RotateRefreshToken(t.Context(), old, digest(), base.Add(2*time.Minute), base.Add(day), nil); !errors.Is(err, userstore.ErrConflict) {
			t.Errorf("RotateRefreshToken(spent): err = %v, want ErrConflict", err)
		}
		rotate(t, s, next)
	})

	t.Run("ConcurrentRotate", func(t *testing.T) {
		s := newStore(t)
		old := create(t, s, "f1", "u1")
		const n = 16
		nexts := make([][]byte, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			nexts[i] = digest()
			wg.Go(func() {
				errs[i] = s.RotateRefreshToken(context.Background(), old, nexts[i], base.Add(time.Minute), base.Add(day), []byte{byte(i)})
			})
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won >= 0:
				t.Fatalf("rotations %d and %d of one token both succeeded", won, i)
			case err == nil:
				won = i
			case !errors.Is(err, userstore.ErrConflict):
				t.Errorf("rotation %d: err = %v, want nil or ErrConflict", i, err)
			}
		}
		if won < 0 {
			t.Fatal("no rotation succeeded")
		}
		for i, next := range nexts {
			_, _, _, _, err := s.RefreshToken(t.Context(), next)
			if i == won && err != nil {
				t.Errorf("RefreshToken(winner): %v", err)
			}
			if i != won && !errors.Is(err, userstore.ErrNotFound) {
				t.Errorf("RefreshToken(loser %d): err = %v, want ErrNotFound", i, err)
			}
		}
		if _, _, _, succ, _ := s.RefreshToken(t.Context(), old); !slices.Equal(succ, []byte{byte(won)}) {
			t.Errorf("successor of the spent token = %v, want the winner's %v", succ, []byte{byte(won)})
		}
	})

	t.Run("RevokeFamily", func(t *testing.T) {
		s := newStore(t)
		old := create(t, s, "f1", "u1")
		next := rotate(t, s, old)
		other := create(t, s, "f2", "u1")
		if err := s.RevokeRefreshFamily(t.Context(), "f1"); err != nil {
			t.Fatalf("RevokeRefreshFamily: %v", err)
		}
		gone(t, s, "spent token of a revoked family", old)
		gone(t, s, "live token of a revoked family", next)
		if _, _, _, _, _, err := s.RefreshFamily(t.Context(), "f1"); !errors.Is(err, userstore.ErrNotFound) {
			t.Errorf("RefreshFamily(revoked): err = %v, want ErrNotFound", err)
		}
		if err := s.RotateRefreshToken(t.Context(), next, digest(), base, base.Add(day), nil); !errors.Is(err, userstore.ErrNotFound) {
			t.Errorf("RotateRefreshToken(revoked): err = %v, want ErrNotFound", err)
		}
		if _, _, _, _, err := s.RefreshToken(t.Context(), other); err != nil {
			t.Errorf("RefreshToken(other family): %v", err)
		}
	})

	t.Run("RevokeUser", func(t *testing.T) {
		s := newStore(t)
		a1, a2, b := create(t, s, "a1", "alice"), create(t, s, "a2", "alice"), create(t, s, "b1", "bob")
		if err := s.RevokeUserRefreshFamilies(t.Context(), "alice"); err != nil {
			t.Fatalf("RevokeUserRefreshFamilies: %v", err)
		}
		gone(t, s, "alice's first", a1)
		gone(t, s, "alice's second", a2)
		if _, _, _, _, err := s.RefreshToken(t.Context(), b); err != nil {
			t.Errorf("RefreshToken(bob's): %v", err)
		}
	})

	t.Run("Denylist", func(t *testing.T) {
		s := newStore(t)
		now := time.Now()
		if err := s.DenyAccessToken(t.Context(), "live", now.Add(time.Hour)); err != nil {
			t.Fatalf("DenyAccessToken: %v", err)
		}
		if err := s.DenyAccessToken(t.Context(), "past", now.Add(-time.Hour)); err != nil {
			t.Fatalf("DenyAccessToken: %v", err)
		}
		for _, tc := range []struct {
			jti  string
			want bool
		}{{"live", true}, {"past", false}, {"other", false}} {
			got, err := s.Denied(t.Context(), tc.jti)
			if err != nil || got != tc.want {
				t.Errorf("Denied(%s) = %v, %v; want %v, nil", tc.jti, got, err, tc.want)
			}
		}
		if err := s.PruneRefresh(t.Context(), now); err != nil {
			t.Fatalf("PruneRefresh: %v", err)
		}
		if got, err := s.Denied(t.Context(), "live"); err != nil || !got {
			t.Errorf("Denied(live) after pruning = %v, %v; want true, nil", got, err)
		}
	})

	t.Run("Prune", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		// f1: live token, family live. f2: family past its expiry.
		// f3: its only token past its expiry. f4: spent token expired, live
		// one not.
		live := create(t, s, "f1", "u1")
		dead := digest()
		if err := s.CreateRefreshFamily(ctx, "f2", "u1", "web", nil, base, base.Add(time.Hour), dead, base.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		idle := digest()
		if err := s.CreateRefreshFamily(ctx, "f3", "u1", "web", nil, base, base.Add(30*day), idle, base.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		spent := digest()
		if err := s.CreateRefreshFamily(ctx, "f4", "u1", "web", nil, base, base.Add(30*day), spent, base.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		next := rotate(t, s, spent)
		if err := s.PruneRefresh(ctx, base.Add(time.Hour)); err != nil {
			t.Fatalf("PruneRefresh: %v", err)
		}
		gone(t, s, "token of an expired family", dead)
		gone(t, s, "expired token", idle)
		gone(t, s, "expired spent token", spent)
		for _, f := range []string{"f2", "f3"} {
			if _, _, _, _, _, err := s.RefreshFamily(ctx, f); !errors.Is(err, userstore.ErrNotFound) {
				t.Errorf("RefreshFamily(%s) after pruning: err = %v, want ErrNotFound", f, err)
			}
		}
		for _, tok := range [][]byte{live, next} {
			if _, _, _, _, err := s.RefreshToken(ctx, tok); err != nil {
				t.Errorf("RefreshToken(live) after pruning: %v", err)
			}
		}
	})

	t.Run("ContextDone", func(t *testing.T) {
		s := newStore(t)
		tok := create(t, s, "f1", "u1")
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		checks := map[string]error{
			"CreateRefreshFamily": s.CreateRefreshFamily(ctx, "f2", "u", "web", nil, base, base.Add(day), digest(), base.Add(day)),
			"RotateRefreshToken":  s.RotateRefreshToken(ctx, tok, digest(), base, base.Add(day), nil),
			"RevokeRefreshFamily": s.RevokeRefreshFamily(ctx, "f1"),
			"DenyAccessToken":     s.DenyAccessToken(ctx, "j", base.Add(day)),
			"PruneRefresh":        s.PruneRefresh(ctx, base),
		}
		_, _, _, _, checks["RefreshToken"] = s.RefreshToken(ctx, tok)
		_, _, _, _, _, checks["RefreshFamily"] = s.RefreshFamily(ctx, "f1")
		_, checks["Denied"] = s.Denied(ctx, "j")
		for name, err := range checks {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s(done context): err = %v, want context.Canceled", name, err)
			}
		}
		if _, _, _, _, err := s.RefreshToken(t.Context(), tok); err != nil {
			t.Errorf("RefreshToken after calls with a done context: %v", err)
		}
	})
}

// digest returns a random 32-byte token name, as the token endpoint's
// SHA-256 digests are.
func digest() []byte {
	d := sha256.Sum256([]byte(rand.Text()))
	return d[:]
}
