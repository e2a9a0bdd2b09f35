package jwtauth

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// TestRemoteVerifierHostileIssuer: a hostile or failing issuer endpoint and a
// hostile client.
func TestRemoteVerifierHostileIssuer(t *testing.T) {
	t.Parallel()

	t.Run("slow server times out and the last good set stays", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, EdDSA, 0)
		jwks := e.keys.JWKSHandler()
		release := make(chan struct{})
		var slow sync.Map
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := slow.Load("on"); ok {
				select {
				case <-release:
				case <-r.Context().Done():
				}
				return
			}
			jwks.ServeHTTP(w, r)
		}))
		t.Cleanup(func() { close(release); srv.Close() })
		r, err := NewRemoteVerifier(t.Context(), RemoteConfig{
			JWKSURL: srv.URL, Issuer: testIssuer, Audience: []string{testAudience}, Now: e.clock.Now,
			HTTPClient: &http.Client{Timeout: 200 * time.Millisecond}, RefreshInterval: -1,
		})
		if err != nil {
			t.Fatal(err)
		}
		slow.Store("on", true)
		if err := r.Refresh(context.Background()); err == nil {
			t.Error("Refresh from a hanging server: error = nil")
		}
		if _, err := r.Verify(context.Background(), e.issue(t, Claims{ClientID: testClient, Subject: "alice"})); err != nil {
			t.Errorf("Verify after a timed-out refresh: %v", err)
		}
	})

	t.Run("alg none keys are never used and oct keys refuse the set", func(t *testing.T) {
		t.Parallel()
		good := mustKey(t, EdDSA)
		goodJWK, _ := publicJWK(good)
		edNone := strings.Replace(strings.Replace(string(goodJWK), `"EdDSA"`, `"none"`, 1), good.ID(), "none-key", 1)
		keys, err := parseRemoteSet([]byte(`{"keys":[` + string(goodJWK) + `,` + edNone + `]}`))
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 || keys[good.ID()] == nil || keys[good.ID()].alg != EdDSA {
			t.Errorf("parseRemoteSet = %v, want only the EdDSA key", keys)
		}
		secret := make([]byte, 32)
		rand.Read(secret)
		oct, _ := jwk.FromRaw(secret)
		oct.Set(jwk.KeyIDKey, good.ID()) // collides with the good key
		oct.Set(jwk.AlgorithmKey, "HS256")
		octJSON, _ := json.Marshal(oct)
		if keys, err := parseRemoteSet([]byte(`{"keys":[` + string(goodJWK) + `,` + string(octJSON) + `]}`)); err == nil {
			t.Errorf("parseRemoteSet(set with an HMAC secret) = %v, want error", keys)
		}
	})

	t.Run("a flood of unknown kids fetches at most once", func(t *testing.T) {
		t.Parallel()
		e, srv, r := newRemoteEnv(t)
		stranger := mustKey(t, EdDSA)
		e.clock.Add(2 * time.Minute)
		var wg sync.WaitGroup
		for i := range 50 {
			raw := forge(t, stranger, hdr(EdDSA, fmt.Sprint("kid-", i)), payload(""))
			wg.Go(func() { r.Verify(context.Background(), raw) })
		}
		wg.Wait()
		if got := srv.hits.Load(); got != 2 {
			t.Errorf("fetches = %d, want 2 (initial + one refetch)", got)
		}
	})

	t.Run("a caller that hangs up does not hold back a rotation", func(t *testing.T) {
		// The refetch for an unknown kid serves every caller. If it ran on
		// the context of the request that happened to trigger it, a client
		// that hangs up at once would make the fetch fail, use up the
		// refetch budget, and leave the issuer's new key unknown until
		// the set grows stale and a Verify refreshes it.
		t.Parallel()
		e, srv, r := newRemoteEnv(t)
		e.clock.Add(2 * time.Minute)
		if err := e.keys.Rotate(mustKey(t, EdDSA)); err != nil {
			t.Fatal(err)
		}
		fresh := e.issue(t, Claims{ClientID: testClient, Subject: "bob"})
		gone, cancel := context.WithCancel(context.Background())
		cancel()
		r.Verify(gone, fresh)
		if _, err := r.Verify(context.Background(), fresh); err != nil {
			t.Errorf("Verify(token of the new key) after a hung-up refetch: %v", err)
		}
		if got := srv.hits.Load(); got != 2 {
			t.Errorf("fetches = %d, want 2", got)
		}
	})
}

