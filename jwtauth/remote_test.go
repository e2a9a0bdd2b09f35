package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// jwksServer serves an issuer's JWKS, counting requests; override, when
// set, replaces the answer.
type jwksServer struct {
	*httptest.Server
	hits     atomic.Int32
	override atomic.Pointer[func(w http.ResponseWriter)]
}

func newJWKSServer(t *testing.T, ks *KeySet) *jwksServer {
	s := &jwksServer{}
	h := ks.JWKSHandler()
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if f := s.override.Load(); f != nil {
			(*f)(w)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) answer(f func(w http.ResponseWriter)) { s.override.Store(&f) }

func newRemoteEnv(t *testing.T) (*testEnv, *jwksServer, *RemoteVerifier) {
	t.Helper()
	e := newTestEnv(t, EdDSA, 0)
	srv := newJWKSServer(t, e.keys)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r, err := NewRemoteVerifier(ctx, RemoteConfig{
		JWKSURL:            srv.URL + "/.well-known/jwks.json",
		Issuer:             testIssuer,
		Audience:           []string{testAudience},
		Now:                e.clock.Now,
		MinRefetchInterval: time.Minute,
		RefreshInterval:    -1,
	})
	if err != nil {
		t.Fatalf("NewRemoteVerifier: %v", err)
	}
	return e, srv, r
}

func TestRemoteVerifier(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, srv, r := newRemoteEnv(t)
	raw := e.issue(t, Claims{Subject: "alice", Roles: []string{"admin"}})
	c, err := r.Verify(ctx, raw)
	if err != nil || c.Subject != "alice" || !c.HasRole("admin") {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
	if _, err := r.Verify(ctx, forge(t, e.key, hdr(EdDSA, e.key.ID()), payload(`"aud":"x"`))); !errors.Is(err, ErrTokenMalformed) {
		t.Errorf("Verify(duplicate aud): error = %v, want ErrTokenMalformed", err)
	}
	if got := srv.hits.Load(); got != 1 {
		t.Errorf("fetches = %d, want 1", got)
	}
}

func TestRemoteVerifierRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, srv, r := newRemoteEnv(t)
	old := e.issue(t, Claims{Subject: "alice"})
	if _, err := r.Verify(ctx, old); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Minute)
	if err := e.keys.Rotate(mustKey(t, ES256)); err != nil {
		t.Fatal(err)
	}
	fresh := e.issue(t, Claims{Subject: "bob"})
	c, err := r.Verify(ctx, fresh)
	if err != nil || c.Subject != "bob" {
		t.Fatalf("Verify(token of rotated key) = %v, %v", c, err)
	}
	if got := srv.hits.Load(); got != 2 {
		t.Errorf("fetches = %d, want 2 (one refetch for the new kid)", got)
	}
	if _, err := r.Verify(ctx, old); err != nil {
		t.Errorf("Verify(token of retired key): %v", err)
	}
	// The issuer removes the old key; a refresh makes its tokens fail.
	if err := e.keys.Remove(e.key.ID()); err != nil {
		t.Fatal(err)
	}
	if err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Verify(ctx, old); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("Verify(token of removed key): error = %v, want ErrTokenInvalid", err)
	}
}

func TestRemoteVerifierRefetchIsRateLimited(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, srv, r := newRemoteEnv(t)
	stranger := mustKey(t, EdDSA)
	e.clock.Add(2 * time.Minute) // past MinRefetchInterval since the first fetch
	for i := range 20 {
		raw := forge(t, stranger, hdr(EdDSA, "unknown-"+string(rune('a'+i))), payload(""))
		if _, err := r.Verify(ctx, raw); !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("Verify(unknown kid): error = %v, want ErrTokenInvalid", err)
		}
	}
	if got := srv.hits.Load(); got != 2 {
		t.Errorf("fetches after 20 unknown kids = %d, want 2 (initial + one refetch)", got)
	}
	e.clock.Add(59 * time.Second)
	r.Verify(ctx, forge(t, stranger, hdr(EdDSA, "unknown-z"), payload("")))
	if got := srv.hits.Load(); got != 2 {
		t.Errorf("fetches within MinRefetchInterval = %d, want 2", got)
	}
	e.clock.Add(time.Second)
	r.Verify(ctx, forge(t, stranger, hdr(EdDSA, "unknown-z"), payload("")))
	if got := srv.hits.Load(); got != 3 {
		t.Errorf("fetches after MinRefetchInterval = %d, want 3", got)
	}
	// Malformed tokens never cause a fetch.
	e.clock.Add(2 * time.Minute)
	r.Verify(ctx, "garbage.garbage.garbage")
	r.Verify(ctx, forge(t, stranger, `{"alg":"EdDSA","kid":"new","typ":"JWT"}`, payload("")))
	if got := srv.hits.Load(); got != 3 {
		t.Errorf("fetches after malformed tokens = %d, want 3", got)
	}
}

