package jwtauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/memory"
)

const (
	mwIssuer = "https://issuer.test"
	mwAud    = "https://api.test"
	mwClient = "app"
)

// The error descriptions of the middleware, as they go on the wire.
const (
	descAuthRequired        = "Authentication required"
	descMalformedCredential = "Malformed Bearer credentials"
	descMultipleCredentials = "More than one access token was sent"
	descInvalidToken        = "The access token is invalid"
	descExpiredToken        = "The access token expired"
	descRevokedToken        = "The access token is no longer valid"
	descUnavailable         = "The service is temporarily unavailable"
)

// The exact challenges of the default realm.
const (
	wantNoCreds   = `Bearer realm="api"`
	wantMalformed = `Bearer realm="api", error="invalid_request", error_description="` + descMalformedCredential + `"`
	wantMultiple  = `Bearer realm="api", error="invalid_request", error_description="` + descMultipleCredentials + `"`
	wantInvalid   = `Bearer realm="api", error="invalid_token", error_description="` + descInvalidToken + `"`
	wantExpired   = `Bearer realm="api", error="invalid_token", error_description="` + descExpiredToken + `"`
	wantRevoked   = `Bearer realm="api", error="invalid_token", error_description="` + descRevokedToken + `"`
)

// newTestJWT returns a JWT with a fresh Ed25519 key. cacheSize is
// [jwtauth.Config.CacheSize].
func newTestJWT(tb testing.TB, cacheSize int) *jwtauth.JWT {
	tb.Helper()
	k, err := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err != nil {
		tb.Fatalf("GenerateKey: %v", err)
	}
	ks, err := jwtauth.NewKeySet(k)
	if err != nil {
		tb.Fatalf("NewKeySet: %v", err)
	}
	j, err := jwtauth.New(jwtauth.Config{Keys: ks, Issuer: mwIssuer, Audience: []string{mwAud}, CacheSize: cacheSize})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return j
}

func mwIssue(tb testing.TB, j jwtauth.Issuer, c jwtauth.Claims) string {
	tb.Helper()
	tok, err := j.Issue(context.Background(), c)
	if err != nil {
		tb.Fatalf("Issue(%+v): %v", c, err)
	}
	return tok.Raw
}

// verifierFunc is a fake [jwtauth.Verifier] for failure injection.
type verifierFunc func(ctx context.Context, raw string) (*jwtauth.Claims, error)

func (f verifierFunc) Verify(ctx context.Context, raw string) (*jwtauth.Claims, error) {
	return f(ctx, raw)
}

// fakeStore is a [userstore.Store] whose UserByID is a function field, for
// failure injection. It counts lookups.
type fakeStore struct {
	byID  func(ctx context.Context, id string) (*userstore.User, error)
	calls atomic.Int64
}

func (s *fakeStore) UserByUsername(context.Context, string) (*userstore.User, error) {
	return nil, userstore.ErrNotFound
}

func (s *fakeStore) UserByID(ctx context.Context, id string) (*userstore.User, error) {
	s.calls.Add(1)
	return s.byID(ctx, id)
}

// usersStore returns a fakeStore holding copies of users.
func usersStore(users ...*userstore.User) *fakeStore {
	return &fakeStore{byID: func(_ context.Context, id string) (*userstore.User, error) {
		for _, u := range users {
			if u.ID == id {
				return u.Clone(), nil
			}
		}
		return nil, fmt.Errorf("fake: %w", userstore.ErrNotFound)
	}}
}

// echoPrincipal answers 200 and a line describing the principal in the
// context, or "anonymous".
var echoPrincipal = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, ok := jwtauth.PrincipalFrom(r.Context())
	if !ok {
		fmt.Fprint(w, "anonymous")
		return
	}
	user := "-"
	if p.User != nil {
		user = p.User.Name
	}
	fmt.Fprintf(w, "sub=%s roles=%s scopes=%s user=%s", p.Subject, strings.Join(p.Roles, ","), strings.Join(p.Scopes, ","), user)
})

// checkChallenge fails t unless rec holds the error response of RFC 6750
// with that status, exact WWW-Authenticate value, error code and
// description.
func checkChallenge(t *testing.T, rec *httptest.ResponseRecorder, status int, wwwAuth, code, desc string) {
	t.Helper()
	if got := rec.Code; got != status {
		t.Errorf("status = %d, want %d (body %q)", got, status, rec.Body)
	}
	if got := rec.Header().Values("WWW-Authenticate"); !slices.Equal(got, []string{wwwAuth}) {
		t.Errorf("WWW-Authenticate = %q, want [%q]", got, wwwAuth)
	}
	if got, want := rec.Header().Get("Cache-Control"), "no-store"; got != want {
		t.Errorf("Cache-Control = %q, want %q", got, want)
	}
	if got, want := rec.Header().Get("Content-Type"), "application/json"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	want := map[string]string{}
	if code != "" {
		want["error"] = code
	}
	if desc != "" {
		want["error_description"] = desc
	}
	if len(body) != len(want) || body["error"] != want["error"] || body["error_description"] != want["error_description"] {
		t.Errorf("body = %v, want %v", body, want)
	}
}

func checkPassed(t *testing.T, rec *httptest.ResponseRecorder, body string) {
	t.Helper()
	if rec.Code != http.StatusOK || rec.Body.String() != body {
		t.Errorf("response = %d %q, want 200 %q", rec.Code, rec.Body, body)
	}
	if got := rec.Header().Get("WWW-Authenticate"); got != "" {
		t.Errorf("WWW-Authenticate = %q, want none", got)
	}
}

// tokens are the tokens the table tests send, all real.
type mwTokens struct {
	good, bob, expired, notYet, otherKey, wrongAud, tampered, algNone, stripped string
}

