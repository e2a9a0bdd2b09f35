// Package rbac checks roles, permissions and scopes of the caller that
// [jwtauth.Middleware] authenticated, and answers a caller who lacks them
// as RFC 6750 §3.1 says: 403 insufficient_scope.
//
// Each check is middleware of the form func(http.Handler) http.Handler, to
// be mounted inside the Bearer middleware:
//
//	bearer := jwtauth.Middleware(verifier, jwtauth.WithUsers(store))
//	mux.Handle("GET /api/admin/users", bearer(rbac.Require("admin")(listUsers)))
//
// # Checks
//
// Every check says whether one of its names suffices or all are needed:
//
//	RequireAny(roles...)        at least one of the roles ([Require] for short)
//	RequireAll(roles...)        every one of the roles
//	RequireAnyScope(scopes...)  at least one of the token's scopes
//	RequireAllScopes(scopes...) every one of the scopes (what RFC 6750 means)
//
// The package-level functions are the checks of a [Policy] that defines no
// roles and has the default options. A Policy adds what a plain role check
// cannot: roles that include other roles (an admin passes every check for
// "user") and permissions granted through roles
// ([Policy.RequireAllPermissions], [Policy.Permits]); its [Option]s set the
// realm and the writer of the answers.
//
// The checks read the [jwtauth.Principal] in the request's context. Its
// roles are the stored user's when the Bearer middleware loads users (so a
// demoted admin loses access at once), otherwise the token's "roles" claim;
// its scopes are the token's "scope" claim. Custom authenticators feed the
// checks with [jwtauth.WithPrincipal].
//
// # Answers
//
// With no principal in the context (the Bearer middleware was not mounted,
// or let the request through without credentials) a check answers 401 with
// a challenge that has no error attribute, exactly as the Bearer middleware
// answers a request without credentials. A principal that fails the check
// gets 403 with
//
//	WWW-Authenticate: Bearer realm="api", error="insufficient_scope", error_description="..."
//
// and the JSON body {"error": "insufficient_scope", "error_description":
// "..."}; the scope checks add the scope attribute naming the scopes the
// resource needs. Both go through [jwtauth.WriteChallenge] unless
// [WithErrorHandler] says otherwise.
//
// # Misuse
//
// A check that can never be met because it was built wrong (no names at
// all, an empty name, a scope that is not an RFC 6749 scope-token, a
// permission the [Policy] does not know, a nil handler) does not panic: it
// answers every request with 500 and {"error": "server_error"}, so the
// mistake shows on the first request and no request gets through.
package rbac

import (
	"net/http"
	"slices"
	"strings"

	"github.com/authkit-go/authkit/jwtauth"
)

// Option adjusts the answers of a [Policy]'s checks. Pass options to
// [NewPolicy]; a policy without roles, rbac.NewPolicy(nil, nil, opts...),
// gives the package-level checks other options. A nil Option is skipped.
type Option func(*options)

type options struct {
	realm    string
	realmSet bool
	onError  func(w http.ResponseWriter, r *http.Request, c jwtauth.Challenge)
}

// WithRealm sets the realm attribute of the WWW-Authenticate challenges. The
// default is "api", as for [jwtauth.Middleware]; an empty realm leaves the
// attribute out.
func WithRealm(realm string) Option {
	return func(o *options) { o.realm, o.realmSet = realm, true }
}

// WithErrorHandler replaces the writer of the 401 and 403 answers. fn
// receives the [jwtauth.Challenge] the check decided on: Status 401 with
// no Code when the context holds no principal, else Status 403 with
// [jwtauth.CodeInsufficientScope]. The default, and what a nil fn means, is
// [jwtauth.WriteChallenge] with the configured realm.
func WithErrorHandler(fn func(w http.ResponseWriter, r *http.Request, c jwtauth.Challenge)) Option {
	return func(o *options) { o.onError = fn }
}

// Require is the short form of [RequireAny]: it returns middleware that
// lets a request through if its principal holds at least one of roles, and
// answers 401 or 403 otherwise (see the package documentation).
func Require(roles ...string) func(http.Handler) http.Handler {
	return (*Policy)(nil).RequireAny(roles...)
}

// RequireAny returns middleware that lets a request through if its
// principal holds at least one of roles. Roles are compared exactly. It is
// [Policy.RequireAny] of a policy that defines no roles and has the default
// options.
func RequireAny(roles ...string) func(http.Handler) http.Handler {
	return (*Policy)(nil).RequireAny(roles...)
}

