package main

import (
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/oauth2pw"
	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/memory"
)

// testClock is a clock that moves only when told to.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Now()} }

// Now returns the clock's time.
func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newClockServer serves a fresh app built from cfg whose every clock (the
// tokens', the refresh tokens', the user store's) is a testClock.
func newClockServer(t testing.TB, cfg appConfig) (*httptest.Server, *testClock) {
	t.Helper()
	c := newTestClock()
	cfg.now = c.Now
	cfg.store = memory.NewWithClock(c.Now)
	_, srv := newTestServer(t, cfg)
	return srv, c
}

// loginPair logs a demo user in and returns the answer, which must carry
// a refresh token.
func loginPair(t testing.TB, srv *httptest.Server, username string) tokenResponse {
	t.Helper()
	r := postToken(t, srv, passwordForm(username, demoPassword(t, username)))
	if r.status != http.StatusOK {
		t.Fatalf("POST /token as %s: status = %d, want 200; body %s", username, r.status, r.body)
	}
	tr := decode[tokenResponse](t, r)
	if tr.AccessToken == "" || tr.RefreshToken == "" {
		t.Fatalf("POST /token as %s = %s, want an access token and a refresh token", username, r.body)
	}
	return tr
}

// refresh posts grant_type=refresh_token with rt to /token.
func refresh(t testing.TB, srv *httptest.Server, rt string) response {
	t.Helper()
	return postToken(t, srv, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

// wantRefreshRefused checks that rt is refused as invalid_grant.
func wantRefreshRefused(t testing.TB, srv *httptest.Server, rt, what string) {
	t.Helper()
	r := refresh(t, srv, rt)
	if r.status != http.StatusBadRequest {
		t.Fatalf("POST /token refresh with %s: status = %d, want %d; body %s", what, r.status, http.StatusBadRequest, r.body)
	}
	if got, want := r.errorCode(t), oauth2pw.CodeInvalidGrant; got != want {
		t.Errorf("POST /token refresh with %s: error = %q, want %q", what, got, want)
	}
}

// wantMe checks the status of GET /api/me with the access token at.
func wantMe(t testing.TB, srv *httptest.Server, at string, want int, what string) {
	t.Helper()
	r := get(t, srv, "/api/me", "Bearer "+at)
	if r.status != want {
		t.Fatalf("GET /api/me with %s: status = %d, want %d; body %s", what, r.status, want, r.body)
	}
	if want == http.StatusUnauthorized {
		if got := r.errorCode(t); got != "invalid_token" {
			t.Errorf("GET /api/me with %s: error = %q, want invalid_token", what, got)
		}
		if got := r.header.Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) {
			t.Errorf("GET /api/me with %s: WWW-Authenticate = %q, want an invalid_token challenge", what, got)
		}
	}
}

// postForm posts form to path with the Authorization header auth, if not
// empty.
func postForm(t testing.TB, srv *httptest.Server, path string, form url.Values, auth string) response {
	t.Helper()
	req := newRequest(t, http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return do(t, req)
}

func TestRefreshRotates(t *testing.T) {
	t.Parallel()
	srv, clock := newClockServer(t, testConfig(t))
	first := loginPair(t, srv, alice)

	r := refresh(t, srv, first.RefreshToken)
	if r.status != http.StatusOK {
		t.Fatalf("POST /token refresh: status = %d, want 200; body %s", r.status, r.body)
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("POST /token refresh: Cache-Control = %q, want no-store", got)
	}
	second := decode[tokenResponse](t, r)
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatalf("POST /token refresh: refresh_token = %q, want a new one", second.RefreshToken)
	}
	if second.AccessToken == "" || second.AccessToken == first.AccessToken || second.TokenType != "Bearer" {
		t.Fatalf("POST /token refresh = %s, want a new Bearer access token", r.body)
	}
	wantMe(t, srv, second.AccessToken, http.StatusOK, "the refreshed access token")

	// A retry within the grace window (a lost answer) gets the same
	// successor, not a second one.
	retry := refresh(t, srv, first.RefreshToken)
	if retry.status != http.StatusOK {
		t.Fatalf("POST /token refresh again within the grace window: status = %d, want 200; body %s", retry.status, retry.body)
	}
	if got := decode[tokenResponse](t, retry).RefreshToken; got != second.RefreshToken {
		t.Errorf("POST /token refresh again within the grace window: refresh_token = %q, want the first successor %q", got, second.RefreshToken)
	}

	// After it, the spent token is refused and ends its session: the
	// successor goes too.
	clock.Advance(3 * time.Second)
	wantRefreshRefused(t, srv, first.RefreshToken, "the spent token after the grace window")
	wantRefreshRefused(t, srv, second.RefreshToken, "the successor of a reused token")
}

func TestRefreshGrace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		grace time.Duration
		want  int
	}{
		{"default grace", 0, http.StatusOK},
		{"short grace", time.Nanosecond, http.StatusBadRequest},
		{"no grace", -1, http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			cfg.refreshGrace = tc.grace
			srv, clock := newClockServer(t, cfg)
			rt := loginPair(t, srv, bob).RefreshToken
			if r := refresh(t, srv, rt); r.status != http.StatusOK {
				t.Fatalf("POST /token refresh: status = %d, want 200; body %s", r.status, r.body)
			}
			clock.Advance(time.Second)
			if r := refresh(t, srv, rt); r.status != tc.want {
				t.Errorf("POST /token refresh with the spent token a second later: status = %d, want %d; body %s", r.status, tc.want, r.body)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	srv, _ := newClockServer(t, testConfig(t))
	this, other := loginPair(t, srv, alice), loginPair(t, srv, alice)

	r := postForm(t, srv, "/api/logout", nil, "Bearer "+this.AccessToken)
	if r.status != http.StatusNoContent {
		t.Fatalf("POST /api/logout: status = %d, want %d; body %s", r.status, http.StatusNoContent, r.body)
	}
	wantMe(t, srv, this.AccessToken, http.StatusUnauthorized, "a signed-out access token")
	wantRefreshRefused(t, srv, this.RefreshToken, "the signed-out session's refresh token")

	// The user's other session goes on.
	wantMe(t, srv, other.AccessToken, http.StatusOK, "another session's access token")
	if r := refresh(t, srv, other.RefreshToken); r.status != http.StatusOK {
		t.Errorf("POST /token refresh of another session: status = %d, want 200; body %s", r.status, r.body)
	}
}

func TestLogoutEverywhere(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		send func(t *testing.T, srv *httptest.Server, at string) response
	}{
		{"query", func(t *testing.T, srv *httptest.Server, at string) response {
			return postForm(t, srv, "/api/logout?everywhere=true", nil, "Bearer "+at)
		}},
		{"form", func(t *testing.T, srv *httptest.Server, at string) response {
			return postForm(t, srv, "/api/logout", url.Values{"everywhere": {"true"}}, "Bearer "+at)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, clock := newClockServer(t, testConfig(t))
			one, two, bobs := loginPair(t, srv, alice), loginPair(t, srv, alice), loginPair(t, srv, bob)
			clock.Advance(2 * time.Second)

			if r := tc.send(t, srv, one.AccessToken); r.status != http.StatusNoContent {
				t.Fatalf("POST /api/logout everywhere: status = %d, want %d; body %s", r.status, http.StatusNoContent, r.body)
			}
			for _, s := range []struct {
				name string
				tr   tokenResponse
			}{{"the caller's session", one}, {"another session", two}} {
				wantMe(t, srv, s.tr.AccessToken, http.StatusUnauthorized, "the access token of "+s.name)
				wantRefreshRefused(t, srv, s.tr.RefreshToken, "the refresh token of "+s.name)
			}

			// Other users keep their sessions, and the user may log in again.
			wantMe(t, srv, bobs.AccessToken, http.StatusOK, "another user's access token")
			if r := refresh(t, srv, bobs.RefreshToken); r.status != http.StatusOK {
				t.Errorf("POST /token refresh of another user: status = %d, want 200; body %s", r.status, r.body)
			}
			wantMe(t, srv, loginPair(t, srv, alice).AccessToken, http.StatusOK, "a login after sign-out everywhere")
		})
	}
}

func TestLogoutErrors(t *testing.T) {
	t.Parallel()
	_, srv := newTestServer(t, testConfig(t))
	at := login(t, srv, alice)
	tests := []struct {
		name, method, target, auth string
		status                     int
		code, allow                string
	}{
		{"no token", http.MethodPost, "/api/logout", "", http.StatusUnauthorized, "", ""},
		{"bad everywhere", http.MethodPost, "/api/logout?everywhere=maybe", "Bearer " + at, http.StatusBadRequest, "invalid_request", ""},
		{"GET", http.MethodGet, "/api/logout", "Bearer " + at, http.StatusMethodNotAllowed, "invalid_request", "POST"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := newRequest(t, tc.method, srv.URL+tc.target, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			r := do(t, req)
			if r.status != tc.status {
				t.Fatalf("%s %s: status = %d, want %d; body %s", tc.method, tc.target, r.status, tc.status, r.body)
			}
			if got := r.errorCode(t); got != tc.code {
				t.Errorf("%s %s: error = %q, want %q", tc.method, tc.target, got, tc.code)
			}
			if got := r.header.Get("Allow"); got != tc.allow {
				t.Errorf("%s %s: Allow = %q, want %q", tc.method, tc.target, got, tc.allow)
			}
		})
	}
	// A refused sign-out ended nothing.
	wantMe(t, srv, at, http.StatusOK, "the access token after refused sign-outs")
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	_, srv := newTestServer(t, testConfig(t))
	tr := loginPair(t, srv, alice)

	r := postForm(t, srv, "/revoke", url.Values{"token": {tr.AccessToken}}, "")
	if r.status != http.StatusOK {
		t.Fatalf("POST /revoke an access token: status = %d, want 200; body %s", r.status, r.body)
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("POST /revoke: Cache-Control = %q, want no-store", got)
	}
	wantMe(t, srv, tr.AccessToken, http.StatusUnauthorized, "a revoked access token")
	// Revoking the access token leaves the session's refresh token.
	r = refresh(t, srv, tr.RefreshToken)
	if r.status != http.StatusOK {
		t.Fatalf("POST /token refresh after revoking the access token: status = %d, want 200; body %s", r.status, r.body)
	}
	next := decode[tokenResponse](t, r)

	if r := postForm(t, srv, "/revoke", url.Values{"token": {next.RefreshToken}, "token_type_hint": {"refresh_token"}}, ""); r.status != http.StatusOK {
		t.Fatalf("POST /revoke a refresh token: status = %d, want 200; body %s", r.status, r.body)
	}
	wantRefreshRefused(t, srv, next.RefreshToken, "a revoked refresh token")

	tests := []struct {
		name   string
		form   url.Values
		auth   string
		status int
		code   string
	}{
		{"unknown token", url.Values{"token": {rand.Text()}}, "", http.StatusOK, ""},
		{"no token", url.Values{}, "", http.StatusBadRequest, "invalid_request"},
		{"unknown client", url.Values{"token": {rand.Text()}, "client_id": {"nobody"}}, "", http.StatusUnauthorized, "invalid_client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := postForm(t, srv, "/revoke", tc.form, tc.auth)
			if r.status != tc.status {
				t.Fatalf("POST /revoke: status = %d, want %d; body %s", r.status, tc.status, r.body)
			}
			if tc.code != "" {
				if got := r.errorCode(t); got != tc.code {
					t.Errorf("POST /revoke: error = %q, want %q", got, tc.code)
				}
			}
		})
	}
}

func TestSessionEndpointsMethods(t *testing.T) {
	t.Parallel()
	_, srv := newTestServer(t, testConfig(t))
	tests := []struct {
		method, path string
		allow        string
	}{
		{http.MethodGet, "/revoke", "POST"},
		{http.MethodGet, "/introspect", "POST"},
		{http.MethodPut, "/token", "POST"},
		{http.MethodPost, "/.well-known/oauth-authorization-server", "GET, HEAD"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			t.Parallel()
			r := do(t, newRequest(t, tc.method, srv.URL+tc.path, nil))
			if r.status != http.StatusMethodNotAllowed {
				t.Fatalf("%s %s: status = %d, want %d", tc.method, tc.path, r.status, http.StatusMethodNotAllowed)
			}
			if got := r.header.Get("Allow"); got != tc.allow {
				t.Errorf("%s %s: Allow = %q, want %q", tc.method, tc.path, got, tc.allow)
			}
		})
	}
}

