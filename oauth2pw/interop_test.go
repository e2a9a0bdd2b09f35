package oauth2pw_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/oauth2pw"
	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/memory"
)

// server is the token endpoint over real parts behind a real HTTP server.
type server struct {
	*httptest.Server
	tokens             *jwtauth.JWT
	user               *userstore.User
	password           string
	clientSecret       string
	publicID, secretID string
	requests           atomic.Int64 // requests served
}

// interopParts returns a cheap argon2id hasher and an EdDSA issuer whose
// tokens live ttl (zero: the issuer's default), for the tests that drive
// the endpoint through a real client.
func interopParts(t *testing.T, ttl time.Duration) (*userstore.Hasher, *jwtauth.JWT) {
	t.Helper()
	a, err := userstore.NewInsecureArgon2id(userstore.Argon2idParams{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := userstore.NewHasher(userstore.HasherConfig{Preferred: a})
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwtauth.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := jwtauth.New(jwtauth.Config{Keys: keys, Issuer: "https://issuer.test", Audience: []string{"https://api.test"}, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return hasher, tokens
}

func newServer(t *testing.T, withClients bool) *server {
	t.Helper()
	hasher, tokens := interopParts(t, 0)
	s := &server{tokens: tokens, password: rand.Text(), clientSecret: rand.Text(), publicID: "spa", secretID: "backend"}
	hash, err := hasher.Hash(s.password)
	if err != nil {
		t.Fatal(err)
	}
	store := memory.New()
	s.user, err = store.CreateUser(context.Background(), &userstore.User{Username: "alice@example.com", PasswordHash: hash, Roles: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := oauth2pw.Config{Users: store, Hasher: hasher, Tokens: tokens}
	if withClients {
		cfg.Clients = []oauth2pw.Client{{ID: s.publicID}, {ID: s.secretID, Secret: s.clientSecret}}
	}
	h, err := oauth2pw.NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		h.ServeHTTP(w, r)
	}))
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// TestInteropXOAuth2 drives the endpoint with golang.org/x/oauth2, an
// independent client.
func TestInteropXOAuth2(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		clients     bool
		conf        func(s *server) oauth2.Config
		password    func(s *server) string
		wantCode    string // "" for success
		wantStatus  int
		wantClient  string
		wantScope   string
		scopeConfig []string
	}{
		{name: "no client, auto-detected auth style", conf: func(s *server) oauth2.Config {
			return oauth2.Config{Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/token"}}
		}},
		{name: "with scope", scopeConfig: []string{"admin"}, wantScope: "admin", conf: func(s *server) oauth2.Config {
			return oauth2.Config{Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/token"}}
		}},
		{name: "wrong password", wantCode: "invalid_grant", wantStatus: 400,
			password: func(*server) string { return rand.Text() },
			conf: func(s *server) oauth2.Config {
				return oauth2.Config{Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/token", AuthStyle: oauth2.AuthStyleInParams}}
			}},
		{name: "scope not allowed", scopeConfig: []string{"root"}, wantCode: "invalid_scope", wantStatus: 400, conf: func(s *server) oauth2.Config {
			return oauth2.Config{Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/token", AuthStyle: oauth2.AuthStyleInParams}}
		}},
		{name: "public client in params", clients: true, conf: func(s *server) oauth2.Config {
			return oauth2.Config{ClientID: s.publicID, Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/token", AuthStyle: oauth2.AuthStyleInParams}}
		}, wantClient: "spa"},
		{name: "confidential client in header", clients: true, conf: func(s *server) oauth2.Config {
			return oauth2.Config{ClientID: s.secretID, ClientSecret: s.clientSecret, Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
		}, wantClient: "backend"},
		{name: "confidential client in params", clients: true, conf: func(s *server) oauth2.Config {
			return oauth2.Config{ClientID: s.secretID, ClientSecret: s.clientSecret, Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/token", AuthStyle: oauth2.AuthStyleInParams}}
		}, wantClient: "backend"},
		{name: "public client, auto-detected auth style", clients: true, conf: func(s *server) oauth2.Config {
			return oauth2.Config{ClientID: s.publicID, Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/token"}}
		}, wantClient: "spa"},
		{name: "confidential client, auto-detected auth style", clients: true, conf: func(s *server) oauth2.Config {
			return oauth2.Config{ClientID: s.secretID, ClientSecret: s.clientSecret, Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/token"}}
		}, wantClient: "backend"},
		{name: "no client, header auth style (Basic Og==)", conf: func(s *server) oauth2.Config {
			return oauth2.Config{Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
		}},
		{name: "unknown client without Clients", wantCode: "invalid_client", wantStatus: 401, conf: func(s *server) oauth2.Config {
			return oauth2.Config{ClientID: "nope", ClientSecret: s.clientSecret, Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
		}},
		{name: "confidential client, wrong secret", clients: true, wantCode: "invalid_client", wantStatus: 401, conf: func(s *server) oauth2.Config {
			return oauth2.Config{ClientID: s.secretID, ClientSecret: "x" + s.clientSecret, Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, tc.clients)
			conf := tc.conf(s)
			conf.Scopes = tc.scopeConfig
			pw := s.password
			if tc.password != nil {
				pw = tc.password(s)
			}
			tok, err := conf.PasswordCredentialsToken(context.Background(), "alice@example.com", pw)
			if tc.wantCode != "" {
				re, ok := errors.AsType[*oauth2.RetrieveError](err)
				if !ok {
					t.Fatalf("PasswordCredentialsToken: %v, want a *oauth2.RetrieveError", err)
				}
				if re.ErrorCode != tc.wantCode || re.Response.StatusCode != tc.wantStatus {
					t.Errorf("RetrieveError = %d %q, want %d %q", re.Response.StatusCode, re.ErrorCode, tc.wantStatus, tc.wantCode)
				}
				if got := re.Response.Header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("PasswordCredentialsToken: %v", err)
			}
			if tok.Type() != "Bearer" || !tok.Valid() {
				t.Errorf("token type %q, valid %v; want Bearer, true", tok.Type(), tok.Valid())
			}
			if d := time.Until(tok.Expiry); d < 29*time.Minute || d > 31*time.Minute {
				t.Errorf("token expires in %v, want about 30m", d)
			}
			if got, _ := tok.Extra("scope").(string); got != tc.wantScope {
				t.Errorf("scope = %q, want %q", got, tc.wantScope)
			}
			c, err := s.tokens.Verify(context.Background(), tok.AccessToken)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			wantClient := tc.wantClient
			if wantClient == "" {
				wantClient = "authkit"
			}
			if c.Subject != s.user.ID || c.ClientID != wantClient {
				t.Errorf("sub, client_id = %q, %q; want %q, %q", c.Subject, c.ClientID, s.user.ID, wantClient)
			}
		})
	}
}

// TestInteropTyposThenLogin checks, with the default throttle, that three
// wrong passwords and then the right one log in, for each of
// golang.org/x/oauth2's auth styles: the default, AuthStyleAutoDetect,
// posts each failed login twice (Basic "Og==" first, then the form), and
// the repeat must not count.
func TestInteropTyposThenLogin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		style    oauth2.AuthStyle
		requests int64
	}{
		{"AuthStyleAutoDetect", oauth2.AuthStyleAutoDetect, 3*2 + 1},
		{"AuthStyleInHeader", oauth2.AuthStyleInHeader, 3 + 1},
		{"AuthStyleInParams", oauth2.AuthStyleInParams, 3 + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, false)
			conf := oauth2.Config{Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/token", AuthStyle: tc.style}}
			ctx := context.Background()
			for i := range 3 {
				_, err := conf.PasswordCredentialsToken(ctx, "alice@example.com", s.password+strings.Repeat("x", i+1))
				re, ok := errors.AsType[*oauth2.RetrieveError](err)
				if !ok || re.ErrorCode != "invalid_grant" {
					t.Fatalf("typo %d: PasswordCredentialsToken = %v, want invalid_grant", i+1, err)
				}
			}
			tok, err := conf.PasswordCredentialsToken(ctx, "alice@example.com", s.password)
			if err != nil {
				t.Fatalf("right password after three typos: %v", err)
			}
			if !tok.Valid() {
				t.Errorf("token not valid")
			}
			if got := s.requests.Load(); got != tc.requests {
				t.Errorf("requests = %d, want %d", got, tc.requests)
			}
		})
	}
}

// TestEndToEnd checks the answers through a real HTTP server and client.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	s := newServer(t, false)
	good := url.Values{"grant_type": {"password"}, "username": {"alice@example.com"}, "password": {s.password}}
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
		status      int
		header      string // a header that must be present
		headerValue string
	}{
		{"login", http.MethodPost, "application/x-www-form-urlencoded", good.Encode(), 200, "Content-Type", "application/json"},
		{"GET", http.MethodGet, "", "", 405, "Allow", "POST"},
		{"JSON", http.MethodPost, "application/json", `{"grant_type":"password"}`, 400, "Content-Type", "application/json"},
		{"huge body", http.MethodPost, "application/x-www-form-urlencoded", strings.Repeat("a", 1<<20), 413, "Content-Type", "application/json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(tc.method, s.URL+"/token", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Errorf("%s /token: status = %d, want %d; body %s", tc.method, resp.StatusCode, tc.status, body)
			}
			if got := resp.Header.Get(tc.header); got != tc.headerValue {
				t.Errorf("%s = %q, want %q", tc.header, got, tc.headerValue)
			}
			if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
				t.Errorf("cache headers = %q, %q; want no-store, no-cache", resp.Header.Get("Cache-Control"), resp.Header.Get("Pragma"))
			}
		})
	}
}
