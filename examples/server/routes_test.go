package main

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/memory"
)

// Demo credentials, as the server seeds them.
const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// testConfig returns the default command-line configuration with cheap
// argon2id parameters, so that tests hash fast.
func testConfig(t testing.TB) appConfig {
	t.Helper()
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cheap, err := userstore.NewInsecureArgon2id(userstore.Argon2idParams{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg.hasher = userstore.HasherConfig{Preferred: cheap}
	cfg.db = memoryDB
	return cfg
}

func newTestApp(t testing.TB, cfg appConfig) *app {
	t.Helper()
	a, err := newApp(t.Context(), cfg)
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	return a
}

// newTestServer serves the routes of a fresh app built from cfg.
func newTestServer(t testing.TB, cfg appConfig) (*app, *httptest.Server) {
	t.Helper()
	a := newTestApp(t, cfg)
	srv := httptest.NewServer(a.routes())
	t.Cleanup(srv.Close)
	return a, srv
}

// demoPassword returns the seeded password of a demo user.
func demoPassword(t testing.TB, username string) string {
	t.Helper()
	for _, d := range demoUsers() {
		if d.username == username {
			return d.password
		}
	}
	t.Fatalf("no demo user %q", username)
	return ""
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errorBody is the JSON error body of every error answer.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func (r response) errorCode(t testing.TB) string {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	return e.Error
}

func do(t testing.TB, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	return response{resp.StatusCode, resp.Header, body}
}

func newRequest(t testing.TB, method, target string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// postToken posts form to /token.
func postToken(t testing.TB, srv *httptest.Server, form url.Values) response {
	t.Helper()
	req := newRequest(t, http.MethodPost, srv.URL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, req)
}

func passwordForm(username, password string) url.Values {
	return url.Values{"grant_type": {"password"}, "username": {username}, "password": {password}}
}

// tokenResponse is the success body of /token.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// login logs a demo user in and returns the access token.
func login(t testing.TB, srv *httptest.Server, username string) string {
	t.Helper()
	r := postToken(t, srv, passwordForm(username, demoPassword(t, username)))
	if r.status != http.StatusOK {
		t.Fatalf("POST /token as %s: status = %d, want 200; body %s", username, r.status, r.body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(r.body, &tr); err != nil {
		t.Fatalf("POST /token as %s: %v", username, err)
	}
	return tr.AccessToken
}

// get sends GET path with the Authorization header auth, if not empty.
func get(t testing.TB, srv *httptest.Server, path, auth string) response {
	t.Helper()
	req := newRequest(t, http.MethodGet, srv.URL+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return do(t, req)
}

func decode[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return v
}

func TestLogin(t *testing.T) {
	t.Parallel()
	_, srv := newTestServer(t, testConfig(t))
	for _, username := range []string{alice, bob} {
		t.Run(username, func(t *testing.T) {
			t.Parallel()
			r := postToken(t, srv, passwordForm(username, demoPassword(t, username)))
			if r.status != http.StatusOK {
				t.Fatalf("POST /token: status = %d, want 200; body %s", r.status, r.body)
			}
			for h, want := range map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache", "Content-Type": "application/json"} {
				if got := r.header.Get(h); !strings.HasPrefix(got, want) {
					t.Errorf("POST /token: %s = %q, want %q", h, got, want)
				}
			}
			tr := decode[tokenResponse](t, r)
			if tr.AccessToken == "" || !strings.EqualFold(tr.TokenType, "Bearer") {
				t.Errorf("POST /token = %s, want an access token of type Bearer", r.body)
			}
			if want := int64((30 * time.Minute).Seconds()); tr.ExpiresIn != want {
				t.Errorf("POST /token: expires_in = %d, want %d", tr.ExpiresIn, want)
			}
			if got := tokenClaims(t, tr.AccessToken)["client_id"]; got != clientID {
				t.Errorf("POST /token: client_id claim = %v, want %q", got, clientID)
			}
		})
	}
}

// TestLoginIsCaseInsensitive checks that usernames are compared in their
// normalised form, as users type their e-mail address any way they like.
func TestLoginIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	_, srv := newTestServer(t, testConfig(t))
	r := postToken(t, srv, passwordForm("Alice@Example.COM", demoPassword(t, alice)))
	if r.status != http.StatusOK {
		t.Errorf("POST /token as Alice@Example.COM: status = %d, want 200; body %s", r.status, r.body)
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	_, srv := newTestServer(t, testConfig(t))
	tokens := map[string]string{alice: login(t, srv, alice), bob: login(t, srv, bob)}

	t.Run("me", func(t *testing.T) {
		t.Parallel()
		want := map[string]userJSON{
			alice: {ID: "1", Name: "Alice", Email: alice, Role: "admin", Roles: []string{"admin"}},
			bob:   {ID: "2", Name: "Bob", Email: bob, Role: "user", Roles: []string{"user"}},
		}
		for user, tok := range tokens {
			r := get(t, srv, "/api/me", "Bearer "+tok)
			if r.status != http.StatusOK {
				t.Fatalf("GET /api/me as %s: status = %d, want 200; body %s", user, r.status, r.body)
			}
			if got := decode[userJSON](t, r); got.ID != want[user].ID || got.Name != want[user].Name ||
				got.Email != want[user].Email || got.Role != want[user].Role || !slices.Equal(got.Roles, want[user].Roles) {
				t.Errorf("GET /api/me as %s = %+v, want %+v", user, got, want[user])
			}
			if got := r.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("GET /api/me: Cache-Control = %q, want no-store", got)
			}
		}
	})
	t.Run("protected", func(t *testing.T) {
		t.Parallel()
		type protected struct {
			Message  string   `json:"message"`
			YourRole string   `json:"your_role"`
			Roles    []string `json:"roles"`
		}
		want := map[string]protected{
			alice: {"Hello Alice!", "admin", []string{"admin"}},
			bob:   {"Hello Bob!", "user", []string{"user"}},
		}
		for user, tok := range tokens {
			r := get(t, srv, "/api/protected", "Bearer "+tok)
			if r.status != http.StatusOK {
				t.Fatalf("GET /api/protected as %s: status = %d, want 200; body %s", user, r.status, r.body)
			}
			if got := decode[protected](t, r); got.Message != want[user].Message || got.YourRole != want[user].YourRole ||
				!slices.Equal(got.Roles, want[user].Roles) {
				t.Errorf("GET /api/protected as %s = %+v, want %+v", user, got, want[user])
			}
		}
	})
	t.Run("admin users as alice", func(t *testing.T) {
		t.Parallel()
		r := get(t, srv, "/api/admin/users", "Bearer "+tokens[alice])
		if r.status != http.StatusOK {
			t.Fatalf("GET /api/admin/users as alice: status = %d, want 200; body %s", r.status, r.body)
		}
		got := decode[struct {
			Users []listedUser `json:"users"`
		}](t, r)
		want := []listedUser{{"1", "Alice", "admin", []string{"admin"}}, {"2", "Bob", "user", []string{"user"}}}
		if !slices.EqualFunc(got.Users, want, func(a, b listedUser) bool {
			return a.ID == b.ID && a.Name == b.Name && a.Role == b.Role && slices.Equal(a.Roles, b.Roles)
		}) {
			t.Errorf("GET /api/admin/users = %+v, want %+v", got.Users, want)
		}
		if strings.Contains(string(r.body), "argon2") || strings.Contains(string(r.body), "email") {
			t.Errorf("GET /api/admin/users shows more than id, name, role and roles: %s", r.body)
		}
	})
	t.Run("admin users as bob", func(t *testing.T) {
		t.Parallel()
		r := get(t, srv, "/api/admin/users", "Bearer "+tokens[bob])
		if r.status != http.StatusForbidden {
			t.Fatalf("GET /api/admin/users as bob: status = %d, want 403; body %s", r.status, r.body)
		}
		if got, want := r.errorCode(t), "insufficient_scope"; got != want {
			t.Errorf("GET /api/admin/users as bob: error = %q, want %q", got, want)
		}
		if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer ") || !strings.Contains(got, `error="insufficient_scope"`) {
			t.Errorf("GET /api/admin/users as bob: WWW-Authenticate = %q, want a Bearer insufficient_scope challenge", got)
		}
	})
	t.Run("healthz", func(t *testing.T) {
		t.Parallel()
		r := get(t, srv, "/healthz", "")
		if r.status != http.StatusOK || string(r.body) != "ok\n" {
			t.Errorf("GET /healthz = %d %q, want 200 %q", r.status, r.body, "ok\n")
		}
	})
	t.Run("jwks", func(t *testing.T) {
		t.Parallel()
		r := get(t, srv, "/.well-known/jwks.json", "")
		if r.status != http.StatusOK {
			t.Fatalf("GET /.well-known/jwks.json: status = %d, want 200", r.status)
		}
		var set struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal(r.body, &set); err != nil {
			t.Fatalf("GET /.well-known/jwks.json: %v; body %s", err, r.body)
		}
		if len(set.Keys) != 1 {
			t.Fatalf("GET /.well-known/jwks.json: %d keys, want 1", len(set.Keys))
		}
		k := set.Keys[0]
		if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["kid"] == nil || k["x"] == nil {
			t.Errorf("JWKS key = %v, want an Ed25519 public key with alg and kid", k)
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := k[private]; ok {
				t.Errorf("JWKS key has private member %q", private)
			}
		}
		// The key that signs the tokens is the one published.
		if kid := tokenHeader(t, tokens[alice])["kid"]; kid != k["kid"] {
			t.Errorf("token kid = %v, JWKS kid = %v, want equal", kid, k["kid"])
		}
	})
}

// TestUnknownRoutes checks that the API answers JSON for paths it does not
// have and methods a route does not serve.
func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	_, srv := newTestServer(t, testConfig(t))
	tests := []struct {
		method, path string
		status       int
		code         string
		allow        string
	}{
		{http.MethodGet, "/", http.StatusNotFound, "not_found", ""},
		{http.MethodGet, "/api/nothing", http.StatusNotFound, "not_found", ""},
		{http.MethodGet, "/api/me/", http.StatusNotFound, "not_found", ""},
		{http.MethodPost, "/api/me", http.StatusMethodNotAllowed, "invalid_request", "GET, HEAD"},
		{http.MethodDelete, "/api/admin/users", http.StatusMethodNotAllowed, "invalid_request", "GET, HEAD"},
		{http.MethodPut, "/healthz", http.StatusMethodNotAllowed, "invalid_request", "GET, HEAD"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			t.Parallel()
			r := do(t, newRequest(t, tc.method, srv.URL+tc.path, nil))
			if r.status != tc.status {
				t.Fatalf("%s %s: status = %d, want %d", tc.method, tc.path, r.status, tc.status)
			}
			if got := r.errorCode(t); got != tc.code {
				t.Errorf("%s %s: error = %q, want %q", tc.method, tc.path, got, tc.code)
			}
			if got := r.header.Get("Allow"); got != tc.allow {
				t.Errorf("%s %s: Allow = %q, want %q", tc.method, tc.path, got, tc.allow)
			}
		})
	}
}

// b64 encodes JWS segments.
var b64 = base64.RawURLEncoding

// tokenHeader returns the decoded JOSE header of a compact JWS.
func tokenHeader(t testing.TB, raw string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(raw, ".")
	b, err := b64.DecodeString(seg)
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("token header: %v", err)
	}
	return h
}

// tokenClaims returns the decoded payload of a compact JWS.
func tokenClaims(t testing.TB, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	b, err := b64.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("token payload: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("token payload: %v", err)
	}
	return c
}

// forge returns a compact JWS of header and claims signed by sign (an
// empty signature if sign is nil).
func forge(t testing.TB, header, claims map[string]any, sign func(input []byte) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + b64.EncodeToString(sig)
}

// TestAPIErrors drives every API row of DESIGN's error table through the
// whole stack.
func TestAPIErrors(t *testing.T) {
	t.Parallel()
	a, srv := newTestServer(t, testConfig(t))
	aliceTok := login(t, srv, alice)
	bobTok := login(t, srv, bob)

	// An expired token, signed by the server's own key.
	now := time.Now()
	expired, err := a.tokens.Issue(t.Context(), jwtauth.Claims{
		Subject:   "1",
		ClientID:  clientID,
		Roles:     []string{"admin"},
		IssuedAt:  now.Add(-2 * time.Hour),
		ExpiresAt: now.Add(-time.Hour),
	})
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	// Bob's token with its claims changed to Alice's, keeping his
	// signature.
	hdr := tokenHeader(t, bobTok)
	claims := tokenClaims(t, bobTok)
	claims["sub"], claims["roles"] = "1", []string{"admin"}
	sigOf := func(raw string) []byte {
		b, err := b64.DecodeString(raw[strings.LastIndexByte(raw, '.')+1:])
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tampered := forge(t, hdr, claims, func([]byte) []byte { return sigOf(bobTok) })
	// The same claims signed by an attacker's Ed25519 key under the
	// server's kid.
	_, attacker, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	forged := forge(t, hdr, claims, func(in []byte) []byte { return ed25519.Sign(attacker, in) })
	// alg "none", and HS256 keyed with the server's public key.
	none := forge(t, map[string]any{"alg": "none", "typ": "at+jwt", "kid": hdr["kid"]}, claims, nil)
	jwks := decode[struct {
		Keys []struct {
			X string `json:"x"`
		} `json:"keys"`
	}](t, get(t, srv, "/.well-known/jwks.json", ""))
	if len(jwks.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(jwks.Keys))
	}
	pub, err := b64.DecodeString(jwks.Keys[0].X)
	if err != nil {
		t.Fatal(err)
	}
	hsHeader := map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": hdr["kid"]}
	confused := forge(t, hsHeader, claims, func(in []byte) []byte {
		m := hmac.New(sha256.New, pub)
		m.Write(in)
		return m.Sum(nil)
	})
	// A token of another server (another fresh key).
	_, other := newTestServer(t, testConfig(t))
	foreign := login(t, other, alice)

	challengeNoError := `Bearer realm="` + realm + `"`
	tests := []struct {
		name   string
		path   string
		header []string // Authorization header fields
		query  string
		status int
		code   string
		// challenge is the exact WWW-Authenticate value, or, when it
		// starts with "~", a fragment it must contain.
		challenge string
	}{
		{"no credentials", "/api/me", nil, "", 401, "", challengeNoError},
		{"basic scheme", "/api/me", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(alice+":"+demoPassword(t, alice)))}, "", 401, "", challengeNoError},
		{"digest scheme", "/api/me", []string{`Digest username="alice", realm="x", nonce="1", uri="/api/me", response="0"`}, "", 401, "", challengeNoError},
		{"bare token without scheme", "/api/me", []string{aliceTok}, "", 401, "", challengeNoError},
		{"token in query string", "/api/me", nil, "access_token=" + aliceTok, 401, "", challengeNoError},
		{"token in query string on admin route", "/api/admin/users", nil, "access_token=" + aliceTok, 401, "", challengeNoError},
		{"empty bearer", "/api/me", []string{"Bearer "}, "", 400, "invalid_request", `~error="invalid_request"`},
		{"bearer not b64token", "/api/me", []string{"Bearer not a token"}, "", 400, "invalid_request", `~error="invalid_request"`},
		{"bearer with quotes", "/api/me", []string{`Bearer "` + aliceTok + `"`}, "", 400, "invalid_request", `~error="invalid_request"`},
		{"two authorization headers", "/api/me", []string{"Bearer " + aliceTok, "Bearer " + aliceTok}, "", 400, "invalid_request", `~error="invalid_request"`},
		{"header and query", "/api/me", []string{"Bearer " + aliceTok}, "access_token=" + aliceTok, 400, "invalid_request", `~error="invalid_request"`},
		{"garbage token", "/api/me", []string{"Bearer abc.def.ghi"}, "", 401, "invalid_token", `~error="invalid_token"`},
		{"not a jws", "/api/protected", []string{"Bearer opaque-token"}, "", 401, "invalid_token", `~error="invalid_token"`},
		{"expired", "/api/me", []string{"Bearer " + expired.Raw}, "", 401, "invalid_token", `~error="invalid_token"`},
		{"tampered claims", "/api/admin/users", []string{"Bearer " + tampered}, "", 401, "invalid_token", `~error="invalid_token"`},
		{"forged signature", "/api/admin/users", []string{"Bearer " + forged}, "", 401, "invalid_token", `~error="invalid_token"`},
		{"alg none", "/api/admin/users", []string{"Bearer " + none}, "", 401, "invalid_token", `~error="invalid_token"`},
		{"alg confusion", "/api/admin/users", []string{"Bearer " + confused}, "", 401, "invalid_token", `~error="invalid_token"`},
		{"another server's token", "/api/me", []string{"Bearer " + foreign}, "", 401, "invalid_token", `~error="invalid_token"`},
		{"bob on admin", "/api/admin/users", []string{"Bearer " + bobTok}, "", 403, "insufficient_scope", `~error="insufficient_scope"`},
		{"scheme in lower case", "/api/me", []string{"bearer " + aliceTok}, "", 200, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			target := srv.URL + tc.path
			if tc.query != "" {
				target += "?" + tc.query
			}
			req := newRequest(t, http.MethodGet, target, nil)
			for _, h := range tc.header {
				req.Header.Add("Authorization", h)
			}
			r := do(t, req)
			if r.status != tc.status {
				t.Fatalf("GET %s: status = %d, want %d; body %s", tc.path, r.status, tc.status, r.body)
			}
			if tc.status == http.StatusOK {
				return
			}
			if got := r.errorCode(t); got != tc.code {
				t.Errorf("GET %s: error = %q, want %q", tc.path, got, tc.code)
			}
			got := r.header.Get("WWW-Authenticate")
			if want, ok := strings.CutPrefix(tc.challenge, "~"); ok {
				if !strings.HasPrefix(got, challengeNoError) || !strings.Contains(got, want) || !strings.Contains(got, "error_description=") {
					t.Errorf("GET %s: WWW-Authenticate = %q, want %s with %s and an error_description", tc.path, got, challengeNoError, want)
				}
			} else if got != tc.challenge {
				t.Errorf("GET %s: WWW-Authenticate = %q, want %q", tc.path, got, tc.challenge)
			}
			if got := r.header.Get("Content-Type"); got != "application/json" {
				t.Errorf("GET %s: Content-Type = %q, want application/json", tc.path, got)
			}
			// The description never echoes the request.
			if strings.Contains(string(r.body), aliceTok) || strings.Contains(string(r.body), alice) {
				t.Errorf("GET %s: body echoes the request: %s", tc.path, r.body)
			}
		})
	}
}

