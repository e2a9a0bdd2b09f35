package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"strconv"
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

// writeJSON answers with body as application/json.
func writeJSON(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, body)
}

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
	raw := e.issue(t, Claims{ClientID: testClient, Subject: "alice", Roles: []string{"admin"}})
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
	old := e.issue(t, Claims{ClientID: testClient, Subject: "alice"})
	if _, err := r.Verify(ctx, old); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Minute)
	if err := e.keys.Rotate(mustKey(t, ES256)); err != nil {
		t.Fatal(err)
	}
	fresh := e.issue(t, Claims{ClientID: testClient, Subject: "bob"})
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
		{"garbage", func(w http.ResponseWriter) { writeJSON(w, "<html>down</html>") }},
		{"empty set", func(w http.ResponseWriter) { writeJSON(w, `{"keys":[]}`) }},
		{"symmetric key only", func(w http.ResponseWriter) { writeJSON(w, `{"keys":[`+string(octJSON)+`]}`) }},
		{"key without alg only", func(w http.ResponseWriter) { writeJSON(w, `{"keys":[`+string(noAlgJSON)+`]}`) }},
		{"oversized", func(w http.ResponseWriter) {
			writeJSON(w, `{"keys":[],"pad":"`+strings.Repeat("a", maxJWKSBytes)+`"}`)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, srv, r := newRemoteEnv(t)
			raw := e.issue(t, Claims{ClientID: testClient, Subject: "alice"})
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
	mismatch := strings.Replace(string(goodJWK), `"EdDSA"`, `"ES256"`, 1)
	mismatch = strings.Replace(mismatch, good.ID(), "mismatch", 1)
	repeated := strings.Replace(string(goodJWK), `{`, `{"x":"AAAA",`, 1)
	repeated = strings.Replace(repeated, good.ID(), "repeated", 1)
	keys, err := parseRemoteSet([]byte(`{"keys":[` + string(goodJWK) + `,` + string(noAlgJSON) + `,` + mismatch + `,` + repeated + `,"not a key",{"kty":"EC"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[good.ID()] == nil || keys[good.ID()].CanSign() {
		t.Errorf("parseRemoteSet: keys = %v, want only %s, verification-only", keys, good.ID())
	}
	for _, doc := range []string{`{}`, `{"keys":{}}`, `{"keys":[],"keys":[]}`, `[]`} {
		if keys, err := parseRemoteSet([]byte(doc)); err == nil {
			t.Errorf("parseRemoteSet(%s) = %v, want error", doc, keys)
		}
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

// labelledGoroutines counts the goroutines that carry the pprof label
// leak=label, which goroutines inherit from the one that started them.
func labelledGoroutines(t *testing.T, label string) int {
	t.Helper()
	var b strings.Builder
	if err := pprof.Lookup("goroutine").WriteTo(&b, 1); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, entry := range strings.Split(b.String(), "\n\n") {
		if !strings.Contains(entry, `"leak":"`+label+`"`) {
			continue
		}
		for _, line := range strings.Split(entry, "\n") {
			if count, _, ok := strings.Cut(line, " @ "); ok {
				c, err := strconv.Atoi(count)
				if err != nil {
					t.Fatalf("goroutine profile line %q", line)
				}
				n += c
				break
			}
		}
	}
	return n
}

// TestRemoteVerifierRefreshesStaleSet: no goroutine runs between requests;
// the first Verify after RefreshInterval starts one fetch and serves the
// stale set meanwhile, without waiting for it; a failed refresh is logged
// and retried at most once per MinRefetchInterval.
func TestRemoteVerifierRefreshesStaleSet(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pprof.Do(context.Background(), pprof.Labels("leak", t.Name()), func(ctx context.Context) {
			first := mustKey(t, EdDSA)
			keys, _ := NewKeySet(first)
			issuer, _ := New(Config{Keys: keys, Issuer: testIssuer, Audience: []string{testAudience}})
			var hits atomic.Int32
			var mode atomic.Int32 // 0: serve, 1: hang until release, 2: fail
			release := make(chan struct{})
			jwks := keys.JWKSHandler()
			client := &http.Client{Transport: handlerTransport{http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				switch mode.Load() {
				case 1:
					<-release
				case 2:
					w.WriteHeader(http.StatusInternalServerError)
					return
				}
				jwks.ServeHTTP(w, r)
			})}}
			logger, logs := newTestLogger()
			base := labelledGoroutines(t, t.Name()) // this one
			r, err := NewRemoteVerifier(ctx, RemoteConfig{
				JWKSURL: "https://issuer.example/jwks.json", Issuer: testIssuer, Audience: []string{testAudience},
				HTTPClient: client, RefreshInterval: time.Minute, MinRefetchInterval: 30 * time.Second,
				Logger: logger,
			})
			if err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if got := labelledGoroutines(t, t.Name()) - base; got != 0 {
				t.Errorf("goroutines after NewRemoteVerifier = %d, want 0", got)
			}
			old, _ := issuer.Issue(ctx, Claims{ClientID: testClient, Subject: "alice"})
			if _, err := r.Verify(ctx, old.Raw); err != nil {
				t.Fatal(err)
			}

			// Time passes with no request: nothing is fetched.
			keys.Rotate(mustKey(t, EdDSA))
			time.Sleep(10 * time.Minute)
			synctest.Wait()
			if got := hits.Load(); got != 1 {
				t.Errorf("fetches after 10 minutes without requests = %d, want 1", got)
			}

			// The next Verify serves the stale set and starts one refresh,
			// which hangs: Verify does not wait for it (if it did, the
			// bubble would deadlock), nor does any other caller.
			mode.Store(1)
			for range 5 {
				if _, err := r.Verify(ctx, old.Raw); err != nil {
					t.Errorf("Verify(stale set) while the refresh hangs: %v", err)
				}
			}
			synctest.Wait()
			if got := hits.Load(); got != 2 {
				t.Errorf("fetches after Verify on a stale set = %d, want 2", got)
			}
			mode.Store(0)
			close(release)
			synctest.Wait()
			fresh, _ := issuer.Issue(ctx, Claims{ClientID: testClient, Subject: "bob"})
			if _, err := r.Verify(ctx, fresh.Raw); err != nil {
				t.Errorf("Verify(new key) after the refresh: %v", err)
			}
			if got := hits.Load(); got != 2 {
				t.Errorf("fetches after the refresh = %d, want 2 (the new key came with it)", got)
			}
			synctest.Wait()
			if got := labelledGoroutines(t, t.Name()) - base; got != 0 {
				t.Errorf("goroutines after the refresh ended = %d, want 0", got)
			}

			// A failing refresh is logged, the last good set stays, and it
			// is retried once per MinRefetchInterval, not on every request.
			mode.Store(2)
			time.Sleep(time.Minute)
			r.Verify(ctx, fresh.Raw)
			synctest.Wait()
			for range 10 {
				if _, err := r.Verify(ctx, fresh.Raw); err != nil {
					t.Errorf("Verify after a failed refresh: %v", err)
				}
			}
			synctest.Wait()
			if got := hits.Load(); got != 3 {
				t.Errorf("fetches after a failed refresh and 10 requests = %d, want 3", got)
			}
			for _, want := range []string{"level=WARN", "JWKS fetch failed", "url=https://issuer.example/jwks.json", "cause=refresh", "status 500"} {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("log %q does not contain %q", logs.String(), want)
				}
			}
			time.Sleep(30 * time.Second)
			r.Verify(ctx, fresh.Raw)
			synctest.Wait()
			if got := hits.Load(); got != 4 {
				t.Errorf("fetches after MinRefetchInterval = %d, want 4", got)
			}
			synctest.Wait()
			if got := labelledGoroutines(t, t.Name()) - base; got != 0 {
				t.Errorf("goroutines at the end = %d, want 0", got)
			}
		})
	})
}

// TestRemoteVerifierLazy: a lazy verifier starts while its issuer is down;
// tokens are refused as a dependency failure (503 through the middleware)
// until a fetch succeeds, and a down issuer is asked at most once per
// MinRefetchInterval.
func TestRemoteVerifierLazy(t *testing.T) {
	t.Parallel()
	for _, refresh := range []time.Duration{0, -1} {
		t.Run(fmt.Sprintf("RefreshInterval=%v", refresh), func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, EdDSA, 0)
			srv := newJWKSServer(t, e.keys)
			srv.answer(func(w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) })
			r, err := NewRemoteVerifier(t.Context(), RemoteConfig{
				JWKSURL: srv.URL, Issuer: testIssuer, Audience: []string{testAudience}, Now: e.clock.Now,
				RefreshInterval: refresh, MinRefetchInterval: time.Minute, Lazy: true,
			})
			if err != nil {
				t.Fatalf("NewRemoteVerifier(Lazy, issuer down): %v", err)
			}
			if got := srv.hits.Load(); got != 0 {
				t.Errorf("fetches by the lazy constructor = %d, want 0", got)
			}
			raw := e.issue(t, Claims{ClientID: testClient, Subject: "alice"})
			_, err = r.Verify(context.Background(), raw)
			if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrTokenInvalid) || !strings.Contains(err.Error(), srv.URL) || !strings.Contains(err.Error(), "status 503") {
				t.Errorf("Verify with the issuer down: error = %v, want ErrUnavailable naming the URL and the status", err)
			}
			if _, err := r.Verify(context.Background(), "garbage"); !errors.Is(err, ErrTokenMalformed) {
				t.Errorf("Verify(garbage) with the issuer down: error = %v, want ErrTokenMalformed", err)
			}

			mw := Middleware(r)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			req := httptest.NewRequest("GET", "/api/me", nil)
			req.Header.Set("Authorization", "Bearer "+raw)
			rec := httptest.NewRecorder()
			mw.ServeHTTP(rec, req)
			if rec.Code != http.StatusServiceUnavailable {
				t.Errorf("GET /api/me with the issuer down: status = %d, want 503", rec.Code)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != "" {
				t.Errorf("GET /api/me with the issuer down: WWW-Authenticate = %q, want none", got)
			}
			if got, want := rec.Body.String(), `{"error":"temporarily_unavailable","error_description":"The service is temporarily unavailable"}`+"\n"; got != want {
				t.Errorf("GET /api/me with the issuer down: body = %q, want %q", got, want)
			}
			if got := srv.hits.Load(); got != 1 {
				t.Errorf("fetches within MinRefetchInterval of a failure = %d, want 1", got)
			}

			// The issuer comes up; after MinRefetchInterval the next
			// request fetches the set and passes.
			srv.override.Store(nil)
			e.clock.Add(time.Minute)
			if _, err := r.Verify(context.Background(), raw); err != nil {
				t.Errorf("Verify once the issuer is up: %v", err)
			}
			rec = httptest.NewRecorder()
			mw.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Errorf("GET /api/me once the issuer is up: status = %d, want 200", rec.Code)
			}
			if got := srv.hits.Load(); got != 2 {
				t.Errorf("fetches = %d, want 2", got)
			}
		})
	}
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

// publicJWKJSON returns k's public JWK as JSON with kid, alg and use, and
// the members of extra (a JSON object's inner text) added.
func publicJWKJSON(t *testing.T, k *Key, extra string) string {
	t.Helper()
	b, err := publicJWK(k)
	if err != nil {
		t.Fatal(err)
	}
	if extra == "" {
		return string(b)
	}
	return "{" + extra + "," + string(b[1:])
}

func TestRemoteVerifierRefusesPrivateKeyMaterial(t *testing.T) {
	t.Parallel()
	leak := mustKey(t, ES256)
	members := map[string]string{
		"d": `"AAAA"`, "p": `"AAAA"`, "q": `"AAAA"`, "dp": `"AAAA"`, "dq": `"AAAA"`, "qi": `"AAAA"`,
		"oth": `[{"r":"AAAA","d":"AAAA","t":"AAAA"}]`, "k": `"AAAA"`,
	}
	for member, value := range members {
		t.Run(member, func(t *testing.T) {
			t.Parallel()
			e, srv, r := newRemoteEnv(t)
			good := e.issue(t, Claims{ClientID: testClient, Subject: "alice"})
			// The leaking key is the second of the set; the first is fine.
			body := `{"keys":[` + publicJWKJSON(t, e.key, "") + `,` + publicJWKJSON(t, leak, `"`+member+`":`+value) + `]}`
			srv.answer(func(w http.ResponseWriter) { writeJSON(w, body) })

			err := r.Refresh(context.Background())
			if err == nil {
				t.Fatal("Refresh(set with private key material): error = nil")
			}
			for _, want := range []string{srv.URL, `"` + leak.ID() + `"`, `"` + member + `"`, "private key"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Refresh: error %q does not name %s", err, want)
				}
			}
			if _, err := r.Verify(context.Background(), good); err != nil {
				t.Errorf("Verify after the refused set: %v (the last good set must stay)", err)
			}
			if _, err := r.Verify(context.Background(), forge(t, leak, hdr(ES256, leak.ID()), payload(""))); !errors.Is(err, ErrTokenInvalid) {
				t.Errorf("Verify(token of the leaked key): error = %v, want ErrTokenInvalid", err)
			}

			_, err = NewRemoteVerifier(t.Context(), RemoteConfig{JWKSURL: srv.URL, Issuer: testIssuer, Audience: []string{testAudience}, RefreshInterval: -1})
			if err == nil || !strings.Contains(err.Error(), leak.ID()) || !strings.Contains(err.Error(), srv.URL) {
				t.Errorf("NewRemoteVerifier(set with private key material): error = %v, want one naming the URL and %s", err, leak.ID())
			}
		})
	}
	t.Run("escaped member name, no kid", func(t *testing.T) {
		t.Parallel()
		body := `{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA","\u0064":"AAAA"}]}`
		if _, err := parseRemoteSet([]byte(body)); err == nil || !strings.Contains(err.Error(), `"d"`) {
			t.Errorf("parseRemoteSet(escaped d) error = %v, want one naming \"d\"", err)
		}
	})
	t.Run("logged from unknown-kid refetches", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, EdDSA, 0)
		srv := newJWKSServer(t, e.keys)
		records := make(chan slog.Record, 4)
		r, err := NewRemoteVerifier(t.Context(), RemoteConfig{
			JWKSURL: srv.URL, Issuer: testIssuer, Audience: []string{testAudience}, Now: e.clock.Now,
			RefreshInterval: -1, MinRefetchInterval: time.Minute,
			Logger: slog.New(recordHandler{records, slog.LevelWarn}),
		})
		if err != nil {
			t.Fatal(err)
		}
		body := `{"keys":[` + publicJWKJSON(t, leak, `"d":"AAAA"`) + `]}`
		srv.answer(func(w http.ResponseWriter) { writeJSON(w, body) })
		e.clock.Add(2 * time.Minute)
		if _, err := r.Verify(context.Background(), forge(t, leak, hdr(ES256, leak.ID()), payload(""))); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("Verify(token of the leaked key): error = %v, want ErrTokenInvalid", err)
		}
		rec := <-records
		attrs := recordAttrs(rec)
		if rec.Level != slog.LevelError || attrs["url"] != srv.URL || !strings.Contains(attrs["error"], leak.ID()) || attrs["cause"] != "unknown key ID" {
			t.Errorf("logged %v %q %v, want an Error naming %s and %s", rec.Level, rec.Message, attrs, srv.URL, leak.ID())
		}
	})
}

