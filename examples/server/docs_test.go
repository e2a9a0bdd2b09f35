package main

import (
	"compress/gzip"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/authkit-go/authkit/oauth2pw/openapi/swaggerui"
)

// newDocsServer serves the app's routes with the docs on, as -docs
// leaves them by default.
func newDocsServer(t testing.TB, cfg appConfig) (*app, *httptest.Server) {
	t.Helper()
	cfg.docs = true
	return newTestServer(t, cfg)
}

// loadSpec fetches /openapi.json from srv and validates it with kin-openapi
// as an OpenAPI 3.1 document, examples included.
func loadSpec(t *testing.T, srv *httptest.Server) *openapi3.T {
	t.Helper()
	r := get(t, srv, "/openapi.json", "")
	if r.status != http.StatusOK {
		t.Fatalf("GET /openapi.json: status = %d, want %d", r.status, http.StatusOK)
	}
	if got, want := r.header.Get("Content-Type"), "application/json"; got != want {
		t.Errorf("GET /openapi.json: Content-Type = %q, want %q", got, want)
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	spec, err := loader.LoadFromData(r.body)
	if err != nil {
		t.Fatalf("load /openapi.json: %v", err)
	}
	if !spec.IsOpenAPI31OrLater() || !strings.HasPrefix(spec.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", spec.OpenAPI)
	}
	if err := spec.Validate(t.Context(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("validate /openapi.json: %v", err)
	}
	return spec
}

func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	_, srv := newDocsServer(t, testConfig(t))
	spec := loadSpec(t, srv)

	ss := spec.Components.SecuritySchemes["OAuth2PasswordBearer"]
	if ss == nil || ss.Value.Type != "oauth2" || ss.Value.Flows == nil || ss.Value.Flows.Password == nil {
		t.Fatalf("security scheme OAuth2PasswordBearer: %+v, want oauth2 with the password flow", ss)
	}
	if got, want := ss.Value.Flows.Password.TokenURL, "/token"; got != want {
		t.Errorf("tokenUrl = %q, want %q", got, want)
	}
	if got, want := ss.Value.Flows.Password.RefreshURL, "/token"; got != want {
		t.Errorf("refreshUrl = %q, want %q", got, want)
	}

	forms := []struct {
		path   string
		fields []string
	}{
		{"/token", []string{"grant_type", "username", "password", "refresh_token", "scope"}},
		{"/revoke", []string{"token", "token_type_hint"}},
		{"/introspect", []string{"token", "token_type_hint"}},
		{"/api/logout", []string{"everywhere"}},
	}
	for _, f := range forms {
		form := spec.Paths.Find(f.path).Post.RequestBody.Value.Content.Get("application/x-www-form-urlencoded")
		for _, field := range f.fields {
			if form == nil || form.Schema.Value.Properties[field] == nil {
				t.Errorf("POST %s: the form body has no field %q", f.path, field)
			}
		}
	}
	if p := spec.Paths.Find("/api/logout").Post.Parameters.GetByInAndName("query", "everywhere"); p == nil {
		t.Errorf("POST /api/logout: no query parameter everywhere")
	}

	tests := []struct {
		method, path string
		public       bool
		roles        []string
		statuses     []int
		fields       []string // of the 200 body's schema
	}{
		{"POST", "/token", true, nil, []int{200, 400, 401, 429, 503}, []string{"access_token", "token_type", "expires_in", "refresh_token"}},
		{"POST", "/revoke", true, nil, []int{200, 400, 401, 429, 500}, nil},
		{"POST", "/introspect", true, nil, []int{200, 400, 401, 429, 500}, []string{"active", "scope", "client_id", "token_type", "exp", "sub"}},
		{"POST", "/api/logout", false, nil, []int{204, 400, 401, 500}, nil},
		{"GET", "/.well-known/oauth-authorization-server", true, nil, []int{200}, []string{"issuer", "token_endpoint", "revocation_endpoint", "introspection_endpoint", "grant_types_supported"}},
		{"GET", "/api/me", false, nil, []int{200, 400, 401}, []string{"id", "name", "email", "role", "roles"}},
		{"GET", "/api/protected", false, nil, []int{200, 400, 401}, []string{"message", "your_role", "roles"}},
		{"GET", "/api/admin/users", false, []string{"admin"}, []int{200, 400, 401, 403, 500}, []string{"users"}},
		{"GET", "/.well-known/jwks.json", true, nil, []int{200}, []string{"keys"}},
		{"GET", "/healthz", true, nil, []int{200}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			op := spec.Paths.Find(tc.path).GetOperation(tc.method)
			if op == nil {
				t.Fatalf("%s %s: not documented", tc.method, tc.path)
			}
			if op.Security == nil {
				t.Fatalf("%s %s: no security requirement", tc.method, tc.path)
			}
			if got := len(*op.Security) == 0; got != tc.public {
				t.Errorf("%s %s: public = %v, want %v", tc.method, tc.path, got, tc.public)
			}
			if !tc.public {
				if _, ok := (*op.Security)[0]["OAuth2PasswordBearer"]; !ok {
					t.Errorf("%s %s: security = %v, want OAuth2PasswordBearer", tc.method, tc.path, *op.Security)
				}
			}
			var roles []string
			if access, ok := op.Extensions["x-authkit-access"].(map[string]any); ok {
				for _, r := range access["anyRole"].([]any) {
					roles = append(roles, r.(string))
				}
			}
			if !slices.Equal(roles, tc.roles) {
				t.Errorf("%s %s: roles = %v, want %v", tc.method, tc.path, roles, tc.roles)
			}
			for _, status := range tc.statuses {
				if op.Responses.Status(status) == nil {
					t.Errorf("%s %s: %d not documented", tc.method, tc.path, status)
				}
			}
			if len(tc.fields) > 0 {
				schema := op.Responses.Status(200).Value.Content.Get("application/json")
				if schema == nil {
					schema = op.Responses.Status(200).Value.Content.Get("application/jwk-set+json")
				}
				for _, f := range tc.fields {
					if schema == nil || schema.Schema.Value.Properties[f] == nil {
						t.Errorf("%s %s: 200 body has no field %q", tc.method, tc.path, f)
					}
				}
			}
		})
	}
}

