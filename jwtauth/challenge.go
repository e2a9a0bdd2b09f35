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

// The fixed vocabulary of error descriptions. Each contains only the
// characters RFC 6750 §3 allows in error_description, so none needs escaping;
// none ever echoes the request or a library error.
const (
	DescAuthRequired        = "Authentication required"
	DescMalformedCredential = "Malformed Bearer credentials"
	DescMultipleCredentials = "More than one access token was sent"
	DescInvalidToken        = "The access token is invalid"
	DescExpiredToken        = "The access token expired"
	DescRevokedToken        = "The access token is no longer valid"
	DescInsufficientRole    = "The access token lacks a required role"
	DescInsufficientScope   = "The access token lacks a required scope"
	DescUnavailable         = "The service is temporarily unavailable"
)

// Challenge is an RFC 6750 §3 error response to a protected-resource request.
type Challenge struct {
	// Status is the HTTP status: 401, 400 or 403, or 503 with
	// [CodeTemporarilyUnavailable]. Zero means 401.
	Status int
	// Code is the RFC 6750 error code, or empty when the request carried
	// no credentials at all (RFC 6750 §3.1: no error attribute then).
	Code string
	// Description is a short text for developers, from the Desc constants
	// or of the same character set; characters RFC 6750 forbids are
	// dropped.
	Description string
	// Scope, when set with CodeInsufficientScope, names the scopes the
	// resource requires (space-separated).
	Scope string
}

// NoCredentials returns the challenge for a request that carried no
// credentials: 401 with no error attribute (RFC 6750 §3.1).
func NoCredentials() Challenge {
	return Challenge{Status: http.StatusUnauthorized, Description: DescAuthRequired}
}

// WriteChallenge writes c as the response: the status; for a status below
// 500, a WWW-Authenticate Bearer challenge carrying realm (when not empty)
// and, unless c.Code is empty, the error, error_description and scope
// attributes; and a JSON body {"error", "error_description"}, each member
// left out when empty. Responses also carry Cache-Control: no-store.
func WriteChallenge(w http.ResponseWriter, realm string, c Challenge) {
	var b strings.Builder
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
	desc := sanitizeDescription(c.Description)
	if realm = sanitizeDescription(realm); realm != "" {
		attr("realm", realm)
	}
	code := sanitizeDescription(c.Code)
	if code != "" {
		attr("error", code)
		if desc != "" {
			attr("error_description", desc)
		}
		if c.Scope != "" {
			attr("scope", sanitizeDescription(c.Scope))
		}
	}
	status := c.Status
	if status == 0 {
		status = http.StatusUnauthorized
	}
	h := w.Header()
	if status < 500 {
		h.Set("WWW-Authenticate", b.String())
	} else {
		h.Del("WWW-Authenticate")
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	io.WriteString(w, jsonBody(code, desc))
}

// jsonBody returns {"error":code,"error_description":desc} and a newline,
// each member left out when empty. Both strings went through
// sanitizeDescription, so they need no JSON escaping.
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

// sanitizeDescription keeps only the characters RFC 6750 §3 allows in an
// attribute value: %x20-21 / %x23-5B / %x5D-7E (printable ASCII without '"'
// and '\').
func sanitizeDescription(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if !allowedAttrByte(s[i]) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if allowedAttrByte(s[i]) {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func allowedAttrByte(c byte) bool {
	return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'
}
