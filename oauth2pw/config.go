package oauth2pw

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/userstore"
)

// Defaults and bounds of [Config].
const (
	defaultTTL          = 30 * time.Minute
	maxTTL              = 24 * time.Hour
	defaultMaxBodyBytes = 4 << 10
	minMaxBodyBytes     = 512
	defaultRealm        = "token"
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
	// and takes as long as one for a known user. If it implements
	// [userstore.ContextHasher], the request's context bounds the wait for
	// a hashing slot. [userstore.NewHasher] returns the right one.
	Hasher userstore.PasswordHasher
	// Tokens issues the access tokens. Required.
	Tokens jwtauth.Issuer

	// TTL is the lifetime of the access tokens. Zero means 30 minutes;
	// negative values and values above 24 hours are refused.
	TTL time.Duration
	// Policy supplies the byte cap on passwords: a longer password is
	// refused as invalid_grant without hashing. The zero value is the
	// default policy (1024 bytes).
	Policy userstore.PasswordPolicy
	// MaxBodyBytes caps the request body. Zero means 4096; values below
	// 512 are refused. A longer body is answered 413 before it is parsed.
	// Form encoding can take three bytes per password byte: raise it
	// with Policy.MaxBytes.
	MaxBodyBytes int64

	// RoleScopes maps a role to the scopes its holders may be granted: a
	// user may have the union of the scopes of their roles. Nil means that
	// each role grants the one scope of the same name (role "admin" may
	// request scope "admin").
	RoleScopes map[string][]string
	// DefaultScopes are granted when a request names no scope, less those
	// the user or client may not have. Nil means none: a request without
	// a scope gets a token without one.
	DefaultScopes []string

	// Clients lists the OAuth clients that may use the endpoint. Empty
	// means client authentication is off: client_id, client_secret and
	// Authorization headers are ignored and tokens carry no client_id.
	Clients []Client
	// RequireClient refuses requests that do not name a client (401
	// invalid_client). It needs Clients; false lets requests without
	// client credentials through with no client_id in the token.
	RequireClient bool
	// Realm is the realm of the Basic challenge sent with invalid_client.
	// Empty means "token". It must not contain '"' or '\'.
	Realm string

	// Throttle tunes the in-memory limiter used when Limiter is nil. Its
	// zero value gives the defaults documented on [ThrottlePolicy].
	Throttle ThrottlePolicy
	// Limiter counts failed logins and decides when to answer 429. Nil
	// means an in-memory limiter configured by Throttle, local to this
	// Handler.
	Limiter Limiter
	// InsecureNoThrottle turns throttling off, leaving the endpoint open to
	// password guessing at the speed of the hasher. Only for tests and
	// set-ups that throttle in front of the handler.
	InsecureNoThrottle bool
	// TrustedProxies names the reverse proxies whose X-Forwarded-For
	// header is believed. A request whose connection comes from one of
	// them is counted against the right-most X-Forwarded-For address that
	// is not itself a trusted proxy. Nil means the connection's address
	// always counts and X-Forwarded-For is ignored. A connection without
	// an IP address (a Unix socket) counts as the zero Addr, so all such
	// clients share one address count and one client's failures delay
	// everyone's logins: put the endpoint behind its proxy over TCP, or
	// supply a Limiter.
	TrustedProxies []netip.Prefix

	// Logger receives an event for every successful, failed and throttled
	// login: the normalised username, user ID, client, address and, for
	// failures, the reason (unknown_user, bad_password, disabled,
	// password_too_long, unreadable_hash); never the password or the
	// token. Users sometimes type a password into the username field, so
	// keep these logs as private as other credentials-adjacent data. Nil
	// means no logging.
	Logger *slog.Logger
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// Client is an OAuth client allowed to use the token endpoint (RFC 6749
// §2). A client with a Secret is confidential and authenticates with HTTP
// Basic or with the client_id and client_secret form parameters; one
// without is public and names itself with client_id alone.
type Client struct {
	// ID is the client_id. It must not be empty or contain ':' (the Basic
	// separator) or control characters.
	ID string
	// Secret is the client secret of a confidential client: at least 16
	// bytes, from a random generator. It is compared in constant time.
	// Empty means a public client.
	Secret string
	// Scopes, if not nil, limits the scopes tokens issued to this client
	// may carry, whatever the user may have.
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
	switch {
	case c.TTL == 0:
		c.TTL = defaultTTL
	case c.TTL < 0 || c.TTL > maxTTL:
		errs = append(errs, fmt.Errorf("TTL %v outside (0, %v]", c.TTL, maxTTL))
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
	seen := make(map[string]bool, len(c.Clients))
	for i, cl := range c.Clients {
		switch {
		case cl.ID == "" || !isVisibleASCIIOrSpace(cl.ID) || strings.IndexByte(cl.ID, ':') >= 0:
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
	}
	if c.RequireClient && len(c.Clients) == 0 {
		errs = append(errs, errors.New("RequireClient without Clients"))
	}
	if c.Realm == "" {
		c.Realm = defaultRealm
	} else if !isVisibleASCIIOrSpace(c.Realm) || strings.ContainsAny(c.Realm, `"\`) {
		errs = append(errs, errors.New("Realm contains a quote, a backslash or a control character"))
	}
	if c.Limiter != nil && c.InsecureNoThrottle {
		errs = append(errs, errors.New("both Limiter and InsecureNoThrottle are set"))
	}
	if c.Limiter == nil && !c.InsecureNoThrottle {
		if err := c.Throttle.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	for i, p := range c.TrustedProxies {
		if !p.IsValid() {
			errs = append(errs, fmt.Errorf("TrustedProxies[%d] is not a valid prefix", i))
		}
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

// isVisibleASCIIOrSpace reports whether s holds only %x20-7E.
func isVisibleASCIIOrSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
