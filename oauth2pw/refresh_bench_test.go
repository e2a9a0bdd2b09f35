package oauth2pw

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
)

// BenchmarkRefresh measures one refresh through the handler (form
// parsing, the token and family reads, the user lookup, the rotation and
// its seal, the access token's signature, the JSON answer) next to two
// floors, alternating the three in every iteration and timing each, so
// that load on the machine weighs on all alike:
//
//   - login: a password login through a handler configured the same way,
//     over a hasher that costs nothing: the endpoint's machinery (the
//     same request, form parsing, user lookup, JSON answer, read the
//     same way), the access token's signature and one store write, the
//     new family;
//   - issue+write: issuing an access token with the same claims and one
//     denylist write, called directly, with no HTTP around them.
//
// Each handler has its own memory stores; the refresh side's clock moves
// 3 seconds a refresh, so that its pruning runs as time passes. It
// reports each side's mean time and the ratios refresh/login and
// refresh/issue+write; the goal is a refresh/login ratio of at most 1.3.
// ns/op is the sum of the three sides.
//
//	go test -run '^$' -bench Refresh -benchtime 200ms -count 3 ./oauth2pw
func BenchmarkRefresh(b *testing.B) {
	lifetimes := func(e *env, c *Config) {
		c.Hasher = freeHasher{}
		c.Refresh.AbsoluteLifetime, c.Refresh.IdleLifetime = 1000*time.Hour, 10*time.Hour
	}
	re, le := newRefreshEnv(b, lifetimes), newRefreshEnv(b, lifetimes)
	for _, e := range []*refreshEnv{re, le} {
		if err := e.store.SetPasswordHash(context.Background(), e.bob.ID, "$free$"+e.bob.password); err != nil {
			b.Fatal(err)
		}
		e.clock.Advance(time.Minute) // past the TokensValidAfter the new hash set
	}
	loginBody := login(le.bob.Username, le.bob.password).Encode()
	// serve posts body to h the way each side does, and returns the
	// answer's refresh token. The request and the writer are as light as
	// they can be, so that the figures are the handler's.
	tokenURL := &url.URL{Path: "/token"}
	formHeader := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	w := &benchWriter{header: http.Header{}}
	serve := func(h http.Handler, body string) string {
		r := &http.Request{
			Method: http.MethodPost, URL: tokenURL, Header: formHeader, RemoteAddr: "192.0.2.1:4711",
			Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
		}
		w.reset()
		h.ServeHTTP(w, r)
		_, rest, _ := strings.Cut(w.body.String(), `"refresh_token":"`)
		rt, _, ok := strings.Cut(rest, `"`)
		if w.code != http.StatusOK || !ok || rt == "" {
			b.Fatalf("POST /token: status = %d, want 200 with a refresh_token; body %s", w.code, w.body.String())
		}
		return rt
	}
	rt := serve(re.h, login(re.bob.Username, re.bob.password).Encode())
	ctx := context.Background()
	var refresh, loginT, issue time.Duration
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		body := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}.Encode()
		t0 := time.Now()
		rt = serve(re.h, body)
		t1 := time.Now()
		serve(le.h, loginBody)
		t2 := time.Now()
		c := jwtauth.Claims{Subject: re.bob.ID, ClientID: defaultClientID, Roles: re.bob.Roles}
		setSessionClaim(&c, "session-id-0123456789ABCDEF")
		tok, err := re.tokens.Issue(ctx, c)
		if err != nil {
			b.Fatal(err)
		}
		if err := re.sessions.DenyAccessToken(ctx, rand.Text(), tok.Claims.ExpiresAt); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		refresh += t1.Sub(t0)
		loginT += t2.Sub(t1)
		issue += t3.Sub(t2)
		n++
		re.clock.Advance(3 * time.Second) // past the grace window, well within the idle lifetime
	}
	b.ReportMetric(float64(refresh.Nanoseconds())/float64(n), "refresh-ns")
	b.ReportMetric(float64(loginT.Nanoseconds())/float64(n), "login-ns")
	b.ReportMetric(float64(issue.Nanoseconds())/float64(n), "issue+write-ns")
	b.ReportMetric(float64(refresh)/float64(loginT), "refresh/login")
	b.ReportMetric(float64(refresh)/float64(issue), "refresh/issue+write")
}

// benchWriter is a reusable http.ResponseWriter that keeps the status
// and the body.
type benchWriter struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (w *benchWriter) reset() {
	clear(w.header)
	w.code = 0
	w.body.Reset()
}

func (w *benchWriter) Header() http.Header { return w.header }

func (w *benchWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}
