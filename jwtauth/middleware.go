package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/authkit-go/authkit/userstore"
)

// ErrUnavailable is wrapped by the error of a [Verifier] that could not
// check a token because something it depends on failed: a
// [RemoteVerifier] that has not been able to fetch its issuer's keys yet.
// [Middleware] answers such a refusal 503 with error
// [CodeTemporarilyUnavailable] and no WWW-Authenticate challenge: the token
// may well be valid, and the client should retry rather than discard it.
var ErrUnavailable = errors.New("jwtauth: verification temporarily unavailable")

// Option adjusts [Middleware], [OptionalMiddleware] and
// [KeySet.JWKSHandler]. A nil Option is skipped.
type Option func(*options)

type options struct {
	realm    string
	onError  func(w http.ResponseWriter, r *http.Request, c Challenge)
	cookie   string
	query    bool
	users    userstore.Store
	cacheTTL time.Duration
	cacheMax int
	log      *slog.Logger
	deny     Denylist
}

// WithLogger makes the middleware tell the operator why it refused a
// request, which the client learns only from the fixed error description:
// each refusal is logged to l with the request's method and path, the
// status, the error code and the reason (the verifier's error, such as a
// wrong audience, an expired token, an unknown key ID or a bad signature;
// the user that is gone or disabled; the store's error), at level Info,
// Warn for a 503, and Debug for a request without credentials. The token,
// the query string and the request's headers are never logged; the
// subject is, once the token verified. With [KeySet.JWKSHandler], l gets
// the handler's warnings. The default, and what a nil l means, is no
// logging.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// WithRealm sets the realm attribute of the WWW-Authenticate challenges.
// The default is [DefaultRealm]; an empty realm leaves the attribute out.
// Characters RFC 6750 forbids in the attribute are dropped.
func WithRealm(realm string) Option {
	return func(o *options) { o.realm = realm }
}

// WithErrorHandler replaces the writer of error responses. fn receives the
// [Challenge] the middleware decided on; it should write c.Status and, for
// 400, 401 and 403, a WWW-Authenticate header (RFC 6750 §3). The default,
// and what a nil fn means, is [WriteChallenge] with the configured realm.
func WithErrorHandler(fn func(w http.ResponseWriter, r *http.Request, c Challenge)) Option {
	return func(o *options) { o.onError = fn }
}

// WithCookie makes the middleware also accept the access token from the
// cookie with that name. A cookie with an empty value counts as absent;
// two cookies of that name, or the cookie together with an Authorization
// header, are refused as an invalid_request. An empty name leaves cookies
// unread.
//
// Browsers send cookies with requests that other sites trigger, so a
// cookie-authenticated API needs cross-site request forgery protection:
// set the cookie SameSite=Strict (or Lax) and HttpOnly, and mount
// [http.CrossOriginProtection] in front of state-changing routes.
func WithCookie(name string) Option {
	return func(o *options) { o.cookie = name }
}

// WithInsecureQueryToken makes the middleware also accept the access token
// from the access_token URI query parameter (RFC 6750 §2.3). It is insecure
// because URLs end up in server and proxy logs, browser history and
// Referer headers; RFC 6750 advises against it unless no other method is
// possible. Successful responses to such requests get Cache-Control:
// private, as §2.3 recommends; the handler may override it.
//
// Without this option an access_token query parameter is never accepted:
// alone it counts as no credentials, and next to another credential it
// makes the request an invalid_request.
func WithInsecureQueryToken() Option {
	return func(o *options) { o.query = true }
}

