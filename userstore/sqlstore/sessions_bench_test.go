package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
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
// that of issue+rotate is the refresh's own write, a rotation. The goal
// is a ratio endpoint / issue+write of at most 1.3 per store.
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
			post := func(form url.Values) (body struct {
				RefreshToken string `json:"refresh_token"`
			}) {
				r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("POST /token: status = %d, want 200; body %s", w.Code, w.Body)
				}
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
					b.Fatal(err)
				}
				return body
			}
			rt := post(url.Values{"grant_type": {"password"}, "username": {u.Username}, "password": {password}}).RefreshToken

			b.Run("endpoint", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					rt = post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}).RefreshToken
					clock.advance(3 * time.Second) // past the grace window, well within the idle lifetime
				}
			})
			b.Run("issue+write", func(b *testing.B) {
				b.ReportAllocs()
				ctx := context.Background()
				sid, _ := json.Marshal("session-id-0123456789ABCDEF")
				for b.Loop() {
					c := jwtauth.Claims{Subject: u.ID, ClientID: "default", Roles: u.Roles, Extra: map[string]json.RawMessage{"sid": sid}}
					tok, err := tokens.Issue(ctx, c)
					if err != nil {
						b.Fatal(err)
					}
					if err := s.sessions.DenyAccessToken(ctx, rand.Text(), tok.Claims.ExpiresAt); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("issue+rotate", func(b *testing.B) {
				b.ReportAllocs()
				ctx := context.Background()
				sid, _ := json.Marshal("session-id-0123456789ABCDEF")
				now, far := clock.now(), clock.now().Add(1000*time.Hour)
				old := tokenDigest()
				if err := s.sessions.CreateRefreshFamily(ctx, rand.Text(), u.ID, "default", nil, now, far, old, far); err != nil {
					b.Fatal(err)
				}
				sealed := make([]byte, 40) // the size of a sealed successor
				for b.Loop() {
					c := jwtauth.Claims{Subject: u.ID, ClientID: "default", Roles: u.Roles, Extra: map[string]json.RawMessage{"sid": sid}}
					if _, err := tokens.Issue(ctx, c); err != nil {
						b.Fatal(err)
					}
					next := tokenDigest()
					now = now.Add(3 * time.Second)
					if err := s.sessions.RotateRefreshToken(ctx, old, next, now, far, sealed); err != nil {
						b.Fatal(err)
					}
					old = next
				}
			})
		})
	}
}