// metadataDoc is the RFC 8414 document as the tests read it.
type metadataDoc struct {
	Issuer                string   `json:"issuer"`
	TokenEndpoint         string   `json:"token_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	RevocationEndpoint    string   `json:"revocation_endpoint"`
	IntrospectionEndpoint string   `json:"introspection_endpoint"`
	ScopesSupported       []string `json:"scopes_supported"`
	ResponseTypes         []string `json:"response_types_supported"`
	GrantTypes            []string `json:"grant_types_supported"`
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, issuer, secret string
		want                 metadataDoc
	}{
		{"default", "", "", metadataDoc{
			Issuer:             "http://127.0.0.1:8080",
			TokenEndpoint:      "http://127.0.0.1:8080/token",
			JWKSURI:            "http://127.0.0.1:8080/.well-known/jwks.json",
			RevocationEndpoint: "http://127.0.0.1:8080/revoke",
		}},
		{"issuer and introspection", "https://auth.example.com/", rand.Text(), metadataDoc{
			Issuer:                "https://auth.example.com/",
			TokenEndpoint:         "https://auth.example.com/token",
			JWKSURI:               "https://auth.example.com/.well-known/jwks.json",
			RevocationEndpoint:    "https://auth.example.com/revoke",
			IntrospectionEndpoint: "https://auth.example.com/introspect",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			if tc.issuer != "" {
				cfg.issuer = tc.issuer
			}
			cfg.introspectionSecret = tc.secret
			_, srv := newTestServer(t, cfg)
			r := get(t, srv, "/.well-known/oauth-authorization-server", "")
			if r.status != http.StatusOK {
				t.Fatalf("GET /.well-known/oauth-authorization-server: status = %d, want 200; body %s", r.status, r.body)
			}
			if got := r.header.Get("Content-Type"); got != "application/json" {
				t.Errorf("metadata: Content-Type = %q, want application/json", got)
			}
			got := decode[metadataDoc](t, r)
			if got.Issuer != tc.want.Issuer || got.TokenEndpoint != tc.want.TokenEndpoint || got.JWKSURI != tc.want.JWKSURI ||
				got.RevocationEndpoint != tc.want.RevocationEndpoint || got.IntrospectionEndpoint != tc.want.IntrospectionEndpoint {
				t.Errorf("metadata = %+v, want %+v", got, tc.want)
			}
			if want := []string{"password", "refresh_token"}; !slices.Equal(got.GrantTypes, want) {
				t.Errorf("metadata: grant_types_supported = %q, want %q", got.GrantTypes, want)
			}
			if want := []string{"admin", "user"}; !slices.Equal(got.ScopesSupported, want) {
				t.Errorf("metadata: scopes_supported = %q, want %q", got.ScopesSupported, want)
			}
			if got.ResponseTypes == nil || len(got.ResponseTypes) != 0 {
				t.Errorf("metadata: response_types_supported = %q, want []", got.ResponseTypes)
			}
		})
	}
}

func TestIntrospectionWithoutClient(t *testing.T) {
	t.Parallel()
	_, srv := newTestServer(t, testConfig(t))
	at := login(t, srv, alice)
	tests := []struct {
		name string
		form url.Values
		auth string
	}{
		{"no credentials", url.Values{"token": {at}}, ""},
		{"the default client", url.Values{"token": {at}, "client_id": {clientID}}, ""},
		{"the resource server", url.Values{"token": {at}}, basicAuth(introspectionClientID, rand.Text())},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := postForm(t, srv, "/introspect", tc.form, tc.auth)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("POST /introspect: status = %d, want %d; body %s", r.status, http.StatusUnauthorized, r.body)
			}
			if got, want := r.errorCode(t), oauth2pw.CodeInvalidClient; got != want {
				t.Errorf("POST /introspect: error = %q, want %q", got, want)
			}
			if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic ") {
				t.Errorf("POST /introspect: WWW-Authenticate = %q, want a Basic challenge", got)
			}
		})
	}
}

// basicAuth returns an HTTP Basic Authorization header value.
func basicAuth(user, password string) string {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, password)
	return req.Header.Get("Authorization")
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.introspectionSecret = rand.Text()
	srv, _ := newClockServer(t, cfg)
	auth := basicAuth(introspectionClientID, cfg.introspectionSecret)
	live := loginPair(t, srv, alice)
	ended := loginPair(t, srv, bob)
	if r := postForm(t, srv, "/api/logout", nil, "Bearer "+ended.AccessToken); r.status != http.StatusNoContent {
		t.Fatalf("POST /api/logout: status = %d, want 204; body %s", r.status, r.body)
	}

	tests := []struct {
		name, token string
		active      bool
		tokenType   string
	}{
		{"access token", live.AccessToken, true, "Bearer"},
		{"refresh token", live.RefreshToken, true, "refresh_token"},
		{"signed-out access token", ended.AccessToken, false, ""},
		{"signed-out refresh token", ended.RefreshToken, false, ""},
		{"garbage", rand.Text(), false, ""},
		{"garbage JWT", "a.b.c", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := postForm(t, srv, "/introspect", url.Values{"token": {tc.token}}, auth)
			if r.status != http.StatusOK {
				t.Fatalf("POST /introspect: status = %d, want 200; body %s", r.status, r.body)
			}
			if got := r.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("POST /introspect: Cache-Control = %q, want no-store", got)
			}
			var got map[string]any
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatalf("POST /introspect: %v; body %s", err, r.body)
			}
			if got["active"] != tc.active {
				t.Fatalf("POST /introspect: active = %v, want %v; body %s", got["active"], tc.active, r.body)
			}
			if !tc.active {
				if len(got) != 1 {
					t.Errorf("POST /introspect of an inactive token = %s, want {\"active\":false} alone", r.body)
				}
				return
			}
			if got["sub"] != "1" || got["client_id"] != clientID || got["token_type"] != tc.tokenType {
				t.Errorf("POST /introspect = %s, want sub 1, client_id %s, token_type %s", r.body, clientID, tc.tokenType)
			}
		})
	}

	t.Run("wrong secret", func(t *testing.T) {
		t.Parallel()
		r := postForm(t, srv, "/introspect", url.Values{"token": {live.AccessToken}}, basicAuth(introspectionClientID, rand.Text()))
		if r.status != http.StatusUnauthorized {
			t.Fatalf("POST /introspect with a wrong secret: status = %d, want %d; body %s", r.status, http.StatusUnauthorized, r.body)
		}
		if got, want := r.errorCode(t), oauth2pw.CodeInvalidClient; got != want {
			t.Errorf("POST /introspect with a wrong secret: error = %q, want %q", got, want)
		}
	})
}

func TestIntrospectionSecret(t *testing.T) {
	t.Parallel()
	good := rand.Text()
	tests := []struct {
		name  string
		value string
		set   bool
		want  string
		err   bool
	}{
		{"unset", "", false, "", false},
		{"set", good, true, good, false},
		{"sixteen bytes", "0123456789abcdef", true, "0123456789abcdef", false},
		{"empty", "", true, "", true},
		{"short", "0123456789abcde", true, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lookup := func(name string) (string, bool) {
				if name != introspectionSecretEnv {
					t.Errorf("lookup(%q), want %q", name, introspectionSecretEnv)
				}
				return tc.value, tc.set
			}
			got, err := introspectionSecret(lookup)
			if got != tc.want || (err != nil) != tc.err {
				t.Errorf("introspectionSecret = %q, %v; want %q, error %v", got, err, tc.want, tc.err)
			}
			if err != nil && !strings.Contains(err.Error(), introspectionSecretEnv) {
				t.Errorf("introspectionSecret error %q does not name %s", err, introspectionSecretEnv)
			}
		})
	}

	cfg := testConfig(t)
	cfg.introspectionSecret = "too short"
	if _, err := newApp(t.Context(), cfg); !errors.Is(err, errShortIntrospectionSecret) {
		t.Errorf("newApp with a short introspection secret = %v, want %v", err, errShortIntrospectionSecret)
	}
}

// TestSessionsOnSQLite checks that a SQLite server keeps its sessions in
// the database, so that a refresh token survives a restart.
func TestSessionsOnSQLite(t *testing.T) {
	t.Parallel()
	cfg, _ := sqliteConfig(t)
	first := newTestApp(t, cfg)
	srv := serveApp(t, first)
	tr := loginPair(t, srv, alice)
	srv.Close()
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, ok := first.sessions.(sqliteSessions); !ok {
		t.Errorf("sessions = %T, want sqliteSessions", first.sessions)
	}
	second := newClosedApp(t, cfg)
	srv = serveApp(t, second)
	r := refresh(t, srv, tr.RefreshToken)
	if r.status != http.StatusOK {
		t.Fatalf("POST /token refresh after a restart: status = %d, want 200; body %s", r.status, r.body)
	}
	wantMe(t, srv, decode[tokenResponse](t, r).AccessToken, http.StatusOK, "an access token refreshed after a restart")
}

// TestSQLiteSessionsRouting checks which pool each session write of a
// SQLite database goes through: new families and rotations through the
// throttle's, which runs synchronous=NORMAL, revocations and denylist
// entries through the users', which runs synchronous=FULL. Each case
// closes one pool and sees which writes still succeed.
func TestSQLiteSessionsRouting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// closeDurable closes the users' pool rather than the
		// throttle's.
		closeDurable bool
	}{
		{"throttle pool closed", false},
		{"users' pool closed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			d, err := openDB(ctx, filepath.Join(t.TempDir(), "authkit.db"))
			if err != nil {
				t.Fatalf("openDB: %v", err)
			}
			t.Cleanup(func() { d.Close() })
			for _, p := range []struct {
				what string
				db   *sql.DB
				want int
			}{{"throttle pool", d.throttleDB, 1}, {"users' pool", d.db, 2}} {
				var got int
				if err := p.db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&got); err != nil {
					t.Fatalf("%s: PRAGMA synchronous: %v", p.what, err)
				}
				if got != p.want {
					t.Errorf("%s: PRAGMA synchronous = %d, want %d", p.what, got, p.want)
				}
			}
			u, err := d.users.CreateUser(ctx, &userstore.User{Username: "routing@example.com", PasswordHash: "x"})
			if err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			s := d.sessions(nil)
			now := time.Now()
			far := now.Add(time.Hour)
			digest := func() []byte { b := sha256.Sum256([]byte(rand.Text())); return b[:] }
			old := digest()
			if err := s.CreateRefreshFamily(ctx, rand.Text(), u.ID, "default", nil, now, far, old, far); err != nil {
				t.Fatalf("CreateRefreshFamily with both pools open: %v", err)
			}
			closed := d.throttleDB
			if tc.closeDurable {
				closed = d.db
			}
			if err := closed.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			onThrottle := map[string]error{
				"CreateRefreshFamily": s.CreateRefreshFamily(ctx, rand.Text(), u.ID, "default", nil, now, far, digest(), far),
				"RotateRefreshToken":  s.RotateRefreshToken(ctx, old, digest(), now, far, nil),
			}
			onDurable := map[string]error{
				"RevokeRefreshFamily":       s.RevokeRefreshFamily(ctx, rand.Text()),
				"RevokeUserRefreshFamilies": s.RevokeUserRefreshFamilies(ctx, rand.Text()),
				"DenyAccessToken":           s.DenyAccessToken(ctx, rand.Text(), far),
			}
			wantClosed := func(ops map[string]error, closed bool) {
				t.Helper()
				for op, err := range ops {
					if got := errors.Is(err, sql.ErrConnDone) || err != nil && strings.Contains(err.Error(), "database is closed"); got != closed {
						t.Errorf("%s: error %v; through the closed pool: %t, want %t", op, err, got, closed)
					} else if !closed && err != nil {
						t.Errorf("%s: %v, want nil", op, err)
					}
				}
			}
			wantClosed(onThrottle, !tc.closeDurable)
			wantClosed(onDurable, tc.closeDurable)
		})
	}
}
