package oauth2pw

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/userstore"
)

// RefreshStore keeps refresh-token families: one family per password
// login, holding the chain of refresh tokens that rotation hands out, one
// live token at a time. It also keeps the access-token denylist that
// revocation and sign-out write to, and implements [jwtauth.Denylist] so
// that the Bearer middleware of every instance sharing the store can read
// it.
//
// Tokens are named by their SHA-256 digest (32 bytes): the store never
// sees a refresh token. Every method speaks in standard types, so a store
// implements the interface without importing this package;
// [memory.Sessions] is the in-memory implementation and storetest's
// RunSessions the conformance suite.
//
// Missing families and tokens are reported with an error wrapping
// [userstore.ErrNotFound]; a rotation that lost its race with another,
// with one wrapping [userstore.ErrConflict]. Implementations must be safe
// for concurrent use, and must copy the slices they are given and return.
//
// [memory.Sessions]: https://pkg.go.dev/github.com/authkit-go/authkit/userstore/memory#Sessions
type RefreshStore interface {
	// CreateRefreshFamily stores a new family (ID family, for the user
	// and client, with the scope granted at login, created at created,
	// dead after expires) with its first token, unspent, which expires at
	// tokenExpires. It returns an error wrapping [userstore.ErrDuplicate]
	// if the family ID or the token is already stored.
	CreateRefreshFamily(ctx context.Context, family, userID, clientID string, scope []string, created, expires time.Time, token []byte, tokenExpires time.Time) error
	// RefreshToken returns the family of a stored token, the instant it
	// expires and, once it has been rotated, the instant it was spent and
	// the successor sealed by the rotation; spent is the zero time for
	// the family's live token.
	RefreshToken(ctx context.Context, token []byte) (family string, expires, spent time.Time, successor []byte, err error)
	// RefreshFamily returns the record of a stored family.
	RefreshFamily(ctx context.Context, family string) (userID, clientID string, scope []string, created, expires time.Time, err error)
	// RotateRefreshToken spends old and stores next in its family, as one
	// atomic compare-and-swap: if old is stored and unspent, it records
	// now as the instant old was spent and sealed as its successor, and
	// stores next, unspent, expiring at nextExpires. If old is already
	// spent it changes nothing and returns an error wrapping
	// [userstore.ErrConflict]: of any number of concurrent rotations of
	// one token, exactly one succeeds. In SQL it is one statement:
	// UPDATE ... SET spent = now ... WHERE hash = old AND spent IS NULL
	// RETURNING family, then the insert of next in the same transaction.
	RotateRefreshToken(ctx context.Context, old, next []byte, now, nextExpires time.Time, sealed []byte) error
	// RevokeRefreshFamily deletes the family and all of its tokens. An
	// unknown family is no error.
	RevokeRefreshFamily(ctx context.Context, family string) error
	// RevokeUserRefreshFamilies deletes every family of the user, and
	// their tokens.
	RevokeUserRefreshFamilies(ctx context.Context, userID string) error
	// DenyAccessToken puts the access token whose "jti" is jti on the
	// denylist until until, after which the entry may be dropped.
	DenyAccessToken(ctx context.Context, jti string, until time.Time) error
	// Denied reports whether jti is on the denylist (see
	// [jwtauth.Denylist]).
	Denied(ctx context.Context, jti string) (bool, error)
	// PruneRefresh deletes what has expired at now: tokens whose expiry
	// is not after now, families whose expiry is not after now or that
	// have no token left, and denylist entries whose until is not after
	// now. The token endpoint calls it now and then during a request;
	// no goroutine is involved.
	PruneRefresh(ctx context.Context, now time.Time) error
}

var _ jwtauth.Denylist = RefreshStore(nil)

// Defaults and bounds of [RefreshConfig].
const (
	defaultAbsoluteLifetime = 30 * 24 * time.Hour
	defaultIdleLifetime     = 7 * 24 * time.Hour
	defaultGraceWindow      = 2 * time.Second
	maxGraceWindow          = time.Minute
	pruneInterval           = 10 * time.Minute
	maxRefreshTokenBytes    = 256
)

