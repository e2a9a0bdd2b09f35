package oauth2pw

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memThrottleStore is an in-memory ThrottleStore that follows the
// interface's contract to the letter, with a function field for failure
// injection.
type memThrottleStore struct {
	fail      func(method string) error // nil: never fails
	afterRead func()                    // nil: nothing; runs after each read, outside the lock

	mu   sync.Mutex
	recs map[[32]byte]*memThrottleRecord
}

type memThrottleRecord struct {
	count               int64
	last, prev, success int64
	hold                int64
	held                bool
	memo                []byte
	expires             int64
}

func newMemThrottleStore() *memThrottleStore {
	return &memThrottleStore{recs: make(map[[32]byte]*memThrottleRecord)}
}

func (s *memThrottleStore) err(method string) error {
	if s.fail != nil {
		return s.fail(method)
	}
	return nil
}

func toTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// live returns the record of key if it has not expired at now.
func (s *memThrottleStore) live(key [32]byte, now int64) *memThrottleRecord {
	if r := s.recs[key]; r != nil && r.expires > now {
		return r
	}
	return nil
}

func (s *memThrottleStore) ThrottleRecords(_ context.Context, now time.Time, keys [][32]byte, f func(int, int64, time.Time, time.Time, []byte)) error {
	if err := s.err("ThrottleRecords"); err != nil {
		return err
	}
	s.mu.Lock()
	for i, k := range keys {
		if r := s.live(k, nanos(now)); r != nil {
			f(i, r.count, toTime(r.last), toTime(r.success), slices.Clone(r.memo))
		}
	}
	s.mu.Unlock()
	if s.afterRead != nil {
		s.afterRead()
	}
	return nil
}

