package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"time"
)

// Claims are the claims of an access token, after the JWT profile for OAuth
// 2.0 access tokens ([RFC 9068]). Times are absolute; the zero time means the
// claim is absent.
type Claims struct {
	// Issuer is "iss": the URL or name of the authorization server.
	Issuer string
	// Subject is "sub": the user's stable ID.
	Subject string
	// Audience is "aud": the resource servers the token is meant for.
	Audience []string
	// ExpiresAt is "exp". Verification requires it.
	ExpiresAt time.Time
	// NotBefore is "nbf".
	NotBefore time.Time
	// IssuedAt is "iat".
	IssuedAt time.Time
	// ID is "jti": a random, unique token identifier.
	ID string
	// ClientID is "client_id": the OAuth 2.0 client the token was issued to.
	ClientID string
	// Scope is "scope", kept as a list; on the wire it is one
	// space-separated string.
	Scope []string
	// Roles is "roles" (RFC 9068 §7.2.1.1): the user's roles at issue time.
	Roles []string
	// Extra holds every other claim as raw JSON, keyed by claim name. Use
	// [SetClaim] and [ClaimAs] to write and read it with a Go type.
	Extra map[string]json.RawMessage
}

// HasScope reports whether the claims grant scope s.
func (c *Claims) HasScope(s string) bool { return slices.Contains(c.Scope, s) }

// HasRole reports whether the claims carry role r.
func (c *Claims) HasRole(r string) bool { return slices.Contains(c.Roles, r) }

// Token is an issued access token.
type Token struct {
	// Raw is the compact JWS serialization to hand to the client. Treat it
	// as a secret: [Token.LogValue] keeps it out of logs.
	Raw string
	// Claims are the claims Raw carries, as issued.
	Claims Claims
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
// a subject.
type Issuer interface {
	Issue(ctx context.Context, c Claims) (Token, error)
}

// Verifier checks a compact JWS access token and returns its claims. It
// returns an error wrapping one of [ErrTokenMalformed], [ErrTokenInvalid],
// [ErrTokenExpired] or [ErrTokenNotYetValid]. The returned *Claims must not
// be modified.
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