// RefreshConfig turns refresh tokens on ([RFC 6749] §6, rotated as [RFC
// 9700] §4.14.2 asks). Its zero value, without a Store, leaves them off:
// the password grant returns no refresh_token and grant_type
// refresh_token is unsupported_grant_type.
//
// With a Store, every password login starts a family, and its answer
// carries a refresh_token: 256 random bits, base64url, kept by the store
// only as its SHA-256 digest. Every use of a refresh token spends it and
// returns a new access token and a new refresh token. Presenting a spent
// token again revokes its whole family, unless it comes within
// GraceWindow of the rotation that spent it: such a retry (a response
// lost on the way, two tabs refreshing at once) gets the same successor
// again, never a second one. The successor is kept for this encrypted
// under a key derived from the spent token, so that only a holder of
// that token can read it, and a copy of the store alone yields no usable
// token.
//
// [RFC 6749]: https://www.rfc-editor.org/rfc/rfc6749
// [RFC 9700]: https://www.rfc-editor.org/rfc/rfc9700
type RefreshConfig struct {
	// Store keeps the families. Nil leaves refresh tokens off. Every
	// instance of a service must share it.
	Store RefreshStore
	// AbsoluteLifetime bounds a family from the login that started it:
	// past it, the user logs in again. Zero means 30 days.
	AbsoluteLifetime time.Duration
	// IdleLifetime is how long a refresh token stays good unused: each
	// refresh starts it anew, up to AbsoluteLifetime. Zero means 7 days;
	// it must not exceed AbsoluteLifetime.
	IdleLifetime time.Duration
	// GraceWindow is how long after a rotation the spent token still
	// gets the same successor instead of revoking the family. Zero means
	// 2 seconds; a negative value means none, so that any second use of
	// a token revokes its family; more than a minute is refused.
	GraceWindow time.Duration
}

// validate returns an error for a refresh config that cannot be safe, and
// rc with its defaults applied.
func (rc RefreshConfig) validate() (RefreshConfig, error) {
	if rc.Store == nil {
		if rc != (RefreshConfig{}) {
			return rc, errors.New("Refresh: lifetimes set without a Store")
		}
		return rc, nil
	}
	var errs []error
	if rc.AbsoluteLifetime == 0 {
		rc.AbsoluteLifetime = defaultAbsoluteLifetime
	}
	if rc.IdleLifetime == 0 {
		rc.IdleLifetime = min(defaultIdleLifetime, rc.AbsoluteLifetime)
	}
	switch {
	case rc.AbsoluteLifetime < 0 || rc.IdleLifetime < 0:
		errs = append(errs, errors.New("Refresh: negative lifetime"))
	case rc.IdleLifetime > rc.AbsoluteLifetime:
		errs = append(errs, errors.New("Refresh: IdleLifetime exceeds AbsoluteLifetime"))
	}
	switch {
	case rc.GraceWindow == 0:
		rc.GraceWindow = defaultGraceWindow
	case rc.GraceWindow < 0:
		rc.GraceWindow = 0
	case rc.GraceWindow > maxGraceWindow:
		errs = append(errs, fmt.Errorf("Refresh: GraceWindow %v over %v", rc.GraceWindow, maxGraceWindow))
	}
	return rc, errors.Join(errs...)
}

// The fixed descriptions of the refresh grant, revocation, introspection
// and sign-out answers.
const (
	descRefreshInvalid     = "The refresh token is invalid, expired or revoked"
	descMissingRefresh     = "The refresh_token parameter is required"
	descUnsupportedRefresh = "Only the password and refresh_token grant types are supported"
	descRefreshThrottled   = "Too many failed refresh attempts, retry later"
	descPostOnly           = "This endpoint accepts only POST"
	descGetOnly            = "This endpoint accepts only GET"
	descMissingToken       = "The token parameter is required"
	descConfidential       = "The client must authenticate as a confidential client"
	descEverywhere         = "The everywhere parameter must be true or false"
	descNoSession          = "No access token authenticated the request"
)

