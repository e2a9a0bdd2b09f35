package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authkit-go/authkit/jwtauth"
)

// FuzzRoutes sends arbitrary methods, paths, Authorization headers and
// bodies through the whole API. No input may crash a handler or get a
// server error, and every error answer but those of Swagger UI's files is
// JSON.
func FuzzRoutes(f *testing.F) {
	cfg := testConfig(f)
	cfg.throttle = false
	a := newTestApp(f, cfg)
	h := a.routes()
	tok, err := a.tokens.Issue(f.Context(), jwtauth.Claims{Subject: "1", ClientID: clientID})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("GET", "/api/me", "Bearer "+tok.Raw, "")
	f.Add("GET", "/api/admin/users?access_token="+tok.Raw, "", "")
	f.Add("GET", "/api/protected", "Bearer "+tok.Raw[:len(tok.Raw)-3]+"AAA", "")
	f.Add("GET", "/api/me", "Basic YWxpY2U6cGFzc3dvcmQxMjM=", "")
	f.Add("GET", "/api/me", "Bearer  a b", "")
	f.Add("POST", "/token", "", "grant_type=password&username=alice%40example.com&password=password123")
	f.Add("POST", "/token", "Basic Og==", "grant_type=password&username=&password=&scope=%00")
	f.Add("DELETE", "/.well-known/jwks.json", "", "")
	f.Add("GET", "/healthz", "", "")
	f.Add("POST", "/token", "", "grant_type=refresh_token&refresh_token=AAAA")
	f.Add("POST", "/revoke", "", "token="+tok.Raw)
	f.Add("POST", "/revoke", "Basic cmVzb3VyY2Utc2VydmVyOng=", "token=x&token_type_hint=refresh_token")
	f.Add("POST", "/introspect", "Basic Og==", "token="+tok.Raw)
	f.Add("POST", "/api/logout?everywhere=maybe", "Bearer "+tok.Raw, "")
	f.Add("POST", "/api/logout", "Bearer "+tok.Raw, "everywhere=true&everywhere=false")
	f.Add("GET", "/.well-known/oauth-authorization-server", "", "")
	f.Add("GET", "/docs/nothing.js", "", "")
	f.Add("GET", "/openapi.json", "", "")
	f.Fuzz(func(t *testing.T, method, path, auth, body string) {
		req, err := http.NewRequest(method, "http://example.com/", strings.NewReader(body))
		if err != nil {
			return
		}
		if req.URL, err = req.URL.Parse(path); err != nil || req.URL.Host != "example.com" {
			return
		}
		req.RequestURI = req.URL.RequestURI()
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s: status %d", method, path, w.Code)
		}
		ct := w.Header().Get("Content-Type")
		if w.Code >= 400 && !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: %d with Content-Type %q, want JSON", method, path, w.Code, ct)
		}
	})
}
