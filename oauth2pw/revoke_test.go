package oauth2pw

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
)

// sessionEnv is a refreshEnv with a public client "web", a confidential
// client "rs" (a resource server) and a second public client "app".
type sessionEnv struct {
	*refreshEnv
	secret string
}

func newSessionEnv(tb testing.TB) *sessionEnv {
	tb.Helper()
	secret := rand.Text()
	re := newRefreshEnv(tb, func(e *env, c *Config) {
		c.Clients = []Client{{ID: "web"}, {ID: "app"}, {ID: "rs", Secret: secret}}
	})
	return &sessionEnv{re, secret}
}

func formPost(h http.Handler, path string, form url.Values, basicID, basicSecret string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = "192.0.2.1:4711"
	if basicID != "" {
		r.SetBasicAuth(basicID, basicSecret)
	}
	return do(h, r)
}

func (se *sessionEnv) revoke(token, clientID string) *httptest.ResponseRecorder {
	return formPost(se.h.RevocationHandler(), "/revoke", url.Values{"token": {token}, "client_id": {clientID}}, "", "")
}

// introspect returns the decoded answer as a map, and the raw body.
func (se *sessionEnv) introspect(tb testing.TB, token string) (map[string]any, string) {
	tb.Helper()
	w := formPost(se.h.IntrospectionHandler(), "/introspect", url.Values{"token": {token}}, "rs", se.secret)
	if w.Code != http.StatusOK {
		tb.Fatalf("POST /introspect: status = %d, want 200; body %s", w.Code, w.Body)
	}
	checkNoStore(tb, w)
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		tb.Fatalf("POST /introspect: body %q: %v", w.Body, err)
	}
	return m, strings.TrimSpace(w.Body.String())
}

// api is a protected handler behind a Bearer middleware with the
// session store as denylist.
func (se *sessionEnv) api(extra ...http.Handler) http.Handler {
	next := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	if len(extra) > 0 {
		next = extra[0]
	}
	return jwtauth.Middleware(se.tokens, jwtauth.WithDenylist(se.sessions), jwtauth.WithUsers(se.store), jwtauth.WithUserCache(0, 0))(next)
}

func bearerGet(h http.Handler, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return do(h, r)
}

func TestRevokeRefreshToken(t *testing.T) {
	t.Parallel()
	se := newSessionEnv(t)
	b := se.loginRT(t, se.bob, "client_id", "web")
	next := decodeRefresh(t, se.refresh(b.RefreshToken, "client_id", "web")).RefreshToken

	tests := []struct {
		name, token, client string
	}{
		{"unknown token", rand.Text(), "web"},
		{"malformed token", "a.b", "web"},
		{"another client's token", next, "app"},
	}
	for _, tc := range tests {
		w := se.revoke(tc.token, tc.client)
		if w.Code != http.StatusOK {
			t.Errorf("POST /revoke (%s): status = %d, want 200; body %s", tc.name, w.Code, w.Body)
		}
		checkNoStore(t, w)
	}
	// Not revoked by the other client.
	next = decodeRefresh(t, se.refresh(next, "client_id", "web")).RefreshToken
	if w := se.revoke(next, "web"); w.Code != http.StatusOK {
		t.Fatalf("POST /revoke: status = %d, want 200", w.Code)
	}
	wantRefreshError(t, "refresh after revocation", se.refresh(next, "client_id", "web"), 400, CodeInvalidGrant)
}

