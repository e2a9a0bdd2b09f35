package oauth2pw

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/memory"
)

// headerWant is the exact value a header must have; "" means absent.
type headerWant map[string]string

// checkHeaders fails unless w has exactly the wanted values, and none of
// the other answer-specific headers.
func checkHeaders(tb testing.TB, w *httptest.ResponseRecorder, want headerWant) {
	tb.Helper()
	checkNoStore(tb, w)
	all := headerWant{"Allow": "", "WWW-Authenticate": "", "Retry-After": "", "Content-Type": "application/json"}
	for k, v := range want {
		all[k] = v
	}
	for k, v := range all {
		if got := w.Header().Get(k); got != v {
			tb.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// TestErrorTable checks every /token row of DESIGN.md's error table but the
// client and throttling rows (see client_test.go and throttle_test.go).
func TestErrorTable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	long := strings.Repeat("x", userstore.PasswordPolicy{}.MaxPasswordBytes()+1)
	form := func(v url.Values) func() *http.Request {
		return func() *http.Request { return newPost(v.Encode()) }
	}
	raw := func(contentType, body string) func() *http.Request {
		return func() *http.Request {
			r := newPost(body)
			if contentType == "" {
				r.Header.Del("Content-Type")
			} else {
				r.Header.Set("Content-Type", contentType)
			}
			return r
		}
	}
	tests := []struct {
		name    string
		req     func() *http.Request
		status  int
		code    string
		headers headerWant
	}{
		{"wrong password", form(login(e.alice.Username, e.bob.password)), 400, CodeInvalidGrant, nil},
		{"unknown user", form(login("nobody@example.com", e.alice.password)), 400, CodeInvalidGrant, nil},
		{"NUL in username", form(login("bad\x00name", e.alice.password)), 400, CodeInvalidRequest, nil},
		{"LF in username", form(login(e.alice.Username+"\n", e.alice.password)), 400, CodeInvalidRequest, nil},
		{"CR in password", form(login(e.alice.Username, e.alice.password+"\r")), 400, CodeInvalidRequest, nil},
		{"DEL in password", form(login(e.alice.Username, "\x7f"+e.alice.password)), 400, CodeInvalidRequest, nil},
		{"C1 control in password", form(login(e.alice.Username, e.alice.password+"\u0085")), 400, CodeInvalidRequest, nil},
		{"TAB in password", form(login(e.alice.Username, e.alice.password+"\t")), 400, CodeInvalidGrant, nil},
		{"TAB inside username", form(login("alice\t@example.com", e.alice.password)), 400, CodeInvalidGrant, nil},
		{"invalid username", form(login("\u200bx", e.alice.password)), 400, CodeInvalidGrant, nil},
		{"disabled user, right password", form(login(e.carol.Username, e.carol.password)), 400, CodeInvalidGrant, nil},
		{"password over the byte cap", form(login(e.alice.Username, long)), 400, CodeInvalidGrant, nil},
		{"missing grant_type", form(url.Values{"username": {e.alice.Username}, "password": {e.alice.password}}), 400, CodeInvalidRequest, nil},
		{"empty grant_type", form(login(e.alice.Username, e.alice.password, "grant_type", "")), 400, CodeInvalidRequest, nil},
		{"missing username", form(url.Values{"grant_type": {"password"}, "password": {e.alice.password}}), 400, CodeInvalidRequest, nil},
		{"missing password", form(url.Values{"grant_type": {"password"}, "username": {e.alice.Username}}), 400, CodeInvalidRequest, nil},
		{"empty password", form(login(e.alice.Username, "")), 400, CodeInvalidRequest, nil},
		{"grant_type client_credentials", form(url.Values{"grant_type": {"client_credentials"}}), 400, CodeUnsupportedGrantType, nil},
		{"grant_type in capitals", form(url.Values{"grant_type": {"PASSWORD"}, "username": {"a"}, "password": {"b"}}), 400, CodeUnsupportedGrantType, nil},
		{"scope not allowed", form(login(e.bob.Username, e.bob.password, "scope", "admin")), 400, CodeInvalidScope, nil},
		{"scope partly allowed", form(login(e.bob.Username, e.bob.password, "scope", "user admin")), 400, CodeInvalidScope, nil},
		{"scope malformed", form(login(e.alice.Username, e.alice.password, "scope", `admin "x"`)), 400, CodeInvalidScope, nil},
		{"JSON body", raw("application/json", `{"grant_type":"password","username":"a","password":"b"}`), 400, CodeInvalidRequest, nil},
		{"form as text/plain", raw("text/plain", login(e.alice.Username, e.alice.password).Encode()), 400, CodeInvalidRequest, nil},
		{"multipart form", raw("multipart/form-data; boundary=x", "--x--"), 400, CodeInvalidRequest, nil},
		{"no content type", raw("", login(e.alice.Username, e.alice.password).Encode()), 400, CodeInvalidRequest, nil},
		{"malformed content type", raw("application/x-www-form-urlencoded; charset", login(e.alice.Username, e.alice.password).Encode()), 400, CodeInvalidRequest, nil},
		{"latin-1 charset", raw("application/x-www-form-urlencoded; charset=ISO-8859-1", login(e.alice.Username, e.alice.password).Encode()), 400, CodeInvalidRequest, nil},
		{"bad percent escape", raw("application/x-www-form-urlencoded", "grant_type=password&username=%zz&password=x"), 400, CodeInvalidRequest, nil},
		{"semicolon separator", raw("application/x-www-form-urlencoded", "grant_type=password;username=a&password=b"), 400, CodeInvalidRequest, nil},
		{"empty body", raw("application/x-www-form-urlencoded", ""), 400, CodeInvalidRequest, nil},
		{"two Content-Type headers", func() *http.Request {
			r := newPost(login(e.alice.Username, e.alice.password).Encode())
			r.Header.Add("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, 400, CodeInvalidRequest, nil},
		{"parameter names in capitals", form(url.Values{"grant_type": {"password"}, "Username": {e.alice.Username}, "Password": {e.alice.password}}), 400, CodeInvalidRequest, nil},
		{"username not UTF-8", raw("application/x-www-form-urlencoded", "grant_type=password&username=%FFalice&password=x"), 400, CodeInvalidRequest, nil},
		{"password not UTF-8", form(login(e.alice.Username, e.alice.password+"\xff")), 400, CodeInvalidRequest, nil},
		{"body over the cap", raw("application/x-www-form-urlencoded", login(e.alice.Username, e.alice.password, "pad", strings.Repeat("a", 5000)).Encode()), 413, CodeInvalidRequest, nil},
		{"GET", func() *http.Request { return httptest.NewRequest(http.MethodGet, "/token", nil) }, 405, CodeInvalidRequest, headerWant{"Allow": "POST"}},
		{"PUT with a valid form", func() *http.Request {
			r := newPost(login(e.alice.Username, e.alice.password).Encode())
			r.Method = http.MethodPut
			return r
		}, 405, CodeInvalidRequest, headerWant{"Allow": "POST"}},
		{"parameters in the query string only", func() *http.Request {
			r := newPost("")
			r.URL.RawQuery = login(e.alice.Username, e.alice.password).Encode()
			return r
		}, 400, CodeInvalidRequest, nil},
		{"password in the query string beside a valid body", func() *http.Request {
			r := newPost(login(e.alice.Username, e.alice.password).Encode())
			r.URL.RawQuery = "password=" + e.alice.password
			return r
		}, 400, CodeInvalidRequest, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := do(e.h, tc.req())
			if w.Code != tc.status {
				t.Errorf("POST /token: status = %d, want %d; body %s", w.Code, tc.status, w.Body)
			}
			checkHeaders(t, w, tc.headers)
			b := decodeError(t, w)
			if b.Error != tc.code {
				t.Errorf("error = %q, want %q", b.Error, tc.code)
			}
			if b.Description == "" {
				t.Errorf("error_description is empty")
			}
		})
	}
}

// TestInvalidGrantIsOneAnswer checks that unknown user, wrong password and
// disabled user give byte-identical answers.
func TestInvalidGrantIsOneAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	answers := map[string]*httptest.ResponseRecorder{
		"wrong password": post(e.h, login(e.alice.Username, e.bob.password)),
		"unknown user":   post(e.h, login("nobody@example.com", e.bob.password)),
		"disabled user":  post(e.h, login(e.carol.Username, e.carol.password)),
		"too long":       post(e.h, login(e.alice.Username, strings.Repeat("x", 2000))),
	}
	ref := answers["wrong password"]
	for name, w := range answers {
		if w.Code != ref.Code || !bytes.Equal(w.Body.Bytes(), ref.Body.Bytes()) {
			t.Errorf("%s: %d %s, want %d %s", name, w.Code, w.Body, ref.Code, ref.Body)
		}
		for k, v := range ref.Header() {
			if !slices.Equal(w.Header()[k], v) {
				t.Errorf("%s: header %s = %q, want %q", name, k, w.Header()[k], v)
			}
		}
		if len(w.Header()) != len(ref.Header()) {
			t.Errorf("%s: headers %v, want %v", name, w.Header(), ref.Header())
		}
	}
}

// TestEnumerationDefenceWork checks that every invalid_grant path past the
// byte cap costs exactly one Verify, whether the user exists or not, and
// that the byte-cap path costs none.
func TestEnumerationDefenceWork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		form     func(e *env) url.Values
		verifies int64
	}{
		{"unknown user", func(e *env) url.Values { return login("nobody@example.com", e.alice.password) }, 1},
		{"unnormalisable username", func(e *env) url.Values { return login("\u200bx", e.alice.password) }, 1},
		{"wrong password", func(e *env) url.Values { return login(e.alice.Username, e.bob.password) }, 1},
		{"disabled user, right password", func(e *env) url.Values { return login(e.carol.Username, e.carol.password) }, 1},
		{"disabled user, wrong password", func(e *env) url.Values { return login(e.carol.Username, e.bob.password) }, 1},
		{"right password", func(e *env) url.Values { return login(e.alice.Username, e.alice.password) }, 1},
		{"password over the cap", func(e *env) url.Values { return login(e.alice.Username, strings.Repeat("p", 1025)) }, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/PasswordHasher", func(t *testing.T) {
			t.Parallel()
			var ch *countingHasher
			e := newEnv(t, func(e *env, c *Config) {
				ch = &countingHasher{PasswordHasher: c.Hasher}
				c.Hasher = ch
			})
			hashesAtStart := ch.hashes.Load()
			post(e.h, tc.form(e))
			if got := ch.verifies.Load(); got != tc.verifies {
				t.Errorf("Verify calls = %d, want %d", got, tc.verifies)
			}
			if got := ch.hashes.Load() - hashesAtStart; got != 0 {
				t.Errorf("Hash calls during the request = %d, want 0", got)
			}
		})
		t.Run(tc.name+"/ContextHasher", func(t *testing.T) {
			t.Parallel()
			var ch *countingContextHasher
			e := newEnv(t, func(e *env, c *Config) {
				ch = &countingContextHasher{Hasher: c.Hasher.(*userstore.Hasher)}
				c.Hasher = ch
			})
			post(e.h, tc.form(e))
			if got := ch.ctxVerifies.Load(); got != tc.verifies {
				t.Errorf("VerifyContext calls = %d, want %d", got, tc.verifies)
			}
			if got := ch.verifies.Load(); got != 0 {
				t.Errorf("Verify calls = %d, want 0 (VerifyContext preferred)", got)
			}
		})
	}
}

