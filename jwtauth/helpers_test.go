package jwtauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testIssuer   = "https://auth.example.com"
	testAudience = "https://api.example.com"
	testClient   = "app"
)

// testT0 is the fixed "now" of tests.
var testT0 = time.Unix(1_800_000_000, 0)

// testClock is a settable clock.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(testT0.UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Add(d time.Duration)     { c.ns.Add(int64(d)) }
func (c *testClock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *testClock) Since(t time.Time) int64 { return c.ns.Load() - t.UnixNano() }

// rsaTestKey generates one 2048-bit RSA key per test binary: generation is
// slow and the key is never modified.
var rsaTestKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func mustKey(t testing.TB, alg Algorithm) *Key {
	t.Helper()
	if fam, _ := alg.family(); fam == famRSA || fam == famPSS {
		k, err := NewKey(alg, rsaTestKey(), "")
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k, err := GenerateKey(alg)
	if err != nil {
		t.Fatalf("GenerateKey(%s): %v", alg, err)
	}
	return k
}

type testEnv struct {
	jwt   *JWT
	keys  *KeySet
	key   *Key
	clock *testClock
}

func newTestEnv(t testing.TB, alg Algorithm, cacheSize int) *testEnv {
	t.Helper()
	k := mustKey(t, alg)
	ks, err := NewKeySet(k)
	if err != nil {
		t.Fatal(err)
	}
	clock := newTestClock()
	j, err := New(Config{Keys: ks, Issuer: testIssuer, Audience: []string{testAudience}, CacheSize: cacheSize, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{jwt: j, keys: ks, key: k, clock: clock}
}

func (e *testEnv) issue(t testing.TB, c Claims) string {
	t.Helper()
	tok, err := e.jwt.Issue(context.Background(), c)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return tok.Raw
}

func b64s(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// forge builds a compact token from raw header and payload JSON, signed
// with k's key material under k's algorithm.
func forge(t testing.TB, k *Key, header, payload string) string {
	t.Helper()
	input := b64s(header) + "." + b64s(payload)
	return input + "." + base64.RawURLEncoding.EncodeToString(rawSign(t, k, []byte(input)))
}

func rawSign(t testing.TB, k *Key, input []byte) []byte {
	t.Helper()
	fam, _ := k.alg.family()
	switch fam {
	case famHMAC:
		return hmacSign(k.alg, k.secret, input)
	case famEd:
		return ed25519.Sign(k.signer.(ed25519.PrivateKey), input)
	case famEC:
		priv := k.signer.(*ecdsa.PrivateKey)
		r, s, err := ecdsa.Sign(rand.Reader, priv, digest(k.hash, input))
		if err != nil {
			t.Fatal(err)
		}
		size := (priv.Curve.Params().BitSize + 7) / 8
		sig := make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
		return sig
	case famRSA:
		sig, err := rsa.SignPKCS1v15(rand.Reader, k.signer.(*rsa.PrivateKey), k.hash, digest(k.hash, input))
		if err != nil {
			t.Fatal(err)
		}
		return sig
	case famPSS:
		sig, err := rsa.SignPSS(rand.Reader, k.signer.(*rsa.PrivateKey), k.hash, digest(k.hash, input), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	t.Fatalf("cannot sign with %s", k.alg)
	return nil
}

func hmacSign(alg Algorithm, secret, input []byte) []byte {
	_, h := alg.family()
	m := hmac.New(newHash(h), secret)
	m.Write(input)
	return m.Sum(nil)
}

// hdr returns a header JSON with alg, kid and typ at+jwt.
func hdr(alg Algorithm, kid string) string {
	return `{"alg":"` + string(alg) + `","kid":"` + kid + `","typ":"at+jwt"}`
}

// payload returns a valid claims JSON for the test environment, with extra
// members appended verbatim.
func payload(extra string) string { return payloadWithout(nil, extra) }

// payloadWithout is payload without the named members of the valid claims.
func payloadWithout(omit []string, extra string) string {
	members := []struct{ name, value string }{
		{"iss", strconv.Quote(testIssuer)},
		{"sub", `"alice"`},
		{"aud", strconv.Quote(testAudience)},
		{"exp", strconv.FormatInt(testT0.Add(time.Hour).Unix(), 10)},
		{"iat", strconv.FormatInt(testT0.Unix(), 10)},
		{"jti", `"jti-1"`},
		{"client_id", strconv.Quote(testClient)},
	}
	var parts []string
	for _, m := range members {
		if !slices.Contains(omit, m.name) {
			parts = append(parts, strconv.Quote(m.name)+":"+m.value)
		}
	}
	if extra != "" {
		parts = append(parts, extra)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// withIDs inserts the "jti" and "client_id" of the valid claims at the
// start of the claims object in p.
func withIDs(p string) string {
	i := strings.IndexByte(p, '{')
	return p[:i+1] + `"jti":"jti-1","client_id":"` + testClient + `",` + p[i+1:]
}

// withProfile inserts the "iat", "jti" and "client_id" of the valid claims
// at the start of the claims object in p.
func withProfile(p string) string {
	return withIDs(strings.Replace(p, "{", `{"iat":`+strconv.FormatInt(testT0.Unix(), 10)+",", 1))
}

// logBuffer collects the output of a text slog handler; it is safe for
// concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newTestLogger returns a logger of every level writing into a logBuffer.
func newTestLogger() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}
