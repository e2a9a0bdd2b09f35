package oauth2pw

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/memory"
)

var _ RefreshStore = (*memory.Sessions)(nil)

// refreshClock is a settable clock.
type refreshClock struct {
	mu sync.Mutex
	t  time.Time
}

func newRefreshClock() *refreshClock { return &refreshClock{t: time.Now()} }

func (c *refreshClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *refreshClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// refreshEnv is an env with refresh tokens on, over memory sessions and a
// fake clock for the refresh lifetimes.
type refreshEnv struct {
	*env
	sessions *memory.Sessions
	clock    *refreshClock
}

func newRefreshEnv(tb testing.TB, mod func(e *env, c *Config)) *refreshEnv {
	tb.Helper()
	re := &refreshEnv{clock: newRefreshClock()}
	re.sessions = memory.NewSessions(re.clock.Now)
	re.env = newEnv(tb, func(e *env, c *Config) {
		c.Refresh = RefreshConfig{Store: re.sessions, AbsoluteLifetime: 10 * time.Hour, IdleLifetime: time.Hour}
		c.Now = re.clock.Now
		c.InsecureNoThrottle = true
		if mod != nil {
			mod(e, c)
		}
	})
	return re
}

// refreshBody is a success body with its refresh token.
type refreshBody struct {
	successBody
	RefreshToken string `json:"refresh_token"`
}

func decodeRefresh(tb testing.TB, w *httptest.ResponseRecorder) refreshBody {
	tb.Helper()
	if w.Code != http.StatusOK {
		tb.Fatalf("POST /token: status = %d, want 200; body %s", w.Code, w.Body)
	}
	var b refreshBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		tb.Fatalf("success body %q: %v", w.Body, err)
	}
	return b
}

// loginRT logs u in with the extra parameters and returns the body.
func (re *refreshEnv) loginRT(tb testing.TB, u testUser, extra ...string) refreshBody {
	tb.Helper()
	b := decodeRefresh(tb, post(re.h, login(u.Username, u.password, extra...)))
	if b.RefreshToken == "" {
		tb.Fatalf("POST /token (password): no refresh_token")
	}
	return b
}

// refreshForm returns the form of a refresh_token grant.
func refreshForm(rt string, extra ...string) url.Values {
	v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Add(extra[i], extra[i+1])
	}
	return v
}

func (re *refreshEnv) refresh(rt string, extra ...string) *httptest.ResponseRecorder {
	return post(re.h, refreshForm(rt, extra...))
}

// wantRefreshError fails unless w is the answer code at status.
func wantRefreshError(tb testing.TB, what string, w *httptest.ResponseRecorder, status int, code string) {
	tb.Helper()
	if w.Code != status {
		tb.Fatalf("%s: status = %d, want %d; body %s", what, w.Code, status, w.Body)
	}
	checkNoStore(tb, w)
	if b := decodeError(tb, w); b.Error != code {
		tb.Errorf("%s: error = %q, want %q", what, b.Error, code)
	} else if code == CodeInvalidGrant && b.Description != descRefreshInvalid {
		tb.Errorf("%s: error_description = %q, want %q", what, b.Description, descRefreshInvalid)
	}
}

func TestRefreshOffByDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	w := post(e.h, login(e.bob.Username, e.bob.password))
	if strings.Contains(w.Body.String(), "refresh_token") {
		t.Errorf("POST /token without Refresh: body %s carries a refresh_token", w.Body)
	}
	w = post(e.h, refreshForm("x"))
	if got, want := w.Code, http.StatusBadRequest; got != want {
		t.Fatalf("POST /token (refresh_token, off): status = %d, want %d", got, want)
	}
	if b := decodeError(t, w); b.Error != CodeUnsupportedGrantType {
		t.Errorf("POST /token (refresh_token, off): error = %q, want %q", b.Error, CodeUnsupportedGrantType)
	}
}

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	re := newRefreshEnv(t, nil)
	first := re.loginRT(t, re.bob)
	c, err := re.tokens.Verify(t.Context(), first.AccessToken)
	if err != nil {
		t.Fatalf("Verify(access token of the login): %v", err)
	}
	sid := sessionOf(c)
	if sid == "" {
		t.Fatal("access token of the login: no sid claim")
	}
	rt := first.RefreshToken
	seen := map[string]bool{rt: true}
	for i := range 3 {
		re.clock.Advance(time.Minute)
		b := decodeRefresh(t, re.refresh(rt))
		checkNoStore(t, re.refresh(b.RefreshToken+"x"))
		if b.RefreshToken == "" || seen[b.RefreshToken] {
			t.Fatalf("refresh %d: refresh_token %q is empty or seen before", i, b.RefreshToken)
		}
		seen[b.RefreshToken] = true
		c, err := re.tokens.Verify(t.Context(), b.AccessToken)
		if err != nil {
			t.Fatalf("refresh %d: Verify(access token): %v", i, err)
		}
		if c.Subject != re.bob.ID || c.ClientID != defaultClientID || sessionOf(c) != sid {
			t.Errorf("refresh %d: claims sub %q client_id %q sid %q; want %q, %q, %q", i, c.Subject, c.ClientID, sessionOf(c), re.bob.ID, defaultClientID, sid)
		}
		if b.TokenType != "Bearer" || b.ExpiresIn <= 0 {
			t.Errorf("refresh %d: token_type %q expires_in %d", i, b.TokenType, b.ExpiresIn)
		}
		rt = b.RefreshToken
	}
}

// TestRefreshGraceRetry checks that a retry of a refresh within the grace
// window gets the same successor, which still works.
func TestRefreshGraceRetry(t *testing.T) {
	t.Parallel()
	re := newRefreshEnv(t, nil)
	rt := re.loginRT(t, re.bob).RefreshToken
	next := decodeRefresh(t, re.refresh(rt)).RefreshToken
	re.clock.Advance(time.Second)
	again := decodeRefresh(t, re.refresh(rt))
	if again.RefreshToken != next {
		t.Errorf("retry within the grace window: refresh_token differs from the first answer's")
	}
	decodeRefresh(t, re.refresh(next))
}

// TestRefreshReuseRevokesFamily checks that a spent token presented after
// the grace window revokes its family: the successor fails too.
func TestRefreshReuseRevokesFamily(t *testing.T) {
	t.Parallel()
	for _, grace := range []time.Duration{0, -1} {
		t.Run(map[time.Duration]string{0: "default grace", -1: "no grace"}[grace], func(t *testing.T) {
			t.Parallel()
			re := newRefreshEnv(t, func(e *env, c *Config) { c.Refresh.GraceWindow = grace })
			other := re.loginRT(t, re.bob).RefreshToken
			rt := re.loginRT(t, re.bob).RefreshToken
			next := decodeRefresh(t, re.refresh(rt)).RefreshToken
			if grace == 0 {
				re.clock.Advance(defaultGraceWindow + time.Millisecond)
			}
			wantRefreshError(t, "reuse of a spent token", re.refresh(rt), 400, CodeInvalidGrant)
			wantRefreshError(t, "successor after reuse", re.refresh(next), 400, CodeInvalidGrant)
			decodeRefresh(t, re.refresh(other))
		})
	}
}

// TestRefreshRace sends N concurrent refreshes of one token: exactly one
// successor comes of them. With a grace window every request gets it;
// without one, one request gets it and the family is revoked.
func TestRefreshRace(t *testing.T) {
	t.Parallel()
	const n = 16
	for _, grace := range []time.Duration{0, -1} {
		t.Run(map[time.Duration]string{0: "grace", -1: "no grace"}[grace], func(t *testing.T) {
			t.Parallel()
			re := newRefreshEnv(t, func(e *env, c *Config) { c.Refresh.GraceWindow = grace })
			rt := re.loginRT(t, re.alice).RefreshToken
			ws := make([]*httptest.ResponseRecorder, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { ws[i] = re.refresh(rt) })
			}
			wg.Wait()
			successors := map[string]bool{}
			ok := 0
			for i, w := range ws {
				if w.Code == http.StatusOK {
					ok++
					successors[decodeRefresh(t, w).RefreshToken] = true
					continue
				}
				wantRefreshError(t, "concurrent refresh "+string(rune('a'+i)), w, 400, CodeInvalidGrant)
			}
			if len(successors) != 1 {
				t.Fatalf("%d concurrent refreshes: %d distinct successors, want 1", n, len(successors))
			}
			var next string
			for s := range successors {
				next = s
			}
			if grace == 0 {
				if ok != n {
					t.Errorf("%d concurrent refreshes within the grace window: %d answered 200, want all", n, ok)
				}
				decodeRefresh(t, re.refresh(next))
				return
			}
			if ok != 1 {
				t.Errorf("%d concurrent refreshes without grace: %d answered 200, want 1", n, ok)
			}
			wantRefreshError(t, "successor after a raced reuse", re.refresh(next), 400, CodeInvalidGrant)
		})
	}
}