func (s *memThrottleStore) ChargeThrottle(_ context.Context, now, since, expires time.Time, keys [][32]byte, holds []int64, f func(int, int64, time.Time, time.Time)) error {
	if err := s.err("ChargeThrottle"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := nanos(now)
	for i, k := range keys {
		r := s.live(k, n)
		if r == nil {
			r = &memThrottleRecord{}
			s.recs[k] = r
		}
		if r.last < nanos(since) {
			r.count = 0
		}
		r.count++
		r.prev, r.last = r.last, n
		r.hold = holds[i]
		r.held = r.held || r.count >= r.hold
		r.expires = max(r.expires, nanos(expires))
		f(i, r.count, toTime(r.prev), toTime(r.success))
	}
	return nil
}

func (s *memThrottleStore) RefundThrottle(_ context.Context, now time.Time, keys [][32]byte) error {
	if err := s.err("RefundThrottle"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		if r := s.live(k, nanos(now)); r != nil && r.count > 0 {
			r.count--
		}
	}
	return nil
}

func (s *memThrottleStore) ThrottleSuccess(_ context.Context, now, expires time.Time, key [32]byte) error {
	if err := s.err("ThrottleSuccess"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.live(key, nanos(now))
	if r == nil {
		r = &memThrottleRecord{}
		s.recs[key] = r
	}
	r.count, r.success, r.held, r.memo = 0, nanos(now), true, nil
	r.expires = max(r.expires, nanos(expires))
	return nil
}

func (s *memThrottleStore) SwapThrottleMemo(_ context.Context, now time.Time, key [32]byte, old, memo []byte) (bool, error) {
	if err := s.err("SwapThrottleMemo"); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.live(key, nanos(now))
	if r == nil || !bytes.Equal(r.memo, old) {
		return false, nil
	}
	r.memo = slices.Clone(memo)
	return true, nil
}

// counts returns the counts the store holds for k's pair, name and
// address at now.
func (s *memThrottleStore) counts(k ThrottleKey, now time.Time) [3]int {
	_, keys := sharedKeys(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	var c [3]int
	for i, key := range keys {
		if r := s.live(key, nanos(now)); r != nil {
			c[i] = int(r.count)
		}
	}
	return c
}

// limiterUnderTest is a limiter with its clock and a view of its counts.
type limiterUnderTest struct {
	Limiter
	clock  *fakeClock
	counts func(k ThrottleKey) [3]int
}

// limiterKinds builds each Limiter implementation for the conformance
// tests: the in-memory one and the one on a ThrottleStore.
var limiterKinds = []struct {
	name string
	new  func(p ThrottlePolicy) limiterUnderTest
}{
	{"memory", func(p ThrottlePolicy) limiterUnderTest {
		l, c := newTestLimiter(p)
		return limiterUnderTest{l, c, func(k ThrottleKey) [3]int { return counts(l, k) }}
	}},
	{"shared", func(p ThrottlePolicy) limiterUnderTest {
		c := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		s := newMemThrottleStore()
		l := newSharedLimiter(p, s, c.now, slog.New(slog.DiscardHandler))
		return limiterUnderTest{l, c, func(k ThrottleKey) [3]int { return s.counts(k, c.now()) }}
	}},
}

// admitFail makes an admitted, failed attempt and fails the test if it
// was not admitted.
func admitFail(t *testing.T, l Limiter, k ThrottleKey) {
	t.Helper()
	if wait, ok := l.Allow(t.Context(), k); !ok {
		t.Fatalf("Allow(%v) = %v, false; want admitted", k, wait)
	}
	l.Failure(t.Context(), k)
}

// admitSucceed makes an admitted, successful attempt.
func admitSucceed(t *testing.T, l Limiter, k ThrottleKey) {
	t.Helper()
	if wait, ok := l.Allow(t.Context(), k); !ok {
		t.Fatalf("Allow(%v) = %v, false; want admitted", k, wait)
	}
	l.Success(t.Context(), k)
}

// TestLimiterConformance runs the limiter-level behaviours of
// ThrottlePolicy against the in-memory limiter and the limiter on a
// ThrottleStore: both must throttle alike.
func TestLimiterConformance(t *testing.T) {
	t.Parallel()
	a, b, c, d, e := secret(), secret(), secret(), secret(), secret()
	alice := key("alice", "198.51.100.1")
	tests := []struct {
		name string
		p    ThrottlePolicy
		run  func(t *testing.T, l limiterUnderTest)
	}{
		{"growing delays", ThrottlePolicy{PairLimit: 3, BaseDelay: time.Second, MaxDelay: 10 * time.Second}, func(t *testing.T, l limiterUnderTest) {
			for range 3 {
				admitFail(t, l, alice)
			}
			for i, want := range []time.Duration{1, 2, 4, 8, 10, 10} {
				want *= time.Second
				if wait, ok := l.Allow(t.Context(), alice); ok || wait != want {
					t.Fatalf("attempt %d past the limit: Allow = %v, %v; want %v, false", i+1, wait, ok, want)
				}
				l.clock.advance(want - time.Millisecond)
				if wait, ok := l.Allow(t.Context(), alice); ok || wait != time.Millisecond {
					t.Fatalf("1ms before the delay ends: Allow = %v, %v; want 1ms, false", wait, ok)
				}
				l.clock.advance(time.Millisecond)
				admitFail(t, l, alice)
			}
		}},
		{"refused attempts do not move the delay", ThrottlePolicy{PairLimit: 1, BaseDelay: 10 * time.Second}, func(t *testing.T, l limiterUnderTest) {
			admitFail(t, l, alice)
			for range 9 {
				l.clock.advance(time.Second)
				l.Allow(t.Context(), alice)
			}
			l.clock.advance(time.Second)
			admitFail(t, l, alice)
		}},
		{"success resets the pair", ThrottlePolicy{PairLimit: 2}, func(t *testing.T, l limiterUnderTest) {
			admitFail(t, l, alice)
			admitFail(t, l, alice)
			if _, ok := l.Allow(t.Context(), alice); ok {
				t.Fatal("third attempt admitted at once, want a delay")
			}
			l.clock.advance(time.Second)
			admitSucceed(t, l, alice)
			admitFail(t, l, alice)
			admitFail(t, l, alice)
		}},
		{"window forgets", ThrottlePolicy{PairLimit: 2, Window: 10 * time.Minute, BaseDelay: time.Minute, MaxDelay: time.Hour}, func(t *testing.T, l limiterUnderTest) {
			admitFail(t, l, alice)
			admitFail(t, l, alice)
			l.clock.advance(time.Minute)
			admitFail(t, l, alice)
			l.clock.advance(10*time.Minute + time.Second)
			admitFail(t, l, alice)
			admitFail(t, l, alice)
			if got, want := l.counts(alice), [3]int{2, 2, 2}; got != want {
				t.Errorf("counts after the window = %v, want %v", got, want)
			}
		}},
		{"address limit", ThrottlePolicy{AddressLimit: 10}, func(t *testing.T, l limiterUnderTest) {
			for i := range 10 {
				admitFail(t, l, key("user"+strconv.Itoa(i), "198.51.100.1"))
			}
			if _, ok := l.Allow(t.Context(), key("fresh", "198.51.100.1")); ok {
				t.Error("new username from a busy address admitted, want a delay")
			}
			if _, ok := l.Allow(t.Context(), key("fresh", "198.51.100.2")); !ok {
				t.Error("new username from another address refused")
			}
		}},
		{"known pair spared the address limit", ThrottlePolicy{AddressLimit: 10, PairLimit: 3}, func(t *testing.T, l limiterUnderTest) {
			admitSucceed(t, l, alice)
			for i := range 10 {
				admitFail(t, l, key("user"+strconv.Itoa(i), "198.51.100.1"))
			}
			if _, ok := l.Allow(t.Context(), key("fresh", "198.51.100.1")); ok {
				t.Error("new username from a busy address admitted, want a delay")
			}
			admitFail(t, l, alice)
			admitFail(t, l, alice)
			admitFail(t, l, alice)
			if _, ok := l.Allow(t.Context(), alice); ok {
				t.Error("known pair admitted past its pair limit, want a delay")
			}
		}},
		{"IPv6 counts by /64", ThrottlePolicy{PairLimit: 2}, func(t *testing.T, l limiterUnderTest) {
			admitFail(t, l, key("alice", "2001:db8:1:2::1"))
			admitFail(t, l, key("alice", "2001:db8:1:2:ffff::9"))
			if _, ok := l.Allow(t.Context(), key("alice", "2001:db8:1:2::abcd")); ok {
				t.Error("third address of one /64 admitted, want a delay")
			}
			if _, ok := l.Allow(t.Context(), key("alice", "2001:db8:1:3::1")); !ok {
				t.Error("another /64 refused")
			}
		}},
		{"username ceiling spares the known address", ThrottlePolicy{UserLimit: 20}, func(t *testing.T, l limiterUnderTest) {
			admitSucceed(t, l, alice)
			for i := range 20 {
				admitFail(t, l, key("alice", fmt.Sprintf("203.0.113.%d", i)))
			}
			if _, ok := l.Allow(t.Context(), key("alice", "203.0.113.200")); ok {
				t.Error("21st address for one username admitted, want a delay")
			}
			admitSucceed(t, l, alice)
			if _, ok := l.Allow(t.Context(), key("alice", "203.0.113.201")); ok {
				t.Error("after the user's success elsewhere, a new address was admitted; want the ceiling kept")
			}
		}},
		{"known pair outlives Window until KnownWindow", ThrottlePolicy{UserLimit: 5, Window: time.Hour, KnownWindow: 7 * 24 * time.Hour}, func(t *testing.T, l limiterUnderTest) {
			admitSucceed(t, l, alice)
			l.clock.advance(2 * 24 * time.Hour)
			for i := range 5 {
				admitFail(t, l, key("alice", fmt.Sprintf("203.0.113.%d", i)))
			}
			if _, ok := l.Allow(t.Context(), key("alice", "203.0.113.200")); ok {
				t.Error("new address past the username ceiling admitted, want a delay")
			}
			admitSucceed(t, l, alice)
			l.clock.advance(8 * 24 * time.Hour)
			for i := range 5 {
				admitFail(t, l, key("alice", fmt.Sprintf("203.0.113.%d", 100+i)))
			}
			if _, ok := l.Allow(t.Context(), alice); ok {
				t.Error("address admitted past the ceiling after KnownWindow, want a delay")
			}
		}},
		{"concurrent burst", ThrottlePolicy{PairLimit: 5}, func(t *testing.T, l limiterUnderTest) {
			var admitted atomic.Int64
			var wg sync.WaitGroup
			for range 100 {
				wg.Go(func() {
					if _, ok := l.Allow(t.Context(), alice); ok {
						admitted.Add(1)
					}
				})
			}
			wg.Wait()
			if got := admitted.Load(); got != 5 {
				t.Errorf("admitted %d of 100 concurrent attempts, want 5", got)
			}
			if got, want := l.counts(alice), [3]int{5, 5, 5}; got != want {
				t.Errorf("counts after the burst = %v, want %v", got, want)
			}
		}},
		{"client kinds apart from logins", ThrottlePolicy{PairLimit: 3, UserLimit: 4, AddressLimit: 5}, func(t *testing.T, l limiterUnderTest) {
			client := func(id, ip string) ThrottleKey { return ThrottleKey{ClientID: id, IP: netip.MustParseAddr(ip)} }
			admitSucceed(t, l, client("app", "192.0.2.1"))
			for i := range 4 {
				admitFail(t, l, client("app", fmt.Sprintf("203.0.113.%d", i)))
			}
			if wait, ok := l.Allow(t.Context(), client("app", "203.0.113.9")); ok || wait != time.Second {
				t.Errorf("client past its ceiling: Allow = %v, %v; want 1s, false", wait, ok)
			}
			for _, k := range []ThrottleKey{client("other", "203.0.113.9"), key("app", "203.0.113.9"), client("app", "192.0.2.1")} {
				if _, ok := l.Allow(t.Context(), k); !ok {
					t.Errorf("Allow(%+v) refused, want admitted", k)
				}
			}
		}},
		{"typos then right", ThrottlePolicy{PairLimit: 5}, func(t *testing.T, l limiterUnderTest) {
			for _, s := range [][16]byte{a, a, b, b, c, c} {
				admitFail(t, l, withSecret(alice, s))
			}
			admitSucceed(t, l, withSecret(alice, d))
		}},
		{"repeated secret of a known pair refunds the username nothing", ThrottlePolicy{}, func(t *testing.T, l limiterUnderTest) {
			admitSucceed(t, l, alice)
			for range 3 {
				admitFail(t, l, withSecret(key("alice", "203.0.113.1"), secret()))
			}
			typo := withSecret(alice, secret())
			admitFail(t, l, typo)
			admitFail(t, l, typo)
			if got, want := l.counts(alice), [3]int{1, 3, 1}; got != want {
				t.Errorf("failures on pair, username, address = %v, want %v", got, want)
			}
		}},
		{"success forgets secrets", ThrottlePolicy{}, func(t *testing.T, l limiterUnderTest) {
			typo := withSecret(alice, a)
			admitFail(t, l, typo)
			admitSucceed(t, l, alice)
			admitFail(t, l, typo)
			admitFail(t, l, typo)
			if got := l.counts(alice)[0]; got != 1 {
				t.Errorf("failures on the pair = %d, want 1", got)
			}
		}},
	}
	repeats := []struct {
		name    string
		client  bool
		secrets [][16]byte
		advance time.Duration
		want    int
	}{
		{name: "same secret 20 times", secrets: repeat(a, 20), want: 1},
		{name: "same client secret 20 times", client: true, secrets: repeat(a, 20), want: 1},
		{name: "three typos sent twice", secrets: [][16]byte{a, a, b, b, c, c}, want: 3},
		{name: "different secrets", secrets: [][16]byte{a, b, c, d, e}, want: 5},
		{name: "no secret", secrets: repeat([16]byte{}, 5), want: 5},
		{name: "interleaved", secrets: [][16]byte{a, b, a, c, b, d, a}, want: 4},
		{name: "only the last four remembered", secrets: [][16]byte{a, b, c, d, e, a}, want: 6},
		{name: "after RepeatWindow", secrets: [][16]byte{a, a, a}, advance: 2 * time.Minute, want: 3},
	}
	for _, rc := range repeats {
		tests = append(tests, struct {
			name string
			p    ThrottlePolicy
			run  func(t *testing.T, l limiterUnderTest)
		}{"repeated secret: " + rc.name, ThrottlePolicy{PairLimit: 10, UserLimit: 10, AddressLimit: 10, RepeatWindow: time.Minute}, func(t *testing.T, l limiterUnderTest) {
			k := alice
			if rc.client {
				k = ThrottleKey{ClientID: "app", IP: k.IP}
			}
			for _, s := range rc.secrets {
				admitFail(t, l, withSecret(k, s))
				l.clock.advance(rc.advance)
			}
			if got, want := l.counts(k), [3]int{rc.want, rc.want, rc.want}; got != want {
				t.Errorf("failures on pair, name, address = %v, want %v", got, want)
			}
		}})
	}
	for _, kind := range limiterKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, kind.new(tc.p))
				})
			}
		})
	}
}

