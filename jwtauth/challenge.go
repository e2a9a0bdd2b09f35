package jwtauth

import (
	"io"
	"net/http"
	"strings"
)

// Error codes of RFC 6750 §3.1, used in [Challenge.Code].
const (
	// CodeInvalidRequest: the request's credentials are malformed or sent
	// more than once (400).
	CodeInvalidRequest = "invalid_request"
	// CodeInvalidToken: the token is expired, revoked, forged or otherwise
	// invalid (401).
	CodeInvalidToken = "invalid_token"
	// CodeInsufficientScope: the token is valid but lacks a role or scope
	// the resource requires (403).
	CodeInsufficientScope = "insufficient_scope"
	// CodeTemporarilyUnavailable: the request could not be authenticated
	// because a dependency, such as the user store, failed (503). It is
	// the RFC 6749 §4.1.2.1 code; RFC 6750 has none for this case.
	CodeTemporarilyUnavailable = "temporarily_unavailable"
)

// DefaultRealm is the realm of the challenges [Middleware] and the rbac
// package send unless told otherwise.
const DefaultRealm = "api"

// The fixed vocabulary of error descriptions. Each contains only attribute
// characters, so none needs escaping; none ever echoes the request or a
// library error. rbac's answers use DescInsufficientRole and
// DescInsufficientScope.
const (
	descAuthRequired        = "Authentication required"
	descMalformedCredential = "Malformed Bearer credentials"
	descMultipleCredentials = "More than one access token was sent"
	descInvalidToken        = "The access token is invalid"
	descExpiredToken        = "The access token expired"
	descRevokedToken        = "The access token is no longer valid"
	descUnavailable         = "The service is temporarily unavailable"

	// DescInsufficientRole is the description of a 403 for a missing role.
	DescInsufficientRole = "The access token lacks a required role"
	// DescInsufficientScope is the description of a 403 for a missing
	// scope.
	DescInsufficientScope = "The access token lacks a required scope"
)

// Challenge is an RFC 6750 §3 error response to a protected-resource
// request. The zero Challenge is the answer to a request without
// credentials: 401, no error attribute (RFC 6750 §3.1), the description
// "Authentication required".
type Challenge struct {
	// Status is the HTTP status: 401, 400 or 403, or 503 with
	// [CodeTemporarilyUnavailable]. Zero means 401.
	Status int
	// Code is the RFC 6750 error code, or empty when the request carried
	// no credentials at all (RFC 6750 §3.1: no error attribute then).
	Code string
	// Description is a short text for developers, of attribute characters
	// only (printable ASCII without '"' and '\'); others are dropped.
	// Empty means "Authentication required" when Code is empty too, and no
	// description otherwise.
	Description string
	// Scope, when set with CodeInsufficientScope, names the scopes the
	// resource requires (space-separated).
	Scope string
}

// WriteChallenge writes c as the response: the status; for a status below
// 500, a WWW-Authenticate Bearer challenge carrying realm (when not empty)
// and, unless c.Code is empty, the error, error_description and scope
// attributes; and the body [WriteError] writes. Characters RFC 6750 forbids
// in attribute values are dropped from realm and from c's fields.
func WriteChallenge(w http.ResponseWriter, realm string, c Challenge) {
	code := cleanAttr(c.Code)
	desc := cleanAttr(c.Description)
	if code == "" && desc == "" {
		desc = descAuthRequired
	}
	status := c.Status
	if status == 0 {
		status = http.StatusUnauthorized
	}
	h := w.Header()
	if status >= 500 {
		h.Del("WWW-Authenticate")
		WriteError(w, status, code, desc)
		return
	}
	var b strings.Builder
	b.Grow(len("Bearer realm=\"\", error=\"\", error_description=\"\", scope=\"\"") + len(realm) + len(code) + len(desc) + len(c.Scope))
	b.WriteString("Bearer")
	sep := " "
	attr := func(name, value string) {
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteString(`="`)
		b.WriteString(value)
		b.WriteByte('"')
		sep = ", "
	}
	if realm = cleanAttr(realm); realm != "" {
		attr("realm", realm)
	}
	if code != "" {
		attr("error", code)
		if desc != "" {
			attr("error_description", desc)
		}
		if scope := cleanAttr(c.Scope); scope != "" {
			attr("scope", scope)
		}
	}
	h.Set("WWW-Authenticate", b.String())
	WriteError(w, status, code, desc)
}

// WriteError writes an error response: the status, Content-Type
// application/json, Cache-Control: no-store, and the body
// {"error":code,"error_description":description} and a newline, each member
// left out when empty. It is the one writer of authkit's error bodies
// (RFC 6749 §5.2, RFC 6750 §3). Bytes that are not attribute characters
// (printable ASCII without '"' and '\') are dropped from code and
// description, so the body never needs escaping and never carries control
// characters: pass fixed texts, never an error's text or the request's
// input. Other headers, such as WWW-Authenticate or Retry-After, are the
// caller's to set first.
func WriteError(w http.ResponseWriter, status int, code, description string) {
	code, description = cleanAttr(code), cleanAttr(description)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	io.WriteString(w, jsonBody(code, description))
}

// jsonBody returns {"error":code,"error_description":desc} and a newline,
// each member left out when empty. Both strings are attribute characters
// only, so they need no JSON escaping.
func jsonBody(code, desc string) string {
	var b strings.Builder
	b.Grow(len(`{"error":"","error_description":""}`) + len(code) + len(desc) + 1)
	b.WriteByte('{')
	if code != "" {
		b.WriteString(`"error":"`)
		b.WriteString(code)
		b.WriteByte('"')
		if desc != "" {
			b.WriteByte(',')
		}
	}
	if desc != "" {
		b.WriteString(`"error_description":"`)
		b.WriteString(desc)
		b.WriteByte('"')
	}
	b.WriteString("}\n")
	return b.String()
}
