package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// postgresEnv names the environment variable that holds the DSN of a
// PostgreSQL database the tests may create schemas in.
const postgresEnv = "AUTHKIT_TEST_POSTGRES"

// postgresDSN returns the DSN from AUTHKIT_TEST_POSTGRES. Without one the
// test is skipped, except under CI=true, where it fails: a CI run whose
// PostgreSQL set-up broke must not pass.
func postgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set, and CI=true: the PostgreSQL tests must run (see .ci/postgres.sh)", postgresEnv)
		}
		t.Skipf("%s not set; run the tests under .ci/postgres.sh to include PostgreSQL", postgresEnv)
	}
	return dsn
}

// newPostgresDB creates an empty schema in the test database, dropped at
// the end of the test, and returns a -db URL whose connections use it.
func newPostgresDB(t testing.TB) string {
	t.Helper()
	dsn := postgresDSN(t)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("sql.Open(pgx): %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	schema := "authkit_example_" + strings.ToLower(rand.Text())
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("CREATE SCHEMA: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("DROP SCHEMA %s: %v", schema, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: %v", postgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// newPassword returns a fresh password that passes the default policy.
func newPassword() string { return rand.Text() }

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
	buildOut  []byte
)

// serverBinary builds the example server once per test run and returns
// the path of the executable.
func serverBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "authkit-server-bin")
		if err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(dir, "server")
		cmd := exec.Command("go", "build", "-o", buildBin, ".")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return buildBin
}

// process is a running server process.
type process struct {
	cmd    *exec.Cmd
	args   []string
	addr   string
	addrc  chan string
	stderr *syncBuffer
	done   chan error
}

// launchProcess starts the server binary with args without waiting for
// its banner. The process is killed at the end of the test.
func launchProcess(t testing.TB, bin string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	p := &process{cmd: cmd, args: args, addrc: make(chan string, 1), stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		re := regexp.MustCompile(`server on http://(\S+)`)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				p.addrc <- m[1]
				break
			}
		}
		io.Copy(io.Discard, out)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits for the banner and returns the base URL of the server.
func (p *process) wait(t testing.TB) string {
	t.Helper()
	select {
	case p.addr = <-p.addrc:
		return "http://" + p.addr
	case err := <-p.done:
		p.done <- err
		t.Fatalf("server %q exited before serving: %v\nstderr:\n%s", p.args, err, p.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("server %q: no banner within a minute\nstderr:\n%s", p.args, p.stderr.String())
	}
	return ""
}

// stop ends the process as SIGTERM would and returns its error.
func (p *process) stop(t testing.TB) error {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		return err
	}
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not stop within 20s of SIGINT\nstderr:\n%s", p.stderr.String())
		return nil
	}
}

// runBinary runs the server binary with args and stdin, and returns its
// output and exit code.
func runBinary(t testing.TB, bin, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return out.String(), errOut.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s %q: %v", bin, args, err)
	}
	return out.String(), errOut.String(), 0
}