func newTokens(t *testing.T, j *jwtauth.JWT) mwTokens {
	t.Helper()
	now := time.Now()
	other := newTestJWT(t, -1)
	alice := jwtauth.Claims{ClientID: mwClient, Subject: "alice", Roles: []string{"admin"}, Scope: []string{"read", "write"}}
	tk := mwTokens{
		good:     mwIssue(t, j, alice),
		bob:      mwIssue(t, j, jwtauth.Claims{ClientID: mwClient, Subject: "bob", Roles: []string{"user"}}),
		expired:  mwIssue(t, j, jwtauth.Claims{ClientID: mwClient, Subject: "alice", IssuedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}),
		notYet:   mwIssue(t, j, jwtauth.Claims{ClientID: mwClient, Subject: "alice", NotBefore: now.Add(time.Hour), ExpiresAt: now.Add(2 * time.Hour)}),
		otherKey: mwIssue(t, other, alice),
		wrongAud: mwIssue(t, j, jwtauth.Claims{ClientID: mwClient, Subject: "alice", Audience: []string{"https://elsewhere.test"}}),
	}
	g := strings.Split(tk.good, ".")
	b := strings.Split(tk.bob, ".")
	tk.tampered = g[0] + "." + b[1] + "." + g[2]
	tk.stripped = g[0] + "." + g[1] + "."
	hdr, err := base64.RawURLEncoding.DecodeString(g[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]string
	if err := json.Unmarshal(hdr, &h); err != nil {
		t.Fatal(err)
	}
	h["alg"] = "none"
	none, _ := json.Marshal(h)
	tk.algNone = base64.RawURLEncoding.EncodeToString(none) + "." + g[1] + "."
	return tk
}

// request describes one test request.
type mwRequest struct {
	headers []string // Authorization field values
	cookie  string   // Cookie field value
	query   string   // raw query
	form    url.Values
}

func (q mwRequest) build() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/me?"+q.query, nil)
	for _, h := range q.headers {
		r.Header.Add("Authorization", h)
	}
	if q.cookie != "" {
		r.Header.Set("Cookie", q.cookie)
	}
	if q.form != nil {
		r.PostForm = q.form
	}
	return r
}

func bearerHeader(tok string) []string { return []string{"Bearer " + tok} }

