package jwtauth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// verifier is the verification core shared by [JWT] and [RemoteVerifier].
//
// It never hands the token to a JOSE parser: jwx's jwt.Parse accepts the
// JSON serialization and takes claims from its unverified outer object. The
// token must be the compact serialization, each segment canonical unpadded
// base64url; the header is read by our own strict reader; the signature is
// checked with the key the header's "kid" selects and that key's algorithm,
// which the header's "alg" must equal; and the claims are read from the
// verified payload only, again by our own strict reader.
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

// Fixed errors for the pre-parsing checks, so that rejecting garbage costs
// no allocation. Their texts contain no '"'.
var (
	errEmptyToken     = fmt.Errorf("%w: empty", ErrTokenMalformed)
	errTooLarge       = fmt.Errorf("%w: too large", ErrTokenMalformed)
	errNotCompact     = fmt.Errorf("%w: not a compact JWS with three segments", ErrTokenMalformed)
	errBadBase64      = fmt.Errorf("%w: segment is not canonical unpadded base64url", ErrTokenMalformed)
	errBadHeader      = fmt.Errorf("%w: header is not a JSON object with unique members", ErrTokenMalformed)
	errBadPayload     = fmt.Errorf("%w: payload is not a JSON object with unique, well-typed claims", ErrTokenMalformed)
	errNoKID          = fmt.Errorf("%w: header has no kid", ErrTokenInvalid)
	errUnknownKID     = fmt.Errorf("%w: unknown key ID", ErrTokenInvalid)
	errAlgMismatch    = fmt.Errorf("%w: algorithm does not match the key", ErrTokenInvalid)
	errBadTyp         = fmt.Errorf("%w: typ is not at+jwt", ErrTokenInvalid)
	errCrit           = fmt.Errorf("%w: unsupported critical header", ErrTokenInvalid)
	errCty            = fmt.Errorf("%w: cty header: nested tokens are not supported", ErrTokenInvalid)
	errBadSignature   = fmt.Errorf("%w: bad signature", ErrTokenInvalid)
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

// b64 decodes canonical unpadded base64url: strict mode refuses non-zero
// trailing bits. Line breaks, which the decoder skips, are refused earlier.
var b64 = base64.RawURLEncoding.Strict()

// splitCompact checks that raw is three base64url segments joined by dots
// and returns the positions of the dots. Empty header, payload or
// signature segments are refused.
func splitCompact(raw string) (d1, d2 int, err error) {
	d1, d2 = -1, -1
	for i := 0; i < len(raw); i++ {
		switch compactChars[raw[i]] {
		case 1:
		case 2:
			switch {
			case d1 < 0:
				d1 = i
			case d2 < 0:
				d2 = i
			default:
				return 0, 0, errNotCompact
			}
		default:
			return 0, 0, errBadBase64
		}
	}
	if d2 < 0 || d1 == 0 || d2 == d1+1 || d2 == len(raw)-1 {
		return 0, 0, errNotCompact
	}
	return d1, d2, nil
}

// compactChars classifies bytes of a compact JWS: 1 for the base64url
// alphabet, 2 for the dot, 0 for anything else.
const compactChars = "" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x02\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00\x00\x00" +
	"\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00\x01" +
	"\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

func decodeSegment(seg string) ([]byte, error) {
	buf := make([]byte, b64.DecodedLen(len(seg)))
	n, err := b64.Decode(buf, []byte(seg))
	if err != nil {
		return nil, errBadBase64
	}
	return buf[:n], nil
}

type header struct {
	alg, kid, typ string
}

// parseHeader reads the protected header. "crit" is refused whatever it
// lists, since no extension is understood, and so is "cty" whatever its
// value: an access token's payload is its claims, never a nested token (RFC
// 7519 §5.2, RFC 9068 §2.1). "jwk", "jku", "x5u", "x5c" and every other
// member are ignored.
func parseHeader(seg string) (header, error) {
	var h header
	data, err := decodeSegment(seg)
	if err != nil {
		return h, err
	}
	if !checkJSON(data) {
		return h, errBadHeader
	}
	var seen uint8
	crit, cty := false, false
	err = eachMember(data, func(name, v []byte) error {
		var bit uint8
		var dst *string
		switch string(name) {
		case "alg":
			bit, dst = 1, &h.alg
		case "kid":
			bit, dst = 2, &h.kid
		case "typ":
			bit, dst = 4, &h.typ
		case "crit":
			crit = true
			return nil
		case "cty":
			cty = true
			return nil
		default:
			return nil
		}
		if seen&bit != 0 {
			return errDuplicateKey
		}
		seen |= bit
		s, err := jsonString(v)
		*dst = s
		return err
	})
	if err != nil {
		return h, errBadHeader
	}
	if crit {
		return h, errCrit
	}
	if cty {
		return h, errCty
	}
	return h, nil
}

// typOK accepts "at+jwt" and "application/at+jwt" (RFC 9068 §2.1, media
// types are case-insensitive).
func typOK(typ string) bool {
	return strings.EqualFold(typ, "at+jwt") || strings.EqualFold(typ, "application/at+jwt")
}

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
	d1, d2, err := splitCompact(raw)
	if err != nil {
		return nil, err
	}
	h, err := parseHeader(raw[:d1])
	if err != nil {
		return nil, err
	}
	if h.kid == "" {
		return nil, errNoKID
	}
	if !typOK(h.typ) {
		return nil, errBadTyp
	}
	key := snap.keys[h.kid]
	if key == nil && v.refetch != nil {
		if s := v.refetch(ctx, snap); s != nil {
			snap = s
			key = snap.keys[h.kid]
		}
	}
	if key == nil {
		return nil, errUnknownKID
	}
	if h.alg != string(key.alg) {
		return nil, errAlgMismatch
	}
	sig, err := decodeSegment(raw[d2+1:])
	if err != nil {
		return nil, err
	}
	if !key.verify([]byte(raw[:d2]), sig) {
		return nil, errBadSignature
	}
	payload, err := decodeSegment(raw[d1+1 : d2])
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
