package oauth2pw

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/netip"
	"net/url"
	"testing"
	"time"
)

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

func TestClientAuthentication(t *testing.T) {
	t.Parallel()
	secret := rand.Text()
	const webID, appID = "web", "mobile app/2" // appID needs form-encoding in Basic
	mk := func(require bool) *env {
		return newEnv(t, func(e *env, c *Config) {
			c.Clients = []Client{{ID: webID}, {ID: appID, Secret: secret}}
			if require {
				c.Clients[1].Scopes = []string{"user"}
			}
			c.RequireClient = require
			c.Realm = "authkit"
		})
	}
	optional, required := mk(false), mk(true)
	const challenge = `Basic realm="authkit", charset="UTF-8"`

	tests := []struct {
		name       string
		e          *env
		form       []string // extra form parameters
		authz      []string // Authorization headers
		status     int
		code       string
		wantClient string
	}{
		{"no client, optional", optional, nil, nil, 200, "", defaultClientID},
		{"empty Basic, optional", optional, nil, []string{"Basic Og=="}, 200, "", defaultClientID},
		{"empty Basic, required", required, nil, []string{"Basic Og=="}, 401, CodeInvalidClient, ""},
		{"default client by client_id, optional", optional, []string{"client_id", defaultClientID}, nil, 200, "", defaultClientID},
		{"default client by client_id, required", required, []string{"client_id", defaultClientID}, nil, 401, CodeInvalidClient, ""},
		{"no client, required", required, nil, nil, 401, CodeInvalidClient, ""},
		{"public client by client_id", required, []string{"client_id", webID}, nil, 200, "", webID},
		{"public client by Basic, empty secret", required, nil, []string{basic(webID, "")}, 200, "", webID},
		{"public client, empty client_secret", required, []string{"client_id", webID, "client_secret", ""}, nil, 200, "", webID},
		{"public client sending a secret", required, []string{"client_id", webID, "client_secret", secret}, nil, 401, CodeInvalidClient, ""},
		{"confidential client by Basic", required, nil, []string{basic(appID, secret)}, 200, "", appID},
		{"confidential client by Basic, lower-case scheme", required, nil, []string{"basic " + basic(appID, secret)[6:]}, 200, "", appID},
		{"confidential client by form", required, []string{"client_id", appID, "client_secret", secret}, nil, 200, "", appID},
		{"confidential client without secret", required, []string{"client_id", appID}, nil, 401, CodeInvalidClient, ""},
		{"confidential client, bad secret by Basic", required, nil, []string{basic(appID, secret+"x")}, 401, CodeInvalidClient, ""},
		{"confidential client, bad secret by form", optional, []string{"client_id", appID, "client_secret", "x" + secret}, nil, 401, CodeInvalidClient, ""},
		{"unknown client", optional, []string{"client_id", "nope"}, nil, 401, CodeInvalidClient, ""},
		{"unknown client by Basic", optional, nil, []string{basic("nope", secret)}, 401, CodeInvalidClient, ""},
		{"secret without client_id", optional, []string{"client_secret", secret}, nil, 401, CodeInvalidClient, ""},
		{"Basic and form secret", required, []string{"client_secret", secret}, []string{basic(appID, secret)}, 400, CodeInvalidRequest, ""},
		{"Basic and form client_id", required, []string{"client_id", appID}, []string{basic(appID, secret)}, 400, CodeInvalidRequest, ""},
		{"two Authorization headers", required, nil, []string{basic(appID, secret), basic(appID, secret)}, 400, CodeInvalidRequest, ""},
		{"Bearer instead of Basic", required, nil, []string{"Bearer abc"}, 401, CodeInvalidClient, ""},
		{"Basic not base64", required, nil, []string{"Basic !!!"}, 401, CodeInvalidClient, ""},
		{"Basic without colon", required, nil, []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(appID))}, 401, CodeInvalidClient, ""},
		{"Basic with bad escape", required, nil, []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("a%zz:b"))}, 401, CodeInvalidClient, ""},
		{"Basic not form-encoded (raw space)", required, nil, []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("mobile app/2:"+secret))}, 200, "", appID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := tc.e
			r := newPost(login(e.bob.Username, e.bob.password, tc.form...).Encode())
			for _, a := range tc.authz {
				r.Header.Add("Authorization", a)
			}
			w := do(e.h, r)
			if w.Code != tc.status {
				t.Fatalf("POST /token: status = %d, want %d; body %s", w.Code, tc.status, w.Body)
			}
			if tc.status != 200 {
				want := headerWant{}
				if tc.status == 401 {
					want["WWW-Authenticate"] = challenge
				}
				checkHeaders(t, w, want)
				if got := decodeError(t, w).Error; got != tc.code {
					t.Errorf("error = %q, want %q", got, tc.code)
				}
				return
			}
			b := decodeSuccess(t, w)
			c, err := e.tokens.Verify(context.Background(), b.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if c.ClientID != tc.wantClient {
				t.Errorf("client_id claim = %q, want %q", c.ClientID, tc.wantClient)
			}
		})
	}
}

