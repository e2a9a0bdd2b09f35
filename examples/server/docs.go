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
// password and refresh_token grants at /token, and the scopes the users'
// roles grant.
func tokenScheme() openapi.Scheme {
	return openapi.Scheme{
		TokenURL:   tokenPath,
		RefreshURL: tokenPath,
		Scopes:     scopes(),
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
	metadataDoc := jsonSchema(`{"type":"object","required":["issuer","token_endpoint","response_types_supported","grant_types_supported","token_endpoint_auth_methods_supported"],` +
		`"description":"RFC 8414 §2 authorization server metadata","properties":{` +
		`"issuer":{"type":"string","format":"uri","example":"http://127.0.0.1:8080"},` +
		`"token_endpoint":{"type":"string","format":"uri","example":"http://127.0.0.1:8080/token"},` +
		`"jwks_uri":{"type":"string","format":"uri","example":"http://127.0.0.1:8080/.well-known/jwks.json"},` +
		`"revocation_endpoint":{"type":"string","format":"uri","example":"http://127.0.0.1:8080/revoke"},` +
		`"introspection_endpoint":{"type":"string","format":"uri","description":"Present when the introspection client is configured","example":"http://127.0.0.1:8080/introspect"},` +
		`"scopes_supported":{"type":"array","items":{"type":"string"},"example":["admin","user"]},` +
		`"response_types_supported":{"type":"array","items":{"type":"string"},"maxItems":0},` +
		`"grant_types_supported":{"type":"array","items":{"type":"string"},"example":["password","refresh_token"]},` +
		`"token_endpoint_auth_methods_supported":{"type":"array","items":{"type":"string"},"example":["client_secret_basic","client_secret_post","none"]},` +
		`"revocation_endpoint_auth_methods_supported":{"type":"array","items":{"type":"string"}},` +
		`"introspection_endpoint_auth_methods_supported":{"type":"array","items":{"type":"string"}}}}`)
	tokenForm := func(extra string) json.RawMessage {
		return jsonSchema(`{"type":"object","required":["token"],"properties":{` +
			`"token":{"type":"string","description":"An access token or a refresh token"},` +
			`"token_type_hint":{"type":"string","enum":["access_token","refresh_token"],"description":"Ignored: the token's shape tells"},` +
			`"client_id":{"type":"string"},"client_secret":{"type":"string"}` + extra + `}}`)
	}
	introspection := jsonSchema(`{"type":"object","required":["active"],"description":"RFC 7662 §2.2: an inactive token's answer is {\"active\":false} and nothing more","properties":{` +
		`"active":{"type":"boolean"},` +
		`"scope":{"type":"string"},"client_id":{"type":"string","example":"authkit-example"},` +
		`"token_type":{"type":"string","enum":["Bearer","refresh_token"]},` +
		`"exp":{"type":"integer"},"iat":{"type":"integer"},"sub":{"type":"string","example":"1"},` +
		`"aud":{"oneOf":[{"type":"string"},{"type":"array","items":{"type":"string"}}]},` +
		`"iss":{"type":"string"},"jti":{"type":"string"}}}`)
	logoutForm := jsonSchema(`{"type":"object","properties":{"everywhere":{"type":"string","enum":["true","false","1","0"],"default":"false",` +
		`"description":"true: end every session of the user, and every access token issued to them before now"}}}`)
	noStore := []openapi.Header{{Name: "Cache-Control", Description: "Always no-store.", Required: true}}
	errorBody := func(code, desc string) *openapi.Body {
		return &openapi.Body{Schema: openapi.ErrorSchema(), Example: jsonSchema(`{"error":"` + code + `","error_description":"` + desc + `"}`)}
	}
	serverError := openapi.Response{
		Status:      http.StatusInternalServerError,
		Description: "The user store failed (server_error).",
		Body:        errorBody("server_error", "The server could not complete the request"),
	}
	sessionError := openapi.Response{
		Status:      http.StatusInternalServerError,
		Description: "The session store failed (server_error).",
		Headers:     noStore,
		Body:        errorBody("server_error", "The server could not complete the request"),
	}
	basicChallenge := []openapi.Header{
		{Name: "WWW-Authenticate", Description: `Basic realm="token"`, Required: true},
		{Name: "Cache-Control", Description: "Always no-store.", Required: true},
	}

	doc := openapi.Document{
		Title:   "authkit example API",
		Version: "1",
		Description: "The API of `examples/server`: log in with the OAuth 2.0 password grant at `POST /token`, " +
			"then call the `/api/` routes with `Authorization: Bearer <token>`. Click **Authorize**, " +
			"enter a username and password, and leave the client fields blank.\n\n" +
			"A login also returns a `refresh_token`: `POST /token` with `grant_type=refresh_token` trades it for a new access token " +
			"and a new refresh token, each good for one use. `POST /api/logout` signs out; `POST /revoke` revokes a token.\n\n" +
			"Every error is JSON `{\"error\", \"error_description\"}` with the RFC 6749 and RFC 6750 codes.",
		Scheme: s,
		Operations: []openapi.Operation{
			openapi.TokenEndpoint(tokenPath, s),
			{
				Method: http.MethodPost, Path: revokePath, ID: "revoke", Tags: []string{"auth"},
				Summary: "Revoke a refresh or access token (RFC 7009)",
				Description: "A refresh token ends its session: the login and every token rotated from it. " +
					"An access token is refused by the API until it expires. Client credentials, if any, are those of `POST /token` " +
					"(HTTP Basic, or `client_id` and `client_secret` in the form); a request without is the default client's. " +
					"A client revokes only its own tokens: unknown, expired, malformed and other clients' tokens get the same 200 and change nothing.",
				Public:  true,
				Request: &openapi.Body{ContentType: "application/x-www-form-urlencoded", Schema: tokenForm(""), Required: true},
				Responses: []openapi.Response{
					{Status: http.StatusOK, Description: "Revoked, or nothing to revoke. The body is empty.", Headers: noStore},
					{Status: http.StatusBadRequest, Description: "The token is missing or repeated, the body is not a form, or a parameter is in the query string (invalid_request).", Headers: noStore, Body: errorBody("invalid_request", "The token parameter is required")},
					{Status: http.StatusUnauthorized, Description: "The client credentials are wrong or name no client (invalid_client).", Headers: basicChallenge, Body: errorBody("invalid_client", "Client authentication failed")},
					{Status: http.StatusTooManyRequests, Description: "Too many failed client authentications (slow_down).", Headers: []openapi.Header{{Name: "Retry-After", Description: "Seconds to wait.", Required: true}}, Body: errorBody("slow_down", "Too many failed client authentication attempts, retry later")},
					sessionError,
				},
			},
			{
				Method: http.MethodPost, Path: introspectPath, ID: "introspect", Tags: []string{"auth"},
				Summary: "Introspect a token (RFC 7662)",
				Description: "For resource servers that would rather ask than verify tokens themselves. " +
					"The caller authenticates as the confidential client `resource-server` with HTTP Basic, or `client_id` and `client_secret` in the form; " +
					"the server registers that client only when the environment variable `AUTHKIT_INTROSPECTION_SECRET` holds its secret. " +
					"A good access or refresh token is `{\"active\":true,...}`; every other token, whatever is wrong with it, `{\"active\":false}`.",
				Public:  true,
				Request: &openapi.Body{ContentType: "application/x-www-form-urlencoded", Schema: tokenForm(""), Required: true},
				Responses: []openapi.Response{
					{Status: http.StatusOK, Description: "Whether the token is active, and if it is, what it grants.", Headers: noStore,
						Body: &openapi.Body{Schema: introspection, Example: jsonSchema(`{"active":false}`)}},
					{Status: http.StatusBadRequest, Description: "The token is missing or repeated, the body is not a form, or a parameter is in the query string (invalid_request).", Headers: noStore, Body: errorBody("invalid_request", "The token parameter is required")},
					{Status: http.StatusUnauthorized, Description: "No confidential client authenticated (invalid_client).", Headers: basicChallenge, Body: errorBody("invalid_client", "Client authentication failed")},
					{Status: http.StatusTooManyRequests, Description: "Too many failed client authentications (slow_down).", Headers: []openapi.Header{{Name: "Retry-After", Description: "Seconds to wait.", Required: true}}, Body: errorBody("slow_down", "Too many failed client authentication attempts, retry later")},
					sessionError,
				},
			},
			{
				Method: http.MethodPost, Path: logoutPath, ID: "logout", Tags: []string{"api"},
				Summary: "Sign out",
				Description: "Ends the session the access token came from: the token and its session's refresh token stop working. " +
					"With `everywhere=true` (in the query string or a form body) it ends every session of the user instead, " +
					"and every access token issued to them before now.",
				Parameters: []openapi.Parameter{{Name: "everywhere", In: "query", Description: "true: sign out every session of the user.",
					Schema: jsonSchema(`{"type":"string","enum":["true","false","1","0"],"default":"false"}`)}},
				Request: &openapi.Body{ContentType: "application/x-www-form-urlencoded", Schema: logoutForm},
				Responses: []openapi.Response{
					{Status: http.StatusNoContent, Description: "Signed out."},
					{Status: http.StatusBadRequest, Description: "everywhere is not true, false, 1 or 0, or the Bearer credentials are malformed (invalid_request).", Body: errorBody("invalid_request", "The everywhere parameter must be true or false")},
					serverError,
				},
			},
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
				Method: http.MethodGet, Path: metadataPath, ID: "metadata", Tags: []string{"auth"},
				Summary:     "Authorization server metadata (RFC 8414)",
				Description: "The endpoints of this server as absolute URLs under its issuer (`-issuer`), its grant types, client authentication methods and scopes.",
				Public:      true,
				Responses: []openapi.Response{
					{Status: http.StatusOK, Description: "The metadata document.", Body: &openapi.Body{Schema: metadataDoc}},
				},
			},
			{
				Method: http.MethodGet, Path: jwksPath, ID: "jwks", Tags: []string{"auth"},
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