// TestRemoteVerifierKIDReused: an issuer that reuses a key ID for new key
// material. After the refresh, tokens of the old key fail and tokens of the
// new one verify, cached or not.
func TestRemoteVerifierKIDReused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, _, r := newRemoteEnv(t)
	kid := e.key.ID()
	old := e.issue(t, Claims{ClientID: testClient, Subject: "alice"})
	if _, err := r.Verify(ctx, old); err != nil {
		t.Fatal(err)
	}
	// Rebuild the issuer's set: a new key under the same ID.
	tmp := mustKey(t, EdDSA)
	if err := e.keys.Rotate(tmp); err != nil {
		t.Fatal(err)
	}
	if err := e.keys.Remove(kid); err != nil {
		t.Fatal(err)
	}
	reused, err := NewKey(EdDSA, mustKey(t, EdDSA).signer, kid)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.keys.Rotate(reused); err != nil {
		t.Fatal(err)
	}
	if err := e.keys.Remove(tmp.ID()); err != nil {
		t.Fatal(err)
	}
	fresh := e.issue(t, Claims{ClientID: testClient, Subject: "bob"})
	if err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Verify(ctx, old); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("Verify(token of the replaced key): %v, want ErrTokenInvalid", err)
	}
	if c, err := r.Verify(ctx, fresh); err != nil || c.Subject != "bob" {
		t.Errorf("Verify(token of the new key) = %v, %v", c, err)
	}
}

// TestRemoteVerifierRefetchRace: a request that read the key set just
// before another request's refetch installed the issuer's new key must use
// that new set, not be refused because a refetch happened a moment ago.
func TestRemoteVerifierRefetchRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, srv, r := newRemoteEnv(t)
	e.clock.Add(2 * time.Minute)
	if err := e.keys.Rotate(mustKey(t, EdDSA)); err != nil {
		t.Fatal(err)
	}
	fresh := e.issue(t, Claims{ClientID: testClient, Subject: "bob"})
	stale := r.cur.Load()
	// Another request's refetch completes ...
	if _, err := r.Verify(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	// ... while this one still holds the set it read before.
	var once sync.Once
	r.v.snap = func() *keySnapshot {
		s := r.cur.Load()
		once.Do(func() { s = stale })
		return s
	}
	r.v.cache = nil
	if _, err := r.Verify(ctx, fresh); err != nil {
		t.Errorf("Verify with a set read just before a refetch: %v", err)
	}
	if got := srv.hits.Load(); got != 2 {
		t.Errorf("fetches = %d, want 2", got)
	}
}

// TestNewRemoteVerifierRefusesTinyIntervals: a RefreshInterval or
// MinRefetchInterval written as a bare number (15, meant as minutes) is
// nanoseconds, which would make the verifier fetch the JWKS in a tight loop.
func TestNewRemoteVerifierRefusesTinyIntervals(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, EdDSA, 0)
	srv := newJWKSServer(t, e.keys)
	for _, cfg := range []RemoteConfig{
		{RefreshInterval: 15},
		{RefreshInterval: 999 * time.Millisecond},
		{MinRefetchInterval: 30},
		{RefreshInterval: -1, MinRefetchInterval: time.Millisecond},
	} {
		cfg.JWKSURL, cfg.Issuer, cfg.Audience = srv.URL, testIssuer, []string{testAudience}
		ctx, cancel := context.WithCancel(context.Background())
		if _, err := NewRemoteVerifier(ctx, cfg); err == nil {
			t.Errorf("NewRemoteVerifier(RefreshInterval %v, MinRefetchInterval %v): error = nil", cfg.RefreshInterval, cfg.MinRefetchInterval)
		}
		cancel()
	}
	if got := srv.hits.Load(); got != 0 {
		t.Errorf("fetches = %d, want 0", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := NewRemoteVerifier(ctx, RemoteConfig{JWKSURL: srv.URL, Issuer: testIssuer, Audience: []string{testAudience}, RefreshInterval: time.Second, MinRefetchInterval: time.Second}); err != nil {
		t.Errorf("NewRemoteVerifier(one second): %v", err)
	}
}
