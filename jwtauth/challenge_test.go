package jwtauth_test

import (
	"net/http/httptest"
	"testing"

	"github.com/authkit-go/authkit/jwtauth"
)

func TestDescriptionsNeedNoEscaping(t *testing.T) {
	t.Parallel()
	for _, d := range []string{
		jwtauth.DescAuthRequired, jwtauth.DescMalformedCredential, jwtauth.DescMultipleCredentials,
		jwtauth.DescInvalidToken, jwtauth.DescExpiredToken, jwtauth.DescRevokedToken,
		jwtauth.DescInsufficientRole, jwtauth.DescInsufficientScope, jwtauth.DescUnavailable,
	} {
		if d == "" {
			t.Errorf("empty description")
		}
		for i := 0; i < len(d); i++ {
			// RFC 6750 §3: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E )
			if c := d[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
				t.Errorf("description %q: byte %q not allowed by RFC 6750 §3", d, c)
			}
		}
	}
}

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
			c:       jwtauth.NoCredentials(),
			status:  401,
			wwwAuth: `Bearer realm="api"`,
			body:    `{"error_description":"Authentication required"}`,
		},
		{
			name:    "no realm",
			c:       jwtauth.Challenge{Status: 401, Code: jwtauth.CodeInvalidToken, Description: jwtauth.DescExpiredToken},
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
			c:      jwtauth.Challenge{Status: 503, Code: jwtauth.CodeTemporarilyUnavailable, Description: jwtauth.DescUnavailable},
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
