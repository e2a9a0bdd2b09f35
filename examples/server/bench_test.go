package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit/userstore"
)

// BenchmarkRoutes measures a full authenticated request through
// /api/protected (Bearer parsing, token verification, user lookup, handler,
// JSON) against the unauthenticated /healthz baseline, through the same
// routes. The protected sub-benchmark reports its cost as a multiple of
// /healthz's ("x-healthz"), when both run.
//
//	go test -run '^$' -bench Routes -benchtime 2000x ./examples/server
func BenchmarkRoutes(b *testing.B) {
	h := newTestApp(b, testConfig(b)).routes()
	token := benchLogin(b, h)

	var healthzNs float64
	b.Run("healthz", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("GET /healthz: status = %d, want 200", w.Code)
			}
		}
		healthzNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("protected", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodGet, "/api/protected", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("GET /api/protected: status = %d, want 200", w.Code)
			}
		}
		if healthzNs > 0 {
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(ns/healthzNs, "x-healthz")
		}
	})
}

// benchStores are the databases the store benchmarks compare, memory
// first: each -db the server accepts.
var benchStores = []struct {
	name string
	cfg  func(b *testing.B, cfg *appConfig)
}{
	{"memory", func(b *testing.B, cfg *appConfig) { cfg.db = memoryDB }},
	{"sqlite", func(b *testing.B, cfg *appConfig) { cfg.db = filepath.Join(b.TempDir(), "authkit.db") }},
	{"postgres", func(b *testing.B, cfg *appConfig) {
		cfg.db = newPostgresDB(b)
		cfg.keyFile = writeEd25519PEM(b)
	}},
}

// benchLogin logs alice in through h and returns the access token.
func benchLogin(b *testing.B, h http.Handler) string {
	b.Helper()
	form := strings.NewReader(passwordForm(alice, demoPassword(b, alice)).Encode())
	req := httptest.NewRequest(http.MethodPost, "/token", form)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var tr tokenResponse
	if err := json.Unmarshal(w.Body.Bytes(), &tr); w.Code != http.StatusOK || err != nil {
		b.Fatalf("POST /token: %d %s", w.Code, w.Body)
	}
	return tr.AccessToken
}

// BenchmarkProtected measures GET /api/protected, which loads the token's
// user on every request, with each store, with the user cache (its
// default TTL, one second) and without (-user-cache 0, the server's
// default). Each store's sub-benchmark reports its speed relative to the
// memory store's under the same cache setting ("speed-vs-memory", the
// ratio of requests per second; the goal with the cache is at least 0.9).
// PostgreSQL runs when AUTHKIT_TEST_POSTGRES is set.
//
//	go test -run '^$' -bench Protected -benchmem -benchtime 200ms ./examples/server
func BenchmarkProtected(b *testing.B) {
	for _, cache := range []struct {
		name string
		ttl  time.Duration
	}{{"cache", time.Second}, {"nocache", 0}} {
		b.Run(cache.name, func(b *testing.B) {
			var memoryNs float64
			for _, s := range benchStores {
				b.Run(s.name, func(b *testing.B) {
					cfg := testConfig(b)
					cfg.userCache = cache.ttl
					s.cfg(b, &cfg)
					a := newClosedApp(b, cfg)
					h := a.routes()
					req := httptest.NewRequest(http.MethodGet, "/api/protected", nil)
					req.Header.Set("Authorization", "Bearer "+benchLogin(b, h))
					b.ReportAllocs()
					for b.Loop() {
						w := httptest.NewRecorder()
						h.ServeHTTP(w, req)
						if w.Code != http.StatusOK {
							b.Fatalf("GET /api/protected: status = %d, want 200", w.Code)
						}
					}
					ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
					if s.name == "memory" {
						memoryNs = ns
					} else if memoryNs > 0 {
						b.ReportMetric(memoryNs/ns, "speed-vs-memory")
					}
				})
			}
		})
	}
}

// BenchmarkLogin measures concurrent password logins (POST /token, one
// goroutine per CPU) with throttling on, with each store: with the
// production hasher, argon2id with its default parameters, which
// dominates, and with a cheap one, which leaves the store's own cost in
// view. Each store's sub-benchmark reports the cost of a login relative to
// the memory store's under the same hasher ("cost-vs-memory"; the goal
// with argon2id is under 1.05: the store adds less than 5 %).
//
//	go test -run '^$' -bench Login -benchmem -benchtime 2s ./examples/server
func BenchmarkLogin(b *testing.B) {
	for _, hasher := range []struct {
		name  string
		cheap bool
	}{{"argon2id", false}, {"cheap", true}} {
		b.Run(hasher.name, func(b *testing.B) {
			var memoryNs float64
			for _, s := range benchStores {
				b.Run(s.name, func(b *testing.B) {
					cfg := testConfig(b)
					if !hasher.cheap {
						cfg.hasher = userstore.HasherConfig{}
					}
					s.cfg(b, &cfg)
					h := newClosedApp(b, cfg).routes()
					body := passwordForm(alice, demoPassword(b, alice)).Encode()
					b.ReportAllocs()
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
							req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
							w := httptest.NewRecorder()
							h.ServeHTTP(w, req)
							if w.Code != http.StatusOK {
								b.Errorf("POST /token: status = %d, want 200; body %s", w.Code, w.Body)
								return
							}
						}
					})
					ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
					if s.name == "memory" {
						memoryNs = ns
					} else if memoryNs > 0 {
						b.ReportMetric(ns/memoryNs, "cost-vs-memory")
					}
				})
			}
		})
	}
}
