package memory_test

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/memory"
	"github.com/authkit-go/authkit/userstore/storetest"
)

func TestSessionsConformance(t *testing.T) {
	t.Parallel()
	storetest.RunSessions(t, func(t *testing.T) storetest.SessionStore { return memory.NewSessions(nil) })
}

// TestSessionsZeroValue checks that the zero Sessions is a usable store.
func TestSessionsZeroValue(t *testing.T) {
	t.Parallel()
	storetest.RunSessions(t, func(t *testing.T) storetest.SessionStore { return new(memory.Sessions) })
}

// TestSessionsPruneOutOfOrder rotates a family to successors whose
// expiries come out of order: each prune removes exactly the tokens
// expired at its instant, and keeps the others.
func TestSessionsPruneOutOfOrder(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memory.NewSessions(nil)
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	digest := func(i int) []byte { d := sha256.Sum256([]byte{byte(i)}); return d[:] }
	// Token i expires base + expiries[i] hours; each spends the one before.
	expiries := []int{5, 9, 2, 7, 3, 8}
	if err := s.CreateRefreshFamily(ctx, "f", "u", "web", nil, base, base.Add(100*time.Hour), digest(0), base.Add(time.Duration(expiries[0])*time.Hour)); err != nil {
		t.Fatalf("CreateRefreshFamily: %v", err)
	}
	for i := 1; i < len(expiries); i++ {
		exp := base.Add(time.Duration(expiries[i]) * time.Hour)
		if err := s.RotateRefreshToken(ctx, digest(i-1), digest(i), base, exp, []byte("sealed")); err != nil {
			t.Fatalf("RotateRefreshToken(%d): %v", i, err)
		}
	}
	for _, at := range []int{1, 3, 6, 8, 9} {
		if err := s.PruneRefresh(ctx, base.Add(time.Duration(at)*time.Hour)); err != nil {
			t.Fatalf("PruneRefresh(+%dh): %v", at, err)
		}
		for i, e := range expiries {
			_, _, _, _, err := s.RefreshToken(ctx, digest(i))
			if got, want := err == nil, e > at; got != want {
				t.Errorf("after PruneRefresh(+%dh): token %d (expires +%dh) kept = %v, want %v (err %v)", at, i, e, got, want, err)
			}
		}
	}
	if _, _, _, _, _, err := s.RefreshFamily(ctx, "f"); !errors.Is(err, userstore.ErrNotFound) {
		t.Errorf("RefreshFamily after its last token expired: err = %v, want ErrNotFound", err)
	}
}