// recordHandler sends the records of level min and above to its channel.
type recordHandler struct {
	ch  chan<- slog.Record
	min slog.Level
}

func (h recordHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.min }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.ch <- r.Clone()
	return nil
}
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordHandler) WithGroup(string) slog.Handler      { return h }

// recordAttrs returns the attributes of r as strings by key.
func recordAttrs(r slog.Record) map[string]string {
	m := make(map[string]string)
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	return m
}

func TestRemoteVerifierHonoursKeyUse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		extra  string // members added to the key; "use":"sig" is there unless replaced
		usable bool
	}{
		{"use sig", ``, true},
		{"key_ops verify", `"key_ops":["verify"]`, true},
		{"key_ops sign and verify", `"key_ops":["sign","verify"]`, true},
		{"key_ops sign", `"key_ops":["sign"]`, false},
		{"key_ops encrypt", `"key_ops":["encrypt"]`, false},
		{"key_ops empty", `"key_ops":[]`, false},
		{"use enc", `"use":"enc"`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, srv, r := newRemoteEnv(t)
			marked := mustKey(t, EdDSA)
			jk := publicJWKJSON(t, marked, tc.extra)
			if strings.Contains(tc.extra, `"use"`) {
				jk = strings.Replace(jk, `"use":"sig"`, `"x-use":"sig"`, 1)
			}
			body := `{"keys":[` + publicJWKJSON(t, e.key, "") + `,` + jk + `]}`
			srv.answer(func(w http.ResponseWriter) { writeJSON(w, body) })
			if err := r.Refresh(context.Background()); err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			_, err := r.Verify(context.Background(), forge(t, marked, hdr(EdDSA, marked.ID()), payload("")))
			if tc.usable && err != nil {
				t.Errorf("Verify(token of the %s key): %v, want success", tc.name, err)
			}
			if !tc.usable && err != errUnknownKID {
				t.Errorf("Verify(token of the %s key): error = %v, want %v", tc.name, err, errUnknownKID)
			}
		})
	}
}

