package userstore

import (
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"
)

func TestNewBcrypt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		cost     int
		insecure bool
		want     int // 0: an error is expected
	}{
		{"zero means 12", 0, false, 12},
		{"floor", 10, false, 10},
		{"cap", 16, false, 16},
		{"below floor", 9, false, 0},
		{"above cap", 17, false, 0},
		{"x/crypto max", 31, false, 0},
		{"negative", -1, false, 0},
		{"insecure minimum", 4, true, 4},
		{"insecure zero means 12", 0, true, 12},
		{"insecure below minimum", 3, true, 0},
		{"insecure above cap", 17, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			newFn := NewBcrypt
			if tc.insecure {
				newFn = NewInsecureBcrypt
			}
			h, err := newFn(tc.cost)
			if tc.want == 0 {
				if err == nil {
					t.Errorf("new(%d) = cost %d, nil; want an error", tc.cost, h.Cost())
				}
				return
			}
			if err != nil {
				t.Fatalf("new(%d): %v", tc.cost, err)
			}
			if got := h.Cost(); got != tc.want {
				t.Errorf("Cost() = %d, want %d", got, tc.want)
			}
		})
	}
}

var bcryptMCF = regexp.MustCompile(`^\$2a\$04\$[./A-Za-z0-9]{53}$`)

func TestBcryptHash(t *testing.T) {
	t.Parallel()
	h := newCheapBcrypt(t)
	pw := rand.Text()
	enc := mustHash(t, h, pw)
	if !bcryptMCF.MatchString(enc) {
		t.Fatalf("Hash = %q, want a match for %s", enc, bcryptMCF)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(enc), []byte(pw)); err != nil {
		t.Errorf("x/crypto CompareHashAndPassword(Hash) = %v, want nil", err)
	}
	if ok, err := h.Verify(enc, pw); !ok || err != nil {
		t.Errorf("Verify(right password) = %v, %v; want true, nil", ok, err)
	}
	if ok, err := h.Verify(enc, pw+"x"); ok || err != nil {
		t.Errorf("Verify(wrong password) = %v, %v; want false, nil", ok, err)
	}
	// Hashes made elsewhere, in each accepted variant and at another cost.
	other, err := bcrypt.GenerateFromPassword([]byte(pw), 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		enc := prefix + string(other[4:])
		if ok, err := h.Verify(enc, pw); !ok || err != nil {
			t.Errorf("Verify(%s...) = %v, %v; want true, nil", prefix, ok, err)
		}
	}
}

func TestBcryptNFKC(t *testing.T) {
	t.Parallel()
	testNFKC(t, newCheapBcrypt(t))
}

// TestBcryptMigratedRawHash checks that a bcrypt hash migrated from a
// system that hashed the password's bytes as typed, without NFKC (passlib,
// x/crypto used directly), still verifies when the password is not in NFKC
// form: a no-break space, full-width letters, a decomposed accent.
func TestBcryptMigratedRawHash(t *testing.T) {
	t.Parallel()
	h := newCheapBcrypt(t)
	for _, raw := range []string{"pass\u00a0word ", "\uff30\uff41\uff53\uff53 ", "A\u030a "} {
		t.Run(fmt.Sprintf("%+q", raw), func(t *testing.T) {
			t.Parallel()
			pw := raw + rand.Text()
			b, err := bcrypt.GenerateFromPassword([]byte(pw), 4)
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := h.Verify(string(b), pw); !ok || err != nil {
				t.Errorf("Verify(migrated hash, password as hashed) = %v, %v; want true, nil", ok, err)
			}
			if ok, err := h.Verify(string(b), pw+"x"); ok || err != nil {
				t.Errorf("Verify(migrated hash, other password) = %v, %v; want false, nil", ok, err)
			}
			// Hashes made here are of the NFKC form, which both forms match.
			enc := mustHash(t, h, pw)
			for _, cand := range []string{pw, norm.NFKC.String(pw)} {
				if ok, err := h.Verify(enc, cand); !ok || err != nil {
					t.Errorf("Verify(own hash, %+q) = %v, %v; want true, nil", cand, ok, err)
				}
			}
		})
	}
}

// TestBcrypt72Bytes checks that bcrypt neither hashes nor accepts a
// password it would silently truncate.
func TestBcrypt72Bytes(t *testing.T) {
	t.Parallel()
	h := newCheapBcrypt(t)
	pw72 := strings.Repeat(rand.Text(), 3)[:72]

	if _, err := h.Hash(pw72 + "x"); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("Hash(73 bytes) err = %v, want ErrPasswordTooLong", err)
	}
	// "é" is two bytes: 71 ASCII bytes and one é are 73 bytes.
	if _, err := h.Hash(pw72[:71] + "é"); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("Hash(72 characters, 73 bytes) err = %v, want ErrPasswordTooLong", err)
	}
	// NFKC can lengthen a password: "ﬃ" (3 bytes) becomes "ffi".
	if _, err := h.Hash(pw72[:70] + "ﬃ"); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("Hash(73 bytes once normalised) err = %v, want ErrPasswordTooLong", err)
	}
	enc := mustHash(t, h, pw72)
	if ok, err := h.Verify(enc, pw72); !ok || err != nil {
		t.Errorf("Verify(72 bytes) = %v, %v; want true, nil", ok, err)
	}
	long := pw72 + rand.Text()
	if err := bcrypt.CompareHashAndPassword([]byte(enc), []byte(long)); err != nil {
		t.Logf("x/crypto no longer accepts a suffix past 72 bytes: %v", err)
	}
	if ok, err := h.Verify(enc, long); ok || err != nil {
		t.Errorf("Verify(72 bytes + suffix) = %v, %v; want false, nil", ok, err)
	}
}

