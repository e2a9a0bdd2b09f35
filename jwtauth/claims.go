package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"time"
)

// Claims are the claims of an access token, after the JWT profile for OAuth
// 2.0 access tokens ([RFC 9068]). Times are absolute; the zero time means the
// claim is absent.
type Claims struct {
	// Issuer is "iss": the URL or name of the authorization server.
	Issuer string
	// Subject is "sub": the user's stable ID. Issuing and verification
	// require it.
	Subject string
	// Audience is "aud": the resource servers the token is meant for.
	Audience []string
	// ExpiresAt is "exp". Verification requires it.
	ExpiresAt time.Time
	// NotBefore is "nbf".
	NotBefore time.Time
	// IssuedAt is "iat". Verification requires it.
	IssuedAt time.Time
	// ID is "jti": a random, unique token identifier. Verification
	// requires it.
	ID string
	// ClientID is "client_id": the OAuth 2.0 client the token was issued
	// to. Issuing and verification require it (see
	// [Config.AllowMissingClientID]).
	ClientID string
	// Scope is "scope", kept as a list; on the wire it is one
	// space-separated string.
	Scope []string
	// Roles is "roles" (RFC 9068 §7.2.1.1): the user's roles at issue time.
	Roles []string
	// Extra holds every other claim as raw JSON, keyed by claim name. Use
	// [SetClaim] and [ClaimAs] to write and read it with a Go type. Nil
	// means no other claims.
	Extra map[string]json.RawMessage
}

// detach replaces the slices and the Extra map of c, a shallow copy of
// shared claims, with copies of its own, so that writes to them, and
// appends, reach no other holder. The three string slices share one new
// array, each clipped to its length; Extra, when present, costs one map
// and one buffer for its values. Nil stays nil.
func (c *Claims) detach() {
	if n := len(c.Audience) + len(c.Scope) + len(c.Roles); n > 0 {
		buf := make([]string, 0, n)
		c.Audience, buf = carve(buf, c.Audience)
		c.Scope, buf = carve(buf, c.Scope)
		c.Roles, _ = carve(buf, c.Roles)
	} else {
		// Empty or nil: clipping leaves no capacity to write into.
		c.Audience, c.Scope, c.Roles = slices.Clip(c.Audience), slices.Clip(c.Scope), slices.Clip(c.Roles)
	}
	if len(c.Extra) == 0 {
		return
	}
	size := 0
	for _, v := range c.Extra {
		size += len(v)
	}
	data := make([]byte, 0, size)
	extra := make(map[string]json.RawMessage, len(c.Extra))
	for name, v := range c.Extra {
		start := len(data)
		data = append(data, v...)
		extra[name] = json.RawMessage(data[start:len(data):len(data)])
	}
	c.Extra = extra
}

// carve appends s to buf, whose capacity must suffice, and returns the
// copy, clipped, and buf extended by it. A nil s gives nil.
func carve(buf, s []string) ([]string, []string) {
	if s == nil {
		return nil, buf
	}
	start := len(buf)
	buf = append(buf, s...)
	return buf[start:len(buf):len(buf)], buf
}

// HasScope reports whether the claims grant scope s.
func (c *Claims) HasScope(s string) bool { return slices.Contains(c.Scope, s) }

// HasRole reports whether the claims carry role r.
func (c *Claims) HasRole(r string) bool { return slices.Contains(c.Roles, r) }

// SetClaim stores v, marshalled to JSON, as the custom claim name in
// c.Extra. Names of claims that [Claims] has a field for ("iss", "sub",
// "aud", "exp", "nbf", "iat", "jti", "client_id", "scope", "roles") are
// refused.
func SetClaim[T any](c *Claims, name string, v T) error {
	if name == "" || registeredClaim(name) {
		return fmt.Errorf("jwtauth: claim name %q is empty or registered: use the Claims field", name)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("jwtauth: claim %q: %w", name, err)
	}
	if c.Extra == nil {
		c.Extra = make(map[string]json.RawMessage)
	}
	c.Extra[name] = data
	return nil
}