// TestUserLifecycle checks that the middleware loads the user on every
// request: a disabled, deleted or demoted user loses access at once.
func TestUserLifecycle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(t *testing.T, a *app)
		path   string
		status int
		code   string
	}{
		{"disabled", func(t *testing.T, a *app) {
			if err := a.users.SetDisabled(t.Context(), "1", true); err != nil {
				t.Fatal(err)
			}
		}, "/api/me", http.StatusUnauthorized, "invalid_token"},
		{"deleted", func(t *testing.T, a *app) {
			if err := a.users.DeleteUser(t.Context(), "1"); err != nil {
				t.Fatal(err)
			}
		}, "/api/protected", http.StatusUnauthorized, "invalid_token"},
		{"demoted", func(t *testing.T, a *app) {
			time.Sleep(1100 * time.Millisecond) // the cut-off has one-second granularity
			u, err := a.users.UserByID(t.Context(), "1")
			if err != nil {
				t.Fatal(err)
			}
			u.Roles = []string{"user"}
			if _, err := a.users.UpdateUser(t.Context(), u); err != nil {
				t.Fatal(err)
			}
		}, "/api/admin/users", http.StatusUnauthorized, "invalid_token"},
		{"tokens revoked", func(t *testing.T, a *app) {
			time.Sleep(1100 * time.Millisecond) // the cut-off has one-second granularity
			if err := a.users.RevokeTokens(t.Context(), "1"); err != nil {
				t.Fatal(err)
			}
		}, "/api/me", http.StatusUnauthorized, "invalid_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, srv := newTestServer(t, testConfig(t))
			tok := login(t, srv, alice)
			if r := get(t, srv, tc.path, "Bearer "+tok); r.status != http.StatusOK {
				t.Fatalf("GET %s before: status = %d, want 200", tc.path, r.status)
			}
			tc.change(t, a)
			r := get(t, srv, tc.path, "Bearer "+tok)
			if r.status != tc.status {
				t.Fatalf("GET %s after: status = %d, want %d; body %s", tc.path, r.status, tc.status, r.body)
			}
			if got := r.errorCode(t); got != tc.code {
				t.Errorf("GET %s after: error = %q, want %q", tc.path, got, tc.code)
			}
			// Nor can the user log in again.
			if tc.name == "disabled" || tc.name == "deleted" {
				if r := postToken(t, srv, passwordForm(alice, demoPassword(t, alice))); r.status != http.StatusBadRequest {
					t.Errorf("POST /token after: status = %d, want 400", r.status)
				}
			}
		})
	}
}