func TestRefreshExpiry(t *testing.T) {
	t.Parallel()
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		re := newRefreshEnv(t, nil)
		rt := re.loginRT(t, re.bob).RefreshToken
		re.clock.Advance(59 * time.Minute)
		rt = decodeRefresh(t, re.refresh(rt)).RefreshToken
		re.clock.Advance(time.Hour)
		wantRefreshError(t, "refresh after the idle lifetime", re.refresh(rt), 400, CodeInvalidGrant)
	})
	t.Run("absolute", func(t *testing.T) {
		t.Parallel()
		re := newRefreshEnv(t, nil)
		rt := re.loginRT(t, re.bob).RefreshToken
		for range 10 {
			re.clock.Advance(59 * time.Minute)
			rt = decodeRefresh(t, re.refresh(rt)).RefreshToken
		}
		re.clock.Advance(11 * time.Minute) // 10h01m after the login
		wantRefreshError(t, "refresh after the absolute lifetime", re.refresh(rt), 400, CodeInvalidGrant)
	})
	t.Run("pruned", func(t *testing.T) {
		t.Parallel()
		re := newRefreshEnv(t, nil)
		rt := re.loginRT(t, re.bob).RefreshToken
		re.clock.Advance(11 * time.Hour)
		re.loginRT(t, re.alice) // prunes
		if _, _, _, _, err := re.sessions.RefreshToken(t.Context(), refreshDigest(rt)); !errors.Is(err, userstore.ErrNotFound) {
			t.Errorf("expired token after a prune: err = %v, want ErrNotFound", err)
		}
	})
}