// sessionClaim is the access token claim naming the family the token was
// issued from: "sid", the session ID of the IANA JWT claims registry.
const sessionClaim = "sid"

func invalidRefresh() *tokenError {
	return newTokenError(http.StatusBadRequest, CodeInvalidGrant, descRefreshInvalid)
}

// refresher is the refresh side of a [Handler].
type refresher struct {
	cfg       RefreshConfig
	store     RefreshStore
	now       func() time.Time
	log       *slog.Logger
	nextPrune atomic.Int64 // unix nanoseconds; 0 prunes at the first chance
}

// newRefreshToken returns a fresh token and its digest.
func newRefreshToken() (raw string, digest []byte) {
	var b [32]byte
	rand.Read(b[:])
	raw = base64.RawURLEncoding.EncodeToString(b[:])
	return raw, refreshDigest(raw)
}

// refreshDigest is the name of a token in the store: SHA-256 of it. A
// fast unkeyed hash suffices: tokens carry 256 random bits, so neither a
// guess nor a copy of the store finds one, and every instance computes
// the same name with no key to share.
func refreshDigest(raw string) []byte {
	d := sha256.Sum256([]byte(raw))
	return d[:]
}

// The seal of a successor: its 32 random bytes, encrypted with a pad,
// then check bytes that tell whether the seal is opened with the right
// token.
const (
	sealLabel      = "authkit refresh successor v2\x00"
	sealCheckBytes = 8
	sealedBytes    = 32 + sealCheckBytes
)

// successorPad derives the pad that seals the successor of raw, and the
// seal's check bytes: SHA-512 of a label and the token. The token carries
// 256 random bits and is spent once, so its pad encrypts exactly one
// successor and is known only to holders of raw; the label keeps it
// apart from the token's digest, the store's name for it.
func successorPad(raw string) [sha512.Size]byte {
	var in [len(sealLabel) + maxRefreshTokenBytes]byte
	n := copy(in[:], sealLabel)
	n += copy(in[n:], raw)
	return sha512.Sum512(in[:n])
}

// sealSuccessor encrypts next, a token of newRefreshToken, under the pad
// of old.
func sealSuccessor(old, next string) []byte {
	var b [32]byte
	base64.RawURLEncoding.Decode(b[:], []byte(next)) // 43 base64url characters never fail
	pad := successorPad(old)
	sealed := make([]byte, sealedBytes)
	subtle.XORBytes(sealed, b[:], pad[:32])
	copy(sealed[32:], pad[32:32+sealCheckBytes])
	return sealed
}

// openSuccessor is the inverse of sealSuccessor. It reports false for a
// seal of another token or of the wrong size.
func openSuccessor(old string, sealed []byte) (string, bool) {
	pad := successorPad(old)
	if len(sealed) != sealedBytes || subtle.ConstantTimeCompare(sealed[32:], pad[32:32+sealCheckBytes]) != 1 {
		return "", false
	}
	var b [32]byte
	subtle.XORBytes(b[:], sealed[:32], pad[:32])
	return base64.RawURLEncoding.EncodeToString(b[:]), true
}

// newSession is a family about to start: its ID and first token.
type newSession struct {
	id, raw string
	digest  []byte
}

// prepareSession returns the family a password login will start, so that
// its ID can go into the access token before the family is stored.
func prepareSession() *newSession {
	raw, d := newRefreshToken()
	return &newSession{id: rand.Text(), raw: raw, digest: d}
}

// setSessionClaim puts the family ID in the access token's claims.
func setSessionClaim(c *jwtauth.Claims, id string) {
	b, _ := json.Marshal(id)
	if c.Extra == nil {
		c.Extra = make(map[string]json.RawMessage, 1)
	} else {
		c.Extra = maps.Clone(c.Extra)
	}
	c.Extra[sessionClaim] = b
}

