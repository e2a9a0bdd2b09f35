package userstore

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cheapArgon2 are the cheapest parameters argon2id accepts, for tests.
var cheapArgon2 = Argon2idParams{Memory: 64, Time: 1, Threads: 1}

func newCheapArgon2id(t testing.TB) *Argon2id {
	t.Helper()
	h, err := NewInsecureArgon2id(cheapArgon2)
	if err != nil {
		t.Fatalf("NewInsecureArgon2id(%+v): %v", cheapArgon2, err)
	}
	return h
}

func newCheapBcrypt(t testing.TB) *Bcrypt {
	t.Helper()
	h, err := NewInsecureBcrypt(4)
	if err != nil {
		t.Fatalf("NewInsecureBcrypt(4): %v", err)
	}
	return h
}

// newCheapHasher returns a dispatching hasher over cheap argon2id, bcrypt
// and PBKDF2 hashers.
func newCheapHasher(t testing.TB) *Hasher {
	t.Helper()
	h, err := NewHasher(HasherConfig{
		Preferred: newCheapArgon2id(t),
		Accept:    []PasswordHasher{newCheapBcrypt(t), NewPBKDF2SHA256()},
	})
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	return h
}

// mustHash returns h.Hash(password) or fails the test.
func mustHash(t testing.TB, h PasswordHasher, password string) string {
	t.Helper()
	enc, err := h.Hash(password)
	if err != nil {
		t.Fatalf("%T.Hash: %v", h, err)
	}
	return enc
}

// passlibPBKDF2 encodes a PBKDF2-SHA256 hash of password the way passlib
// does, independently of the package's decoder: standard base64, padding
// stripped, '+' replaced by '.'.
func passlibPBKDF2(t testing.TB, password string, rounds int) string {
	t.Helper()
	salt := make([]byte, 16)
	rand.Read(salt)
	key, err := pbkdf2.Key(sha256.New, password, salt, rounds, 32)
	if err != nil {
		t.Fatalf("pbkdf2.Key: %v", err)
	}
	ab64 := func(b []byte) string {
		return strings.ReplaceAll(strings.TrimRight(base64.StdEncoding.EncodeToString(b), "="), "+", ".")
	}
	return fmt.Sprintf("$pbkdf2-sha256$%d$%s$%s", rounds, ab64(salt), ab64(key))
}

func TestNewHasher(t *testing.T) {
	t.Parallel()
	t.Run("defaults", func(t *testing.T) {
		h, err := NewHasher(HasherConfig{})
		if err != nil {
			t.Fatalf("NewHasher(zero config): %v", err)
		}
		if got, want := cap(h.slots), runtime.GOMAXPROCS(0); got != want {
			t.Errorf("slots = %d, want GOMAXPROCS %d", got, want)
		}
		a, ok := h.preferred.(*Argon2id)
		if !ok {
			t.Fatalf("preferred = %T, want *Argon2id", h.preferred)
		}
		if got, want := a.Params(), DefaultArgon2idParams(); got != want {
			t.Errorf("preferred params = %+v, want %+v", got, want)
		}
		if got := len(h.verifiers); got != 3 {
			t.Fatalf("verifiers = %d, want 3 (argon2id, bcrypt, pbkdf2)", got)
		}
		if _, ok := h.verifiers[1].(*Bcrypt); !ok {
			t.Errorf("verifiers[1] = %T, want *Bcrypt", h.verifiers[1])
		}
		if _, ok := h.verifiers[2].(*PBKDF2); !ok {
			t.Errorf("verifiers[2] = %T, want *PBKDF2", h.verifiers[2])
		}
	})
	for _, tc := range []struct {
		name string
		cfg  HasherConfig
	}{
		{"negative MaxConcurrent", HasherConfig{MaxConcurrent: -1}},
		{"nil in Accept", HasherConfig{Accept: []PasswordHasher{nil}}},
		{"verify-only Preferred", HasherConfig{Preferred: NewPBKDF2SHA256()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if h, err := NewHasher(tc.cfg); err == nil {
				t.Errorf("NewHasher(%+v) = %v, nil; want an error", tc.cfg, h)
			}
		})
	}
}