// tokenRows are the /token rows of DESIGN's error table.
func TestTokenErrors(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	form := func(kv ...string) string {
		var b strings.Builder
		for i := 0; i+1 < len(kv); i += 2 {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(kv[i]) + "=" + url.QueryEscape(kv[i+1]))
		}
		return b.String()
	}
	pw := demoPassword(t, alice)
	const formType = "application/x-www-form-urlencoded"
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
		status      int
		code        string
		header      map[string]string // further headers the answer must carry
	}{
		{"wrong password", "POST", formType, form("grant_type", "password", "username", alice, "password", "wrong-password"), 400, "invalid_grant", nil},
		{"unknown user", "POST", formType, form("grant_type", "password", "username", "carol@example.com", "password", pw), 400, "invalid_grant", nil},
		{"unsupported grant", "POST", formType, form("grant_type", "client_credentials", "username", alice, "password", pw), 400, "unsupported_grant_type", nil},
		{"missing grant_type", "POST", formType, form("username", alice, "password", pw), 400, "invalid_request", nil},
		{"missing username", "POST", formType, form("grant_type", "password", "password", pw), 400, "invalid_request", nil},
		{"missing password", "POST", formType, form("grant_type", "password", "username", alice), 400, "invalid_request", nil},
		{"repeated username", "POST", formType, form("grant_type", "password", "username", alice, "username", bob, "password", pw), 400, "invalid_request", nil},
		{"repeated password", "POST", formType, form("grant_type", "password", "username", alice, "password", pw, "password", pw), 400, "invalid_request", nil},
		{"json body", "POST", "application/json", `{"grant_type":"password","username":"` + alice + `","password":"` + pw + `"}`, 400, "invalid_request", nil},
		{"no content type", "POST", "", form("grant_type", "password", "username", alice, "password", pw), 400, "invalid_request", nil},
		{"multipart body", "POST", "multipart/form-data; boundary=x", "--x--\r\n", 400, "invalid_request", nil},
		{"scope not allowed", "POST", formType, form("grant_type", "password", "username", bob, "password", demoPassword(t, bob), "scope", "admin"), 400, "invalid_scope", nil},
		{"huge body", "POST", formType, form("grant_type", "password", "username", alice, "password", strings.Repeat("x", 1<<20)), 413, "invalid_request", nil},
		{"GET", "GET", "", "", 405, "", map[string]string{"Allow": "POST"}},
		{"PUT", "PUT", formType, form("grant_type", "password", "username", alice, "password", pw), 405, "", map[string]string{"Allow": "POST"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newTestServer(t, cfg) // its own throttle
			req := newRequest(t, tc.method, srv.URL+"/token", strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			r := do(t, req)
			if r.status != tc.status {
				t.Fatalf("%s /token: status = %d, want %d; body %s", tc.method, r.status, tc.status, r.body)
			}
			if tc.code != "" {
				if got := r.errorCode(t); got != tc.code {
					t.Errorf("%s /token: error = %q, want %q", tc.method, got, tc.code)
				}
			}
			want := map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache"}
			for h, v := range tc.header {
				want[h] = v
			}
			for h, v := range want {
				if got := r.header.Get(h); got != v {
					t.Errorf("%s /token: %s = %q, want %q", tc.method, h, got, v)
				}
			}
			if strings.Contains(string(r.body), pw) || strings.Contains(string(r.body), alice) {
				t.Errorf("%s /token: body echoes the request: %s", tc.method, r.body)
			}
		})
	}
}

