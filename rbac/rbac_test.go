package rbac_test

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/rbac"
)

const (
	challengeNone  = `Bearer realm="api"`
	challengeRole  = `Bearer realm="api", error="insufficient_scope", error_description="The access token lacks a required role"`
	challengeScope = `Bearer realm="api", error="insufficient_scope", error_description="The access token lacks a required scope", scope="read write"`
)

// want is the expected answer of a check.
type want struct {
	status    int
	challenge string // WWW-Authenticate; "" for none
	code      string // the JSON body's "error"; "" for none
}

var (
	allowed     = want{http.StatusOK, "", ""}
	noPrincipal = want{http.StatusUnauthorized, challengeNone, ""}
	noRole      = want{http.StatusForbidden, challengeRole, jwtauth.CodeInsufficientScope}
	noScope     = want{http.StatusForbidden, challengeScope, jwtauth.CodeInsufficientScope}
	misuse      = want{http.StatusInternalServerError, "", "server_error"}
)

func roles(r ...string) *jwtauth.Principal {
	return &jwtauth.Principal{Subject: "u1", Roles: r}
}

func scopes(s ...string) *jwtauth.Principal {
	return &jwtauth.Principal{Subject: "u1", Scopes: s}
}

// secret is what the protected handler answers.
const secret = "the protected resource"

// ok is the protected handler.
var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	io.WriteString(w, secret)
})

// serve runs one GET request through mw in front of ok, with p in the
// request's context if p is not nil.
func serve(mw func(http.Handler) http.Handler, p *jwtauth.Principal) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/resource", nil)
	if p != nil {
		r = r.WithContext(jwtauth.WithPrincipal(r.Context(), p))
	}
	w := httptest.NewRecorder()
	mw(ok).ServeHTTP(w, r)
	return w
}

// checkAnswer reports how w's answer differs from want.
func checkAnswer(t *testing.T, w *httptest.ResponseRecorder, want want) {
	t.Helper()
	if w.Code != want.status {
		t.Errorf("status = %d, want %d", w.Code, want.status)
	}
	if got := w.Header().Get("WWW-Authenticate"); got != want.challenge {
		t.Errorf("WWW-Authenticate = %q, want %q", got, want.challenge)
	}
	if want.status == http.StatusOK {
		if w.Body.String() != secret {
			t.Errorf("body = %q, want the protected handler's %q", w.Body.String(), secret)
		}
		return
	}
	if got := w.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Errorf("body %q: %v", w.Body.String(), err)
		return
	}
	if body.Error != want.code {
		t.Errorf("body error = %q, want %q", body.Error, want.code)
	}
	if strings.Contains(w.Body.String(), secret) {
		t.Errorf("body = %q: the protected handler ran", w.Body.String())
	}
}

func TestChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		mw        func(http.Handler) http.Handler
		principal *jwtauth.Principal
		want      want
	}{
		{"Require: holds the role", rbac.Require("admin"), roles("admin"), allowed},
		{"Require: holds one of the roles", rbac.Require("admin", "editor"), roles("user", "editor"), allowed},
		{"Require: lacks the role", rbac.Require("admin"), roles("user"), noRole},
		{"Require: no roles", rbac.Require("admin"), roles(), noRole},
		{"Require: roles compare exactly", rbac.Require("admin"), roles("Admin", "admin "), noRole},
		{"Require: role only in the token's claims", rbac.Require("admin"), &jwtauth.Principal{
			Subject: "u1",
			Roles:   []string{"user"},
			Claims:  &jwtauth.Claims{Roles: []string{"admin"}},
		}, noRole},
		{"Require: scope is no role", rbac.Require("admin"), scopes("admin"), noRole},
		{"Require: no principal", rbac.Require("admin"), nil, noPrincipal},
		{"RequireAny: holds one of the roles", rbac.RequireAny("admin", "editor"), roles("editor"), allowed},
		{"RequireAny: holds all", rbac.RequireAny("admin", "editor"), roles("editor", "admin"), allowed},
		{"RequireAny: holds none", rbac.RequireAny("admin", "editor"), roles("user"), noRole},
		{"RequireAny: no principal", rbac.RequireAny("admin"), nil, noPrincipal},
		{"RequireAll: holds all", rbac.RequireAll("admin", "user"), roles("user", "admin"), allowed},
		{"RequireAll: holds one", rbac.RequireAll("admin", "user"), roles("admin"), noRole},
		{"RequireAll: no principal", rbac.RequireAll("admin"), nil, noPrincipal},
		{"RequireAllScopes: holds all", rbac.RequireAllScopes("read", "write"), scopes("write", "other", "read"), allowed},
		{"RequireAllScopes: holds one", rbac.RequireAllScopes("read", "write"), scopes("read"), noScope},
		{"RequireAllScopes: none", rbac.RequireAllScopes("read", "write"), scopes(), noScope},
		{"RequireAllScopes: role is no scope", rbac.RequireAllScopes("read", "write"), roles("read", "write"), noScope},
		{"RequireAllScopes: no principal", rbac.RequireAllScopes("read"), nil, noPrincipal},
		{"RequireAnyScope: holds one", rbac.RequireAnyScope("read", "write"), scopes("other", "write"), allowed},
		{"RequireAnyScope: holds all", rbac.RequireAnyScope("read", "write"), scopes("read", "write"), allowed},
		{"RequireAnyScope: holds none", rbac.RequireAnyScope("read", "write"), scopes("other"), noScope},
		{"RequireAnyScope: none", rbac.RequireAnyScope("read", "write"), scopes(), noScope},
		{"RequireAnyScope: role is no scope", rbac.RequireAnyScope("read", "write"), roles("read"), noScope},
		{"RequireAnyScope: no principal", rbac.RequireAnyScope("read"), nil, noPrincipal},
		{"misuse: Require()", rbac.Require(), roles("admin"), misuse},
		{"misuse: Require(\"\")", rbac.Require(""), roles(""), misuse},
		{"misuse: RequireAll()", rbac.RequireAll(), roles("admin"), misuse},
		{"misuse: RequireAll with an empty role", rbac.RequireAll("admin", ""), roles("admin", ""), misuse},
		{"misuse: RequireAny()", rbac.RequireAny(), roles("admin"), misuse},
		{"misuse: RequireAny with an empty role", rbac.RequireAny("admin", ""), roles("admin"), misuse},
		{"misuse: RequireAnyScope()", rbac.RequireAnyScope(), scopes("read"), misuse},
		{"misuse: RequireAnyScope with a space", rbac.RequireAnyScope("read", "read write"), scopes("read"), misuse},
		{"misuse: RequireAllScopes()", rbac.RequireAllScopes(), scopes("read"), misuse},
		{"misuse: RequireAllScopes with a space", rbac.RequireAllScopes("read write"), scopes("read write"), misuse},
		{"misuse: RequireAllScopes with a quote", rbac.RequireAllScopes(`read"`), scopes(`read"`), misuse},
		{"misuse: RequireAllScopes with a backslash", rbac.RequireAllScopes(`re\ad`), scopes(`re\ad`), misuse},
		{"misuse: RequireAllScopes with non-ASCII", rbac.RequireAllScopes("lesen\u00e9"), scopes("lesen\u00e9"), misuse},
		{"misuse: without a principal too", rbac.Require(), nil, misuse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkAnswer(t, serve(tc.mw, tc.principal), tc.want)
		})
	}
}

func TestNilHandler(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r = r.WithContext(jwtauth.WithPrincipal(r.Context(), roles("admin")))
	w := httptest.NewRecorder()
	rbac.Require("admin")(nil).ServeHTTP(w, r)
	checkAnswer(t, w, misuse)
}

func TestArgumentsAreCopied(t *testing.T) {
	t.Parallel()
	args := []string{"read", "write"}
	mw := rbac.RequireAllScopes(args...)
	args[0], args[1] = "x", "y"
	checkAnswer(t, serve(mw, scopes("read", "write")), allowed)
	checkAnswer(t, serve(mw, scopes("x", "y")), noScope)

	args = []string{"read", "write"}
	mw = rbac.RequireAnyScope(args...)
	args[0], args[1] = "x", "y"
	checkAnswer(t, serve(mw, scopes("write")), allowed)
	checkAnswer(t, serve(mw, scopes("x", "y")), noScope)

	args = []string{"admin"}
	mw = rbac.Require(args...)
	args[0] = "user"
	checkAnswer(t, serve(mw, roles("user")), noRole)
}

