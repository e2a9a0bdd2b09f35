package oauth2pw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/userstore"
)

// Defaults and bounds of [Config].
const (
	defaultMaxBodyBytes = 4 << 10
	minMaxBodyBytes     = 512
	defaultRealm        = "token"
	defaultClientID     = "authkit"
	defaultHashWait     = 2 * time.Second
	minClientSecretLen  = 16
)

// Config configures [NewHandler]. Users, Hasher and Tokens are required;
// every other field has a safe zero value.
type Config struct {
	// Users looks users up by username. Required. If it also implements
	// [userstore.PasswordHashUpgrader], hashes that the Hasher reports as
	// outdated are replaced after a successful login.
	Users userstore.Store
	// Hasher verifies passwords. Required, and it must be able to hash:
	// NewHandler hashes a random password with it once, so that a login
	// for an unknown user verifies against a hash of the current algorithm
	// and takes as long as one for a known user. The Handler runs at most
	// MaxConcurrentHashes of its hashes at once. A verification that the
	// limiter has admitted runs to its end even if the client hangs up: a
	// [userstore.ContextHasher] gets the request's context without its
	// cancellation, so keep MaxConcurrentHashes no higher than such a
	// hasher's own bound (as the defaults of both are) and it never waits
	// for one of its own slots. [userstore.NewHasher] returns the right
	// one.
	Hasher userstore.PasswordHasher
	// Tokens issues the access tokens. Required. It alone decides their
	// times: the endpoint leaves "iat" and "exp" for it to fill in (for
	// a [jwtauth.JWT], from [jwtauth.Config.TTL] and [jwtauth.Config.Now]),
	// and answers with expires_in set to the issued token's "exp" less
	// its "iat". A token issued without both is answered 500
	// server_error.
	Tokens jwtauth.Issuer
	// Claims, if not nil, adds claims from the stored user to every token
	// the endpoint issues: a role name, tenant IDs, a display name. It
	// runs once the password, the user and the scope have passed, just
	// before Tokens.Issue, with u a copy of the stored user and c the
	// claims the endpoint has set: "sub" (u.ID), "client_id", "scope" and
	// "roles"; "iss", "aud", "iat", "exp" and "jti" are still empty, for
	// Tokens to fill in. It adds custom claims to c.Extra with
	// [jwtauth.SetClaim], and only c.Extra is taken from it. A hook that
	// changes any other field of c, puts a registered claim name ("iss",
	// "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "scope",
	// "roles") in c.Extra, or returns an error fails the login with 500
	// server_error; the cause is logged at level Error, never sent. Nil
	// means tokens carry the registered claims only.
	Claims func(ctx context.Context, u *userstore.User, c *jwtauth.Claims) error

	// Policy supplies the byte cap on passwords: a longer password is
	// refused as invalid_grant without hashing. The zero value is the
	// default policy (1024 bytes).
	Policy userstore.PasswordPolicy
	// MaxBodyBytes caps the request body. Zero means 4096; values below
	// 512 are refused. A longer body is answered 413 before it is parsed.
	// Form encoding can take three bytes per password byte: raise it
	// with Policy.MaxBytes.
	MaxBodyBytes int64

	// MaxConcurrentHashes is the number of logins that may hold a hashing
	// slot at once, from the throttle check through the user lookup and
	// the password verification, and the new hash of an outdated one (the
	// signing and the store writes after it hold none), so that a burst of logins never runs unbounded concurrent hashes
	// whatever the Hasher. Zero means runtime.GOMAXPROCS(0), as hashing is
	// CPU-bound; negative values are refused.
	MaxConcurrentHashes int
	// HashWait is how long a login waits for a hashing slot. Past it the
	// endpoint answers 503 temporarily_unavailable with Retry-After: 1,
	// and the attempt is not counted against the user or the address.
	// Zero means 2 seconds; negative values are refused.
	HashWait time.Duration

	// RoleScopes maps a role to the scopes its holders may be granted: a
	// user may have the union of the scopes of their roles. Nil means that
	// each role grants the one scope of the same name (role "admin" may
	// request scope "admin").
	RoleScopes map[string][]string
	// DefaultScopes are granted when a request names no scope, less those
	// the user or client may not have. Nil means none: a request without
	// a scope gets a token without one.
	DefaultScopes []string

	// Clients lists the OAuth clients that may use the endpoint. Client
	// credentials that a request presents are always authenticated, with
	// or without Clients: a client_id, an HTTP Basic header or a
	// client_secret that names no client of Clients (nor DefaultClientID)
	// answers 401 invalid_client, and so does an Authorization header of
	// any scheme other than Basic. The empty Basic credential (user and
	// password both empty, "Basic Og==") counts as none. Empty means that
	// every request naming no client logs in as DefaultClientID.
	//
	// A client with Scopes needs RequireClient: otherwise a request could
	// leave out client_id and escape the client's limit, so NewHandler
	// refuses that config.
	Clients []Client
	// RequireClient refuses requests that do not name a client of Clients
	// (401 invalid_client); DefaultClientID is then never used. It needs
	// Clients; false lets requests without client credentials through as
	// DefaultClientID.
	RequireClient bool
	// DefaultClientID is the client_id claim of tokens issued to requests
	// that name no client (RFC 9068 makes the claim required). A request
	// may also name it with client_id alone, or with HTTP Basic and an
	// empty password, as a public client. It follows the grammar of
	// [Client.ID], and it may be the ID of a public client of Clients (whose
	// Scopes must then be nil, as RequireClient is false), but not of a
	// confidential one. Empty means "authkit".
	DefaultClientID string
	// Realm is the realm of the Basic challenge sent with invalid_client.
	// Empty means "token". It must not contain '"' or '\'.
	Realm string

	// Throttle tunes the limiter used when Limiter is nil: the in-memory
	// one, or the one on ThrottleStore. Its zero value gives the defaults
	// documented on [ThrottlePolicy].
	Throttle ThrottlePolicy
	// Limiter counts failed logins and failed client authentications and
	// decides when to answer 429. Nil means the limiter on ThrottleStore
	// if that is set, and otherwise an in-memory limiter configured by
	// Throttle, local to this Handler. Limiter, ThrottleStore and
	// InsecureNoThrottle exclude each other: NewHandler refuses a config
	// with more than one of them.
	Limiter Limiter
	// ThrottleStore, if not nil, keeps the limiter's records in a store
	// that every Handler given the same store shares: failures counted by
	// one instance of a service delay attempts on all of them. The
	// limiter follows Throttle, which all those Handlers should share,
	// except for MaxEntries: the store bounds its records itself. A
	// failed password is recognised as a repeat only by the Handler that
	// saw it first, as each Handler keys its own digests (see
	// [ThrottleKey.Secret]); across Handlers it counts again. If the
	// store fails while checking an attempt, the endpoint answers 503
	// temporarily_unavailable with Retry-After: 1 and does not check the
	// password; a store failure while recording the outcome is logged at
	// level Error. Nil means no shared store.
	ThrottleStore ThrottleStore
	// InsecureNoThrottle turns throttling off, leaving the endpoint open to
	// password guessing at the speed of the hasher. Only for tests and
	// set-ups that throttle in front of the handler.
	InsecureNoThrottle bool
	// TrustedProxies names the reverse proxies whose X-Forwarded-For
	// header is believed. A request whose connection comes from one of
	// them is counted against the right-most X-Forwarded-For address that
	// is not itself a trusted proxy. A prefix of length zero (0.0.0.0/0,
	// ::/0) is refused: it would make every client a trusted proxy and let
	// anyone choose the address they are counted against. Nil means the
	// connection's address
	// always counts and X-Forwarded-For is ignored. A connection without
	// an IP address (a Unix socket) counts as the zero Addr, so all such
	// clients share one address count and one client's failures delay
	// everyone's logins: put the endpoint behind its proxy over TCP, or
	// supply a Limiter.
	TrustedProxies []netip.Prefix

	// Logger receives an event for every successful, failed and throttled
	// login, and for logins refused for want of a hashing slot: the
	// normalised username, user ID, client, address and, for failures,
	// the reason (unknown_user, bad_password, disabled, password_too_long,
	// unreadable_hash); never the password or the token. Failed and
	// throttled client authentications are logged with the address and,
	// for failures, the reason (no_client, secret_without_id, bad_client),
	// never the client_id or secret presented. The cause of every 500
	// server_error (store, hasher, issuer, Claims) is logged at level
	// Error, and every request refused for its shape before any login at
	// level Debug, with the address and the answer. Users sometimes type
	// a password into the username field, so keep these logs as private
	// as other credentials-adjacent data. Nil means no logging.
	Logger *slog.Logger
	// Refresh turns refresh tokens on and tunes them; its zero value
	// leaves them off. See [RefreshConfig].
	Refresh RefreshConfig

	// Now returns the current time for the in-memory limiter's delays and
	// windows and for the lifetimes of refresh tokens. Nil means
	// time.Now. The times in access tokens are the issuer's (see Tokens).
	Now func() time.Time
}

