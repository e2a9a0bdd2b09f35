package userstore

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestPBKDF2Verify(t *testing.T) {
	t.Parallel()
	h := NewPBKDF2SHA256()
	pw := rand.Text() + "é+/."
	enc := passlibPBKDF2(t, pw, 1000)
	if ok, err := h.Verify(enc, pw); !ok || err != nil {
		t.Errorf("Verify(right password) = %v, %v; want true, nil", ok, err)
	}
	if ok, err := h.Verify(enc, pw+"x"); ok || err != nil {
		t.Errorf("Verify(wrong password) = %v, %v; want false, nil", ok, err)
	}
	if !h.NeedsRehash(enc) {
		t.Error("NeedsRehash = false, want true")
	}
	if s, err := h.Hash(pw); s != "" || !errors.Is(err, ErrVerifyOnly) {
		t.Errorf("Hash = %q, %v; want \"\", ErrVerifyOnly", s, err)
	}
}

// TestPBKDF2KnownAnswer checks a hash made by another implementation:
// Python's hashlib.pbkdf2_hmac("sha256", b"password", b"saltsaltsaltsalt",
// 29000, 32) in passlib's adapted base64. The password is the textbook
// test input, not a secret.
func TestPBKDF2KnownAnswer(t *testing.T) {
	t.Parallel()
	const enc = "$pbkdf2-sha256$29000$c2FsdHNhbHRzYWx0c2FsdA$7xwbY5rCP.qJhnvJ80W3FI7hSRg8wNnl3S9rczjVuCk"
	h := NewPBKDF2SHA256()
	for _, tc := range []struct {
		password string
		want     bool
	}{
		{"password", true},
		{"Password", false},
		{"password ", false},
	} {
		if ok, err := h.Verify(enc, tc.password); ok != tc.want || err != nil {
			t.Errorf("Verify(%q) = %v, %v; want %v, nil", tc.password, ok, err, tc.want)
		}
	}
}

// TestPBKDF2NoNFKC documents that the legacy verifier, like passlib, hashes
// the password's bytes as given.
func TestPBKDF2NoNFKC(t *testing.T) {
	t.Parallel()
	suffix := rand.Text()
	enc := passlibPBKDF2(t, "\u00c5"+suffix, 1000)
	h := NewPBKDF2SHA256()
	if ok, err := h.Verify(enc, "\u00c5"+suffix); !ok || err != nil {
		t.Errorf("Verify(same bytes) = %v, %v; want true, nil", ok, err)
	}
	if ok, err := h.Verify(enc, "A\u030a"+suffix); ok || err != nil {
		t.Errorf("Verify(decomposed form) = %v, %v; want false, nil", ok, err)
	}
}

func TestPBKDF2Hostile(t *testing.T) {
	t.Parallel()
	h := NewPBKDF2SHA256()
	pw := rand.Text()
	valid := passlibPBKDF2(t, pw, 1000)
	f := strings.Split(valid, "$") // "", "pbkdf2-sha256", rounds, salt, hash
	salt, key := f[3], f[4]
	enc := func(rounds, salt, key string) string {
		return "$pbkdf2-sha256$" + rounds + "$" + salt + "$" + key
	}
	for _, tc := range []struct {
		name, encoded string
		want          error
	}{
		{"empty", "", ErrUnknownHashFormat},
		{"pbkdf2-sha512", "$pbkdf2-sha512$1000$" + salt + "$" + key, ErrUnknownHashFormat},
		{"pbkdf2", "$pbkdf2$1000$" + salt + "$" + key, ErrUnknownHashFormat},
		{"Django format", "pbkdf2_sha256$1000$" + salt + "$" + key, ErrUnknownHashFormat},
		{"missing hash", "$pbkdf2-sha256$1000$" + salt, ErrMalformedHash},
		{"extra field", enc("1000", salt, key) + "$x", ErrMalformedHash},
		{"empty salt", enc("1000", "", key), ErrMalformedHash},
		{"rounds 0", enc("0", salt, key), ErrMalformedHash},
		{"rounds billions", enc("4000000000", salt, key), ErrMalformedHash},
		{"rounds just over cap", enc("5000001", salt, key), ErrMalformedHash},
		{"rounds overflow", enc("99999999999999999999999", salt, key), ErrMalformedHash},
		{"rounds zero-padded", enc("01000", salt, key), ErrMalformedHash},
		{"rounds negative", enc("-1000", salt, key), ErrMalformedHash},
		{"rounds hex", enc("0x3e8", salt, key), ErrMalformedHash},
		{"rounds with space", enc("1000 ", salt, key), ErrMalformedHash},
		{"plus in salt", enc("1000", strings.ReplaceAll(salt, ".", "+")+"+", key), ErrMalformedHash},
		{"bad base64", enc("1000", "!!!!", key), ErrMalformedHash},
		{"padded", enc("1000", salt+"==", key), ErrMalformedHash},
		{"line break", enc("1000", salt[:4]+"\n"+salt[4:], key), ErrMalformedHash},
		{"salt 65 bytes", enc("1000", b64(65), key), ErrMalformedHash},
		{"hash 8 bytes", enc("1000", salt, b64(8)), ErrMalformedHash},
		{"hash 65 bytes", enc("1000", salt, b64(65)), ErrMalformedHash},
		{"huge", enc("1000", salt, strings.Repeat("A", 1<<20)), ErrMalformedHash},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ok, err := h.Verify(tc.encoded, pw)
			if ok || !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, %v; want false, %v", ok, err, tc.want)
			}
		})
	}
	if _, _, _, err := parsePBKDF2(enc("5000000", b64(64), b64(64))); err != nil {
		t.Errorf("parsePBKDF2(bounds) err = %v, want nil", err)
	}
}

func BenchmarkPBKDF2Verify(b *testing.B) {
	h := NewPBKDF2SHA256()
	pw := rand.Text()
	for _, rounds := range []int{29000, 100000} {
		enc := passlibPBKDF2(b, pw, rounds)
		b.Run(fmt.Sprintf("rounds=%d", rounds), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, err := h.Verify(enc, pw); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}