func TestRemoteVerifierContentType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		contentType string
		ok          bool
	}{
		{"application/jwk-set+json", true},
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"Application/JWK-Set+JSON; charset=UTF-8", true},
		{"", false},
		{"text/plain", false},
		{"text/html; charset=utf-8", false},
		{"application/jwk+json", false},
		{"application/x-json", false},
		{"application/json-seq", false},
		{"application/json, text/html", false},
	}
	for _, tc := range tests {
		t.Run(tc.contentType, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, EdDSA, 0)
			body := `{"keys":[` + publicJWKJSON(t, e.key, "") + `]}`
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Content-Type"] = []string{tc.contentType} // also when empty: no sniffing
				io.WriteString(w, body)
			}))
			t.Cleanup(srv.Close)
			r, err := NewRemoteVerifier(t.Context(), RemoteConfig{JWKSURL: srv.URL, Issuer: testIssuer, Audience: []string{testAudience}, Now: e.clock.Now, RefreshInterval: -1})
			if tc.ok {
				if err != nil {
					t.Fatalf("NewRemoteVerifier: %v", err)
				}
				if _, err := r.Verify(context.Background(), e.issue(t, Claims{ClientID: testClient, Subject: "alice"})); err != nil {
					t.Errorf("Verify: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "Content-Type") {
				t.Errorf("NewRemoteVerifier: error = %v, want a Content-Type error", err)
			}
		})
	}
}

