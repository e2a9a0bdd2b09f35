package oauth2pw

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/userstore"
)

// Handler is the token endpoint: an [http.Handler] that answers RFC 6749
// §4.3 access token requests. Create it with [NewHandler]; it is safe for
// concurrent use.
type Handler struct {
	cfg       Config
	dummyHash string
	ctxHasher userstore.ContextHasher // cfg.Hasher, if it is one
	limiter   Limiter                 // nil when throttling is off
	clients   *clientRegistry
	scopes    scopePolicy
	maxPw     int
	slots     chan struct{} // hashing slots, MaxConcurrentHashes of them
	secrets   secretDigester
	refresh   *refresher // nil when refresh tokens are off
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns the token endpoint configured by cfg. It copies cfg, so
// later changes to cfg or to the slices and maps it holds have no effect.
//
// It returns an error for a config that cannot be safe: a nil Users, Hasher
// or Tokens, an invalid password policy, scope,
// client, default client ID, throttle policy or trusted proxy, a client
// with Scopes without RequireClient, a negative MaxConcurrentHashes or
// HashWait. It hashes a random password once with
// cfg.Hasher (see [Config.Hasher]) and returns the error if it cannot.
func NewHandler(cfg Config) (*Handler, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	cfg.DefaultScopes = slices.Clone(cfg.DefaultScopes)
	cfg.TrustedProxies = slices.Clone(cfg.TrustedProxies)
	if cfg.RoleScopes != nil {
		rs := make(map[string][]string, len(cfg.RoleScopes))
		for role, s := range cfg.RoleScopes {
			rs[role] = slices.Clone(s)
		}
		cfg.RoleScopes = rs
	}
	dummy, err := cfg.Hasher.Hash(rand.Text())
	if err != nil {
		return nil, fmt.Errorf("oauth2pw: hashing the dummy password: %w", err)
	}
	h := &Handler{
		cfg:       cfg,
		dummyHash: dummy,
		clients:   newClientRegistry(cfg.Clients, cfg.RequireClient, cfg.DefaultClientID),
		scopes:    scopePolicy{byRole: cfg.RoleScopes, defaults: cfg.DefaultScopes},
		maxPw:     cfg.Policy.MaxPasswordBytes(),
		slots:     make(chan struct{}, cfg.MaxConcurrentHashes),
		secrets:   newSecretDigester(),
	}
	h.cfg.Clients = nil // kept as digests in h.clients only
	if cfg.Refresh.Store != nil {
		h.refresh = &refresher{cfg: cfg.Refresh, store: cfg.Refresh.Store, now: cfg.Now, log: cfg.Logger}
	}
	h.ctxHasher, _ = cfg.Hasher.(userstore.ContextHasher)
	switch {
	case cfg.InsecureNoThrottle:
	case cfg.Limiter != nil:
		h.limiter = cfg.Limiter
	case cfg.ThrottleStore != nil:
		h.limiter = newSharedLimiter(cfg.Throttle, cfg.ThrottleStore, cfg.Now, cfg.Logger)
	default:
		h.limiter = newMemoryLimiter(cfg.Throttle, cfg.Now)
	}
	return h, nil
}

// tokenResponse is the RFC 6749 §5.1 success body.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// ServeHTTP answers an access token request. The request must be a POST
// whose body is an application/x-www-form-urlencoded form (a charset
// parameter, if any, must be UTF-8) of at most [Config.MaxBodyBytes]
// bytes. A token request parameter in the URL's query string (grant_type,
// username, password, scope, client_id, client_secret, refresh_token) is
// refused with invalid_request, even beside a valid body: RFC 6749 §3.2
// puts them in the body, and in a URL they have already reached access
// logs. Other query parameters are ignored.
//
// With [Config.Refresh] on, the refresh_token grant (RFC 6749 §6) is
// answered too, and both grants' success bodies carry "refresh_token";
// see [RefreshConfig].
//
// The success body is {"access_token", "token_type": "Bearer",
// "expires_in", "scope"}, with "expires_in" the issued token's "exp" less
// its "iat" in seconds, and "scope" present whenever the token carries
// scopes, whether or not they are the ones requested. Errors are the JSON
// bodies of RFC 6749 §5.2; see the Code constants for which status goes
// with which code. Every answer carries Cache-Control: no-store and Pragma:
// no-cache.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, e := h.token(w, r)
	if e != nil {
		writeTokenError(w, h.cfg.Realm, e)
		return
	}
	writeAnswer(w, resp)
}

