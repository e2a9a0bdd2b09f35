package jwtauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// denyFunc is a Denylist with a function field that counts its calls.
type denyFunc struct {
	denied func(jti string) (bool, error)
	calls  atomic.Int64
}

func (d *denyFunc) Denied(_ context.Context, jti string) (bool, error) {
	d.calls.Add(1)
	return d.denied(jti)
}

func TestMiddlewareDenylist(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, EdDSA, 0)
	denied := e.issue(t, Claims{Subject: "alice", ClientID: "web", ID: "revoked-jti"})
	good := e.issue(t, Claims{Subject: "alice", ClientID: "web", ID: "good-jti"})
	failing := e.issue(t, Claims{Subject: "alice", ClientID: "web", ID: "failing-jti"})
	d := &denyFunc{denied: func(jti string) (bool, error) {
		switch jti {
		case "revoked-jti":
			return true, nil
		case "failing-jti":
			return false, errors.New("database down")
		}
		return false, nil
	}}
	h := Middleware(e.jwt, WithDenylist(d))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	tests := []struct {
		name      string
		token     string
		status    int
		challenge string // substring of WWW-Authenticate; "" for none
	}{
		{"good token", good, http.StatusNoContent, ""},
		{"denied token", denied, http.StatusUnauthorized, `error="invalid_token", error_description="The access token is no longer valid"`},
		{"denylist failure", failing, http.StatusServiceUnavailable, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/api", nil)
			r.Header.Set("Authorization", "Bearer "+tc.token)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("GET /api: status = %d, want %d; body %s", w.Code, tc.status, w.Body)
			}
			got := w.Header().Get("WWW-Authenticate")
			if tc.challenge != "" && !strings.Contains(got, tc.challenge) {
				t.Errorf("GET /api: WWW-Authenticate = %q, want it to contain %q", got, tc.challenge)
			}
			if tc.challenge == "" && got != "" {
				t.Errorf("GET /api: WWW-Authenticate = %q, want none", got)
			}
			if tc.status == http.StatusServiceUnavailable && !strings.Contains(w.Body.String(), CodeTemporarilyUnavailable) {
				t.Errorf("GET /api: body %s, want %s", w.Body, CodeTemporarilyUnavailable)
			}
		})
	}
	if got := d.calls.Load(); got != int64(len(tests)) {
		t.Errorf("Denied calls = %d, want %d (one per request)", got, len(tests))
	}

	// A nil denylist turns the check off.
	h = Middleware(e.jwt, WithDenylist(nil))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := httptest.NewRequest(http.MethodGet, "/api", nil)
	r.Header.Set("Authorization", "Bearer "+denied)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Errorf("GET /api with WithDenylist(nil): status = %d, want 200", w.Code)
	}
}
