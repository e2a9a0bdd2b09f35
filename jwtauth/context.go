package jwtauth

import (
	"context"
	"slices"

	"github.com/authkit-go/authkit/userstore"
)

// Principal is the authenticated caller of a request, as [Middleware] stores
// it in the request's context.
//
// Claims, and the Roles and Scopes taken from them, may be shared with
// every other request that carries the same token (the verifier caches
// verified tokens): read them, never write to them or to their elements.
// Appending to the Roles and Scopes that [Middleware] sets is safe: it
// never hands out shared spare capacity.
type Principal struct {
	// Subject is the token's "sub": the user's ID.
	Subject string
	// Roles are the caller's roles: the stored user's when the middleware
	// loads users, otherwise the token's "roles" claim.
	Roles []string
	// Scopes are the scopes the token grants.
	Scopes []string
	// Claims are the verified claims of the token.
	Claims *Claims
	// User is the stored user, when the middleware loads users; nil
	// otherwise.
	User *userstore.User
}

// HasRole reports whether the principal holds role r.
func (p *Principal) HasRole(r string) bool { return slices.Contains(p.Roles, r) }

// HasScope reports whether the principal's token grants scope s.
func (p *Principal) HasScope(s string) bool { return slices.Contains(p.Scopes, s) }

type principalKey struct{}

// WithPrincipal returns a copy of ctx that carries p. Custom authenticators
// (API keys, mTLS) and tests use it to feed handlers and the rbac package
// without a JWT.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// principalCtx is a context that carries a Principal by value, so that
// [Middleware] pays one allocation for both. It answers principalKey{} as
// a context.WithValue(ctx, principalKey{}, &p) would.
type principalCtx struct {
	context.Context
	p Principal
}

func withPrincipalValue(ctx context.Context, p Principal) context.Context {
	return &principalCtx{Context: ctx, p: p}
}

func (c *principalCtx) Value(key any) any {
	if _, ok := key.(principalKey); ok {
		return &c.p
	}
	return c.Context.Value(key)
}

// PrincipalFrom returns the Principal stored by [Middleware] or
// [WithPrincipal], if any. The returned Principal must not be modified.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}
