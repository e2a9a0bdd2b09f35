package main

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/userstore"
)

func TestParseDB(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dsn     string
		want    dbKind
		wantErr string
	}{
		{"authkit.db", dbSQLite, ""},
		{"/var/lib/authkit/users.db", dbSQLite, ""},
		{"data/with space.db", dbSQLite, ""},
		{":memory:", dbMemory, ""},
		{"postgres://u:p@127.0.0.1/authkit", dbPostgres, ""},
		{"postgresql://u@127.0.0.1/authkit?sslmode=disable", dbPostgres, ""},
		{"POSTGRES://u@127.0.0.1/authkit", dbPostgres, ""},
		{"", 0, "-db: want"},
		{"mysql://u@127.0.0.1/authkit", 0, `"mysql" URLs are not supported`},
		{"sqlite://authkit.db", 0, `"sqlite" URLs are not supported`},
	}
	for _, tc := range tests {
		t.Run(tc.dsn, func(t *testing.T) {
			t.Parallel()
			got, err := parseDB(tc.dsn)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("parseDB(%q) = %v, %v; want an error mentioning %q", tc.dsn, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("parseDB(%q) = %v, %v; want %v", tc.dsn, got, err, tc.want)
			}
		})
	}
}

// sqliteConfig returns testConfig on a new SQLite file in a temporary
// directory, and the file's path.
func sqliteConfig(t testing.TB) (appConfig, string) {
	t.Helper()
	cfg := testConfig(t)
	cfg.db = filepath.Join(t.TempDir(), "authkit.db")
	return cfg, cfg.db
}

// newClosedApp builds an app from cfg and closes it at the end of the test.
func newClosedApp(t testing.TB, cfg appConfig) *app {
	t.Helper()
	a := newTestApp(t, cfg)
	t.Cleanup(func() { a.Close() })
	return a
}

// TestSQLiteSurvivesRestart starts an app on a new SQLite file, adds a
// user and logs in, closes it, and starts a second app on the same file:
// the users, the signing key and the tokens survive; the demo users are
// not seeded again, nor is a changed demo password reset.
func TestSQLiteSurvivesRestart(t *testing.T) {
	t.Parallel()
	cfg, path := sqliteConfig(t)
	var logs syncBuffer
	cfg.logger = slog.New(slog.NewTextHandler(&logs, nil))
	first := newTestApp(t, cfg)
	if len(first.demo) != 2 {
		t.Fatalf("first start on an empty database: %d demo users, want 2", len(first.demo))
	}
	srv := serveApp(t, first)
	tok := login(t, srv, alice)

	carol, carolPassword := "carol@example.com", newPassword()
	if err := usersCmd(t, cfg, carolPassword+"\n", "add", carol, "-name", "Carol", "-role", "user"); err != nil {
		t.Fatalf("users add %s: %v", carol, err)
	}
	bobPassword := newPassword()
	if err := usersCmd(t, cfg, bobPassword+"\n", "passwd", bob); err != nil {
		t.Fatalf("users passwd %s: %v", bob, err)
	}
	srv.Close()
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	keyPath := path + ".key.pem"
	info, err := os.Stat(keyPath)
	if err != nil {
		t.Fatalf("no signing key beside the database: %v", err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("%s: mode = %v, want 0600", keyPath, got)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("database file: %v, %v; want mode 0600", info, err)
	}
	for _, want := range []string{"signing key generated and kept beside the database"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs of the first start lack %q:\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), "tokens die with the process") {
		t.Errorf("a SQLite server warns that tokens die with the process:\n%s", logs.String())
	}

	second := newClosedApp(t, cfg)
	if second.demo != nil {
		t.Errorf("second start on a database with users: demo users %v seeded, want none", second.demo)
	}
	srv = serveApp(t, second)
	if r := get(t, srv, "/api/me", "Bearer "+tok); r.status != http.StatusOK {
		t.Errorf("GET /api/me after restart with a token of the first start: status = %d, want 200; body %s", r.status, r.body)
	}
	tests := []struct {
		username, password string
		want               int
	}{
		{alice, demoPassword(t, alice), http.StatusOK},
		{carol, carolPassword, http.StatusOK},
		{bob, bobPassword, http.StatusOK},
		{bob, demoPassword(t, bob), http.StatusBadRequest},
	}
	for _, tc := range tests {
		if r := postToken(t, srv, passwordForm(tc.username, tc.password)); r.status != tc.want {
			t.Errorf("POST /token as %s after restart: status = %d, want %d; body %s", tc.username, r.status, tc.want, r.body)
		}
	}
	users, _, err := second.users.ListUsers(t.Context(), userstore.ListOptions{})
	if err != nil || len(users) != 3 {
		t.Errorf("users after restart: %d, %v; want 3 (alice, bob, carol)", len(users), err)
	}
}

