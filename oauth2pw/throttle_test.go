package oauth2pw

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeClock is an injected clock for limiter unit tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestLimiter(p ThrottlePolicy) (*memoryLimiter, *fakeClock) {
	c := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return newMemoryLimiter(p, c.now), c
}

func key(user, ip string) ThrottleKey {
	return ThrottleKey{Username: user, IP: netip.MustParseAddr(ip)}
}

// fail makes an admitted, failed attempt and fails the test if it was not
// admitted.
func fail(t *testing.T, l *memoryLimiter, k ThrottleKey) {
	t.Helper()
	if wait, ok := l.Allow(t.Context(), k); !ok {
		t.Fatalf("Allow(%v) = %v, false; want admitted", k, wait)
	}
	l.Failure(t.Context(), k)
}

func TestLimiterGrowingDelays(t *testing.T) {
	t.Parallel()
	l, clock := newTestLimiter(ThrottlePolicy{PairLimit: 3, BaseDelay: time.Second, MaxDelay: 10 * time.Second})
	k := key("alice", "198.51.100.1")
	for range 3 {
		fail(t, l, k)
	}
	// Each further attempt waits 1s, 2s, 4s, 8s, then the 10s cap.
	for i, want := range []time.Duration{1, 2, 4, 8, 10, 10} {
		want *= time.Second
		wait, ok := l.Allow(t.Context(), k)
		if ok || wait != want {
			t.Fatalf("attempt %d past the limit: Allow = %v, %v; want %v, false", i+1, wait, ok, want)
		}
		clock.advance(want - time.Millisecond)
		if wait, ok := l.Allow(t.Context(), k); ok || wait != time.Millisecond {
			t.Fatalf("1ms before the delay ends: Allow = %v, %v; want 1ms, false", wait, ok)
		}
		clock.advance(time.Millisecond)
		fail(t, l, k)
	}
}

func TestLimiterSuccessResetsPair(t *testing.T) {
	t.Parallel()
	l, clock := newTestLimiter(ThrottlePolicy{PairLimit: 2})
	k := key("alice", "198.51.100.1")
	fail(t, l, k)
	fail(t, l, k)
	if _, ok := l.Allow(t.Context(), k); ok {
		t.Fatal("third attempt admitted at once, want a delay")
	}
	clock.advance(time.Second)
	if _, ok := l.Allow(t.Context(), k); !ok {
		t.Fatal("attempt after the delay refused")
	}
	l.Success(t.Context(), k)
	fail(t, l, k)
	fail(t, l, k) // the pair starts afresh after a success
}

func TestLimiterWindowForgets(t *testing.T) {
	t.Parallel()
	l, clock := newTestLimiter(ThrottlePolicy{PairLimit: 2, Window: 10 * time.Minute, BaseDelay: time.Minute, MaxDelay: time.Hour})
	k := key("alice", "198.51.100.1")
	for range 2 {
		fail(t, l, k)
	}
	clock.advance(time.Minute)
	fail(t, l, k) // third failure: the next waits 2 minutes
	clock.advance(10*time.Minute + time.Second)
	// Forgotten: two free failures again.
	fail(t, l, k)
	fail(t, l, k)
	if got := l.len(); got != 3 {
		t.Errorf("records = %d, want 3 (pair, user, address)", got)
	}
	clock.advance(11 * time.Minute)
	l.Allow(t.Context(), key("bob", "198.51.100.2")) // sweeps the expired records
	if got := l.len(); got != 3 {
		t.Errorf("records after the window = %d, want 3 (only bob's)", got)
	}
}

func TestLimiterAddressLimit(t *testing.T) {
	t.Parallel()
	l, _ := newTestLimiter(ThrottlePolicy{AddressLimit: 10})
	for i := range 10 {
		fail(t, l, key("user"+strconv.Itoa(i), "198.51.100.1"))
	}
	if _, ok := l.Allow(t.Context(), key("fresh", "198.51.100.1")); ok {
		t.Error("new username from a busy address admitted, want a delay")
	}
	if _, ok := l.Allow(t.Context(), key("fresh", "198.51.100.2")); !ok {
		t.Error("new username from another address refused")
	}
}