// ClaimAs decodes the custom claim name of c into a T. It reports false,
// with no error, when c has no such claim, and an error when the claim does
// not decode as a T.
func ClaimAs[T any](c *Claims, name string) (T, bool, error) {
	var v T
	data, ok := c.Extra[name]
	if !ok {
		return v, false, nil
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, true, errors.Join(fmt.Errorf("jwtauth: claim %q", name), err)
	}
	return v, true, nil
}

// Token is an issued access token.
type Token struct {
	// Raw is the compact JWS serialization to hand to the client. Treat it
	// as a secret: [Token.LogValue], [Token.String], [Token.GoString] and
	// [Token.Format] keep it out of logs and formatted output.
	Raw string
	// Claims are the claims Raw carries, as issued.
	Claims Claims
}

// redacted stands for Token.Raw in formatted output.
const redacted = "[REDACTED]"

// tokenFields is Token without its methods, for formatting.
type tokenFields Token

// shown returns t's fields as printed: Raw replaced by a marker unless it
// is empty.
func (t Token) shown() tokenFields {
	if t.Raw != "" {
		t.Raw = redacted
	}
	return tokenFields(t)
}

// String returns the token's fields as %v prints them, with Raw replaced
// by "[REDACTED]".
func (t Token) String() string { return fmt.Sprint(t.shown()) }

// GoString returns the token as %#v prints it, with Raw replaced by
// "[REDACTED]".
func (t Token) GoString() string {
	return "jwtauth.Token{Raw:" + strconv.Quote(t.shown().Raw) + ", Claims:" + fmt.Sprintf("%#v", t.Claims) + "}"
}

// Format implements [fmt.Formatter] so that no verb or flag (%v, %+v,
// %#v, %s, %q, %x) prints Raw: it formats the token's fields with Raw
// replaced by "[REDACTED]".
func (t Token) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, t.GoString())
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), t.shown())
}

// LogValue implements [slog.LogValuer]. It logs the token's ID, subject and
// expiry, never the token itself.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("jti", t.Claims.ID),
		slog.String("sub", t.Claims.Subject),
		slog.Time("exp", t.Claims.ExpiresAt),
	)
}

// Issuer issues signed access tokens.
//
// Issue fills in what the caller left empty: "iss" and "aud" from the
// issuer's configuration, "iat" as now, "jti" as a fresh random ID, and
// "exp" as now plus the issuer's default lifetime. It refuses claims without
// a Subject or a ClientID: RFC 9068 §2.2 requires "sub" and "client_id",
// and a [Verifier] refuses tokens without them.
type Issuer interface {
	Issue(ctx context.Context, c Claims) (Token, error)
}

// Verifier checks a compact JWS access token and returns its claims. It
// returns an error wrapping one of [ErrTokenMalformed], [ErrTokenInvalid],
// [ErrTokenExpired] or [ErrTokenNotYetValid]. The returned *Claims may be
// shared with other callers and must not be modified.
type Verifier interface {
	Verify(ctx context.Context, raw string) (*Claims, error)
}

// Errors a [Verifier] returns, wrapped. Compare them with [errors.Is].
var (
	// ErrTokenMalformed reports a token that is not a well-formed compact
	// JWS of acceptable size.
	ErrTokenMalformed = errors.New("jwtauth: malformed token")
	// ErrTokenInvalid reports a token whose signature, algorithm, key ID,
	// type, issuer, audience or claims are not acceptable.
	ErrTokenInvalid = errors.New("jwtauth: invalid token")
	// ErrTokenExpired reports a token past its "exp" (plus leeway).
	ErrTokenExpired = errors.New("jwtauth: token expired")
	// ErrTokenNotYetValid reports a token before its "nbf" or "iat" (less
	// leeway).
	ErrTokenNotYetValid = errors.New("jwtauth: token not yet valid")
	// ErrTokenRevoked reports a token issued before its user's
	// TokensValidAfter, or whose user is gone or disabled.
	ErrTokenRevoked = errors.New("jwtauth: token revoked")
)
