package oauth2pw

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/memory"
)

// Test fixtures: a real memory store, a real argon2id hasher with cheap
// parameters and a real EdDSA issuer, with passwords generated per test.

const (
	testIssuer   = "https://auth.example.test"
	testAudience = "https://api.example.test"
)

// cheapHasher returns the dispatching hasher over argon2id with test-only
// parameters.
func cheapHasher(tb testing.TB) *userstore.Hasher {
	tb.Helper()
	a, err := userstore.NewInsecureArgon2id(userstore.Argon2idParams{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		tb.Fatal(err)
	}
	h, err := userstore.NewHasher(userstore.HasherConfig{Preferred: a, MaxConcurrent: 4})
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// newIssuer returns a real jwtauth issuer/verifier on a fresh Ed25519 key,
// with the default token lifetime.
func newIssuer(tb testing.TB) *jwtauth.JWT {
	tb.Helper()
	return newIssuerTTL(tb, 0)
}

// newIssuerTTL is newIssuer with token lifetime ttl (zero: the default).
func newIssuerTTL(tb testing.TB, ttl time.Duration) *jwtauth.JWT {
	tb.Helper()
	k, err := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err != nil {
		tb.Fatal(err)
	}
	ks, err := jwtauth.NewKeySet(k)
	if err != nil {
		tb.Fatal(err)
	}
	j, err := jwtauth.New(jwtauth.Config{Keys: ks, Issuer: testIssuer, Audience: []string{testAudience}, TTL: ttl})
	if err != nil {
		tb.Fatal(err)
	}
	return j
}

// testUser is a stored user and its plaintext password.
type testUser struct {
	*userstore.User
	password string
}

// env is a token endpoint over real parts.
type env struct {
	h      *Handler
	store  *memory.Store
	hasher userstore.PasswordHasher
	tokens *jwtauth.JWT
	alice  testUser // roles admin, user
	bob    testUser // role user
	carol  testUser // role user, disabled
}

// newEnv builds an env; mod, if not nil, adjusts the config before
// NewHandler.
func newEnv(tb testing.TB, mod func(e *env, c *Config)) *env {
	tb.Helper()
	e := &env{store: memory.New(), hasher: cheapHasher(tb), tokens: newIssuer(tb)}
	e.alice = e.addUser(tb, "alice@example.com", false, "admin", "user")
	e.bob = e.addUser(tb, "bob@example.com", false, "user")
	e.carol = e.addUser(tb, "carol@example.com", true, "user")
	cfg := Config{Users: e.store, Hasher: e.hasher, Tokens: e.tokens}
	if mod != nil {
		mod(e, &cfg)
	}
	h, err := NewHandler(cfg)
	if err != nil {
		tb.Fatalf("NewHandler: %v", err)
	}
	e.h = h
	return e
}

func (e *env) addUser(tb testing.TB, name string, disabled bool, roles ...string) testUser {
	tb.Helper()
	pw := rand.Text()
	hash, err := e.hasher.Hash(pw)
	if err != nil {
		tb.Fatal(err)
	}
	u, err := e.store.CreateUser(context.Background(), &userstore.User{
		Username: name, PasswordHash: hash, Roles: roles, Disabled: disabled,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return testUser{u, pw}
}

// login returns the form of a password grant request.
func login(username, password string, extra ...string) url.Values {
	v := url.Values{"grant_type": {"password"}, "username": {username}, "password": {password}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Add(extra[i], extra[i+1])
	}
	return v
}

// newPost returns a POST of body as a form, from 192.0.2.1.
func newPost(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = "192.0.2.1:4711"
	return r
}

// do serves r and returns the recorder.
func do(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// post serves a POST of form.
func post(h http.Handler, form url.Values) *httptest.ResponseRecorder {
	return do(h, newPost(form.Encode()))
}

// errorBody is an RFC 6749 §5.2 error body.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func decodeError(tb testing.TB, w *httptest.ResponseRecorder) errorBody {
	tb.Helper()
	var b errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		tb.Fatalf("error body %q: %v", w.Body.String(), err)
	}
	return b
}

// successBody is an RFC 6749 §5.1 success body.
type successBody struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
}

func decodeSuccess(tb testing.TB, w *httptest.ResponseRecorder) successBody {
	tb.Helper()
	if w.Code != http.StatusOK {
		tb.Fatalf("POST /token: status = %d, want 200; body %s", w.Code, w.Body)
	}
	var b successBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		tb.Fatalf("success body %q: %v", w.Body.String(), err)
	}
	return b
}

// checkNoStore fails unless w carries the cache headers of every answer.
func checkNoStore(tb testing.TB, w *httptest.ResponseRecorder) {
	tb.Helper()
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		tb.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := w.Header().Get("Pragma"); got != "no-cache" {
		tb.Errorf("Pragma = %q, want no-cache", got)
	}
}

// countingHasher wraps a PasswordHasher and counts its calls, and, as
// computed, the Verify calls that got past decoding to compute a hash. It
// hides any ContextHasher methods of the wrapped hasher.
type countingHasher struct {
	userstore.PasswordHasher
	hashes, verifies, computed atomic.Int64
}

func (c *countingHasher) Hash(pw string) (string, error) {
	c.hashes.Add(1)
	return c.PasswordHasher.Hash(pw)
}

func (c *countingHasher) Verify(encoded, pw string) (bool, error) {
	c.verifies.Add(1)
	ok, err := c.PasswordHasher.Verify(encoded, pw)
	if err == nil {
		c.computed.Add(1)
	}
	return ok, err
}

// countingContextHasher is a countingHasher that also counts the
// ContextHasher methods.
type countingContextHasher struct {
	*userstore.Hasher
	verifies, ctxVerifies, computed atomic.Int64
}

func (c *countingContextHasher) Verify(encoded, pw string) (bool, error) {
	c.verifies.Add(1)
	return c.Hasher.Verify(encoded, pw)
}

func (c *countingContextHasher) VerifyContext(ctx context.Context, encoded, pw string) (bool, error) {
	c.ctxVerifies.Add(1)
	ok, err := c.Hasher.VerifyContext(ctx, encoded, pw)
	if err == nil {
		c.computed.Add(1)
	}
	return ok, err
}

// fakeStore is a userstore.Store with function fields for failure
// injection; nil fields fall through to next.
type fakeStore struct {
	next       *memory.Store
	byUsername func(ctx context.Context, username string) (*userstore.User, error)
	upgrade    func(ctx context.Context, id, oldHash, newHash string) error
}

func (f *fakeStore) UserByUsername(ctx context.Context, username string) (*userstore.User, error) {
	if f.byUsername != nil {
		return f.byUsername(ctx, username)
	}
	return f.next.UserByUsername(ctx, username)
}

func (f *fakeStore) UserByID(ctx context.Context, id string) (*userstore.User, error) {
	return f.next.UserByID(ctx, id)
}

func (f *fakeStore) UpgradePasswordHash(ctx context.Context, id, oldHash, newHash string) error {
	if f.upgrade != nil {
		return f.upgrade(ctx, id, oldHash, newHash)
	}
	return f.next.UpgradePasswordHash(ctx, id, oldHash, newHash)
}

// fakeIssuer is a jwtauth.Issuer with a function field.
type fakeIssuer struct {
	issue func(ctx context.Context, c jwtauth.Claims) (jwtauth.Token, error)
}

func (f fakeIssuer) Issue(ctx context.Context, c jwtauth.Claims) (jwtauth.Token, error) {
	return f.issue(ctx, c)
}

// fakeLimiter is a Limiter with function fields that counts its calls and
// keeps the keys it was given; a nil allow admits.
type fakeLimiter struct {
	allow                       func(k ThrottleKey) (time.Duration, bool)
	allows, failures, successes atomic.Int64

	mu   sync.Mutex
	keys []ThrottleKey // of Allow, Failure and Success calls, in order
}

func (f *fakeLimiter) record(k ThrottleKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, k)
}

