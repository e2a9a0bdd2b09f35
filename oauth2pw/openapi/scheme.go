package openapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// DefaultSchemeName is the name a [Scheme] with an empty Name takes in
// components.securitySchemes and in security requirements: the name FastAPI
// gives its OAuth2PasswordBearer scheme.
const DefaultSchemeName = "OAuth2PasswordBearer"

// Names of the components that [Build] and [Merge] add.
const (
	errorSchemaName     = "OAuth2Error"
	tokenSchemaName     = "OAuth2TokenResponse"
	bearerBadRequest    = "BearerInvalidRequest"
	bearerUnauthorized  = "BearerUnauthorized"
	bearerForbidden     = "BearerInsufficientScope"
	tokenBadRequest     = "TokenError"
	tokenInvalidClient  = "TokenInvalidClient"
	tokenThrottled      = "TokenThrottled"
	tokenUnavailable    = "TokenUnavailable"
	tokenTooLarge       = "TokenBodyTooLarge"
	tokenNotAllowed     = "TokenMethodNotAllowed"
	accessExtensionName = "x-authkit-access"
)

// Scheme describes the token endpoint as an OAuth 2.0 security scheme with
// the password flow. Only TokenURL is required.
type Scheme struct {
	// Name is the scheme's key in components.securitySchemes and in the
	// operations' security requirements. Empty means [DefaultSchemeName].
	Name string
	// TokenURL is where the token endpoint is mounted: an absolute URL, or
	// a reference relative to the document's server, such as "/token".
	// Required.
	TokenURL string
	// RefreshURL is where refresh_token grants go, usually TokenURL when
	// the endpoint serves them. Empty means the document names none: the
	// endpoint does not refresh tokens.
	RefreshURL string
	// Scopes maps each scope the token endpoint may grant to a short
	// description. Each name must be an RFC 6749 §3.3 scope-token. Nil
	// means the endpoint grants no scopes.
	Scopes map[string]string
	// Description describes the scheme to readers of the document. Empty
	// means a sentence about the password flow.
	Description string
}

// name returns the scheme's components key.
func (s Scheme) name() string {
	if s.Name == "" {
		return DefaultSchemeName
	}
	return s.Name
}

// validate reports the first field of s that no document can carry.
func (s Scheme) validate() error {
	if !validComponentName(s.name()) {
		return fmt.Errorf("openapi: Scheme.Name %q: want letters, digits, '.', '-' or '_'", s.Name)
	}
	if s.TokenURL == "" {
		return errors.New("openapi: Scheme.TokenURL is required")
	}
	if err := validURL(s.TokenURL); err != nil {
		return fmt.Errorf("openapi: Scheme.TokenURL: %w", err)
	}
	if s.RefreshURL != "" {
		if err := validURL(s.RefreshURL); err != nil {
			return fmt.Errorf("openapi: Scheme.RefreshURL: %w", err)
		}
	}
	for name := range s.Scopes {
		if !validScopeToken(name) {
			return fmt.Errorf("openapi: Scheme.Scopes: %q is not an RFC 6749 scope-token", name)
		}
	}
	return nil
}

// securityScheme returns s as an OpenAPI Security Scheme Object.
func (s Scheme) securityScheme() object {
	scopes := object{}
	for name, desc := range s.Scopes {
		scopes[name] = desc
	}
	flow := object{"tokenUrl": s.TokenURL, "scopes": scopes}
	if s.RefreshURL != "" {
		flow["refreshUrl"] = s.RefreshURL
	}
	desc := s.Description
	if desc == "" {
		desc = "OAuth 2.0 resource owner password credentials grant (RFC 6749 §4.3): " +
			"post username and password to the token URL, then send the access token " +
			"as `Authorization: Bearer <token>` (RFC 6750)."
	}
	return object{
		"type":        "oauth2",
		"description": desc,
		"flows":       object{"password": flow},
	}
}

// validComponentName reports whether name fits the OpenAPI grammar of
// component keys, ^[a-zA-Z0-9.\-_]+$.
func validComponentName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// validScopeToken reports whether s is an RFC 6749 §3.3 scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// validURL reports why u is not a URL reference, if it is not one.
func validURL(u string) error {
	if strings.ContainsAny(u, " \t\r\n") {
		return fmt.Errorf("%q contains white space", u)
	}
	if _, err := url.Parse(u); err != nil {
		return err
	}
	return nil
}

// ErrorSchema returns a JSON Schema reference to the error body of every
// authkit error answer, {"error": "...", "error_description": "..."}, for
// the responses of a service's own operations. [Build] and [Merge] add the
// schema it names to the document.
func ErrorSchema() json.RawMessage {
	return json.RawMessage(`{"$ref":"#/components/schemas/` + errorSchemaName + `"}`)
}

// componentRef returns the reference to the component name of section.
func componentRef(section, name string) object {
	return object{"$ref": "#/components/" + section + "/" + name}
}