func TestErrorHandler(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []jwtauth.Challenge
	p, err := rbac.NewPolicy(nil, nil, rbac.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, c jwtauth.Challenge) {
		mu.Lock()
		got = append(got, c)
		mu.Unlock()
		w.WriteHeader(c.Status)
	}))
	if err != nil {
		t.Fatalf("NewPolicy: %v", err)
	}
	tests := []struct {
		name      string
		mw        func(http.Handler) http.Handler
		principal *jwtauth.Principal
		want      jwtauth.Challenge
	}{
		{"no principal", p.RequireAny("admin"), nil, jwtauth.Challenge{Status: http.StatusUnauthorized}},
		{"lacks role", p.RequireAny("admin"), roles("user"), jwtauth.Challenge{
			Status: http.StatusForbidden, Code: jwtauth.CodeInsufficientScope, Description: jwtauth.DescInsufficientRole,
		}},
		{"lacks scope", p.RequireAllScopes("read", "write"), scopes("read"), jwtauth.Challenge{
			Status: http.StatusForbidden, Code: jwtauth.CodeInsufficientScope, Description: jwtauth.DescInsufficientScope, Scope: "read write",
		}},
		{"lacks every scope", p.RequireAnyScope("read", "write"), scopes("other"), jwtauth.Challenge{
			Status: http.StatusForbidden, Code: jwtauth.CodeInsufficientScope, Description: jwtauth.DescInsufficientScope, Scope: "read write",
		}},
		{"lacks every role", p.RequireAll("admin", "user"), roles("guest"), jwtauth.Challenge{
			Status: http.StatusForbidden, Code: jwtauth.CodeInsufficientScope, Description: jwtauth.DescInsufficientRole,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			w := serve(tc.mw, tc.principal)
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 || got[0] != tc.want {
				t.Fatalf("error handler got %+v, want [%+v]", got, tc.want)
			}
			if w.Code != tc.want.Status {
				t.Errorf("status = %d, want %d", w.Code, tc.want.Status)
			}
			if h := w.Header().Get("WWW-Authenticate"); h != "" {
				t.Errorf("WWW-Authenticate = %q, want none from a custom handler that sets none", h)
			}
		})
	}

	// The handler is not called when the check passes or is misused.
	got = nil
	checkAnswer(t, serve(p.RequireAny("admin"), roles("admin")), allowed)
	checkAnswer(t, serve(p.RequireAny(), roles("admin")), misuse)
	if len(got) != 0 {
		t.Errorf("error handler called %d times for an allowed and a misused check, want 0", len(got))
	}
}