// TestSharedLimiterRacingReads checks that attempts which all read the
// records before any of them is charged, as concurrent instances may,
// are still admitted only up to the limit: the charge's own result
// decides, and the attempts it refuses are refunded.
func TestSharedLimiterRacingReads(t *testing.T) {
	t.Parallel()
	const n = 20
	store := newMemThrottleStore()
	var read sync.WaitGroup
	read.Add(n)
	store.afterRead = func() {
		read.Done()
		read.Wait()
	}
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newSharedLimiter(ThrottlePolicy{PairLimit: 5}, store, clock.now, slog.New(slog.DiscardHandler))
	k := key("alice", "198.51.100.1")
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, ok := l.Allow(t.Context(), k); ok {
				admitted.Add(1)
			}
		})
	}
	wg.Wait()
	if got, want := admitted.Load(), int64(5); got != want {
		t.Errorf("admitted %d of %d attempts that read before any charge, want %d", got, n, want)
	}
	if got, want := store.counts(k, clock.now()), [3]int{5, 5, 5}; got != want {
		t.Errorf("counts after the refunds = %v, want %v", got, want)
	}
}

// TestSharedLimiterTwoHandlers checks that two Handlers on one
// ThrottleStore throttle together: failures spread over both delay the
// next attempt on either.
func TestSharedLimiterTwoHandlers(t *testing.T) {
	t.Parallel()
	store := newMemThrottleStore()
	var cfg Config
	e := newEnv(t, func(e *env, c *Config) {
		c.ThrottleStore = store
		c.Throttle = ThrottlePolicy{PairLimit: 4}
		cfg = *c
	})
	b, err := NewHandler(cfg)
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	handlers := []*Handler{e.h, b}
	for i := range 4 {
		if w := post(handlers[i%2], login(e.alice.Username, rand.Text())); w.Code != 400 {
			t.Fatalf("POST /token: failure %d: status = %d, want 400", i+1, w.Code)
		}
	}
	for i, h := range handlers {
		w := post(h, login(e.alice.Username, e.alice.password))
		if got, want := w.Code, 429; got != want {
			t.Errorf("POST /token on handler %d past the limit: status = %d, want %d", i, got, want)
		}
		checkHeaders(t, w, headerWant{"Retry-After": "1"})
	}
	if got, want := store.counts(key(e.alice.Username, "192.0.2.1"), time.Now()), [3]int{4, 4, 4}; got != want {
		t.Errorf("counts in the store = %v, want %v", got, want)
	}
}