// components returns the components that every document describing s
// carries, by section.
func components(s Scheme) map[string]object {
	errorBody := func(code, desc string) object {
		return object{
			"application/json": object{
				"schema":  componentRef("schemas", errorSchemaName),
				"example": object{"error": code, "error_description": desc},
			},
		}
	}
	challenge := func(desc, example string) object {
		return object{"WWW-Authenticate": object{
			"description": desc,
			"required":    true,
			"schema":      object{"type": "string"},
			"example":     example,
		}}
	}
	noStore := func(h object) object {
		h["Cache-Control"] = object{"description": "Always no-store (RFC 6749 §5.1).", "required": true, "schema": object{"type": "string", "enum": []any{"no-store"}}}
		h["Pragma"] = object{"description": "Always no-cache.", "required": true, "schema": object{"type": "string", "enum": []any{"no-cache"}}}
		return h
	}
	retryAfter := func(h object) object {
		h["Retry-After"] = object{"description": "Seconds to wait before the next attempt.", "required": true, "schema": object{"type": "integer", "minimum": 1}}
		return h
	}
	return map[string]object{
		"securitySchemes": {s.name(): s.securityScheme()},
		"schemas": {
			errorSchemaName: object{
				"type":        "object",
				"description": "An OAuth 2.0 error (RFC 6749 §5.2, RFC 6750 §3.1). error_description is a fixed, human-readable sentence: never an echo of the input.",
				"required":    []any{"error"},
				"properties": object{
					"error":             object{"type": "string", "description": "The error code.", "example": "invalid_token"},
					"error_description": object{"type": "string", "description": "A sentence for the developer.", "example": "The access token is invalid"},
					"error_uri":         object{"type": "string", "format": "uri", "description": "A page about the error."},
				},
			},
			tokenSchemaName: object{
				"type":        "object",
				"description": "A successful token response (RFC 6749 §5.1).",
				"required":    []any{"access_token", "token_type", "expires_in"},
				"properties": object{
					"access_token":  object{"type": "string", "description": "The access token, a JWT (RFC 9068)."},
					"token_type":    object{"type": "string", "description": "Always Bearer.", "enum": []any{"Bearer"}},
					"expires_in":    object{"type": "integer", "description": "Seconds until the access token expires.", "minimum": 1, "example": 1800},
					"refresh_token": object{"type": "string", "description": "A refresh token, when the endpoint issues them."},
					"scope":         object{"type": "string", "description": "The granted scopes, space-separated, when any were granted."},
				},
			},
		},
		"responses": {
			bearerBadRequest: object{
				"description": "The Authorization header is malformed: empty, not RFC 6750 b64token syntax, or sent more than once (RFC 6750 §3.1 invalid_request).",
				"headers":     challenge("A Bearer challenge with error=\"invalid_request\".", `Bearer realm="api", error="invalid_request", error_description="Malformed Bearer credentials"`),
				"content":     errorBody("invalid_request", "Malformed Bearer credentials"),
			},
			bearerUnauthorized: object{
				"description": "No access token was sent (a challenge without an error attribute), or the token is invalid, expired, forged or revoked, or its user is gone or disabled (RFC 6750 §3.1 invalid_token).",
				"headers":     challenge("A Bearer challenge (RFC 6750 §3); error=\"invalid_token\" when a token was sent.", `Bearer realm="api", error="invalid_token", error_description="The access token is invalid"`),
				"content":     errorBody("invalid_token", "The access token is invalid"),
			},
			bearerForbidden: object{
				"description": "The token is valid, but its user lacks a role, or the token a scope, that the operation requires (RFC 6750 §3.1 insufficient_scope).",
				"headers":     challenge("A Bearer challenge with error=\"insufficient_scope\".", `Bearer realm="api", error="insufficient_scope", error_description="The access token lacks a required role"`),
				"content":     errorBody("insufficient_scope", "The access token lacks a required role"),
			},
			tokenBadRequest: object{
				"description": "The token request failed (RFC 6749 §5.2): invalid_grant for a wrong username or password (an unknown user answers the same), invalid_request for a missing, repeated or misplaced parameter, unsupported_grant_type, or invalid_scope.",
				"headers":     noStore(object{}),
				"content":     errorBody("invalid_grant", "The username or password is incorrect"),
			},
			tokenInvalidClient: object{
				"description": "Client authentication failed (RFC 6749 §5.2 invalid_client). The empty Basic credential (\"Basic Og==\") counts as no client.",
				"headers":     noStore(challenge("A Basic challenge.", `Basic realm="token", charset="UTF-8"`)),
				"content":     errorBody("invalid_client", "Client authentication failed"),
			},
			tokenThrottled: object{
				"description": "Too many failed attempts for this user, address or client.",
				"headers":     retryAfter(noStore(object{})),
				"content":     errorBody("slow_down", "Too many failed login attempts, retry later"),
			},
			tokenUnavailable: object{
				"description": "Every password-hashing slot stayed busy (temporarily_unavailable).",
				"headers":     retryAfter(noStore(object{})),
				"content":     errorBody("temporarily_unavailable", "The server is busy, retry later"),
			},
			tokenTooLarge: object{
				"description": "The request body is over the endpoint's size cap.",
				"headers":     noStore(object{}),
				"content":     errorBody("invalid_request", "The request body is too large"),
			},
			tokenNotAllowed: object{
				"description": "The token endpoint accepts only POST.",
				"headers": noStore(object{"Allow": object{
					"description": "Always POST.", "required": true, "schema": object{"type": "string", "enum": []any{"POST"}},
				}}),
				"content": errorBody("invalid_request", "The token endpoint accepts only POST"),
			},
		},
	}
}
