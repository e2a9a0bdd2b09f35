package jwtauth

import (
	"context"
	"crypto/rand"
	"errors"
	"maps"
	"slices"
	"time"
	"unicode/utf8"
)

// Config configures a [JWT] issuer and verifier.
type Config struct {
	// Keys signs with its active key and verifies with all of its keys.
	// Required.
	Keys *KeySet
	// Issuer is the "iss" of issued tokens, which verified tokens must
	// carry exactly. Required.
	Issuer string
	// Audience is the default "aud" of issued tokens; a verified token's
	// "aud" must contain at least one of these. Required.
	Audience []string
	// TTL is the default token lifetime. Zero means 30 minutes; more
	// than 24 hours is refused.
	TTL time.Duration
	// Leeway is the clock skew allowed when checking exp, nbf and iat.
	// Zero means 5 seconds; negative or more than 5
	// minutes is refused.
	Leeway time.Duration
	// MaxTokenBytes caps the size of a token before any parsing. Zero
	// means 8 KiB.
	MaxTokenBytes int
	// CacheSize is the number of verified tokens remembered. Zero means
	// 10000; negative disables the cache.
	CacheSize int
	// AllowMissingClientID makes Verify accept tokens without a
	// "client_id" claim, which RFC 9068 §2.2 requires, for tokens of
	// issuers that leave it out (some name the client in "azp" instead,
	// which [ClaimAs] reads from Claims.Extra). The zero value, false,
	// refuses them. Issue always sets "client_id".
	AllowMissingClientID bool
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// maxTTL bounds Config.TTL: access tokens are short-lived.
const maxTTL = 24 * time.Hour

// JWT issues and verifies RFC 9068 access tokens with the keys of a
// [KeySet]. It implements [Issuer] and [Verifier] and is safe for concurrent
// use.
type JWT struct {
	v        verifier
	keys     *KeySet
	issuer   string
	audience []string
	ttl      time.Duration
	now      func() time.Time
}

var (
	_ Issuer   = (*JWT)(nil)
	_ Verifier = (*JWT)(nil)
)

// New returns a JWT for cfg, or an error if cfg is incomplete or unsafe.
func New(cfg Config) (*JWT, error) {
	if cfg.Keys == nil {
		return nil, errors.New("jwtauth: Keys is required")
	}
	if cfg.Keys.snapshot() == nil {
		return nil, errZeroKeySet
	}
	leeway, maxBytes, err := checkVerifierConfig(cfg.Issuer, cfg.Audience, cfg.Leeway, cfg.MaxTokenBytes)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.TTL < 0:
		return nil, errors.New("jwtauth: TTL must not be negative")
	case cfg.TTL == 0:
		cfg.TTL = defaultTTL
	case cfg.TTL > maxTTL:
		return nil, errors.New("jwtauth: TTL over 24 hours is refused: access tokens must be short-lived")
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	aud := slices.Clone(cfg.Audience)
	return &JWT{
		v: verifier{
			issuer:    cfg.Issuer,
			audience:  aud,
			leeway:    leeway,
			maxBytes:  maxBytes,
			anyClient: cfg.AllowMissingClientID,
			now:       now,
			cache:     newTokenCache(cfg.CacheSize),
			snap:      cfg.Keys.snapshot,
		},
		keys:     cfg.Keys,
		issuer:   cfg.Issuer,
		audience: aud,
		ttl:      cfg.TTL,
		now:      now,
	}, nil
}

// Verify checks raw strictly (RFC 8725) and returns its claims: see
// [Verifier]. Tokens that verified are cached (see [Config.CacheSize]), so
// the returned *Claims may be shared between calls and must not be
// modified ([Middleware] hands each request its own copy). The context is
// not used.
func (j *JWT) Verify(ctx context.Context, raw string) (*Claims, error) {
	return j.v.verify(ctx, raw)
}

// Issue signs an access token for c with the key set's active key. It fills
// in what c leaves empty: "iss" and "aud" from the [Config], "iat" as now,
// "exp" as "iat" plus the TTL, and "jti" as a fresh random ID. It refuses an
// empty Subject or ClientID, an Issuer other than the configured one, an
// "exp" not after "iat", scope values that are not RFC 6749 scope tokens,
// strings and claim names that are not valid UTF-8, Extra members named
// like registered claims, and times a verifier would refuse (not after
// 1970, or after 9999). Times are truncated to whole seconds, as they
// travel. The returned Token's Claims are the ones signed.
func (j *JWT) Issue(ctx context.Context, c Claims) (Token, error) {
	if c.Subject == "" {
		return Token{}, errors.New("jwtauth: issue: Subject is required")
	}
	if c.ClientID == "" {
		return Token{}, errors.New("jwtauth: issue: ClientID is required: RFC 9068 access tokens name their client")
	}
	if c.Issuer == "" {
		c.Issuer = j.issuer
	} else if c.Issuer != j.issuer {
		return Token{}, errors.New("jwtauth: issue: Issuer differs from the configured issuer")
	}
	if len(c.Audience) == 0 {
		c.Audience = j.audience
	}
	c.Audience = slices.Clone(c.Audience)
	for _, s := range c.Scope {
		if !IsScopeToken(s) {
			return Token{}, errors.New("jwtauth: issue: invalid scope value")
		}
	}
	c.Scope = slices.Clone(c.Scope)
	c.Roles = slices.Clone(c.Roles)
	c.Extra = maps.Clone(c.Extra)
	// The JSON encoder would replace invalid UTF-8 with U+FFFD, so that the
	// token carried other values than the ones asked for and returned.
	if !utf8.ValidString(c.Subject) || !utf8.ValidString(c.ID) || !utf8.ValidString(c.ClientID) ||
		slices.ContainsFunc(c.Audience, invalidUTF8) || slices.ContainsFunc(c.Roles, invalidUTF8) {
		return Token{}, errors.New("jwtauth: issue: claim values must be valid UTF-8")
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = j.now()
	}
	c.IssuedAt = c.IssuedAt.Truncate(time.Second)
	if c.ExpiresAt.IsZero() {
		c.ExpiresAt = c.IssuedAt.Add(j.ttl)
	}
	c.ExpiresAt = c.ExpiresAt.Truncate(time.Second)
	if !c.NotBefore.IsZero() {
		c.NotBefore = c.NotBefore.Truncate(time.Second)
	}
	if !inNumericDateRange(c.IssuedAt) || !inNumericDateRange(c.ExpiresAt) ||
		(!c.NotBefore.IsZero() && !inNumericDateRange(c.NotBefore)) {
		return Token{}, errors.New("jwtauth: issue: times must lie after 1970 and before the year 10000")
	}
	if !c.ExpiresAt.After(c.IssuedAt) {
		return Token{}, errors.New("jwtauth: issue: ExpiresAt must be after IssuedAt")
	}
	if c.ID == "" {
		c.ID = rand.Text()
	}
	payload, err := encodeClaims(&c)
	if err != nil {
		return Token{}, err
	}
	key := j.keys.Active()
	raw, err := sign(key, payload)
	if err != nil {
		return Token{}, err
	}
	return Token{Raw: raw, Claims: c}, nil
}

func invalidUTF8(s string) bool { return !utf8.ValidString(s) }