// TestLimiterAddressLimitSparesKnownPair checks that an attacker spraying
// usernames from an address the real user shares (a NAT, a carrier-grade
// NAT) cannot keep that user out: a pair that logged in within Window
// escapes the address limit as it escapes the username ceiling, and only
// its own pair limit applies.
func TestLimiterAddressLimitSparesKnownPair(t *testing.T) {
	t.Parallel()
	l, _ := newTestLimiter(ThrottlePolicy{AddressLimit: 10, PairLimit: 3})
	home := key("alice", "198.51.100.1")
	if _, ok := l.Allow(t.Context(), home); !ok {
		t.Fatal("first login refused")
	}
	l.Success(t.Context(), home)
	for i := range 10 {
		fail(t, l, key("user"+strconv.Itoa(i), "198.51.100.1"))
	}
	if _, ok := l.Allow(t.Context(), key("fresh", "198.51.100.1")); ok {
		t.Error("new username from a busy address admitted, want a delay")
	}
	if _, ok := l.Allow(t.Context(), home); !ok {
		t.Fatal("the user's known pair refused by the address limit: an attacker sharing the address could lock the user out")
	}
	l.Failure(t.Context(), home)
	// The known pair still has its own limit.
	fail(t, l, home)
	fail(t, l, home)
	if _, ok := l.Allow(t.Context(), home); ok {
		t.Error("known pair admitted past its pair limit, want a delay")
	}
}

func TestLimiterIPv6CountsBySlash64(t *testing.T) {
	t.Parallel()
	l, _ := newTestLimiter(ThrottlePolicy{PairLimit: 2})
	fail(t, l, key("alice", "2001:db8:1:2::1"))
	fail(t, l, key("alice", "2001:db8:1:2:ffff::9"))
	if _, ok := l.Allow(t.Context(), key("alice", "2001:db8:1:2::abcd")); ok {
		t.Error("third address of one /64 admitted, want a delay")
	}
	if _, ok := l.Allow(t.Context(), key("alice", "2001:db8:1:3::1")); !ok {
		t.Error("another /64 refused")
	}
}

// TestLimiterUsernameCeiling checks the per-username ceiling against
// stuffing over many addresses, and that it spares an address from which
// the user logged in.
func TestLimiterUsernameCeiling(t *testing.T) {
	t.Parallel()
	l, _ := newTestLimiter(ThrottlePolicy{UserLimit: 20})
	home := key("alice", "198.51.100.1")
	if _, ok := l.Allow(t.Context(), home); !ok {
		t.Fatal("first login refused")
	}
	l.Success(t.Context(), home)
	for i := range 20 {
		fail(t, l, key("alice", fmt.Sprintf("203.0.113.%d", i)))
	}
	if _, ok := l.Allow(t.Context(), key("alice", "203.0.113.200")); ok {
		t.Error("21st address for one username admitted, want a delay")
	}
	if _, ok := l.Allow(t.Context(), home); !ok {
		t.Error("the user's known address refused: an attacker could lock the user out")
	}
	// The known address's success does not refund the attacker's failures.
	l.Success(t.Context(), home)
	if _, ok := l.Allow(t.Context(), key("alice", "203.0.113.201")); ok {
		t.Error("after the user's success elsewhere, a new address was admitted; want the ceiling kept")
	}
}

// TestLimiterKnownPairOutlivesWindow checks that a user who comes back
// after Window to an address they logged in from stays exempt from the
// username ceiling that a distributed attack holds up, for KnownWindow,
// and that the sweep of expired records keeps that mark.
func TestLimiterKnownPairOutlivesWindow(t *testing.T) {
	t.Parallel()
	l, clock := newTestLimiter(ThrottlePolicy{UserLimit: 5, Window: time.Hour, KnownWindow: 7 * 24 * time.Hour})
	home := key("alice", "198.51.100.1")
	if _, ok := l.Allow(t.Context(), home); !ok {
		t.Fatal("first login refused")
	}
	l.Success(t.Context(), home)
	clock.advance(2 * 24 * time.Hour) // the user is away for two days
	// Unrelated traffic sweeps the expired records.
	for i := range 20 {
		fail(t, l, key("u"+strconv.Itoa(i), "192.0.2.7"))
	}
	for i := range 5 {
		fail(t, l, key("alice", fmt.Sprintf("203.0.113.%d", i)))
	}
	if _, ok := l.Allow(t.Context(), key("alice", "203.0.113.200")); ok {
		t.Error("new address past the username ceiling admitted, want a delay")
	}
	if _, ok := l.Allow(t.Context(), home); !ok {
		t.Fatal("the user's known address refused two days after a login: an attacker could lock the user out")
	}
	l.Success(t.Context(), home)

	// Past KnownWindow without a login, the address is a stranger again.
	clock.advance(8 * 24 * time.Hour)
	for i := range 5 {
		fail(t, l, key("alice", fmt.Sprintf("203.0.113.%d", 100+i)))
	}
	if _, ok := l.Allow(t.Context(), home); ok {
		t.Error("address admitted past the ceiling after KnownWindow, want a delay")
	}
}