// writeAnswer writes v as a 200 JSON answer with the cache headers every
// answer of the endpoints carries.
func writeAnswer(w http.ResponseWriter, v any) {
	hd := w.Header()
	setNoStore(hd)
	hd.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(v)
}

// Parameters that RFC 6749 §3.2 forbids repeating and that this endpoint
// reads. Other parameters are ignored, repeated or not (RFC 8707's
// "resource" may legitimately repeat).
func knownParams() [6]string {
	return [...]string{"grant_type", "username", "password", "scope", "client_id", "client_secret"}
}

// inQuery reports whether the URL query raw names a token request
// parameter: one of knownParams or refresh_token. Only the names are
// decoded, so a malformed value does not hide its parameter.
func inQuery(raw string) bool {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		name, _, _ := strings.Cut(kv, "=")
		if strings.ContainsAny(name, "%+") {
			n, err := url.QueryUnescape(name)
			if err != nil {
				continue
			}
			name = n
		}
		if name == "refresh_token" {
			return true
		}
		for _, p := range knownParams() {
			if name == p {
				return true
			}
		}
	}
	return false
}

// validCredential reports whether s is UTF-8 without control characters
// (Unicode category Cc: C0, DEL and C1) other than TAB.
func validCredential(s string) bool {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t') || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || (r >= 0x80 && r <= 0x9f) {
			return false
		}
		i += n
	}
	return true
}

func badRequest(desc string) *tokenError {
	return newTokenError(http.StatusBadRequest, CodeInvalidRequest, desc)
}

func invalidGrant() *tokenError {
	return newTokenError(http.StatusBadRequest, CodeInvalidGrant, descInvalidGrant)
}

func serverError(cause error) *tokenError {
	return newTokenError(http.StatusInternalServerError, CodeServerError, descServerError).withCause(cause)
}

func throttled(desc string, wait time.Duration) *tokenError {
	e := newTokenError(http.StatusTooManyRequests, CodeSlowDown, desc)
	e.retryAfter = wait
	return e
}

func unavailable() *tokenError {
	e := newTokenError(http.StatusServiceUnavailable, CodeTemporarilyUnavailable, descBusy)
	e.retryAfter = time.Second
	return e
}

// tokenRequest holds the parameters of a well-formed access token request.
type tokenRequest struct {
	username, password string
	scope              []string // requested, distinct, in order
	creds              clientCreds
	refreshToken       string // set for the refresh_token grant only
}

// token runs the checks of an access token request in order and returns
// the success body or the error to answer: first everything that costs
// nothing and counts nothing (the request's shape, its parameters and
// their characters, the form of its client credentials), then, if the
// request's context is still live, client authentication, a hashing slot,
// the login throttle and the login itself.
func (h *Handler) token(w http.ResponseWriter, r *http.Request) (*tokenResponse, *tokenError) {
	ctx := r.Context()
	req, e := parseRequest(w, r, h.cfg.MaxBodyBytes, h.refresh != nil)
	if e == nil && ctx.Err() != nil {
		e = unavailable()
	}
	if e != nil {
		if log := h.cfg.Logger; log.Enabled(ctx, slog.LevelDebug) {
			log.LogAttrs(ctx, slog.LevelDebug, "oauth2pw: request refused",
				slog.String("ip", addrString(clientIP(r, h.cfg.TrustedProxies))), slog.Any("error", e))
		}
		return nil, e
	}
	username, password, creds := req.username, req.password, req.creds
	requested := req.scope

	ip := clientIP(r, h.cfg.TrustedProxies)
	cl, e := h.authenticateClient(ctx, creds, ip)
	if e != nil {
		return nil, e
	}
	if req.refreshToken != "" {
		return h.refreshGrant(ctx, req, cl, ip)
	}

	key := ThrottleKey{Username: username, IP: ip}
	if n, err := userstore.NormalizeUsername(username); err == nil {
		key.Username = n
	}
	attrs := []slog.Attr{slog.String("username", key.Username), slog.String("ip", addrString(ip)), slog.String("client_id", cl.id)}
	admitted, u, fresh, e := h.checkLogin(ctx, &key, username, password, attrs)
	var resp *tokenResponse
	if e == nil {
		resp, e = h.login(ctx, u, fresh, cl, requested, attrs)
	}
	if admitted {
		if u != nil && (e == nil || e.code == CodeInvalidScope) {
			h.limiter.Success(ctx, key)
		} else {
			h.limiter.Failure(ctx, key)
		}
	}
	return resp, e
}