// TestClientScopes checks that a client's Scopes narrow what a user may
// have.
func TestClientScopes(t *testing.T) {
	t.Parallel()
	secret := rand.Text()
	e := newEnv(t, func(e *env, c *Config) {
		c.Clients = []Client{{ID: "app", Secret: secret, Scopes: []string{"user"}}}
		c.RequireClient = true
		c.DefaultScopes = []string{"admin", "user"}
	})
	r := newPost(login(e.alice.Username, e.alice.password, "scope", "admin").Encode())
	r.Header.Set("Authorization", basic("app", secret))
	if w := do(e.h, r); w.Code != 400 || decodeError(t, w).Error != CodeInvalidScope {
		t.Errorf("admin scope through a user-only client: %d %s, want 400 invalid_scope", w.Code, w.Body)
	}
	r = newPost(login(e.alice.Username, e.alice.password).Encode())
	r.Header.Set("Authorization", basic("app", secret))
	if b := decodeSuccess(t, do(e.h, r)); b.Scope != "user" {
		t.Errorf("defaults through a user-only client: scope = %q, want user", b.Scope)
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string // "" for the zero Addr
	}{
		{"IPv4 connection", "198.51.100.7:1234", nil, nil, "198.51.100.7"},
		{"IPv6 connection", "[2001:db8::1]:1234", nil, nil, "2001:db8::1"},
		{"IPv4-mapped IPv6", "[::ffff:198.51.100.7]:1234", nil, nil, "198.51.100.7"},
		{"zone dropped", "[fe80::1%eth0]:1234", nil, nil, "fe80::1"},
		{"no port", "198.51.100.7", nil, nil, "198.51.100.7"},
		{"unix socket", "@", nil, nil, ""},
		{"XFF ignored without trusted proxies", "198.51.100.7:1", []string{"203.0.113.9"}, nil, "198.51.100.7"},
		{"XFF ignored from an untrusted peer", "198.51.100.7:1", []string{"203.0.113.9"}, trusted, "198.51.100.7"},
		{"trusted proxy, one hop", "10.1.1.1:1", []string{"203.0.113.9"}, trusted, "203.0.113.9"},
		{"right-most untrusted wins", "10.1.1.1:1", []string{"1.1.1.1, 203.0.113.9, 10.2.2.2"}, trusted, "203.0.113.9"},
		{"several headers", "10.1.1.1:1", []string{"1.1.1.1", "203.0.113.9", "10.2.2.2"}, trusted, "203.0.113.9"},
		{"entry with port", "10.1.1.1:1", []string{"203.0.113.9:5555"}, trusted, "203.0.113.9"},
		{"IPv6 proxy", "[fd00::1]:1", []string{"2001:db8::9"}, trusted, "2001:db8::9"},
		{"garbage stops at the last trusted hop", "10.1.1.1:1", []string{"203.0.113.9, garbage, 10.2.2.2"}, trusted, "10.2.2.2"},
		{"all trusted", "10.1.1.1:1", []string{"10.3.3.3, 10.2.2.2"}, trusted, "10.3.3.3"},
		{"no XFF from a trusted proxy", "10.1.1.1:1", nil, trusted, "10.1.1.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newPost("")
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got := clientIP(r, tc.trusted)
			want := netip.Addr{}
			if tc.want != "" {
				want = netip.MustParseAddr(tc.want)
			}
			if got != want {
				t.Errorf("clientIP(%q, XFF %q) = %v, want %v", tc.remote, tc.xff, got, want)
			}
		})
	}
}

// TestTrustedProxyKeysThrottle checks end to end that the forwarded
// address, not the proxy's, is what the limiter sees.
func TestTrustedProxyKeysThrottle(t *testing.T) {
	t.Parallel()
	var seen []netip.Addr
	lim := &fakeLimiter{allow: func(k ThrottleKey) (time.Duration, bool) {
		seen = append(seen, k.IP)
		return 0, true
	}}
	e := newEnv(t, func(e *env, c *Config) {
		c.Limiter = lim
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	})
	r := newPost(login(e.bob.Username, e.bob.password).Encode())
	r.Header.Set("X-Forwarded-For", "203.0.113.50")
	decodeSuccess(t, do(e.h, r))
	if len(seen) != 1 || seen[0] != netip.MustParseAddr("203.0.113.50") {
		t.Errorf("limiter saw %v, want [203.0.113.50]", seen)
	}
	if lim.successes.Load() != 1 {
		t.Errorf("limiter successes = %d, want 1", lim.successes.Load())
	}
}