// TestZeroHasher checks that a Hasher nobody configured works as
// NewHasher(HasherConfig{}) does, and that its first use, from many
// goroutines at once, sets it up once.
func TestZeroHasher(t *testing.T) {
	t.Parallel()
	var h Hasher
	pw := rand.Text()
	enc := mustHash(t, newCheapArgon2id(t), pw)

	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if !h.NeedsRehash(enc) {
				t.Errorf("zero Hasher: NeedsRehash(cheap argon2id) = false, want true")
			}
			if ok, err := h.VerifyContext(t.Context(), "$unknown$", pw); ok || !errors.Is(err, ErrUnknownHashFormat) {
				t.Errorf("zero Hasher: Verify(unknown format) = %v, %v; want false, ErrUnknownHashFormat", ok, err)
			}
		})
	}
	wg.Wait()

	if got, want := cap(h.slots), runtime.GOMAXPROCS(0); got != want {
		t.Errorf("zero Hasher: slots = %d, want GOMAXPROCS %d", got, want)
	}
	a, ok := h.preferred.(*Argon2id)
	if !ok {
		t.Fatalf("zero Hasher: preferred = %T, want *Argon2id", h.preferred)
	}
	if got, want := a.Params(), DefaultArgon2idParams(); got != want {
		t.Errorf("zero Hasher: preferred params = %+v, want %+v", got, want)
	}

	fresh, err := h.Hash(pw)
	if err != nil {
		t.Fatalf("zero Hasher: Hash: %v", err)
	}
	if !strings.HasPrefix(fresh, "$argon2id$") || h.NeedsRehash(fresh) {
		t.Errorf("zero Hasher: Hash = %q (NeedsRehash %v), want a default argon2id hash that needs no rehash", fresh, h.NeedsRehash(fresh))
	}
	tests := []struct {
		name     string
		encoded  string
		password string
		want     bool
	}{
		{"own hash", fresh, pw, true},
		{"own hash, wrong password", fresh, pw + "x", false},
		{"argon2id with other parameters", enc, pw, true},
		{"bcrypt", mustHash(t, newCheapBcrypt(t), pw), pw, true},
		{"passlib PBKDF2", passlibPBKDF2(t, pw, 1000), pw, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.Verify(tc.encoded, tc.password)
			if err != nil || got != tc.want {
				t.Errorf("zero Hasher: Verify = %v, %v; want %v, nil", got, err, tc.want)
			}
		})
	}

	var cancelled Hasher
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := cancelled.HashContext(ctx, pw); !errors.Is(err, context.Canceled) {
		t.Errorf("zero Hasher: HashContext(cancelled ctx) err = %v, want context.Canceled", err)
	}
}

