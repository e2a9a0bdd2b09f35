package jwtauth

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

var benchAlgs = []Algorithm{HS256, ES256, EdDSA}

func benchClaims() Claims {
	return Claims{Subject: "user-1234", ClientID: "web", Scope: []string{"read", "write"}, Roles: []string{"admin", "user"}}
}

func BenchmarkIssue(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(string(alg), func(b *testing.B) {
			e := newTestEnv(b, alg, -1)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.jwt.Issue(ctx, benchClaims()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeClaims measures the claims writer alone, with the claims
// Issue signs in BenchmarkIssue and with two custom claims.
func BenchmarkEncodeClaims(b *testing.B) {
	c := benchClaims()
	c.Issuer, c.Audience, c.ID = testIssuer, []string{testAudience}, "Q5ZGNLZ7C3PAMFSGLYVYOQUJZU"
	c.IssuedAt, c.ExpiresAt = testT0, testT0.Add(defaultTTL)
	extra := c
	extra.Extra = map[string]json.RawMessage{"tenant": json.RawMessage(`{"id":7}`), "name": json.RawMessage(`"Alice"`)}
	for _, bc := range []struct {
		name string
		c    Claims
	}{{"registered", c}, {"extra", extra}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeClaims(&bc.c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify measures Verify without the cache, with the cache, and
// jwx's jwt.Parse on the same token with the same key as the reference.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range benchAlgs {
		uncached := newTestEnv(b, alg, -1)
		raw := uncached.issue(b, benchClaims())
		ctx := context.Background()
		b.Run(string(alg)+"/uncached", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := uncached.jwt.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(alg)+"/cached", func(b *testing.B) {
			j, err := New(Config{Keys: uncached.keys, Issuer: testIssuer, Audience: []string{testAudience}, Now: uncached.clock.Now})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := j.Verify(ctx, raw); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := j.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(alg)+"/jwx-jwt.Parse", func(b *testing.B) {
			k := uncached.key
			var key any = k.pub
			if k.secret != nil {
				key = k.secret
			}
			opts := []jwt.ParseOption{jwt.WithKey(jwa.SignatureAlgorithm(alg), key), jwt.WithClock(jwt.ClockFunc(uncached.clock.Now))}
			if _, err := jwt.Parse([]byte(raw), opts...); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := jwt.Parse([]byte(raw), opts...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyRejectGarbage measures the cost of refusing a malformed
// token, which happens before any decoding.
func BenchmarkVerifyRejectGarbage(b *testing.B) {
	e := newTestEnv(b, EdDSA, 0)
	ctx := context.Background()
	raw := "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.=="
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.jwt.Verify(ctx, raw); err == nil {
			b.Fatal("accepted garbage")
		}
	}
}
