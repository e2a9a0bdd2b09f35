// Package swaggerui serves [Swagger UI], offline, for an OpenAPI document
// that describes an authkit API: its Authorize button logs in with the
// OAuth 2.0 password flow that package openapi describes, and "Try it out"
// sends the token it gets.
//
// The files of the npm package swagger-ui-dist [SwaggerUIVersion] that the
// page needs are embedded, verbatim, with their licenses; nothing is fetched
// from the network, at build time or at run time. Each is served under a
// URL that names its version (the Swagger UI release, or a hash of the
// file for this package's own start-up script and style sheet), so
// browsers may cache it for good, and gzip-compressed, once, when a client
// first asks for it compressed.
//
// The page itself carries a strict Content-Security-Policy (see
// [ContentSecurityPolicy]): scripts, styles and connections come from the
// page's own origin only, and no script runs inline.
//
// Mount the [Handler] on a subtree, with the prefix stripped, and serve the
// document beside it:
//
//	docs, err := swaggerui.New(swaggerui.Config{SpecURL: "/openapi.json"})
//	...
//	mux.Handle("GET /docs/", http.StripPrefix("/docs", docs))
//
// [Swagger UI]: https://github.com/swagger-api/swagger-ui
package swaggerui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
)

// SwaggerUIVersion is the release of swagger-ui-dist that the package
// embeds.
const SwaggerUIVersion = "5.35.0"

// ContentSecurityPolicy is the Content-Security-Policy of the page when
// [Config.ConnectSources] is empty: everything from the page's origin, no
// inline script or style, images also as data: URLs (Swagger UI's icons),
// no frames, forms or plugins, and no framing of the page by others.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// distFiles returns the files of swagger-ui-dist that the page needs or
// that its license asks to be passed on.
func distFiles() []string {
	return []string{
		"swagger-ui-bundle.js",
		"swagger-ui.css",
		"swagger-ui-bundle.js.LICENSE.txt",
		"LICENSE",
		"NOTICE",
		"package.json",
	}
}

//go:embed dist/swagger-ui-bundle.js dist/swagger-ui.css dist/swagger-ui-bundle.js.LICENSE.txt dist/LICENSE dist/NOTICE dist/package.json
//go:embed static/init.js static/page.css
var embedded embed.FS

// Config configures [New]. SpecURL is required.
type Config struct {
	// SpecURL is the URL of the OpenAPI document the page shows: a path
	// on the page's origin, such as "/openapi.json", or a URL relative to
	// the page. Required. An absolute URL on another origin needs that
	// origin in ConnectSources.
	SpecURL string
	// Title is the page's title. Empty means "API documentation".
	Title string
	// ConnectSources are the origins, other than the page's own, that the
	// page may send requests to: "https://auth.example.com" when the token
	// endpoint or the API lives there. Each is added to the policy's
	// connect-src. Nil means the page's origin only.
	ConnectSources []string
}

// Handler serves the page at "/" and its files below it. Make it with
// [New]; it is safe for concurrent use.
type Handler struct {
	csp    string
	index  []byte
	etag   string
	assets map[string]*asset
}

// asset is one served file.
type asset struct {
	contentType string
	raw         []byte
	etag        string

	once   sync.Once
	gz     []byte
	gzETag string
}

// Paths of the files below the page, relative to it. vendorDir names the
// Swagger UI release, so a new release gets new URLs.
const vendorDir = "swagger-ui-" + SwaggerUIVersion