// Client is an OAuth client allowed to use the token endpoint (RFC 6749
// §2). A client with a Secret is confidential and authenticates with HTTP
// Basic or with the client_id and client_secret form parameters; one
// without is public and names itself with client_id alone.
type Client struct {
	// ID is the client_id. It must not be empty or contain ':' (the Basic
	// separator) or characters outside printable ASCII and space.
	ID string
	// Secret is the client secret of a confidential client: at least 16
	// bytes, from a random generator. It is compared in constant time.
	// Empty means a public client.
	Secret string
	// Scopes, if not nil, limits the scopes tokens issued to this client
	// may carry, whatever the user may have. It needs
	// [Config.RequireClient].
	Scopes []string
}

// validate returns an error for a config that cannot be safe, and c with
// its defaults applied.
func (c Config) validate() (Config, error) {
	var errs []error
	if c.Users == nil {
		errs = append(errs, errors.New("Users is nil"))
	}
	if c.Hasher == nil {
		errs = append(errs, errors.New("Hasher is nil"))
	}
	if c.Tokens == nil {
		errs = append(errs, errors.New("Tokens is nil"))
	}
	if err := c.Policy.Validate(); err != nil {
		errs = append(errs, err)
	}
	switch {
	case c.MaxBodyBytes == 0:
		c.MaxBodyBytes = defaultMaxBodyBytes
	case c.MaxBodyBytes < minMaxBodyBytes:
		errs = append(errs, fmt.Errorf("MaxBodyBytes %d below %d", c.MaxBodyBytes, minMaxBodyBytes))
	}
	for role, scopes := range c.RoleScopes {
		if err := checkScopes(scopes); err != nil {
			errs = append(errs, fmt.Errorf("RoleScopes[%q]: %w", role, err))
		}
	}
	if err := checkScopes(c.DefaultScopes); err != nil {
		errs = append(errs, fmt.Errorf("DefaultScopes: %w", err))
	}
	switch {
	case c.MaxConcurrentHashes == 0:
		c.MaxConcurrentHashes = runtime.GOMAXPROCS(0)
	case c.MaxConcurrentHashes < 0:
		errs = append(errs, fmt.Errorf("MaxConcurrentHashes %d is negative", c.MaxConcurrentHashes))
	}
	switch {
	case c.HashWait == 0:
		c.HashWait = defaultHashWait
	case c.HashWait < 0:
		errs = append(errs, fmt.Errorf("HashWait %v is negative", c.HashWait))
	}
	if c.DefaultClientID == "" {
		c.DefaultClientID = defaultClientID
	} else if !validClientID(c.DefaultClientID) {
		errs = append(errs, errors.New("DefaultClientID: invalid ID"))
	}
	seen := make(map[string]bool, len(c.Clients))
	for i, cl := range c.Clients {
		switch {
		case !validClientID(cl.ID):
			errs = append(errs, fmt.Errorf("Clients[%d]: invalid ID", i))
		case seen[cl.ID]:
			errs = append(errs, fmt.Errorf("Clients[%d]: duplicate ID %q", i, cl.ID))
		case cl.Secret != "" && len(cl.Secret) < minClientSecretLen:
			errs = append(errs, fmt.Errorf("Clients[%d]: secret shorter than %d bytes", i, minClientSecretLen))
		}
		seen[cl.ID] = true
		if err := checkScopes(cl.Scopes); err != nil {
			errs = append(errs, fmt.Errorf("Clients[%d].Scopes: %w", i, err))
		}
		if cl.Scopes != nil && !c.RequireClient {
			errs = append(errs, fmt.Errorf("Clients[%d] has Scopes but RequireClient is false: a request without client_id would escape them", i))
		}
		if cl.ID == c.DefaultClientID && cl.Secret != "" {
			errs = append(errs, fmt.Errorf("Clients[%d]: DefaultClientID names a confidential client", i))
		}
	}
	if c.RequireClient && len(c.Clients) == 0 {
		errs = append(errs, errors.New("RequireClient without Clients"))
	}
	if c.Realm == "" {
		c.Realm = defaultRealm
	} else if !isVisibleASCIIOrSpace(c.Realm) || strings.ContainsAny(c.Realm, `"\`) {
		errs = append(errs, errors.New("Realm contains a quote, a backslash or a control character"))
	}
	switch {
	case c.Limiter != nil && c.InsecureNoThrottle:
		errs = append(errs, errors.New("both Limiter and InsecureNoThrottle are set"))
	case c.Limiter != nil && c.ThrottleStore != nil:
		errs = append(errs, errors.New("both Limiter and ThrottleStore are set"))
	case c.ThrottleStore != nil && c.InsecureNoThrottle:
		errs = append(errs, errors.New("both ThrottleStore and InsecureNoThrottle are set"))
	}
	if c.Limiter == nil && !c.InsecureNoThrottle {
		if err := c.Throttle.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	for i, p := range c.TrustedProxies {
		switch {
		case !p.IsValid():
			errs = append(errs, fmt.Errorf("TrustedProxies[%d] is not a valid prefix", i))
		case p.Bits() == 0:
			errs = append(errs, fmt.Errorf("TrustedProxies[%d] %v trusts every address", i, p))
		}
	}
	var err error
	if c.Refresh, err = c.Refresh.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("oauth2pw: invalid config: %w", err)
	}
	return c, nil
}

// validClientID reports whether id may be a client_id: not empty, printable
// ASCII or space, and no ':'.
func validClientID(id string) bool {
	return id != "" && isVisibleASCIIOrSpace(id) && strings.IndexByte(id, ':') < 0
}

// isVisibleASCIIOrSpace reports whether s holds only %x20-7E.
func isVisibleASCIIOrSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