// checkLogin holds a hashing slot for the part of a login that hashes: it
// takes the slot, has the limiter admit the attempt (setting key's
// Secret), checks the password and, if the stored hash is outdated,
// computes its replacement, fresh. It gives the slot back before it
// returns, so that the store writes that follow (the token's family, the
// new hash, the limiter's outcome) wait for no hashing slot and hold none.
// It returns the user if the password was right and the user may log in,
// and reports whether the limiter admitted the attempt, in which case the
// caller records exactly one Failure or Success for it.
func (h *Handler) checkLogin(ctx context.Context, key *ThrottleKey, username, password string, attrs []slog.Attr) (admitted bool, u *userstore.User, fresh string, e *tokenError) {
	if !h.acquire(ctx) {
		h.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "oauth2pw: no hashing slot", attrs...)
		return false, nil, "", unavailable()
	}
	defer h.release()
	if ctx.Err() != nil {
		return false, nil, "", unavailable()
	}
	if h.limiter != nil {
		key.Secret = h.secrets.sum(password)
		wait, ok, err := h.allow(ctx, *key)
		if err != nil {
			h.cfg.Logger.LogAttrs(ctx, slog.LevelError, "oauth2pw: throttle store failed", append(attrs, slog.Any("error", err))...)
			return false, nil, "", unavailable()
		}
		if !ok {
			h.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "oauth2pw: login throttled",
				append(attrs, slog.Duration("retry_after", wait))...)
			return false, nil, "", throttled(descThrottled, wait)
		}
	}
	u, e = h.checkPassword(ctx, username, password, attrs)
	if e == nil {
		fresh = h.freshHash(ctx, u, password, attrs)
	}
	return h.limiter != nil, u, fresh, e
}

// parseRequest checks the shape of r (method, query string, content type,
// body size, repeated and missing parameters, characters, scope syntax,
// client credential form) and returns its parameters, reading at most
// limit bytes of body. The refresh_token grant is supported if refresh is
// set.
func parseRequest(w http.ResponseWriter, r *http.Request, limit int64, refresh bool) (tokenRequest, *tokenError) {
	if r.Method != http.MethodPost {
		return tokenRequest{}, newTokenError(http.StatusMethodNotAllowed, CodeInvalidRequest, descMethod)
	}
	if inQuery(r.URL.RawQuery) {
		return tokenRequest{}, badRequest(descQueryParams)
	}
	if !isForm(r.Header.Values("Content-Type")) {
		return tokenRequest{}, badRequest(descContentType)
	}
	form, e := readForm(w, r, limit)
	if e != nil {
		return tokenRequest{}, e
	}
	for _, p := range knownParams() {
		if len(form[p]) > 1 {
			return tokenRequest{}, badRequest(descRepeatedParam)
		}
	}
	switch grant := form.Get("grant_type"); {
	case grant == "password":
	case grant == "":
		return tokenRequest{}, badRequest(descMissingGrant)
	case grant == "refresh_token" && refresh:
		var req tokenRequest
		if e := readRefreshRequest(r, form, &req); e != nil {
			return tokenRequest{}, e
		}
		return req, nil
	case refresh:
		return tokenRequest{}, newTokenError(http.StatusBadRequest, CodeUnsupportedGrantType, descUnsupportedRefresh)
	default:
		return tokenRequest{}, newTokenError(http.StatusBadRequest, CodeUnsupportedGrantType, descUnsupported)
	}
	req := tokenRequest{username: form.Get("username"), password: form.Get("password")}
	if req.username == "" || req.password == "" {
		return tokenRequest{}, badRequest(descMissingCreds)
	}
	if !validCredential(req.username) || !validCredential(req.password) {
		return tokenRequest{}, badRequest(descBadChars)
	}
	var err error
	if req.scope, err = parseScope(form.Get("scope")); err != nil {
		return tokenRequest{}, newTokenError(http.StatusBadRequest, CodeInvalidScope, descInvalidScope)
	}
	if req.creds, e = readClientCreds(r, form); e != nil {
		return tokenRequest{}, e
	}
	return req, nil
}

