package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authkit-go/authkit/oauth2pw"
	"github.com/authkit-go/authkit/userstore/sqlstore"
)

// postAt posts form to path at the server at base, with the Bearer token
// tok if not empty.
func postAt(t testing.TB, base, path string, form url.Values, tok string) response {
	t.Helper()
	req := newRequest(t, http.MethodPost, base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s%s: %v", base, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, body}
}

// TestInstancesOnePostgres runs two server processes on one PostgreSQL
// database with one -key, started at the same moment: both migrate and
// serve; a user disabled through the database is refused by the other
// instance on its next request; failed logins spread over both throttle
// together; a session begun on one is refreshed and ended on the other.
func TestInstancesOnePostgres(t *testing.T) {
	t.Parallel()
	db := newPostgresDB(t)
	bin := serverBinary(t)
	args := []string{"-db", db, "-key", writeEd25519PEM(t), "-addr", "127.0.0.1:0"}
	pa, pb := launchProcess(t, bin, args...), launchProcess(t, bin, args...)
	a, b := pa.wait(t), pb.wait(t)

	t.Run("disabled on one, refused by the other", func(t *testing.T) {
		tok := loginAt(t, a, bob, demoPassword(t, bob))
		if got := getAt(t, b, "/api/protected", tok); got != http.StatusOK {
			t.Fatalf("GET /api/protected at B with A's token: status = %d, want 200", got)
		}
		if stdout, stderr, code := runBinary(t, bin, "", "users", "disable", bob, "-db", db); code != 0 {
			t.Fatalf("server users disable: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
		}
		for name, base := range map[string]string{"A": a, "B": b} {
			if got := getAt(t, base, "/api/protected", tok); got != http.StatusUnauthorized {
				t.Errorf("GET /api/protected at %s after users disable: status = %d, want 401", name, got)
			}
			if got, _ := tryLoginAt(t, base, bob, demoPassword(t, bob)); got != http.StatusBadRequest {
				t.Errorf("POST /token at %s after users disable: status = %d, want 400", name, got)
			}
		}
	})

	t.Run("sessions shared", func(t *testing.T) {
		if _, ok := any((*sqlstore.Store)(nil)).(oauth2pw.RefreshStore); !ok {
			t.Skip("the SQL store keeps no sessions")
		}
		r := postAt(t, a, "/token", passwordForm(alice, demoPassword(t, alice)), "")
		if r.status != http.StatusOK {
			t.Fatalf("POST /token at A: status = %d, want 200; body %s", r.status, r.body)
		}
		r = postAt(t, b, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {decode[tokenResponse](t, r).RefreshToken}}, "")
		if r.status != http.StatusOK {
			t.Fatalf("POST /token refresh at B of A's login: status = %d, want 200; body %s", r.status, r.body)
		}
		next := decode[tokenResponse](t, r)
		if r := postAt(t, a, "/api/logout", nil, next.AccessToken); r.status != http.StatusNoContent {
			t.Fatalf("POST /api/logout at A: status = %d, want 204; body %s", r.status, r.body)
		}
		if got := getAt(t, b, "/api/me", next.AccessToken); got != http.StatusUnauthorized {
			t.Errorf("GET /api/me at B after sign-out at A: status = %d, want 401", got)
		}
		r = postAt(t, b, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next.RefreshToken}}, "")
		if r.status != http.StatusBadRequest || r.errorCode(t) != oauth2pw.CodeInvalidGrant {
			t.Errorf("POST /token refresh at B after sign-out at A: status = %d, body %s; want 400 invalid_grant", r.status, r.body)
		}
	})

	t.Run("failed logins throttle together", func(t *testing.T) {
		// The default policy delays a (username, address) pair after 5
		// failures. Spread them over both instances, each with another
		// wrong password (a repeated one counts once).
		const pairLimit = 5
		for i := range pairLimit {
			base := []string{a, b}[i%2]
			if got, _ := tryLoginAt(t, base, alice, newPassword()); got != http.StatusBadRequest {
				t.Fatalf("failed login %d: status = %d, want 400", i+1, got)
			}
		}
		for name, base := range map[string]string{"A": a, "B": b} {
			if got, _ := tryLoginAt(t, base, alice, demoPassword(t, alice)); got != http.StatusTooManyRequests {
				t.Errorf("POST /token at %s after %d failures spread over A and B: status = %d, want 429", name, pairLimit, got)
			}
		}
	})

	t.Run("both stop cleanly", func(t *testing.T) {
		for name, p := range map[string]*process{"A": pa, "B": pb} {
			if err := p.stop(t); err != nil {
				t.Errorf("instance %s after SIGINT: %v", name, err)
			}
			logs := p.stderr.String()
			for _, want := range []string{`msg="database open" kind=PostgreSQL db=PostgreSQL`, "msg=listening", "msg=stopped"} {
				if !strings.Contains(logs, want) {
					t.Errorf("instance %s logs lack %s:\n%s", name, want, logs)
				}
			}
			if strings.Contains(logs, "level=ERROR") {
				t.Errorf("instance %s logged an error:\n%s", name, logs)
			}
		}
	})
}
