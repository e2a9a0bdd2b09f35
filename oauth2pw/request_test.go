package oauth2pw

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/authkit-go/authkit/userstore"
)

// TestQueryStringParameters checks that a token request parameter in the
// URL's query string is refused even beside a valid body, and that other
// query parameters are ignored.
func TestQueryStringParameters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tests := []struct {
		name   string
		query  string
		status int
	}{
		{"grant_type", "grant_type=password", 400},
		{"username", "username=x", 400},
		{"password", "password=x", 400},
		{"scope", "scope=admin", 400},
		{"client_id", "client_id=x", 400},
		{"client_secret", "client_secret=x", 400},
		{"refresh_token", "refresh_token=x", 400},
		{"empty value", "password=", 400},
		{"no value", "password", 400},
		{"among others", "a=1&password=x&b=2", 400},
		{"name percent-encoded", "pass%77ord=x", 400},
		{"malformed value", "password=%zz", 400},
		{"other parameter", "foo=bar", 200},
		{"name in capitals", "Password=x", 200},
		{"longer name", "passwords=x", 200},
		{"malformed name", "%zz=1", 200},
		{"empty query", "", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newPost(login(e.bob.Username, e.bob.password).Encode())
			r.URL.RawQuery = tc.query
			w := do(e.h, r)
			if w.Code != tc.status {
				t.Fatalf("POST /token?%s: status = %d, want %d; body %s", tc.query, w.Code, tc.status, w.Body)
			}
			if tc.status == 200 {
				return
			}
			checkHeaders(t, w, nil)
			if b := decodeError(t, w); b.Error != CodeInvalidRequest || b.Description != descQueryParams {
				t.Errorf("POST /token?%s: body = %+v, want invalid_request %q", tc.query, b, descQueryParams)
			}
		})
	}
}

// TestCredentialCharacters checks that invalid UTF-8 and control
// characters other than TAB in the username or password are refused before
// any limiter call, user lookup or hash, and that a TAB is one more wrong
// credential.
func TestCredentialCharacters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		username string // "" means alice's
		password string // "" means alice's
		code     string
	}{
		{"NUL in username", "alice\x00@example.com", "", CodeInvalidRequest},
		{"CR in username", "alice@example.com\r", "", CodeInvalidRequest},
		{"LF in username", "alice@example.com\n", "", CodeInvalidRequest},
		{"ESC in username", "\x1balice@example.com", "", CodeInvalidRequest},
		{"DEL in username", "alice@example.com\x7f", "", CodeInvalidRequest},
		{"C1 NEL in username", "alice\u0085@example.com", "", CodeInvalidRequest},
		{"C1 U+009F in username", "alice@example.com\u009f", "", CodeInvalidRequest},
		{"invalid UTF-8 in username", "alice\xc3@example.com", "", CodeInvalidRequest},
		{"UTF-16 surrogate in username", "alice\xed\xa0\x80@example.com", "", CodeInvalidRequest},
		{"NUL in password", "", "pass\x00word", CodeInvalidRequest},
		{"CR LF in password", "", "password\r\n", CodeInvalidRequest},
		{"DEL in password", "", "\x7fpassword", CodeInvalidRequest},
		{"C1 in password", "", "pass\u0080word", CodeInvalidRequest},
		{"invalid UTF-8 in password", "", "pass\xffword", CodeInvalidRequest},
		{"overlong encoding in password", "", "pass\xc0\xafword", CodeInvalidRequest},
		{"TAB in password", "", "pass\tword", CodeInvalidGrant},
		{"TAB in username", "alice@example.com\t", "wrong", CodeInvalidGrant},
		{"non-ASCII letters", "", "pässwörd \u00a0\u2028", CodeInvalidGrant},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var lookups atomic.Int64
			var ch *countingHasher
			var lim fakeLimiter
			e := newEnv(t, func(e *env, c *Config) {
				ch = &countingHasher{PasswordHasher: c.Hasher}
				c.Hasher = ch
				c.Users = countingStore(e, &lookups)
				c.Limiter = &lim
			})
			username, password := tc.username, tc.password
			if username == "" {
				username = e.alice.Username
			}
			if password == "" {
				password = e.alice.password
			}
			w := post(e.h, login(username, password))
			if w.Code != 400 {
				t.Fatalf("POST /token: status = %d, want 400; body %s", w.Code, w.Body)
			}
			checkHeaders(t, w, nil)
			b := decodeError(t, w)
			if b.Error != tc.code {
				t.Errorf("error = %q, want %q", b.Error, tc.code)
			}
			var want int64 // lookups, verifies and limiter calls
			if tc.code == CodeInvalidRequest {
				if b.Description != descBadChars {
					t.Errorf("error_description = %q, want %q", b.Description, descBadChars)
				}
			} else {
				want = 1
			}
			if got := lookups.Load(); got != want {
				t.Errorf("user lookups = %d, want %d", got, want)
			}
			if got := ch.verifies.Load(); got != want {
				t.Errorf("Verify calls = %d, want %d", got, want)
			}
			if got := lim.allows.Load(); got != want {
				t.Errorf("limiter Allow calls = %d, want %d", got, want)
			}
		})
	}
}

