package oauth2pw_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
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

// TestInteropXOAuth2Refresh checks that golang.org/x/oauth2's TokenSource
// refreshes by itself against the real endpoint once the access token
// is past its lifetime: the tokens live 5 seconds, under the 10 seconds
// ahead of expiry at which the TokenSource refreshes, so that every
// Token call refreshes without the test waiting.
func TestInteropXOAuth2Refresh(t *testing.T) {
	t.Parallel()
	hasher, tokens := interopParts(t, 5*time.Second)
	password := rand.Text()
	hash, err := hasher.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	users := memory.New()
	if _, err := users.CreateUser(context.Background(), &userstore.User{Username: "alice@example.com", PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	sessions := memory.NewSessions(nil)
	h, err := oauth2pw.NewHandler(oauth2pw.Config{Users: users, Hasher: hasher, Tokens: tokens, Refresh: oauth2pw.RefreshConfig{Store: sessions}})
	if err != nil {
		t.Fatal(err)
	}
	var refreshes atomic.Int64
	mux := http.NewServeMux()
	mux.Handle("POST /token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "grant_type=refresh_token") {
			refreshes.Add(1)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, r)
	}))
	mux.Handle("GET /api/me", jwtauth.Middleware(tokens, jwtauth.WithDenylist(sessions))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, srv.Client())
	conf := oauth2.Config{Endpoint: oauth2.Endpoint{TokenURL: srv.URL + "/token", AuthStyle: oauth2.AuthStyleInParams}}
	tok, err := conf.PasswordCredentialsToken(ctx, "alice@example.com", password)
	if err != nil {
		t.Fatalf("PasswordCredentialsToken: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("PasswordCredentialsToken: no refresh token")
	}
	ts := conf.TokenSource(ctx, tok)
	client := oauth2.NewClient(ctx, ts)
	seen := map[string]bool{tok.RefreshToken: true}
	for i := range 3 {
		resp, err := client.Get(srv.URL + "/api/me")
		if err != nil {
			t.Fatalf("GET /api/me %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("GET /api/me %d: status = %d, want 204", i, resp.StatusCode)
		}
		cur, err := ts.Token()
		if err != nil {
			t.Fatalf("Token %d: %v", i, err)
		}
		if seen[cur.RefreshToken] {
			t.Errorf("Token %d: the refresh token was not rotated", i)
		}
		seen[cur.RefreshToken] = true
	}
	if got := refreshes.Load(); got < 3 {
		t.Errorf("refresh requests = %d, want at least 3", got)
	}

	// An unknown refresh token fails as x/oauth2 reports it.
	_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rand.Text()}).Token()
	re, ok := errors.AsType[*oauth2.RetrieveError](err)
	if !ok || re.ErrorCode != oauth2pw.CodeInvalidGrant {
		t.Errorf("Token with an unknown refresh token: err = %v, want RetrieveError invalid_grant", err)
	}
}