// servedPatterns returns the patterns that the package's non-test files
// register on a mux with Handle or HandleFunc, except the catch-alls
// (methodNotAllowed, notFound). It evaluates each pattern from string
// literals and the package's string constants, and fails the test on a
// pattern it cannot evaluate, so that no route escapes the check.
func servedPatterns(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var parsed []*ast.File
	consts := map[string]string{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
		for _, d := range f.Decls {
			if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.CONST {
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
								consts[n.Name], _ = strconv.Unquote(lit.Value)
							}
						}
					}
				}
			}
		}
	}
	var eval func(e ast.Expr) (string, bool)
	eval = func(e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			if e.Kind == token.STRING {
				s, err := strconv.Unquote(e.Value)
				return s, err == nil
			}
		case *ast.Ident:
			s, ok := consts[e.Name]
			return s, ok
		case *ast.BinaryExpr:
			if e.Op == token.ADD {
				x, ok1 := eval(e.X)
				y, ok2 := eval(e.Y)
				return x + y, ok1 && ok2
			}
		case *ast.ParenExpr:
			return eval(e.X)
		}
		return "", false
	}
	seen := map[string]bool{}
	var patterns []string
	for _, f := range parsed {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			if h, ok := call.Args[1].(*ast.Ident); ok && (h.Name == "methodNotAllowed" || h.Name == "notFound") {
				return true
			}
			p, ok := eval(call.Args[0])
			if !ok {
				t.Errorf("%s: a route pattern this test cannot evaluate", fset.Position(call.Pos()))
				return true
			}
			if !seen[p] {
				seen[p] = true
				patterns = append(patterns, p)
			}
			return true
		})
	}
	return patterns
}