// TestEnumerationDefenceUnreadableStoredHash checks that a user whose
// stored hash cannot be verified (none, a locked-account marker, an
// unknown algorithm, parameters out of bounds) costs one computed hash,
// like an unknown user, and gets the same answer: otherwise the time of
// the answer tells that the account exists.
func TestEnumerationDefenceUnreadableStoredHash(t *testing.T) {
	t.Parallel()
	hashes := map[string]string{
		"empty":               "",
		"locked marker":       "!",
		"unknown algorithm":   "$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA",
		"bcrypt variant 2x":   "$2x$10$" + strings.Repeat("a", 53),
		"argon2 out of bound": "$argon2id$v=19$m=1,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
		"pbkdf2 zero rounds":  "$pbkdf2-sha256$0$c2FsdA$" + strings.Repeat("A", 43),
	}
	withHash := func(e *env, hash string) *fakeStore {
		return &fakeStore{next: e.store, byUsername: func(ctx context.Context, name string) (*userstore.User, error) {
			u, err := e.store.UserByUsername(ctx, name)
			if err == nil {
				u.PasswordHash = hash
			}
			return u, err
		}}
	}
	for name, hash := range hashes {
		t.Run(name+"/PasswordHasher", func(t *testing.T) {
			t.Parallel()
			var ch *countingHasher
			e := newEnv(t, func(e *env, c *Config) {
				ch = &countingHasher{PasswordHasher: c.Hasher}
				c.Hasher = ch
				c.Users = withHash(e, hash)
			})
			unknown := post(e.h, login("nobody@example.com", e.alice.password))
			before := ch.computed.Load()
			w := post(e.h, login(e.alice.Username, e.alice.password))
			if got := ch.computed.Load() - before; got != 1 {
				t.Errorf("hashes computed = %d, want 1 (as for an unknown user)", got)
			}
			if w.Code != unknown.Code || !bytes.Equal(w.Body.Bytes(), unknown.Body.Bytes()) {
				t.Errorf("POST /token: %d %s, want %d %s", w.Code, w.Body, unknown.Code, unknown.Body)
			}
		})
		t.Run(name+"/ContextHasher", func(t *testing.T) {
			t.Parallel()
			var ch *countingContextHasher
			e := newEnv(t, func(e *env, c *Config) {
				ch = &countingContextHasher{Hasher: c.Hasher.(*userstore.Hasher)}
				c.Hasher = ch
				c.Users = withHash(e, hash)
			})
			w := post(e.h, login(e.alice.Username, e.alice.password))
			if got := ch.computed.Load(); got != 1 {
				t.Errorf("hashes computed = %d, want 1 (as for an unknown user)", got)
			}
			if w.Code != http.StatusBadRequest || decodeError(t, w).Error != CodeInvalidGrant {
				t.Errorf("POST /token: %d %s, want 400 invalid_grant", w.Code, w.Body)
			}
		})
	}
}