func TestHasherDispatch(t *testing.T) {
	t.Parallel()
	h := newCheapHasher(t)
	pw := rand.Text()
	otherArgon, err := NewInsecureArgon2id(Argon2idParams{Memory: 128, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		encoded     string
		needsRehash bool
	}{
		{"argon2id preferred", mustHash(t, h, pw), false},
		{"argon2id other params", mustHash(t, otherArgon, pw), true},
		{"bcrypt", mustHash(t, newCheapBcrypt(t), pw), true},
		{"pbkdf2-sha256", passlibPBKDF2(t, pw, 1000), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if ok, err := h.Verify(tc.encoded, pw); !ok || err != nil {
				t.Errorf("Verify(right password) = %v, %v; want true, nil", ok, err)
			}
			if ok, err := h.Verify(tc.encoded, pw+"x"); ok || err != nil {
				t.Errorf("Verify(wrong password) = %v, %v; want false, nil", ok, err)
			}
			if got := h.NeedsRehash(tc.encoded); got != tc.needsRehash {
				t.Errorf("NeedsRehash = %v, want %v", got, tc.needsRehash)
			}
		})
	}
	for _, tc := range []struct {
		name    string
		encoded string
		want    error
	}{
		{"empty", "", ErrUnknownHashFormat},
		{"plaintext", pw, ErrUnknownHashFormat},
		{"scrypt", "$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA", ErrUnknownHashFormat},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", ErrUnknownHashFormat},
		{"malformed argon2id", "$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", ErrMalformedHash},
		{"malformed bcrypt", "$2b$31$" + strings.Repeat("a", 53), ErrMalformedHash},
		{"malformed pbkdf2", "$pbkdf2-sha256$0$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA", ErrMalformedHash},
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
	t.Run("empty Accept", func(t *testing.T) {
		t.Parallel()
		only, err := NewHasher(HasherConfig{Preferred: newCheapArgon2id(t), Accept: []PasswordHasher{}})
		if err != nil {
			t.Fatal(err)
		}
		enc := mustHash(t, newCheapBcrypt(t), pw)
		if ok, err := only.Verify(enc, pw); ok || !errors.Is(err, ErrUnknownHashFormat) {
			t.Errorf("Verify(bcrypt hash) = %v, %v; want false, ErrUnknownHashFormat", ok, err)
		}
	})
}

// TestHasherUpgrade walks the login flow that migrates a legacy hash.
func TestHasherUpgrade(t *testing.T) {
	t.Parallel()
	h := newCheapHasher(t)
	pw := rand.Text()
	legacy := passlibPBKDF2(t, pw, 1000)
	if ok, err := h.Verify(legacy, pw); !ok || err != nil {
		t.Fatalf("Verify(legacy) = %v, %v; want true, nil", ok, err)
	}
	if !h.NeedsRehash(legacy) {
		t.Fatal("NeedsRehash(legacy) = false, want true")
	}
	fresh := mustHash(t, h, pw)
	if !strings.HasPrefix(fresh, "$argon2id$") {
		t.Errorf("Hash = %q, want an argon2id PHC string", fresh)
	}
	if ok, err := h.Verify(fresh, pw); !ok || err != nil {
		t.Errorf("Verify(fresh) = %v, %v; want true, nil", ok, err)
	}
	if h.NeedsRehash(fresh) {
		t.Error("NeedsRehash(fresh) = true, want false")
	}
}

// inFlight counts the calls running at once and remembers the peak.
type inFlight struct {
	now, peak, calls atomic.Int64
}

// enter records the start of a call and returns the function that records
// its end.
func (c *inFlight) enter() (leave func()) {
	c.calls.Add(1)
	n := c.now.Add(1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
	return func() { c.now.Add(-1) }
}

// gauge is a PasswordHasher that counts its calls in flight and holds each
// one until gate is closed.
type gauge struct {
	inFlight
	gate chan struct{}
}

func newGauge() *gauge { return &gauge{gate: make(chan struct{})} }

func (g *gauge) hold() { defer g.enter()(); <-g.gate }

func (g *gauge) Hash(string) (string, error)         { g.hold(); return "$gauge$", nil }
func (g *gauge) Verify(string, string) (bool, error) { g.hold(); return true, nil }
func (g *gauge) NeedsRehash(string) bool             { return false }

// counting wraps a PasswordHasher and counts its Hash and Verify calls in
// flight.
type counting struct {
	PasswordHasher
	inFlight
}

func (c *counting) Hash(pw string) (string, error) {
	defer c.enter()()
	return c.PasswordHasher.Hash(pw)
}

func (c *counting) Verify(enc, pw string) (bool, error) {
	defer c.enter()()
	return c.PasswordHasher.Verify(enc, pw)
}

// waitFor polls cond until it holds, failing the test after 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestHasherConcurrencyBound(t *testing.T) {
	t.Parallel()
	const bound, callers = 3, 40
	g := newGauge()
	h, err := NewHasher(HasherConfig{Preferred: g, Accept: []PasswordHasher{}, MaxConcurrent: bound})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			if i%2 == 0 {
				h.Hash("")
			} else {
				h.Verify("", "")
			}
		})
	}
	waitFor(t, "the bound to fill", func() bool { return g.now.Load() == bound })
	time.Sleep(50 * time.Millisecond) // give the waiting callers a chance to break in
	if got := g.now.Load(); got != bound {
		t.Errorf("in flight with %d callers = %d, want %d", callers, got, bound)
	}
	close(g.gate)
	wg.Wait()
	if got := g.peak.Load(); got != bound {
		t.Errorf("peak concurrent hashes = %d, want %d", got, bound)
	}
	if got := g.calls.Load(); got != callers {
		t.Errorf("calls = %d, want %d", got, callers)
	}
}

// TestHasherConcurrencyStress runs real argon2id hashes from many
// goroutines and checks the peak never exceeds the bound.
func TestHasherConcurrencyStress(t *testing.T) {
	t.Parallel()
	const bound = 2
	c := &counting{PasswordHasher: newCheapArgon2id(t)}
	h, err := NewHasher(HasherConfig{Preferred: c, Accept: []PasswordHasher{}, MaxConcurrent: bound})
	if err != nil {
		t.Fatal(err)
	}
	pw := rand.Text()
	enc := mustHash(t, h, pw)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			for range 4 {
				if i%2 == 0 {
					if _, err := h.Hash(pw); err != nil {
						t.Errorf("Hash: %v", err)
					}
				} else if ok, err := h.Verify(enc, pw); !ok || err != nil {
					t.Errorf("Verify = %v, %v; want true, nil", ok, err)
				}
			}
		})
	}
	wg.Wait()
	if got := c.peak.Load(); got > bound || got < 1 {
		t.Errorf("peak concurrent hashes = %d, want 1..%d", got, bound)
	}
}

