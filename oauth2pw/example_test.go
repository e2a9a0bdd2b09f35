package oauth2pw_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/oauth2pw"
	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/memory"
)

// ExampleNewHandler mounts the token endpoint on a ServeMux and logs a
// user in.
func ExampleNewHandler() {
	hasher, err := userstore.NewHasher(userstore.HasherConfig{}) // argon2id, OWASP parameters
	if err != nil {
		log.Fatal(err)
	}
	store := memory.New()
	password := rand.Text()
	hash, err := hasher.Hash(password)
	if err != nil {
		log.Fatal(err)
	}
	_, err = store.CreateUser(context.Background(), &userstore.User{
		Username: "alice@example.com", PasswordHash: hash, Roles: []string{"admin"},
	})
	if err != nil {
		log.Fatal(err)
	}
	key, err := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err != nil {
		log.Fatal(err)
	}
	keys, err := jwtauth.NewKeySet(key)
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := jwtauth.New(jwtauth.Config{
		Keys: keys, Issuer: "https://auth.example.com", Audience: []string{"https://api.example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}

	token, err := oauth2pw.NewHandler(oauth2pw.Config{Users: store, Hasher: hasher, Tokens: tokens})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/token", token)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, pw := range []string{password, "not the password"} {
		resp, err := http.PostForm(srv.URL+"/token", url.Values{
			"grant_type": {"password"}, "username": {"alice@example.com"}, "password": {pw}, "scope": {"admin"},
		})
		if err != nil {
			log.Fatal(err)
		}
		var body struct {
			TokenType string `json:"token_type"`
			Scope     string `json:"scope"`
			Error     string `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		cache := resp.Header.Get("Cache-Control")
		if body.Error != "" {
			fmt.Printf("%d error=%s Cache-Control=%s\n", resp.StatusCode, body.Error, cache)
		} else {
			fmt.Printf("%d token_type=%s scope=%s Cache-Control=%s\n", resp.StatusCode, body.TokenType, body.Scope, cache)
		}
	}
	// Output:
	// 200 token_type=Bearer scope=admin Cache-Control=no-store
	// 400 error=invalid_grant Cache-Control=no-store
}

// ExampleConfig_claims adds a "role" and a "tenant" claim to every token
// from the stored user, and reads them back from the verified token.
func ExampleConfig_claims() {
	hasher, err := userstore.NewHasher(userstore.HasherConfig{})
	if err != nil {
		log.Fatal(err)
	}
	store := memory.New()
	password := rand.Text()
	hash, err := hasher.Hash(password)
	if err != nil {
		log.Fatal(err)
	}
	alice, err := store.CreateUser(context.Background(), &userstore.User{
		Username: "alice@example.com", PasswordHash: hash, Roles: []string{"admin", "user"},
	})
	if err != nil {
		log.Fatal(err)
	}
	tenantOf := map[string]string{alice.ID: "acme"} // the application's own table
	key, err := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err != nil {
		log.Fatal(err)
	}
	keys, err := jwtauth.NewKeySet(key)
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := jwtauth.New(jwtauth.Config{
		Keys: keys, Issuer: "https://auth.example.com", Audience: []string{"https://api.example.com"},
		TTL: 15 * time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}

	token, err := oauth2pw.NewHandler(oauth2pw.Config{
		Users: store, Hasher: hasher, Tokens: tokens,
		Claims: func(ctx context.Context, u *userstore.User, c *jwtauth.Claims) error {
			if len(u.Roles) > 0 {
				if err := jwtauth.SetClaim(c, "role", u.Roles[0]); err != nil {
					return err
				}
			}
			return jwtauth.SetClaim(c, "tenant", tenantOf[u.ID])
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(token)
	defer srv.Close()

	resp, err := http.PostForm(srv.URL, url.Values{
		"grant_type": {"password"}, "username": {"alice@example.com"}, "password": {password},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		log.Fatal(err)
	}
	claims, err := tokens.Verify(context.Background(), body.AccessToken)
	if err != nil {
		log.Fatal(err)
	}
	role, _, err := jwtauth.ClaimAs[string](claims, "role")
	if err != nil {
		log.Fatal(err)
	}
	tenant, _, err := jwtauth.ClaimAs[string](claims, "tenant")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d expires_in=%d role=%s tenant=%s\n", resp.StatusCode, body.ExpiresIn, role, tenant)
	// Output:
	// 200 expires_in=900 role=admin tenant=acme
}