func TestRevokeAccessToken(t *testing.T) {
	t.Parallel()
	se := newSessionEnv(t)
	api := se.api()
	b := se.loginRT(t, se.bob, "client_id", "web")
	if w := bearerGet(api, b.AccessToken); w.Code != http.StatusOK {
		t.Fatalf("GET /api/me before revocation: status = %d, want 200", w.Code)
	}
	if w := se.revoke(b.AccessToken, "app"); w.Code != http.StatusOK {
		t.Fatalf("POST /revoke (another client's access token): status = %d, want 200", w.Code)
	}
	if w := bearerGet(api, b.AccessToken); w.Code != http.StatusOK {
		t.Fatalf("GET /api/me after another client's revocation: status = %d, want 200", w.Code)
	}
	if w := se.revoke(b.AccessToken, "web"); w.Code != http.StatusOK {
		t.Fatalf("POST /revoke (access token): status = %d, want 200", w.Code)
	}
	w := bearerGet(api, b.AccessToken)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("GET /api/me with a revoked token: status = %d, WWW-Authenticate %q; want 401 invalid_token", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	if m, body := se.introspect(t, b.AccessToken); m["active"] != false || body != `{"active":false}` {
		t.Errorf("POST /introspect (revoked access token) = %s, want {\"active\":false}", body)
	}
}

func TestRevokeWithoutRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tok := decodeSuccess(t, post(e.h, login(e.bob.Username, e.bob.password))).AccessToken
	w := formPost(e.h.RevocationHandler(), "/revoke", url.Values{"token": {tok}}, "", "")
	if w.Code != http.StatusBadRequest {
		t.Fatalf("POST /revoke without refresh tokens: status = %d, want 400", w.Code)
	}
	if b := decodeError(t, w); b.Error != CodeUnsupportedTokenType {
		t.Errorf("POST /revoke without refresh tokens: error = %q, want %q", b.Error, CodeUnsupportedTokenType)
	}
}

// TestRevokeRequestErrors is the error table of the revocation and
// introspection endpoints.
func TestRevokeRequestErrors(t *testing.T) {
	t.Parallel()
	se := newSessionEnv(t)
	tests := []struct {
		name   string
		method string
		query  string
		ctype  string
		body   string
		basic  [2]string
		status int
		code   string
	}{
		{"GET", http.MethodGet, "", "", "", [2]string{}, 405, CodeInvalidRequest},
		{"token in query", http.MethodPost, "token=x", "application/x-www-form-urlencoded", "client_id=web", [2]string{}, 400, CodeInvalidRequest},
		{"json body", http.MethodPost, "", "application/json", `{"token":"x"}`, [2]string{}, 400, CodeInvalidRequest},
		{"no token", http.MethodPost, "", "application/x-www-form-urlencoded", "client_id=web", [2]string{}, 400, CodeInvalidRequest},
		{"token twice", http.MethodPost, "", "application/x-www-form-urlencoded", "token=a&token=b", [2]string{}, 400, CodeInvalidRequest},
		{"unknown client", http.MethodPost, "", "application/x-www-form-urlencoded", "token=a&client_id=nope", [2]string{}, 401, CodeInvalidClient},
		{"wrong secret", http.MethodPost, "", "application/x-www-form-urlencoded", "token=a", [2]string{"rs", "wrong-secret-0123456789"}, 401, CodeInvalidClient},
	}
	for _, path := range []string{"/revoke", "/introspect"} {
		h := se.h.RevocationHandler()
		if path == "/introspect" {
			h = se.h.IntrospectionHandler()
		}
		for _, tc := range tests {
			t.Run(path+"/"+tc.name, func(t *testing.T) {
				r := httptest.NewRequest(tc.method, path+"?"+tc.query, strings.NewReader(tc.body))
				if tc.ctype != "" {
					r.Header.Set("Content-Type", tc.ctype)
				}
				if tc.basic[0] != "" {
					r.SetBasicAuth(tc.basic[0], tc.basic[1])
				}
				w := do(h, r)
				if w.Code != tc.status {
					t.Fatalf("%s %s: status = %d, want %d; body %s", tc.method, path, w.Code, tc.status, w.Body)
				}
				checkNoStore(t, w)
				if b := decodeError(t, w); b.Error != tc.code {
					t.Errorf("%s %s: error = %q, want %q", tc.method, path, b.Error, tc.code)
				}
				if tc.status == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Basic") {
					t.Errorf("%s %s: WWW-Authenticate = %q, want a Basic challenge", tc.method, path, w.Header().Get("WWW-Authenticate"))
				}
			})
		}
	}
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	se := newSessionEnv(t)
	b := se.loginRT(t, se.alice, "client_id", "web", "scope", "admin")

	m, _ := se.introspect(t, b.AccessToken)
	if m["active"] != true || m["sub"] != se.alice.ID || m["client_id"] != "web" || m["scope"] != "admin" || m["token_type"] != "Bearer" {
		t.Errorf("POST /introspect (good access token) = %v", m)
	}
	m, _ = se.introspect(t, b.RefreshToken)
	if m["active"] != true || m["sub"] != se.alice.ID || m["client_id"] != "web" || m["token_type"] != "refresh_token" {
		t.Errorf("POST /introspect (good refresh token) = %v", m)
	}

	// An expired access token: issued by an issuer whose clock lies an
	// hour behind.
	old := newIssuerAt(t, time.Now().Add(-2*time.Hour))
	tok, err := old.Issue(t.Context(), jwtauth.Claims{Subject: se.alice.ID, ClientID: "web"})
	if err != nil {
		t.Fatal(err)
	}
	expired := tok.Raw
	spent := b.RefreshToken
	decodeRefresh(t, se.refresh(spent, "client_id", "web"))

	disabled := se.loginRT(t, se.bob, "client_id", "web")
	time.Sleep(2 * time.Millisecond)
	if err := se.store.SetDisabled(t.Context(), se.bob.ID, true); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ name, token string }{
		{"expired access token", expired},
		{"spent refresh token", spent},
		{"garbage", "garbage"},
		{"garbage JWT", "a.b.c"},
		{"disabled user's access token", disabled.AccessToken},
		{"disabled user's refresh token", disabled.RefreshToken},
	} {
		if _, body := se.introspect(t, tc.token); body != `{"active":false}` {
			t.Errorf("POST /introspect (%s) = %s, want {\"active\":false}", tc.name, body)
		}
	}

	// A public client may not introspect.
	w := formPost(se.h.IntrospectionHandler(), "/introspect", url.Values{"token": {b.AccessToken}, "client_id": {"web"}}, "", "")
	if w.Code != http.StatusUnauthorized {
		t.Errorf("POST /introspect by a public client: status = %d, want 401", w.Code)
	}
	w = formPost(se.h.IntrospectionHandler(), "/introspect", url.Values{"token": {b.AccessToken}}, "", "")
	if w.Code != http.StatusUnauthorized {
		t.Errorf("POST /introspect without a client: status = %d, want 401", w.Code)
	}
}

