package oauth2pw

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// TestClientCredentialsWithAndWithoutClients runs the same requests
// against an endpoint without Clients and one with clients (none
// required): presented client credentials are authenticated either way,
// and every answer is the same.
func TestClientCredentialsWithAndWithoutClients(t *testing.T) {
	t.Parallel()
	secret := rand.Text()
	const challenge = `Basic realm="token", charset="UTF-8"`
	endpoints := map[string]*env{
		"without Clients": newEnv(t, nil),
		"with Clients": newEnv(t, func(e *env, c *Config) {
			c.Clients = []Client{{ID: "web"}, {ID: "app", Secret: secret}}
		}),
	}
	tests := []struct {
		name   string
		form   []string
		authz  []string
		status int
		desc   string // error_description; "" on success
	}{
		{"no credentials", nil, nil, 200, ""},
		{"empty Basic, exact header", nil, []string{"Basic Og=="}, 200, ""},
		{"empty Basic, lower-case scheme", nil, []string{"basic Og=="}, 200, ""},
		{"empty Basic beside client_id of the default client", []string{"client_id", defaultClientID}, []string{"Basic Og=="}, 200, ""},
		{"empty client_id and client_secret", []string{"client_id", "", "client_secret", ""}, nil, 200, ""},
		{"default client by client_id", []string{"client_id", defaultClientID}, nil, 200, ""},
		{"default client by Basic, empty secret", nil, []string{basic(defaultClientID, "")}, 200, ""},
		{"default client by Basic with a secret", nil, []string{basic(defaultClientID, secret)}, 401, descInvalidClient},
		{"default client with client_secret", []string{"client_id", defaultClientID, "client_secret", secret}, nil, 401, descInvalidClient},
		{"unknown client by Basic", nil, []string{basic("nope", secret)}, 401, descInvalidClient},
		{"unknown client by Basic, empty secret", nil, []string{basic("nope", "")}, 401, descInvalidClient},
		{"unknown client by form", []string{"client_id", "nope", "client_secret", secret}, nil, 401, descInvalidClient},
		{"unknown client_id alone", []string{"client_id", "nope"}, nil, 401, descInvalidClient},
		{"client_secret alone", []string{"client_secret", secret}, nil, 401, descInvalidClient},
		{"Basic secret without user", nil, []string{basic("", secret)}, 401, descInvalidClient},
		{"Bearer", nil, []string{"Bearer " + rand.Text()}, 401, descInvalidClient},
		{"Digest", nil, []string{`Digest username="x"`}, 401, descInvalidClient},
		{"scheme alone", nil, []string{"Basic"}, 401, descInvalidClient},
		{"empty header", nil, []string{""}, 401, descInvalidClient},
		{"Basic not base64", nil, []string{"Basic !!!"}, 401, descInvalidClient},
		{"two Authorization headers", nil, []string{basic("nope", secret), basic("nope", secret)}, 400, descRepeatedAuthz},
		{"two empty Basic headers", nil, []string{"Basic Og==", "Basic Og=="}, 400, descRepeatedAuthz},
		{"Basic and client_id", []string{"client_id", "nope"}, []string{basic("nope", secret)}, 400, descMultipleAuth},
		{"Basic and client_secret", []string{"client_secret", secret}, []string{basic("nope", secret)}, 400, descMultipleAuth},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for name, e := range endpoints {
				r := newPost(login(e.bob.Username, e.bob.password, tc.form...).Encode())
				for _, a := range tc.authz {
					r.Header.Add("Authorization", a)
				}
				w := do(e.h, r)
				if w.Code != tc.status {
					t.Errorf("%s: POST /token: status = %d, want %d; body %s", name, w.Code, tc.status, w.Body)
					continue
				}
				if tc.status == 200 {
					c, err := e.tokens.Verify(context.Background(), decodeSuccess(t, w).AccessToken)
					if err != nil {
						t.Fatal(err)
					}
					if c.ClientID != defaultClientID {
						t.Errorf("%s: client_id claim = %q, want %q", name, c.ClientID, defaultClientID)
					}
					continue
				}
				want := headerWant{}
				if tc.status == 401 {
					want["WWW-Authenticate"] = challenge
				}
				checkHeaders(t, w, want)
				b := decodeError(t, w)
				wantCode := CodeInvalidClient
				if tc.status == 400 {
					wantCode = CodeInvalidRequest
				}
				if b.Error != wantCode || b.Description != tc.desc {
					t.Errorf("%s: body = %+v, want %s %q", name, b, wantCode, tc.desc)
				}
			}
		})
	}
}