func TestRemoteVerifierKeepsLastGoodSet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	secret := make([]byte, 32)
	octKey, _ := jwk.FromRaw(secret)
	octKey.Set(jwk.KeyIDKey, "oct")
	octKey.Set(jwk.AlgorithmKey, "HS256")
	octJSON, _ := json.Marshal(octKey)
	noAlg, _ := jwk.FromRaw(mustKey(t, EdDSA).pub)
	noAlg.Set(jwk.KeyIDKey, "noalg")
	noAlgJSON, _ := json.Marshal(noAlg)

	tests := []struct {
		name   string
		answer func(w http.ResponseWriter)
	}{
		{"500", func(w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) }},
		{"redirect", func(w http.ResponseWriter) {
			w.Header().Set("Location", "http://127.0.0.1:1/elsewhere")
			w.WriteHeader(http.StatusFound)
		}},
		{"garbage", func(w http.ResponseWriter) { w.Write([]byte("<html>down</html>")) }},
		{"empty set", func(w http.ResponseWriter) { w.Write([]byte(`{"keys":[]}`)) }},
		{"symmetric key only", func(w http.ResponseWriter) { w.Write([]byte(`{"keys":[` + string(octJSON) + `]}`)) }},
		{"key without alg only", func(w http.ResponseWriter) { w.Write([]byte(`{"keys":[` + string(noAlgJSON) + `]}`)) }},
		{"oversized", func(w http.ResponseWriter) {
			w.Write([]byte(`{"keys":[],"pad":"` + strings.Repeat("a", maxJWKSBytes) + `"}`))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, srv, r := newRemoteEnv(t)
			raw := e.issue(t, Claims{Subject: "alice"})
			srv.answer(tc.answer)
			if err := r.Refresh(ctx); err == nil {
				t.Error("Refresh: error = nil, want error")
			}
			if _, err := r.Verify(ctx, raw); err != nil {
				t.Errorf("Verify after a failed refresh: %v", err)
			}
			// A token signed with the served HMAC secret is refused.
			hs, _ := NewKey(HS256, secret, "oct")
			if _, err := r.Verify(ctx, forge(t, hs, hdr(HS256, "oct"), payload(""))); !errors.Is(err, ErrTokenInvalid) {
				t.Errorf("Verify(HS256 with served oct key): error = %v, want ErrTokenInvalid", err)
			}
		})
	}
}