func TestRefreshClient(t *testing.T) {
	t.Parallel()
	secret := rand.Text()
	re := newRefreshEnv(t, func(e *env, c *Config) {
		c.Clients = []Client{{ID: "web"}, {ID: "app"}, {ID: "backend", Secret: secret}}
	})
	rt := re.loginRT(t, re.bob, "client_id", "web").RefreshToken
	wantRefreshError(t, "refresh by another client", re.refresh(rt, "client_id", "app"), 400, CodeInvalidGrant)
	wantRefreshError(t, "refresh by the default client", re.refresh(rt), 400, CodeInvalidGrant)
	w := re.refresh(rt, "client_id", "backend", "client_secret", "wrong-secret-0123456789")
	if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("refresh with a wrong client secret: status = %d, WWW-Authenticate %q; want 401 and a challenge", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	decodeRefresh(t, re.refresh(rt, "client_id", "web"))

	brt := re.loginRT(t, re.bob, "client_id", "backend", "client_secret", secret).RefreshToken
	r := newPost(refreshForm(brt).Encode())
	r.SetBasicAuth("backend", secret)
	decodeRefresh(t, do(re.h, r))
}

func TestRefreshScope(t *testing.T) {
	t.Parallel()
	re := newRefreshEnv(t, nil)
	rt := re.loginRT(t, re.alice, "scope", "admin user").RefreshToken
	b := decodeRefresh(t, re.refresh(rt, "scope", "admin"))
	if b.Scope != "admin" {
		t.Errorf("refresh with a narrower scope: scope = %q, want admin", b.Scope)
	}
	wantRefreshError(t, "refresh widening the scope", re.refresh(b.RefreshToken, "scope", "admin root"), 400, CodeInvalidScope)
	wantRefreshError(t, "malformed scope", re.refresh(b.RefreshToken, "scope", `"`), 400, CodeInvalidScope)
	b = decodeRefresh(t, re.refresh(b.RefreshToken))
	if b.Scope != "admin user" {
		t.Errorf("refresh without scope after a narrower one: scope = %q, want the login's %q", b.Scope, "admin user")
	}
}

func TestRefreshUserState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name   string
		change func(e *refreshEnv, u testUser)
	}{
		{"disabled", func(e *refreshEnv, u testUser) {
			if err := e.store.SetDisabled(ctx, u.ID, true); err != nil {
				t.Fatal(err)
			}
		}},
		{"deleted", func(e *refreshEnv, u testUser) {
			if err := e.store.DeleteUser(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"password changed", func(e *refreshEnv, u testUser) {
			if err := e.store.SetPasswordHash(ctx, u.ID, u.PasswordHash+"x"); err != nil {
				t.Fatal(err)
			}
		}},
		{"tokens revoked", func(e *refreshEnv, u testUser) {
			if err := e.store.RevokeTokens(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"roles changed", func(e *refreshEnv, u testUser) {
			c := u.Clone()
			c.Roles = []string{"user"}
			if _, err := e.store.UpdateUser(ctx, c); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			re := newRefreshEnv(t, nil)
			rt := re.loginRT(t, re.alice, "scope", "admin").RefreshToken
			// The store stamps cut-offs with the real clock; keep the
			// refresh clock behind it.
			time.Sleep(2 * time.Millisecond)
			tc.change(re, re.alice)
			wantRefreshError(t, "refresh after the user was "+tc.name, re.refresh(rt), 400, CodeInvalidGrant)
		})
	}
}

// TestRefreshDemotedScope checks that a user who lost a role without a
// cut-off (a store that does not move TokensValidAfter on role changes)
// gets the scopes they still have.
func TestRefreshDemotedScope(t *testing.T) {
	t.Parallel()
	ds := &demotingStore{}
	re := newRefreshEnv(t, func(e *env, c *Config) {
		ds.Store = e.store
		c.Users = ds
	})
	rt := re.loginRT(t, re.alice, "scope", "admin user").RefreshToken
	ds.demote.Store(true)
	b := decodeRefresh(t, re.refresh(rt))
	if b.Scope != "user" {
		t.Errorf("refresh after demotion: scope = %q, want user", b.Scope)
	}
	c, err := re.tokens.Verify(t.Context(), b.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Roles) != 1 || c.Roles[0] != "user" {
		t.Errorf("refresh after demotion: roles = %q, want [user]", c.Roles)
	}
}

// demotingStore is a memory store whose UserByID answers users with the
// role "user" alone once demote is set, leaving TokensValidAfter alone.
type demotingStore struct {
	*memory.Store
	demote atomic.Bool
}

func (d *demotingStore) UserByID(ctx context.Context, id string) (*userstore.User, error) {
	u, err := d.Store.UserByID(ctx, id)
	if err == nil && d.demote.Load() {
		u.Roles = []string{"user"}
	}
	return u, err
}

// TestRefreshRequestErrors is the error table of the refresh grant.
func TestRefreshRequestErrors(t *testing.T) {
	t.Parallel()
	re := newRefreshEnv(t, nil)
	good := re.loginRT(t, re.bob).RefreshToken
	tests := []struct {
		name   string
		body   string
		status int
		code   string
		desc   string
	}{
		{"missing refresh_token", "grant_type=refresh_token", 400, CodeInvalidRequest, descMissingRefresh},
		{"empty refresh_token", "grant_type=refresh_token&refresh_token=", 400, CodeInvalidRequest, descMissingRefresh},
		{"repeated refresh_token", "grant_type=refresh_token&refresh_token=a&refresh_token=b", 400, CodeInvalidRequest, descRepeatedParam},
		{"unknown token", refreshForm(rand.Text()).Encode(), 400, CodeInvalidGrant, descRefreshInvalid},
		{"control character", refreshForm("a\x00b").Encode(), 400, CodeInvalidGrant, descRefreshInvalid},
		{"too long", refreshForm(strings.Repeat("a", 300)).Encode(), 400, CodeInvalidGrant, descRefreshInvalid},
		{"a token's prefix", refreshForm(good[:20]).Encode(), 400, CodeInvalidGrant, descRefreshInvalid},
		{"other grant", "grant_type=client_credentials", 400, CodeUnsupportedGrantType, descUnsupportedRefresh},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := do(re.h, newPost(tc.body))
			if w.Code != tc.status {
				t.Fatalf("POST /token: status = %d, want %d; body %s", w.Code, tc.status, w.Body)
			}
			checkNoStore(t, w)
			if b := decodeError(t, w); b.Error != tc.code || b.Description != tc.desc {
				t.Errorf("POST /token: body = %+v, want %s %q", b, tc.code, tc.desc)
			}
		})
	}
	decodeRefresh(t, re.refresh(good))
}

// TestRefreshThrottle checks that refresh attempts go through the limiter:
// failures and successes are counted, and a refusal is 429.
func TestRefreshThrottle(t *testing.T) {
	t.Parallel()
	lim := &fakeLimiter{}
	re := newRefreshEnv(t, func(e *env, c *Config) {
		c.InsecureNoThrottle = false
		c.Limiter = lim
	})
	rt := re.loginRT(t, re.bob).RefreshToken
	before := lim.calls()
	wantRefreshError(t, "unknown token", re.refresh(rand.Text()), 400, CodeInvalidGrant)
	rt = decodeRefresh(t, re.refresh(rt)).RefreshToken
	if got, want := lim.calls(), [3]int64{before[0] + 2, before[1] + 1, before[2] + 1}; got != want {
		t.Errorf("limiter calls (allow, failure, success) = %v, want %v", got, want)
	}
	for _, k := range lim.recorded()[len(lim.recorded())-4:] {
		if k.Username != "" || !strings.HasPrefix(k.ClientID, "refresh_token:") || k.Secret == ([16]byte{}) {
			t.Errorf("refresh throttle key = %+v, want no username, a refresh_token: name and a secret digest", k)
		}
	}
	lim.allow = func(ThrottleKey) (time.Duration, bool) { return 3 * time.Second, false }
	w := re.refresh(rt)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "3" {
		t.Errorf("refused refresh: status = %d, Retry-After %q; want 429, 3", w.Code, w.Header().Get("Retry-After"))
	}
}

// failingSessions is a RefreshStore whose reads fail.
type failingSessions struct{ *memory.Sessions }

var errStoreDown = errors.New("store down")

func (failingSessions) RefreshToken(context.Context, []byte) (string, time.Time, time.Time, []byte, error) {
	return "", time.Time{}, time.Time{}, nil, errStoreDown
}

func TestRefreshStoreFailure(t *testing.T) {
	t.Parallel()
	fe := newEnv(t, func(e *env, c *Config) {
		c.Refresh = RefreshConfig{Store: failingSessions{memory.NewSessions(nil)}}
	})
	w := post(fe.h, refreshForm(rand.Text()))
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("refresh with a failing store: status = %d, want 500", w.Code)
	}
	if b := decodeError(t, w); b.Error != CodeServerError || strings.Contains(w.Body.String(), errStoreDown.Error()) {
		t.Errorf("refresh with a failing store: body %s", w.Body)
	}
}