// TestBcryptNUL checks that a NUL byte cannot end a password early.
func TestBcryptNUL(t *testing.T) {
	t.Parallel()
	h := newCheapBcrypt(t)
	pw := rand.Text()
	enc := mustHash(t, h, pw)
	// bcrypt cycles through password+NUL to fill its 72-byte key, so
	// pw+NUL+pw expands to the same key as pw.
	withNUL := pw + "\x00" + pw
	if err := bcrypt.CompareHashAndPassword([]byte(enc), []byte(withNUL)); err != nil {
		t.Logf("x/crypto no longer equates pw and pw+NUL+pw: %v", err)
	}
	for _, cand := range []string{withNUL, pw + "\x00", "\x00" + pw, pw + "\x00" + rand.Text()} {
		if ok, err := h.Verify(enc, cand); ok || err != nil {
			t.Errorf("Verify(%q) = %v, %v; want false, nil", cand, ok, err)
		}
	}
	if _, err := h.Hash(withNUL); !errors.Is(err, ErrInvalidPassword) {
		t.Errorf("Hash(password with NUL) err = %v, want ErrInvalidPassword", err)
	}
}

func TestBcryptHostile(t *testing.T) {
	t.Parallel()
	h := newCheapBcrypt(t)
	pw := rand.Text()
	body := strings.Repeat("a", 53)
	for _, tc := range []struct {
		name, encoded string
		want          error
	}{
		{"empty", "", ErrUnknownHashFormat},
		{"2x variant", "$2x$04$" + body, ErrUnknownHashFormat},
		{"2 variant", "$2$04$" + body, ErrUnknownHashFormat},
		{"no dollar", "2b$04$" + body, ErrUnknownHashFormat},
		{"prefix only", "$2b$", ErrMalformedHash},
		{"cost 31", "$2b$31$" + body, ErrMalformedHash},
		{"cost 17", "$2b$17$" + body, ErrMalformedHash},
		{"cost 03", "$2b$03$" + body, ErrMalformedHash},
		{"cost 00", "$2b$00$" + body, ErrMalformedHash},
		{"cost 4 unpadded", "$2b$4$" + body + "a", ErrMalformedHash},
		{"cost letters", "$2b$1a$" + body, ErrMalformedHash},
		{"cost sign", "$2b$+5$" + body, ErrMalformedHash},
		{"cost space", "$2b$ 5$" + body, ErrMalformedHash},
		{"short", "$2b$04$" + body[:52], ErrMalformedHash},
		{"long", "$2b$04$" + body + "a", ErrMalformedHash},
		{"huge", "$2b$04$" + strings.Repeat("a", 1<<20), ErrMalformedHash},
		{"missing separator", "$2b$04a" + body, ErrMalformedHash},
		{"bad character", "$2b$04$" + body[:52] + "!", ErrMalformedHash},
		{"std base64 character", "$2b$04$" + body[:52] + "+", ErrMalformedHash},
		{"dollar in body", "$2b$04$" + body[:52] + "$", ErrMalformedHash},
		{"NUL in body", "$2b$04$" + body[:52] + "\x00", ErrMalformedHash},
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
	if ok, err := h.Verify("$2b$04$"+body, pw); ok || err != nil {
		t.Errorf("Verify(template) = %v, %v; want false, nil", ok, err)
	}
}

func TestBcryptNeedsRehash(t *testing.T) {
	t.Parallel()
	h := newCheapBcrypt(t)
	pw := rand.Text()
	h5, err := NewInsecureBcrypt(5)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, encoded string
		want          bool
	}{
		{"same cost", mustHash(t, h, pw), false},
		{"same cost, 2b", "$2b$04$" + strings.Repeat("a", 53), false},
		{"higher cost", mustHash(t, h5, pw), true},
		{"argon2id", mustHash(t, newCheapArgon2id(t), pw), true},
		{"malformed", "$2b$04$", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := h.NeedsRehash(tc.encoded); got != tc.want {
				t.Errorf("NeedsRehash = %v, want %v", got, tc.want)
			}
		})
	}
}

func BenchmarkBcrypt(b *testing.B) {
	h, err := NewBcrypt(0)
	if err != nil {
		b.Fatal(err)
	}
	pw := rand.Text()
	b.Run(fmt.Sprintf("Hash/cost=%d", h.Cost()), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := h.Hash(pw); err != nil {
				b.Fatal(err)
			}
		}
	})
	enc := mustHash(b, h, pw)
	b.Run(fmt.Sprintf("Verify/cost=%d", h.Cost()), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, err := h.Verify(enc, pw); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}
