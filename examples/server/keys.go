package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/authkit-go/authkit/jwtauth"
)

// errKeyRequired refuses PostgreSQL without -key: every instance on the
// database must sign with the same key, and the server does not keep keys
// in the database.
var errKeyRequired = errors.New("-key: required with a PostgreSQL -db, so that every instance signs with the same key; write one with: server -genkey PATH")

// loadKeys returns the key set that signs and verifies tokens: the keys of
// the -key file path, the first of which signs; without one, the key kept
// beside a SQLite database (made on first start), or for the memory store a
// fresh key that dies with the process. PostgreSQL needs -key.
func loadKeys(path string, d *database, log *slog.Logger) (*jwtauth.KeySet, error) {
	if path != "" {
		keys, err := readKeyFile(path)
		if err != nil {
			return nil, fmt.Errorf("-key: %w", err)
		}
		set, err := jwtauth.NewKeySet(keys[0], keys[1:]...)
		if err != nil {
			return nil, fmt.Errorf("-key: %w", err)
		}
		log.Info("signing key loaded", "file", path, "key", keys[0], "verify_only", len(keys)-1)
		return set, nil
	}
	switch d.kind {
	case dbPostgres:
		return nil, errKeyRequired
	case dbMemory:
		k, err := jwtauth.GenerateKey(jwtauth.EdDSA)
		if err != nil {
			return nil, fmt.Errorf("generate key: %w", err)
		}
		log.Warn("-db :memory: and no -key given: signing with a fresh Ed25519 key; tokens die with the process", "key", k)
		return jwtauth.NewKeySet(k)
	}
	path = d.keyFile()
	k, created, err := keptKey(path)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	if created {
		log.Info("signing key generated and kept beside the database", "file", path, "key", k)
	} else {
		log.Info("signing key loaded from beside the database", "file", path, "key", k)
	}
	return jwtauth.NewKeySet(k)
}

// readKeyFile reads the keys of a -key file; it holds at least one.
func readKeyFile(path string) ([]*jwtauth.Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	keys, err := jwtauth.ParseKeys(data)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s holds no key", path)
	}
	return keys, nil
}

// keptKey returns the signing key in the file at path, which must be
// readable by its owner only, or, if there is no such file, writes a new
// Ed25519 key there (mode 0600) and reports that it created it. Of several
// processes starting at once, one writes the key and the others read it:
// the file appears, complete, under its name in one step.
func keptKey(path string) (k *jwtauth.Key, created bool, err error) {
	k, err = readKeptKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	if k, err = jwtauth.GenerateKey(jwtauth.EdDSA); err != nil {
		return nil, false, err
	}
	pem, err := k.MarshalPEM()
	if err != nil {
		return nil, false, err
	}
	// CreateTemp makes the file with mode 0600.
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, false, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(pem); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := tmp.Close(); err != nil {
		return nil, false, err
	}
	// A hard link, unlike a rename, never replaces a file another
	// process put there first.
	err = os.Link(tmp.Name(), path)
	if errors.Is(err, fs.ErrExist) {
		k, err = readKeptKey(path)
		return k, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return k, true, nil
}

// readKeptKey reads the signing key kept at path, refusing a file that
// group or others may read or write: it signs tokens for every user.
func readKeptKey(path string) (*jwtauth.Key, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("mode %v lets group or others read or write the key: run chmod 600 %s (and consider the key leaked if others could read it: delete the file, and a new key is made on the next start, ending every token signed with the old one)", perm, path)
	}
	keys, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	if len(keys) != 1 || !keys[0].CanSign() {
		return nil, errors.New("want exactly one private key")
	}
	return keys[0], nil
}
