package jwtauth

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

func TestJWKSHandlerPublishesPublicKeysOnly(t *testing.T) {
	t.Parallel()
	hs := mustKey(t, HS256)
	ed := mustKey(t, EdDSA)
	es := mustKey(t, ES384)
	rs := mustKey(t, PS256)
	ks, err := NewKeySet(hs, ed, es.Public(), rs)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ks.JWKSHandler())
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: status = %d, want 200", resp.StatusCode)
	}
	if got, want := resp.Header.Get("Content-Type"), "application/jwk-set+json"; got != want {
		t.Errorf("GET: Content-Type = %q, want %q", got, want)
	}
	if got, want := resp.Header.Get("Cache-Control"), "public, max-age=300"; got != want {
		t.Errorf("GET: Cache-Control = %q, want %q", got, want)
	}

	var doc struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("body: %v", err)
	}
	var kids []string
	for _, k := range doc.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
			if _, ok := k[private]; ok {
				t.Errorf("published key has private member %q: %s", private, body)
			}
		}
		var kid, use, alg string
		json.Unmarshal(k["kid"], &kid)
		json.Unmarshal(k["use"], &use)
		json.Unmarshal(k["alg"], &alg)
		if use != "sig" || alg == "" {
			t.Errorf("key %s: use, alg = %q, %q; want sig and non-empty", kid, use, alg)
		}
		kids = append(kids, kid)
	}
	want := []string{ed.ID(), es.ID(), rs.ID()}
	slices.Sort(want)
	if !slices.Equal(kids, want) {
		t.Errorf("published kids = %v, want %v (no HMAC key %s)", kids, want, hs.ID())
	}
	if strings.Contains(string(body), `"oct"`) {
		t.Errorf("body publishes a symmetric key: %s", body)
	}
	// The published set round-trips into verification keys.
	pub, err := ParseKeys(body)
	if err != nil || len(pub) != 3 {
		t.Fatalf("ParseKeys(published) = %v, %v", pub, err)
	}
	for _, k := range pub {
		if k.CanSign() {
			t.Errorf("published key %s can sign", k.ID())
		}
	}
	set, err := jwk.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	for i := range set.Len() {
		k, _ := set.Key(i)
		if priv, _ := jwk.IsPrivateKey(k); priv {
			t.Errorf("jwx sees key %s as private", k.KeyID())
		}
	}

	// The document follows rotation.
	next := mustKey(t, ES256)
	if err := ks.Add(next); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	ks.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if !strings.Contains(rec.Body.String(), next.ID()) {
		t.Errorf("after Add: body lacks kid %s", next.ID())
	}
}

func TestJWKSHandlerMethods(t *testing.T) {
	t.Parallel()
	ks, _ := NewKeySet(mustKey(t, EdDSA))
	h := ks.JWKSHandler()
	tests := []struct {
		method    string
		status    int
		allow     string
		emptyBody bool
	}{
		{http.MethodGet, http.StatusOK, "", false},
		{http.MethodHead, http.StatusOK, "", true},
		{http.MethodPost, http.StatusMethodNotAllowed, "GET, HEAD", false},
		{http.MethodPut, http.StatusMethodNotAllowed, "GET, HEAD", false},
		{http.MethodDelete, http.StatusMethodNotAllowed, "GET, HEAD", false},
	}
	for _, tc := range tests {
		t.Run(tc.method, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, "/.well-known/jwks.json", nil))
			if rec.Code != tc.status {
				t.Errorf("%s: status = %d, want %d", tc.method, rec.Code, tc.status)
			}
			if got := rec.Header().Get("Allow"); got != tc.allow {
				t.Errorf("%s: Allow = %q, want %q", tc.method, got, tc.allow)
			}
			if tc.emptyBody && rec.Body.Len() != 0 {
				t.Errorf("%s: body = %q, want empty", tc.method, rec.Body)
			}
			if tc.status == http.StatusMethodNotAllowed {
				checkJWKSError(t, rec, CodeInvalidRequest)
			}
		})
	}
}

func TestJWKSHandlerZeroKeySet(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	(&KeySet{}).JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("zero KeySet: status = %d, want %d", rec.Code, http.StatusInternalServerError)
	}
	checkJWKSError(t, rec, "server_error")
}

// checkJWKSError checks that rec holds a JSON error body with code.
func checkJWKSError(t *testing.T, rec *httptest.ResponseRecorder, code string) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q, want application/json", ct)
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body %q is not JSON: %v", rec.Body, err)
	}
	if body.Error != code || body.Description == "" {
		t.Errorf("error body = %+v, want error %q and a description", body, code)
	}
}

// TestJWKSHandlerWarnsWithoutPublishableKey: a set of HMAC keys only has
// nothing to publish; the handler says so once, when it is made.
func TestJWKSHandlerWarnsWithoutPublishableKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		keys []*Key
		warn bool
	}{
		{"HMAC only", []*Key{mustKey(t, HS256), mustKey(t, HS512)}, true},
		{"HMAC and Ed25519", []*Key{mustKey(t, HS256), mustKey(t, EdDSA)}, false},
		{"Ed25519", []*Key{mustKey(t, EdDSA)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ks, err := NewKeySet(tc.keys[0], tc.keys[1:]...)
			if err != nil {
				t.Fatal(err)
			}
			logger, logs := newTestLogger()
			h := ks.JWKSHandler(WithLogger(logger), nil)
			for range 3 {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
				if rec.Code != http.StatusOK {
					t.Errorf("GET: status = %d, want 200", rec.Code)
				}
			}
			got := logs.String()
			if n := strings.Count(got, "level=WARN"); tc.warn && (n != 1 || !strings.Contains(got, "publishes no key") || !strings.Contains(got, tc.keys[0].ID())) {
				t.Errorf("log %q: want one warning naming %s", got, tc.keys[0].ID())
			} else if !tc.warn && got != "" {
				t.Errorf("log %q, want nothing", got)
			}
		})
	}
	// Without a logger nothing is written anywhere, and nothing fails.
	ks, _ := NewKeySet(mustKey(t, HS256))
	rec := httptest.NewRecorder()
	ks.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if got, want := rec.Body.String(), `{"keys":[]}`; rec.Code != http.StatusOK || got != want {
		t.Errorf("GET (HMAC only): %d %q, want 200 %q", rec.Code, got, want)
	}
}