// TestSharedLimiterStoreFailure checks that a store failing while an
// attempt is checked fails closed, with 503 temporarily_unavailable and
// Retry-After before any hashing, for logins and client authentication,
// and that a failure while recording the outcome leaves the answer alone
// and is logged.
func TestSharedLimiterStoreFailure(t *testing.T) {
	t.Parallel()
	const secretLen = 24
	clientSecret := rand.Text()[:secretLen]
	tests := []struct {
		name       string
		failing    string // the store method that fails
		client     bool   // authenticate a confidential client
		right      bool   // send the right password
		wantStatus int
		wantCode   string
		wantLog    bool
	}{
		{"read before a login", "ThrottleRecords", false, true, 503, CodeTemporarilyUnavailable, true},
		{"charge of a login", "ChargeThrottle", false, true, 503, CodeTemporarilyUnavailable, true},
		{"read before a client authentication", "ThrottleRecords", true, true, 503, CodeTemporarilyUnavailable, true},
		{"charge of a client authentication", "ChargeThrottle", true, true, 503, CodeTemporarilyUnavailable, true},
		{"memo after a failure", "SwapThrottleMemo", false, false, 400, CodeInvalidGrant, true},
		{"success record", "ThrottleSuccess", false, true, 200, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			store := newMemThrottleStore()
			var buf lockedBuffer
			var ch *countingHasher
			e := newEnv(t, func(e *env, c *Config) {
				ch = &countingHasher{PasswordHasher: c.Hasher}
				c.Hasher = ch
				c.ThrottleStore = store
				c.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
				c.Clients = []Client{{ID: "app", Secret: clientSecret}}
			})
			var failed atomic.Bool
			store.fail = func(method string) error {
				if method == tc.failing {
					failed.Store(true)
					return errors.New("injected: database on fire")
				}
				return nil
			}
			pw := rand.Text()
			if tc.right {
				pw = e.alice.password
			}
			r := newPost(login(e.alice.Username, pw).Encode())
			if tc.client {
				r.SetBasicAuth("app", clientSecret)
			}
			verifies := ch.verifies.Load()
			w := do(e.h, r)
			if got := w.Code; got != tc.wantStatus {
				t.Fatalf("POST /token: status = %d, want %d", got, tc.wantStatus)
			}
			if !failed.Load() {
				t.Fatalf("the store's %s was never called", tc.failing)
			}
			if tc.wantStatus == 503 {
				checkHeaders(t, w, headerWant{"Retry-After": "1"})
				if b := decodeError(t, w); b.Error != tc.wantCode || b.Description != descBusy {
					t.Errorf("POST /token: body = %+v, want %s %q", b, tc.wantCode, descBusy)
				}
				if strings.Contains(w.Body.String(), "fire") {
					t.Errorf("POST /token: body %q carries the store's error", w.Body.String())
				}
				if got := ch.verifies.Load() - verifies; got != 0 {
					t.Errorf("Verify calls = %d, want 0", got)
				}
			}
			if tc.wantCode != "" && tc.wantStatus != 503 {
				if b := decodeError(t, w); b.Error != tc.wantCode {
					t.Errorf("POST /token: error = %q, want %q", b.Error, tc.wantCode)
				}
			}
			logged := strings.Contains(buf.String(), "oauth2pw: throttle store failed") && strings.Contains(buf.String(), "database on fire")
			if logged != tc.wantLog {
				t.Errorf("store failure logged = %v, want %v; log:\n%s", logged, tc.wantLog, buf.String())
			}
		})
	}
}

