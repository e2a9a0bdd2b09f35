package jwtauth_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/memory"
)

// exampleJWT returns an issuer and verifier with a fresh Ed25519 key.
func exampleJWT() *jwtauth.JWT {
	key, err := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err != nil {
		log.Fatal(err)
	}
	keys, err := jwtauth.NewKeySet(key)
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := jwtauth.New(jwtauth.Config{
		Keys:     keys,
		Issuer:   "https://auth.example.com",
		Audience: []string{"https://api.example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	return tokens
}

// ExampleMiddleware mounts the Bearer middleware on an [http.ServeMux] and
// calls the protected route without a token, with a bad one and with one
// the JWT issued.
func ExampleMiddleware() {
	tokens := exampleJWT()

	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := jwtauth.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "hello %s, roles %v", p.Subject, p.Roles)
	})
	bearer := jwtauth.Middleware(tokens) // realm "api"; WithRealm changes it
	mux := http.NewServeMux()
	mux.Handle("GET /api/me", bearer(me))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tok, err := tokens.Issue(context.Background(), jwtauth.Claims{ClientID: "web-app", Subject: "alice", Roles: []string{"admin"}})
	if err != nil {
		log.Fatal(err)
	}
	for _, auth := range []string{"", "Bearer not-a-token", "Bearer " + tok.Raw} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/me", nil)
		if err != nil {
			log.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(strings.TrimSpace(fmt.Sprint(resp.StatusCode, " ", resp.Header.Get("WWW-Authenticate"))))
		fmt.Println(strings.TrimSpace(string(body)))
	}
	// Output:
	// 401 Bearer realm="api"
	// {"error_description":"Authentication required"}
	// 401 Bearer realm="api", error="invalid_token", error_description="The access token is invalid"
	// {"error":"invalid_token","error_description":"The access token is invalid"}
	// 200
	// hello alice, roles [admin]
}

// ExamplePrincipalFrom reads the caller in a handler behind
// [jwtauth.OptionalMiddleware], which lets anonymous requests through with
// no principal but still refuses bad tokens.
func ExamplePrincipalFrom() {
	tokens := exampleJWT()

	greet := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := jwtauth.PrincipalFrom(r.Context())
		switch {
		case !ok:
			fmt.Fprintln(w, "hello, stranger")
		case p.HasRole("admin"):
			fmt.Fprintf(w, "hello %s, administrator\n", p.Subject)
		default:
			fmt.Fprintf(w, "hello %s\n", p.Subject)
		}
	})
	h := jwtauth.OptionalMiddleware(tokens)(greet)

	admin, err := tokens.Issue(context.Background(), jwtauth.Claims{ClientID: "web-app", Subject: "alice", Roles: []string{"admin"}})
	if err != nil {
		log.Fatal(err)
	}
	for _, auth := range []string{"", "Bearer " + admin.Raw, "Bearer " + admin.Raw + "x"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body)
	}
	// Output:
	// 200 hello, stranger
	// 200 hello alice, administrator
	// 401 {"error":"invalid_token","error_description":"The access token is invalid"}
}

// ExampleWithUsers loads the token's user from a store on each request, so
// that signing the user out everywhere takes effect at once.
func ExampleWithUsers() {
	ctx := context.Background()
	tokens := exampleJWT()
	users := memory.New()
	alice, err := users.CreateUser(ctx, &userstore.User{
		Username:     "alice@example.com",
		Name:         "Alice",
		PasswordHash: "(an encoded hash)",
		Roles:        []string{"admin"},
	})
	if err != nil {
		log.Fatal(err)
	}

	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := jwtauth.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "hello %s, roles %v\n", p.User.Name, p.Roles)
	})
	// The user cache is turned off here so that the revocation below shows
	// at once; by default a lookup is reused for up to a second.
	h := jwtauth.Middleware(tokens, jwtauth.WithUsers(users), jwtauth.WithUserCache(0, 0))(me)

	// A token Alice got a minute ago.
	tok, err := tokens.Issue(ctx, jwtauth.Claims{ClientID: "web-app", Subject: alice.ID, IssuedAt: time.Now().Add(-time.Minute)})
	if err != nil {
		log.Fatal(err)
	}
	get := func() {
		r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
		r.Header.Set("Authorization", "Bearer "+tok.Raw)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body)
	}
	get()
	if err := users.RevokeTokens(ctx, alice.ID); err != nil { // sign out everywhere
		log.Fatal(err)
	}
	get()
	// Output:
	// 200 hello Alice, roles [admin]
	// 401 {"error":"invalid_token","error_description":"The access token is no longer valid"}
}