// TestOpenAPIListsEveryRoute checks both directions: every route that the
// source registers is documented, and every documented operation is
// served.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	t.Parallel()
	_, srv := newDocsServer(t, testConfig(t))
	spec := loadSpec(t, srv)

	patterns := servedPatterns(t)
	if len(patterns) < 8 {
		t.Fatalf("found only %d route patterns in the source: %q", len(patterns), patterns)
	}
	for _, p := range patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			method, path = "", p
		}
		item := spec.Paths.Find(path)
		switch {
		case item == nil:
			t.Errorf("route %q: path %s not in /openapi.json", p, path)
		case method == "" && len(item.Operations()) == 0:
			t.Errorf("route %q: no operation documented", p)
		case method != "" && item.GetOperation(method) == nil:
			t.Errorf("route %q: %s %s not in /openapi.json", p, method, path)
		}
	}

	for path, item := range spec.Paths.Map() {
		for method := range item.Operations() {
			t.Run(method+" "+path, func(t *testing.T) {
				r := do(t, newRequest(t, method, srv.URL+path, nil))
				if r.status == http.StatusNotFound || r.status == http.StatusMethodNotAllowed {
					t.Errorf("%s %s: status = %d, want a served route", method, path, r.status)
				}
			})
		}
	}
}

// TestDocsOff checks that -docs=false serves neither the document nor the
// page, and leaves the API alone.
func TestDocsOff(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.docs = false
	a, srv := newTestServer(t, cfg)
	var banner strings.Builder
	a.printBanner(&banner, "127.0.0.1:8080", cfg.db)
	if strings.Contains(banner.String(), "/docs") {
		t.Errorf("banner with -docs=false names the docs:\n%s", banner.String())
	}
	for _, path := range []string{"/openapi.json", "/docs/", "/docs", "/docs/index.html"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			r := get(t, srv, path, "")
			if r.status != http.StatusNotFound {
				t.Fatalf("GET %s with -docs=false: status = %d, want %d", path, r.status, http.StatusNotFound)
			}
			if got, want := r.errorCode(t), "not_found"; got != want {
				t.Errorf("GET %s with -docs=false: error = %q, want %q", path, got, want)
			}
		})
	}
	if r := get(t, srv, "/healthz", ""); r.status != http.StatusOK {
		t.Errorf("GET /healthz with -docs=false: status = %d, want 200", r.status)
	}
}

func TestDocsPage(t *testing.T) {
	t.Parallel()
	_, srv := newDocsServer(t, testConfig(t))

	r := get(t, srv, "/docs", "")
	if r.status != http.StatusOK {
		t.Fatalf("GET /docs: status = %d, want %d", r.status, http.StatusOK)
	}
	if got, want := r.header.Get("Content-Security-Policy"), swaggerui.ContentSecurityPolicy; got != want {
		t.Errorf("GET /docs: Content-Security-Policy = %q, want %q", got, want)
	}
	if !strings.Contains(string(r.body), `data-spec-url="/openapi.json"`) {
		t.Errorf("GET /docs: the page does not name /openapi.json:\n%s", r.body)
	}
	assets := regexp.MustCompile(`(?:src|href)="([^"]+\.(?:js|css))"`).FindAllStringSubmatch(string(r.body), -1)
	if len(assets) != 4 {
		t.Fatalf("GET /docs: %d scripts and style sheets, want 4:\n%s", len(assets), r.body)
	}
	for _, m := range assets {
		path := "/docs/" + m[1]
		req := newRequest(t, http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		n, err := io.Copy(io.Discard, zr)
		resp.Body.Close()
		if err != nil || n == 0 {
			t.Errorf("GET %s: gunzip: %d bytes, %v", path, n, err)
		}
		if got := resp.Header.Get("Cache-Control"); !strings.Contains(got, "immutable") {
			t.Errorf("GET %s: Cache-Control = %q, want immutable", path, got)
		}
	}

	for _, method := range []string{http.MethodPost, http.MethodDelete} {
		for _, path := range []string{"/openapi.json", "/docs/"} {
			r := do(t, newRequest(t, method, srv.URL+path, nil))
			if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: status = %d, Allow = %q, want 405 and GET, HEAD", method, path, r.status, r.header.Get("Allow"))
			}
		}
	}
}
