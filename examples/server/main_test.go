package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	t.Parallel()
	defaults := appConfig{
		addr:      "127.0.0.1:8080",
		issuer:    "http://127.0.0.1:8080",
		audience:  []string{"http://127.0.0.1:8080/api"},
		ttl:       30 * time.Minute,
		throttle:  true,
		demoUsers: true,
		db:        "authkit.db",
		docs:      true,
	}
	with := func(f func(c *appConfig)) appConfig {
		c := defaults
		c.audience = slices.Clone(c.audience)
		f(&c)
		return c
	}
	tests := []struct {
		name string
		args []string
		want appConfig
	}{
		{"defaults", nil, defaults},
		{"addr", []string{"-addr", "127.0.0.1:9090"}, with(func(c *appConfig) { c.addr = "127.0.0.1:9090" })},
		{"any port", []string{"-addr=:0"}, with(func(c *appConfig) { c.addr = ":0" })},
		{"key", []string{"-key", "/etc/authkit/key.pem"}, with(func(c *appConfig) { c.keyFile = "/etc/authkit/key.pem" })},
		{"issuer", []string{"-issuer", "https://auth.example.com"}, with(func(c *appConfig) { c.issuer = "https://auth.example.com" })},
		{"audience list", []string{"-audience", "api-a, api-b,,"}, with(func(c *appConfig) { c.audience = []string{"api-a", "api-b"} })},
		{"ttl", []string{"-ttl", "5m"}, with(func(c *appConfig) { c.ttl = 5 * time.Minute })},
		{"ttl at most a day", []string{"-ttl", "24h"}, with(func(c *appConfig) { c.ttl = 24 * time.Hour })},
		{"throttle off", []string{"-throttle=false"}, with(func(c *appConfig) { c.throttle = false })},
		{"no demo users", []string{"-demo-users=false"}, with(func(c *appConfig) { c.demoUsers, c.demoUsersSet = false, true })},
		{"demo users given", []string{"-demo-users"}, with(func(c *appConfig) { c.demoUsersSet = true })},
		{"demo users given true", []string{"-demo-users=true"}, with(func(c *appConfig) { c.demoUsersSet = true })},
		{"sqlite file", []string{"-db", "/var/lib/authkit/users.db"}, with(func(c *appConfig) { c.db = "/var/lib/authkit/users.db" })},
		{"postgres", []string{"-db", "postgres://u@db.internal/authkit", "-key", "k.pem"}, with(func(c *appConfig) { c.db, c.keyFile = "postgres://u@db.internal/authkit", "k.pem" })},
		{"postgresql", []string{"-db", "postgresql://u@db.internal/authkit", "-key", "k.pem"}, with(func(c *appConfig) { c.db, c.keyFile = "postgresql://u@db.internal/authkit", "k.pem" })},
		{"postgres users without key", []string{"-db", "postgres://u@db.internal/authkit", "users", "list"}, with(func(c *appConfig) {
			c.db, c.users = "postgres://u@db.internal/authkit", []string{"list"}
		})},
		{"memory", []string{"-db", ":memory:"}, with(func(c *appConfig) { c.db = ":memory:" })},
		{"user cache", []string{"-user-cache", "2s"}, with(func(c *appConfig) { c.userCache = 2 * time.Second })},
		{"docs off", []string{"-docs=false"}, with(func(c *appConfig) { c.docs = false })},
		{"users subcommand", []string{"-db", "x.db", "users", "add", "carol@example.com", "-role", "admin"}, with(func(c *appConfig) {
			c.db = "x.db"
			c.users = []string{"add", "carol@example.com", "-role", "admin"}
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseFlags(tc.args, io.Discard)
			if err != nil {
				t.Fatalf("parseFlags(%q): %v", tc.args, err)
			}
			if got.addr != tc.want.addr || got.keyFile != tc.want.keyFile || got.issuer != tc.want.issuer ||
				!slices.Equal(got.audience, tc.want.audience) || got.ttl != tc.want.ttl ||
				got.throttle != tc.want.throttle || got.demoUsers != tc.want.demoUsers || got.demoUsersSet != tc.want.demoUsersSet ||
				got.db != tc.want.db || got.userCache != tc.want.userCache || !slices.Equal(got.users, tc.want.users) ||
				got.docs != tc.want.docs {
				t.Errorf("parseFlags(%q) = %+v, want %+v", tc.args, got, tc.want)
			}
		})
	}
}

func TestParseFlagsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string // in the error or the usage output
	}{
		{"unknown flag", []string{"-port", "80"}, "flag provided but not defined"},
		{"positional argument", []string{"serve"}, `unexpected argument "serve"`},
		{"addr without port", []string{"-addr", "localhost"}, "-addr"},
		{"ttl zero", []string{"-ttl", "0s"}, "-ttl"},
		{"ttl negative", []string{"-ttl", "-1m"}, "-ttl"},
		{"ttl not a duration", []string{"-ttl", "30"}, "invalid value"},
		{"issuer empty", []string{"-issuer", ""}, "-issuer"},
		{"issuer relative", []string{"-issuer", "auth.example.com"}, "-issuer"},
		{"audience empty", []string{"-audience", " , "}, "-audience"},
		{"throttle not a bool", []string{"-throttle=maybe"}, "invalid boolean value"},
		{"docs not a bool", []string{"-docs=maybe"}, "invalid boolean value"},
		{"db empty", []string{"-db", ""}, "-db"},
		{"db of another kind", []string{"-db", "mysql://u@db/authkit"}, `"mysql" URLs are not supported`},
		{"user cache negative", []string{"-user-cache", "-1s"}, "-user-cache"},
		{"postgres without key", []string{"-db", "postgres://u@db.internal/authkit"}, "-key: required with a PostgreSQL -db"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			_, err := parseFlags(tc.args, &out)
			if err == nil {
				t.Fatalf("parseFlags(%q): no error", tc.args)
			}
			if !strings.Contains(err.Error()+out.String(), tc.want) {
				t.Errorf("parseFlags(%q) = %v (output %q), want mention of %q", tc.args, err, out.String(), tc.want)
			}
		})
	}
}

func TestParseFlagsHelp(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, err := parseFlags([]string{"-h"}, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseFlags(-h) = %v, want flag.ErrHelp", err)
	}
	for _, name := range []string{"-addr", "-db", `(default "authkit.db")`, "PostgreSQL requires -key", "DB.key.pem", "-user-cache", "users add", "-key", "-issuer", "-audience", "-ttl", "-throttle", "-demo-users", "-docs", "GET /openapi.json", "GET /docs/", "AUTHKIT_INTROSPECTION_SECRET", "resource-server", "(default 30m0s)", "(default true)", `(default "127.0.0.1:8080")`} {
		if !strings.Contains(out.String(), name) {
			t.Errorf("-h output lacks %q:\n%s", name, out.String())
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRun starts the real command (production hasher, fresh key, demo
// users) on a free loopback port, calls it, and stops it as a signal would.
func TestRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-db", memoryDB}, nil, &stdout, &stderr) }()

	addrRE := regexp.MustCompile(`on http://(127\.0\.0\.1:\d+)`)
	var addr string
	for deadline := time.Now().Add(20 * time.Second); addr == ""; {
		if m := addrRE.FindStringSubmatch(stdout.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("run returned before serving: %v\nstderr:\n%s", err, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listen address in the banner:\n%s", stdout.String())
		}
	}

	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 %q", resp.StatusCode, body, "ok\n")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after cancel = %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after its context ended")
	}

	banner := stdout.String()
	for _, want := range []string{"alice@example.com", "password123", "bob@example.com", "password456", "curl", "/token", "/api/me", "API docs: http://" + addr + "/docs/"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	logs := stderr.String()
	for _, want := range []string{
		"tokens die with the process",
		"demo users created with passwords below the password policy; do not use in production",
		`msg="demo users enabled" reason="` + demoReasonLoopback + `"`,
		"msg=listening",
		"msg=stopped",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	// Logs are structured: every line is a logfmt record with a level.
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "time=") || !strings.Contains(sc.Text(), " level=") {
			t.Errorf("log line not structured: %q", sc.Text())
		}
	}
}

func TestDemoUsersDecision(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr     string
		loopback bool
	}{
		{"127.0.0.1:8080", true},
		{"127.0.0.1:0", true},
		{"127.1.2.3:80", true},
		{"[::1]:8080", true},
		{"[::ffff:127.0.0.1]:8080", true},
		{"localhost:8080", true},
		{"LocalHost:8080", true},
		{"0.0.0.0:8080", false},
		{"0.0.0.0:0", false},
		{":8080", false},
		{"[::]:8080", false},
		{"192.0.2.1:8080", false},
		{"[2001:db8::1]:8080", false},
		{"[fe80::1%eth0]:8080", false},
		{"example.com:8080", false},
		{"localhost.example.com:8080", false},
		{"127.0.0.1", false}, // no port: not an address at all
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			t.Parallel()
			wantReason := demoReasonNotLoopback
			if tc.loopback {
				wantReason = demoReasonLoopback
			}
			for _, c := range []struct {
				name      string
				want, set bool
				seed      bool
				reason    string
			}{
				{"default", true, false, tc.loopback, wantReason},
				{"-demo-users=true", true, true, true, demoReasonFlagOn},
				{"-demo-users=false", false, true, false, demoReasonFlagOff},
			} {
				seed, reason := demoUsersDecision(tc.addr, c.want, c.set)
				if seed != c.seed || reason != c.reason {
					t.Errorf("demoUsersDecision(%q) with %s = %v, %q; want %v, %q", tc.addr, c.name, seed, reason, c.seed, c.reason)
				}
			}
		})
	}
}