// TestTokenEnumeration checks that an unknown user, a wrong password and a
// disabled user get the same answer, byte for byte.
func TestTokenEnumeration(t *testing.T) {
	t.Parallel()
	a, srv := newTestServer(t, testConfig(t))
	if err := a.users.SetDisabled(t.Context(), "2", true); err != nil {
		t.Fatal(err)
	}
	attempts := []url.Values{
		passwordForm(alice, "wrong-password"),
		passwordForm("carol@example.com", "wrong-password"),
		passwordForm(bob, demoPassword(t, bob)),
	}
	var first response
	for i, f := range attempts {
		r := postToken(t, srv, f)
		if i == 0 {
			first = r
			if r.status != http.StatusBadRequest || r.errorCode(t) != "invalid_grant" {
				t.Fatalf("POST /token %s: %d %s, want 400 invalid_grant", f.Get("username"), r.status, r.body)
			}
			continue
		}
		if r.status != first.status || string(r.body) != string(first.body) {
			t.Errorf("POST /token %s = %d %s, want %d %s as for a wrong password", f.Get("username"), r.status, r.body, first.status, first.body)
		}
	}
}

// TestTokenThrottle checks that repeated failures are answered 429 with
// Retry-After, and that the right password is refused too while the
// throttle holds, and that -throttle=false turns it off.
func TestTokenThrottle(t *testing.T) {
	t.Parallel()
	const attempts = 100
	t.Run("on", func(t *testing.T) {
		t.Parallel()
		_, srv := newTestServer(t, testConfig(t))
		var throttled response
		for i := range attempts {
			r := postToken(t, srv, passwordForm(alice, "wrong-password-"+strconv.Itoa(i)))
			if r.status == http.StatusTooManyRequests {
				throttled = r
				break
			}
			if r.status != http.StatusBadRequest {
				t.Fatalf("POST /token failure %d: status = %d, want 400 or 429", i, r.status)
			}
		}
		if throttled.status != http.StatusTooManyRequests {
			t.Fatalf("POST /token: no 429 after %d failures", attempts)
		}
		if s, err := strconv.Atoi(throttled.header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("POST /token throttled: Retry-After = %q, want a positive number of seconds", throttled.header.Get("Retry-After"))
		}
		for h, want := range map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache"} {
			if got := throttled.header.Get(h); got != want {
				t.Errorf("POST /token throttled: %s = %q, want %q", h, got, want)
			}
		}
		if r := postToken(t, srv, passwordForm(alice, demoPassword(t, alice))); r.status != http.StatusTooManyRequests {
			t.Errorf("POST /token right password while throttled: status = %d, want 429", r.status)
		}
	})
	t.Run("off", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t)
		cfg.throttle = false
		_, srv := newTestServer(t, cfg)
		for i := range attempts {
			if r := postToken(t, srv, passwordForm(alice, "wrong-password-"+strconv.Itoa(i))); r.status != http.StatusBadRequest {
				t.Fatalf("POST /token failure %d with -throttle=false: status = %d, want 400", i, r.status)
			}
		}
		login(t, srv, alice)
	})
}

