package userstore

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

func TestNewArgon2id(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		p        Argon2idParams
		insecure bool
		want     Argon2idParams // zero: an error is expected
	}{
		{"zero means defaults", Argon2idParams{}, false, DefaultArgon2idParams()},
		{"OWASP floor", Argon2idParams{Memory: 19456, Time: 2, Threads: 1}, false, Argon2idParams{19456, 2, 1}},
		{"OWASP m=46 MiB t=1", Argon2idParams{Memory: 47104, Time: 1}, false, Argon2idParams{47104, 1, 1}},
		{"RFC 9106 second choice", Argon2idParams{Memory: 64 << 10, Time: 3, Threads: 4}, false, Argon2idParams{65536, 3, 4}},
		{"memory below floor", Argon2idParams{Memory: 19455, Time: 2}, false, Argon2idParams{}},
		{"floor memory, one pass", Argon2idParams{Memory: 19456, Time: 1}, false, Argon2idParams{}},
		{"cheap refused", cheapArgon2, false, Argon2idParams{}},
		{"memory above cap", Argon2idParams{Memory: 256<<10 + 1, Time: 1}, false, Argon2idParams{}},
		{"time above cap", Argon2idParams{Memory: 19456, Time: 17}, false, Argon2idParams{}},
		{"threads above cap", Argon2idParams{Memory: 19456, Threads: 17}, false, Argon2idParams{}},
		{"work above cap", Argon2idParams{Memory: 256 << 10, Time: 5}, false, Argon2idParams{}},
		{"insecure cheap", cheapArgon2, true, cheapArgon2},
		{"insecure zero means defaults", Argon2idParams{}, true, DefaultArgon2idParams()},
		{"insecure memory below 8 per thread", Argon2idParams{Memory: 31, Time: 1, Threads: 4}, true, Argon2idParams{}},
		{"insecure time above cap", Argon2idParams{Memory: 64, Time: 17, Threads: 1}, true, Argon2idParams{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			newFn := NewArgon2id
			if tc.insecure {
				newFn = NewInsecureArgon2id
			}
			h, err := newFn(tc.p)
			if tc.want == (Argon2idParams{}) {
				if err == nil {
					t.Errorf("new(%+v) = %+v, nil; want an error", tc.p, h.Params())
				}
				return
			}
			if err != nil {
				t.Fatalf("new(%+v): %v", tc.p, err)
			}
			if got := h.Params(); got != tc.want {
				t.Errorf("Params() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

var argon2idPHC = regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$`)

func TestArgon2idHash(t *testing.T) {
	t.Parallel()
	h := newCheapArgon2id(t)
	pw := rand.Text()
	enc := mustHash(t, h, pw)
	m := argon2idPHC.FindStringSubmatch(enc)
	if m == nil {
		t.Fatalf("Hash = %q, want a match for %s", enc, argon2idPHC)
	}
	// Recompute the key from the encoded salt with x/crypto directly, so
	// that the encoding is checked independently of the decoder.
	salt, err := base64.RawStdEncoding.DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	key := argon2.IDKey([]byte(pw), salt, 1, 64, 1, 32)
	if got, want := m[2], base64.RawStdEncoding.EncodeToString(key); got != want {
		t.Errorf("encoded key = %s, want %s", got, want)
	}
	if again := mustHash(t, h, pw); again == enc {
		t.Error("two hashes of one password are equal: salt not random")
	}
	if ok, err := h.Verify(enc, pw); !ok || err != nil {
		t.Errorf("Verify(right password) = %v, %v; want true, nil", ok, err)
	}
	for _, wrong := range []string{"", pw + "x", pw[:len(pw)-1], strings.ToLower(pw)} {
		if ok, err := h.Verify(enc, wrong); ok || err != nil {
			t.Errorf("Verify(wrong password) = %v, %v; want false, nil", ok, err)
		}
	}
	// Verify reads the parameters from the string, not from the hasher.
	other, err := NewInsecureArgon2id(Argon2idParams{Memory: 256, Time: 2, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := other.Verify(enc, pw); !ok || err != nil {
		t.Errorf("Verify by a hasher with other params = %v, %v; want true, nil", ok, err)
	}
}

// nfkcPairs are passwords that differ in bytes but not after NFKC.
var nfkcPairs = []struct{ name, a, b string }{
	{"composed and decomposed Å", "\u00c5ngstr\u00f6m", "A\u030angstro\u0308m"},
	{"Angstrom sign", "\u212b", "\u00c5"},
	{"fullwidth letters", "ｐａｓｓｗｏｒｄ", "password"},
	{"ligature", "\ufb01le", "file"},
}

func testNFKC(t *testing.T, h PasswordHasher) {
	for _, tc := range nfkcPairs {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			suffix := rand.Text()
			enc := mustHash(t, h, tc.a+suffix)
			if ok, err := h.Verify(enc, tc.b+suffix); !ok || err != nil {
				t.Errorf("Verify(NFKC-equivalent form) = %v, %v; want true, nil", ok, err)
			}
			enc = mustHash(t, h, tc.b+suffix)
			if ok, err := h.Verify(enc, tc.a+suffix); !ok || err != nil {
				t.Errorf("Verify(NFKC-equivalent form, reversed) = %v, %v; want true, nil", ok, err)
			}
		})
	}
}

func TestArgon2idNFKC(t *testing.T) {
	t.Parallel()
	testNFKC(t, newCheapArgon2id(t))
}

// b64 encodes n bytes of a fixed pattern in unpadded base64.
func b64(n int) string {
	return base64.RawStdEncoding.EncodeToString([]byte(strings.Repeat("s", n)))
}

func TestArgon2idHostile(t *testing.T) {
	t.Parallel()
	h := newCheapArgon2id(t)
	pw := rand.Text()
	salt, key := b64(16), b64(32)
	phc := func(version, params, salt, key string) string {
		return "$argon2id$" + version + "$" + params + "$" + salt + "$" + key
	}
	for _, tc := range []struct {
		name, encoded string
		want          error
	}{
		{"empty", "", ErrUnknownHashFormat},
		{"no dollar", "argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key, ErrUnknownHashFormat},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key, ErrUnknownHashFormat},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key, ErrUnknownHashFormat},
		{"uppercase id", "$ARGON2ID$v=19$m=64,t=1,p=1$" + salt + "$" + key, ErrUnknownHashFormat},
		{"id only", "$argon2id", ErrUnknownHashFormat},
		{"id and dollar", "$argon2id$", ErrMalformedHash},
		{"missing hash", "$argon2id$v=19$m=64,t=1,p=1$" + salt, ErrMalformedHash},
		{"missing version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key, ErrMalformedHash},
		{"extra field", phc("v=19", "m=64,t=1,p=1", salt, key) + "$" + key, ErrMalformedHash},
		{"trailing dollar", phc("v=19", "m=64,t=1,p=1", salt, key) + "$", ErrMalformedHash},
		{"empty salt", phc("v=19", "m=64,t=1,p=1", "", key), ErrMalformedHash},
		{"version 16", phc("v=16", "m=64,t=1,p=1", salt, key), ErrMalformedHash},
		{"version 019", phc("v=019", "m=64,t=1,p=1", salt, key), ErrMalformedHash},
		{"version 20", phc("v=20", "m=64,t=1,p=1", salt, key), ErrMalformedHash},
		{"t=0", phc("v=19", "m=64,t=0,p=1", salt, key), ErrMalformedHash},
		{"p=0", phc("v=19", "m=64,t=1,p=0", salt, key), ErrMalformedHash},
		{"m=0", phc("v=19", "m=0,t=1,p=1", salt, key), ErrMalformedHash},
		{"m below 8 per thread", phc("v=19", "m=15,t=1,p=2", salt, key), ErrMalformedHash},
		{"m terabytes", phc("v=19", "m=4294967295,t=1,p=1", salt, key), ErrMalformedHash},
		{"m overflows uint32", phc("v=19", "m=4294967296,t=1,p=1", salt, key), ErrMalformedHash},
		{"m overflows uint64", phc("v=19", "m=99999999999999999999999,t=1,p=1", salt, key), ErrMalformedHash},
		{"m just over 256 MiB", phc("v=19", "m=262145,t=1,p=1", salt, key), ErrMalformedHash},
		{"t billions", phc("v=19", "m=64,t=4000000000,p=1", salt, key), ErrMalformedHash},
		{"t over cap", phc("v=19", "m=64,t=17,p=1", salt, key), ErrMalformedHash},
		{"p over cap", phc("v=19", "m=1024,t=1,p=17", salt, key), ErrMalformedHash},
		{"p=255", phc("v=19", "m=65536,t=1,p=255", salt, key), ErrMalformedHash},
		{"p overflows uint8", phc("v=19", "m=65536,t=1,p=257", salt, key), ErrMalformedHash},
		{"memory×time over cap", phc("v=19", "m=262144,t=5,p=1", salt, key), ErrMalformedHash},
		{"duplicate m", phc("v=19", "m=64,m=64,t=1,p=1", salt, key), ErrMalformedHash},
		{"duplicate t instead of p", phc("v=19", "m=64,t=1,t=1", salt, key), ErrMalformedHash},
		{"misordered", phc("v=19", "t=1,m=64,p=1", salt, key), ErrMalformedHash},
		{"missing p", phc("v=19", "m=64,t=1", salt, key), ErrMalformedHash},
		{"extra keyid", phc("v=19", "m=64,t=1,p=1,keyid=abc", salt, key), ErrMalformedHash},
		{"data param", phc("v=19", "m=64,t=1,p=1,data=abc", salt, key), ErrMalformedHash},
		{"empty value", phc("v=19", "m=,t=1,p=1", salt, key), ErrMalformedHash},
		{"no equals", phc("v=19", "m64,t=1,p=1", salt, key), ErrMalformedHash},
		{"space", phc("v=19", "m=64, t=1,p=1", salt, key), ErrMalformedHash},
		{"plus sign", phc("v=19", "m=+64,t=1,p=1", salt, key), ErrMalformedHash},
		{"minus sign", phc("v=19", "m=-64,t=1,p=1", salt, key), ErrMalformedHash},
		{"hex", phc("v=19", "m=0x40,t=1,p=1", salt, key), ErrMalformedHash},
		{"leading zero", phc("v=19", "m=064,t=1,p=1", salt, key), ErrMalformedHash},
		{"fullwidth digits", phc("v=19", "m=６４,t=1,p=1", salt, key), ErrMalformedHash},
		{"bad base64 salt", phc("v=19", "m=64,t=1,p=1", "!!!!!!!!!!!!!!!!!!!!!!", key), ErrMalformedHash},
		{"bad base64 hash", phc("v=19", "m=64,t=1,p=1", salt, strings.Repeat("*", 43)), ErrMalformedHash},
		{"padded base64", phc("v=19", "m=64,t=1,p=1", salt+"==", key), ErrMalformedHash},
		{"URL base64", phc("v=19", "m=64,t=1,p=1", "____________________-A", key), ErrMalformedHash},
		{"line break in salt", phc("v=19", "m=64,t=1,p=1", salt[:10]+"\n"+salt[10:], key), ErrMalformedHash},
		{"non-canonical trailing bits", phc("v=19", "m=64,t=1,p=1", salt[:21]+"t", key), ErrMalformedHash},
		{"impossible base64 length", phc("v=19", "m=64,t=1,p=1", salt+"AAA", key), ErrMalformedHash},
		{"salt 4 bytes", phc("v=19", "m=64,t=1,p=1", b64(4), key), ErrMalformedHash},
		{"salt 65 bytes", phc("v=19", "m=64,t=1,p=1", b64(65), key), ErrMalformedHash},
		{"key 8 bytes", phc("v=19", "m=64,t=1,p=1", salt, b64(8)), ErrMalformedHash},
		{"key 65 bytes", phc("v=19", "m=64,t=1,p=1", salt, b64(65)), ErrMalformedHash},
		{"huge string", phc("v=19", "m=64,t=1,p=1", salt, strings.Repeat("A", 1<<20)), ErrMalformedHash},
		{"NUL", phc("v=19", "m=64,t=1,p=1\x00", salt, key), ErrMalformedHash},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ok, err := h.Verify(tc.encoded, pw)
			if ok || !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, %v; want false, %v", ok, err, tc.want)
			}
			if !h.NeedsRehash(tc.encoded) {
				t.Error("NeedsRehash = false, want true")
			}
		})
	}
	// Sanity: the template itself is well formed, so each row above fails
	// for its own reason.
	if _, err := h.Verify(phc("v=19", "m=64,t=1,p=1", salt, key), pw); err != nil {
		t.Errorf("Verify(template) err = %v, want nil", err)
	}
	// The bounds themselves are accepted (decoded only: computing them is
	// what the bounds are for).
	for _, params := range []string{"m=262144,t=4,p=1", "m=65536,t=16,p=16", "m=8,t=1,p=1"} {
		if _, err := parseArgon2id(phc("v=19", params, b64(64), b64(64))); err != nil {
			t.Errorf("parseArgon2id(%s, 64-byte salt and key): %v", params, err)
		}
	}
}

func TestArgon2idNeedsRehash(t *testing.T) {
	t.Parallel()
	h := newCheapArgon2id(t)
	pw := rand.Text()
	enc := mustHash(t, h, pw)
	salt, key := b64(16), b64(32)
	for _, tc := range []struct {
		name, encoded string
		want          bool
	}{
		{"same params", enc, false},
		{"same params, other salt and key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key, false},
		{"more memory", "$argon2id$v=19$m=128,t=1,p=1$" + salt + "$" + key, true},
		{"more time", "$argon2id$v=19$m=64,t=2,p=1$" + salt + "$" + key, true},
		{"more threads", "$argon2id$v=19$m=64,t=1,p=2$" + salt + "$" + key, true},
		{"short salt", "$argon2id$v=19$m=64,t=1,p=1$" + b64(8) + "$" + key, true},
		{"short key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + b64(16), true},
		{"bcrypt", mustHash(t, newCheapBcrypt(t), pw), true},
		{"malformed", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key, true},
		{"empty", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := h.NeedsRehash(tc.encoded); got != tc.want {
				t.Errorf("NeedsRehash = %v, want %v", got, tc.want)
			}
		})
	}
}

func BenchmarkArgon2id(b *testing.B) {
	h, err := NewArgon2id(DefaultArgon2idParams())
	if err != nil {
		b.Fatal(err)
	}
	pw := rand.Text()
	b.Run(fmt.Sprintf("Hash/m=%d,t=%d,p=%d", h.p.Memory, h.p.Time, h.p.Threads), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := h.Hash(pw); err != nil {
				b.Fatal(err)
			}
		}
	})
	enc := mustHash(b, h, pw)
	b.Run(fmt.Sprintf("Verify/m=%d,t=%d,p=%d", h.p.Memory, h.p.Time, h.p.Threads), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, err := h.Verify(enc, pw); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseArgon2id(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