// startRun starts the real command with args and waits for its banner. It
// returns the port it listens on and a function that stops it as a signal
// would and returns what it wrote.
func startRun(t *testing.T, args ...string) (port string, stop func() (stdout, stderr string)) {
	t.Helper()
	r := launchRun(t, args...)
	return r.wait(t), r.stop
}

// running is the real command running in a goroutine.
type running struct {
	t              *testing.T
	args           []string
	cancel         context.CancelFunc
	stdout, stderr syncBuffer
	done           chan error
	stopped        bool
}

// launchRun starts the real command with args without waiting for it.
// It is stopped at the end of the test.
func launchRun(t *testing.T, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{t: t, args: args, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- run(ctx, args, nil, &r.stdout, &r.stderr) }()
	t.Cleanup(func() { r.stop() })
	return r
}

// stop stops the command as a signal would and returns what it wrote.
func (r *running) stop() (stdout, stderr string) {
	t := r.t
	t.Helper()
	if !r.stopped {
		r.stopped = true
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("run(%q) after cancel = %v, want nil", r.args, err)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("run(%q) did not return after its context ended", r.args)
		}
	}
	return r.stdout.String(), r.stderr.String()
}

// wait waits for the banner and returns the port the command listens on.
func (r *running) wait(t *testing.T) string {
	t.Helper()
	addrRE := regexp.MustCompile(`server on http://(\S+)`)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if m := addrRE.FindStringSubmatch(r.stdout.String()); m != nil {
			_, port, err := net.SplitHostPort(m[1])
			if err != nil {
				t.Fatalf("banner address %q: %v", m[1], err)
			}
			return port
		}
		select {
		case err := <-r.done:
			r.stopped = true
			t.Fatalf("run(%q) returned before serving: %v\nstderr:\n%s", r.args, err, r.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("run(%q): no listen address in the banner:\n%s", r.args, r.stdout.String())
		}
	}
}