// WithUsers makes the middleware look up the token's subject with
// store.UserByID on every request and refuse the token (401 invalid_token)
// when the user is gone or disabled, or when the token was issued before
// the user's TokensValidAfter. Times compare at one-second granularity, as
// the "iat" claim has it: a token is refused when its IssuedAt.Unix() is
// less than TokensValidAfter.Unix(), so a token issued in the same second
// as a revocation stays valid.
//
// The stored user's roles then replace the token's in [Principal.Roles],
// so a demoted user loses a role at once, and [Principal.User] is set.
//
// If the store fails with an error other than [userstore.ErrNotFound]
// (a database that is down), the request is answered 503 with error
// [CodeTemporarilyUnavailable] and no WWW-Authenticate header: the token
// may well be valid, and the client should retry rather than discard it.
// The store's error text is never sent.
//
// Lookups go through a short cache; see [WithUserCache]. A nil store turns
// user loading off.
func WithUsers(store userstore.Store) Option {
	return func(o *options) { o.users = store }
}

// WithUserCache sets the cache of successful [WithUsers] lookups, and of
// [WithDenylist] answers: entries live for ttl and at most size users (and
// size answers) are kept. The defaults are one second
// and 4096 users; a size of zero or less means the default, a ttl of zero
// or less turns the cache off so that every request reaches the store.
//
// The cache trades freshness for speed: for up to ttl after a user is
// disabled, deleted, demoted or has their tokens revoked, or after an
// access token is put on the denylist, a request that reaches a
// middleware which looked it up just before may still pass with the old
// answer. Failed lookups are not cached. Every request gets
// its own copy of the user. Each call of [Middleware] or
// [OptionalMiddleware] has its own cache, so build the middleware once and
// wrap every route with it.
func WithUserCache(ttl time.Duration, size int) Option {
	return func(o *options) { o.cacheTTL, o.cacheMax = ttl, size }
}

// Middleware returns middleware that authenticates every request with an
// RFC 6750 Bearer token and lets only authenticated requests through. It
// mounts on [http.ServeMux] and any router that takes
// func(http.Handler) http.Handler.
//
// The token is read from the Authorization header (scheme "Bearer" in any
// letter case, one or more spaces, then the token in RFC 6750 b64token
// syntax), and, when enabled, from a cookie ([WithCookie]) or the query
// string ([WithInsecureQueryToken]). Request bodies are never read. It is
// verified with v, then, with [WithUsers], its user is loaded and checked.
// On success the handler runs with a [Principal] in the request's context
// (see [PrincipalFrom]): the request's own copy, which the handler may
// modify without affecting other requests that carry the same token.
//
// Failures are answered through the error handler ([WithErrorHandler];
// by default [WriteChallenge], which always adds a JSON body and
// Cache-Control: no-store):
//
//   - no Bearer credentials (none at all, another scheme such as Basic, a
//     bare token without scheme, a token in a source not enabled): 401,
//     WWW-Authenticate: Bearer realm="api", no error attribute;
//   - malformed credentials (an empty token, a token that is not b64token
//     syntax, "Bearer a, Bearer b"): 400 [CodeInvalidRequest],
//     "Malformed Bearer credentials";
//   - a token sent twice: two Authorization fields, two cookies or two
//     enabled access_token query parameters, or two methods at once (the
//     header, the cookie, an access_token query parameter even when query
//     tokens are not enabled, an access_token form parameter when an
//     earlier handler already parsed the body into r.PostForm): 400
//     [CodeInvalidRequest], "More than one access token was sent";
//   - a token v refuses: 401 [CodeInvalidToken] with "The access token
//     expired" for [ErrTokenExpired], "The access token is no longer
//     valid" for [ErrTokenRevoked] and "The access token is invalid" for
//     everything else, including a token without a subject; but 503
//     [CodeTemporarilyUnavailable] for [ErrUnavailable];
//   - with [WithUsers], a user that is gone or disabled, or a token issued
//     before the user's TokensValidAfter: 401 [CodeInvalidToken], "The
//     access token is no longer valid"; a store failure: 503
//     [CodeTemporarilyUnavailable];
//   - with [WithDenylist], a token whose "jti" is denied: 401
//     [CodeInvalidToken], "The access token is no longer valid"; a
//     denylist failure: 503 [CodeTemporarilyUnavailable].
//
// [WithLogger] tells the operator the reason of each refusal. A nil v
// refuses every token.
func Middleware(v Verifier, opts ...Option) func(http.Handler) http.Handler {
	return newAuthenticator(v, false, opts).wrap
}

