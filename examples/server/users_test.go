package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authkit-go/authkit/userstore"
)

// usersCmd runs "server users ARGS..." on cfg's database with stdin.
func usersCmd(t testing.TB, cfg appConfig, stdin string, args ...string) error {
	t.Helper()
	_, err := usersCmdOutput(t, cfg, stdin, args...)
	return err
}

// usersCmdOutput runs "server users ARGS..." on cfg's database with stdin
// and returns what it printed on stdout.
func usersCmdOutput(t testing.TB, cfg appConfig, stdin string, args ...string) (string, error) {
	t.Helper()
	var stdout bytes.Buffer
	err := runUsers(t.Context(), cfg, args, strings.NewReader(stdin), &stdout, io.Discard)
	return stdout.String(), err
}

// snapshot describes every user of the database at path, field by field.
func snapshot(t testing.TB, path string) string {
	t.Helper()
	d, err := openDB(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	users, _, err := d.users.ListUsers(t.Context(), userstore.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, u := range users {
		fmt.Fprintf(&b, "%s %s %q %s %s %v %v %v %v\n", u.ID, u.Username, u.Name, u.Email, u.PasswordHash, u.Roles, u.Disabled, u.UpdatedAt, u.TokensValidAfter)
	}
	return b.String()
}

// TestUsersCommands walks a user through add, list, passwd, disable and
// enable, checking each effect through the token endpoint and the API of
// an app on the same database.
func TestUsersCommands(t *testing.T) {
	t.Parallel()
	cfg, _ := sqliteConfig(t)
	cfg.demoUsers = false
	carol, password := "carol@example.com", newPassword()

	out, err := usersCmdOutput(t, cfg, password+"\n", "add", carol, "-name", "Carol", "-role", "admin", "-role", "user")
	if err != nil {
		t.Fatalf("users add: %v", err)
	}
	if !strings.HasPrefix(out, "added user ") || !strings.Contains(out, carol) {
		t.Errorf("users add printed %q, want \"added user ID: %s\"", out, carol)
	}

	// Flags may come before the username, and -db after the command.
	dave := "dave@example.com"
	if err := runUsers(t.Context(), testConfig(t), []string{"add", "-role", "user", dave, "-db", cfg.db}, strings.NewReader(newPassword()), io.Discard, io.Discard); err != nil {
		t.Fatalf("users add -role user %s -db DB: %v", dave, err)
	}

	out, err = usersCmdOutput(t, cfg, "", "list")
	if err != nil {
		t.Fatalf("users list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("users list printed %q, want a header and 2 users", out)
	}
	for _, want := range []string{carol, "Carol", "admin,user", "enabled", dave} {
		if !strings.Contains(out, want) {
			t.Errorf("users list lacks %q:\n%s", want, out)
		}
	}

	a := newClosedApp(t, cfg)
	srv := serveApp(t, a)
	base := srv.URL
	tok := loginAt(t, base, carol, password)
	if got := getAt(t, base, "/api/admin/users", tok); got != http.StatusOK {
		t.Errorf("GET /api/admin/users as carol (role admin): status = %d, want 200", got)
	}

	newPw := newPassword()
	if err := usersCmd(t, cfg, newPw+"\r\n", "passwd", carol); err != nil {
		t.Fatalf("users passwd: %v", err)
	}
	if got, _ := tryLoginAt(t, base, carol, password); got != http.StatusBadRequest {
		t.Errorf("POST /token with the old password after passwd: status = %d, want 400", got)
	}
	tok = loginAt(t, base, carol, newPw)

	if err := usersCmd(t, cfg, "", "disable", carol); err != nil {
		t.Fatalf("users disable: %v", err)
	}
	if got := getAt(t, base, "/api/me", tok); got != http.StatusUnauthorized {
		t.Errorf("GET /api/me after users disable: status = %d, want 401", got)
	}
	if got, _ := tryLoginAt(t, base, carol, newPw); got != http.StatusBadRequest {
		t.Errorf("POST /token after users disable: status = %d, want 400", got)
	}
	if out, _ := usersCmdOutput(t, cfg, "", "list"); !strings.Contains(out, "disabled") {
		t.Errorf("users list after disable lacks \"disabled\":\n%s", out)
	}

	if err := usersCmd(t, cfg, "", "enable", carol); err != nil {
		t.Fatalf("users enable: %v", err)
	}
	tok = loginAt(t, base, carol, newPw)
	if got := getAt(t, base, "/api/me", tok); got != http.StatusOK {
		t.Errorf("GET /api/me after users enable: status = %d, want 200", got)
	}
}

// TestUsersErrors checks that every bad command fails with a clear
// message and changes nothing in the database.
func TestUsersErrors(t *testing.T) {
	t.Parallel()
	cfg, path := sqliteConfig(t)
	if err := usersCmd(t, cfg, newPassword()+"\n", "add", alice, "-role", "admin"); err != nil {
		t.Fatal(err)
	}
	if err := usersCmd(t, cfg, "", "disable", alice); err != nil {
		t.Fatal(err)
	}
	if err := usersCmd(t, cfg, "", "enable", alice); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, path)
	missing := filepath.Join(t.TempDir(), "absent.db")
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"no command", nil, "", "want a command"},
		{"unknown command", []string{"remove", alice}, "", `unknown command "remove"`},
		{"add without username", []string{"add"}, newPassword(), "want a USERNAME"},
		{"add with two usernames", []string{"add", "x@example.com", "y@example.com"}, newPassword(), `unexpected argument "y@example.com"`},
		{"add duplicate", []string{"add", alice}, newPassword(), "exists already"},
		{"add duplicate after normalisation", []string{"add", "ALICE@Example.com"}, newPassword(), "exists already"},
		{"add bad username", []string{"add", "bad\x00name"}, newPassword(), "username"},
		{"add bad role", []string{"add", "x@example.com", "-role", "has space"}, newPassword(), "a role is printable ASCII"},
		{"add role with quote", []string{"add", "x@example.com", "-role", `a"b`}, newPassword(), "a role is printable ASCII"},
		{"add short password", []string{"add", "x@example.com"}, "short\n", "password too short"},
		{"add password is the username", []string{"add", "abcdefghijklmnop@example.com"}, "ABCDEFGHIJKLMNOP@example.com\n", "the password is the username"},
		{"add empty password", []string{"add", "x@example.com"}, "\n", "no password on standard input"},
		{"add no stdin", []string{"add", "x@example.com"}, "", "no password on standard input"},
		{"add long password", []string{"add", "x@example.com"}, strings.Repeat("x", 2000) + "\n", "over 1024 bytes"},
		{"add unknown flag", []string{"add", "x@example.com", "-admin"}, newPassword(), "flag provided but not defined"},
		{"passwd unknown user", []string{"passwd", "nobody@example.com"}, newPassword(), `no user "nobody@example.com"`},
		{"passwd weak password", []string{"passwd", alice}, "password123\n", "password too short"},
		{"passwd without username", []string{"passwd"}, newPassword(), "want a USERNAME"},
		{"disable unknown user", []string{"disable", "nobody@example.com"}, "", `no user "nobody@example.com"`},
		{"disable without username", []string{"disable"}, "", "want a USERNAME"},
		{"enable unknown user", []string{"enable", "nobody@example.com"}, "", `no user "nobody@example.com"`},
		{"enable without username", []string{"enable"}, "", "want a USERNAME"},
		{"list with argument", []string{"list", alice}, "", `unexpected argument`},
		{"memory store", []string{"list", "-db", memoryDB}, "", "throwaway store"},
		{"missing database", []string{"list", "-db", missing}, "", "no such file"},
		{"other URL", []string{"list", "-db", "mysql://x@127.0.0.1/db"}, "", `"mysql" URLs are not supported`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runUsers(t.Context(), cfg, tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
			if err == nil {
				t.Fatalf("users %q: no error; stdout %q", tc.args, stdout.String())
			}
			if msg := err.Error() + stderr.String(); !strings.Contains(msg, tc.want) {
				t.Errorf("users %q = %v (stderr %q), want mention of %q", tc.args, err, stderr.String(), tc.want)
			}
			if got := snapshot(t, path); got != before {
				t.Errorf("users %q changed the database:\nbefore:\n%s\nafter:\n%s", tc.args, before, got)
			}
		})
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("users list -db MISSING created the file: %v", err)
	}
	if err := runUsers(t.Context(), cfg, []string{"-h"}, nil, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("users -h = %v, want flag.ErrHelp", err)
	}
}

func TestReadLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, wantErr string
	}{
		{"newline", "secret\nrest\n", "secret", ""},
		{"crlf", "secret\r\n", "secret", ""},
		{"no newline", "secret", "secret", ""},
		{"spaces kept", " two words \n", " two words ", ""},
		{"exactly the cap", strings.Repeat("x", 16) + "\n", strings.Repeat("x", 16), ""},
		{"over the cap", strings.Repeat("x", 17) + "\n", "", "over 16 bytes"},
		{"empty", "\n", "", "no password"},
		{"nothing", "", "", "no password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := strings.NewReader(tc.in)
			got, err := readLine(t.Context(), r, 16)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("readLine(%q) = %q, %v; want an error mentioning %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("readLine(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			if tc.name == "newline" && r.Len() != len("rest\n") {
				t.Errorf("readLine consumed %d bytes past the line", len("rest\n")-r.Len())
			}
		})
	}
}

// TestUsersBinary runs the built server: a good command exits 0, a bad
// one exits non-zero with its message on stderr.
func TestUsersBinary(t *testing.T) {
	t.Parallel()
	bin := serverBinary(t)
	db := filepath.Join(t.TempDir(), "authkit.db")
	stdout, stderr, code := runBinary(t, bin, newPassword()+"\n", "-db", db, "users", "add", "carol@example.com", "-role", "admin")
	if code != 0 || !strings.Contains(stdout, "added user") {
		t.Fatalf("server users add: exit %d, stdout %q, stderr %q; want 0 and \"added user\"", code, stdout, stderr)
	}
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"duplicate", []string{"users", "add", "carol@example.com"}, newPassword() + "\n", "server: users add: \"carol@example.com\" exists already"},
		{"weak password", []string{"users", "add", "dave@example.com"}, "short\n", "password too short"},
		{"unknown user", []string{"users", "disable", "nobody@example.com"}, "", `no user "nobody@example.com"`},
		{"missing argument", []string{"users", "passwd"}, "", "want a USERNAME"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, stderr, code := runBinary(t, bin, tc.stdin, append([]string{"-db", db}, tc.args...)...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("server %q: exit %d, stderr %q; want non-zero and %q", tc.args, code, stderr, tc.want)
			}
		})
	}
}