// TestLimiterKnownPairsBounded checks that known pairs, which outlive
// Window, still count against MaxEntries.
func TestLimiterKnownPairsBounded(t *testing.T) {
	t.Parallel()
	l, clock := newTestLimiter(ThrottlePolicy{MaxEntries: 100, Window: time.Minute})
	for i := range 1000 {
		k := ThrottleKey{Username: "u" + strconv.Itoa(i), IP: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})}
		if _, ok := l.Allow(t.Context(), k); !ok {
			t.Fatalf("login %d refused", i)
		}
		l.Success(t.Context(), k)
		clock.advance(time.Minute / 10)
	}
	checkBudgets(t, l)
}

// TestLimiterConcurrentBurst checks that attempts are charged when admitted,
// so a burst of parallel guesses cannot overrun the limit.
func TestLimiterConcurrentBurst(t *testing.T) {
	t.Parallel()
	l, _ := newTestLimiter(ThrottlePolicy{PairLimit: 5})
	k := key("alice", "198.51.100.1")
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if _, ok := l.Allow(t.Context(), k); ok {
				admitted.Add(1)
			}
		})
	}
	wg.Wait()
	if got := admitted.Load(); got != 5 {
		t.Errorf("admitted %d of 100 concurrent attempts, want 5", got)
	}
}

// TestLimiterClientKinds checks that client authentication is counted per
// (client_id, address) pair, per client_id and per address under the
// policy's limits, apart from logins, and that a client's known pair
// escapes the client_id ceiling.
func TestLimiterClientKinds(t *testing.T) {
	t.Parallel()
	client := func(id, ip string) ThrottleKey { return ThrottleKey{ClientID: id, IP: netip.MustParseAddr(ip)} }
	tests := []struct {
		name    string
		fails   []ThrottleKey
		refused []ThrottleKey
		allowed []ThrottleKey
	}{
		{
			name:    "pair",
			fails:   []ThrottleKey{client("app", "198.51.100.1"), client("app", "198.51.100.1"), client("app", "198.51.100.1")},
			refused: []ThrottleKey{client("app", "198.51.100.1")},
			allowed: []ThrottleKey{client("app", "198.51.100.2"), client("other", "198.51.100.1"), key("app", "198.51.100.1")},
		},
		{
			name:    "client_id",
			fails:   []ThrottleKey{client("app", "203.0.113.1"), client("app", "203.0.113.2"), client("app", "203.0.113.3"), client("app", "203.0.113.4")},
			refused: []ThrottleKey{client("app", "203.0.113.5")},
			allowed: []ThrottleKey{client("other", "203.0.113.5"), key("app", "203.0.113.5"), client("app", "192.0.2.1")},
		},
		{
			name:    "address",
			fails:   []ThrottleKey{client("a", "198.51.100.1"), client("b", "198.51.100.1"), client("c", "198.51.100.1"), client("d", "198.51.100.1"), client("e", "198.51.100.1")},
			refused: []ThrottleKey{client("f", "198.51.100.1")},
			allowed: []ThrottleKey{client("f", "198.51.100.2"), key("f", "198.51.100.1")},
		},
		{
			name:    "logins do not count for clients",
			fails:   []ThrottleKey{key("app", "198.51.100.1"), key("app", "198.51.100.1"), key("app", "198.51.100.1")},
			refused: []ThrottleKey{key("app", "198.51.100.1")},
			allowed: []ThrottleKey{client("app", "198.51.100.1")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, _ := newTestLimiter(ThrottlePolicy{PairLimit: 3, UserLimit: 4, AddressLimit: 5})
			// A known pair: the client authenticated from there before.
			known := client("app", "192.0.2.1")
			if _, ok := l.Allow(t.Context(), known); !ok {
				t.Fatal("first authentication refused")
			}
			l.Success(t.Context(), known)
			for _, k := range tc.fails {
				fail(t, l, k)
			}
			for _, k := range tc.refused {
				if wait, ok := l.Allow(t.Context(), k); ok || wait != time.Second {
					t.Errorf("Allow(%+v) = %v, %v; want 1s, false", k, wait, ok)
				}
			}
			for _, k := range tc.allowed {
				if _, ok := l.Allow(t.Context(), k); !ok {
					t.Errorf("Allow(%+v) refused, want admitted", k)
				}
			}
		})
	}
}

