package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/sqlstore"
)

// crashWriterEnv, when set to a SQLite path, makes the test binary a
// writer that adds users there until it is killed (see TestMain).
const crashWriterEnv = "AUTHKIT_EXAMPLE_CRASH_WRITER"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashWriterEnv); path != "" {
		crashWriter(path)
		os.Exit(3) // unreachable: crashWriter never returns
	}
	code := m.Run()
	if buildBin != "" {
		os.RemoveAll(filepath.Dir(buildBin))
	}
	os.Exit(code)
}

// crashWriter adds users to the SQLite database at path from several
// goroutines, as "server users add" does, and prints "ID USERNAME" on
// standard output after each write returns success. It runs until it is
// killed, and exits 2 on any error.
func crashWriter(path string) {
	ctx := context.Background()
	d, err := openDB(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash writer:", err)
		os.Exit(2)
	}
	cheap, err := userstore.NewInsecureArgon2id(userstore.Argon2idParams{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash writer:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	for range 4 {
		go func() {
			for {
				hash, err := cheap.Hash(rand.Text())
				if err != nil {
					fmt.Fprintln(os.Stderr, "crash writer:", err)
					os.Exit(2)
				}
				u := &usersRun{users: d.users, username: "crash-" + strings.ToLower(rand.Text()) + "@example.com", roles: []string{"user"}}
				created, err := u.createUser(ctx, hash)
				if err != nil {
					fmt.Fprintln(os.Stderr, "crash writer:", err)
					os.Exit(2)
				}
				// One write(2) per line, after the commit returned: a
				// line the parent read names a committed user.
				mu.Lock()
				fmt.Fprintf(os.Stdout, "%s %s\n", created.ID, created.Username)
				mu.Unlock()
			}
		}()
	}
	select {}
}

// TestCrashDuringWrites kills (SIGKILL) a process in the middle of a burst
// of user writes to a SQLite database, three times: every user whose write
// returned success is there afterwards, and the database passes
// PRAGMA integrity_check.
func TestCrashDuringWrites(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "authkit.db")
	reported := map[string]string{} // ID → username
	const rounds, perRound = 3, 100
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashWriterEnv+"="+path)
		var stderr syncBuffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killed := make(chan struct{})
		n := 0
		sc := bufio.NewScanner(out)
		timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
		for sc.Scan() {
			id, username, ok := strings.Cut(sc.Text(), " ")
			if !ok {
				t.Fatalf("round %d: writer printed %q", round, sc.Text())
			}
			reported[id] = username
			if n++; n == perRound {
				// Mid-burst: the other goroutines are writing.
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				close(killed)
			}
		}
		timer.Stop()
		err = cmd.Wait()
		select {
		case <-killed:
		default:
			t.Fatalf("round %d: writer ended after %d users before it was killed: %v\nstderr:\n%s", round, n, err, stderr.String())
		}
		if ee, ok := errors.AsType[*exec.ExitError](err); !ok || ee.Success() {
			t.Fatalf("round %d: writer after SIGKILL: %v, want killed", round, err)
		}

		if got := integrityCheck(t, path); got != "ok" {
			t.Fatalf("round %d: PRAGMA integrity_check = %q, want ok", round, got)
		}
		d, err := openDB(t.Context(), path)
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		for id, username := range reported {
			u, err := d.users.UserByID(t.Context(), id)
			if err != nil || u.Username != username {
				t.Errorf("round %d: user %s (%s), reported written before the kill: %v, %v", round, id, username, u, err)
			}
		}
		d.Close()
	}
	if len(reported) < rounds*perRound {
		t.Errorf("%d users reported, want at least %d", len(reported), rounds*perRound)
	}
}

// integrityCheck runs PRAGMA integrity_check on the SQLite database at
// path and returns its first answer.
func integrityCheck(t testing.TB, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got string
	if err := db.QueryRowContext(t.Context(), "PRAGMA integrity_check").Scan(&got); err != nil {
		t.Fatalf("PRAGMA integrity_check: %v", err)
	}
	return got
}