// TestMiddleware is the API rows of the DESIGN error table with real tokens.
func TestMiddleware(t *testing.T) {
	t.Parallel()
	j := newTestJWT(t, 0)
	tk := newTokens(t, j)
	const aliceOK = "sub=alice roles=admin scopes=read,write user=-"
	tests := []struct {
		name    string
		opts    []jwtauth.Option
		req     mwRequest
		status  int
		wwwAuth string // "" when the request must pass
		code    string
		desc    string
		body    string // the handler's answer when it passes
	}{
		// Success.
		{name: "valid token", req: mwRequest{headers: bearerHeader(tk.good)}, status: 200, body: aliceOK},
		{name: "lower case scheme", req: mwRequest{headers: []string{"bearer " + tk.good}}, status: 200, body: aliceOK},
		{name: "upper case scheme, two spaces", req: mwRequest{headers: []string{"BEARER  " + tk.good}}, status: 200, body: aliceOK},
		{name: "roles from token", req: mwRequest{headers: bearerHeader(tk.bob)}, status: 200, body: "sub=bob roles=user scopes= user=-"},
		{name: "cookie", opts: []jwtauth.Option{jwtauth.WithCookie("at")}, req: mwRequest{cookie: "at=" + tk.good}, status: 200, body: aliceOK},
		{name: "header with cookie source enabled", opts: []jwtauth.Option{jwtauth.WithCookie("at")}, req: mwRequest{headers: bearerHeader(tk.good), cookie: "other=x"}, status: 200, body: aliceOK},
		{name: "query", opts: []jwtauth.Option{jwtauth.WithInsecureQueryToken()}, req: mwRequest{query: "access_token=" + tk.good}, status: 200, body: aliceOK},

		// No credentials: 401, no error attribute.
		{name: "no credentials", req: mwRequest{}, status: 401, wwwAuth: wantNoCreds, desc: descAuthRequired},
		{name: "basic", req: mwRequest{headers: []string{"Basic dXNlcjpwYXNz"}}, status: 401, wwwAuth: wantNoCreds, desc: descAuthRequired},
		{name: "digest", req: mwRequest{headers: []string{`Digest username="alice", realm="api"`}}, status: 401, wwwAuth: wantNoCreds, desc: descAuthRequired},
		{name: "bare token", req: mwRequest{headers: []string{tk.good}}, status: 401, wwwAuth: wantNoCreds, desc: descAuthRequired},
		{name: "empty header", req: mwRequest{headers: []string{""}}, status: 401, wwwAuth: wantNoCreds, desc: descAuthRequired},
		{name: "query token not enabled", req: mwRequest{query: "access_token=" + tk.good}, status: 401, wwwAuth: wantNoCreds, desc: descAuthRequired},
		{name: "cookie not enabled", req: mwRequest{cookie: "at=" + tk.good}, status: 401, wwwAuth: wantNoCreds, desc: descAuthRequired},
		{name: "form body token", req: mwRequest{form: url.Values{"access_token": {tk.good}}}, status: 401, wwwAuth: wantNoCreds, desc: descAuthRequired},
		{name: "empty cookie", opts: []jwtauth.Option{jwtauth.WithCookie("at")}, req: mwRequest{cookie: "at="}, status: 401, wwwAuth: wantNoCreds, desc: descAuthRequired},

		// Malformed: 400 invalid_request.
		{name: "scheme only", req: mwRequest{headers: []string{"Bearer"}}, status: 400, wwwAuth: wantMalformed, code: jwtauth.CodeInvalidRequest, desc: descMalformedCredential},
		{name: "scheme and space", req: mwRequest{headers: []string{"Bearer "}}, status: 400, wwwAuth: wantMalformed, code: jwtauth.CodeInvalidRequest, desc: descMalformedCredential},
		{name: "space inside token", req: mwRequest{headers: []string{"Bearer abc def"}}, status: 400, wwwAuth: wantMalformed, code: jwtauth.CodeInvalidRequest, desc: descMalformedCredential},
		{name: "two credentials in one field", req: mwRequest{headers: []string{"Bearer " + tk.good + ", Bearer " + tk.bob}}, status: 400, wwwAuth: wantMalformed, code: jwtauth.CodeInvalidRequest, desc: descMalformedCredential},
		{name: "quoted token", req: mwRequest{headers: []string{`Bearer "` + tk.good + `"`}}, status: 400, wwwAuth: wantMalformed, code: jwtauth.CodeInvalidRequest, desc: descMalformedCredential},
		{name: "non-ASCII token", req: mwRequest{headers: []string{"Bearer tökén"}}, status: 400, wwwAuth: wantMalformed, code: jwtauth.CodeInvalidRequest, desc: descMalformedCredential},
		{name: "tab separator", req: mwRequest{headers: []string{"Bearer\t" + tk.good}}, status: 400, wwwAuth: wantMalformed, code: jwtauth.CodeInvalidRequest, desc: descMalformedCredential},
		{name: "malformed cookie", opts: []jwtauth.Option{jwtauth.WithCookie("at")}, req: mwRequest{cookie: "at=a=b"}, status: 400, wwwAuth: wantMalformed, code: jwtauth.CodeInvalidRequest, desc: descMalformedCredential},
		{name: "empty query token", opts: []jwtauth.Option{jwtauth.WithInsecureQueryToken()}, req: mwRequest{query: "access_token="}, status: 400, wwwAuth: wantMalformed, code: jwtauth.CodeInvalidRequest, desc: descMalformedCredential},

		// Sent twice: 400 invalid_request.
		{name: "two header fields", req: mwRequest{headers: []string{"Bearer " + tk.good, "Bearer " + tk.good}}, status: 400, wwwAuth: wantMultiple, code: jwtauth.CodeInvalidRequest, desc: descMultipleCredentials},
		{name: "header and query, query not enabled", req: mwRequest{headers: bearerHeader(tk.good), query: "access_token=" + tk.good}, status: 400, wwwAuth: wantMultiple, code: jwtauth.CodeInvalidRequest, desc: descMultipleCredentials},
		{name: "header and query", opts: []jwtauth.Option{jwtauth.WithInsecureQueryToken()}, req: mwRequest{headers: bearerHeader(tk.good), query: "access_token=" + tk.good}, status: 400, wwwAuth: wantMultiple, code: jwtauth.CodeInvalidRequest, desc: descMultipleCredentials},
		{name: "two query tokens", opts: []jwtauth.Option{jwtauth.WithInsecureQueryToken()}, req: mwRequest{query: "access_token=" + tk.good + "&access_token=" + tk.bob}, status: 400, wwwAuth: wantMultiple, code: jwtauth.CodeInvalidRequest, desc: descMultipleCredentials},
		{name: "header and cookie", opts: []jwtauth.Option{jwtauth.WithCookie("at")}, req: mwRequest{headers: bearerHeader(tk.good), cookie: "at=" + tk.good}, status: 400, wwwAuth: wantMultiple, code: jwtauth.CodeInvalidRequest, desc: descMultipleCredentials},
		{name: "two cookies", opts: []jwtauth.Option{jwtauth.WithCookie("at")}, req: mwRequest{cookie: "at=" + tk.good + "; at=" + tk.bob}, status: 400, wwwAuth: wantMultiple, code: jwtauth.CodeInvalidRequest, desc: descMultipleCredentials},
		{name: "header and parsed form body", req: mwRequest{headers: bearerHeader(tk.good), form: url.Values{"access_token": {tk.good}}}, status: 400, wwwAuth: wantMultiple, code: jwtauth.CodeInvalidRequest, desc: descMultipleCredentials},

		// Bad tokens: 401 invalid_token.
		{name: "expired", req: mwRequest{headers: bearerHeader(tk.expired)}, status: 401, wwwAuth: wantExpired, code: jwtauth.CodeInvalidToken, desc: descExpiredToken},
		{name: "not yet valid", req: mwRequest{headers: bearerHeader(tk.notYet)}, status: 401, wwwAuth: wantInvalid, code: jwtauth.CodeInvalidToken, desc: descInvalidToken},
		{name: "signed by another key", req: mwRequest{headers: bearerHeader(tk.otherKey)}, status: 401, wwwAuth: wantInvalid, code: jwtauth.CodeInvalidToken, desc: descInvalidToken},
		{name: "wrong audience", req: mwRequest{headers: bearerHeader(tk.wrongAud)}, status: 401, wwwAuth: wantInvalid, code: jwtauth.CodeInvalidToken, desc: descInvalidToken},
		{name: "edited payload", req: mwRequest{headers: bearerHeader(tk.tampered)}, status: 401, wwwAuth: wantInvalid, code: jwtauth.CodeInvalidToken, desc: descInvalidToken},
		{name: "alg none", req: mwRequest{headers: bearerHeader(tk.algNone)}, status: 401, wwwAuth: wantInvalid, code: jwtauth.CodeInvalidToken, desc: descInvalidToken},
		{name: "stripped signature", req: mwRequest{headers: bearerHeader(tk.stripped)}, status: 401, wwwAuth: wantInvalid, code: jwtauth.CodeInvalidToken, desc: descInvalidToken},
		{name: "not a JWT", req: mwRequest{headers: bearerHeader("abc")}, status: 401, wwwAuth: wantInvalid, code: jwtauth.CodeInvalidToken, desc: descInvalidToken},
		{name: "bad cookie token", opts: []jwtauth.Option{jwtauth.WithCookie("at")}, req: mwRequest{cookie: "at=" + tk.expired}, status: 401, wwwAuth: wantExpired, code: jwtauth.CodeInvalidToken, desc: descExpiredToken},
		{name: "bad query token", opts: []jwtauth.Option{jwtauth.WithInsecureQueryToken()}, req: mwRequest{query: "access_token=" + tk.tampered}, status: 401, wwwAuth: wantInvalid, code: jwtauth.CodeInvalidToken, desc: descInvalidToken},

		// Realm.
		{name: "custom realm", opts: []jwtauth.Option{jwtauth.WithRealm("photos")}, req: mwRequest{}, status: 401, wwwAuth: `Bearer realm="photos"`, desc: descAuthRequired},
		{name: "no realm, no credentials", opts: []jwtauth.Option{jwtauth.WithRealm("")}, req: mwRequest{}, status: 401, wwwAuth: `Bearer`, desc: descAuthRequired},
		{name: "no realm, bad token", opts: []jwtauth.Option{jwtauth.WithRealm("")}, req: mwRequest{headers: bearerHeader(tk.expired)}, status: 401, wwwAuth: `Bearer error="invalid_token", error_description="` + descExpiredToken + `"`, code: jwtauth.CodeInvalidToken, desc: descExpiredToken},
		{name: "realm with a quote", opts: []jwtauth.Option{jwtauth.WithRealm(`a"b`)}, req: mwRequest{}, status: 401, wwwAuth: `Bearer realm="ab"`, desc: descAuthRequired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			jwtauth.Middleware(j, tc.opts...)(echoPrincipal).ServeHTTP(rec, tc.req.build())
			if tc.wwwAuth == "" && tc.status == 200 {
				checkPassed(t, rec, tc.body)
				return
			}
			checkChallenge(t, rec, tc.status, tc.wwwAuth, tc.code, tc.desc)
		})
	}
}

