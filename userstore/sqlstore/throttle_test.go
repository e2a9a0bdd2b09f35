package sqlstore_test

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/oauth2pw"
	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/sqlstore"
)

var _ oauth2pw.ThrottleStore = (*sqlstore.Store)(nil)

// twoPools returns two pools on one fresh database of backend b, as two
// instances of a service would open it.
func twoPools(t testing.TB, b backend) (*sql.DB, *sql.DB) {
	t.Helper()
	if b.dialect == sqlstore.SQLite {
		path := filepath.Join(t.TempDir(), "shared.db")
		return openSQLiteFile(t, path), openSQLiteFile(t, path)
	}
	schema := newPostgresSchema(t)
	return openPostgresSchema(t, schema), openPostgresSchema(t, schema)
}

// testClock is a clock that tests move by hand, safe for concurrent use.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// instances are two token endpoints, A and B, each with a store on a pool
// of its own, on one database, throttling through it.
type instances struct {
	db       *sql.DB // A's pool
	a, b     *sqlstore.Store
	h        [2]*oauth2pw.Handler
	username string
	password string
	clock    *testClock
	hasher   *userstore.Hasher
	tokens   *jwtauth.JWT
}

// loginParts returns a cheap hasher and an EdDSA issuer for token
// endpoints on s, after storing in s a user with that username and
// password.
func loginParts(t testing.TB, s *sqlstore.Store, username, password string) (*userstore.Hasher, *jwtauth.JWT) {
	t.Helper()
	a, err := userstore.NewInsecureArgon2id(userstore.Argon2idParams{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := userstore.NewHasher(userstore.HasherConfig{Preferred: a, MaxConcurrent: 8})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := hasher.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(t.Context(), &userstore.User{Username: username, PasswordHash: hash}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	k, err := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := jwtauth.NewKeySet(k)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := jwtauth.New(jwtauth.Config{Keys: ks, Issuer: "https://auth.example.test", Audience: []string{"https://api.example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	return hasher, tokens
}

func newInstances(t testing.TB, b backend, policy oauth2pw.ThrottlePolicy) *instances {
	t.Helper()
	dbA, dbB := twoPools(t, b)
	in := &instances{db: dbA, a: migrated(t, dbA, b.dialect), clock: newTestClock()}
	var err error
	if in.b, err = sqlstore.New(t.Context(), dbB, b.dialect); err != nil {
		t.Fatalf("New: %v", err)
	}
	in.username, in.password = "alice@example.com", rand.Text()
	hasher, tokens := loginParts(t, in.a, in.username, in.password)
	in.hasher, in.tokens = hasher, tokens
	for i, s := range []*sqlstore.Store{in.a, in.b} {
		in.h[i], err = oauth2pw.NewHandler(oauth2pw.Config{
			Users: s, Hasher: hasher, Tokens: tokens,
			ThrottleStore: s, Throttle: policy, Now: in.clock.now,
			MaxConcurrentHashes: 8,
		})
		if err != nil {
			t.Fatalf("NewHandler: %v", err)
		}
	}
	return in
}

// login posts a password grant for username and password to instance i
// from addr.
func (in *instances) login(i int, username, password, addr string) *httptest.ResponseRecorder {
	form := url.Values{"grant_type": {"password"}, "username": {username}, "password": {password}}
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = addr + ":4711"
	w := httptest.NewRecorder()
	in.h[i].ServeHTTP(w, r)
	return w
}

// rows returns the number of throttle rows, and of those expired at now.
func rows(t *testing.T, s *sql.DB, now time.Time) (all, expired int64) {
	t.Helper()
	err := s.QueryRowContext(t.Context(),
		"SELECT count(*), COALESCE(SUM(CASE WHEN expires <= $1 THEN 1 ELSE 0 END), 0) FROM authkit_throttle",
		now.UnixNano()).Scan(&all, &expired)
	if err != nil {
		t.Fatalf("counting throttle rows: %v", err)
	}
	return all, expired
}

// TestThrottleTwoInstances checks that failed logins spread over two
// instances on one database throttle together: past PairLimit, either
// instance answers 429, and once the delay has passed either admits the
// right password.
func TestThrottleTwoInstances(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		in := newInstances(t, b, oauth2pw.ThrottlePolicy{PairLimit: 4, BaseDelay: 10 * time.Second})
		const addr = "198.51.100.7"
		for i := range 4 {
			if got := in.login(i%2, in.username, rand.Text(), addr).Code; got != 400 {
				t.Fatalf("POST /token on %c: failure %d: status = %d, want 400", 'A'+i%2, i+1, got)
			}
		}
		for i := range 2 {
			w := in.login(i, in.username, in.password, addr)
			if got, want := w.Code, 429; got != want {
				t.Errorf("POST /token on %c past the limit: status = %d, want %d", 'A'+i, got, want)
			}
			if got, want := w.Header().Get("Retry-After"), "10"; got != want {
				t.Errorf("POST /token on %c: Retry-After = %q, want %q", 'A'+i, got, want)
			}
		}
		if got := in.login(1, in.username, in.password, "203.0.113.9").Code; got != 200 {
			t.Errorf("POST /token on B from another address: status = %d, want 200", got)
		}
		in.clock.advance(10 * time.Second)
		if got := in.login(1, in.username, in.password, addr).Code; got != 200 {
			t.Errorf("POST /token on B after the delay: status = %d, want 200", got)
		}
		// The success on B reset the pair for A too.
		for i := range 4 {
			if got := in.login(0, in.username, rand.Text(), addr).Code; got != 400 {
				t.Fatalf("POST /token on A: failure %d after the success: status = %d, want 400", i+1, got)
			}
		}
	})
}

// TestThrottleConcurrentInstances checks that concurrent charges from two
// stores on one database lose no count, and that a burst of concurrent
// failed logins over both instances admits exactly PairLimit of them.
func TestThrottleConcurrentInstances(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		t.Run("charges", func(t *testing.T) {
			dbA, dbB := twoPools(t, b)
			stores := []*sqlstore.Store{migrated(t, dbA, b.dialect), migrated(t, dbB, b.dialect)}
			keys := [][32]byte{throttleKey(), throttleKey(), throttleKey()}
			holds := []int64{5, 20, 50}
			now := time.Now()
			const workers, each = 8, 25
			var wg sync.WaitGroup
			var failed atomic.Int64
			for w := range workers {
				s := stores[w%2]
				wg.Go(func() {
					for range each {
						err := s.ChargeThrottle(t.Context(), now, now.Add(-time.Hour), now.Add(time.Hour), keys, holds,
							func(int, int64, time.Time, time.Time) {})
						if err != nil {
							failed.Add(1)
							t.Errorf("ChargeThrottle: %v", err)
						}
					}
				})
			}
			wg.Wait()
			got := make([]int64, len(keys))
			err := stores[1].ThrottleRecords(t.Context(), now, keys, func(i int, count int64, _, _ time.Time, _ []byte) {
				got[i] = count
			})
			if err != nil {
				t.Fatalf("ThrottleRecords: %v", err)
			}
			want := int64(workers*each) - failed.Load()
			for i, c := range got {
				if c != want {
					t.Errorf("record %d: count = %d after %d concurrent charges, want %d", i, c, want, want)
				}
			}
		})
		t.Run("logins", func(t *testing.T) {
			in := newInstances(t, b, oauth2pw.ThrottlePolicy{PairLimit: 5})
			const attempts = 30
			var codes sync.Map
			var wg sync.WaitGroup
			for i := range attempts {
				wg.Go(func() {
					code := in.login(i%2, in.username, rand.Text(), "198.51.100.8").Code
					n, _ := codes.LoadOrStore(code, new(atomic.Int64))
					n.(*atomic.Int64).Add(1)
				})
			}
			wg.Wait()
			count := func(code int) int64 {
				if n, ok := codes.Load(code); ok {
					return n.(*atomic.Int64).Load()
				}
				return 0
			}
			if got, want := count(400), int64(5); got != want {
				t.Errorf("concurrent failed logins over A and B: %d answered 400, want %d", got, want)
			}
			if got, want := count(429), int64(attempts-5); got != want {
				t.Errorf("concurrent failed logins over A and B: %d answered 429, want %d", got, want)
			}
		})
	})
}

// throttleKey returns a random record key.
func throttleKey() (k [32]byte) {
	rand.Read(k[:])
	return k
}

// TestThrottlePrunesExpired checks that rows past their expiry are
// deleted as later charges arrive, with no goroutine, and that reads do
// not see them meanwhile.
func TestThrottlePrunesExpired(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		in := newInstances(t, b, oauth2pw.ThrottlePolicy{Window: time.Hour, KnownWindow: 2 * time.Hour})
		for i := range 10 {
			in.login(i%2, fmt.Sprintf("user%d@example.com", i), rand.Text(), fmt.Sprintf("198.51.100.%d", i))
		}
		in.login(0, in.username, in.password, "192.0.2.50")
		db := in.db
		start := in.clock.now()
		if all, _ := rows(t, db, start); all != 10*3+3 {
			t.Fatalf("throttle rows after 11 logins = %d, want %d", all, 10*3+3)
		}
		in.clock.advance(time.Hour + time.Second)
		now := in.clock.now()
		if _, expired := rows(t, db, now); expired != 32 {
			t.Fatalf("expired rows after Window = %d, want 32 (all but the known pair)", expired)
		}
		var seen int
		err := in.a.ThrottleRecords(t.Context(), now, [][32]byte{}, func(int, int64, time.Time, time.Time, []byte) { seen++ })
		if err != nil || seen != 0 {
			t.Fatalf("ThrottleRecords of no keys = %d, %v; want 0, nil", seen, err)
		}
		const charges = 400
		for i := range charges {
			s := []*sqlstore.Store{in.a, in.b}[i%2]
			err := s.ChargeThrottle(t.Context(), now, now.Add(-time.Hour), now.Add(time.Hour), [][32]byte{throttleKey()}, []int64{5},
				func(int, int64, time.Time, time.Time) {})
			if err != nil {
				t.Fatalf("ChargeThrottle: %v", err)
			}
		}
		all, expired := rows(t, db, now)
		if expired != 0 {
			t.Errorf("expired rows after %d charges = %d, want 0", charges, expired)
		}
		if want := int64(charges + 1); all != want {
			t.Errorf("throttle rows = %d, want %d (the new ones and the known pair's)", all, want)
		}
	})
}