// newIssuerAt is newIssuer with a clock fixed at t.
func newIssuerAt(tb testing.TB, at time.Time) *jwtauth.JWT {
	tb.Helper()
	k, err := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err != nil {
		tb.Fatal(err)
	}
	ks, err := jwtauth.NewKeySet(k)
	if err != nil {
		tb.Fatal(err)
	}
	j, err := jwtauth.New(jwtauth.Config{Keys: ks, Issuer: testIssuer, Audience: []string{testAudience}, Now: func() time.Time { return at }})
	if err != nil {
		tb.Fatal(err)
	}
	return j
}

func TestSignOut(t *testing.T) {
	t.Parallel()
	se := newSessionEnv(t)
	api := se.api()
	logout := se.api(se.h.SignOutHandler())
	signOut := func(token, query string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/api/logout?"+query, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		return do(logout, r)
	}

	t.Run("this session", func(t *testing.T) {
		one := se.loginRT(t, se.bob, "client_id", "web")
		two := se.loginRT(t, se.bob, "client_id", "web")
		if w := signOut(one.AccessToken, ""); w.Code != http.StatusNoContent {
			t.Fatalf("POST /api/logout: status = %d, want 204; body %s", w.Code, w.Body)
		}
		if w := bearerGet(api, one.AccessToken); w.Code != http.StatusUnauthorized {
			t.Errorf("GET /api/me after sign-out: status = %d, want 401", w.Code)
		}
		wantRefreshError(t, "refresh after sign-out", se.refresh(one.RefreshToken, "client_id", "web"), 400, CodeInvalidGrant)
		if w := bearerGet(api, two.AccessToken); w.Code != http.StatusOK {
			t.Errorf("GET /api/me with another session after sign-out: status = %d, want 200", w.Code)
		}
		decodeRefresh(t, se.refresh(two.RefreshToken, "client_id", "web"))
	})

	t.Run("everywhere", func(t *testing.T) {
		one := se.loginRT(t, se.alice, "client_id", "web")
		two := se.loginRT(t, se.alice, "client_id", "app")
		// The cut-off is kept to the second: sign out in a later second
		// than the logins.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
		if w := signOut(one.AccessToken, "everywhere=true"); w.Code != http.StatusNoContent {
			t.Fatalf("POST /api/logout?everywhere=true: status = %d, want 204; body %s", w.Code, w.Body)
		}
		for _, tok := range []string{one.AccessToken, two.AccessToken} {
			if w := bearerGet(api, tok); w.Code != http.StatusUnauthorized {
				t.Errorf("GET /api/me after sign-out everywhere: status = %d, want 401", w.Code)
			}
		}
		wantRefreshError(t, "refresh after sign-out everywhere", se.refresh(two.RefreshToken, "client_id", "app"), 400, CodeInvalidGrant)
	})

	t.Run("errors", func(t *testing.T) {
		b := se.loginRT(t, se.bob, "client_id", "web")
		if w := signOut(b.AccessToken, "everywhere=maybe"); w.Code != http.StatusBadRequest {
			t.Errorf("POST /api/logout?everywhere=maybe: status = %d, want 400", w.Code)
		}
		w := do(se.h.SignOutHandler(), httptest.NewRequest(http.MethodPost, "/api/logout", nil))
		if w.Code != http.StatusUnauthorized || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("POST /api/logout without a principal: status = %d, WWW-Authenticate %q; want 401 Bearer", w.Code, w.Header().Get("WWW-Authenticate"))
		}
		r := httptest.NewRequest(http.MethodGet, "/api/logout", nil)
		r.Header.Set("Authorization", "Bearer "+b.AccessToken)
		if w := do(logout, r); w.Code != http.StatusMethodNotAllowed {
			t.Errorf("GET /api/logout: status = %d, want 405", w.Code)
		}
	})
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	se := newSessionEnv(t)
	m := Metadata{
		Issuer:                "https://auth.example.test",
		TokenEndpoint:         "https://auth.example.test/token",
		JWKSURI:               "https://auth.example.test/.well-known/jwks.json",
		RevocationEndpoint:    "https://auth.example.test/revoke",
		IntrospectionEndpoint: "https://auth.example.test/introspect",
	}
	h, err := se.h.MetadataHandler(m)
	if err != nil {
		t.Fatalf("MetadataHandler: %v", err)
	}
	w := do(h, httptest.NewRequest(http.MethodGet, "/.well-known/oauth-authorization-server", nil))
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET metadata: status = %d, Content-Type %q", w.Code, w.Header().Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"issuer": m.Issuer, "token_endpoint": m.TokenEndpoint, "jwks_uri": m.JWKSURI,
		"revocation_endpoint": m.RevocationEndpoint, "introspection_endpoint": m.IntrospectionEndpoint,
	} {
		if doc[k] != want {
			t.Errorf("metadata %s = %v, want %q", k, doc[k], want)
		}
	}
	if got, _ := json.Marshal(doc["grant_types_supported"]); string(got) != `["password","refresh_token"]` {
		t.Errorf("grant_types_supported = %s", got)
	}
	if got, _ := json.Marshal(doc["introspection_endpoint_auth_methods_supported"]); string(got) != `["client_secret_basic","client_secret_post"]` {
		t.Errorf("introspection_endpoint_auth_methods_supported = %s", got)
	}
	if _, ok := doc["response_types_supported"]; !ok {
		t.Error("metadata lacks response_types_supported")
	}
	if w := do(h, httptest.NewRequest(http.MethodPost, "/", nil)); w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") == "" {
		t.Errorf("POST metadata: status = %d, Allow %q; want 405 and Allow", w.Code, w.Header().Get("Allow"))
	}
	for _, bad := range []Metadata{{}, {Issuer: "https://a.test"}, {Issuer: "https://a.test?x=1", TokenEndpoint: "https://a.test/token"}, {Issuer: "ftp://a.test", TokenEndpoint: "https://a.test/token"}, {Issuer: "https://a.test", TokenEndpoint: "/token"}} {
		if _, err := se.h.MetadataHandler(bad); err == nil {
			t.Errorf("MetadataHandler(%+v): no error", bad)
		}
	}
}