// TestThrottledLogin runs the handler in a synctest bubble: failures
// lead to 429 with Retry-After before any hashing, a correct password
// is refused while the delay runs, and accepted once it has passed.
func TestThrottledLogin(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var ch *countingHasher
		e := newEnv(t, func(e *env, c *Config) {
			ch = &countingHasher{PasswordHasher: c.Hasher}
			c.Hasher = ch
			c.Throttle = ThrottlePolicy{PairLimit: 3, BaseDelay: 10 * time.Second, MaxDelay: time.Minute}
		})
		for i := range 3 {
			if w := post(e.h, login(e.alice.Username, rand.Text())); w.Code != 400 {
				t.Fatalf("failure %d: status = %d, want 400", i+1, w.Code)
			}
		}
		verifies := ch.verifies.Load()
		w := post(e.h, login(e.alice.Username, e.alice.password))
		if w.Code != 429 {
			t.Fatalf("correct password after the limit: status = %d, want 429", w.Code)
		}
		checkHeaders(t, w, headerWant{"Retry-After": "10"})
		if b := decodeError(t, w); b.Error != CodeSlowDown || b.Description != descThrottled {
			t.Errorf("body = %+v, want slow_down %q", b, descThrottled)
		}
		if got := ch.verifies.Load(); got != verifies {
			t.Errorf("throttled request ran %d Verify calls, want 0", got-verifies)
		}

		time.Sleep(7500 * time.Millisecond)
		w = post(e.h, login(e.alice.Username, e.alice.password))
		if got := w.Header().Get("Retry-After"); w.Code != 429 || got != "3" {
			t.Fatalf("2.5s before the end: %d Retry-After %q, want 429 \"3\"", w.Code, got)
		}
		// Another address is not delayed by this pair.
		r := newPost(login(e.alice.Username, e.alice.password).Encode())
		r.RemoteAddr = "198.51.100.77:1"
		decodeSuccess(t, do(e.h, r))

		time.Sleep(2500 * time.Millisecond)
		decodeSuccess(t, post(e.h, login(e.alice.Username, e.alice.password)))
		// The success reset the pair: three free failures again.
		for i := range 3 {
			if w := post(e.h, login(e.alice.Username, rand.Text())); w.Code != 400 {
				t.Fatalf("failure %d after success: status = %d, want 400", i+1, w.Code)
			}
		}
	})
}

// TestThrottleCountsTooLongPasswords checks that refusing an over-long
// password without hashing still counts as a failure.
func TestThrottleCountsTooLongPasswords(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env, c *Config) { c.Throttle.PairLimit = 2 })
	for _, c := range []string{"x", "y"} {
		post(e.h, login(e.alice.Username, strings.Repeat(c, 2000)))
	}
	if w := post(e.h, login(e.alice.Username, e.alice.password)); w.Code != 429 {
		t.Errorf("after two over-long passwords: status = %d, want 429", w.Code)
	}
}

// TestThrottleUsernameNormalised checks that case and spacing variants of
// a username count as one.
func TestThrottleUsernameNormalised(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env, c *Config) { c.Throttle.PairLimit = 2 })
	post(e.h, login("Alice@Example.com", rand.Text()))
	post(e.h, login(" alice@EXAMPLE.COM", rand.Text()))
	if w := post(e.h, login(e.alice.Username, e.alice.password)); w.Code != 429 {
		t.Errorf("after two failures under other spellings: status = %d, want 429", w.Code)
	}
}