// OptionalMiddleware is [Middleware] for routes that also serve anonymous
// callers, like FastAPI's OAuth2PasswordBearer(auto_error=False): a
// request without Bearer credentials reaches the handler with no
// [Principal] in its context, while a request with malformed, repeated or
// invalid credentials is refused exactly as [Middleware] refuses it, never
// downgraded to anonymous.
func OptionalMiddleware(v Verifier, opts ...Option) func(http.Handler) http.Handler {
	return newAuthenticator(v, true, opts).wrap
}

// authenticator is the state shared by every handler one call of
// [Middleware] wraps.
type authenticator struct {
	v        Verifier
	optional bool
	realm    string
	onError  func(w http.ResponseWriter, r *http.Request, c Challenge)
	cookie   string
	query    bool
	users    *userLoader  // nil: no user loading
	log      *slog.Logger // nil: no logging
	deny     *denyChecker // nil: no denylist
}

func newAuthenticator(v Verifier, optional bool, opts []Option) *authenticator {
	o := options{realm: DefaultRealm, cacheTTL: defaultUserCacheTTL}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if v == nil {
		v = refuseAll{}
	}
	a := &authenticator{
		v:        v,
		optional: optional,
		realm:    o.realm,
		onError:  o.onError,
		cookie:   o.cookie,
		query:    o.query,
		log:      o.log,
	}
	if a.onError == nil {
		a.onError = a.writeChallenge
	}
	if o.users != nil {
		a.users = newUserLoader(o.users, o.cacheTTL, o.cacheMax)
	}
	if o.deny != nil {
		a.deny = newDenyChecker(o.deny, o.cacheTTL, o.cacheMax)
	}
	return a
}

func (a *authenticator) writeChallenge(w http.ResponseWriter, _ *http.Request, c Challenge) {
	WriteChallenge(w, a.realm, c)
}

func (a *authenticator) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.serve(w, r, next)
	})
}

func (a *authenticator) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	raw, src, st := extractCredential(r, a.cookie, a.query)
	switch st {
	case credNone:
		if a.optional {
			next.ServeHTTP(w, r)
			return
		}
		a.refuse(w, r, refusal{Challenge{Status: http.StatusUnauthorized}, errNoCredentials, ""})
		return
	case credMalformed:
		a.refuse(w, r, refusal{Challenge{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Description: descMalformedCredential}, errMalformedCredential, ""})
		return
	case credMultiple:
		a.refuse(w, r, refusal{Challenge{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Description: descMultipleCredentials}, errMultipleCredentials, ""})
		return
	}
	ctx := r.Context()
	claims, u, no := a.authenticate(ctx, raw)
	if no != nil {
		a.refuse(w, r, *no)
		return
	}
	if src == srcQuery {
		w.Header().Set("Cache-Control", "private")
	}
	next.ServeHTTP(w, r.WithContext(withClaims(ctx, claims, u)))
}

// refusal is the answer to a request that is not let through, with its
// reason for the log.
type refusal struct {
	c     Challenge
	cause error
	sub   string // the verified subject, if any
}

// The reasons of refusals that are not a verifier's or a store's error.
var (
	errNoCredentials       = errors.New("no Bearer credentials")
	errMalformedCredential = errors.New("malformed Bearer credentials")
	errMultipleCredentials = errors.New("access token sent more than once")
	errNoVerifiedSubject   = errors.New("the verifier returned no subject")
	errUserDisabled        = errors.New("user disabled")
	errTokenBeforeCutoff   = errors.New("token issued before the user's TokensValidAfter")
)

