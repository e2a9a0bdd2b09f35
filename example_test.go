package authkit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/oauth2pw"
	"github.com/authkit-go/authkit/rbac"
	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/memory"
)

// Example builds the whole login flow: a user store, the default argon2id
// hasher, a signing key, the token endpoint, the Bearer middleware and a role
// check. It logs in as a user without the admin role, calls a protected route
// and is refused the admin one.
func Example() {
	ctx := context.Background()
	password := rand.Text() // in real life, what the user chose

	// Users and password hashing. The zero Hasher hashes with argon2id at
	// its default parameters, at most GOMAXPROCS hashes at once.
	users := memory.New()
	hasher := new(userstore.Hasher)
	hash, _ := hasher.Hash(password)
	users.CreateUser(ctx, &userstore.User{Username: "bob@example.com", Name: "Bob", PasswordHash: hash, Roles: []string{"user"}})

	// Signing keys, and the tokens they sign and verify.
	key, _ := jwtauth.GenerateKey(jwtauth.EdDSA)
	keys, _ := jwtauth.NewKeySet(key)
	tokens, _ := jwtauth.New(jwtauth.Config{Keys: keys, Issuer: "https://auth.example.com", Audience: []string{"api"}})

	// The routes.
	login, _ := oauth2pw.NewHandler(oauth2pw.Config{Users: users, Hasher: hasher, Tokens: tokens})
	bearer := jwtauth.Middleware(tokens, jwtauth.WithUsers(users))
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := jwtauth.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "Hello %s!", p.User.Name)
	})
	mux := http.NewServeMux()
	mux.Handle("/token", login)
	mux.Handle("GET /api/protected", bearer(hello))
	mux.Handle("GET /api/admin/users", bearer(rbac.Require("admin")(hello)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// A client logs in and calls the API.
	res, _ := http.PostForm(srv.URL+"/token", url.Values{
		"grant_type": {"password"}, "username": {"Bob@Example.com"}, "password": {password},
	})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	fmt.Println("POST /token:", res.Status)
	for _, path := range []string{"/api/protected", "/api/admin/users"} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		res, _ := http.DefaultClient.Do(req)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Printf("GET %s: %s %s\n", path, res.Status, bytes.TrimSpace(body))
	}
	// Output:
	// POST /token: 200 OK
	// GET /api/protected: 200 OK Hello Bob!
	// GET /api/admin/users: 403 Forbidden {"error":"insufficient_scope","error_description":"The access token lacks a required role"}
}
