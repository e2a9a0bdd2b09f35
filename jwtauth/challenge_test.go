package jwtauth_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/authkit-go/authkit/jwtauth"
)

func TestWriteChallenge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		realm   string
		c       jwtauth.Challenge
		status  int
		wwwAuth string // "" means no header
		body    string
	}{
		{
			name:    "no credentials",
			realm:   "api",
			c:       jwtauth.Challenge{},
			status:  401,
			wwwAuth: `Bearer realm="api"`,
			body:    `{"error_description":"Authentication required"}`,
		},
		{
			name:    "no realm",
			c:       jwtauth.Challenge{Status: 401, Code: jwtauth.CodeInvalidToken, Description: descExpiredToken},
			status:  401,
			wwwAuth: `Bearer error="invalid_token", error_description="The access token expired"`,
			body:    `{"error":"invalid_token","error_description":"The access token expired"}`,
		},
		{
			name:    "scope",
			realm:   "api",
			c:       jwtauth.Challenge{Status: 403, Code: jwtauth.CodeInsufficientScope, Description: jwtauth.DescInsufficientScope, Scope: "read write"},
			status:  403,
			wwwAuth: `Bearer realm="api", error="insufficient_scope", error_description="The access token lacks a required scope", scope="read write"`,
			body:    `{"error":"insufficient_scope","error_description":"The access token lacks a required scope"}`,
		},
		{
			name:    "zero status is 401",
			realm:   "api",
			c:       jwtauth.Challenge{Code: jwtauth.CodeInvalidToken},
			status:  401,
			wwwAuth: `Bearer realm="api", error="invalid_token"`,
			body:    `{"error":"invalid_token"}`,
		},
		{
			name:    "forbidden characters dropped",
			realm:   "a\"p\\i\n",
			c:       jwtauth.Challenge{Status: 400, Code: jwtauth.CodeInvalidRequest, Description: "bad \"x\"\r\n\\é"},
			status:  400,
			wwwAuth: `Bearer realm="api", error="invalid_request", error_description="bad x"`,
			body:    `{"error":"invalid_request","error_description":"bad x"}`,
		},
		{
			name:   "server error has no challenge",
			realm:  "api",
			c:      jwtauth.Challenge{Status: 503, Code: jwtauth.CodeTemporarilyUnavailable, Description: descUnavailable},
			status: 503,
			body:   `{"error":"temporarily_unavailable","error_description":"The service is temporarily unavailable"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			rec.Header().Set("WWW-Authenticate", "stale")
			jwtauth.WriteChallenge(rec, tc.realm, tc.c)
			if rec.Code != tc.status {
				t.Errorf("status = %d, want %d", rec.Code, tc.status)
			}
			var want []string
			if tc.wwwAuth != "" {
				want = []string{tc.wwwAuth}
			}
			if got := rec.Header().Values("WWW-Authenticate"); len(got) != len(want) || (len(want) == 1 && got[0] != want[0]) {
				t.Errorf("WWW-Authenticate = %q, want %q", got, want)
			}
			for k, v := range map[string]string{"Cache-Control": "no-store", "Content-Type": "application/json"} {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if got := rec.Body.String(); got != tc.body+"\n" {
				t.Errorf("body = %q, want %q", got, tc.body+"\n")
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		code   string
		desc   string
		body   string
	}{
		{"both", 400, "invalid_request", "Missing parameter", `{"error":"invalid_request","error_description":"Missing parameter"}`},
		{"code only", 500, "server_error", "", `{"error":"server_error"}`},
		{"description only", 401, "", "Authentication required", `{"error_description":"Authentication required"}`},
		{"neither", 404, "", "", `{}`},
		{"characters that would need escaping are dropped", 400, "bad\"code\n", "a\\b \"c\"\x00\u2028", `{"error":"badcode","error_description":"ab c"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			rec.Header().Set("Retry-After", "3")
			jwtauth.WriteError(rec, tc.status, tc.code, tc.desc)
			if rec.Code != tc.status {
				t.Errorf("status = %d, want %d", rec.Code, tc.status)
			}
			for k, v := range map[string]string{"Cache-Control": "no-store", "Content-Type": "application/json", "Retry-After": "3"} {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if got := rec.Body.String(); got != tc.body+"\n" {
				t.Errorf("body = %q, want %q", got, tc.body+"\n")
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Errorf("body %q is not JSON", rec.Body)
			}
		})
	}
}
