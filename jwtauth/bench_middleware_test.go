package jwtauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/memory"
)

// BenchmarkMiddleware measures the middleware end to end through an
// httptest.ResponseRecorder with a real EdDSA token, next to Verify alone on
// the same JWT, so that the middleware's own cost is the difference of the
// two. "tokencache" is the JWT's verified-token cache; "users" adds user
// loading from the memory store through the middleware's user cache.
func BenchmarkMiddleware(b *testing.B) {
	for _, bc := range []struct {
		name      string
		cacheSize int
	}{
		{"tokencache=off", -1},
		{"tokencache=on", 0},
	} {
		j := newTestJWT(b, bc.cacheSize)
		ctx := context.Background()
		store := memory.New()
		u, err := store.CreateUser(ctx, &userstore.User{Username: "alice@example.com", PasswordHash: "$test$unused", Roles: []string{"admin"}})
		if err != nil {
			b.Fatal(err)
		}
		tok := mwIssue(b, j, jwtauth.Claims{ClientID: mwClient, Subject: u.ID, Roles: []string{"admin"}, Scope: []string{"read", "write"}})
		b.Run(bc.name+"/Verify", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := j.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := jwtauth.PrincipalFrom(r.Context()); !ok {
				w.WriteHeader(http.StatusInternalServerError)
			}
		})
		for _, mc := range []struct {
			name string
			opts []jwtauth.Option
		}{
			{"Middleware", nil},
			{"Middleware/users=cached", []jwtauth.Option{jwtauth.WithUsers(store)}},
			{"Middleware/users=uncached", []jwtauth.Option{jwtauth.WithUsers(store), jwtauth.WithUserCache(0, 0)}},
		} {
			h := jwtauth.Middleware(j, mc.opts...)(next)
			r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			b.Run(bc.name+"/"+mc.name, func(b *testing.B) {
				rec := httptest.NewRecorder()
				b.ReportAllocs()
				for b.Loop() {
					h.ServeHTTP(rec, r)
				}
				if rec.Code != http.StatusOK {
					b.Fatalf("status = %d, want 200", rec.Code)
				}
			})
		}
	}
}

// BenchmarkMiddlewareOnly measures the middleware's own cost on the success
// path: extraction, the principal and the request copy, around a stub
// verifier that returns fixed claims at once.
func BenchmarkMiddlewareOnly(b *testing.B) {
	j := newTestJWT(b, -1)
	tok := mwIssue(b, j, jwtauth.Claims{ClientID: mwClient, Subject: "alice", Roles: []string{"admin"}, Scope: []string{"read", "write"}})
	claims, err := j.Verify(context.Background(), tok)
	if err != nil {
		b.Fatal(err)
	}
	stub := verifierFunc(func(context.Context, string) (*jwtauth.Claims, error) { return claims, nil })
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := jwtauth.PrincipalFrom(r.Context()); !ok {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	h := jwtauth.Middleware(stub)(next)
	r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(rec, r)
	}
	if rec.Code != http.StatusOK {
		b.Fatalf("status = %d, want 200", rec.Code)
	}
}

// BenchmarkMiddlewareReject measures the cheapest refusals, which never
// reach the verifier, including a fresh httptest.ResponseRecorder (most of
// the allocations) per request.
func BenchmarkMiddlewareReject(b *testing.B) {
	j := newTestJWT(b, 0)
	h := jwtauth.Middleware(j)(http.NotFoundHandler())
	for _, bc := range []struct{ name, header string }{
		{"none", ""},
		{"malformed", "Bearer a b"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
		if bc.header != "" {
			r.Header.Set("Authorization", bc.header)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}