// TestRemoteVerifierRefetchIsShared: while a refetch for an unknown key ID
// hangs, every other token with an unknown key ID waits for that same
// fetch, and a waiting caller whose context ends gives up at once.
func TestRemoteVerifierRefetchIsShared(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, EdDSA, 0)
	jwks := e.keys.JWKSHandler()
	var hits atomic.Int32
	hanging := make(chan struct{}, 100) // one value per hanging request
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) > 1 {
			hanging <- struct{}{}
			<-release
		}
		jwks.ServeHTTP(w, r)
	}))
	released := false
	t.Cleanup(func() {
		if !released {
			close(release)
		}
		srv.Close()
	})
	r, err := NewRemoteVerifier(t.Context(), RemoteConfig{
		JWKSURL: srv.URL, Issuer: testIssuer, Audience: []string{testAudience}, Now: e.clock.Now,
		RefreshInterval: -1, MinRefetchInterval: time.Minute,
		HTTPClient: &http.Client{Timeout: time.Hour}, // the fetch ends only when released
	})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Minute)
	if err := e.keys.Rotate(mustKey(t, EdDSA)); err != nil {
		t.Fatal(err)
	}
	fresh := e.issue(t, Claims{ClientID: testClient, Subject: "bob"})

	const n = 20
	results := make(chan error, n)
	for range n {
		go func() {
			_, err := r.Verify(context.Background(), fresh)
			results <- err
		}()
	}
	<-hanging // the refetch has reached the issuer and hangs there

	// Time passing while the fetch hangs does not let a caller start another.
	e.clock.Add(10 * time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() {
		_, err := r.Verify(ctx, fresh)
		gaveUp <- err
	}()
	cancel()
	select {
	case err := <-gaveUp:
		if err != errUnknownKID {
			t.Errorf("Verify with a cancelled context: error = %v, want %v", err, errUnknownKID)
		}
	case <-time.After(time.Minute): // a guard against a hang, not a speed check
		t.Fatal("Verify with a cancelled context is still waiting for the hanging fetch")
	}
	select {
	case err := <-results:
		t.Fatalf("a caller returned (%v) before the hanging fetch ended", err)
	default:
	}

	close(release)
	released = true
	for range n {
		if err := <-results; err != nil {
			t.Errorf("Verify(token of the new key) after the shared fetch: %v", err)
		}
	}
	if got := hits.Load(); got != 2 {
		t.Errorf("fetches = %d, want 2 (the first, and one shared refetch)", got)
	}
	if got := len(hanging); got != 0 {
		t.Errorf("%d more fetches reached the issuer, want 0", got)
	}
}