// writeEd25519PEM writes a fresh PKCS #8 Ed25519 private key to a file in
// a temporary directory and returns its path.
func writeEd25519PEM(t testing.TB) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeHMACJWK writes a fresh HS256 JWK to a file in a temporary directory
// and returns its path.
func writeHMACJWK(t testing.TB) string {
	t.Helper()
	b, err := json.Marshal(map[string]string{"kty": "oct", "alg": "HS256", "k": b64.EncodeToString([]byte(rand.Text() + rand.Text()))})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKeyFileSurvivesRestart checks that a token issued by a server started
// with -key is accepted by the next process started with the same key
// (and, the store being in memory, the same demo users), while a process
// with a fresh key refuses it.
func TestKeyFileSurvivesRestart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		keyFile func(t testing.TB) string
		alg     string
	}{
		{"PKCS8 Ed25519 PEM", writeEd25519PEM, "EdDSA"},
		{"HMAC JWK", writeHMACJWK, "HS256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			cfg.keyFile = tc.keyFile(t)
			_, first := newTestServer(t, cfg)
			tok := login(t, first, alice)
			if got := tokenHeader(t, tok)["alg"]; got != tc.alg {
				t.Errorf("token alg = %v, want %s", got, tc.alg)
			}
			first.Close()

			_, second := newTestServer(t, cfg)
			if r := get(t, second, "/api/me", "Bearer "+tok); r.status != http.StatusOK {
				t.Errorf("GET /api/me after restart with the same -key: status = %d, want 200; body %s", r.status, r.body)
			}

			fresh := testConfig(t)
			_, third := newTestServer(t, fresh)
			r := get(t, third, "/api/me", "Bearer "+tok)
			if r.status != http.StatusUnauthorized || r.errorCode(t) != "invalid_token" {
				t.Errorf("GET /api/me after restart without -key: %d %s, want 401 invalid_token", r.status, r.body)
			}
		})
	}
}