// TestRunDemoUsersNotLoopback starts the command on every interface: without
// -demo-users it creates no demo users and says so; with -demo-users=true
// it creates them.
func TestRunDemoUsersNotLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		seeded  bool
		wantLog string
	}{
		{"default", []string{"-addr", "0.0.0.0:0", "-db", memoryDB}, false,
			`level=WARN msg="demo users disabled" reason="` + demoReasonNotLoopback + `" addr=0.0.0.0:0`},
		{"-demo-users=true", []string{"-addr", "0.0.0.0:0", "-db", memoryDB, "-demo-users=true"}, true,
			`level=INFO msg="demo users enabled" reason="` + demoReasonFlagOn + `" addr=0.0.0.0:0`},
		{"loopback, -demo-users=false", []string{"-addr", "127.0.0.1:0", "-db", memoryDB, "-demo-users=false"}, false,
			`level=INFO msg="demo users disabled" reason="` + demoReasonFlagOff + `" addr=127.0.0.1:0`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			port, stop := startRun(t, tc.args...)
			form := url.Values{"grant_type": {"password"}, "username": {"alice@example.com"}, "password": {"password123"}}
			resp, err := http.PostForm("http://"+net.JoinHostPort("127.0.0.1", port)+"/token", form)
			if err != nil {
				t.Fatalf("POST /token: %v", err)
			}
			resp.Body.Close()
			wantStatus := http.StatusBadRequest
			if tc.seeded {
				wantStatus = http.StatusOK
			}
			if resp.StatusCode != wantStatus {
				t.Errorf("POST /token as the demo user alice: status = %d, want %d", resp.StatusCode, wantStatus)
			}
			banner, logs := stop()
			if got := strings.Contains(banner, "alice@example.com"); got != tc.seeded {
				t.Errorf("banner lists the demo users = %v, want %v:\n%s", got, tc.seeded, banner)
			}
			if !strings.Contains(logs, tc.wantLog) {
				t.Errorf("logs lack %s:\n%s", tc.wantLog, logs)
			}
			if got := strings.Contains(logs, "demo users created"); got != tc.seeded {
				t.Errorf("logs say demo users created = %v, want %v:\n%s", got, tc.seeded, logs)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad flag", []string{"-ttl", "0s"}, "-ttl"},
		{"ttl over the issuer's bound", []string{"-ttl", "25h", "-db", memoryDB, "-demo-users=false"}, "-ttl"},
		{"missing key file", []string{"-key", t.TempDir() + "/absent.pem", "-db", memoryDB}, "-key"},
		{"address in use", []string{"-addr", busy.Addr().String(), "-db", memoryDB, "-demo-users=false"}, "address already in use"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			err := run(ctx, tc.args, nil, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%q) = %v, want an error mentioning %q", tc.args, err, tc.want)
			}
		})
	}
	if err := run(t.Context(), []string{"-help"}, nil, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("run(-help) = %v, want flag.ErrHelp", err)
	}
}

func TestNewServerLimits(t *testing.T) {
	t.Parallel()
	srv := newServer(http.NotFoundHandler(), discardLogger())
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 {
		t.Errorf("server timeouts = %v/%v/%v/%v, want all set", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
	if srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes >= http.DefaultMaxHeaderBytes {
		t.Errorf("MaxHeaderBytes = %d, want set below the 1 MiB default", srv.MaxHeaderBytes)
	}
	if srv.ErrorLog == nil {
		t.Error("ErrorLog is nil, want the structured logger")
	}
}

// TestServeGracefulShutdown checks that a login in flight when the context
// ends still gets its answer, and that serve then returns nil.
func TestServeGracefulShutdown(t *testing.T) {
	t.Parallel()
	a := newTestApp(t, testConfig(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, ln) }()

	// Send the headers of a login with "Expect: 100-continue": the server
	// answers 100 Continue once the token endpoint runs and reads the
	// body. Then end the context, and only then send the body. Shutdown
	// must wait for the answer.
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	body := passwordForm(alice, demoPassword(t, alice)).Encode()
	io.WriteString(conn, "POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
		"Expect: 100-continue\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n")
	br := bufio.NewReader(conn)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("POST /token with Expect: 100-continue: got %q, %v; want 100 Continue", line, err)
	}
	if line, err := br.ReadString('\n'); err != nil || line != "\r\n" {
		t.Fatalf("after 100 Continue: got %q, %v; want an empty line", line, err)
	}
	cancel()
	time.Sleep(100 * time.Millisecond) // let Shutdown start
	io.WriteString(conn, body)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("in-flight POST /token: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("in-flight POST /token: status = %d, want 200", resp.StatusCode)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after cancel = %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not return after its context ended")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("listener still accepts after shutdown")
	}
}
