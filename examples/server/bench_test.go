package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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

	form := strings.NewReader(passwordForm(alice, demoPassword(b, alice)).Encode())
	req := httptest.NewRequest(http.MethodPost, "/token", form)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var tr tokenResponse
	if err := json.Unmarshal(w.Body.Bytes(), &tr); w.Code != http.StatusOK || err != nil {
		b.Fatalf("POST /token: %d %s", w.Code, w.Body)
	}

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
		req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
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