func TestValidCredential(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"":                   true,
		"alice@example.com":  true,
		"a\tb":               true,
		"ünïcødé 日本 🙂":       true,
		"\ufffd":             true,
		"\u00a0\u200b\u2028": true,
		"\x00":               false,
		"\x1f":               false,
		"\x7f":               false,
		"\u0080":             false,
		"\u009f":             false,
		"\xff":               false,
		"\xe6\x97":           false,
		"\xed\xbf\xbf":       false,
	} {
		if got := validCredential(s); got != want {
			t.Errorf("validCredential(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestLoginThrottleKeySecret checks that a login passes the limiter a
// digest of the password keyed per Handler: equal for the same password,
// different for another, neither the zero value nor an unkeyed digest, and
// different on another Handler.
func TestLoginThrottleKeySecret(t *testing.T) {
	t.Parallel()
	var lim1, lim2 fakeLimiter
	e1 := newEnv(t, func(e *env, c *Config) { c.Limiter = &lim1 })
	e2 := newEnv(t, func(e *env, c *Config) { c.Limiter = &lim2 })
	pw := rand.Text()
	post(e1.h, login(e1.alice.Username, pw))
	post(e1.h, login(e1.alice.Username, pw))
	post(e1.h, login(e1.alice.Username, pw+"x"))
	post(e2.h, login(e2.alice.Username, pw))
	k1, k2 := lim1.recorded(), lim2.recorded()
	if len(k1) != 6 || len(k2) != 2 {
		t.Fatalf("limiter calls = %d, %d; want 6, 2 (Allow and Failure per login)", len(k1), len(k2))
	}
	first := k1[0]
	if first.Username != e1.alice.Username || first.ClientID != "" || first.IP.String() != "192.0.2.1" {
		t.Errorf("key = %+v, want alice's username, no client, 192.0.2.1", first)
	}
	if first.Secret == ([16]byte{}) {
		t.Errorf("Secret is the zero value")
	}
	if k1[1] != first || k1[2] != first || k1[3] != first {
		t.Errorf("same password: keys %+v, want all %+v", k1[1:4], first)
	}
	if k1[4].Secret == first.Secret {
		t.Errorf("another password has the same Secret")
	}
	if k2[0].Secret == first.Secret {
		t.Errorf("another Handler has the same Secret for the same password")
	}
	plain := sha256.Sum256([]byte(pw))
	if [16]byte(plain[:16]) == first.Secret {
		t.Errorf("Secret is an unkeyed SHA-256 of the password")
	}
	m := hmac.New(sha256.New, nil)
	m.Write([]byte(pw))
	if [16]byte(m.Sum(nil)[:16]) == first.Secret {
		t.Errorf("Secret is an HMAC under the empty key")
	}
}

// TestHashSlotDefaults checks the documented zero values.
func TestHashSlotDefaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	if got, want := cap(e.h.slots), runtime.GOMAXPROCS(0); got != want {
		t.Errorf("hashing slots = %d, want GOMAXPROCS %d", got, want)
	}
	if got := e.h.cfg.HashWait; got != 2*time.Second {
		t.Errorf("HashWait = %v, want 2s", got)
	}
	e = newEnv(t, func(e *env, c *Config) { c.MaxConcurrentHashes = 7 })
	if got := cap(e.h.slots); got != 7 {
		t.Errorf("hashing slots = %d, want 7", got)
	}
}

// TestHashSlotsBusy holds every hashing slot with a blocked hasher: a
// further login waits HashWait and is answered 503 with Retry-After,
// without a limiter call, a lookup or a hash; one whose context ends while
// it waits gets the same; once a slot is free, logins go through.
func TestHashSlotsBusy(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const slots = 2
		var gate *gateHasher
		var lim fakeLimiter
		var lookups atomic.Int64
		e := newEnv(t, func(e *env, c *Config) {
			gate = newGateHasher(c.Hasher)
			c.Hasher = gate
			c.Limiter = &lim
			c.Users = countingStore(e, &lookups)
			c.MaxConcurrentHashes = slots
		})
		gate.blocking.Store(slots)
		held := make(chan *httptest.ResponseRecorder, slots)
		for range slots {
			go func() { held <- post(e.h, login(e.bob.Username, e.bob.password)) }()
		}
		for range slots {
			<-gate.entered
		}
		synctest.Wait()
		before := lim.calls()
		if before != [3]int64{slots, 0, 0} {
			t.Fatalf("limiter calls with every slot held = %v, want [%d 0 0]", before, slots)
		}

		start := time.Now()
		w := post(e.h, login(e.alice.Username, e.alice.password))
		if waited := time.Since(start); waited != 2*time.Second {
			t.Errorf("waited %v for a slot, want HashWait 2s", waited)
		}
		if w.Code != http.StatusServiceUnavailable {
			t.Fatalf("POST /token: status = %d, want 503; body %s", w.Code, w.Body)
		}
		checkHeaders(t, w, headerWant{"Retry-After": "1"})
		if b := decodeError(t, w); b.Error != CodeTemporarilyUnavailable || b.Description != descBusy {
			t.Errorf("body = %+v, want temporarily_unavailable %q", b, descBusy)
		}

		ctx, cancel := context.WithCancel(context.Background())
		gone := make(chan *httptest.ResponseRecorder, 1)
		go func() {
			gone <- do(e.h, newPost(login(e.alice.Username, e.alice.password).Encode()).WithContext(ctx))
		}()
		synctest.Wait()
		cancel()
		if w := <-gone; w.Code != http.StatusServiceUnavailable || decodeError(t, w).Error != CodeTemporarilyUnavailable {
			t.Errorf("POST /token, context ended while waiting: %d %s, want 503 temporarily_unavailable", w.Code, w.Body)
		}

		if got := lim.calls(); got != before {
			t.Errorf("limiter calls = %v, want %v (nothing counted for the waiting logins)", got, before)
		}
		if got := lookups.Load(); got != slots {
			t.Errorf("user lookups = %d, want %d", got, slots)
		}

		close(gate.open)
		for range slots {
			decodeSuccess(t, <-held)
		}
		decodeSuccess(t, post(e.h, login(e.alice.Username, e.alice.password)))
		if got := lim.calls(); got != [3]int64{slots + 1, 0, slots + 1} {
			t.Errorf("limiter calls at the end = %v, want [%d 0 %d]", got, slots+1, slots+1)
		}
	})
}

