package jwtauth

import (
	"context"
	"errors"
)

// Denylist tells which access tokens were revoked before their expiry,
// by their "jti" claim: the tokens an RFC 7009 revocation or a sign-out
// named. A store shared by every instance of a service (as the refresh
// token store of the token endpoint is) makes a revocation on one instance
// refuse the token on all of them.
//
// Implementations must be safe for concurrent use. An entry may be dropped
// once the token it names has expired.
type Denylist interface {
	// Denied reports whether the token whose "jti" is jti was revoked. An
	// error means the list could not be read (a database that is down);
	// the caller cannot tell whether the token is good.
	Denied(ctx context.Context, jti string) (bool, error)
}

// WithDenylist makes the middleware refuse tokens whose "jti" d reports
// as denied: 401 [CodeInvalidToken], "The access token is no longer
// valid". If d fails, the request is answered 503
// [CodeTemporarilyUnavailable] without a WWW-Authenticate challenge, as
// for a failing user store ([WithUsers]): the token may well be good. d
// is asked after the token verified and before its user is loaded,
// through the cache [WithUserCache] sets, as users are: an answer is
// reused for the cache's ttl (never past the token's expiry), so a
// revocation reaches a middleware within that ttl, at once with the cache
// off. Failures are never cached. A nil d turns the check off.
func WithDenylist(d Denylist) Option {
	return func(o *options) { o.deny = d }
}

// errTokenDenied is the reason logged for a token on the denylist.
var errTokenDenied = errors.New("token on the denylist")