// sameAnswer fails unless a and b have the same status, headers and body.
func sameAnswer(tb testing.TB, what string, a, b *httptest.ResponseRecorder) {
	tb.Helper()
	if a.Code != b.Code || !bytes.Equal(a.Body.Bytes(), b.Body.Bytes()) {
		tb.Errorf("%s: %d %s, want %d %s", what, a.Code, a.Body, b.Code, b.Body)
	}
	if len(a.Header()) != len(b.Header()) {
		tb.Errorf("%s: headers %v, want %v", what, a.Header(), b.Header())
	}
	for k, v := range b.Header() {
		if !slices.Equal(a.Header()[k], v) {
			tb.Errorf("%s: header %s = %q, want %q", what, k, a.Header()[k], v)
		}
	}
}

// TestWrongSecretAnswersAsUnknownClient checks that a known client with a
// wrong or missing secret gets, byte for byte, the answer of an unknown
// client: client ids are not enumerable.
func TestWrongSecretAnswersAsUnknownClient(t *testing.T) {
	t.Parallel()
	secret := rand.Text()
	for _, require := range []bool{false, true} {
		e := newEnv(t, func(e *env, c *Config) {
			c.Clients = []Client{{ID: "app", Secret: secret}}
			c.RequireClient = require
		})
		send := func(authz string, extra ...string) *httptest.ResponseRecorder {
			r := newPost(login(e.bob.Username, e.bob.password, extra...).Encode())
			if authz != "" {
				r.Header.Set("Authorization", authz)
			}
			return do(e.h, r)
		}
		wrong := rand.Text()
		unknown := send(basic("nope", wrong))
		if unknown.Code != http.StatusUnauthorized {
			t.Fatalf("unknown client: status = %d, want 401", unknown.Code)
		}
		sameAnswer(t, "Basic, wrong secret", send(basic("app", wrong)), unknown)
		sameAnswer(t, "Basic, empty secret", send(basic("app", "")), unknown)
		sameAnswer(t, "Basic, secret of another client", send(basic("nope", secret)), unknown)
		sameAnswer(t, "form, wrong secret", send("", "client_id", "app", "client_secret", wrong), unknown)
		sameAnswer(t, "form, unknown client", send("", "client_id", "nope", "client_secret", wrong), unknown)
		sameAnswer(t, "form, known client_id alone", send("", "client_id", "app"), unknown)
		sameAnswer(t, "form, unknown client_id alone", send("", "client_id", "nope"), unknown)
	}
}

// TestClientSecretGuessingThrottled sends 5,000 different wrong secrets
// from one address, for a known and an unknown client id, with the
// default throttle: past the limit the answer is 429 slow_down with
// Retry-After, and the right secret waits too.
func TestClientSecretGuessingThrottled(t *testing.T) {
	t.Parallel()
	secret := rand.Text()
	for _, id := range []string{"app", "nope"} {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			e := newEnv(t, func(e *env, c *Config) {
				c.Clients = []Client{{ID: "app", Secret: secret}}
				c.Now = func() time.Time { return now }
			})
			counts := map[int]int{}
			var last *httptest.ResponseRecorder
			for range 5000 {
				r := newPost(login(e.bob.Username, e.bob.password).Encode())
				r.Header.Set("Authorization", basic(id, rand.Text()))
				last = do(e.h, r)
				counts[last.Code]++
			}
			if counts[401] == 0 || counts[401] > 50 || counts[429] != 5000-counts[401] {
				t.Fatalf("answers = %v, want a few 401 and the rest 429", counts)
			}
			checkHeaders(t, last, headerWant{"Retry-After": last.Header().Get("Retry-After")})
			if last.Header().Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After")
			}
			if b := decodeError(t, last); b.Error != CodeSlowDown || b.Description != descClientThrottled {
				t.Errorf("body = %+v, want slow_down %q", b, descClientThrottled)
			}
			if id == "app" {
				r := newPost(login(e.bob.Username, e.bob.password).Encode())
				r.Header.Set("Authorization", basic(id, secret))
				if w := do(e.h, r); w.Code != http.StatusTooManyRequests {
					t.Errorf("right secret while throttled: status = %d, want 429", w.Code)
				}
			}
		})
	}
}

