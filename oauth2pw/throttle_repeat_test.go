package oauth2pw

import (
	"crypto/rand"
	"net/netip"
	"testing"
	"time"
)

// secret returns a new random digest standing for a secret.
func secret() [16]byte {
	var s [16]byte
	rand.Read(s[:])
	return s
}

// withSecret returns k presenting s.
func withSecret(k ThrottleKey, s [16]byte) ThrottleKey {
	k.Secret = s
	return k
}

// counts returns the failures the limiter holds for k's pair, username
// (or client id) and address.
func counts(l *memoryLimiter, k ThrottleKey) [3]int {
	pk, nk, ak := throttleKeys(k)
	l.mu.Lock()
	defer l.mu.Unlock()
	var c [3]int
	for i, key := range [...]throttleMapKey{pk, nk, ak} {
		if e := l.entries[key]; e != nil {
			c[i] = int(e.count)
		}
	}
	return c
}

// TestLimiterRepeatedSecret checks that a failure presenting the secret of
// one of the last four failures of its pair, within RepeatWindow, counts
// once on the pair, the username or client id, and the address, and that
// other failures count as before.
func TestLimiterRepeatedSecret(t *testing.T) {
	t.Parallel()
	a, b, c, d, e := secret(), secret(), secret(), secret(), secret()
	tests := []struct {
		name    string
		client  bool
		secrets [][16]byte // failures, in order
		advance time.Duration
		want    int // failures counted on each kind
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
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, clock := newTestLimiter(ThrottlePolicy{PairLimit: 10, UserLimit: 10, AddressLimit: 10, RepeatWindow: time.Minute})
			k := key("alice", "198.51.100.1")
			if tc.client {
				k = ThrottleKey{ClientID: "app", IP: k.IP}
			}
			for _, s := range tc.secrets {
				fail(t, l, withSecret(k, s))
				clock.advance(tc.advance)
			}
			if got, want := counts(l, k), [3]int{tc.want, tc.want, tc.want}; got != want {
				t.Errorf("failures on pair, name, address = %v, want %v", got, want)
			}
		})
	}
}

// repeat returns n copies of s.
func repeat(s [16]byte, n int) [][16]byte {
	out := make([][16]byte, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestLimiterTyposThenRight checks that three typos, each sent twice as a
// retrying client does, leave room for the right password under a pair
// limit of 5, and that five different wrong passwords do not.
func TestLimiterTyposThenRight(t *testing.T) {
	t.Parallel()
	typo1, typo2, typo3 := secret(), secret(), secret()
	tests := []struct {
		name    string
		secrets [][16]byte
		wantOK  bool
	}{
		{"three typos sent twice", [][16]byte{typo1, typo1, typo2, typo2, typo3, typo3}, true},
		{"five different passwords", [][16]byte{secret(), secret(), secret(), secret(), secret()}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, _ := newTestLimiter(ThrottlePolicy{PairLimit: 5})
			k := key("alice", "198.51.100.1")
			for i, s := range tc.secrets {
				ks := withSecret(k, s)
				if _, ok := l.Allow(t.Context(), ks); !ok {
					t.Fatalf("failure %d refused", i+1)
				}
				l.Failure(t.Context(), ks)
			}
			right := withSecret(k, secret())
			if _, ok := l.Allow(t.Context(), right); ok != tc.wantOK {
				t.Fatalf("the right password: Allow ok = %v, want %v", ok, tc.wantOK)
			}
			l.Success(t.Context(), right)
		})
	}
}

// TestLimiterRepeatedSecretKnownPair checks that a repeated failure of a
// known pair, which Allow did not charge to the username, refunds the
// username nothing: it keeps the failures an attacker made elsewhere.
func TestLimiterRepeatedSecretKnownPair(t *testing.T) {
	t.Parallel()
	l, _ := newTestLimiter(ThrottlePolicy{})
	home := key("alice", "198.51.100.1")
	if _, ok := l.Allow(t.Context(), home); !ok {
		t.Fatal("first login refused")
	}
	l.Success(t.Context(), home)
	for range 3 {
		fail(t, l, withSecret(key("alice", "203.0.113.1"), secret()))
	}
	typo := withSecret(home, secret())
	fail(t, l, typo)
	fail(t, l, typo)
	if got, want := counts(l, home), [3]int{1, 3, 1}; got != want {
		t.Errorf("failures on pair, username, address = %v, want %v", got, want)
	}
}

// TestLimiterSuccessForgetsSecrets checks that a success clears the
// pair's failed secrets: after it, an old typo counts again.
func TestLimiterSuccessForgetsSecrets(t *testing.T) {
	t.Parallel()
	l, _ := newTestLimiter(ThrottlePolicy{})
	k := ThrottleKey{Username: "alice", IP: netip.MustParseAddr("198.51.100.1")}
	typo := withSecret(k, secret())
	fail(t, l, typo)
	if _, ok := l.Allow(t.Context(), k); !ok {
		t.Fatal("login refused")
	}
	l.Success(t.Context(), k)
	fail(t, l, typo)
	fail(t, l, typo)
	if got := counts(l, k)[0]; got != 1 {
		t.Errorf("failures on the pair = %d, want 1", got)
	}
}