// TestAudienceIsChecked checks that a token for another audience is
// refused even under the same key.
func TestAudienceIsChecked(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.keyFile = writeEd25519PEM(t)
	_, first := newTestServer(t, cfg)
	tok := login(t, first, alice)
	cfg.audience = []string{"https://other.example.com"}
	_, second := newTestServer(t, cfg)
	if r := get(t, second, "/api/me", "Bearer "+tok); r.status != http.StatusUnauthorized {
		t.Errorf("GET /api/me with a token for another audience: status = %d, want 401", r.status)
	}
}

func TestNewAppErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		keyFile string
	}{
		{"missing key file", filepath.Join(dir, "absent.pem")},
		{"not a key", write("junk.pem", "not a key\n")},
		{"empty JWK Set", write("empty.json", `{"keys":[]}`)},
		{"public key only", write("pub.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			cfg.keyFile = tc.keyFile
			if _, err := newApp(t.Context(), cfg); err == nil {
				t.Errorf("newApp with -key %s: no error", tc.name)
			} else if !strings.HasPrefix(err.Error(), "-key") {
				t.Errorf("newApp with -key %s = %v, want an error naming -key", tc.name, err)
			}
		})
	}
}

func TestDemoUsers(t *testing.T) {
	t.Parallel()
	t.Run("off", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t)
		cfg.demoUsers = false
		a, srv := newTestServer(t, cfg)
		if users, _, err := a.users.ListUsers(t.Context(), userstore.ListOptions{}); err != nil || len(users) != 0 {
			t.Errorf("store with -demo-users=false: %d users, %v; want none", len(users), err)
		}
		if r := postToken(t, srv, passwordForm(alice, demoPassword(t, alice))); r.status != http.StatusBadRequest {
			t.Errorf("POST /token as alice with -demo-users=false: status = %d, want 400", r.status)
		}
	})
	t.Run("store not empty", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t)
		cfg.store = memory.New()
		if _, err := cfg.store.CreateUser(t.Context(), &userstore.User{Username: "carol@example.com", PasswordHash: "$argon2id$x"}); err != nil {
			t.Fatal(err)
		}
		a := newTestApp(t, cfg)
		users, _, err := a.users.ListUsers(t.Context(), userstore.ListOptions{})
		if err != nil || len(users) != 1 || a.demo != nil {
			t.Errorf("store with a user: %d users (%v), demo %v; want the one user and no demo users", len(users), err, a.demo)
		}
	})
	t.Run("seeded below the policy, and said so", func(t *testing.T) {
		t.Parallel()
		var logs syncBuffer
		cfg := testConfig(t)
		cfg.logger = slog.New(slog.NewTextHandler(&logs, nil))
		a := newTestApp(t, cfg)
		if len(a.demo) != 2 {
			t.Fatalf("demo users = %d, want 2", len(a.demo))
		}
		var policy userstore.PasswordPolicy
		for _, d := range a.demo {
			if err := policy.Check(d.password); err == nil {
				t.Errorf("demo password of %s passes the default policy; the warning would be false", d.username)
			}
		}
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "do not use in production") {
			t.Errorf("logs lack the demo-user warning:\n%s", logs.String())
		}
	})
}