// TestThrottleStoreContract checks the record semantics of the
// oauth2pw.ThrottleStore methods on each database: restarts, expiry,
// refunds, successes and the memo's compare-and-swap.
func TestThrottleStoreContract(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		s, _ := newStore(t, b)
		ctx := t.Context()
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		k := throttleKey()
		type rec struct {
			ok            bool
			count         int64
			last, success time.Time
			memo          []byte
		}
		read := func(now time.Time) rec {
			t.Helper()
			var r rec
			err := s.ThrottleRecords(ctx, now, [][32]byte{k}, func(_ int, count int64, last, success time.Time, memo []byte) {
				r = rec{true, count, last, success, bytes.Clone(memo)}
			})
			if err != nil {
				t.Fatalf("ThrottleRecords: %v", err)
			}
			return r
		}
		charge := func(now time.Time) (count int64, prev time.Time) {
			t.Helper()
			err := s.ChargeThrottle(ctx, now, now.Add(-time.Minute), now.Add(time.Hour), [][32]byte{k}, []int64{3},
				func(_ int, c int64, p, _ time.Time) { count, prev = c, p })
			if err != nil {
				t.Fatalf("ChargeThrottle: %v", err)
			}
			return count, prev
		}

		if r := read(t0); r.ok {
			t.Fatalf("record before any write = %+v, want none", r)
		}
		if c, p := charge(t0); c != 1 || !p.IsZero() {
			t.Errorf("first charge = %d, %v; want 1, zero", c, p)
		}
		t1 := t0.Add(time.Second + 7) // nanoseconds are kept
		if c, p := charge(t1); c != 2 || !p.Equal(t0) {
			t.Errorf("second charge = %d, %v; want 2, %v", c, p, t0)
		}
		if err := s.RefundThrottle(ctx, t1, [][32]byte{k}); err != nil {
			t.Fatalf("RefundThrottle: %v", err)
		}
		if r := read(t1); r.count != 1 || !r.last.Equal(t1) {
			t.Errorf("after a refund: count, last = %d, %v; want 1, %v", r.count, r.last, t1)
		}
		t2 := t1.Add(2 * time.Minute) // last charge before since: counts afresh
		if c, p := charge(t2); c != 1 || !p.Equal(t1) {
			t.Errorf("charge past since = %d, %v; want 1, %v", c, p, t1)
		}

		memo := []byte("0123456789abcdef01234567")
		if ok, err := s.SwapThrottleMemo(ctx, t2, k, []byte("other"), memo); err != nil || ok {
			t.Errorf("SwapThrottleMemo from a wrong old memo = %v, %v; want false, nil", ok, err)
		}
		if ok, err := s.SwapThrottleMemo(ctx, t2, k, nil, memo); err != nil || !ok {
			t.Errorf("SwapThrottleMemo from no memo = %v, %v; want true, nil", ok, err)
		}
		if r := read(t2); !bytes.Equal(r.memo, memo) {
			t.Errorf("memo = %q, want %q", r.memo, memo)
		}
		if err := s.ThrottleSuccess(ctx, t2, t2.Add(24*time.Hour), k); err != nil {
			t.Fatalf("ThrottleSuccess: %v", err)
		}
		if r := read(t2); r.count != 0 || !r.success.Equal(t2) || r.memo != nil {
			t.Errorf("after a success: %+v, want count 0, success %v, no memo", r, t2)
		}
		// The success's expiry outlives the charge's hour.
		if r := read(t2.Add(2 * time.Hour)); !r.ok || !r.success.Equal(t2) {
			t.Errorf("2h after the success: %+v, want the record kept", r)
		}
		gone := t2.Add(25 * time.Hour)
		if r := read(gone); r.ok {
			t.Errorf("past its expiry: %+v, want none", r)
		}
		if ok, _ := s.SwapThrottleMemo(ctx, gone, k, nil, memo); ok {
			t.Error("SwapThrottleMemo on an expired record swapped")
		}
		if c, p := charge(gone); c != 1 || !p.IsZero() {
			t.Errorf("charge of an expired record = %d, %v; want 1, zero (a fresh record)", c, p)
		}
		if r := read(gone); !r.success.IsZero() {
			t.Errorf("expired record's success survived: %+v", r)
		}
	})
}

