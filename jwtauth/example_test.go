package jwtauth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
)

// ExampleNew issues an access token and verifies it.
func ExampleNew() {
	key, err := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err != nil {
		panic(err)
	}
	keys, err := jwtauth.NewKeySet(key)
	if err != nil {
		panic(err)
	}
	tokens, err := jwtauth.New(jwtauth.Config{
		Keys:     keys,
		Issuer:   "https://auth.example.com",
		Audience: []string{"https://api.example.com"},
		TTL:      15 * time.Minute,
	})
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	claims := jwtauth.Claims{ClientID: "web-app", Subject: "user-42", Roles: []string{"admin"}, Scope: []string{"read", "write"}}
	if err := jwtauth.SetClaim(&claims, "tenant", "acme"); err != nil {
		panic(err)
	}
	tok, err := tokens.Issue(ctx, claims)
	if err != nil {
		panic(err)
	}

	got, err := tokens.Verify(ctx, tok.Raw)
	if err != nil {
		panic(err)
	}
	tenant, _, _ := jwtauth.ClaimAs[string](got, "tenant")
	fmt.Println("subject:", got.Subject)
	fmt.Println("roles:", got.Roles)
	fmt.Println("can write:", got.HasScope("write"))
	fmt.Println("tenant:", tenant)
	fmt.Println("lifetime:", got.ExpiresAt.Sub(got.IssuedAt))

	// One changed character in the signature and the token is refused.
	i := len(tok.Raw) - 10
	swap := "A"
	if tok.Raw[i] == 'A' {
		swap = "B"
	}
	_, err = tokens.Verify(ctx, tok.Raw[:i]+swap+tok.Raw[i+1:])
	fmt.Println("tampered:", errors.Is(err, jwtauth.ErrTokenInvalid))
	// Output:
	// subject: user-42
	// roles: [admin]
	// can write: true
	// tenant: acme
	// lifetime: 15m0s
	// tampered: true
}

// ExampleKeySet_Rotate rotates the signing key: tokens of the retired key
// stay valid until it is removed.
func ExampleKeySet_Rotate() {
	ctx := context.Background()
	first, _ := jwtauth.GenerateKey(jwtauth.ES256)
	keys, _ := jwtauth.NewKeySet(first)
	tokens, _ := jwtauth.New(jwtauth.Config{Keys: keys, Issuer: "https://auth.example.com", Audience: []string{"api"}})

	old, _ := tokens.Issue(ctx, jwtauth.Claims{ClientID: "web-app", Subject: "alice"})

	second, _ := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err := keys.Rotate(second); err != nil {
		panic(err)
	}
	fresh, _ := tokens.Issue(ctx, jwtauth.Claims{ClientID: "web-app", Subject: "bob"})

	_, err := tokens.Verify(ctx, old.Raw)
	fmt.Println("old token after Rotate:", err == nil)
	_, err = tokens.Verify(ctx, fresh.Raw)
	fmt.Println("new token:", err == nil)

	// Once the old tokens have expired (or to revoke them at once):
	if err := keys.Remove(first.ID()); err != nil {
		panic(err)
	}
	_, err = tokens.Verify(ctx, old.Raw)
	fmt.Println("old token after Remove:", errors.Is(err, jwtauth.ErrTokenInvalid))
	// Output:
	// old token after Rotate: true
	// new token: true
	// old token after Remove: true
}

// ExampleKeySet_JWKSHandler publishes the public keys, and a resource server
// verifies tokens with them through a RemoteVerifier.
func ExampleKeySet_JWKSHandler() {
	key, _ := jwtauth.GenerateKey(jwtauth.EdDSA)
	hmacKey, _ := jwtauth.GenerateKey(jwtauth.HS256) // never published
	keys, _ := jwtauth.NewKeySet(key, hmacKey)
	tokens, _ := jwtauth.New(jwtauth.Config{Keys: keys, Issuer: "https://auth.example.com", Audience: []string{"api"}})

	mux := http.NewServeMux()
	mux.Handle("GET /.well-known/jwks.json", keys.JWKSHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/.well-known/jwks.json")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
	fmt.Println("publishes the signing key:", strings.Contains(string(body), key.ID()))
	fmt.Println("publishes the HMAC key:", strings.Contains(string(body), hmacKey.ID()))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // bounds the first fetch only
	remote, err := jwtauth.NewRemoteVerifier(ctx, jwtauth.RemoteConfig{
		JWKSURL:  srv.URL + "/.well-known/jwks.json",
		Issuer:   "https://auth.example.com",
		Audience: []string{"api"},
	})
	if err != nil {
		panic(err)
	}
	tok, _ := tokens.Issue(ctx, jwtauth.Claims{ClientID: "web-app", Subject: "alice"})
	c, err := remote.Verify(ctx, tok.Raw)
	fmt.Println("remote verify:", c.Subject, err)
	// Output:
	// 200 OK application/jwk-set+json public, max-age=300
	// publishes the signing key: true
	// publishes the HMAC key: false
	// remote verify: alice <nil>
}
