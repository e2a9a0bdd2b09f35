package oauth2pw

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authkit-go/authkit/jwtauth"
)

// FuzzHandler sends arbitrary bodies, content types, Authorization
// headers and query strings to the endpoint. Property: no panic, a status from the error
// table, the cache headers, and a JSON body with an "error" member on
// every error.
func FuzzHandler(f *testing.F) {
	e := newEnv(f, func(e *env, c *Config) {
		c.Clients = []Client{{ID: "web"}, {ID: "app", Secret: "0123456789abcdef0123"}}
		c.MaxBodyBytes = 1024
	})
	form := "application/x-www-form-urlencoded"
	f.Add(form, "", login(e.alice.Username, e.alice.password).Encode(), "")
	f.Add(form, "", login(e.bob.Username, "wrong", "scope", "user admin").Encode(), "")
	f.Add(form, basic("app", "0123456789abcdef0123"), login(e.bob.Username, e.bob.password).Encode(), "")
	f.Add(form+"; charset=utf-8", "Basic Og==", "grant_type=password&grant_type=password", "")
	f.Add(form, "Basic Og==", login(e.bob.Username, e.bob.password, "client_id", "authkit").Encode(), "x=1")
	f.Add(form, "", "grant_type=password&username=%zz&password=;", "pass%77ord=%zz")
	f.Add(form, "", "grant_type=password&username=a%0D%0A&password=b%C2%85", "")
	f.Add(form, "", "grant_type=password&username=a&password=b&client_id=web&scope=%22", "")
	f.Add(form, "", "grant_type=password&username=a&password=b&client_secret=x", "refresh_token")
	f.Add("application/json", "", `{"grant_type":"password"}`, "")
	f.Add(form, "Bearer x", strings.Repeat("a=b&", 300), "")
	allowed := map[int]bool{200: true, 400: true, 401: true, 413: true, 429: true}
	f.Fuzz(func(t *testing.T, contentType, authz, body, query string) {
		r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		r.URL.RawQuery = query
		r.Header.Set("Content-Type", contentType)
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		w := do(e.h, r)
		if !allowed[w.Code] {
			t.Fatalf("status %d not in the table; body %s", w.Code, w.Body)
		}
		if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Pragma") != "no-cache" {
			t.Fatalf("cache headers missing: %v", w.Header())
		}
		var b map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
			t.Fatalf("body %q is not JSON: %v", w.Body, err)
		}
		if w.Code != 200 {
			if code, _ := b["error"].(string); code == "" {
				t.Fatalf("error body without error: %s", w.Body)
			}
		}
	})
}

// FuzzParseScope checks that parseScope never panics and returns only
// distinct scope-tokens.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"", "a", "a b  a", "a\tb", `"`, "\\", "\x7f", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseScope(s)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, tok := range got {
			if !jwtauth.IsScopeToken(tok) || seen[tok] {
				t.Fatalf("parseScope(%q) = %q: bad or repeated token %q", s, got, tok)
			}
			seen[tok] = true
		}
	})
}

// FuzzBasicAuth checks that basicAuth never panics and reports no
// credentials when it fails.
func FuzzBasicAuth(f *testing.F) {
	for _, s := range []string{"Basic Og==", basic("a b", "c:d"), "Basic", "basic  !!", "Bearer x", "Basic " + base64.StdEncoding.EncodeToString([]byte("a%zz:b"))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := httptest.NewRequest(http.MethodPost, "/token", nil)
		r.Header.Set("Authorization", s)
		id, secret, ok := basicAuth(r)
		if !ok && (id != "" || secret != "") {
			t.Fatalf("basicAuth(%q) = %q, %q, false", s, id, secret)
		}
	})
}