// authenticateClient returns the client that cr authenticates, the
// default client if cr is empty and none is required. Credentials that
// carry a secret, or come in a non-empty Basic header, pass through the
// limiter first, keyed by the presented client_id and a digest of the
// secret; a client_id alone names a public client and has nothing to
// guess.
func (h *Handler) authenticateClient(ctx context.Context, cr clientCreds, ip netip.Addr) (*client, *tokenError) {
	reg := h.clients
	switch {
	case cr.id == "" && cr.secret == "":
		if reg.def == nil {
			return nil, h.clientFailed(ctx, ip, "no_client")
		}
		return reg.def, nil
	case cr.id == "":
		return nil, h.clientFailed(ctx, ip, "secret_without_id")
	case cr.secret == "" && !cr.basic:
		if c := reg.lookup(cr.id); c != nil && c.public {
			return c, nil
		}
		return nil, h.clientFailed(ctx, ip, "bad_client")
	}
	key := ThrottleKey{ClientID: cr.id, IP: ip}
	if h.limiter != nil {
		key.Secret = h.secrets.sum(cr.secret)
		wait, ok, err := h.allow(ctx, key)
		if err != nil {
			h.cfg.Logger.LogAttrs(ctx, slog.LevelError, "oauth2pw: throttle store failed",
				slog.String("ip", addrString(ip)), slog.Any("error", err))
			return nil, unavailable()
		}
		if !ok {
			h.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "oauth2pw: client authentication throttled",
				slog.String("ip", addrString(ip)), slog.Duration("retry_after", wait))
			return nil, throttled(descClientThrottled, wait)
		}
	}
	c, ok := reg.check(cr.id, cr.secret)
	if h.limiter != nil {
		if ok {
			h.limiter.Success(ctx, key)
		} else {
			h.limiter.Failure(ctx, key)
		}
	}
	if !ok {
		return nil, h.clientFailed(ctx, ip, "bad_client")
	}
	return c, nil
}

// clientFailed logs a failed client authentication and returns its answer.
func (h *Handler) clientFailed(ctx context.Context, ip netip.Addr, reason string) *tokenError {
	h.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "oauth2pw: client authentication failed",
		slog.String("ip", addrString(ip)), slog.String("reason", reason))
	return errInvalidClient()
}