// TestNoSeedIntoUsers checks that a database whose first user came from
// "users add" gets no demo users.
func TestNoSeedIntoUsers(t *testing.T) {
	t.Parallel()
	cfg, _ := sqliteConfig(t)
	if err := usersCmd(t, cfg, newPassword()+"\n", "add", "carol@example.com"); err != nil {
		t.Fatal(err)
	}
	a := newClosedApp(t, cfg)
	if a.demo != nil {
		t.Errorf("demo users seeded into a database with a user: %v", a.demo)
	}
	if _, err := a.users.UserByUsername(t.Context(), alice); !errors.Is(err, userstore.ErrNotFound) {
		t.Errorf("UserByUsername(%s) = %v, want ErrNotFound", alice, err)
	}
}

// serveApp serves a's routes until the end of the test.
func serveApp(t testing.TB, a *app) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(a.routes())
	t.Cleanup(srv.Close)
	return srv
}

func TestSigningKeyFile(t *testing.T) {
	t.Parallel()
	t.Run("readable by others", func(t *testing.T) {
		t.Parallel()
		cfg, path := sqliteConfig(t)
		newTestApp(t, cfg).Close()
		if err := os.Chmod(path+".key.pem", 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := newApp(t.Context(), cfg)
		if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path+".key.pem") {
			t.Errorf("newApp with a key file of mode 0644 = %v, want an error saying chmod 600", err)
		}
	})
	t.Run("not a key", func(t *testing.T) {
		t.Parallel()
		cfg, path := sqliteConfig(t)
		if err := os.WriteFile(path+".key.pem", []byte("not a key\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := newApp(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), path+".key.pem") {
			t.Errorf("newApp with a broken key file = %v, want an error naming it", err)
		}
	})
	t.Run("-key wins", func(t *testing.T) {
		t.Parallel()
		cfg, path := sqliteConfig(t)
		cfg.keyFile = writeEd25519PEM(t)
		a := newClosedApp(t, cfg)
		if _, err := os.Stat(path + ".key.pem"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("with -key, a key file beside the database: %v; want none", err)
		}
		data, err := os.ReadFile(cfg.keyFile)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := jwtauth.ParseKeys(data)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := a.tokens.Issue(t.Context(), jwtauth.Claims{Subject: "1", ClientID: clientID})
		if err != nil {
			t.Fatal(err)
		}
		if got := tokenHeader(t, tok.Raw)["kid"]; got != keys[0].ID() {
			t.Errorf("token kid = %v, want the -key key's %s", got, keys[0].ID())
		}
	})
	t.Run("postgres needs -key", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t)
		// Nothing listens there: the check comes before connecting.
		cfg.db = "postgres://nobody@127.0.0.1:1/authkit"
		if _, err := newApp(t.Context(), cfg); !errors.Is(err, errKeyRequired) {
			t.Errorf("newApp on PostgreSQL without -key = %v, want errKeyRequired", err)
		}
		for _, want := range []string{"-key", "same key", "-genkey"} {
			if !strings.Contains(errKeyRequired.Error(), want) {
				t.Errorf("errKeyRequired = %q, want it to mention %q", errKeyRequired, want)
			}
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t)
		cfg.db = filepath.Join(t.TempDir(), "absent", "authkit.db")
		if _, err := newApp(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("newApp on a database in a missing directory = %v, want an error saying so", err)
		}
	})
}