func TestRemoteVerifierSkipsUnusableKeys(t *testing.T) {
	t.Parallel()
	good := mustKey(t, EdDSA)
	goodJWK, _ := publicJWK(good)
	noAlg, _ := jwk.FromRaw(mustKey(t, EdDSA).pub)
	noAlg.Set(jwk.KeyIDKey, "noalg")
	noAlgJSON, _ := json.Marshal(noAlg)
	secret := make([]byte, 32)
	oct, _ := jwk.FromRaw(secret)
	oct.Set(jwk.KeyIDKey, "oct")
	oct.Set(jwk.AlgorithmKey, "HS256")
	octJSON, _ := json.Marshal(oct)
	mismatch := strings.Replace(string(goodJWK), `"EdDSA"`, `"ES256"`, 1)
	mismatch = strings.Replace(mismatch, good.ID(), "mismatch", 1)
	keys, err := parseRemoteSet([]byte(`{"keys":[` + string(goodJWK) + `,` + string(noAlgJSON) + `,` + string(octJSON) + `,` + mismatch + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[good.ID()] == nil {
		t.Errorf("parseRemoteSet: keys = %v, want only %s", keys, good.ID())
	}
	// A private JWK is reduced to its public part.
	priv, _ := jwk.FromRaw(good.signer)
	priv.Set(jwk.KeyIDKey, "priv")
	priv.Set(jwk.AlgorithmKey, "EdDSA")
	privJSON, _ := json.Marshal(priv)
	keys, err = parseRemoteSet([]byte(`{"keys":[` + string(privJSON) + `]}`))
	if err != nil || keys["priv"] == nil || keys["priv"].CanSign() {
		t.Errorf("parseRemoteSet(private JWK) = %v, %v; want a verification-only key", keys, err)
	}
}

// handlerTransport serves requests from a handler in memory, so that
// tests can run inside a synctest bubble.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func TestRemoteVerifierBackgroundRefresh(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		first := mustKey(t, EdDSA)
		keys, _ := NewKeySet(first)
		issuer, _ := New(Config{Keys: keys, Issuer: testIssuer, Audience: []string{testAudience}})
		var hits atomic.Int32
		jwks := keys.JWKSHandler()
		client := &http.Client{Transport: handlerTransport{http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			jwks.ServeHTTP(w, r)
		})}}
		ctx, cancel := context.WithCancel(context.Background())
		r, err := NewRemoteVerifier(ctx, RemoteConfig{
			JWKSURL: "https://issuer.example/jwks.json", Issuer: testIssuer, Audience: []string{testAudience},
			HTTPClient: client, RefreshInterval: time.Minute, MinRefetchInterval: time.Hour / 2,
		})
		if err != nil {
			t.Fatal(err)
		}
		old, _ := issuer.Issue(ctx, Claims{Subject: "alice"})
		if _, err := r.Verify(ctx, old.Raw); err != nil {
			t.Fatal(err)
		}

		// The issuer rotates; the next background refresh brings the new
		// key, with no refetch on the request path.
		second := mustKey(t, EdDSA)
		keys.Rotate(second)
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := hits.Load(); got != 2 {
			t.Errorf("fetches after one interval = %d, want 2", got)
		}
		fresh, _ := issuer.Issue(ctx, Claims{Subject: "bob"})
		if _, err := r.Verify(ctx, fresh.Raw); err != nil {
			t.Errorf("Verify(new key) after refresh: %v", err)
		}
		// The issuer removes the old key; after the next refresh its tokens fail.
		keys.Remove(first.ID())
		time.Sleep(time.Minute)
		synctest.Wait()
		if _, err := r.Verify(ctx, old.Raw); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("Verify(removed key) after refresh: error = %v, want ErrTokenInvalid", err)
		}
		if got := hits.Load(); got != 3 {
			t.Errorf("fetches after two intervals = %d, want 3", got)
		}

		// When ctx ends, so does the refresh.
		cancel()
		synctest.Wait()
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if got := hits.Load(); got != 3 {
			t.Errorf("fetches after ctx ended = %d, want 3", got)
		}
	})
}

func TestNewRemoteVerifierErrors(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, EdDSA, 0)
	srv := newJWKSServer(t, e.keys)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(down.Close)
	good := RemoteConfig{JWKSURL: srv.URL, Issuer: testIssuer, Audience: []string{testAudience}}
	tests := []struct {
		name string
		edit func(*RemoteConfig)
	}{
		{"no URL", func(c *RemoteConfig) { c.JWKSURL = "" }},
		{"relative URL", func(c *RemoteConfig) { c.JWKSURL = "/jwks.json" }},
		{"plain http to a remote host", func(c *RemoteConfig) { c.JWKSURL = "http://auth.example.com/jwks.json" }},
		{"credentials in URL", func(c *RemoteConfig) { c.JWKSURL = strings.Replace(srv.URL, "://", "://u:p@", 1) }},
		{"no issuer", func(c *RemoteConfig) { c.Issuer = "" }},
		{"no audience", func(c *RemoteConfig) { c.Audience = nil }},
		{"negative refetch", func(c *RemoteConfig) { c.MinRefetchInterval = -1 }},
		{"issuer down", func(c *RemoteConfig) { c.JWKSURL = down.URL }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			if _, err := NewRemoteVerifier(t.Context(), cfg); err == nil {
				t.Error("NewRemoteVerifier: error = nil, want error")
			}
		})
	}
}
