package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// verifier is the verification core shared by [JWT] and [RemoteVerifier]:
// size checks and the cache of verified tokens, then the JWS check
// ([verifier.verifyCompact]), then the strict claims reader
// ([decodeClaims]) on the verified payload only, then the claim values
// ([verifier.validate]).
type verifier struct {
	issuer   string
	audience []string
	leeway   time.Duration
	maxBytes int
	// anyClient accepts tokens without "client_id".
	anyClient bool
	now       func() time.Time
	cache     *tokenCache // nil when disabled
	snap      func() *keySnapshot
	// refetch, when not nil, is called for an unknown key ID with the
	// snapshot that lacked it; it may return a newer snapshot, or nil.
	refetch func(ctx context.Context, seen *keySnapshot) *keySnapshot
}

// Fixed errors of the size and claims checks, so that rejecting garbage
// costs no allocation. Their texts contain no '"'.
var (
	errEmptyToken     = fmt.Errorf("%w: empty", ErrTokenMalformed)
	errTooLarge       = fmt.Errorf("%w: too large", ErrTokenMalformed)
	errBadPayload     = fmt.Errorf("%w: payload is not a JSON object with unique, well-typed claims", ErrTokenMalformed)
	errNoExp          = fmt.Errorf("%w: no exp claim", ErrTokenInvalid)
	errWrongIssuer    = fmt.Errorf("%w: wrong issuer", ErrTokenInvalid)
	errWrongAudience  = fmt.Errorf("%w: wrong audience", ErrTokenInvalid)
	errNoSubject      = fmt.Errorf("%w: no subject", ErrTokenInvalid)
	errNoIat          = fmt.Errorf("%w: no iat claim", ErrTokenInvalid)
	errNoJTI          = fmt.Errorf("%w: no jti claim", ErrTokenInvalid)
	errNoClientID     = fmt.Errorf("%w: no client_id claim", ErrTokenInvalid)
	errExpired        = fmt.Errorf("%w: exp is in the past", ErrTokenExpired)
	errNotYetValidNbf = fmt.Errorf("%w: nbf is in the future", ErrTokenNotYetValid)
	errNotYetValidIat = fmt.Errorf("%w: iat is in the future", ErrTokenNotYetValid)
)

// verify checks raw and returns its claims, which may be shared through the
// cache and must not be modified.
func (v *verifier) verify(ctx context.Context, raw string) (*Claims, error) {
	if raw == "" {
		return nil, errEmptyToken
	}
	if len(raw) > v.maxBytes {
		return nil, errTooLarge
	}
	now := v.now()
	snap := v.snap()
	if v.cache != nil {
		// Only tokens that passed every check are cached, so an exact
		// match needs no syntax check again.
		if c := v.cache.get(raw, snap.version, now, v.leeway); c != nil {
			return c, nil
		}
	}
	payload, snap, err := v.verifyCompact(ctx, raw, snap)
	if err != nil {
		return nil, err
	}
	c, err := decodeClaims(payload)
	if err != nil {
		return nil, errBadPayload
	}
	notBefore, err := v.validate(c, now)
	if err != nil {
		return nil, err
	}
	if v.cache != nil {
		v.cache.put(raw, c, snap.version, c.ExpiresAt, notBefore)
	}
	return c, nil
}

// validate checks the decoded claims against the configuration and now. It
// returns the instant before which the token is not yet valid (the later of
// nbf and iat), or the zero time.
func (v *verifier) validate(c *Claims, now time.Time) (time.Time, error) {
	if c.ExpiresAt.IsZero() {
		return time.Time{}, errNoExp
	}
	if c.Issuer != v.issuer {
		return time.Time{}, errWrongIssuer
	}
	if !slices.ContainsFunc(c.Audience, func(a string) bool { return slices.Contains(v.audience, a) }) {
		return time.Time{}, errWrongAudience
	}
	if c.Subject == "" {
		return time.Time{}, errNoSubject
	}
	if c.IssuedAt.IsZero() {
		return time.Time{}, errNoIat
	}
	if c.ID == "" {
		return time.Time{}, errNoJTI
	}
	if c.ClientID == "" && !v.anyClient {
		return time.Time{}, errNoClientID
	}
	if !now.Before(c.ExpiresAt.Add(v.leeway)) {
		return time.Time{}, errExpired
	}
	late := now.Add(v.leeway)
	if late.Before(c.NotBefore) {
		return time.Time{}, errNotYetValidNbf
	}
	if late.Before(c.IssuedAt) {
		return time.Time{}, errNotYetValidIat
	}
	nb := c.NotBefore
	if c.IssuedAt.After(nb) {
		nb = c.IssuedAt
	}
	return nb, nil
}

// checkVerifierConfig validates and defaults the settings both verifiers
// share.
func checkVerifierConfig(issuer string, audience []string, leeway time.Duration, maxBytes int) (time.Duration, int, error) {
	if issuer == "" {
		return 0, 0, errors.New("jwtauth: Issuer is required")
	}
	if len(audience) == 0 || slices.Contains(audience, "") {
		return 0, 0, errors.New("jwtauth: Audience is required and must not contain empty strings")
	}
	switch {
	case leeway < 0:
		return 0, 0, errors.New("jwtauth: Leeway must not be negative")
	case leeway == 0:
		leeway = defaultLeeway
	case leeway > 5*time.Minute:
		return 0, 0, errors.New("jwtauth: Leeway over 5 minutes is unsafe")
	}
	switch {
	case maxBytes < 0:
		return 0, 0, errors.New("jwtauth: MaxTokenBytes must not be negative")
	case maxBytes == 0:
		maxBytes = defaultMaxTokenBytes
	case maxBytes > 1<<20:
		return 0, 0, errors.New("jwtauth: MaxTokenBytes over 1 MiB is unsafe")
	}
	return leeway, maxBytes, nil
}

// Defaults for the zero values of [Config] and [RemoteConfig] fields.
const (
	// defaultTTL is the token lifetime when Config.TTL is zero.
	defaultTTL = 30 * time.Minute
	// defaultLeeway is the clock skew allowed when checking exp, nbf and
	// iat, when Leeway is zero.
	defaultLeeway = 5 * time.Second
	// defaultMaxTokenBytes is the size cap when MaxTokenBytes is zero.
	defaultMaxTokenBytes = 8 << 10
	// defaultCacheSize is the number of verified tokens cached when
	// CacheSize is zero.
	defaultCacheSize = 10000
)