// TestDummyHashIsCurrent checks that the dummy hash is one of the current
// algorithm and parameters, so that it costs what a real one does.
func TestDummyHashIsCurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	if e.hasher.NeedsRehash(e.h.dummyHash) {
		t.Errorf("dummy hash %q needs a rehash", e.h.dummyHash)
	}
	if !strings.HasPrefix(e.h.dummyHash, "$argon2id$") {
		t.Errorf("dummy hash %q is not argon2id", e.h.dummyHash)
	}
}

func TestSuccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env, c *Config) {
		e.tokens = newIssuerTTL(t, 10*time.Minute)
		c.Tokens = e.tokens
		c.DefaultScopes = []string{"user", "reports"}
		c.RoleScopes = map[string][]string{"admin": {"admin", "user"}, "user": {"user"}}
	})
	tests := []struct {
		name      string
		form      url.Values
		user      testUser
		wantScope string
	}{
		{"defaults", login(e.alice.Username, e.alice.password), e.alice, "user"},
		{"requested", login(e.alice.Username, e.alice.password, "scope", "admin"), e.alice, "admin"},
		{"requested twice over, extra spaces", login(e.alice.Username, e.alice.password, "scope", " user  admin user"), e.alice, "user admin"},
		{"username in other case and spaces", login("  ALICE@Example.COM ", e.alice.password), e.alice, "user"},
		{"unknown parameters ignored", login(e.bob.Username, e.bob.password, "resource", "a", "resource", "b"), e.bob, "user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := post(e.h, tc.form)
			checkHeaders(t, w, nil)
			b := decodeSuccess(t, w)
			if b.TokenType != "Bearer" {
				t.Errorf("token_type = %q, want Bearer", b.TokenType)
			}
			if b.ExpiresIn != 600 {
				t.Errorf("expires_in = %d, want 600", b.ExpiresIn)
			}
			if b.Scope != tc.wantScope {
				t.Errorf("scope = %q, want %q", b.Scope, tc.wantScope)
			}
			c, err := e.tokens.Verify(context.Background(), b.AccessToken)
			if err != nil {
				t.Fatalf("Verify(access_token): %v", err)
			}
			if c.Subject != tc.user.ID {
				t.Errorf("sub = %q, want %q", c.Subject, tc.user.ID)
			}
			if !slices.Equal(c.Roles, tc.user.Roles) {
				t.Errorf("roles = %q, want %q", c.Roles, tc.user.Roles)
			}
			if got := strings.Join(c.Scope, " "); got != tc.wantScope {
				t.Errorf("scope claim = %q, want %q", got, tc.wantScope)
			}
			if got := c.ExpiresAt.Sub(c.IssuedAt); got != 10*time.Minute {
				t.Errorf("exp - iat = %v, want 10m", got)
			}
			if c.ClientID != defaultClientID {
				t.Errorf("client_id = %q, want %q", c.ClientID, defaultClientID)
			}
		})
	}
}

// TestSuccessBodyShape checks the exact members of the success body.
func TestSuccessBodyShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, tc := range []struct {
		name string
		form url.Values
		keys []string
	}{
		{"no scope", login(e.bob.Username, e.bob.password), []string{"access_token", "expires_in", "token_type"}},
		{"with scope", login(e.bob.Username, e.bob.password, "scope", "user"), []string{"access_token", "expires_in", "scope", "token_type"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := post(e.h, tc.form)
			var m map[string]json.RawMessage
			if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			got := slices.Sorted(func(yield func(string) bool) {
				for k := range m {
					if !yield(k) {
						return
					}
				}
			})
			if !slices.Equal(got, tc.keys) {
				t.Errorf("members = %q, want %q", got, tc.keys)
			}
			if string(m["expires_in"]) != "1800" {
				t.Errorf("expires_in = %s, want 1800 (default TTL)", m["expires_in"])
			}
		})
	}
}

func TestScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env, c *Config) {
		c.RoleScopes = map[string][]string{"admin": {"users:write", "users:read"}, "user": {"profile"}}
		c.DefaultScopes = []string{"profile", "users:read"}
	})
	tests := []struct {
		name  string
		user  testUser
		scope string
		want  string // "" with code means refused
		code  string
	}{
		{"none asked, admin gets the defaults it holds", e.alice, "", "profile users:read", ""},
		{"none asked, user gets fewer defaults", e.bob, "", "profile", ""},
		{"allowed subset", e.alice, "users:write", "users:write", ""},
		{"all allowed", e.alice, "profile users:read users:write", "profile users:read users:write", ""},
		{"too many", e.bob, "profile users:read", "", CodeInvalidScope},
		{"unknown scope", e.alice, "everything", "", CodeInvalidScope},
		{"role name is no scope under RoleScopes", e.alice, "admin", "", CodeInvalidScope},
		{"tab inside", e.alice, "profile\tusers:read", "", CodeInvalidScope},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			form := login(tc.user.Username, tc.user.password)
			if tc.scope != "" {
				form.Set("scope", tc.scope)
			}
			w := post(e.h, form)
			if tc.code != "" {
				if w.Code != 400 || decodeError(t, w).Error != tc.code {
					t.Errorf("POST /token: %d %s, want 400 %s", w.Code, w.Body, tc.code)
				}
				return
			}
			if b := decodeSuccess(t, w); b.Scope != tc.want {
				t.Errorf("scope = %q, want %q", b.Scope, tc.want)
			}
		})
	}
}

func TestDefaultScopePolicyIsByRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	if b := decodeSuccess(t, post(e.h, login(e.alice.Username, e.alice.password, "scope", "admin user"))); b.Scope != "admin user" {
		t.Errorf("alice: scope = %q, want %q", b.Scope, "admin user")
	}
	if w := post(e.h, login(e.bob.Username, e.bob.password, "scope", "admin")); w.Code != 400 {
		t.Errorf("bob asking for admin: status = %d, want 400", w.Code)
	}
	if b := decodeSuccess(t, post(e.h, login(e.bob.Username, e.bob.password))); b.Scope != "" {
		t.Errorf("no scope asked, no DefaultScopes: scope = %q, want none", b.Scope)
	}
}

func TestRepeatedParameters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env, c *Config) { c.Clients = []Client{{ID: "web"}} })
	for _, p := range knownParams() {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			form := login(e.bob.Username, e.bob.password, "scope", "user", "client_id", "web", "client_secret", "")
			form.Add(p, form.Get(p))
			w := post(e.h, form)
			if w.Code != 400 {
				t.Errorf("POST /token: status = %d, want 400", w.Code)
			}
			checkHeaders(t, w, nil)
			if got := decodeError(t, w); got.Error != CodeInvalidRequest || got.Description != descRepeatedParam {
				t.Errorf("body = %+v, want invalid_request %q", got, descRepeatedParam)
			}
		})
	}
}

func TestBodyCap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env, c *Config) { c.MaxBodyBytes = 1024 })
	base := login(e.bob.Username, e.bob.password).Encode()
	tests := []struct {
		name    string
		size    int
		chunked bool
		status  int
	}{
		{"at the cap", 1024, false, 200},
		{"one byte over", 1025, false, 413},
		{"one byte over, length unknown", 1025, true, 413},
		{"10 MiB, length unknown", 10 << 20, true, 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := base + "&pad=" + strings.Repeat("a", tc.size-len(base)-5)
			r := newPost(body)
			if tc.chunked {
				r.ContentLength = -1
				r.Body = io.NopCloser(strings.NewReader(body))
			}
			w := do(e.h, r)
			if w.Code != tc.status {
				t.Errorf("POST /token (%d bytes): status = %d, want %d", len(body), w.Code, tc.status)
			}
			checkNoStore(t, w)
		})
	}
}

func TestServerErrors(t *testing.T) {
	t.Parallel()
	secret := "db password is hunter2"
	tests := []struct {
		name string
		mod  func(e *env, c *Config)
	}{
		{"store fails", func(e *env, c *Config) {
			c.Users = &fakeStore{next: e.store, byUsername: func(context.Context, string) (*userstore.User, error) {
				return nil, errors.New(secret)
			}}
		}},
		{"store returns nil, nil", func(e *env, c *Config) {
			c.Users = &fakeStore{next: e.store, byUsername: func(context.Context, string) (*userstore.User, error) {
				return nil, nil
			}}
		}},
		{"issuer fails", func(e *env, c *Config) {
			c.Tokens = fakeIssuer{func(context.Context, jwtauth.Claims) (jwtauth.Token, error) {
				return jwtauth.Token{}, errors.New(secret)
			}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var lim fakeLimiter
			e := newEnv(t, func(e *env, c *Config) {
				c.Limiter = &lim
				tc.mod(e, c)
			})
			w := post(e.h, login(e.alice.Username, e.alice.password))
			if w.Code != 500 {
				t.Errorf("POST /token: status = %d, want 500", w.Code)
			}
			checkHeaders(t, w, nil)
			if b := decodeError(t, w); b.Error != CodeServerError || b.Description != descServerError {
				t.Errorf("body = %+v, want server_error %q", b, descServerError)
			}
			if strings.Contains(w.Body.String(), "hunter2") {
				t.Errorf("body leaks the cause: %s", w.Body)
			}
			if lim.failures.Load() != 1 || lim.successes.Load() != 0 {
				t.Errorf("limiter: %d failures, %d successes; want 1, 0", lim.failures.Load(), lim.successes.Load())
			}
		})
	}
}

// TestUnreadableStoredHash checks that a stored hash the hasher cannot read
// answers like a wrong password.
func TestUnreadableStoredHash(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env, c *Config) {
		c.Users = &fakeStore{next: e.store, byUsername: func(ctx context.Context, name string) (*userstore.User, error) {
			u, err := e.store.UserByUsername(ctx, name)
			if err == nil {
				u.PasswordHash = "$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA"
			}
			return u, err
		}}
	})
	w := post(e.h, login(e.alice.Username, e.alice.password))
	if w.Code != 400 || decodeError(t, w).Error != CodeInvalidGrant {
		t.Errorf("POST /token: %d %s, want 400 invalid_grant", w.Code, w.Body)
	}
}

