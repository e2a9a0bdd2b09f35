package jwtauth

import (
	"context"
	"slices"

	"github.com/authkit-go/authkit/userstore"
)

// Principal is the authenticated caller of a request, as [Middleware] stores
// it in the request's context.
//
// The Principal that [Middleware] stores is the request's own: its Claims
// (slices and Extra included), Roles and Scopes are copies that no other
// request sees, even when the verifier answered from its cache of verified
// tokens, so a handler that writes to them or appends to them changes
// nothing beyond its own request. Within the request, Roles and Scopes may
// share their arrays with Claims.Roles and Claims.Scope. User is the
// request's own copy of the stored user. A Principal given to
// [WithPrincipal] is shared as its caller shared it.
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

// principalCtx is a context that carries a Principal and the request's
// copy of its Claims by value, so that [Middleware] pays one allocation for
// the three. It answers principalKey{} as a context.WithValue(ctx,
// principalKey{}, &p) would.
type principalCtx struct {
	context.Context
	p Principal
	c Claims
}

// withClaims returns a context carrying the principal of claims, which may
// be shared: the principal gets a detached copy of them (see
// [Claims.detach]). A non-nil u, the request's own, supplies the roles.
func withClaims(ctx context.Context, claims *Claims, u *userstore.User) context.Context {
	pc := &principalCtx{Context: ctx, c: *claims}
	pc.c.detach()
	pc.p = Principal{Subject: pc.c.Subject, Roles: pc.c.Roles, Scopes: pc.c.Scope, Claims: &pc.c}
	if u != nil {
		pc.p.Roles, pc.p.User = u.Roles, u
	}
	return pc
}

func (c *principalCtx) Value(key any) any {
	if _, ok := key.(principalKey); ok {
		return &c.p
	}
	return c.Context.Value(key)
}

// PrincipalFrom returns the Principal stored by [Middleware] or
// [WithPrincipal], if any. One that [Middleware] stored belongs to the
// request alone (see [Principal]).
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}