// TestKeptKeyRace has many goroutines make the kept key at once: they all
// get the same key, and the file holds it.
func TestKeptKeyRace(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "authkit.db.key.pem")
	const n = 16
	ids := make([]string, n)
	var created int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, c, err := keptKey(path)
			if err != nil {
				t.Errorf("keptKey: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ids[i] = k.ID()
			if c {
				created++
			}
		})
	}
	wg.Wait()
	if created != 1 {
		t.Errorf("keptKey racing: %d created the key, want 1", created)
	}
	k, c, err := keptKey(path)
	if err != nil || c {
		t.Fatalf("keptKey after the race: created %v, %v", c, err)
	}
	for i, id := range ids {
		if id != k.ID() {
			t.Errorf("goroutine %d got key %s, want the kept %s", i, id, k.ID())
		}
	}
	matches, _ := filepath.Glob(path + ".tmp*")
	if len(matches) != 0 {
		t.Errorf("temporary key files left behind: %v", matches)
	}
}

// TestConcurrentStart starts two servers on one new database at the same
// moment: both migrate, both serve, one signing key and one set of demo
// users result, and a token of either works at the other.
func TestConcurrentStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"sqlite", func(t *testing.T) []string {
			return []string{"-db", filepath.Join(t.TempDir(), "authkit.db")}
		}},
		{"postgres", func(t *testing.T) []string {
			return []string{"-db", newPostgresDB(t), "-key", writeEd25519PEM(t)}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append(tc.args(t), "-addr", "127.0.0.1:0")
			first, second := launchRun(t, args...), launchRun(t, args...)
			ports := [2]string{first.wait(t), second.wait(t)}
			base := func(i int) string { return "http://127.0.0.1:" + ports[i] }
			for i := range ports {
				tok := loginAt(t, base(i), alice, demoPassword(t, alice))
				for j := range ports {
					if got := getAt(t, base(j), "/api/me", tok); got != http.StatusOK {
						t.Errorf("GET /api/me at server %d with a token of server %d: status = %d, want 200", j, i, got)
					}
				}
			}
			d, err := openDB(t.Context(), args[1])
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			users, _, err := d.users.ListUsers(t.Context(), userstore.ListOptions{})
			if err != nil || len(users) != 2 {
				t.Errorf("users after two concurrent first starts: %d, %v; want the 2 demo users", len(users), err)
			}
		})
	}
}

// loginAt logs in at the server at base and returns the access token.
func loginAt(t testing.TB, base, username, password string) string {
	t.Helper()
	status, tok := tryLoginAt(t, base, username, password)
	if status != http.StatusOK {
		t.Fatalf("POST %s/token as %s: status = %d, want 200", base, username, status)
	}
	return tok
}

// tryLoginAt posts a password grant to the server at base and returns the
// status and, on success, the access token.
func tryLoginAt(t testing.TB, base, username, password string) (int, string) {
	t.Helper()
	resp, err := http.PostForm(base+"/token", passwordForm(username, password))
	if err != nil {
		t.Fatalf("POST %s/token: %v", base, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, ""
	}
	tr := decode[tokenResponse](t, response{status: resp.StatusCode, body: body})
	return resp.StatusCode, tr.AccessToken
}

// getAt sends GET path with a Bearer token to the server at base and
// returns the status.
func getAt(t testing.TB, base, path, tok string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s%s: %v", base, path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestThrottleSharedOnSQLite checks that two apps on one SQLite file
// throttle failed logins together, through the database, and that the
// memory store's apps do not.
func TestThrottleSharedOnSQLite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		db     func(t *testing.T) string
		shared bool
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "authkit.db") }, true},
		{"memory", func(t *testing.T) string { return memoryDB }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			cfg.db = tc.db(t)
			cfg.keyFile = writeEd25519PEM(t)
			a, b := serveApp(t, newClosedApp(t, cfg)), serveApp(t, newClosedApp(t, cfg))
			const pairLimit = 5 // the default policy's
			for i := range pairLimit {
				srv := []*httptest.Server{a, b}[i%2]
				if r := postToken(t, srv, passwordForm(alice, newPassword())); r.status != http.StatusBadRequest {
					t.Fatalf("failed login %d: status = %d, want 400", i+1, r.status)
				}
			}
			want := http.StatusTooManyRequests
			if !tc.shared {
				want = http.StatusOK
			}
			for name, srv := range map[string]*httptest.Server{"first": a, "second": b} {
				if r := postToken(t, srv, passwordForm(alice, demoPassword(t, alice))); r.status != want {
					t.Errorf("POST /token at the %s app after %d failures spread over both: status = %d, want %d", name, pairLimit, r.status, want)
				}
			}
		})
	}
}
