package oauth2pw

import (
	"fmt"
	"net/netip"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// checkBudgets checks that the limiter's map and budget lists agree and
// that every budget and the whole stay within their caps.
func checkBudgets(t *testing.T, l *memoryLimiter) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	total := 0
	for b := range l.lists {
		n := 0
		var prev *throttleEntry
		for e := l.lists[b].head; e != nil; e = e.next {
			if e.budget != throttleBudget(b) || e.prev != prev || l.entries[e.key] != e {
				t.Fatalf("budget %d: record %d is out of place", b, n)
			}
			prev = e
			n++
		}
		if l.lists[b].tail != prev || l.lists[b].n != n {
			t.Fatalf("budget %d: list holds %d records, counted %d", b, n, l.lists[b].n)
		}
		if n > l.caps[b] {
			t.Errorf("budget %d holds %d records, want at most %d", b, n, l.caps[b])
		}
		total += n
	}
	if total != len(l.entries) {
		t.Errorf("lists hold %d records, map %d", total, len(l.entries))
	}
	if got, limit := len(l.entries), l.p.MaxEntries; got > limit {
		t.Errorf("records = %d, want at most %d", got, limit)
	}
}

// filler is the i-th attempt of a flood: a new username from a new
// address.
func filler(i int) ThrottleKey {
	return ThrottleKey{Username: "f" + strconv.Itoa(i), IP: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})}
}

// TestLimiterFloodKeepsThrottled throttles victims of every kind, then
// floods the limiter with ten times MaxEntries failures from new usernames
// at new addresses (a million at the default MaxEntries): the victims are
// still delayed, with the Retry-After they had, a known pair keeps its
// exemption, and the records stay within MaxEntries.
func TestLimiterFloodKeepsThrottled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		maxEntries, fillers int
		large               bool // skipped under -short and -race
	}{
		{maxEntries: 1000, fillers: 10_000},
		{maxEntries: 20_000, fillers: 200_000},
		{maxEntries: 0, fillers: 1_000_000, large: true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("MaxEntries=%d", tc.maxEntries), func(t *testing.T) {
			t.Parallel()
			if tc.large && (testing.Short() || raceEnabled) {
				t.Skip("a million fillers: skipped under -short and -race")
			}
			const base = time.Minute
			l, clock := newTestLimiter(ThrottlePolicy{
				MaxEntries: tc.maxEntries,
				PairLimit:  3, UserLimit: 5, AddressLimit: 8,
				BaseDelay: base, MaxDelay: time.Hour,
			})
			ctx := t.Context()
			login := func(user, ip string) ThrottleKey { return key(user, ip) }
			client := func(id, ip string) ThrottleKey {
				return ThrottleKey{ClientID: id, IP: netip.MustParseAddr(ip)}
			}
			// Known pairs: carol logged in from home, and a client of that
			// name authenticated from there.
			home := []ThrottleKey{login("carol", "198.51.100.3"), client("carol", "198.51.100.3")}
			for _, k := range home {
				if _, ok := l.Allow(ctx, k); !ok {
					t.Fatalf("Allow(%v) refused", k)
				}
				l.Success(ctx, k)
			}
			for _, mk := range []func(string, string) ThrottleKey{login, client} {
				for range 3 {
					fail(t, l, mk("alice", "198.51.100.1"))
				}
				for i := range 5 {
					fail(t, l, mk("bob", fmt.Sprintf("203.0.113.%d", i)))
					fail(t, l, mk("carol", fmt.Sprintf("203.0.113.%d", 100+i)))
				}
				for i := range 8 {
					fail(t, l, mk("v"+strconv.Itoa(i), "192.0.2.9"))
				}
			}

			var elapsed time.Duration
			for i := range tc.fillers {
				k := filler(i)
				if _, ok := l.Allow(ctx, k); !ok {
					t.Fatalf("filler %d refused", i)
				}
				l.Failure(ctx, k)
				if i%100 == 0 {
					clock.advance(time.Millisecond)
					elapsed += time.Millisecond
				}
			}
			checkBudgets(t, l)

			want := base - elapsed
			for _, mk := range []struct {
				kind string
				k    func(string, string) ThrottleKey
			}{{"login", login}, {"client", client}} {
				refused := []struct {
					name string
					k    ThrottleKey
				}{
					{"pair", mk.k("alice", "198.51.100.1")},
					{"username or client id", mk.k("bob", "203.0.113.200")},
					{"address", mk.k("newcomer", "192.0.2.9")},
					{"username or client id of a known pair, elsewhere", mk.k("carol", "203.0.113.201")},
				}
				for _, r := range refused {
					if wait, ok := l.Allow(ctx, r.k); ok || wait != want {
						t.Errorf("%s %s after %d fillers: Allow = %v, %v; want %v, false", mk.kind, r.name, tc.fillers, wait, ok, want)
					}
				}
			}
			for _, k := range home {
				if _, ok := l.Allow(ctx, k); !ok {
					t.Errorf("known pair %v refused after %d fillers: the flood evicted its exemption", k, tc.fillers)
				}
			}
			checkBudgets(t, l)
		})
	}
}