// sessionOf returns the family ID an access token's claims name, if any.
func sessionOf(c *jwtauth.Claims) string {
	id, _, err := jwtauth.ClaimAs[string](c, sessionClaim)
	if err != nil {
		return ""
	}
	return id
}

// start stores the family s of user u's login through client cl, granted
// scope.
func (rf *refresher) start(ctx context.Context, s *newSession, userID, clientID string, scope []string) error {
	now := rf.now()
	expires := now.Add(rf.cfg.AbsoluteLifetime)
	err := rf.store.CreateRefreshFamily(ctx, s.id, userID, clientID, scope, now, expires, s.digest, now.Add(rf.cfg.IdleLifetime))
	if err != nil {
		return fmt.Errorf("storing refresh family: %w", err)
	}
	rf.prune(ctx, now)
	return nil
}

// prune asks the store to drop what has expired, at most once per
// pruneInterval and then from one request only. A failure is logged.
func (rf *refresher) prune(ctx context.Context, now time.Time) {
	next := rf.nextPrune.Load()
	if now.UnixNano() < next || !rf.nextPrune.CompareAndSwap(next, now.Add(pruneInterval).UnixNano()) {
		return
	}
	if err := rf.store.PruneRefresh(context.WithoutCancel(ctx), now); err != nil {
		rf.log.LogAttrs(ctx, slog.LevelWarn, "oauth2pw: pruning refresh families failed", slog.Any("error", err))
	}
}

// readRefreshRequest reads the parameters of a refresh_token grant from
// form into req.
func readRefreshRequest(r *http.Request, form url.Values, req *tokenRequest) *tokenError {
	if len(form["refresh_token"]) > 1 {
		return badRequest(descRepeatedParam)
	}
	req.refreshToken = form.Get("refresh_token")
	if req.refreshToken == "" {
		return badRequest(descMissingRefresh)
	}
	var err error
	if req.scope, err = parseScope(form.Get("scope")); err != nil {
		return newTokenError(http.StatusBadRequest, CodeInvalidScope, descInvalidScope)
	}
	var e *tokenError
	req.creds, e = readClientCreds(r, form)
	return e
}

// refreshThrottleKey is the limiter's key of a refresh attempt: the
// address, under a name of the token's own. Failures thus add up per
// address, as failed client authentications do, and never against a
// client or a user: expired tokens of many honest users of one client
// must not slow the others down. The name holds a ':', which no
// client_id does.
func (h *Handler) refreshThrottleKey(raw string, ip netip.Addr) ThrottleKey {
	d := h.secrets.sum(raw)
	return ThrottleKey{ClientID: "refresh_token:" + hex.EncodeToString(d[:8]), IP: ip, Secret: d}
}

// refreshGrant answers a refresh_token grant of client cl.
func (h *Handler) refreshGrant(ctx context.Context, req tokenRequest, cl *client, ip netip.Addr) (*tokenResponse, *tokenError) {
	attrs := []slog.Attr{slog.String("ip", addrString(ip)), slog.String("client_id", cl.id)}
	var key ThrottleKey
	if h.limiter != nil {
		key = h.refreshThrottleKey(req.refreshToken, ip)
		wait, ok, err := h.allow(ctx, key)
		if err != nil {
			h.cfg.Logger.LogAttrs(ctx, slog.LevelError, "oauth2pw: throttle store failed", append(attrs, slog.Any("error", err))...)
			return nil, unavailable()
		}
		if !ok {
			h.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "oauth2pw: refresh throttled",
				append(attrs, slog.Duration("retry_after", wait))...)
			return nil, throttled(descRefreshThrottled, wait)
		}
	}
	resp, e := h.refreshTokens(ctx, req.refreshToken, cl, req.scope, attrs)
	if h.limiter != nil {
		if e == nil || e.code == CodeInvalidScope {
			h.limiter.Success(ctx, key)
		} else {
			h.limiter.Failure(ctx, key)
		}
	}
	return resp, e
}