// TestThrottleStoreFailsClosed checks that a database that cannot answer
// makes the login answer 503 with Retry-After, with nothing of the error
// in the body.
func TestThrottleStoreFailsClosed(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		in := newInstances(t, b, oauth2pw.ThrottlePolicy{})
		db := in.db
		if _, err := db.ExecContext(t.Context(), "DROP TABLE authkit_throttle"); err != nil {
			t.Fatalf("DROP TABLE: %v", err)
		}
		w := in.login(0, in.username, in.password, "198.51.100.9")
		if got, want := w.Code, 503; got != want {
			t.Fatalf("POST /token without the throttle table: status = %d, want %d", got, want)
		}
		if got, want := w.Header().Get("Retry-After"), "1"; got != want {
			t.Errorf("POST /token: Retry-After = %q, want %q", got, want)
		}
		if body := w.Body.String(); !strings.Contains(body, oauth2pw.CodeTemporarilyUnavailable) || strings.Contains(body, "authkit_throttle") {
			t.Errorf("POST /token: body = %s, want temporarily_unavailable and no SQL", body)
		}
	})
}

// BenchmarkSharedThrottle measures a failed login, each from a new
// username and address, through the in-memory limiter (for reference)
// and through the limiter on each database: Allow and Failure, plus a
// cheap password hash and the user lookup common to all three.
func BenchmarkSharedThrottle(b *testing.B) {
	kinds := []struct {
		name string
		be   *backend
	}{{"memory", nil}, {"sqlite", &backends[0]}, {"postgres", &backends[1]}}
	for _, kind := range kinds {
		b.Run(kind.name, func(b *testing.B) {
			be := backends[0]
			if kind.be != nil {
				be = *kind.be
			}
			in := newInstances(b, be, oauth2pw.ThrottlePolicy{})
			if kind.be == nil {
				// The in-memory limiter, for reference.
				h, err := oauth2pw.NewHandler(oauth2pw.Config{Users: in.a, Hasher: in.hasher, Tokens: in.tokens})
				if err != nil {
					b.Fatal(err)
				}
				in.h[0] = h
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				addr := fmt.Sprintf("10.%d.%d.%d", byte(i>>16), byte(i>>8), byte(i))
				if w := in.login(0, fmt.Sprintf("u%d@example.com", i), "wrong", addr); w.Code != 400 {
					b.Fatalf("POST /token: status = %d, want 400", w.Code)
				}
			}
		})
	}
}