// TestLimiterBudgetsEvict checks the order in which full budgets give
// records up: of the records over their limit, the least over among the
// least recently used; of the known pairs, the oldest login.
func TestLimiterBudgetsEvict(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	t.Run("over their limit", func(t *testing.T) {
		t.Parallel()
		// MaxEntries 12: three records over their limit at most.
		l, clock := newTestLimiter(ThrottlePolicy{MaxEntries: 12, PairLimit: 1, BaseDelay: time.Second, MaxDelay: time.Hour})
		k := func(i int) ThrottleKey { return key("p"+strconv.Itoa(i), fmt.Sprintf("198.51.100.%d", i)) }
		fail(t, l, k(1))
		clock.advance(time.Second)
		fail(t, l, k(1)) // two over
		fail(t, l, k(2))
		fail(t, l, k(3))
		fail(t, l, k(4)) // the budget is full: p2, the least over of the oldest, goes
		checkBudgets(t, l)
		for _, i := range []int{1, 3, 4} {
			if _, ok := l.Allow(ctx, k(i)); ok {
				t.Errorf("p%d admitted, want a delay", i)
			}
		}
		if _, ok := l.Allow(ctx, k(2)); !ok {
			t.Error("p2 refused, want it evicted and admitted")
		}
	})
	t.Run("known pairs", func(t *testing.T) {
		t.Parallel()
		l, clock := newTestLimiter(ThrottlePolicy{MaxEntries: 12})
		k := func(i int) ThrottleKey { return key("k"+strconv.Itoa(i), fmt.Sprintf("198.51.100.%d", i)) }
		for i := range 4 {
			if _, ok := l.Allow(ctx, k(i)); !ok {
				t.Fatalf("login %d refused", i)
			}
			l.Success(ctx, k(i))
			clock.advance(time.Second)
		}
		// A known pair that logs in again moves to the front.
		l.Allow(ctx, k(1))
		l.Success(ctx, k(1))
		l.Allow(ctx, k(4))
		l.Success(ctx, k(4)) // the budget is full: k2, the oldest login, goes
		checkBudgets(t, l)
		now := clock.now().UnixNano()
		for i, wantKnown := range []bool{false, true, false, true, true} {
			pk, _, _ := throttleKeys(k(i))
			if got := l.known(l.entries[pk], now); got != wantKnown {
				t.Errorf("k%d: known = %v, want %v", i, got, wantKnown)
			}
		}
	})
}

// TestLimiterMemoryPerRecord checks the memory documented on
// [ThrottlePolicy.MaxEntries]: a limiter that a flood of new usernames and
// addresses has churned through holds at most 500 bytes per record. It
// runs alone so that other tests' allocations do not count.
func TestLimiterMemoryPerRecord(t *testing.T) {
	const perRecord = 500
	tests := []struct {
		maxEntries, churn int
		large             bool // skipped under -short and -race
	}{
		{maxEntries: 4_000, churn: 30},
		{maxEntries: 30_000, churn: 20, large: true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("MaxEntries=%d", tc.maxEntries), func(t *testing.T) {
			if tc.large && (testing.Short() || raceEnabled) {
				t.Skip("skipped under -short and -race")
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			l, _ := newTestLimiter(ThrottlePolicy{MaxEntries: tc.maxEntries})
			for i := range tc.churn * tc.maxEntries {
				k := filler(i)
				k.Secret[0] = 1
				l.Allow(t.Context(), k)
				l.Failure(t.Context(), k)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			if n := l.len(); n != tc.maxEntries {
				t.Fatalf("records = %d, want %d", n, tc.maxEntries)
			}
			got := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / int64(tc.maxEntries)
			t.Logf("%d bytes per record", got)
			if got > perRecord {
				t.Errorf("%d bytes per record, want at most %d", got, perRecord)
			}
			runtime.KeepAlive(l)
		})
	}
}