// TestThrottleRepeatedPassword checks that the endpoint counts a wrong
// password sent again for the same user from the same address once: a
// retrying client and typo retries do not use up the pair limit, while
// different wrong passwords do.
func TestThrottleRepeatedPassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		wrong func() []string
		want  int // status of the right password afterwards
	}{
		{"one wrong password ten times", func() []string {
			p := rand.Text()
			return []string{p, p, p, p, p, p, p, p, p, p}
		}, 200},
		{"three typos sent twice", func() []string {
			a, b, c := rand.Text(), rand.Text(), rand.Text()
			return []string{a, a, b, b, c, c}
		}, 200},
		{"five different passwords", func() []string {
			return []string{rand.Text(), rand.Text(), rand.Text(), rand.Text(), rand.Text()}
		}, 429},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(e *env, c *Config) { c.Throttle.PairLimit = 5 })
			for i, p := range tc.wrong() {
				if w := post(e.h, login(e.alice.Username, p)); w.Code != 400 {
					t.Fatalf("POST /token: wrong password %d: status = %d, want 400", i+1, w.Code)
				}
			}
			if got := post(e.h, login(e.alice.Username, e.alice.password)).Code; got != tc.want {
				t.Errorf("POST /token: right password: status = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestInsecureNoThrottle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env, c *Config) { c.InsecureNoThrottle = true })
	for i := range 30 {
		if w := post(e.h, login(e.alice.Username, e.bob.password)); w.Code != 400 {
			t.Fatalf("failure %d: status = %d, want 400", i+1, w.Code)
		}
	}
	decodeSuccess(t, post(e.h, login(e.alice.Username, e.alice.password)))
}

// TestCustomLimiter checks the calls the handler makes on a Limiter.
func TestCustomLimiter(t *testing.T) {
	t.Parallel()
	var keys []ThrottleKey
	lim := &fakeLimiter{allow: func(k ThrottleKey) (time.Duration, bool) {
		keys = append(keys, k)
		if k.Username == "blocked@example.com" {
			return 90*time.Second + time.Millisecond, false
		}
		return 0, true
	}}
	e := newEnv(t, func(e *env, c *Config) { c.Limiter = lim })

	decodeSuccess(t, post(e.h, login(" Bob@Example.com", e.bob.password)))
	post(e.h, login(e.bob.Username, e.alice.password))
	post(e.h, login(e.bob.Username, e.bob.password, "scope", "admin")) // invalid_scope: the password was right
	w := post(e.h, login("blocked@example.com", "x"))
	checkHeaders(t, w, headerWant{"Retry-After": "91"})
	if w.Code != 429 {
		t.Errorf("blocked: status = %d, want 429", w.Code)
	}
	post(e.h, login("", "x")) // invalid_request: the limiter is not asked

	want := []ThrottleKey{key("bob@example.com", "192.0.2.1"), key("bob@example.com", "192.0.2.1"), key("bob@example.com", "192.0.2.1"), key("blocked@example.com", "192.0.2.1")}
	var secrets [][16]byte
	for i := range keys {
		secrets = append(secrets, keys[i].Secret)
		keys[i].Secret = [16]byte{}
	}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Errorf("Allow keys = %v, want %v", keys, want)
	}
	// The same password gives the same digest, another password another.
	if len(secrets) == len(want) {
		if secrets[0] == ([16]byte{}) || secrets[0] != secrets[2] || secrets[0] == secrets[1] || secrets[1] == secrets[3] {
			t.Errorf("Allow secrets = %x, want non-zero, the first and third equal, the others different", secrets)
		}
	}
	if s, f := lim.successes.Load(), lim.failures.Load(); s != 2 || f != 1 {
		t.Errorf("Success, Failure calls = %d, %d; want 2, 1", s, f)
	}
}

// BenchmarkLimiterFailure measures an admitted attempt and its failure
// record from a new username and address on a full limiter: the path of
// an attacker filling the table.
func BenchmarkLimiterFailure(b *testing.B) {
	l, _ := newTestLimiter(ThrottlePolicy{})
	ctx := context.Background()
	keys := make([]ThrottleKey, 1<<17)
	for i := range keys {
		keys[i] = ThrottleKey{Username: "u" + strconv.Itoa(i), IP: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})}
		rand.Read(keys[i].Secret[:])
	}
	for _, k := range keys {
		l.Allow(ctx, k)
		l.Failure(ctx, k)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := keys[i%len(keys)]
		i++
		if _, ok := l.Allow(ctx, k); !ok {
			b.Fatal("refused")
		}
		l.Failure(ctx, k)
	}
}