// TestClientAuthenticationLimiterCalls checks what the limiter is told of
// client authentication: an Allow before the secret is compared, keyed by
// the presented client_id, the address and a digest of the secret, then
// one Failure or Success; nothing for credentials that carry no secret to
// guess.
func TestClientAuthenticationLimiterCalls(t *testing.T) {
	t.Parallel()
	secret := rand.Text()
	type call struct {
		clientID  string
		username  bool // a login key
		secretSet bool
	}
	tests := []struct {
		name   string
		form   []string
		authz  string
		status int
		calls  []call
	}{
		{"right secret by Basic", nil, basic("app", secret), 200, []call{{"app", false, true}, {"app", false, true}, {"", true, true}, {"", true, true}}},
		{"right secret by form", []string{"client_id", "app", "client_secret", secret}, "", 200, []call{{"app", false, true}, {"app", false, true}, {"", true, true}, {"", true, true}}},
		{"wrong secret", nil, basic("app", rand.Text()), 401, []call{{"app", false, true}, {"app", false, true}}},
		{"unknown client", nil, basic("nope", rand.Text()), 401, []call{{"nope", false, true}, {"nope", false, true}}},
		{"public client by Basic", nil, basic("web", ""), 200, []call{{"web", false, false}, {"web", false, false}, {"", true, true}, {"", true, true}}},
		{"public client by client_id", []string{"client_id", "web"}, "", 200, []call{{"", true, true}, {"", true, true}}},
		{"unknown client_id alone", []string{"client_id", "nope"}, "", 401, nil},
		{"empty Basic", nil, "Basic Og==", 200, []call{{"", true, true}, {"", true, true}}},
		{"Bearer", nil, "Bearer x", 401, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var lim fakeLimiter
			e := newEnv(t, func(e *env, c *Config) {
				c.Clients = []Client{{ID: "web"}, {ID: "app", Secret: secret}}
				c.Limiter = &lim
			})
			r := newPost(login(e.bob.Username, e.bob.password, tc.form...).Encode())
			if tc.authz != "" {
				r.Header.Set("Authorization", tc.authz)
			}
			if w := do(e.h, r); w.Code != tc.status {
				t.Fatalf("POST /token: status = %d, want %d; body %s", w.Code, tc.status, w.Body)
			}
			keys := lim.recorded()
			if len(keys) != len(tc.calls) {
				t.Fatalf("limiter calls = %+v, want %d", keys, len(tc.calls))
			}
			for i, k := range keys {
				want := tc.calls[i]
				got := call{k.ClientID, k.Username != "", k.Secret != [16]byte{}}
				if got != want || k.IP.String() != "192.0.2.1" {
					t.Errorf("call %d: key %+v, want %+v from 192.0.2.1", i, k, want)
				}
				if want.clientID != "" && k.Username != "" {
					t.Errorf("call %d: client key with Username %q", i, k.Username)
				}
			}
			if got, want := lim.allows.Load(), int64(len(tc.calls)/2); got != want {
				t.Errorf("Allow calls = %d, want %d", got, want)
			}
		})
	}
}

// TestClientSecretDigestIsKeyed checks that a client attempt's Secret is
// the same keyed digest a login would get for the same string, and not the
// secret itself.
func TestClientSecretDigestIsKeyed(t *testing.T) {
	t.Parallel()
	var lim fakeLimiter
	e := newEnv(t, func(e *env, c *Config) { c.Limiter = &lim })
	s := rand.Text()
	r := newPost(login(e.bob.Username, s).Encode())
	r.Header.Set("Authorization", basic("nope", s))
	do(e.h, r)
	post(e.h, login(e.bob.Username, s))
	keys := lim.recorded()
	if len(keys) != 4 {
		t.Fatalf("limiter calls = %d, want 4", len(keys))
	}
	if keys[0].Secret != keys[2].Secret || keys[0].Secret == [16]byte{} {
		t.Errorf("client Secret %x, login Secret %x: want the same digest", keys[0].Secret, keys[2].Secret)
	}
	if bytes.Contains(keys[0].Secret[:], []byte(s[:8])) {
		t.Errorf("Secret holds the secret")
	}
}

// TestDefaultClientID checks a configured default client id: tokens of
// requests naming no client carry it, a request may name it as a public
// client, and it may be the id of a configured public client.
func TestDefaultClientID(t *testing.T) {
	t.Parallel()
	clientOf := func(t *testing.T, e *env, w *httptest.ResponseRecorder) string {
		t.Helper()
		c, err := e.tokens.Verify(context.Background(), decodeSuccess(t, w).AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		return c.ClientID
	}
	for _, withClient := range []bool{false, true} {
		e := newEnv(t, func(e *env, c *Config) {
			c.DefaultClientID = "my spa"
			if withClient {
				c.Clients = []Client{{ID: "my spa"}}
			}
		})
		if got := clientOf(t, e, post(e.h, login(e.bob.Username, e.bob.password))); got != "my spa" {
			t.Errorf("no client named: client_id = %q, want %q", got, "my spa")
		}
		if got := clientOf(t, e, post(e.h, login(e.bob.Username, e.bob.password, "client_id", "my spa"))); got != "my spa" {
			t.Errorf("client_id=my spa: client_id = %q, want %q", got, "my spa")
		}
		r := newPost(login(e.bob.Username, e.bob.password).Encode())
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("my+spa:")))
		if got := clientOf(t, e, do(e.h, r)); got != "my spa" {
			t.Errorf("Basic my+spa: client_id = %q, want %q", got, "my spa")
		}
		if w := post(e.h, login(e.bob.Username, e.bob.password, "client_id", defaultClientID)); w.Code != http.StatusUnauthorized {
			t.Errorf("client_id=%s beside another default: status = %d, want 401", defaultClientID, w.Code)
		}
	}
}
