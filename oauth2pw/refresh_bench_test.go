package oauth2pw

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
)

// BenchmarkRefresh measures one refresh through the handler (form
// parsing, two store reads, the user lookup, the rotation, the access
// token's signature, the JSON answer) next to its floor: issuing an
// access token plus one store write, on the same memory stores. The goal
// is a ratio of at most 1.3.
func BenchmarkRefresh(b *testing.B) {
	re := newRefreshEnv(b, func(e *env, c *Config) {
		c.Refresh.AbsoluteLifetime, c.Refresh.IdleLifetime = 1000*time.Hour, 10*time.Hour
	})
	rt := re.loginRT(b, re.bob).RefreshToken
	b.Run("endpoint", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader("grant_type=refresh_token&refresh_token="+rt))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			re.h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("status = %d; body %s", w.Code, w.Body)
			}
			var body refreshBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				b.Fatal(err)
			}
			rt = body.RefreshToken
			re.clock.Advance(3 * time.Second) // past the grace window, before the idle lifetime
		}
	})
	b.Run("issue+write", func(b *testing.B) {
		b.ReportAllocs()
		ctx := context.Background()
		now := time.Now()
		for b.Loop() {
			c := jwtauth.Claims{Subject: re.bob.ID, ClientID: defaultClientID, Roles: re.bob.Roles}
			setSessionClaim(&c, "session-id-0123456789ABCDEF")
			if _, err := re.tokens.Issue(ctx, c); err != nil {
				b.Fatal(err)
			}
			if err := re.sessions.DenyAccessToken(ctx, rand.Text(), now.Add(time.Hour)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
