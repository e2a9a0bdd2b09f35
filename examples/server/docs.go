package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/oauth2pw/openapi"
	"github.com/authkit-go/authkit/oauth2pw/openapi/swaggerui"
)

// Where the docs are served.
const (
	openAPIPath = "/openapi.json"
	docsPrefix  = "/docs"
)

// tokenScheme describes the token endpoint as the app mounts it: the
// password grant at /token, no refresh grant, and the scopes the demo
// users' roles grant (each role grants the scope of the same name).
func tokenScheme() openapi.Scheme {
	return openapi.Scheme{
		TokenURL: "/token",
		Scopes: map[string]string{
			"admin": "Granted to users with the role admin",
			"user":  "Granted to users with the role user",
		},
	}
}

// jsonSchema returns s, a JSON Schema written in this file.
func jsonSchema(s string) json.RawMessage { return json.RawMessage(s) }

// apiDocument returns the app's whole API as an OpenAPI 3.1 document:
// every route that routes and mountDocs serve, with its schemas and its
// error answers.
func apiDocument() ([]byte, error) {
	s := tokenScheme()
	user := jsonSchema(`{"type":"object","required":["id","name","email","role","roles"],"properties":{` +
		`"id":{"type":"string","example":"1"},` +
		`"name":{"type":"string","example":"Alice"},` +
		`"email":{"type":"string","example":"alice@example.com"},` +
		`"role":{"type":"string","description":"The first of roles, or empty","example":"admin"},` +
		`"roles":{"type":"array","items":{"type":"string"},"example":["admin"]}}}`)
	protected := jsonSchema(`{"type":"object","required":["message","your_role","roles"],"properties":{` +
		`"message":{"type":"string","example":"Hello Alice!"},` +
		`"your_role":{"type":"string","description":"The first of roles, or empty","example":"admin"},` +
		`"roles":{"type":"array","items":{"type":"string"},"example":["admin"]}}}`)
	users := jsonSchema(`{"type":"object","required":["users"],"properties":{"users":{"type":"array","items":{` +
		`"type":"object","required":["id","name","role","roles"],"properties":{` +
		`"id":{"type":"string"},"name":{"type":"string"},"role":{"type":"string"},` +
		`"roles":{"type":"array","items":{"type":"string"}}}}}}}`)
	jwks := jsonSchema(`{"type":"object","required":["keys"],"description":"A JWK Set (RFC 7517 §5) of public keys",` +
		`"properties":{"keys":{"type":"array","items":{"type":"object","required":["kty","kid"],` +
		`"properties":{"kty":{"type":"string"},"kid":{"type":"string"},"alg":{"type":"string"},"use":{"type":"string"}}}}}}`)
	noStore := []openapi.Header{{Name: "Cache-Control", Description: "Always no-store.", Required: true}}
	serverError := openapi.Response{
		Status:      http.StatusInternalServerError,
		Description: "The user store failed (server_error).",
		Body:        &openapi.Body{Schema: openapi.ErrorSchema(), Example: jsonSchema(`{"error":"server_error","error_description":"The server could not complete the request"}`)},
	}

	doc := openapi.Document{
		Title:   "authkit example API",
		Version: "1",
		Description: "The API of `examples/server`: log in with the OAuth 2.0 password grant at `POST /token`, " +
			"then call the `/api/` routes with `Authorization: Bearer <token>`. Click **Authorize**, " +
			"enter a username and password, and leave the client fields blank.\n\n" +
			"Every error is JSON `{\"error\", \"error_description\"}` with the RFC 6749 and RFC 6750 codes.",
		Scheme: s,
		Operations: []openapi.Operation{
			openapi.TokenEndpoint("/token", s),
			{
				Method: http.MethodGet, Path: "/api/me", ID: "me", Tags: []string{"api"},
				Summary:     "The caller",
				Description: "The user the access token belongs to, loaded from the store on each request.",
				Responses: []openapi.Response{
					{Status: http.StatusOK, Description: "The caller.", Headers: noStore, Body: &openapi.Body{Schema: user}},
				},
			},
			{
				Method: http.MethodGet, Path: "/api/protected", ID: "protected", Tags: []string{"api"},
				Summary: "A greeting for any valid token",
				Responses: []openapi.Response{
					{Status: http.StatusOK, Description: "A greeting.", Headers: noStore, Body: &openapi.Body{Schema: protected}},
				},
			},
			{
				Method: http.MethodGet, Path: "/api/admin/users", ID: "listUsers", Tags: []string{"admin"},
				Summary: "Every user",
				AnyRole: []string{"admin"},
				Responses: []openapi.Response{
					{Status: http.StatusOK, Description: "Every user.", Headers: noStore, Body: &openapi.Body{Schema: users}},
					serverError,
				},
			},
			{
				Method: http.MethodGet, Path: "/.well-known/jwks.json", ID: "jwks", Tags: []string{"auth"},
				Summary: "The public keys that verify access tokens",
				Public:  true,
				Responses: []openapi.Response{
					{Status: http.StatusOK, Description: "The JWK Set.", Body: &openapi.Body{ContentType: "application/jwk-set+json", Schema: jwks}},
				},
			},
			{
				Method: http.MethodGet, Path: "/healthz", ID: "healthz", Tags: []string{"ops"},
				Summary:     "Liveness",
				Description: "Answers ok without authentication: the baseline for measuring what authentication costs.",
				Public:      true,
				Responses: []openapi.Response{
					{Status: http.StatusOK, Description: "The server is up.", Body: &openapi.Body{ContentType: "text/plain", Schema: jsonSchema(`{"type":"string","example":"ok\n"}`)}},
				},
			},
			{
				Method: http.MethodGet, Path: openAPIPath, ID: "openapi", Tags: []string{"docs"},
				Summary: "This document",
				Public:  true,
				Responses: []openapi.Response{
					{Status: http.StatusOK, Description: "The OpenAPI 3.1 document of this API.", Body: &openapi.Body{Schema: jsonSchema(`{"type":"object"}`)}},
				},
			},
			{
				Method: http.MethodGet, Path: docsPrefix + "/", ID: "docs", Tags: []string{"docs"},
				Summary: "Swagger UI for this document",
				Public:  true,
				Responses: []openapi.Response{
					{Status: http.StatusOK, Description: "The Swagger UI page; its files are below it.", Body: &openapi.Body{ContentType: "text/html", Schema: jsonSchema(`{"type":"string"}`)}},
				},
			},
		},
	}
	return openapi.Build(doc)
}

// mountDocs adds GET /openapi.json, the app's API as an OpenAPI 3.1
// document, and GET /docs/, Swagger UI for it, served offline, to mux.
// Should either fail to build, which only a broken document in this file
// can cause, both routes answer 500 and the cause is logged.
func (a *app) mountDocs(mux *http.ServeMux) {
	spec, err := apiDocument()
	var docs http.Handler
	if err == nil {
		docs, err = swaggerui.New(swaggerui.Config{SpecURL: openAPIPath, Title: "authkit example API"})
	}
	if err != nil {
		a.log.Error("API docs", "err", err)
		broken := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			jwtauth.WriteError(w, http.StatusInternalServerError, "server_error", "The server could not complete the request")
		})
		mux.Handle("GET "+openAPIPath, broken)
		mux.Handle("GET "+docsPrefix+"/", broken)
		return
	}
	sum := sha256.Sum256(spec)
	tag := `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	mux.HandleFunc("GET "+openAPIPath, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", tag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(spec))
	})
	mux.Handle("GET "+docsPrefix+"/", http.StripPrefix(docsPrefix, docs))
	mux.HandleFunc(openAPIPath, methodNotAllowed)
	mux.HandleFunc(docsPrefix+"/", methodNotAllowed)
}
