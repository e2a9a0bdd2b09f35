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