func TestMiddlewareQueryTokenCacheControl(t *testing.T) {
	t.Parallel()
	j := newTestJWT(t, 0)
	tok := mwIssue(t, j, jwtauth.Claims{ClientID: mwClient, Subject: "alice"})
	h := jwtauth.Middleware(j, jwtauth.WithInsecureQueryToken())(echoPrincipal)
	for _, tc := range []struct {
		name string
		req  mwRequest
		want string
	}{
		{"query", mwRequest{query: "access_token=" + tok}, "private"},
		{"header", mwRequest{headers: bearerHeader(tok)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, tc.req.build())
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200", rec.Code)
			}
			if got := rec.Header().Get("Cache-Control"); got != tc.want {
				t.Errorf("Cache-Control = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestMiddlewareVerifierErrors maps every Verifier outcome, through a fake.
func TestMiddlewareVerifierErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		claims  *jwtauth.Claims
		err     error
		wwwAuth string
		desc    string
	}{
		{"expired", nil, fmt.Errorf("x: %w", jwtauth.ErrTokenExpired), wantExpired, descExpiredToken},
		{"revoked", nil, fmt.Errorf("x: %w", jwtauth.ErrTokenRevoked), wantRevoked, descRevokedToken},
		{"not yet valid", nil, jwtauth.ErrTokenNotYetValid, wantInvalid, descInvalidToken},
		{"malformed", nil, jwtauth.ErrTokenMalformed, wantInvalid, descInvalidToken},
		{"invalid", nil, jwtauth.ErrTokenInvalid, wantInvalid, descInvalidToken},
		{"unknown error with quotes", nil, errors.New(`secret "detail"`), wantInvalid, descInvalidToken},
		{"nil claims", nil, nil, wantInvalid, descInvalidToken},
		{"empty subject", &jwtauth.Claims{}, nil, wantInvalid, descInvalidToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := verifierFunc(func(context.Context, string) (*jwtauth.Claims, error) { return tc.claims, tc.err })
			rec := httptest.NewRecorder()
			jwtauth.Middleware(v)(echoPrincipal).ServeHTTP(rec, mwRequest{headers: bearerHeader("abc")}.build())
			checkChallenge(t, rec, http.StatusUnauthorized, tc.wwwAuth, jwtauth.CodeInvalidToken, tc.desc)
			if strings.Contains(rec.Body.String(), "secret") {
				t.Errorf("body %q leaks the error text", rec.Body)
			}
		})
	}
}

func TestMiddlewareVerifierUnavailable(t *testing.T) {
	t.Parallel()
	v := verifierFunc(func(context.Context, string) (*jwtauth.Claims, error) {
		return nil, fmt.Errorf("%w: fetch JWKS https://issuer.test/jwks: status 502", jwtauth.ErrUnavailable)
	})
	rec := httptest.NewRecorder()
	jwtauth.Middleware(v)(echoPrincipal).ServeHTTP(rec, mwRequest{headers: bearerHeader("abc")}.build())
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /api/me: status = %d, want 503", rec.Code)
	}
	if got := rec.Header().Values("WWW-Authenticate"); got != nil {
		t.Errorf("GET /api/me: WWW-Authenticate = %q, want none", got)
	}
	if got, want := rec.Body.String(), `{"error":"temporarily_unavailable","error_description":"`+descUnavailable+`"}`+"\n"; got != want {
		t.Errorf("GET /api/me: body = %q, want %q", got, want)
	}
}

