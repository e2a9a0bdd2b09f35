package jwtauth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCacheNeverTurnsInvalidValid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("tampered token with the same prefix", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, EdDSA, 0)
		raw := e.issue(t, Claims{ClientID: testClient, Subject: "alice"})
		if _, err := e.jwt.Verify(ctx, raw); err != nil {
			t.Fatal(err)
		}
		// Same header and payload, signature altered in its last bytes.
		sig := raw[strings.LastIndexByte(raw, '.')+1:]
		flip := "A"
		if sig[len(sig)-3] == 'A' {
			flip = "B"
		}
		tampered := raw[:len(raw)-3] + flip + raw[len(raw)-2:]
		if _, err := e.jwt.Verify(ctx, tampered); !errors.Is(err, ErrTokenInvalid) && !errors.Is(err, ErrTokenMalformed) {
			t.Errorf("Verify(tampered) after caching the original: error = %v, want invalid", err)
		}
		if _, err := e.jwt.Verify(ctx, raw[:len(raw)-1]); err == nil {
			t.Error("Verify(truncated): error = nil, want error")
		}
	})

	t.Run("expired while cached", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, EdDSA, 0)
		raw := e.issue(t, Claims{ClientID: testClient, Subject: "alice", ExpiresAt: testT0.Add(time.Minute)})
		if _, err := e.jwt.Verify(ctx, raw); err != nil {
			t.Fatal(err)
		}
		if e.jwt.v.cache.len() != 1 {
			t.Fatalf("cache entries = %d, want 1", e.jwt.v.cache.len())
		}
		e.clock.Add(time.Minute + defaultLeeway - time.Nanosecond)
		if _, err := e.jwt.Verify(ctx, raw); err != nil {
			t.Errorf("Verify within leeway: %v", err)
		}
		e.clock.Add(time.Nanosecond)
		if _, err := e.jwt.Verify(ctx, raw); !errors.Is(err, ErrTokenExpired) {
			t.Errorf("Verify after exp+leeway: error = %v, want ErrTokenExpired", err)
		}
	})

	t.Run("not yet valid while cached", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, EdDSA, 0)
		raw := e.issue(t, Claims{ClientID: testClient, Subject: "alice", NotBefore: testT0.Add(time.Minute)})
		e.clock.Add(time.Minute)
		if _, err := e.jwt.Verify(ctx, raw); err != nil {
			t.Fatal(err)
		}
		e.clock.Set(testT0) // the clock stepped back
		if _, err := e.jwt.Verify(ctx, raw); !errors.Is(err, ErrTokenNotYetValid) {
			t.Errorf("Verify before nbf: error = %v, want ErrTokenNotYetValid", err)
		}
	})

	t.Run("key removed while cached", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, EdDSA, 0)
		raw := e.issue(t, Claims{ClientID: testClient, Subject: "alice"})
		if _, err := e.jwt.Verify(ctx, raw); err != nil {
			t.Fatal(err)
		}
		if err := e.keys.Rotate(mustKey(t, EdDSA)); err != nil {
			t.Fatal(err)
		}
		if err := e.keys.Remove(e.key.ID()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.jwt.Verify(ctx, raw); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("Verify after Remove: error = %v, want ErrTokenInvalid", err)
		}
	})
}

func TestCacheHitsAndBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t, HS256, 3)
	raw := e.issue(t, Claims{ClientID: testClient, Subject: "alice"})
	c1, err := e.jwt.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := e.jwt.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if c1 != c2 {
		t.Error("second Verify did not return the cached claims")
	}
	for i := range 10 {
		if _, err := e.jwt.Verify(ctx, e.issue(t, Claims{ClientID: testClient, Subject: "u" + string(rune('a'+i))})); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.jwt.v.cache.len(); n != 3 {
		t.Errorf("cache entries = %d, want 3 (the bound)", n)
	}
	// Invalid tokens are never stored.
	e2 := newTestEnv(t, HS256, 10)
	for range 5 {
		e2.jwt.Verify(ctx, forge(t, e2.key, hdr(HS256, e2.key.ID()), payload(`"sub":"x"`)))
	}
	if n := e2.jwt.v.cache.len(); n != 0 {
		t.Errorf("cache entries after invalid tokens = %d, want 0", n)
	}
	// Disabled cache.
	e3 := newTestEnv(t, HS256, -1)
	if e3.jwt.v.cache != nil {
		t.Error("CacheSize -1: cache is enabled")
	}
}
