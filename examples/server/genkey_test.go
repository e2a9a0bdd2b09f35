package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authkit-go/authkit/jwtauth"
)

func TestGenKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "signing.pem")
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"-genkey", path}, nil, &stdout, &stderr); err != nil {
		t.Fatalf("server -genkey: %v\nstderr: %s", err, stderr.String())
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("server -genkey wrote no file: %v", err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("server -genkey: file mode = %v, want 0600", got)
	}
	if got, want := stdout.String(), "-key "+path; !strings.Contains(got, want) {
		t.Errorf("server -genkey printed %q, want it to show %q", got, want)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwtauth.ParseKeys(data)
	if err != nil || len(keys) != 1 {
		t.Fatalf("ParseKeys(written key) = %d keys, %v; want 1", len(keys), err)
	}
	if k := keys[0]; k.Algorithm() != jwtauth.EdDSA || !k.CanSign() {
		t.Errorf("written key: alg %s, can sign %t; want EdDSA and a private key", k.Algorithm(), k.CanSign())
	}
	if !strings.Contains(stdout.String(), keys[0].ID()) {
		t.Errorf("server -genkey printed %q, want the key ID %s", stdout.String(), keys[0].ID())
	}

	// A token signed under the written key verifies in a second app
	// that loads the same file: the key survives a restart.
	cfg := testConfig(t)
	cfg.keyFile = path
	first := newTestApp(t, cfg)
	tok, err := first.tokens.Issue(t.Context(), jwtauth.Claims{Subject: "1", ClientID: clientID})
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	second := newTestApp(t, cfg)
	if _, err := second.tokens.Verify(t.Context(), tok.Raw); err != nil {
		t.Errorf("token from the first app, verified by the second: %v", err)
	}

	// Running it again never overwrites the kept key.
	err = run(t.Context(), []string{"-genkey", path}, nil, &stdout, &stderr)
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("second server -genkey on the same path = %v, want an error wrapping fs.ErrExist", err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, data) {
		t.Error("second server -genkey changed the kept key")
	}
}