// logBuffer collects log output; it is safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestMiddlewareLogsRefusals: the operator learns why a request was
// refused, the client only the fixed description; the token and the query
// string are never logged.
func TestMiddlewareLogsRefusals(t *testing.T) {
	t.Parallel()
	j := newTestJWT(t, 0)
	other := newTestJWT(t, 0)
	good := mwIssue(t, j, jwtauth.Claims{ClientID: mwClient, Subject: "alice"})
	disabled := mwIssue(t, j, jwtauth.Claims{ClientID: mwClient, Subject: "bob"})
	gone := mwIssue(t, j, jwtauth.Claims{ClientID: mwClient, Subject: "carol"})
	wrongAud := mwIssue(t, j, jwtauth.Claims{ClientID: mwClient, Subject: "alice", Audience: []string{"https://elsewhere.test"}})
	forged := mwIssue(t, other, jwtauth.Claims{ClientID: mwClient, Subject: "alice"})
	parts := strings.Split(good, ".")
	badSig := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	store := usersStore(&userstore.User{ID: "alice"}, &userstore.User{ID: "bob", Disabled: true})
	down := &fakeStore{byID: func(context.Context, string) (*userstore.User, error) {
		return nil, errors.New("connection refused")
	}}
	tests := []struct {
		name   string
		store  userstore.Store
		req    mwRequest
		token  string // must not appear in the log
		level  string
		status int
		reason string
	}{
		{"no credentials", nil, mwRequest{}, "", "DEBUG", 401, "no Bearer credentials"},
		{"malformed", nil, mwRequest{headers: []string{`Bearer "quoted"`}}, "", "INFO", 400, "malformed Bearer credentials"},
		{"twice", nil, mwRequest{headers: []string{"Bearer " + good, "Bearer " + good}}, good, "INFO", 400, "access token sent more than once"},
		{"wrong audience", nil, mwRequest{headers: bearerHeader(wrongAud)}, wrongAud, "INFO", 401, "wrong audience"},
		{"unknown key", nil, mwRequest{headers: bearerHeader(forged)}, forged, "INFO", 401, "unknown key ID"},
		{"bad signature", nil, mwRequest{headers: bearerHeader(badSig)}, badSig, "INFO", 401, "bad signature"},
		{"user disabled", store, mwRequest{headers: bearerHeader(disabled)}, disabled, "INFO", 401, "user disabled"},
		{"user gone", store, mwRequest{headers: bearerHeader(gone)}, gone, "INFO", 401, "not found"},
		{"store down", down, mwRequest{headers: bearerHeader(good)}, good, "WARN", 503, "connection refused"},
		{"token in the query", nil, mwRequest{query: "access_token=" + good}, good, "DEBUG", 401, "no Bearer credentials"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs logBuffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			opts := []jwtauth.Option{jwtauth.WithLogger(logger)}
			if tc.store != nil {
				opts = append(opts, jwtauth.WithUsers(tc.store), jwtauth.WithUserCache(0, 0))
			}
			rec := httptest.NewRecorder()
			jwtauth.Middleware(j, opts...)(echoPrincipal).ServeHTTP(rec, tc.req.build())
			if rec.Code != tc.status {
				t.Errorf("GET /api/me: status = %d, want %d", rec.Code, tc.status)
			}
			got := logs.String()
			for _, want := range []string{"level=" + tc.level, "jwtauth: request refused", "method=GET", "path=/api/me", "status=" + strconv.Itoa(tc.status), tc.reason} {
				if !strings.Contains(got, want) {
					t.Errorf("log %q does not contain %q", got, want)
				}
			}
			if tc.token != "" && strings.Contains(got, tc.token) {
				t.Errorf("log %q contains the token", got)
			}
			if strings.Contains(got, "access_token") {
				t.Errorf("log %q contains the query string", got)
			}
			if strings.Contains(rec.Body.String(), tc.reason) {
				t.Errorf("body %q tells the client the reason", rec.Body)
			}
		})
	}
	t.Run("success is not logged", func(t *testing.T) {
		t.Parallel()
		var logs logBuffer
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		rec := httptest.NewRecorder()
		jwtauth.Middleware(j, jwtauth.WithLogger(logger))(echoPrincipal).ServeHTTP(rec, mwRequest{headers: bearerHeader(good)}.build())
		if rec.Code != http.StatusOK || logs.String() != "" {
			t.Errorf("GET /api/me: status = %d, log %q; want 200 and nothing logged", rec.Code, logs.String())
		}
	})
}

func TestMiddlewareNilVerifier(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	jwtauth.Middleware(nil)(echoPrincipal).ServeHTTP(rec, mwRequest{headers: bearerHeader("abc")}.build())
	checkChallenge(t, rec, http.StatusUnauthorized, wantInvalid, jwtauth.CodeInvalidToken, descInvalidToken)
}

func TestOptionalMiddleware(t *testing.T) {
	t.Parallel()
	j := newTestJWT(t, 0)
	tk := newTokens(t, j)
	tests := []struct {
		name    string
		req     mwRequest
		status  int
		wwwAuth string
		code    string
		desc    string
		body    string
	}{
		{name: "anonymous", req: mwRequest{}, status: 200, body: "anonymous"},
		{name: "basic is anonymous", req: mwRequest{headers: []string{"Basic dXNlcjpwYXNz"}}, status: 200, body: "anonymous"},
		{name: "query token not enabled is anonymous", req: mwRequest{query: "access_token=" + tk.good}, status: 200, body: "anonymous"},
		{name: "valid token", req: mwRequest{headers: bearerHeader(tk.good)}, status: 200, body: "sub=alice roles=admin scopes=read,write user=-"},
		{name: "malformed", req: mwRequest{headers: []string{"Bearer "}}, status: 400, wwwAuth: wantMalformed, code: jwtauth.CodeInvalidRequest, desc: descMalformedCredential},
		{name: "twice", req: mwRequest{headers: []string{"Bearer a", "Bearer b"}}, status: 400, wwwAuth: wantMultiple, code: jwtauth.CodeInvalidRequest, desc: descMultipleCredentials},
		{name: "expired", req: mwRequest{headers: bearerHeader(tk.expired)}, status: 401, wwwAuth: wantExpired, code: jwtauth.CodeInvalidToken, desc: descExpiredToken},
		{name: "forged", req: mwRequest{headers: bearerHeader(tk.tampered)}, status: 401, wwwAuth: wantInvalid, code: jwtauth.CodeInvalidToken, desc: descInvalidToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			jwtauth.OptionalMiddleware(j)(echoPrincipal).ServeHTTP(rec, tc.req.build())
			if tc.wwwAuth == "" {
				checkPassed(t, rec, tc.body)
				return
			}
			checkChallenge(t, rec, tc.status, tc.wwwAuth, tc.code, tc.desc)
		})
	}
}