// RequireAll returns middleware that lets a request through if its
// principal holds every one of roles. It is [Policy.RequireAll] of a policy
// that defines no roles and has the default options.
func RequireAll(roles ...string) func(http.Handler) http.Handler {
	return (*Policy)(nil).RequireAll(roles...)
}

// RequireAnyScope returns middleware that lets a request through if its
// principal's token grants at least one of scopes. The 403 answer lists
// them all in the scope attribute. Each scope must be an RFC 6749 §3.3
// scope-token (printable ASCII, no space, '"' or '\'). It is
// [Policy.RequireAnyScope] with the default options.
func RequireAnyScope(scopes ...string) func(http.Handler) http.Handler {
	return (*Policy)(nil).RequireAnyScope(scopes...)
}

// RequireAllScopes returns middleware that lets a request through if its
// principal's token grants every one of scopes, as RFC 6750 §3.1 has it:
// the token must carry all the scopes the resource needs. The 403 answer
// names them in the scope attribute. Each scope must be an RFC 6749 §3.3
// scope-token. It is [Policy.RequireAllScopes] with the default options.
func RequireAllScopes(scopes ...string) func(http.Handler) http.Handler {
	return (*Policy)(nil).RequireAllScopes(scopes...)
}

// check is a decided requirement: allow reports whether a principal meets
// it, desc and scope fill the 403 challenge.
type check struct {
	allow func(p *jwtauth.Principal) bool
	desc  string
	scope string
}

// middleware returns the middleware that enforces c with p's options.
func (p *Policy) middleware(c check) func(http.Handler) http.Handler {
	realm, onError := jwtauth.DefaultRealm, jwtauth.WriteChallenge
	var custom func(http.ResponseWriter, *http.Request, jwtauth.Challenge)
	if p != nil {
		if p.opts.realmSet {
			realm = p.opts.realm
		}
		custom = p.opts.onError
	}
	fail := func(w http.ResponseWriter, r *http.Request, ch jwtauth.Challenge) {
		if custom != nil {
			custom(w, r, ch)
			return
		}
		onError(w, realm, ch)
	}
	forbidden := jwtauth.Challenge{
		Status:      http.StatusForbidden,
		Code:        jwtauth.CodeInsufficientScope,
		Description: c.desc,
		Scope:       c.scope,
	}
	return func(next http.Handler) http.Handler {
		if next == nil {
			return http.HandlerFunc(misconfigured)
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pr, ok := jwtauth.PrincipalFrom(r.Context())
			switch {
			case !ok:
				fail(w, r, jwtauth.Challenge{Status: http.StatusUnauthorized})
			case !c.allow(pr):
				fail(w, r, forbidden)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

// misconfigured answers every request to a check that was built wrong:
// 500 {"error": "server_error"}, with no challenge.
func misconfigured(w http.ResponseWriter, _ *http.Request) {
	jwtauth.WriteError(w, http.StatusInternalServerError, "server_error", "")
}

// denyAll is the middleware of a check that was built wrong.
func denyAll(http.Handler) http.Handler { return http.HandlerFunc(misconfigured) }

// validNames reports whether names is a non-empty list of non-empty names.
func validNames(names []string) bool {
	if len(names) == 0 {
		return false
	}
	for _, n := range names {
		if n == "" {
			return false
		}
	}
	return true
}

// validScopes reports whether scopes is a non-empty list of RFC 6749 §3.3
// scope-tokens: 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopes(scopes []string) bool {
	if !validNames(scopes) {
		return false
	}
	for _, s := range scopes {
		if !jwtauth.IsScopeToken(s) {
			return false
		}
	}
	return true
}

// scopeCheck is the check of RequireAllScopes (all true) and
// RequireAnyScope (all false).
func scopeCheck(scopes []string, all bool) check {
	scopes = slices.Clone(scopes)
	allow := func(p *jwtauth.Principal) bool {
		for _, s := range scopes {
			if p.HasScope(s) {
				return true
			}
		}
		return false
	}
	if all {
		allow = func(p *jwtauth.Principal) bool {
			for _, s := range scopes {
				if !p.HasScope(s) {
					return false
				}
			}
			return true
		}
	}
	return check{allow: allow, desc: jwtauth.DescInsufficientScope, scope: strings.Join(scopes, " ")}
}