// page is the template of the page.
const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<link rel="stylesheet" href="{{.CSS}}">
<link rel="stylesheet" href="{{.PageCSS}}">
<script src="{{.Bundle}}" defer></script>
<script src="{{.Init}}" defer></script>
</head>
<body>
<div id="swagger-ui" data-spec-url="{{.SpecURL}}"></div>
<noscript>This page needs JavaScript. The OpenAPI document is at <a href="{{.SpecURL}}">{{.SpecURL}}</a>.</noscript>
</body>
</html>
`

// New returns a Handler for cfg. It returns an error if cfg.SpecURL is
// empty or holds white space, or a ConnectSources entry is not a source
// expression of the form scheme://host[:port].
func New(cfg Config) (*Handler, error) {
	if cfg.SpecURL == "" {
		return nil, errors.New("swaggerui: Config.SpecURL is required")
	}
	if strings.ContainsAny(cfg.SpecURL, " \t\r\n") {
		return nil, fmt.Errorf("swaggerui: Config.SpecURL %q contains white space", cfg.SpecURL)
	}
	csp := ContentSecurityPolicy
	if len(cfg.ConnectSources) > 0 {
		for _, src := range cfg.ConnectSources {
			if !validSource(src) {
				return nil, fmt.Errorf("swaggerui: Config.ConnectSources: %q is not scheme://host[:port]", src)
			}
		}
		csp = strings.Replace(csp, "connect-src 'self'", "connect-src 'self' "+strings.Join(cfg.ConnectSources, " "), 1)
	}
	title := cfg.Title
	if title == "" {
		title = "API documentation"
	}

	h := &Handler{csp: csp, assets: map[string]*asset{}}
	for _, name := range distFiles() {
		if err := h.add(vendorDir+"/"+name, "dist/"+name); err != nil {
			return nil, err
		}
	}
	own := map[string]string{}
	for _, name := range []string{"init.js", "page.css"} {
		data, err := embedded.ReadFile("static/" + name)
		if err != nil {
			return nil, fmt.Errorf("swaggerui: %w", err)
		}
		sum := sha256.Sum256(data)
		p := "authkit-" + base64.RawURLEncoding.EncodeToString(sum[:9]) + "/" + name
		if err := h.add(p, "static/"+name); err != nil {
			return nil, err
		}
		own[name] = p
	}

	tmpl, err := template.New("page").Parse(page)
	if err != nil {
		return nil, fmt.Errorf("swaggerui: page: %w", err)
	}
	var buf bytes.Buffer
	err = tmpl.Execute(&buf, struct {
		Title, SpecURL, CSS, PageCSS, Bundle, Init string
	}{title, cfg.SpecURL, vendorDir + "/swagger-ui.css", own["page.css"], vendorDir + "/swagger-ui-bundle.js", own["init.js"]})
	if err != nil {
		return nil, fmt.Errorf("swaggerui: page: %w", err)
	}
	h.index = buf.Bytes()
	h.etag = etag(h.index, "")
	return h, nil
}

// add serves the embedded file name at p.
func (h *Handler) add(p, name string) error {
	data, err := embedded.ReadFile(name)
	if err != nil {
		return fmt.Errorf("swaggerui: %w", err)
	}
	a := &asset{raw: data, etag: etag(data, "")}
	switch path.Ext(p) {
	case ".js":
		a.contentType = "text/javascript; charset=utf-8"
	case ".css":
		a.contentType = "text/css; charset=utf-8"
	case ".json":
		a.contentType = "application/json"
	default:
		a.contentType = "text/plain; charset=utf-8"
	}
	h.assets["/"+p] = a
	return nil
}

// etag returns a strong entity tag for data in the content coding coding.
func etag(data []byte, coding string) string {
	sum := sha256.Sum256(data)
	tag := base64.RawURLEncoding.EncodeToString(sum[:16])
	if coding != "" {
		tag += "-" + coding
	}
	return `"` + tag + `"`
}

// validSource reports whether src is a CSP host-source with a scheme, an
// ASCII host and an optional port, and nothing else.
func validSource(src string) bool {
	scheme, rest, ok := strings.Cut(src, "://")
	if !ok || (scheme != "https" && scheme != "http") || rest == "" {
		return false
	}
	for _, c := range []byte(rest) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == ':', c == '[', c == ']':
		default:
			return false
		}
	}
	return true
}

// ServeHTTP answers GET and HEAD: the page at "/", its files at their
// versioned paths, 404 for any other path; other methods get 405.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		jwtauth.WriteError(w, http.StatusMethodNotAllowed, "invalid_request", "Method not allowed")
		return
	}
	if r.URL.Path == "/" {
		hdr.Set("Content-Type", "text/html; charset=utf-8")
		hdr.Set("Content-Security-Policy", h.csp)
		hdr.Set("Cache-Control", "no-cache")
		hdr.Set("Referrer-Policy", "no-referrer")
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
		hdr.Set("ETag", h.etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(h.index))
		return
	}
	a, ok := h.assets[r.URL.Path]
	if !ok {
		jwtauth.WriteError(w, http.StatusNotFound, "not_found", "No such resource")
		return
	}
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	hdr.Set("Cross-Origin-Resource-Policy", "same-origin")
	body, tag := a.raw, a.etag
	hdr.Add("Vary", "Accept-Encoding")
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		if gz, gzTag := a.gzipped(); gz != nil {
			hdr.Set("Content-Encoding", "gzip")
			body, tag = gz, gzTag
		}
	}
	hdr.Set("ETag", tag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// gzipped returns the gzip encoding of a and its entity tag, compressing
// it on the first call, or nil if compression does not make it smaller.
func (a *asset) gzipped() ([]byte, string) {
	a.once.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(a.raw)
		zw.Close()
		if buf.Len() < len(a.raw) {
			a.gz = buf.Bytes()
			a.gzETag = etag(a.raw, "gzip")
		}
	})
	return a.gz, a.gzETag
}

// acceptsGzip reports whether the Accept-Encoding header values accept
// gzip: named with a non-zero quality, or covered by "*" with a non-zero
// quality and not named with quality zero.
func acceptsGzip(values []string) bool {
	star := false
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(item, ";")
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "gzip" && name != "x-gzip" && name != "*" {
				continue
			}
			q := 1.0
			for p := range strings.SplitSeq(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil {
						f = 0
					}
					q = f
				}
			}
			if name == "*" {
				star = q > 0
				continue
			}
			return q > 0
		}
	}
	return star
}