func TestMiddlewareErrorHandler(t *testing.T) {
	t.Parallel()
	var got jwtauth.Challenge
	onError := func(w http.ResponseWriter, r *http.Request, c jwtauth.Challenge) {
		got = c
		w.WriteHeader(http.StatusTeapot)
	}
	rec := httptest.NewRecorder()
	jwtauth.Middleware(nil, jwtauth.WithErrorHandler(onError))(echoPrincipal).ServeHTTP(rec, mwRequest{headers: []string{"Bearer "}}.build())
	want := jwtauth.Challenge{Status: http.StatusBadRequest, Code: jwtauth.CodeInvalidRequest, Description: descMalformedCredential}
	if got != want {
		t.Errorf("error handler got %+v, want %+v", got, want)
	}
	if rec.Code != http.StatusTeapot {
		t.Errorf("status = %d, want %d", rec.Code, http.StatusTeapot)
	}
	if h := rec.Header().Get("WWW-Authenticate"); h != "" {
		t.Errorf("WWW-Authenticate = %q, want none from a custom handler", h)
	}

	rec = httptest.NewRecorder()
	jwtauth.Middleware(nil, jwtauth.WithErrorHandler(nil), nil)(echoPrincipal).ServeHTTP(rec, mwRequest{}.build())
	checkChallenge(t, rec, http.StatusUnauthorized, wantNoCreds, "", descAuthRequired)
}

// TestMiddlewareUsers covers user loading with a real token and a fake store.
func TestMiddlewareUsers(t *testing.T) {
	t.Parallel()
	j := newTestJWT(t, 0)
	now := time.Now().Truncate(time.Second)
	tok := mwIssue(t, j, jwtauth.Claims{ClientID: mwClient, Subject: "alice", Roles: []string{"admin"}, Scope: []string{"read"}, IssuedAt: now})
	alice := func(mod func(u *userstore.User)) *fakeStore {
		u := &userstore.User{ID: "alice", Name: "Alice", Roles: []string{"user"}}
		if mod != nil {
			mod(u)
		}
		return usersStore(u)
	}
	tests := []struct {
		name    string
		store   *fakeStore
		status  int
		wwwAuth string
		code    string
		desc    string
		body    string
	}{
		{name: "roles from the store", store: alice(nil), status: 200, body: "sub=alice roles=user scopes=read user=Alice"},
		{name: "no roles left", store: alice(func(u *userstore.User) { u.Roles = nil }), status: 200, body: "sub=alice roles= scopes=read user=Alice"},
		{name: "tokens valid after, same second", store: alice(func(u *userstore.User) { u.TokensValidAfter = now.Add(999 * time.Millisecond) }), status: 200, body: "sub=alice roles=user scopes=read user=Alice"},
		{name: "tokens valid after, earlier", store: alice(func(u *userstore.User) { u.TokensValidAfter = now.Add(-time.Hour) }), status: 200, body: "sub=alice roles=user scopes=read user=Alice"},
		{name: "tokens valid after, next second", store: alice(func(u *userstore.User) { u.TokensValidAfter = now.Add(time.Second) }), status: 401, wwwAuth: wantRevoked, code: jwtauth.CodeInvalidToken, desc: descRevokedToken},
		{name: "disabled", store: alice(func(u *userstore.User) { u.Disabled = true }), status: 401, wwwAuth: wantRevoked, code: jwtauth.CodeInvalidToken, desc: descRevokedToken},
		{name: "gone", store: usersStore(), status: 401, wwwAuth: wantRevoked, code: jwtauth.CodeInvalidToken, desc: descRevokedToken},
		{name: "nil user", store: &fakeStore{byID: func(context.Context, string) (*userstore.User, error) { return nil, nil }}, status: 401, wwwAuth: wantRevoked, code: jwtauth.CodeInvalidToken, desc: descRevokedToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			jwtauth.Middleware(j, jwtauth.WithUsers(tc.store))(echoPrincipal).ServeHTTP(rec, mwRequest{headers: bearerHeader(tok)}.build())
			if tc.wwwAuth == "" {
				checkPassed(t, rec, tc.body)
			} else {
				checkChallenge(t, rec, tc.status, tc.wwwAuth, tc.code, tc.desc)
			}
			if n := tc.store.calls.Load(); n != 1 {
				t.Errorf("UserByID calls = %d, want 1", n)
			}
		})
	}
}

func TestMiddlewareUserStoreDown(t *testing.T) {
	t.Parallel()
	j := newTestJWT(t, 0)
	tok := mwIssue(t, j, jwtauth.Claims{ClientID: mwClient, Subject: "alice"})
	store := &fakeStore{byID: func(context.Context, string) (*userstore.User, error) {
		return nil, errors.New(`db: connection refused to "10.0.0.5"`)
	}}
	h := jwtauth.Middleware(j, jwtauth.WithUsers(store))(echoPrincipal)
	for i := range 2 { // failures are not cached
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, mwRequest{headers: bearerHeader(tok)}.build())
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("status = %d, want 503", rec.Code)
		}
		if got := rec.Header().Values("WWW-Authenticate"); len(got) != 0 {
			t.Errorf("WWW-Authenticate = %q, want none", got)
		}
		if got, want := rec.Header().Get("Cache-Control"), "no-store"; got != want {
			t.Errorf("Cache-Control = %q, want %q", got, want)
		}
		want := `{"error":"temporarily_unavailable","error_description":"` + descUnavailable + `"}` + "\n"
		if got := rec.Body.String(); got != want {
			t.Errorf("body = %q, want %q", got, want)
		}
		if n := store.calls.Load(); n != int64(i+1) {
			t.Errorf("UserByID calls = %d, want %d", n, i+1)
		}
	}
}