// TestListUsersPages checks that the admin listing pages through the
// whole store.
func TestListUsersPages(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.store = memory.New()
	_, srv := newTestServer(t, cfg)
	const extra = 2500 // more than two pages of 1000
	for i := range extra {
		_, err := cfg.store.CreateUser(t.Context(), &userstore.User{
			Username:     "user" + strconv.Itoa(i) + "@example.com",
			Name:         "User " + strconv.Itoa(i),
			PasswordHash: "$argon2id$unused",
			Roles:        []string{"user"},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	r := get(t, srv, "/api/admin/users", "Bearer "+login(t, srv, alice))
	if r.status != http.StatusOK {
		t.Fatalf("GET /api/admin/users: status = %d, want 200", r.status)
	}
	got := decode[struct {
		Users []listedUser `json:"users"`
	}](t, r)
	if len(got.Users) != extra+2 {
		t.Errorf("GET /api/admin/users: %d users, want %d", len(got.Users), extra+2)
	}
	seen := make(map[string]bool, len(got.Users))
	for _, u := range got.Users {
		if seen[u.ID] {
			t.Fatalf("GET /api/admin/users lists %s twice", u.ID)
		}
		seen[u.ID] = true
	}
}

// faultyStore is a memory store whose reads can be made to fail, as a
// database that went down would.
type faultyStore struct {
	*memory.Store
	failLookup, failList atomic.Bool
}

var errStoreDown = errors.New("store is down")

func (s *faultyStore) UserByID(ctx context.Context, id string) (*userstore.User, error) {
	if s.failLookup.Load() {
		return nil, errStoreDown
	}
	return s.Store.UserByID(ctx, id)
}

func (s *faultyStore) ListUsers(ctx context.Context, opts userstore.ListOptions) ([]*userstore.User, string, error) {
	if s.failList.Load() {
		return nil, "", errStoreDown
	}
	return s.Store.ListUsers(ctx, opts)
}

// TestStoreFailures checks that a failing store gets a JSON 5xx answer
// that does not leak its error, never a crash or a 200.
func TestStoreFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fail   func(s *faultyStore)
		path   string
		status int
		code   string
	}{
		{"user lookup", func(s *faultyStore) { s.failLookup.Store(true) }, "/api/me", http.StatusServiceUnavailable, "temporarily_unavailable"},
		{"user listing", func(s *faultyStore) { s.failList.Store(true) }, "/api/admin/users", http.StatusInternalServerError, "server_error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			store := &faultyStore{Store: memory.New()}
			var logs syncBuffer
			cfg := testConfig(t)
			cfg.store = store
			cfg.logger = slog.New(slog.NewTextHandler(&logs, nil))
			_, srv := newTestServer(t, cfg)
			tok := login(t, srv, alice)
			tc.fail(store)
			r := get(t, srv, tc.path, "Bearer "+tok)
			if r.status != tc.status {
				t.Fatalf("GET %s with the store down: status = %d, want %d; body %s", tc.path, r.status, tc.status, r.body)
			}
			if got := r.errorCode(t); got != tc.code {
				t.Errorf("GET %s with the store down: error = %q, want %q", tc.path, got, tc.code)
			}
			if strings.Contains(string(r.body), errStoreDown.Error()) {
				t.Errorf("GET %s with the store down: body leaks the store's error: %s", tc.path, r.body)
			}
		})
	}
}

// TestHandlersWithoutPrincipal checks that the handlers refuse a request
// that reaches them without the Bearer middleware, instead of crashing.
func TestHandlersWithoutPrincipal(t *testing.T) {
	t.Parallel()
	a := newTestApp(t, testConfig(t))
	for name, h := range map[string]http.HandlerFunc{"me": a.me, "protected": a.protected} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			h(w, httptest.NewRequest(http.MethodGet, "/", nil))
			if w.Code != http.StatusUnauthorized {
				t.Errorf("%s without principal: status = %d, want 401", name, w.Code)
			}
			if got, want := w.Header().Get("WWW-Authenticate"), `Bearer realm="api"`; got != want {
				t.Errorf("%s without principal: WWW-Authenticate = %q, want %q", name, got, want)
			}
		})
	}
}