// TestConfigThrottleExclusive checks that Limiter, ThrottleStore and
// InsecureNoThrottle exclude each other.
func TestConfigThrottleExclusive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"Limiter and ThrottleStore", func(c *Config) { c.Limiter = &fakeLimiter{}; c.ThrottleStore = newMemThrottleStore() }, "both Limiter and ThrottleStore"},
		{"ThrottleStore and InsecureNoThrottle", func(c *Config) { c.ThrottleStore = newMemThrottleStore(); c.InsecureNoThrottle = true }, "both ThrottleStore and InsecureNoThrottle"},
		{"ThrottleStore with a bad policy", func(c *Config) { c.ThrottleStore = newMemThrottleStore(); c.Throttle.PairLimit = -1 }, "negative limit"},
	}
	base := newEnv(t, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := Config{Users: base.store, Hasher: base.hasher, Tokens: base.tokens}
			tc.mod(&c)
			_, err := NewHandler(c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewHandler: error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestMemoRoundTrip checks the memo encoding of failed secrets.
func TestMemoRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		used int
	}{{"empty", 0}, {"one", 1}, {"full", repeatSlots}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var slots [repeatSlots]failedSecret
			for i := range tc.used {
				slots[i] = failedSecret{digest: secret(), at: int64(i+1) * 1e9}
			}
			memo := encodeMemo(&slots)
			if got, want := len(memo), tc.used*memoSlotBytes; got != want {
				t.Errorf("len(memo) = %d, want %d", got, want)
			}
			if got := decodeMemo(memo); got != slots {
				t.Errorf("decodeMemo(encodeMemo(s)) = %v, want %v", got, slots)
			}
			if got := decodeMemo(append(memo, 1, 2, 3)); got != slots {
				t.Errorf("decodeMemo with trailing bytes = %v, want %v", got, slots)
			}
		})
	}
}

// BenchmarkSharedLimiterFailure measures an admitted attempt and its
// failure through the limiter on the in-memory fake store: the limiter's
// own cost, without a database.
func BenchmarkSharedLimiterFailure(b *testing.B) {
	l := newSharedLimiter(ThrottlePolicy{}, newMemThrottleStore(), time.Now, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := ThrottleKey{Username: "u" + strconv.Itoa(i), IP: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})}
		k.Secret = secret()
		i++
		if _, ok := l.Allow(ctx, k); !ok {
			b.Fatal("refused")
		}
		l.Failure(ctx, k)
	}
}