// acquire takes a hashing slot, waiting no longer than HashWait and no
// longer than ctx allows. It reports whether it took one.
func (h *Handler) acquire(ctx context.Context) bool {
	select {
	case h.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(h.cfg.HashWait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	case <-t.C:
		return false
	}
}

// release gives back the slot taken by acquire.
func (h *Handler) release() { <-h.slots }

// checkPassword looks the user up and checks password against their
// stored hash, or against the dummy hash if there is no such user, with
// the same work either way. It returns the user if the password is right
// and the user is not disabled.
func (h *Handler) checkPassword(ctx context.Context, username, password string, attrs []slog.Attr) (*userstore.User, *tokenError) {
	log := h.cfg.Logger
	failed := func(reason string, extra ...slog.Attr) *tokenError {
		log.LogAttrs(ctx, slog.LevelWarn, "oauth2pw: login failed",
			append(append(attrs, slog.String("reason", reason)), extra...)...)
		return invalidGrant()
	}
	if len(password) > h.maxPw {
		return nil, failed("password_too_long")
	}

	u, err := h.cfg.Users.UserByUsername(ctx, username)
	switch {
	case err == nil && u == nil:
		err = errors.New("store returned no user and no error")
		fallthrough
	case err != nil && !errors.Is(err, userstore.ErrNotFound) && !errors.Is(err, userstore.ErrInvalidUsername):
		e := serverError(fmt.Errorf("looking up user: %w", err))
		log.LogAttrs(ctx, slog.LevelError, "oauth2pw: login error", append(attrs, slog.Any("error", e))...)
		return nil, e
	case err != nil:
		u = nil
	}

	encoded := h.dummyHash
	if u != nil {
		encoded = u.PasswordHash
	}
	ok, err := h.verify(ctx, encoded, password)
	if err != nil {
		if u != nil && (errors.Is(err, userstore.ErrMalformedHash) || errors.Is(err, userstore.ErrUnknownHashFormat)) {
			// Refused without hashing, the answer would come sooner
			// than an unknown user's and tell that the account exists:
			// spend the same work on the dummy hash.
			h.verify(ctx, h.dummyHash, password)
			return nil, failed("unreadable_hash", slog.String("user_id", u.ID), slog.Any("error", err))
		}
		e := serverError(fmt.Errorf("verifying password: %w", err))
		log.LogAttrs(ctx, slog.LevelError, "oauth2pw: login error", append(attrs, slog.Any("error", e))...)
		return nil, e
	}
	switch {
	case u == nil:
		return nil, failed("unknown_user")
	case !ok:
		return nil, failed("bad_password", slog.String("user_id", u.ID))
	case u.Disabled:
		return nil, failed("disabled", slog.String("user_id", u.ID))
	}
	return u, nil
}

// login issues the token of user u, whose password checkPassword found
// right, through client cl, and stores fresh as u's new password hash
// unless it is empty.
func (h *Handler) login(ctx context.Context, u *userstore.User, fresh string, cl *client, requested []string, attrs []slog.Attr) (*tokenResponse, *tokenError) {
	log := h.cfg.Logger
	attrs = append(attrs, slog.String("user_id", u.ID))

	granted, ok := h.scopes.grant(u, cl, requested)
	if !ok {
		log.LogAttrs(ctx, slog.LevelWarn, "oauth2pw: scope refused",
			append(attrs, slog.String("scope", strings.Join(requested, " ")))...)
		return nil, newTokenError(http.StatusBadRequest, CodeInvalidScope, descInvalidScope)
	}

	claims := jwtauth.Claims{
		Subject:  u.ID,
		Scope:    granted,
		Roles:    slices.Clone(u.Roles),
		ClientID: cl.id,
	}
	if h.cfg.Claims != nil {
		if err := h.addClaims(ctx, u, &claims); err != nil {
			e := serverError(err)
			log.LogAttrs(ctx, slog.LevelError, "oauth2pw: login error", append(attrs, slog.Any("error", e))...)
			return nil, e
		}
	}
	var sess *newSession
	if h.refresh != nil {
		sess = prepareSession()
		setSessionClaim(&claims, sess.id)
	}
	tok, err := h.cfg.Tokens.Issue(ctx, claims)
	if c := &tok.Claims; err == nil && (c.IssuedAt.IsZero() || !c.ExpiresAt.After(c.IssuedAt)) {
		err = errors.New("the issuer returned a token without iat, or with no exp after it")
	}
	if err == nil && sess != nil {
		err = h.refresh.start(ctx, sess, u.ID, cl.id, tok.Claims.Scope)
	}
	if err != nil {
		e := serverError(fmt.Errorf("issuing token: %w", err))
		log.LogAttrs(ctx, slog.LevelError, "oauth2pw: login error", append(attrs, slog.Any("error", e))...)
		return nil, e
	}
	if fresh != "" {
		h.upgradeHash(ctx, u, fresh, attrs)
	}

	scope := strings.Join(tok.Claims.Scope, " ")
	log.LogAttrs(ctx, slog.LevelInfo, "oauth2pw: login succeeded",
		append(attrs, slog.String("scope", scope), slog.Any("token", tok))...)
	resp := &tokenResponse{
		AccessToken: tok.Raw,
		TokenType:   "Bearer",
		ExpiresIn:   int64(tok.Claims.ExpiresAt.Sub(tok.Claims.IssuedAt) / time.Second),
		Scope:       scope,
	}
	if sess != nil {
		resp.RefreshToken = sess.raw
	}
	return resp, nil
}

// registeredClaims are the claim names that [jwtauth.Claims] has fields
// for; a [Config.Claims] hook may not put them in Extra.
func registeredClaims() [10]string {
	return [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "scope", "roles"}
}

// addClaims runs the Claims hook on a copy of c and of u, and copies the
// hook's Extra into c. It returns an error, and leaves c alone, if the hook
// fails, changes a field of c other than Extra, or puts a registered claim
// name in Extra.
func (h *Handler) addClaims(ctx context.Context, u *userstore.User, c *jwtauth.Claims) error {
	hc := *c
	hc.Scope, hc.Roles = slices.Clone(c.Scope), slices.Clone(c.Roles)
	if err := h.cfg.Claims(ctx, u.Clone(), &hc); err != nil {
		return fmt.Errorf("claims hook: %w", err)
	}
	var changed string
	switch {
	case hc.Issuer != c.Issuer:
		changed = "iss"
	case hc.Subject != c.Subject:
		changed = "sub"
	case !slices.Equal(hc.Audience, c.Audience):
		changed = "aud"
	case !hc.ExpiresAt.Equal(c.ExpiresAt):
		changed = "exp"
	case !hc.NotBefore.Equal(c.NotBefore):
		changed = "nbf"
	case !hc.IssuedAt.Equal(c.IssuedAt):
		changed = "iat"
	case hc.ID != c.ID:
		changed = "jti"
	case hc.ClientID != c.ClientID:
		changed = "client_id"
	case !slices.Equal(hc.Scope, c.Scope):
		changed = "scope"
	case !slices.Equal(hc.Roles, c.Roles):
		changed = "roles"
	}
	if changed != "" {
		return fmt.Errorf("claims hook changed %q: a hook may only add claims to Extra", changed)
	}
	for _, name := range registeredClaims() {
		if _, ok := hc.Extra[name]; ok {
			return fmt.Errorf("claims hook put the registered claim %q in Extra", name)
		}
	}
	c.Extra = hc.Extra
	return nil
}

// verify checks password against encoded. The caller holds a hashing slot
// and the limiter has admitted the attempt, so the verification runs to its
// end even if the client hangs up: a [userstore.ContextHasher] gets ctx
// without its cancellation for the wait for its own slot.
func (h *Handler) verify(ctx context.Context, encoded, password string) (bool, error) {
	if h.ctxHasher != nil {
		return h.ctxHasher.VerifyContext(context.WithoutCancel(ctx), encoded, password)
	}
	return h.cfg.Hasher.Verify(encoded, password)
}

// freshHash returns a new hash of password for u if u's stored hash is
// outdated and the store can upgrade hashes, and "" otherwise or if
// hashing fails (logged: the login goes on). The caller holds a hashing
// slot.
func (h *Handler) freshHash(ctx context.Context, u *userstore.User, password string, attrs []slog.Attr) string {
	if _, ok := h.cfg.Users.(userstore.PasswordHashUpgrader); !ok || !h.cfg.Hasher.NeedsRehash(u.PasswordHash) {
		return ""
	}
	var fresh string
	var err error
	if h.ctxHasher != nil {
		fresh, err = h.ctxHasher.HashContext(context.WithoutCancel(ctx), password) // a client hanging up must not waste the hash
	} else {
		fresh, err = h.cfg.Hasher.Hash(password)
	}
	if err != nil {
		h.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "oauth2pw: password hash upgrade failed",
			append(attrs, slog.String("user_id", u.ID), slog.Any("error", err))...)
		return ""
	}
	return fresh
}