func (f *fakeLimiter) Allow(_ context.Context, k ThrottleKey) (time.Duration, bool) {
	f.allows.Add(1)
	f.record(k)
	if f.allow != nil {
		return f.allow(k)
	}
	return 0, true
}

func (f *fakeLimiter) Failure(_ context.Context, k ThrottleKey) {
	f.failures.Add(1)
	f.record(k)
}

func (f *fakeLimiter) Success(_ context.Context, k ThrottleKey) {
	f.successes.Add(1)
	f.record(k)
}

// calls returns the Allow, Failure and Success counts.
func (f *fakeLimiter) calls() [3]int64 {
	return [3]int64{f.allows.Load(), f.failures.Load(), f.successes.Load()}
}

// recorded returns a copy of the keys seen.
func (f *fakeLimiter) recorded() []ThrottleKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ThrottleKey(nil), f.keys...)
}

// countingStore returns a fakeStore over e's store that counts lookups.
func countingStore(e *env, n *atomic.Int64) *fakeStore {
	return &fakeStore{next: e.store, byUsername: func(ctx context.Context, name string) (*userstore.User, error) {
		n.Add(1)
		return e.store.UserByUsername(ctx, name)
	}}
}

// gateHasher wraps a PasswordHasher; the next blocking Verify calls
// report on entered and then wait for open to be closed.
type gateHasher struct {
	userstore.PasswordHasher
	blocking atomic.Int64
	entered  chan struct{}
	open     chan struct{}
}

func newGateHasher(h userstore.PasswordHasher) *gateHasher {
	return &gateHasher{PasswordHasher: h, entered: make(chan struct{}, 16), open: make(chan struct{})}
}

func (g *gateHasher) Verify(encoded, pw string) (bool, error) {
	if g.blocking.Add(-1) >= 0 {
		g.entered <- struct{}{}
		<-g.open
	}
	return g.PasswordHasher.Verify(encoded, pw)
}