func TestNilOptionIsSkipped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []rbac.Option
		want string
	}{
		{"only nil", []rbac.Option{nil}, challengeRole},
		{"nil among others", []rbac.Option{nil, rbac.WithRealm("shop"), nil},
			`Bearer realm="shop", error="insufficient_scope", error_description="The access token lacks a required role"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := rbac.NewPolicy(testPermissions(), testInherits(), tc.opts...)
			if err != nil {
				t.Fatalf("NewPolicy with a nil Option: %v", err)
			}
			w := serve(p.RequireAny("admin"), roles("user"))
			if w.Code != http.StatusForbidden {
				t.Errorf("status = %d, want %d", w.Code, http.StatusForbidden)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tc.want {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.want)
			}
			checkAnswer(t, serve(p.RequireAny("user"), roles("admin")), allowed)
		})
	}
}

func TestNilErrorHandlerIsDefault(t *testing.T) {
	t.Parallel()
	p, err := rbac.NewPolicy(nil, nil, rbac.WithErrorHandler(nil))
	if err != nil {
		t.Fatalf("NewPolicy: %v", err)
	}
	checkAnswer(t, serve(p.RequireAny("admin"), roles("user")), noRole)
}

func TestRealm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      []rbac.Option
		principal *jwtauth.Principal
		want      string
	}{
		{"default, no principal", nil, nil, `Bearer realm="api"`},
		{"set, no principal", []rbac.Option{rbac.WithRealm("shop")}, nil, `Bearer realm="shop"`},
		{"set, forbidden", []rbac.Option{rbac.WithRealm("shop")}, roles("user"),
			`Bearer realm="shop", error="insufficient_scope", error_description="The access token lacks a required role"`},
		{"empty, no principal", []rbac.Option{rbac.WithRealm("")}, nil, `Bearer`},
		{"empty, forbidden", []rbac.Option{rbac.WithRealm("")}, roles("user"),
			`Bearer error="insufficient_scope", error_description="The access token lacks a required role"`},
		{"forbidden characters dropped", []rbac.Option{rbac.WithRealm("a\"b\\c\n")}, nil, `Bearer realm="abc"`},
		{"last option wins", []rbac.Option{rbac.WithRealm("one"), rbac.WithRealm("two")}, nil, `Bearer realm="two"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := rbac.NewPolicy(nil, nil, tc.opts...)
			if err != nil {
				t.Fatalf("NewPolicy: %v", err)
			}
			w := serve(p.RequireAny("admin"), tc.principal)
			if got := w.Header().Get("WWW-Authenticate"); got != tc.want {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestServer drives the checks through a real HTTP server, behind a
// stand-in authenticator that maps random bearer tokens to principals.
func TestServer(t *testing.T) {
	t.Parallel()
	adminToken, userToken := rand.Text(), rand.Text()
	principals := map[string]*jwtauth.Principal{
		adminToken: {Subject: "alice", Roles: []string{"admin"}, Scopes: []string{"read"}},
		userToken:  {Subject: "bob", Roles: []string{"user"}, Scopes: []string{"read"}},
	}
	authenticate := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if p := principals[tok]; found && p != nil {
				r = r.WithContext(jwtauth.WithPrincipal(r.Context(), p))
			}
			next.ServeHTTP(w, r)
		})
	}
	mux := http.NewServeMux()
	mux.Handle("GET /admin", authenticate(rbac.Require("admin")(ok)))
	mux.Handle("GET /read", authenticate(rbac.RequireAllScopes("read")(ok)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	tests := []struct {
		name, path, token string
		want              want
	}{
		{"admin on admin route", "/admin", adminToken, allowed},
		{"user on admin route", "/admin", userToken, noRole},
		{"anonymous on admin route", "/admin", "", noPrincipal},
		{"unknown token on admin route", "/admin", rand.Text(), noPrincipal},
		{"user on read route", "/read", userToken, allowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			// Several requests at once, to exercise the checks under -race.
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					resp, err := srv.Client().Do(req.Clone(req.Context()))
					if err != nil {
						t.Error(err)
						return
					}
					defer resp.Body.Close()
					body, err := io.ReadAll(resp.Body)
					if err != nil {
						t.Error(err)
						return
					}
					rec := httptest.NewRecorder()
					for k, v := range resp.Header {
						rec.Header()[k] = v
					}
					rec.WriteHeader(resp.StatusCode)
					rec.Body.Write(body)
					checkAnswer(t, rec, tc.want)
				})
			}
			wg.Wait()
		})
	}
}

// discard is a ResponseWriter that keeps nothing.
type discard struct{ h http.Header }

func (d discard) Header() http.Header       { return d.h }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

func benchmarkCheck(b *testing.B, mw func(http.Handler) http.Handler, p *jwtauth.Principal) {
	b.Helper()
	h := mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest(http.MethodGet, "/resource", nil)
	r = r.WithContext(jwtauth.WithPrincipal(r.Context(), p))
	w := &discard{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

func BenchmarkRequire(b *testing.B) {
	benchmarkCheck(b, rbac.Require("admin", "editor"), roles("user", "editor"))
}

func BenchmarkRequireAllScopes(b *testing.B) {
	benchmarkCheck(b, rbac.RequireAllScopes("read", "write"), scopes("read", "write"))
}

func BenchmarkRequireAnyScope(b *testing.B) {
	benchmarkCheck(b, rbac.RequireAnyScope("read", "write"), scopes("other", "write"))
}

func BenchmarkRequireAllPermissions(b *testing.B) {
	p, err := rbac.NewPolicy(testPermissions(), testInherits())
	if err != nil {
		b.Fatal(err)
	}
	benchmarkCheck(b, p.RequireAllPermissions("profile:read", "users:list"), roles("admin"))
}