func TestRehashOnLogin(t *testing.T) {
	t.Parallel()
	weak, err := userstore.NewInsecureArgon2id(userstore.Argon2idParams{Memory: 32, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	bcryptHasher, err := userstore.NewInsecureBcrypt(4)
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range []struct {
		name   string
		hasher userstore.PasswordHasher
	}{
		{"weaker argon2id", weak},
		{"bcrypt", bcryptHasher},
	} {
		t.Run(old.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			ctx := context.Background()
			oldHash, err := old.hasher.Hash(e.bob.password)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.store.SetPasswordHash(ctx, e.bob.ID, oldHash); err != nil {
				t.Fatal(err)
			}
			if !e.hasher.NeedsRehash(oldHash) {
				t.Fatalf("NeedsRehash(%q) = false, want true", oldHash)
			}
			decodeSuccess(t, post(e.h, login(e.bob.Username, e.bob.password)))
			u, err := e.store.UserByID(ctx, e.bob.ID)
			if err != nil {
				t.Fatal(err)
			}
			if u.PasswordHash == oldHash || e.hasher.NeedsRehash(u.PasswordHash) {
				t.Errorf("stored hash %q after login, want a current one", u.PasswordHash)
			}
			if ok, err := e.hasher.Verify(u.PasswordHash, e.bob.password); !ok || err != nil {
				t.Errorf("Verify(new hash) = %v, %v; want true", ok, err)
			}
			// The login goes on working with the new hash.
			decodeSuccess(t, post(e.h, login(e.bob.Username, e.bob.password)))
		})
	}
}

func TestRehashFailureDoesNotFailLogin(t *testing.T) {
	t.Parallel()
	var calls int
	e := newEnv(t, func(e *env, c *Config) {
		c.Users = &fakeStore{next: e.store, upgrade: func(context.Context, string, string, string) error {
			calls++
			return errors.New("disk full")
		}}
	})
	bc, err := userstore.NewInsecureBcrypt(4)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := bc.Hash(e.bob.password)
	if err := e.store.SetPasswordHash(context.Background(), e.bob.ID, old); err != nil {
		t.Fatal(err)
	}
	decodeSuccess(t, post(e.h, login(e.bob.Username, e.bob.password)))
	if calls != 1 {
		t.Errorf("UpgradePasswordHash calls = %d, want 1", calls)
	}
	// A current hash is left alone.
	calls = 0
	decodeSuccess(t, post(e.h, login(e.alice.Username, e.alice.password)))
	if calls != 0 {
		t.Errorf("UpgradePasswordHash calls for a current hash = %d, want 0", calls)
	}
}

// TestConfigCopied checks that changing the caller's slices and maps
// after NewHandler changes nothing.
func TestConfigCopied(t *testing.T) {
	t.Parallel()
	roleScopes := map[string][]string{"user": {"profile"}}
	defaults := []string{"profile"}
	e := newEnv(t, func(e *env, c *Config) {
		c.RoleScopes = roleScopes
		c.DefaultScopes = defaults
	})
	roleScopes["user"][0] = "admin"
	roleScopes["admin"] = []string{"everything"}
	defaults[0] = "admin"
	if b := decodeSuccess(t, post(e.h, login(e.bob.Username, e.bob.password))); b.Scope != "profile" {
		t.Errorf("scope = %q, want profile", b.Scope)
	}
}

func TestNewHandlerRefusesUnsafeConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ok := func() Config { return Config{Users: e.store, Hasher: e.hasher, Tokens: e.tokens} }
	tests := []struct {
		name string
		mod  func(c *Config)
	}{
		{"no store", func(c *Config) { c.Users = nil }},
		{"no hasher", func(c *Config) { c.Hasher = nil }},
		{"no issuer", func(c *Config) { c.Tokens = nil }},
		{"invalid policy", func(c *Config) { c.Policy.MaxBytes = 10 }},
		{"tiny body cap", func(c *Config) { c.MaxBodyBytes = 100 }},
		{"bad default scope", func(c *Config) { c.DefaultScopes = []string{"a b"} }},
		{"bad role scope", func(c *Config) { c.RoleScopes = map[string][]string{"x": {""}} }},
		{"empty client ID", func(c *Config) { c.Clients = []Client{{ID: ""}} }},
		{"client ID with a control character", func(c *Config) { c.Clients = []Client{{ID: "a\nb"}} }},
		{"client with Scopes, RequireClient false", func(c *Config) { c.Clients = []Client{{ID: "a", Scopes: []string{"user"}}} }},
		{"client with empty Scopes, RequireClient false", func(c *Config) { c.Clients = []Client{{ID: "a", Scopes: []string{}}} }},
		{"DefaultClientID with colon", func(c *Config) { c.DefaultClientID = "a:b" }},
		{"DefaultClientID with a control character", func(c *Config) { c.DefaultClientID = "a\x00" }},
		{"DefaultClientID not ASCII", func(c *Config) { c.DefaultClientID = "caf\u00e9" }},
		{"DefaultClientID of a confidential client", func(c *Config) {
			c.Clients = []Client{{ID: "app", Secret: strings.Repeat("s", 16)}}
			c.DefaultClientID = "app"
		}},
		{"negative MaxConcurrentHashes", func(c *Config) { c.MaxConcurrentHashes = -1 }},
		{"negative HashWait", func(c *Config) { c.HashWait = -time.Second }},
		{"client ID with colon", func(c *Config) { c.Clients = []Client{{ID: "a:b"}} }},
		{"duplicate client", func(c *Config) { c.Clients = []Client{{ID: "a"}, {ID: "a"}} }},
		{"short client secret", func(c *Config) { c.Clients = []Client{{ID: "a", Secret: "short"}} }},
		{"RequireClient without clients", func(c *Config) { c.RequireClient = true }},
		{"realm with quote", func(c *Config) { c.Realm = `a"b` }},
		{"realm with backslash", func(c *Config) { c.Realm = `a\b` }},
		{"Limiter and InsecureNoThrottle", func(c *Config) { c.Limiter = &fakeLimiter{}; c.InsecureNoThrottle = true }},
		{"negative throttle limit", func(c *Config) { c.Throttle.PairLimit = -1 }},
		{"MaxDelay below BaseDelay", func(c *Config) { c.Throttle.BaseDelay = time.Hour }},
		{"negative KnownWindow", func(c *Config) { c.Throttle.KnownWindow = -time.Hour }},
		{"invalid trusted proxy", func(c *Config) { c.TrustedProxies = make([]netip.Prefix, 1) }},
		{"trusted proxy 0.0.0.0/0", func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")} }},
		{"trusted proxy ::/0", func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("::/0")} }},
		{"trusted proxy 10.0.0.0/0 after a good one", func(c *Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.PrefixFrom(netip.MustParseAddr("10.0.0.0"), 0)}
		}},
		{"verify-only hasher", func(c *Config) { c.Hasher = userstore.NewPBKDF2SHA256() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := ok()
			tc.mod(&c)
			if h, err := NewHandler(c); err == nil || h != nil {
				t.Errorf("NewHandler = %v, %v; want an error", h, err)
			}
		})
	}
	if _, err := NewHandler(ok()); err != nil {
		t.Errorf("NewHandler(minimal config) = %v", err)
	}
}

