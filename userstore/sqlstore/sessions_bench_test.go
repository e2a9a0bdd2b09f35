package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/oauth2pw"
	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/memory"
)

// BenchmarkRefresh measures one refresh through the token endpoint (form
// parsing, the token and family reads, the user lookup, the rotation, the
// access token's signature, the JSON answer) next to its floor, issuing an
// access token plus one store write, on the memory stores (for
// reference), SQLite and PostgreSQL (skipped without a DSN). The write of
// issue+write is a denylist upsert, as in oauth2pw's BenchmarkRefresh;
// that of issue+rotate is the refresh's own write, a rotation, in a
// family of its own. The three sides alternate in every iteration and
// each is timed, so that load on the machine (and the disk's flushes)
// weighs on all alike. It reports each side's mean time and the ratio
// refresh/issue+write, whose goal is at most 1.3 per store; ns/op is the
// sum of the three sides.
//
//	go test -run '^$' -bench Refresh -benchtime 300ms -count 6 ./userstore/sqlstore
func BenchmarkRefresh(b *testing.B) {
	type stores struct {
		users    userstore.Manager
		sessions oauth2pw.RefreshStore
	}
	for _, st := range []struct {
		name string
		open func(b *testing.B, now func() time.Time) stores
	}{
		{"memory", func(b *testing.B, now func() time.Time) stores {
			return stores{memory.New(), memory.NewSessions(now)}
		}},
		{"sqlite", func(b *testing.B, _ func() time.Time) stores {
			s, _ := newStore(b, backends[0])
			return stores{s, s}
		}},
		{"postgres", func(b *testing.B, _ func() time.Time) stores {
			s, _ := newStore(b, backends[1])
			return stores{s, s}
		}},
	} {
		b.Run(st.name, func(b *testing.B) {
			clock := newTestClock()
			s := st.open(b, clock.now)
			a, err := userstore.NewInsecureArgon2id(userstore.Argon2idParams{Memory: 64, Time: 1, Threads: 1})
			if err != nil {
				b.Fatal(err)
			}
			hasher, err := userstore.NewHasher(userstore.HasherConfig{Preferred: a})
			if err != nil {
				b.Fatal(err)
			}
			password := rand.Text()
			hash, err := hasher.Hash(password)
			if err != nil {
				b.Fatal(err)
			}
			u, err := s.users.CreateUser(b.Context(), &userstore.User{Username: "bob@example.com", PasswordHash: hash, Roles: []string{"user"}})
			if err != nil {
				b.Fatal(err)
			}
			k, err := jwtauth.GenerateKey(jwtauth.EdDSA)
			if err != nil {
				b.Fatal(err)
			}
			ks, err := jwtauth.NewKeySet(k)
			if err != nil {
				b.Fatal(err)
			}
			tokens, err := jwtauth.New(jwtauth.Config{Keys: ks, Issuer: "https://auth.example.test", Audience: []string{"https://api.example.test"}})
			if err != nil {
				b.Fatal(err)
			}
			h, err := oauth2pw.NewHandler(oauth2pw.Config{
				Users: s.users, Hasher: hasher, Tokens: tokens, Now: clock.now, InsecureNoThrottle: true,
				Refresh: oauth2pw.RefreshConfig{Store: s.sessions, AbsoluteLifetime: 1000 * time.Hour, IdleLifetime: 10 * time.Hour},
			})
			if err != nil {
				b.Fatal(err)
			}
			// post sends form to the endpoint and returns the answer's
			// refresh token. The request is built by hand and the token cut
			// out of the body, so that the figures are the handler's, not
			// those of httptest.NewRequest or a JSON decoder.
			tokenURL := &url.URL{Path: "/token"}
			formHeader := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
			post := func(form string) string {
				r := &http.Request{
					Method: http.MethodPost, URL: tokenURL, Header: formHeader, RemoteAddr: "192.0.2.1:4711",
					Body: io.NopCloser(strings.NewReader(form)), ContentLength: int64(len(form)),
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				_, rest, _ := strings.Cut(w.Body.String(), `"refresh_token":"`)
				rt, _, ok := strings.Cut(rest, `"`)
				if w.Code != http.StatusOK || !ok || rt == "" {
					b.Fatalf("POST /token: status = %d, want 200 with a refresh_token; body %s", w.Code, w.Body)
				}
				return rt
			}
			rt := post(url.Values{"grant_type": {"password"}, "username": {u.Username}, "password": {password}}.Encode())

			ctx := context.Background()
			sid, _ := json.Marshal("session-id-0123456789ABCDEF")
			claims := func() jwtauth.Claims {
				return jwtauth.Claims{Subject: u.ID, ClientID: "default", Roles: u.Roles, Extra: map[string]json.RawMessage{"sid": sid}}
			}
			far := clock.now().Add(1000 * time.Hour)
			old := tokenDigest()
			if err := s.sessions.CreateRefreshFamily(ctx, rand.Text(), u.ID, "default", nil, clock.now(), far, old, far); err != nil {
				b.Fatal(err)
			}
			sealed := make([]byte, 40) // the size of a sealed successor
			var refresh, write, rotate time.Duration
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				rt = post("grant_type=refresh_token&refresh_token=" + url.QueryEscape(rt))
				t1 := time.Now()
				tok, err := tokens.Issue(ctx, claims())
				if err != nil {
					b.Fatal(err)
				}
				if err := s.sessions.DenyAccessToken(ctx, rand.Text(), tok.Claims.ExpiresAt); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				if _, err := tokens.Issue(ctx, claims()); err != nil {
					b.Fatal(err)
				}
				next := tokenDigest()
				if err := s.sessions.RotateRefreshToken(ctx, old, next, clock.now(), far, sealed); err != nil {
					b.Fatal(err)
				}
				old = next
				t3 := time.Now()
				refresh += t1.Sub(t0)
				write += t2.Sub(t1)
				rotate += t3.Sub(t2)
				n++
				clock.advance(3 * time.Second) // past the grace window, well within the idle lifetime
			}
			b.ReportMetric(float64(refresh.Nanoseconds())/float64(n), "refresh-ns")
			b.ReportMetric(float64(write.Nanoseconds())/float64(n), "issue+write-ns")
			b.ReportMetric(float64(rotate.Nanoseconds())/float64(n), "issue+rotate-ns")
			b.ReportMetric(float64(refresh)/float64(write), "refresh/issue+write")
		})
	}
}