// TestHashSlotsBoundConcurrency checks that no more than
// MaxConcurrentHashes verifications run at once, whatever the hasher.
func TestHashSlotsBoundConcurrency(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var gate *gateHasher
		e := newEnv(t, func(e *env, c *Config) {
			gate = newGateHasher(c.Hasher)
			c.Hasher = gate
			c.MaxConcurrentHashes = 3
			c.HashWait = time.Hour
			c.InsecureNoThrottle = true
		})
		const logins = 10
		gate.blocking.Store(logins)
		done := make(chan int, logins)
		for range logins {
			go func() { done <- post(e.h, login(e.bob.Username, e.bob.password)).Code }()
		}
		synctest.Wait()
		if got := len(gate.entered); got != 3 {
			t.Errorf("verifications running = %d, want 3", got)
		}
		close(gate.open)
		for range logins {
			if code := <-done; code != http.StatusOK {
				t.Errorf("POST /token: status = %d, want 200", code)
			}
		}
	})
}

// TestEqualWorkUnderSlots checks that the dummy-hash and unreadable-hash
// paths still cost one computed hash each when they go through a slot.
func TestEqualWorkUnderSlots(t *testing.T) {
	t.Parallel()
	var ch *countingHasher
	e := newEnv(t, func(e *env, c *Config) {
		ch = &countingHasher{PasswordHasher: c.Hasher}
		c.Hasher = ch
		c.MaxConcurrentHashes = 1
		c.Users = &fakeStore{next: e.store, byUsername: func(ctx context.Context, name string) (*userstore.User, error) {
			u, err := e.store.UserByUsername(ctx, name)
			if err == nil && u.ID == e.bob.ID {
				u.PasswordHash = "!"
			}
			return u, err
		}}
	})
	for _, name := range []string{"nobody@example.com", e.bob.Username, e.alice.Username} {
		before := ch.computed.Load()
		post(e.h, login(name, e.carol.password))
		if got := ch.computed.Load() - before; got != 1 {
			t.Errorf("%s: hashes computed = %d, want 1", name, got)
		}
	}
}
