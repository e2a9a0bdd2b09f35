package oauth2pw

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/userstore"
)

// benchHasher returns the dispatching hasher over argon2id with params p.
func benchHasher(b *testing.B, p userstore.Argon2idParams) *userstore.Hasher {
	b.Helper()
	a, err := userstore.NewInsecureArgon2id(p)
	if err != nil {
		b.Fatal(err)
	}
	h, err := userstore.NewHasher(userstore.HasherConfig{Preferred: a})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

var benchParams = []struct {
	name string
	p    userstore.Argon2idParams
}{
	{"argon2id-default", userstore.DefaultArgon2idParams()},
	{"argon2id-cheap", userstore.Argon2idParams{Memory: 64, Time: 1, Threads: 1}},
}

// BenchmarkTokenEndpoint measures one successful login through the handler
// (form parsing, throttling, user lookup, Verify, token signing with
// EdDSA, JSON answer), next to Verify alone with the same hasher, so that
// the endpoint's overhead over the hash is their ratio.
func BenchmarkTokenEndpoint(b *testing.B) {
	for _, bp := range benchParams {
		hasher := benchHasher(b, bp.p)
		e := newEnv(b, func(e *env, c *Config) { c.Hasher = hasher })
		// newEnv hashed the users' passwords with its cheap hasher: store
		// one made by this benchmark's hasher.
		hash, err := hasher.Hash(e.bob.password)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.store.SetPasswordHash(context.Background(), e.bob.ID, hash); err != nil {
			b.Fatal(err)
		}
		body := login(e.bob.Username, e.bob.password).Encode()

		b.Run(bp.name+"/endpoint", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				w := httptest.NewRecorder()
				e.h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status = %d; body %s", w.Code, w.Body)
				}
			}
		})
		b.Run(bp.name+"/verify-only", func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				if ok, err := hasher.VerifyContext(ctx, hash, e.bob.password); !ok || err != nil {
					b.Fatalf("Verify = %v, %v", ok, err)
				}
			}
		})
	}
}

// freeHasher is a PasswordHasher that costs nothing: the endpoint over it
// shows the endpoint's own cost. Its "hashes" are the passwords.
type freeHasher struct{}

func (freeHasher) Hash(pw string) (string, error) { return "$free$" + pw, nil }
func (freeHasher) Verify(encoded, pw string) (bool, error) {
	return subtle.ConstantTimeCompare([]byte(encoded), []byte("$free$"+pw)) == 1, nil
}
func (freeHasher) NeedsRehash(string) bool { return false }

// BenchmarkTokenEndpointOwnCost measures a successful login over a hasher
// that costs nothing: the endpoint's own cost (form, throttle, store,
// EdDSA signing, JSON), to add to a Verify for the full login.
func BenchmarkTokenEndpointOwnCost(b *testing.B) {
	e := newEnv(b, func(e *env, c *Config) { c.Hasher = freeHasher{} })
	benchFreeLogins(b, e)
}

// benchFreeLogins times password logins of bob through e's handler, whose
// hasher must be freeHasher.
func benchFreeLogins(b *testing.B, e *env) {
	b.Helper()
	if err := e.store.SetPasswordHash(context.Background(), e.bob.ID, "$free$"+e.bob.password); err != nil {
		b.Fatal(err)
	}
	body := login(e.bob.Username, e.bob.password).Encode()
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status = %d; body %s", w.Code, w.Body)
		}
	}
}

// BenchmarkTokenEndpointOwnCostClaims is BenchmarkTokenEndpointOwnCost
// with a Claims hook that adds two custom claims: the hook's own cost.
func BenchmarkTokenEndpointOwnCostClaims(b *testing.B) {
	e := newEnv(b, func(e *env, c *Config) {
		c.Hasher = freeHasher{}
		c.Claims = func(_ context.Context, u *userstore.User, c *jwtauth.Claims) error {
			if err := jwtauth.SetClaim(c, "role", u.Roles[0]); err != nil {
				return err
			}
			return jwtauth.SetClaim(c, "tenant", "acme")
		}
	})
	benchFreeLogins(b, e)
}

// BenchmarkTokenEndpointOverhead alternates one login through the handler
// and one Verify alone, with the default argon2id parameters, timing each,
// so that load on the machine affects both alike. It reports their mean
// times and the ratio endpoint/verify.
func BenchmarkTokenEndpointOverhead(b *testing.B) {
	hasher := benchHasher(b, userstore.DefaultArgon2idParams())
	e := newEnv(b, func(e *env, c *Config) { c.Hasher = hasher })
	hash, err := hasher.Hash(e.bob.password)
	if err != nil {
		b.Fatal(err)
	}
	if err := e.store.SetPasswordHash(context.Background(), e.bob.ID, hash); err != nil {
		b.Fatal(err)
	}
	body := login(e.bob.Username, e.bob.password).Encode()
	ctx := context.Background()
	var endpoint, verify time.Duration
	n := 0
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		t0 := time.Now()
		e.h.ServeHTTP(w, r)
		t1 := time.Now()
		ok, err := hasher.VerifyContext(ctx, hash, e.bob.password)
		t2 := time.Now()
		if w.Code != http.StatusOK || !ok || err != nil {
			b.Fatalf("status = %d, Verify = %v, %v", w.Code, ok, err)
		}
		endpoint += t1.Sub(t0)
		verify += t2.Sub(t1)
		n++
	}
	b.ReportMetric(float64(endpoint.Nanoseconds())/float64(n), "endpoint-ns/login")
	b.ReportMetric(float64(verify.Nanoseconds())/float64(n), "verify-ns/login")
	b.ReportMetric(float64(endpoint)/float64(verify), "endpoint/verify")
}

// BenchmarkTokenEndpointUnknownUser measures the dummy-hash path with cheap
// parameters and throttling off.
func BenchmarkTokenEndpointUnknownUser(b *testing.B) {
	e := newEnv(b, func(e *env, c *Config) { c.InsecureNoThrottle = true })
	body := login("nobody@example.com", rand.Text()).Encode()
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest {
			b.Fatalf("status = %d", w.Code)
		}
	}
}

// BenchmarkLimiter measures an admitted attempt and its success record on
// a limiter holding many records.
func BenchmarkLimiter(b *testing.B) {
	l, _ := newTestLimiter(ThrottlePolicy{})
	ctx := context.Background()
	for i := range 50_000 {
		k := ThrottleKey{Username: "u" + strconv.Itoa(i), IP: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})}
		l.Allow(ctx, k)
	}
	k := ThrottleKey{Username: "alice@example.com", IP: netip.MustParseAddr("198.51.100.1")}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := l.Allow(ctx, k); !ok {
			b.Fatal("refused")
		}
		l.Success(ctx, k)
	}
}