// TestCanceledRequestCostsNothing checks that a request whose context has
// ended is answered without a limiter call or a hash, for a login and for
// a client authentication.
func TestCanceledRequestCostsNothing(t *testing.T) {
	t.Parallel()
	secret := rand.Text()
	tests := []struct {
		name   string
		authz  string
		extra  []string
		hasher string
	}{
		{"login/PasswordHasher", "", nil, "plain"},
		{"login/ContextHasher", "", nil, "context"},
		{"client secret by Basic", basic("app", secret), nil, "plain"},
		{"client secret in the form", "", []string{"client_id", "app", "client_secret", secret}, "plain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var lim fakeLimiter
			var plain *countingHasher
			var ctxh *countingContextHasher
			e := newEnv(t, func(e *env, c *Config) {
				c.Limiter = &lim
				c.Clients = []Client{{ID: "app", Secret: secret}}
				if tc.hasher == "plain" {
					plain = &countingHasher{PasswordHasher: c.Hasher}
					c.Hasher = plain
				} else {
					ctxh = &countingContextHasher{Hasher: c.Hasher.(*userstore.Hasher)}
					c.Hasher = ctxh
				}
			})
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			r := newPost(login(e.alice.Username, e.alice.password, tc.extra...).Encode()).WithContext(ctx)
			if tc.authz != "" {
				r.Header.Set("Authorization", tc.authz)
			}
			w := do(e.h, r)
			if w.Code != http.StatusServiceUnavailable || decodeError(t, w).Error != CodeTemporarilyUnavailable {
				t.Errorf("POST /token: %d %s, want 503 temporarily_unavailable", w.Code, w.Body)
			}
			checkHeaders(t, w, headerWant{"Retry-After": "1"})
			if got := lim.calls(); got != [3]int64{} {
				t.Errorf("limiter Allow, Failure, Success calls = %v, want none", got)
			}
			if plain != nil && plain.verifies.Load() != 0 {
				t.Errorf("Verify calls = %d, want 0", plain.verifies.Load())
			}
			if ctxh != nil && ctxh.ctxVerifies.Load()+ctxh.verifies.Load() != 0 {
				t.Errorf("Verify calls = %d, want 0", ctxh.ctxVerifies.Load()+ctxh.verifies.Load())
			}
		})
	}
}

// TestExpiresInFromIssuer checks that the token's lifetime is the
// issuer's alone: expires_in is the issued token's exp less its iat, and a
// token issued without them is answered 500.
func TestExpiresInFromIssuer(t *testing.T) {
	t.Parallel()
	iat := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	fixed := func(iat, exp time.Time) jwtauth.Issuer {
		return fakeIssuer{func(_ context.Context, c jwtauth.Claims) (jwtauth.Token, error) {
			c.IssuedAt, c.ExpiresAt = iat, exp
			return jwtauth.Token{Raw: "opaque", Claims: c}, nil
		}}
	}
	tests := []struct {
		name   string
		tokens func(t *testing.T) jwtauth.Issuer
		status int
		want   int64 // expires_in, or 0 for an error
	}{
		{"issuer configured for 5 minutes", func(t *testing.T) jwtauth.Issuer { return newIssuerTTL(t, 5*time.Minute) }, 200, 300},
		{"issuer default", func(t *testing.T) jwtauth.Issuer { return newIssuer(t) }, 200, 1800},
		{"custom issuer, 123 s", func(*testing.T) jwtauth.Issuer { return fixed(iat, iat.Add(123*time.Second)) }, 200, 123},
		{"custom issuer, no times", func(*testing.T) jwtauth.Issuer { return fixed(time.Time{}, time.Time{}) }, 500, 0},
		{"custom issuer, no iat", func(*testing.T) jwtauth.Issuer { return fixed(time.Time{}, iat) }, 500, 0},
		{"custom issuer, exp at iat", func(*testing.T) jwtauth.Issuer { return fixed(iat, iat) }, 500, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tokens := tc.tokens(t)
			e := newEnv(t, func(e *env, c *Config) { c.Tokens = tokens })
			w := post(e.h, login(e.bob.Username, e.bob.password))
			if w.Code != tc.status {
				t.Fatalf("POST /token: status = %d, want %d; body %s", w.Code, tc.status, w.Body)
			}
			if tc.status != 200 {
				if b := decodeError(t, w); b.Error != CodeServerError {
					t.Errorf("POST /token: error = %q, want %q", b.Error, CodeServerError)
				}
				return
			}
			b := decodeSuccess(t, w)
			if b.ExpiresIn != tc.want {
				t.Errorf("POST /token: expires_in = %d, want %d", b.ExpiresIn, tc.want)
			}
			if j, ok := tokens.(*jwtauth.JWT); ok {
				c, err := j.Verify(context.Background(), b.AccessToken)
				if err != nil {
					t.Fatalf("Verify(access_token): %v", err)
				}
				if got, want := c.ExpiresAt.Sub(c.IssuedAt), time.Duration(tc.want)*time.Second; got != want {
					t.Errorf("exp - iat = %v, want %v", got, want)
				}
			}
		})
	}
}