// TestMiddlewareUserCache checks the cache of user lookups on a fake clock.
func TestMiddlewareUserCache(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var (
			mu   sync.Mutex
			user = &userstore.User{ID: "alice", Name: "Alice", Roles: []string{"admin"}}
		)
		store := &fakeStore{byID: func(context.Context, string) (*userstore.User, error) {
			mu.Lock()
			defer mu.Unlock()
			return user.Clone(), nil
		}}
		iat := time.Now()
		v := verifierFunc(func(context.Context, string) (*jwtauth.Claims, error) {
			return &jwtauth.Claims{ClientID: mwClient, Subject: "alice", IssuedAt: iat}, nil
		})
		var tamper bool
		next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			echoPrincipal(w, r)
			if p, _ := jwtauth.PrincipalFrom(r.Context()); tamper {
				p.User.Roles[0] = "tampered"
				p.User.Disabled = true
			}
		})
		h := jwtauth.Middleware(v, jwtauth.WithUsers(store), jwtauth.WithUserCache(2*time.Second, 10))(next)
		get := func() *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, mwRequest{headers: bearerHeader("abc")}.build())
			return rec
		}
		steps := []struct {
			name   string
			before func()
			status int
			calls  int64
		}{
			{"first request loads", nil, 200, 1},
			{"second is cached", func() { tamper = true }, 200, 1},
			{"copies handed out", func() { tamper = false }, 200, 1},
			{"disabled, still cached", func() {
				mu.Lock()
				user.Disabled = true
				mu.Unlock()
				time.Sleep(1999 * time.Millisecond)
			}, 200, 1},
			{"disabled, after ttl", func() { time.Sleep(time.Millisecond) }, 401, 2},
			{"the disabled record is cached too", nil, 401, 2},
		}
		for _, s := range steps {
			if s.before != nil {
				s.before()
			}
			rec := get()
			if rec.Code != s.status {
				t.Errorf("%s: status = %d, want %d", s.name, rec.Code, s.status)
			}
			if s.status == 200 {
				if got, want := rec.Body.String(), "sub=alice roles=admin scopes= user=Alice"; got != want {
					t.Errorf("%s: body = %q, want %q", s.name, got, want)
				}
			}
			if n := store.calls.Load(); n != s.calls {
				t.Errorf("%s: UserByID calls = %d, want %d", s.name, n, s.calls)
			}
		}
	})
}

func TestMiddlewareUserCacheOff(t *testing.T) {
	t.Parallel()
	j := newTestJWT(t, 0)
	tok := mwIssue(t, j, jwtauth.Claims{ClientID: mwClient, Subject: "alice"})
	store := usersStore(&userstore.User{ID: "alice"})
	h := jwtauth.Middleware(j, jwtauth.WithUsers(store), jwtauth.WithUserCache(0, 0))(echoPrincipal)
	for i := range 3 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, mwRequest{headers: bearerHeader(tok)}.build())
		if rec.Code != http.StatusOK {
			t.Fatalf("status = %d, want 200", rec.Code)
		}
		if n := store.calls.Load(); n != int64(i+1) {
			t.Errorf("UserByID calls = %d, want %d", n, i+1)
		}
	}
}

// TestMiddlewareMemoryStore revokes tokens through the real memory store.
func TestMiddlewareMemoryStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := memory.New()
	u, err := store.CreateUser(ctx, &userstore.User{Username: "alice@example.com", Name: "Alice", PasswordHash: "$test$unused", Roles: []string{"admin"}})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	j := newTestJWT(t, 0)
	tok := mwIssue(t, j, jwtauth.Claims{ClientID: mwClient, Subject: u.ID, IssuedAt: time.Now().Add(-10 * time.Second)})
	h := jwtauth.Middleware(j, jwtauth.WithUsers(store), jwtauth.WithUserCache(0, 0))(echoPrincipal)
	get := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, mwRequest{headers: bearerHeader(tok)}.build())
		return rec
	}
	checkPassed(t, get(), "sub="+u.ID+" roles=admin scopes= user=Alice")
	if err := store.RevokeTokens(ctx, u.ID); err != nil {
		t.Fatalf("RevokeTokens: %v", err)
	}
	checkChallenge(t, get(), http.StatusUnauthorized, wantRevoked, jwtauth.CodeInvalidToken, descRevokedToken)
	if err := store.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	checkChallenge(t, get(), http.StatusUnauthorized, wantRevoked, jwtauth.CodeInvalidToken, descRevokedToken)
}

// TestMiddlewareServer runs the middleware behind a real HTTP server and
// client, so headers go over the wire.
func TestMiddlewareServer(t *testing.T) {
	t.Parallel()
	j := newTestJWT(t, 0)
	tok := mwIssue(t, j, jwtauth.Claims{ClientID: mwClient, Subject: "alice", Roles: []string{"admin"}})
	mux := http.NewServeMux()
	mux.Handle("GET /api/me", jwtauth.Middleware(j)(echoPrincipal))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tests := []struct {
		name    string
		headers []string
		query   string
		status  int
		wwwAuth string
	}{
		{"valid", []string{"Bearer " + tok}, "", 200, ""},
		{"lower case", []string{"bearer " + tok}, "", 200, ""},
		{"no credentials", nil, "", 401, wantNoCreds},
		{"query token", nil, "?access_token=" + tok, 401, wantNoCreds},
		{"two header fields", []string{"Bearer " + tok, "Bearer " + tok}, "", 400, wantMultiple},
		{"malformed", []string{"Bearer a b"}, "", 400, wantMalformed},
		{"forged", []string{"Bearer " + tok[:len(tok)-4] + "AAAA"}, "", 401, wantInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/me"+tc.query, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range tc.headers {
				req.Header.Add("Authorization", h)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("GET /api/me: status = %d, want %d", resp.StatusCode, tc.status)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tc.wwwAuth {
				t.Errorf("GET /api/me: WWW-Authenticate = %q, want %q", got, tc.wwwAuth)
			}
		})
	}
}