// family is a stored family's record.
type family struct {
	id, userID, clientID string
	scope                []string
	created, expires     time.Time
}

// refreshTokens checks raw and rotates it. A spent token within the grace
// window gets its successor again; past it, its family is revoked.
func (h *Handler) refreshTokens(ctx context.Context, raw string, cl *client, requested []string, attrs []slog.Attr) (*tokenResponse, *tokenError) {
	rf, log := h.refresh, h.cfg.Logger
	failed := func(reason string, extra ...slog.Attr) *tokenError {
		log.LogAttrs(ctx, slog.LevelWarn, "oauth2pw: refresh failed",
			append(append(attrs, slog.String("reason", reason)), extra...)...)
		return invalidRefresh()
	}
	storeFailed := func(op string, err error) *tokenError {
		e := serverError(fmt.Errorf("%s: %w", op, err))
		log.LogAttrs(ctx, slog.LevelError, "oauth2pw: refresh error", append(attrs, slog.Any("error", e))...)
		return e
	}
	if len(raw) > maxRefreshTokenBytes || !isVisibleASCIIOrSpace(raw) {
		return nil, failed("malformed")
	}
	digest := refreshDigest(raw)
	famID, tokExpires, spent, sealed, err := rf.store.RefreshToken(ctx, digest)
	switch {
	case errors.Is(err, userstore.ErrNotFound):
		return nil, failed("unknown")
	case err != nil:
		return nil, storeFailed("looking up refresh token", err)
	}
	f := family{id: famID}
	f.userID, f.clientID, f.scope, f.created, f.expires, err = rf.store.RefreshFamily(ctx, famID)
	switch {
	case errors.Is(err, userstore.ErrNotFound):
		return nil, failed("revoked")
	case err != nil:
		return nil, storeFailed("looking up refresh family", err)
	}
	attrs = append(attrs, slog.String("user_id", f.userID), slog.String("family", f.id))
	now := rf.now()
	if f.clientID != cl.id {
		return nil, failed("other_client")
	}
	if !now.Before(f.expires) || !now.Before(tokExpires) {
		return nil, failed("expired")
	}
	if !isSubset(requested, f.scope) {
		log.LogAttrs(ctx, slog.LevelWarn, "oauth2pw: refresh scope refused",
			append(attrs, slog.String("scope", strings.Join(requested, " ")))...)
		return nil, newTokenError(http.StatusBadRequest, CodeInvalidScope, descInvalidScope)
	}

	u, e := h.refreshUser(ctx, &f, failed, storeFailed)
	if e != nil {
		return nil, e
	}

	next := ""
	if spent.IsZero() {
		n, nd := newRefreshToken()
		nextExpires := minTime(now.Add(rf.cfg.IdleLifetime), f.expires)
		err := rf.store.RotateRefreshToken(ctx, digest, nd, now, nextExpires, sealSuccessor(raw, n))
		switch {
		case err == nil:
			next = n
		case errors.Is(err, userstore.ErrConflict):
			// Another refresh of the same token won: take its successor.
			if _, _, spent, sealed, err = rf.store.RefreshToken(ctx, digest); err != nil && !errors.Is(err, userstore.ErrNotFound) {
				return nil, storeFailed("looking up refresh token", err)
			}
			if err != nil || spent.IsZero() {
				return nil, failed("revoked")
			}
		case errors.Is(err, userstore.ErrNotFound):
			return nil, failed("revoked")
		default:
			return nil, storeFailed("rotating refresh token", err)
		}
	}
	if next == "" {
		var ok bool
		if rf.cfg.GraceWindow > 0 && now.Sub(spent) <= rf.cfg.GraceWindow {
			next, ok = openSuccessor(raw, sealed)
		}
		if !ok {
			if err := rf.store.RevokeRefreshFamily(context.WithoutCancel(ctx), f.id); err != nil {
				return nil, storeFailed("revoking refresh family", err)
			}
			return nil, failed("reused")
		}
		attrs = append(attrs, slog.Bool("grace", true))
	}

	granted := make([]string, 0, len(f.scope))
	for _, s := range cmpOr(requested, f.scope) {
		if h.scopes.allows(u, cl, s) {
			granted = append(granted, s)
		}
	}
	resp, e := h.issue(ctx, u, cl, granted, f.id, attrs)
	if e != nil {
		return nil, e
	}
	resp.RefreshToken = next
	rf.prune(ctx, now)
	log.LogAttrs(ctx, slog.LevelInfo, "oauth2pw: refresh succeeded", append(attrs, slog.String("scope", resp.Scope))...)
	return resp, nil
}

