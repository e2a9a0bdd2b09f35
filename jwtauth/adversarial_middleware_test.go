package jwtauth_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authkit-go/authkit/jwtauth"
)

// TestMiddlewareAdversarialHeaders: Authorization values an attacker or a
// sloppy client sends, and credentials combined from every pair of sources.
func TestMiddlewareAdversarialHeaders(t *testing.T) {
	t.Parallel()
	j := newTestJWT(t, 0)
	tk := newTokens(t, j)
	const aliceOK = "sub=alice roles=admin scopes=read,write user=-"
	cookieAndQuery := []jwtauth.Option{jwtauth.WithCookie("at"), jwtauth.WithInsecureQueryToken()}
	tests := []struct {
		name    string
		opts    []jwtauth.Option
		req     mwRequest
		status  int
		wwwAuth string
		code    string
		desc    string
		body    string
	}{
		{name: "trailing space", req: mwRequest{headers: []string{"Bearer " + tk.good + " "}}, status: 200, body: aliceOK},
		{name: "trailing tab", req: mwRequest{headers: []string{"Bearer " + tk.good + "\t"}}, status: 200, body: aliceOK},
		{name: "leading white space", req: mwRequest{headers: []string{" \tBearer " + tk.good}}, status: 200, body: aliceOK},
		{name: "mixed case scheme", req: mwRequest{headers: []string{"bEaReR " + tk.good}}, status: 200, body: aliceOK},
		{name: "many spaces", req: mwRequest{headers: []string{"Bearer" + strings.Repeat(" ", 100) + tk.good}}, status: 200, body: aliceOK},
		{name: "Bearer=", req: mwRequest{headers: []string{"Bearer="}}, status: 401, wwwAuth: wantNoCreds, desc: descAuthRequired},
		{name: "Bearer=token", req: mwRequest{headers: []string{"Bearer=" + tk.good}}, status: 401, wwwAuth: wantNoCreds, desc: descAuthRequired},
		{name: "Bearertoken", req: mwRequest{headers: []string{"Bearer" + tk.good}}, status: 401, wwwAuth: wantNoCreds, desc: descAuthRequired},
		{name: "scheme with non-breaking space", req: mwRequest{headers: []string{"Bearer\u00a0" + tk.good}}, status: 401, wwwAuth: wantNoCreds, desc: descAuthRequired},
		{name: "Bearer alone, tabs", req: mwRequest{headers: []string{"\tBearer\t"}}, status: 400, wwwAuth: wantMalformed, code: jwtauth.CodeInvalidRequest, desc: descMalformedCredential},
		{name: "space then tab", req: mwRequest{headers: []string{"Bearer \t" + tk.good}}, status: 400, wwwAuth: wantMalformed, code: jwtauth.CodeInvalidRequest, desc: descMalformedCredential},
		{name: "padding only", req: mwRequest{headers: []string{"Bearer ==="}}, status: 400, wwwAuth: wantMalformed, code: jwtauth.CodeInvalidRequest, desc: descMalformedCredential},
		{name: "NUL in token", req: mwRequest{headers: []string{"Bearer " + tk.good + "\x00"}}, status: 400, wwwAuth: wantMalformed, code: jwtauth.CodeInvalidRequest, desc: descMalformedCredential},
		{name: "token68 padding", req: mwRequest{headers: []string{"Bearer " + tk.good + "="}}, status: 401, wwwAuth: wantInvalid, code: jwtauth.CodeInvalidToken, desc: descInvalidToken},
		{name: "very long token", req: mwRequest{headers: []string{"Bearer " + strings.Repeat("a", 1<<20)}}, status: 401, wwwAuth: wantInvalid, code: jwtauth.CodeInvalidToken, desc: descInvalidToken},
		{name: "cookie and query", opts: cookieAndQuery, req: mwRequest{cookie: "at=" + tk.good, query: "access_token=" + tk.good}, status: 400, wwwAuth: wantMultiple, code: jwtauth.CodeInvalidRequest, desc: descMultipleCredentials},
		{name: "cookie and query, query not enabled", opts: []jwtauth.Option{jwtauth.WithCookie("at")}, req: mwRequest{cookie: "at=" + tk.good, query: "access_token=" + tk.good}, status: 400, wwwAuth: wantMultiple, code: jwtauth.CodeInvalidRequest, desc: descMultipleCredentials},
		{name: "header, cookie and query", opts: cookieAndQuery, req: mwRequest{headers: bearerHeader(tk.good), cookie: "at=" + tk.good, query: "access_token=" + tk.good}, status: 400, wwwAuth: wantMultiple, code: jwtauth.CodeInvalidRequest, desc: descMultipleCredentials},
		{name: "basic header and cookie", opts: cookieAndQuery, req: mwRequest{headers: []string{"Basic dXNlcjpwYXNz"}, cookie: "at=" + tk.good}, status: 200, body: aliceOK},
		{name: "malformed header and valid cookie", opts: cookieAndQuery, req: mwRequest{headers: []string{"Bearer "}, cookie: "at=" + tk.good}, status: 400, wwwAuth: wantMultiple, code: jwtauth.CodeInvalidRequest, desc: descMultipleCredentials},
		{name: "percent-encoded parameter name", opts: cookieAndQuery, req: mwRequest{headers: bearerHeader(tk.good), query: "access%5Ftoken=x"}, status: 400, wwwAuth: wantMultiple, code: jwtauth.CodeInvalidRequest, desc: descMultipleCredentials},
		{name: "expired cookie", opts: cookieAndQuery, req: mwRequest{cookie: "at=" + tk.expired}, status: 401, wwwAuth: wantExpired, code: jwtauth.CodeInvalidToken, desc: descExpiredToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, optional := range []bool{false, true} {
				mw := jwtauth.Middleware
				if optional {
					mw = jwtauth.OptionalMiddleware
				}
				rec := httptest.NewRecorder()
				mw(j, tc.opts...)(echoPrincipal).ServeHTTP(rec, tc.req.build())
				switch {
				case tc.status == 200:
					checkPassed(t, rec, tc.body)
				case optional && tc.code == "":
					// No credentials: the optional variant lets the
					// request through anonymously.
					checkPassed(t, rec, "anonymous")
				default:
					checkChallenge(t, rec, tc.status, tc.wwwAuth, tc.code, tc.desc)
				}
			}
		})
	}
}