// refuse logs no and answers with its challenge.
func (a *authenticator) refuse(w http.ResponseWriter, r *http.Request, no refusal) {
	if a.log != nil {
		a.logRefusal(r, no)
	}
	a.onError(w, r, no.c)
}

func (a *authenticator) logRefusal(r *http.Request, no refusal) {
	status := no.c.Status
	if status == 0 {
		status = http.StatusUnauthorized
	}
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelWarn
	case no.cause == errNoCredentials:
		level = slog.LevelDebug
	}
	ctx := r.Context()
	if !a.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 6)
	attrs = append(attrs, slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status))
	if no.c.Code != "" {
		attrs = append(attrs, slog.String("error", no.c.Code))
	}
	if no.cause != nil {
		attrs = append(attrs, slog.String("reason", no.cause.Error()))
	}
	if no.sub != "" {
		attrs = append(attrs, slog.String("sub", no.sub))
	}
	a.log.LogAttrs(ctx, level, "jwtauth: request refused", attrs...)
}

// authenticate verifies raw and, with user loading, checks its user. It
// returns the verified claims, which may be shared, and the request's copy
// of the user (nil without user loading), or the refusal to answer with.
func (a *authenticator) authenticate(ctx context.Context, raw string) (*Claims, *userstore.User, *refusal) {
	claims, err := a.v.Verify(ctx, raw)
	if err != nil {
		return nil, nil, &refusal{c: tokenChallenge(err), cause: err}
	}
	if claims == nil || claims.Subject == "" {
		return nil, nil, &refusal{c: invalidToken(descInvalidToken), cause: errNoVerifiedSubject}
	}
	if a.deny != nil {
		switch denied, err := a.deny.denied(ctx, claims.ID, claims.ExpiresAt); {
		case err != nil:
			return nil, nil, &refusal{unavailable(), fmt.Errorf("denylist: %w", err), claims.Subject}
		case denied:
			return nil, nil, &refusal{invalidToken(descRevokedToken), errTokenDenied, claims.Subject}
		}
	}
	if a.users == nil {
		return claims, nil, nil
	}
	u, err := a.users.user(ctx, claims.Subject)
	switch {
	case errors.Is(err, userstore.ErrNotFound):
		return nil, nil, &refusal{invalidToken(descRevokedToken), err, claims.Subject}
	case err != nil:
		return nil, nil, &refusal{unavailable(), fmt.Errorf("user store: %w", err), claims.Subject}
	case u == nil:
		return nil, nil, &refusal{invalidToken(descRevokedToken), userstore.ErrNotFound, claims.Subject}
	case u.Disabled:
		return nil, nil, &refusal{invalidToken(descRevokedToken), errUserDisabled, claims.Subject}
	case claims.IssuedAt.Unix() < u.TokensValidAfter.Unix():
		return nil, nil, &refusal{invalidToken(descRevokedToken), errTokenBeforeCutoff, claims.Subject}
	}
	return claims, u, nil
}

func invalidToken(desc string) Challenge {
	return Challenge{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Description: desc}
}

func unavailable() Challenge {
	return Challenge{Status: http.StatusServiceUnavailable, Code: CodeTemporarilyUnavailable, Description: descUnavailable}
}

// tokenChallenge maps a [Verifier] error to the answer, with a description
// from the fixed vocabulary.
func tokenChallenge(err error) Challenge {
	switch {
	case errors.Is(err, ErrUnavailable):
		return unavailable()
	case errors.Is(err, ErrTokenExpired):
		return invalidToken(descExpiredToken)
	case errors.Is(err, ErrTokenRevoked):
		return invalidToken(descRevokedToken)
	}
	return invalidToken(descInvalidToken)
}

// refuseAll is the [Verifier] that stands in for a nil one.
type refuseAll struct{}

func (refuseAll) Verify(context.Context, string) (*Claims, error) { return nil, errNilVerifier }

var errNilVerifier = fmt.Errorf("%w: no verifier configured", ErrTokenInvalid)