// refreshUser loads the user of family f and checks that they may still
// refresh: not gone, not disabled, and no password change, disabling or
// revocation since the login (f created before TokensValidAfter). A
// family whose user is gone or whose tokens were cut off is revoked.
func (h *Handler) refreshUser(ctx context.Context, f *family, failed func(string, ...slog.Attr) *tokenError, storeFailed func(string, error) *tokenError) (*userstore.User, *tokenError) {
	u, err := h.cfg.Users.UserByID(ctx, f.userID)
	switch {
	case errors.Is(err, userstore.ErrNotFound), err == nil && u == nil:
		if err := h.refresh.store.RevokeRefreshFamily(context.WithoutCancel(ctx), f.id); err != nil {
			return nil, storeFailed("revoking refresh family", err)
		}
		return nil, failed("user_gone")
	case err != nil:
		return nil, storeFailed("looking up user", err)
	case u.Disabled:
		return nil, failed("disabled")
	case f.created.Before(u.TokensValidAfter):
		if err := h.refresh.store.RevokeRefreshFamily(context.WithoutCancel(ctx), f.id); err != nil {
			return nil, storeFailed("revoking refresh family", err)
		}
		return nil, failed("tokens_revoked")
	}
	return u, nil
}

// issue issues the access token of user u through client cl with scope,
// from family sid ("" for none), running the Claims hook, and returns the
// success body without a refresh token.
func (h *Handler) issue(ctx context.Context, u *userstore.User, cl *client, scope []string, sid string, attrs []slog.Attr) (*tokenResponse, *tokenError) {
	log := h.cfg.Logger
	claims := jwtauth.Claims{Subject: u.ID, Scope: scope, Roles: slices.Clone(u.Roles), ClientID: cl.id}
	if h.cfg.Claims != nil {
		if err := h.addClaims(ctx, u, &claims); err != nil {
			e := serverError(err)
			log.LogAttrs(ctx, slog.LevelError, "oauth2pw: refresh error", append(attrs, slog.Any("error", e))...)
			return nil, e
		}
	}
	if sid != "" {
		setSessionClaim(&claims, sid)
	}
	tok, err := h.cfg.Tokens.Issue(ctx, claims)
	if c := &tok.Claims; err == nil && (c.IssuedAt.IsZero() || !c.ExpiresAt.After(c.IssuedAt)) {
		err = errors.New("the issuer returned a token without iat, or with no exp after it")
	}
	if err != nil {
		e := serverError(fmt.Errorf("issuing token: %w", err))
		log.LogAttrs(ctx, slog.LevelError, "oauth2pw: refresh error", append(attrs, slog.Any("error", e))...)
		return nil, e
	}
	return &tokenResponse{
		AccessToken: tok.Raw,
		TokenType:   "Bearer",
		ExpiresIn:   int64(tok.Claims.ExpiresAt.Sub(tok.Claims.IssuedAt) / time.Second),
		Scope:       strings.Join(tok.Claims.Scope, " "),
	}, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// isSubset reports whether every element of a is in b.
func isSubset(a, b []string) bool {
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}

// cmpOr returns a if it is not empty, else b.
func cmpOr(a, b []string) []string {
	if len(a) > 0 {
		return a
	}
	return b
}