func TestRefreshConfigValidation(t *testing.T) {
	t.Parallel()
	s := memory.NewSessions(nil)
	tests := []struct {
		name string
		rc   RefreshConfig
	}{
		{"lifetimes without store", RefreshConfig{IdleLifetime: time.Hour}},
		{"idle over absolute", RefreshConfig{Store: s, AbsoluteLifetime: time.Hour, IdleLifetime: 2 * time.Hour}},
		{"negative lifetime", RefreshConfig{Store: s, AbsoluteLifetime: -time.Hour}},
		{"long grace", RefreshConfig{Store: s, GraceWindow: 2 * time.Minute}},
	}
	e := newEnv(t, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := NewHandler(Config{Users: e.store, Hasher: e.hasher, Tokens: e.tokens, Refresh: tc.rc}); err == nil {
				t.Errorf("NewHandler(%+v): no error", tc.rc)
			}
		})
	}
}

// TestSuccessorSeal checks that the successor opens with its spent token
// only, and that a seal of the wrong size or with a changed check does
// not open.
func TestSuccessorSeal(t *testing.T) {
	t.Parallel()
	old, _ := newRefreshToken()
	next, _ := newRefreshToken()
	sealed := sealSuccessor(old, next)
	if got, ok := openSuccessor(old, sealed); !ok || got != next {
		t.Errorf("openSuccessor(old) = %q, %v, want %q, true", got, ok, next)
	}
	other, _ := newRefreshToken()
	if _, ok := openSuccessor(other, sealed); ok {
		t.Error("openSuccessor(another token) succeeded")
	}
	for _, bad := range [][]byte{sealed[:10], sealed[:len(sealed)-1], append(slices.Clone(sealed), 0), nil} {
		if _, ok := openSuccessor(old, bad); ok {
			t.Errorf("openSuccessor(seal of %d bytes) succeeded", len(bad))
		}
	}
	changed := slices.Clone(sealed)
	changed[len(changed)-1] ^= 1
	if _, ok := openSuccessor(old, changed); ok {
		t.Error("openSuccessor(changed check) succeeded")
	}
	if bytes.Contains(sealed, []byte(next)) || bytes.Contains(sealed, decodeToken(t, next)) {
		t.Error("the seal holds the successor in the clear")
	}
}