func TestHasherContext(t *testing.T) {
	t.Parallel()
	g := newGauge()
	h, err := NewHasher(HasherConfig{Preferred: g, Accept: []PasswordHasher{}, MaxConcurrent: 1})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { h.Hash("") }) // takes the only slot until the gate opens
	waitFor(t, "the slot to be taken", func() bool { return g.now.Load() == 1 })

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if ok, err := h.VerifyContext(ctx, "", ""); ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("VerifyContext while waiting past deadline = %v, %v; want false, context.DeadlineExceeded", ok, err)
	}
	ctx, cancel = context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		_, err := h.HashContext(ctx, "")
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("HashContext cancelled while waiting: err = %v, want context.Canceled", err)
	}
	if got := g.calls.Load(); got != 1 {
		t.Errorf("calls reaching the hasher = %d, want 1", got)
	}
	close(g.gate)
	wg.Wait()

	// With a free slot, an ended context still refuses to start.
	if _, err := h.HashContext(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("HashContext(cancelled ctx) err = %v, want context.Canceled", err)
	}
	if ok, err := h.VerifyContext(t.Context(), "", ""); !ok || err != nil {
		t.Errorf("VerifyContext after release = %v, %v; want true, nil", ok, err)
	}
}

// hostileHashes are seeds for the fuzz test: strings that have broken
// decoders elsewhere or would cost a fortune to compute.
var hostileHashes = []string{
	"",
	"$",
	"$$$$$$",
	"$argon2id$",
	"$argon2id$v=19$m=4294967295,t=4294967295,p=255$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
	"$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
	"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
	"$argon2id$v=19$m=64,m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
	"$argon2id$v=19$m=64,t=1,p=1$!!!!$aGFzaGhhc2hoYXNoaGFzaA",
	"$2b$31$" + strings.Repeat("a", 53),
	"$2a$04$" + strings.Repeat("\x00", 53),
	"$pbkdf2-sha256$99999999999$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
	"$pbkdf2-sha256$1000$$",
}

// FuzzVerify feeds arbitrary encoded strings to the decoders and to the
// dispatching hasher. Property: no panic; a decoder either errs with
// ErrMalformedHash or ErrUnknownHashFormat or returns values within its
// bounds; Verify returns an error or (bool, nil). Verify runs only where
// the decoded cost is small, so that the fuzzer stays fast.
func FuzzVerify(f *testing.F) {
	pw := rand.Text()
	for _, s := range hostileHashes {
		f.Add(s, pw)
	}
	f.Add(mustHash(f, newCheapArgon2id(f), pw), pw)
	f.Add(mustHash(f, newCheapBcrypt(f), pw), pw)
	f.Add(passlibPBKDF2(f, pw, 1000), pw)
	h := newCheapHasher(f)
	wantDecodeErr := func(t *testing.T, what string, err error) {
		if !errors.Is(err, ErrMalformedHash) && !errors.Is(err, ErrUnknownHashFormat) {
			t.Fatalf("%s: err = %v, want ErrMalformedHash or ErrUnknownHashFormat", what, err)
		}
	}
	f.Fuzz(func(t *testing.T, encoded, password string) {
		cheap := true
		if d, err := parseArgon2id(encoded); err != nil {
			wantDecodeErr(t, "parseArgon2id", err)
		} else {
			if err := d.p.check(); err != nil {
				t.Fatalf("parseArgon2id accepted params %+v: %v", d.p, err)
			}
			if n := len(d.salt); n < argon2idMinSalt || n > argon2idMaxSalt {
				t.Fatalf("parseArgon2id accepted a %d-byte salt", n)
			}
			if n := len(d.key); n < argon2idMinKey || n > argon2idMaxKey {
				t.Fatalf("parseArgon2id accepted a %d-byte key", n)
			}
			cheap = d.p.Memory*d.p.Time <= 1024
		}
		if cost, err := parseBcrypt(encoded); err != nil {
			wantDecodeErr(t, "parseBcrypt", err)
		} else {
			if cost < bcryptMinCost || cost > bcryptMaxCost {
				t.Fatalf("parseBcrypt accepted cost %d", cost)
			}
			cheap = cost <= 5
		}
		if rounds, salt, key, err := parsePBKDF2(encoded); err != nil {
			wantDecodeErr(t, "parsePBKDF2", err)
		} else {
			if rounds < 1 || rounds > pbkdf2MaxRounds || len(salt) > pbkdf2MaxSalt || len(key) < pbkdf2MinKey || len(key) > pbkdf2MaxKey {
				t.Fatalf("parsePBKDF2 accepted rounds %d, %d-byte salt, %d-byte key", rounds, len(salt), len(key))
			}
			cheap = rounds <= 10000
		}
		h.NeedsRehash(encoded)
		if !cheap {
			return
		}
		ok, err := h.Verify(encoded, password)
		if err != nil {
			if ok {
				t.Fatalf("Verify = true, %v", err)
			}
			wantDecodeErr(t, "Verify", err)
		}
	})
}
