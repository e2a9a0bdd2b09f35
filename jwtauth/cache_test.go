package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
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

// TestCacheMatchesFullVerification: the cache must behave exactly like a full
// verification.
func TestCacheMatchesFullVerification(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a failed token is not served after its twin succeeds", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, HS256, 0)
		good := e.issue(t, Claims{ClientID: testClient, Subject: "alice"})
		bad := good[:len(good)-2] + "AA"
		if bad == good {
			bad = good[:len(good)-2] + "BA"
		}
		for range 3 {
			if _, err := e.jwt.Verify(ctx, bad); err == nil {
				t.Fatal("Verify(bad) succeeded")
			}
			if _, err := e.jwt.Verify(ctx, good); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("a token verified by one JWT is not trusted by another", func(t *testing.T) {
		t.Parallel()
		e1 := newTestEnv(t, HS256, 0)
		e2 := newTestEnv(t, HS256, 0)
		raw := e1.issue(t, Claims{ClientID: testClient, Subject: "alice"})
		if _, err := e1.jwt.Verify(ctx, raw); err != nil {
			t.Fatal(err)
		}
		if _, err := e2.jwt.Verify(ctx, raw); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("Verify with another key set: %v, want ErrTokenInvalid", err)
		}
	})

	t.Run("rotation keeps tokens of the retired key valid, uncached", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, EdDSA, 0)
		raw := e.issue(t, Claims{ClientID: testClient, Subject: "alice"})
		e.jwt.Verify(ctx, raw)
		if err := e.keys.Rotate(mustKey(t, EdDSA)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.jwt.Verify(ctx, raw); err != nil {
			t.Errorf("Verify after Rotate: %v", err)
		}
		// The key set is replaced by one whose key has the old ID but
		// other material: the cached entry must not survive.
		if err := e.keys.Remove(e.key.ID()); err != nil {
			t.Fatal(err)
		}
		imposter, _ := NewKey(EdDSA, mustKey(t, EdDSA).signer, e.key.ID())
		if err := e.keys.Add(imposter); err != nil {
			t.Fatal(err)
		}
		if _, err := e.jwt.Verify(ctx, raw); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("Verify after the kid was reused for another key: %v, want ErrTokenInvalid", err)
		}
	})

	t.Run("a cached token stays within the size cap", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, HS256, 0)
		raw := e.issue(t, Claims{ClientID: testClient, Subject: strings.Repeat("a", 4000)})
		if _, err := e.jwt.Verify(ctx, raw); err != nil {
			t.Fatal(err)
		}
		small, _ := New(Config{Keys: e.keys, Issuer: testIssuer, Audience: []string{testAudience}, MaxTokenBytes: 1000, Now: e.clock.Now})
		if _, err := small.Verify(ctx, raw); !errors.Is(err, ErrTokenMalformed) {
			t.Errorf("Verify over the cap: %v, want ErrTokenMalformed", err)
		}
	})

	t.Run("concurrent use under eviction", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, HS256, 4)
		toks := make([]string, 16)
		for i := range toks {
			toks[i] = e.issue(t, Claims{ClientID: testClient, Subject: fmt.Sprint("u", i)})
		}
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 200 {
					j := (i + g) % len(toks)
					c, err := e.jwt.Verify(ctx, toks[j])
					if err != nil || c.Subject != fmt.Sprint("u", j) {
						t.Errorf("Verify(token %d) = %v, %v", j, c, err)
						return
					}
				}
			})
		}
		wg.Wait()
		if n := e.jwt.v.cache.len(); n > 4 {
			t.Errorf("cache entries = %d, want at most 4", n)
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

// TestCacheDoesNotPinRequestMemory: the token the middleware hands to
// Verify is a substring of the Authorization field (or Cookie field, or
// query), which may be up to a megabyte of padding around a valid token.
// A cache entry keyed by that substring would keep the whole field alive,
// so that size valid tokens could pin size megabytes.
func TestCacheDoesNotPinRequestMemory(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, EdDSA, 0)
	raw := e.issue(t, Claims{ClientID: testClient, Subject: "alice"})
	field := "Bearer " + strings.Repeat(" ", 1<<16) + raw
	tok, st := parseAuthorization(field)
	if st != credOK || tok != raw {
		t.Fatalf("parseAuthorization = %.20q, %v", tok, st)
	}
	check := func(when string) {
		t.Helper()
		tok, _ := parseAuthorization(field[:len(field)-len(raw)] + raw)
		if _, err := e.jwt.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		e.jwt.v.cache.mu.RLock()
		defer e.jwt.v.cache.mu.RUnlock()
		for key := range e.jwt.v.cache.m {
			if unsafe.StringData(key) == unsafe.StringData(tok) {
				t.Errorf("%s: the cache key shares memory with the request's Authorization field", when)
			}
		}
	}
	check("first verification")
	// A key set change makes the entry stale; verifying again replaces
	// it, and a map assignment replaces the key too.
	if err := e.keys.Add(mustKey(t, EdDSA)); err != nil {
		t.Fatal(err)
	}
	check("entry replaced")
}

// TestVerifiedSlicesHaveNoSpareCapacity: claims may come from the token
// cache and so be shared by every request carrying the token. A handler
// that appends to Principal.Roles (say, to add roles implied by others)
// must get a fresh array, never write into spare capacity that the next
// request's append writes too.
func TestVerifiedSlicesHaveNoSpareCapacity(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, EdDSA, 0)
	raw := e.issue(t, Claims{
		Subject:  "alice",
		ClientID: testClient,
		Audience: []string{testAudience, "b", "c"},
		Roles:    []string{"a", "b", "c"},
		Scope:    []string{"x", "y", "z"},
	})
	c1, err := e.jwt.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string][]string{"Audience": c1.Audience, "Roles": c1.Roles, "Scope": c1.Scope} {
		if len(s) != 3 || cap(s) != len(s) {
			t.Errorf("%s: len %d cap %d, want 3 and 3", name, len(s), cap(s))
		}
	}
	a := append(c1.Roles, "admin")
	c2, err := e.jwt.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if c1 != c2 {
		t.Fatal("second Verify missed the cache")
	}
	_ = append(c2.Roles, "guest")
	if a[3] != "admin" {
		t.Errorf("first request's appended role = %q, want admin", a[3])
	}
}

// len returns the number of entries.
func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