// decodeToken returns the bytes of a refresh token.
func decodeToken(tb testing.TB, raw string) []byte {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) != 32 {
		tb.Fatalf("refresh token %q: %d bytes, %v; want 32 bytes of base64url", raw, len(b), err)
	}
	return b
}

// FuzzSessionEndpoints sends arbitrary bodies and Authorization headers to
// the refresh grant, the revocation and the introspection endpoints.
// Property: no panic, a status from the error table, the cache headers,
// and a JSON body with an "error" member on every error.
func FuzzSessionEndpoints(f *testing.F) {
	secret := "0123456789abcdef0123"
	re := newRefreshEnv(f, func(e *env, c *Config) {
		c.Clients = []Client{{ID: "web"}, {ID: "rs", Secret: secret}}
	})
	rt := re.loginRT(f, re.bob, "client_id", "web").RefreshToken
	for _, path := range []string{"/token", "/revoke", "/introspect"} {
		f.Add(path, "", refreshForm(rt, "client_id", "web").Encode())
		f.Add(path, basic("rs", secret), "token="+rt+"&token_type_hint=refresh_token")
		f.Add(path, "", "grant_type=refresh_token&refresh_token=a.b.c&scope=%22")
		f.Add(path, "Basic Og==", "token=&refresh_token=x&refresh_token=y")
		f.Add(path, "Bearer x", "token=a%00b&client_id=web")
	}
	handlers := map[string]http.Handler{"/token": re.h, "/revoke": re.h.RevocationHandler(), "/introspect": re.h.IntrospectionHandler()}
	allowed := map[int]bool{200: true, 400: true, 401: true, 413: true, 429: true}
	f.Fuzz(func(t *testing.T, path, authz, body string) {
		h := handlers[path]
		if h == nil {
			return
		}
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		w := do(h, r)
		if !allowed[w.Code] {
			t.Fatalf("POST %s: status %d not in the table; body %s", path, w.Code, w.Body)
		}
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("POST %s: Cache-Control = %q, want no-store", path, w.Header().Get("Cache-Control"))
		}
		if path == "/revoke" && w.Code == 200 {
			return
		}
		var b map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
			t.Fatalf("POST %s: body %q is not JSON: %v", path, w.Body, err)
		}
		if _, ok := b["error"]; w.Code != 200 && !ok {
			t.Fatalf("POST %s: error body without error: %s", path, w.Body)
		}
	})
}
