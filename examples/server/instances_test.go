package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestInstancesOnePostgres runs two server processes on one PostgreSQL
// database with one -key, started at the same moment: both migrate and
// serve; a user disabled through the database is refused by the other
// instance on its next request; failed logins spread over both throttle
// together.
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