// upgradeHash replaces u's stored hash with fresh, if it is still the one
// the login checked. A failure is logged; the login goes on.
func (h *Handler) upgradeHash(ctx context.Context, u *userstore.User, fresh string, attrs []slog.Attr) {
	up := h.cfg.Users.(userstore.PasswordHashUpgrader) // freshHash made fresh only for such a store
	if err := up.UpgradePasswordHash(context.WithoutCancel(ctx), u.ID, u.PasswordHash, fresh); err != nil {
		h.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "oauth2pw: password hash upgrade failed",
			append(attrs, slog.Any("error", err))...)
		return
	}
	h.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "oauth2pw: password hash upgraded", attrs...)
}

// isForm reports whether the Content-Type header values name exactly one
// application/x-www-form-urlencoded media type with, at most, a UTF-8
// charset.
func isForm(values []string) bool {
	if len(values) != 1 {
		return false
	}
	mt, params, err := mime.ParseMediaType(values[0])
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// readForm reads and parses the request body, at most limit bytes of it,
// without looking at the URL's query string.
func readForm(w http.ResponseWriter, r *http.Request, limit int64) (url.Values, *tokenError) {
	if r.ContentLength > limit {
		return nil, newTokenError(http.StatusRequestEntityTooLarge, CodeInvalidRequest, descBodyTooLarge)
	}
	if r.Body == nil {
		return url.Values{}, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, newTokenError(http.StatusRequestEntityTooLarge, CodeInvalidRequest, descBodyTooLarge)
		}
		return nil, badRequest(descMalformedBody).withCause(err)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, badRequest(descMalformedBody)
	}
	return form, nil
}

// addrString formats a for logs, "unknown" for the zero Addr.
func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	return a.String()
}

// secretDigester makes the [ThrottleKey.Secret] digests: HMAC-SHA256 under
// a random key of its own, truncated to 16 bytes, so that a limiter can
// tell a repeated secret without ever holding it.
type secretDigester struct {
	pool *sync.Pool // of keyed HMAC-SHA256 hash.Hash values
}

func newSecretDigester() secretDigester {
	key := make([]byte, sha256.Size)
	rand.Read(key)
	return secretDigester{pool: &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
}

// sum returns the digest of s, the zero value if s is empty.
func (d secretDigester) sum(s string) (out [16]byte) {
	if s == "" {
		return out
	}
	m := d.pool.Get().(hash.Hash)
	m.Reset()
	io.WriteString(m, s)
	var buf [sha256.Size]byte
	copy(out[:], m.Sum(buf[:0]))
	d.pool.Put(m)
	return out
}