// FuzzMiddleware sends arbitrary credentials through the whole middleware
// with a real verifier: it never panics, answers only the defined
// outcomes, and passes only a request carrying the one valid token.
func FuzzMiddleware(f *testing.F) {
	j := newTestJWT(f, 0)
	tok := mwIssue(f, j, jwtauth.Claims{ClientID: mwClient, Subject: "alice"})
	f.Add("Bearer "+tok, "", "", "")
	f.Add("bearer "+tok, "Bearer "+tok, "", "")
	f.Add("", "", "at="+tok, "access_token="+tok)
	f.Add("Bearer "+tok[:len(tok)-1], "", "", "")
	f.Add("Basic x", "", "at=", "access_token=%zz")
	h := jwtauth.Middleware(j, jwtauth.WithCookie("at"), jwtauth.WithInsecureQueryToken())(echoPrincipal)
	f.Fuzz(func(t *testing.T, h1, h2, cookie, rawQuery string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.RawQuery = rawQuery
		for _, v := range []string{h1, h2} {
			if v != "" {
				r.Header.Add("Authorization", v)
			}
		}
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		www := rec.Header().Get("WWW-Authenticate")
		switch rec.Code {
		case http.StatusOK:
			if got, want := rec.Body.String(), "sub=alice roles= scopes= user=-"; got != want {
				t.Fatalf("body = %q, want %q", got, want)
			}
			sent := h1 + h2 + cookie + rawQuery
			if q, err := url.QueryUnescape(rawQuery); err == nil {
				sent += q
			}
			if !strings.Contains(sent, tok) {
				t.Fatalf("passed without the token: %q %q %q %q", h1, h2, cookie, rawQuery)
			}
		case http.StatusUnauthorized:
			if www != wantNoCreds && www != wantInvalid && www != wantExpired {
				t.Fatalf("401 with WWW-Authenticate %q", www)
			}
		case http.StatusBadRequest:
			if www != wantMalformed && www != wantMultiple {
				t.Fatalf("400 with WWW-Authenticate %q", www)
			}
		default:
			t.Fatalf("status = %d, want 200, 400 or 401", rec.Code)
		}
	})
}

// describePrincipal prints what a handler sees of p.
func describePrincipal(p *jwtauth.Principal) string {
	user := "-"
	if p.User != nil {
		user = fmt.Sprintf("%q", p.User.Roles)
	}
	return fmt.Sprintf("roles=%q scopes=%q aud=%q croles=%q cscope=%q extra=%d tenant=%s user=%s",
		p.Roles, p.Scopes, p.Claims.Audience, p.Claims.Roles, p.Claims.Scope, len(p.Claims.Extra), p.Claims.Extra["tenant"], user)
}

// vandal describes the principal it gets, then overwrites and appends to
// everything it can reach. It answers the description, and whether one of
// its appends overwrote another of its slices.
var vandal = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, ok := jwtauth.PrincipalFrom(r.Context())
	if !ok {
		http.Error(w, "no principal", http.StatusInternalServerError)
		return
	}
	before := describePrincipal(p)
	c := p.Claims
	p.Roles[0] = "root"
	p.Scopes[0] = "everything"
	c.Audience[0] = "https://evil.test"
	c.Roles[0] = "root"
	c.Scope[0] = "everything"
	c.Extra["tenant"][0] = '['
	c.Extra["injected"] = json.RawMessage(`true`)
	if p.User != nil {
		p.User.Roles[0] = "root"
	}
	written := describePrincipal(p)
	nr, ns, na, ncr, ncs := len(p.Roles), len(p.Scopes), len(c.Audience), len(c.Roles), len(c.Scope)
	p.Roles = append(p.Roles, "appended")
	p.Scopes = append(p.Scopes, "appended")
	c.Audience = append(c.Audience, "appended")
	c.Roles = append(c.Roles, "appended")
	c.Scope = append(c.Scope, "appended")
	p.Roles, p.Scopes, c.Audience, c.Roles, c.Scope = p.Roles[:nr], p.Scopes[:ns], c.Audience[:na], c.Roles[:ncr], c.Scope[:ncs]
	clobbered := "no"
	if describePrincipal(p) != written {
		clobbered = "yes"
	}
	fmt.Fprintf(w, "%s clobbered=%s", before, clobbered)
})

// TestMiddlewarePrincipalIsTheRequestsOwn: what a handler writes into its
// Principal never reaches the next request with the same token, whether
// the verifier answers from its cache or shares one *Claims itself.
func TestMiddlewarePrincipalIsTheRequestsOwn(t *testing.T) {
	t.Parallel()
	j := newTestJWT(t, 0) // cache on
	claims := jwtauth.Claims{
		ClientID: mwClient, Subject: "alice",
		Audience: []string{mwAud, "https://other.test"},
		Roles:    []string{"admin", "user"},
		Scope:    []string{"read", "write"},
	}
	if err := jwtauth.SetClaim(&claims, "tenant", map[string]int{"id": 7}); err != nil {
		t.Fatal(err)
	}
	tok := mwIssue(t, j, claims)
	shared, err := j.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	sharing := verifierFunc(func(context.Context, string) (*jwtauth.Claims, error) { return shared, nil })
	alice := &userstore.User{ID: "alice", Name: "Alice", Roles: []string{"user", "editor"}}

	const tokenView = `roles=["admin" "user"] scopes=["read" "write"] aud=["https://api.test" "https://other.test"] croles=["admin" "user"] cscope=["read" "write"] extra=1 tenant={"id":7}`
	tests := []struct {
		name string
		mw   func(http.Handler) http.Handler
		want string
	}{
		{"cached JWT", jwtauth.Middleware(j), tokenView + " user=-"},
		{"verifier sharing its claims", jwtauth.Middleware(sharing), tokenView + " user=-"},
		{"optional middleware", jwtauth.OptionalMiddleware(j), tokenView + " user=-"},
		{"stored user", jwtauth.Middleware(j, jwtauth.WithUsers(usersStore(alice))),
			`roles=["user" "editor"] scopes=["read" "write"] aud=["https://api.test" "https://other.test"] croles=["admin" "user"] cscope=["read" "write"] extra=1 tenant={"id":7} user=["user" "editor"]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { // not parallel: shared is checked after the loop
			srv := httptest.NewServer(tc.mw(vandal))
			t.Cleanup(srv.Close)
			for i := range 3 {
				req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/me", nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("request %d: status = %d, want %d (%s)", i, resp.StatusCode, http.StatusOK, body)
				}
				if got, want := string(body), tc.want+" clobbered=no"; got != want {
					t.Errorf("request %d: handler saw\n%s\nwant\n%s", i, got, want)
				}
			}
		})
	}
	if got := fmt.Sprintf("%q %q %q %s %d", shared.Audience, shared.Roles, shared.Scope, shared.Extra["tenant"], len(shared.Extra)); got != `["https://api.test" "https://other.test"] ["admin" "user"] ["read" "write"] {"id":7} 1` {
		t.Errorf("verified claims after the handlers ran = %s", got)
	}
}