// TestClaimsHook checks that the Claims hook's custom claims reach the
// token, that it sees the claims the endpoint set and a user of the
// store's, and that its changes to that user change nothing.
func TestClaimsHook(t *testing.T) {
	t.Parallel()
	type seen struct {
		user   userstore.User
		claims jwtauth.Claims
	}
	var got []seen
	var upgrades atomic.Int64
	e := newEnv(t, func(e *env, c *Config) {
		c.Users = &fakeStore{next: e.store, upgrade: func(context.Context, string, string, string) error {
			upgrades.Add(1)
			return nil
		}}
		c.Clients = []Client{{ID: "web"}}
		c.Claims = func(_ context.Context, u *userstore.User, c *jwtauth.Claims) error {
			got = append(got, seen{*u.Clone(), *c})
			u.ID, u.PasswordHash, u.Roles[0] = "someone-else", "", "root"
			if err := jwtauth.SetClaim(c, "role", u.Roles[len(u.Roles)-1]); err != nil {
				return err
			}
			return jwtauth.SetClaim(c, "tenant", []string{"acme", "globex"})
		}
	})
	b := decodeSuccess(t, post(e.h, login(e.alice.Username, e.alice.password, "scope", "admin", "client_id", "web")))
	if len(got) != 1 {
		t.Fatalf("hook calls = %d, want 1", len(got))
	}
	hu, hc := got[0].user, got[0].claims
	if hu.ID != e.alice.ID || hu.Username != e.alice.Username || !slices.Equal(hu.Roles, e.alice.Roles) {
		t.Errorf("hook user = %q %q %q, want %q %q %q", hu.ID, hu.Username, hu.Roles, e.alice.ID, e.alice.Username, e.alice.Roles)
	}
	if hc.Subject != e.alice.ID || hc.ClientID != "web" || !slices.Equal(hc.Scope, []string{"admin"}) || !slices.Equal(hc.Roles, e.alice.Roles) {
		t.Errorf("hook claims = sub %q client_id %q scope %q roles %q, want %q web [admin] %q", hc.Subject, hc.ClientID, hc.Scope, hc.Roles, e.alice.ID, e.alice.Roles)
	}
	if !hc.IssuedAt.IsZero() || !hc.ExpiresAt.IsZero() || hc.ID != "" || hc.Issuer != "" || hc.Audience != nil {
		t.Errorf("hook claims carry iat %v exp %v jti %q iss %q aud %q, want all empty", hc.IssuedAt, hc.ExpiresAt, hc.ID, hc.Issuer, hc.Audience)
	}
	c, err := e.tokens.Verify(context.Background(), b.AccessToken)
	if err != nil {
		t.Fatalf("Verify(access_token): %v", err)
	}
	if role, ok, err := jwtauth.ClaimAs[string](c, "role"); role != "user" || !ok || err != nil {
		t.Errorf(`ClaimAs(role) = %q, %v, %v; want "user", true, nil`, role, ok, err)
	}
	if tenant, ok, err := jwtauth.ClaimAs[[]string](c, "tenant"); !slices.Equal(tenant, []string{"acme", "globex"}) || !ok || err != nil {
		t.Errorf("ClaimAs(tenant) = %q, %v, %v; want [acme globex], true, nil", tenant, ok, err)
	}
	if c.Subject != e.alice.ID || !slices.Equal(c.Roles, e.alice.Roles) {
		t.Errorf("token sub %q roles %q, want %q %q: the hook's changes to u leaked", c.Subject, c.Roles, e.alice.ID, e.alice.Roles)
	}
	if n := upgrades.Load(); n != 0 {
		t.Errorf("UpgradePasswordHash calls = %d, want 0: the hook's changes to u reached the rehash", n)
	}
	stored, err := e.store.UserByID(context.Background(), e.alice.ID)
	if err != nil || stored.PasswordHash == "" || stored.Roles[0] != e.alice.Roles[0] {
		t.Errorf("stored user after the hook = %+v, %v; want it unchanged", stored, err)
	}
}

// TestClaimsHookRefused checks that a hook that fails, or that touches a
// claim the endpoint or the issuer owns, fails the login with 500
// server_error, the cause logged and not sent, and no token issued.
func TestClaimsHookRefused(t *testing.T) {
	t.Parallel()
	later := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		hook  func(c *jwtauth.Claims) error
		cause string // in the logged error
	}{
		{"error", func(*jwtauth.Claims) error { return errors.New("tenant db down") }, "tenant db down"},
		{"sub", func(c *jwtauth.Claims) error { c.Subject = "admin"; return nil }, `changed "sub"`},
		{"client_id", func(c *jwtauth.Claims) error { c.ClientID = "other"; return nil }, `changed "client_id"`},
		{"exp", func(c *jwtauth.Claims) error { c.ExpiresAt = later; return nil }, `changed "exp"`},
		{"iat", func(c *jwtauth.Claims) error { c.IssuedAt = later; return nil }, `changed "iat"`},
		{"nbf", func(c *jwtauth.Claims) error { c.NotBefore = later; return nil }, `changed "nbf"`},
		{"jti", func(c *jwtauth.Claims) error { c.ID = "fixed"; return nil }, `changed "jti"`},
		{"iss", func(c *jwtauth.Claims) error { c.Issuer = testIssuer; return nil }, `changed "iss"`},
		{"aud", func(c *jwtauth.Claims) error { c.Audience = []string{"https://other.example.test"}; return nil }, `changed "aud"`},
		{"scope widened", func(c *jwtauth.Claims) error { c.Scope = append(c.Scope, "admin"); return nil }, `changed "scope"`},
		{"roles in place", func(c *jwtauth.Claims) error { c.Roles[0] = "admin"; return nil }, `changed "roles"`},
		{"sub through Extra", func(c *jwtauth.Claims) error {
			c.Extra = map[string]json.RawMessage{"sub": json.RawMessage(`"admin"`)}
			return nil
		}, `registered claim "sub"`},
		{"exp through Extra", func(c *jwtauth.Claims) error {
			c.Extra = map[string]json.RawMessage{"tenant": json.RawMessage(`"acme"`), "exp": json.RawMessage(`4102444800`)}
			return nil
		}, `registered claim "exp"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf lockedBuffer
			var issued atomic.Int64
			var lim fakeLimiter
			e := newEnv(t, func(e *env, c *Config) {
				c.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
				c.Limiter = &lim
				c.Tokens = fakeIssuer{func(ctx context.Context, c jwtauth.Claims) (jwtauth.Token, error) {
					issued.Add(1)
					return e.tokens.Issue(ctx, c)
				}}
				c.Claims = func(_ context.Context, _ *userstore.User, c *jwtauth.Claims) error { return tc.hook(c) }
			})
			w := post(e.h, login(e.bob.Username, e.bob.password, "scope", "user"))
			if w.Code != http.StatusInternalServerError {
				t.Fatalf("POST /token: status = %d, want 500; body %s", w.Code, w.Body)
			}
			checkHeaders(t, w, nil)
			if b := decodeError(t, w); b.Error != CodeServerError || b.Description != descServerError {
				t.Errorf("POST /token: body = %+v, want %s %q", b, CodeServerError, descServerError)
			}
			if strings.Contains(w.Body.String(), "claims hook") || strings.Contains(w.Body.String(), "tenant") {
				t.Errorf("POST /token: body leaks the cause: %s", w.Body)
			}
			if n := issued.Load(); n != 0 {
				t.Errorf("Issue calls = %d, want 0", n)
			}
			if !strings.Contains(buf.String(), `"level":"ERROR","msg":"oauth2pw: login error"`) || !strings.Contains(buf.String(), strings.ReplaceAll(tc.cause, `"`, `\"`)) {
				t.Errorf("log = %s; want an ERROR login error naming %s", buf.String(), tc.cause)
			}
			if got := lim.calls(); got != [3]int64{1, 1, 0} {
				t.Errorf("limiter Allow, Failure, Success = %v, want [1 1 0] as for other server errors", got)
			}
		})
	}
}

