package swaggerui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// newServer serves a Handler for /openapi.json below /docs.
func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	h, err := New(Config{SpecURL: "/openapi.json", Title: `A & B <docs>`})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/docs/", http.StripPrefix("/docs", h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// fetch sends method path with the Accept-Encoding header ae (none when
// empty), without the transport's own decompression.
func fetch(t *testing.T, srv *httptest.Server, method, path, ae string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ae != "" {
		req.Header.Set("Accept-Encoding", ae)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	// A transport that leaves Accept-Encoding and the body alone.
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestPage(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	resp, body := fetch(t, srv, http.MethodGet, "/docs/", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /docs/: status = %d, want %d", resp.StatusCode, http.StatusOK)
	}
	for name, want := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": ContentSecurityPolicy,
		"Cache-Control":           "no-cache",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("GET /docs/: %s = %q, want %q", name, got, want)
		}
	}
	page := string(body)
	for _, want := range []string{
		`<title>A &amp; B &lt;docs&gt;</title>`,
		`data-spec-url="/openapi.json"`,
		`src="swagger-ui-` + SwaggerUIVersion + `/swagger-ui-bundle.js"`,
		`href="swagger-ui-` + SwaggerUIVersion + `/swagger-ui.css"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("GET /docs/: page lacks %s:\n%s", want, page)
		}
	}
	if regexp.MustCompile(`<script>|<style|\sstyle="|\son[a-z]+="`).MatchString(page) {
		t.Errorf("GET /docs/: inline script or style in the page:\n%s", page)
	}

	resp, _ = fetch(t, srv, http.MethodGet, "/docs/", "", "If-None-Match", resp.Header.Get("ETag"))
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("GET /docs/ with If-None-Match: status = %d, want %d", resp.StatusCode, http.StatusNotModified)
	}
}

func TestConnectSources(t *testing.T) {
	t.Parallel()
	h, err := New(Config{SpecURL: "/openapi.json", ConnectSources: []string{"https://auth.example.com", "http://127.0.0.1:9000"}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if got, want := w.Header().Get("Content-Security-Policy"), "connect-src 'self' https://auth.example.com http://127.0.0.1:9000;"; !strings.Contains(got, want) {
		t.Errorf("Content-Security-Policy = %q, want it to contain %q", got, want)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no spec URL", Config{}, "SpecURL is required"},
		{"spec URL with a space", Config{SpecURL: "/open api.json"}, "white space"},
		{"source with a path", Config{SpecURL: "/o", ConnectSources: []string{"https://a.example/x"}}, "ConnectSources"},
		{"source with a quote", Config{SpecURL: "/o", ConnectSources: []string{"https://a.example'"}}, "ConnectSources"},
		{"source keyword", Config{SpecURL: "/o", ConnectSources: []string{"'unsafe-inline'"}}, "ConnectSources"},
		{"source policy break", Config{SpecURL: "/o", ConnectSources: []string{"https://a; script-src *"}}, "ConnectSources"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestAssets(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	bundle := "/docs/swagger-ui-" + SwaggerUIVersion + "/swagger-ui-bundle.js"
	_, raw := fetch(t, srv, http.MethodGet, bundle, "")
	tests := []struct {
		acceptEncoding string
		wantGzip       bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"x-gzip", true},
		{"br, gzip;q=0.5", true},
		{"gzip;q=0", false},
		{"gzip; q=0.0", false},
		{"*", true},
		{"*;q=0", false},
		{"*, gzip;q=0", false},
		{"br", false},
		{"identity", false},
		{"gzip;q=bogus", false},
	}
	for _, tc := range tests {
		t.Run(tc.acceptEncoding, func(t *testing.T) {
			t.Parallel()
			resp, body := fetch(t, srv, http.MethodGet, bundle, tc.acceptEncoding)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: status = %d, want %d", bundle, resp.StatusCode, http.StatusOK)
			}
			if got, want := resp.Header.Get("Cache-Control"), "public, max-age=31536000, immutable"; got != want {
				t.Errorf("Cache-Control = %q, want %q", got, want)
			}
			if got, want := resp.Header.Get("Vary"), "Accept-Encoding"; got != want {
				t.Errorf("Vary = %q, want %q", got, want)
			}
			if got, want := resp.Header.Get("Content-Type"), "text/javascript; charset=utf-8"; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			gotGzip := resp.Header.Get("Content-Encoding") == "gzip"
			if gotGzip != tc.wantGzip {
				t.Fatalf("Accept-Encoding %q: Content-Encoding = %q, want gzip: %v", tc.acceptEncoding, resp.Header.Get("Content-Encoding"), tc.wantGzip)
			}
			if gotGzip {
				if len(body) >= len(raw) {
					t.Errorf("gzip body: %d bytes, want fewer than %d", len(body), len(raw))
				}
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(body, raw) {
				t.Error("the body differs from the embedded file")
			}
		})
	}

	resp, _ := fetch(t, srv, http.MethodGet, bundle, "gzip")
	for _, ae := range []string{"gzip", ""} {
		again, _ := fetch(t, srv, http.MethodGet, bundle, ae, "If-None-Match", resp.Header.Get("ETag"))
		want := http.StatusOK
		if ae == "gzip" {
			want = http.StatusNotModified
		}
		if again.StatusCode != want {
			t.Errorf("If-None-Match of the gzip ETag, Accept-Encoding %q: status = %d, want %d", ae, again.StatusCode, want)
		}
	}
}

func TestEveryLinkedFileIsServed(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	_, page := fetch(t, srv, http.MethodGet, "/docs/", "")
	links := regexp.MustCompile(`(?:src|href)="([^"/][^"]*)"`).FindAllStringSubmatch(string(page), -1)
	if len(links) != 4 {
		t.Fatalf("%d linked files, want 4 (bundle, init script, two style sheets)", len(links))
	}
	for _, m := range links {
		resp, _ := fetch(t, srv, http.MethodGet, "/docs/"+m[1], "gzip")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("GET /docs/%s: status %d, Content-Encoding %q; want 200 gzip", m[1], resp.StatusCode, resp.Header.Get("Content-Encoding"))
		}
	}
}

func TestMethodsAndPaths(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodHead, "/docs/", http.StatusOK},
		{http.MethodPost, "/docs/", http.StatusMethodNotAllowed},
		{http.MethodPut, "/docs/swagger-ui-" + SwaggerUIVersion + "/swagger-ui.css", http.StatusMethodNotAllowed},
		{http.MethodGet, "/docs/index.html", http.StatusNotFound},
		{http.MethodGet, "/docs/swagger-ui-5.0.0/swagger-ui.css", http.StatusNotFound},
		{http.MethodGet, "/docs/swagger-ui-" + SwaggerUIVersion + "/swagger-ui-bundle.js.map", http.StatusNotFound},
		{http.MethodGet, "/docs/swagger-ui-" + SwaggerUIVersion + "/LICENSE", http.StatusOK},
		{http.MethodGet, "/docs/swagger-ui-" + SwaggerUIVersion + "/NOTICE", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			t.Parallel()
			resp, body := fetch(t, srv, tc.method, tc.path, "")
			if resp.StatusCode != tc.want {
				t.Errorf("%s %s: status = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
			}
			if tc.want == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: Allow = %q, want %q", tc.method, tc.path, resp.Header.Get("Allow"), "GET, HEAD")
			}
			if tc.want >= 400 {
				wantCode := map[int]string{http.StatusNotFound: "not_found", http.StatusMethodNotAllowed: "invalid_request"}[tc.want]
				var e struct {
					Error string `json:"error"`
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" || json.Unmarshal(body, &e) != nil || e.Error != wantCode {
					t.Errorf("%s %s: Content-Type %q, body %q; want a JSON error %q", tc.method, tc.path, ct, body, wantCode)
				}
			}
		})
	}
}

// TestEmbeddedRelease pins the embedded files to the npm release
// swagger-ui-dist@SwaggerUIVersion, byte for byte.
func TestEmbeddedRelease(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"swagger-ui-bundle.js":             "e6a898692f2d768e807c3ba4626068a69a2c5dd960dd6c76f3e4d3a3de180af2",
		"swagger-ui.css":                   "5ed08757e53da3e026d6cbecc61fe5d43585c9560b302d534ad56692519a273d",
		"swagger-ui-bundle.js.LICENSE.txt": "37eb6e7e59aed57b2c1acf076574b818ea07b74265717e0bd67b59e0baf9abbb",
		"LICENSE":                          "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30",
		"NOTICE":                           "0d20d1adef18aee3f40dd258172155521ce702ac445cb5f7b7d60ed32dad2fb2",
		"package.json":                     "3ec28e655772dce4a5853510ebdd64963b0582a633e274e036273deff361e33c",
	}
	for _, name := range distFiles() {
		data, err := embedded.ReadFile("dist/" + name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != want[name] {
			t.Errorf("dist/%s: sha256 %s, want %s", name, got, want[name])
		}
	}
	data, err := embedded.ReadFile("dist/package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Name, Version string }
	if err := json.Unmarshal(data, &pkg); err != nil {
		t.Fatal(err)
	}
	if pkg.Name != "swagger-ui-dist" || pkg.Version != SwaggerUIVersion {
		t.Errorf("package.json: %s %s, want swagger-ui-dist %s", pkg.Name, pkg.Version, SwaggerUIVersion)
	}
}
