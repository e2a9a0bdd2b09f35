package oauth2pw

import (
	"net/http"
	"strconv"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
)

// Error codes of RFC 6749 §5.2 (and, for throttling, RFC 8628 §3.5): the
// values of the "error" member of the token endpoint's error answers, as a
// client such as golang.org/x/oauth2 reports them (RetrieveError.ErrorCode).
const (
	// CodeInvalidRequest: a parameter is missing, repeated or malformed,
	// sent in the URL's query string, or carries characters that are not
	// allowed; the body is not a form or is too large; the method is not
	// POST; or the request authenticates its client twice.
	CodeInvalidRequest = "invalid_request"
	// CodeInvalidClient: client authentication failed, the presented
	// client credentials name no known client, or the Authorization header
	// is not HTTP Basic (401, with a Basic challenge).
	CodeInvalidClient = "invalid_client"
	// CodeInvalidGrant: the username or password is wrong, the user is
	// unknown or disabled, or the refresh token is unknown, expired,
	// spent, revoked or another client's. Each group is one answer.
	CodeInvalidGrant = "invalid_grant"
	// CodeUnsupportedGrantType: grant_type is not "password", nor
	// "refresh_token" when [Config.Refresh] is on.
	CodeUnsupportedGrantType = "unsupported_grant_type"
	// CodeInvalidScope: the requested scope is malformed or more than the
	// user or client may have.
	CodeInvalidScope = "invalid_scope"
	// CodeSlowDown: too many failed logins or client authentications; the
	// answer is 429 with a Retry-After header. RFC 6749 defines no code for
	// throttling; this one is borrowed from the device grant (RFC 8628
	// §3.5).
	CodeSlowDown = "slow_down"
	// CodeTemporarilyUnavailable: no hashing slot came free within
	// [Config.HashWait], the [Config.ThrottleStore] failed while checking
	// the attempt, or the request's context ended before the login was
	// attempted; the answer is 503 with a Retry-After header and
	// nothing is counted against the user. The code is the one RFC 6749
	// §4.1.2.1 defines for the authorization endpoint.
	CodeTemporarilyUnavailable = "temporarily_unavailable"
	// CodeServerError: the store, the hasher, the token issuer or the
	// [Config.Claims] hook failed (500). The cause is logged, never sent.
	CodeServerError = "server_error"
)

// The fixed vocabulary of error_description values. Each uses only the
// characters RFC 6749 §5.2 allows (%x20-21 / %x23-5B / %x5D-7E), so none
// needs escaping, and none echoes the request or a library error.
const (
	descMethod          = "The token endpoint accepts only POST"
	descContentType     = "The request body must be application/x-www-form-urlencoded"
	descBodyTooLarge    = "The request body is too large"
	descMalformedBody   = "The request body is not a valid form"
	descRepeatedParam   = "A request parameter was sent more than once"
	descMissingGrant    = "The grant_type parameter is required"
	descUnsupported     = "Only the password grant type is supported"
	descMissingCreds    = "The username and password parameters are required"
	descMultipleAuth    = "More than one client authentication method was used"
	descRepeatedAuthz   = "The Authorization header was sent more than once"
	descQueryParams     = "Token request parameters must be sent in the request body, not in the URL"
	descBadChars        = "The username or password contains characters that are not allowed"
	descInvalidClient   = "Client authentication failed"
	descInvalidGrant    = "The username or password is incorrect"
	descInvalidScope    = "The requested scope is invalid or not allowed"
	descThrottled       = "Too many failed login attempts, retry later"
	descClientThrottled = "Too many failed client authentication attempts, retry later"
	descBusy            = "The server is busy, retry later"
	descServerError     = "The server could not complete the request"
)

// tokenError is an RFC 6749 §5.2 error answer of the token endpoint: the
// code and the description the client sees, the status it goes with and,
// for the logs only, its cause. The description comes from the fixed
// vocabulary above.
type tokenError struct {
	code        string
	description string
	status      int
	cause       error
	retryAfter  time.Duration
}

// Error returns the code and description, and the cause if there is one,
// for the logs.
func (e *tokenError) Error() string {
	s := "oauth2pw: " + e.code + ": " + e.description
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

// Unwrap returns the cause of e, or nil.
func (e *tokenError) Unwrap() error { return e.cause }

// newTokenError returns the answer code at status with description desc.
func newTokenError(status int, code, desc string) *tokenError {
	return &tokenError{code: code, description: desc, status: status}
}

// withCause returns a copy of e that carries cause for the logs.
func (e *tokenError) withCause(cause error) *tokenError {
	c := *e
	c.cause = cause
	return &c
}

// setNoStore sets the cache headers that every token endpoint answer
// carries (RFC 6749 §5.1, §5.2).
func setNoStore(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// writeTokenError writes e as the response: its status, the cache headers,
// the header its status calls for (Allow on 405, a Basic challenge naming
// realm on 401, Retry-After in whole seconds on 429 and 503) and the JSON body
// {"error", "error_description"} that [jwtauth.WriteError], the one writer
// of authkit's error bodies, writes.
func writeTokenError(w http.ResponseWriter, realm string, e *tokenError) {
	h := w.Header()
	setNoStore(h)
	status := e.status
	if status == 0 {
		status = http.StatusBadRequest
	}
	switch status {
	case http.StatusMethodNotAllowed:
		h.Set("Allow", http.MethodPost)
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Basic realm="`+realm+`", charset="UTF-8"`)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		h.Set("Retry-After", strconv.FormatInt(retryAfterSeconds(e.retryAfter), 10))
	}
	jwtauth.WriteError(w, status, e.code, e.description)
}

// retryAfterSeconds rounds d up to whole seconds, at least one.
func retryAfterSeconds(d time.Duration) int64 {
	s := int64(d / time.Second) // no d+time.Second-1: it could overflow
	if d%time.Second > 0 {
		s++
	}
	return max(s, 1)
}