// gateOnce blocks the first call of wait, after reporting on entered,
// until open is closed; later calls go through.
type gateOnce struct {
	entered, open chan struct{}
	first         atomic.Bool
}

func newGateOnce() *gateOnce {
	return &gateOnce{entered: make(chan struct{}), open: make(chan struct{})}
}

func (g *gateOnce) wait() {
	if g.first.CompareAndSwap(false, true) {
		close(g.entered)
		<-g.open
	}
}

// outcomeLimiter is a fakeLimiter whose Success and Failure first wait at
// a gate.
type outcomeLimiter struct {
	*fakeLimiter
	gate *gateOnce
}

func (l outcomeLimiter) Success(ctx context.Context, k ThrottleKey) {
	l.gate.wait()
	l.fakeLimiter.Success(ctx, k)
}

func (l outcomeLimiter) Failure(ctx context.Context, k ThrottleKey) {
	l.gate.wait()
	l.fakeLimiter.Failure(ctx, k)
}

// gatedSessions is a memory.Sessions whose CreateRefreshFamily first
// waits at a gate.
type gatedSessions struct {
	*memory.Sessions
	gate *gateOnce
}

func (s gatedSessions) CreateRefreshFamily(ctx context.Context, family, userID, clientID string, scope []string, created, expires time.Time, token []byte, tokenExpires time.Time) error {
	s.gate.wait()
	return s.Sessions.CreateRefreshFamily(ctx, family, userID, clientID, scope, created, expires, token, tokenExpires)
}

// alwaysRehash is a PasswordHasher that finds every hash outdated.
type alwaysRehash struct{ userstore.PasswordHasher }

func (alwaysRehash) NeedsRehash(string) bool { return true }

// TestSlotFreeDuringStoreWrites holds a login, with its password checked,
// in each of the steps that follow the hash (the limiter's outcome, the
// token's signature, the refresh family's write, the new hash's write)
// with a single hashing slot: a second login meanwhile gets its slot and
// succeeds, and each admitted login gets exactly one limiter outcome.
func TestSlotFreeDuringStoreWrites(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		set  func(e *env, c *Config, g *gateOnce, lim *fakeLimiter)
	}{
		{"limiter outcome", func(e *env, c *Config, g *gateOnce, lim *fakeLimiter) {
			c.Limiter = outcomeLimiter{lim, g}
		}},
		{"token issue", func(e *env, c *Config, g *gateOnce, lim *fakeLimiter) {
			c.Tokens = fakeIssuer{issue: func(ctx context.Context, cl jwtauth.Claims) (jwtauth.Token, error) {
				g.wait()
				return e.tokens.Issue(ctx, cl)
			}}
		}},
		{"refresh family write", func(e *env, c *Config, g *gateOnce, lim *fakeLimiter) {
			c.Refresh = RefreshConfig{Store: gatedSessions{memory.NewSessions(nil), g}}
		}},
		{"hash upgrade write", func(e *env, c *Config, g *gateOnce, lim *fakeLimiter) {
			c.Hasher = alwaysRehash{c.Hasher}
			c.Users = &fakeStore{next: e.store, upgrade: func(ctx context.Context, id, oldHash, newHash string) error {
				g.wait()
				return e.store.UpgradePasswordHash(ctx, id, oldHash, newHash)
			}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				g := newGateOnce()
				lim := new(fakeLimiter)
				e := newEnv(t, func(e *env, c *Config) {
					c.MaxConcurrentHashes = 1
					c.Limiter = lim
					tc.set(e, c, g, lim)
				})
				first := make(chan *httptest.ResponseRecorder, 1)
				go func() { first <- post(e.h, login(e.bob.Username, e.bob.password)) }()
				<-g.entered
				synctest.Wait()
				if w := post(e.h, login(e.alice.Username, e.alice.password)); w.Code != http.StatusOK {
					t.Errorf("POST /token while another login waits in its %s: status = %d, want 200; body %s", tc.name, w.Code, w.Body)
				}
				close(g.open)
				decodeSuccess(t, <-first)
				if got, want := lim.calls(), [3]int64{2, 0, 2}; got != want {
					t.Errorf("limiter calls (Allow, Failure, Success) = %v, want %v", got, want)
				}
			})
		})
	}
}

// blockingHash is a PasswordHasher whose Hash, once armed, first waits at
// a gate, and that finds every hash outdated.
type blockingHash struct {
	userstore.PasswordHasher
	armed *atomic.Bool
	gate  *gateOnce
}

func (b blockingHash) Hash(pw string) (string, error) {
	if b.armed.Load() {
		b.gate.wait()
	}
	return b.PasswordHasher.Hash(pw)
}

func (blockingHash) NeedsRehash(string) bool { return true }

// TestRehashHoldsSlot checks that the new hash of an outdated one is
// computed in the login's hashing slot: with a single slot, a second
// login waits HashWait for it and gets 503, and the first one's hash is
// still upgraded.
func TestRehashHoldsSlot(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		g := newGateOnce()
		var armed atomic.Bool
		var upgrades atomic.Int64
		e := newEnv(t, func(e *env, c *Config) {
			c.MaxConcurrentHashes = 1
			c.InsecureNoThrottle = true
			c.Hasher = blockingHash{c.Hasher, &armed, g}
			c.Users = &fakeStore{next: e.store, upgrade: func(ctx context.Context, id, oldHash, newHash string) error {
				upgrades.Add(1)
				return e.store.UpgradePasswordHash(ctx, id, oldHash, newHash)
			}}
		})
		armed.Store(true) // NewHandler has hashed its dummy password
		first := make(chan *httptest.ResponseRecorder, 1)
		go func() { first <- post(e.h, login(e.bob.Username, e.bob.password)) }()
		<-g.entered
		synctest.Wait()
		if w := post(e.h, login(e.alice.Username, e.alice.password)); w.Code != http.StatusServiceUnavailable {
			t.Errorf("POST /token while another login computes its new hash: status = %d, want 503; body %s", w.Code, w.Body)
		}
		close(g.open)
		decodeSuccess(t, <-first)
		if got := upgrades.Load(); got != 1 {
			t.Errorf("UpgradePasswordHash calls = %d, want 1", got)
		}
	})
}
