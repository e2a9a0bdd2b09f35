package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
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
		old, _ := issuer.Issue(ctx, Claims{ClientID: testClient, Subject: "alice"})
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
		fresh, _ := issuer.Issue(ctx, Claims{ClientID: testClient, Subject: "bob"})
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
	t.Run("reported from unknown-kid refetches", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, EdDSA, 0)
		srv := newJWKSServer(t, e.keys)
		reported := make(chan error, 1)
		r, err := NewRemoteVerifier(t.Context(), RemoteConfig{
			JWKSURL: srv.URL, Issuer: testIssuer, Audience: []string{testAudience}, Now: e.clock.Now,
			RefreshInterval: -1, MinRefetchInterval: time.Minute,
			OnFetchError: func(err error) { reported <- err },
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
		if err := <-reported; !strings.Contains(err.Error(), leak.ID()) {
			t.Errorf("OnFetchError(%q), want an error naming %s", err, leak.ID())
		}
	})
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
