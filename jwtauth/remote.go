package jwtauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Defaults and limits of [RemoteConfig].
const (
	// defaultRefreshInterval is the age at which a fetched JWKS is
	// refreshed when RemoteConfig.RefreshInterval is zero.
	defaultRefreshInterval = 15 * time.Minute
	// defaultMinRefetchInterval is the least time between two fetches
	// that Verify starts when RemoteConfig.MinRefetchInterval is zero.
	defaultMinRefetchInterval = 30 * time.Second
	// maxJWKSBytes caps the size of a fetched JWKS document.
	maxJWKSBytes = 1 << 20
	// minRemoteInterval is the least RefreshInterval and
	// MinRefetchInterval accepted: less, such as an untyped 15 meant as
	// minutes, would make the verifier hammer the issuer.
	minRemoteInterval = time.Second
	// remoteTimeout bounds each fetch when the client sets no timeout.
	remoteTimeout = 10 * time.Second
)

// RemoteConfig configures a [RemoteVerifier].
type RemoteConfig struct {
	// JWKSURL is the issuer's JWK Set URL, for example
	// "https://auth.example.com/.well-known/jwks.json". It must be https,
	// except for loopback hosts. Only this URL is ever fetched: redirects
	// are refused and "jku"/"x5u" headers are never followed. Required.
	JWKSURL string
	// Issuer is the "iss" verified tokens must carry exactly. Required.
	Issuer string
	// Audience: a verified token's "aud" must contain at least one of
	// these. Required.
	Audience []string
	// Leeway, MaxTokenBytes, CacheSize, AllowMissingClientID and Now mean
	// what they mean in [Config].
	Leeway               time.Duration
	MaxTokenBytes        int
	CacheSize            int
	AllowMissingClientID bool
	Now                  func() time.Time
	// HTTPClient fetches the JWKS. Nil means a client with a 10-second
	// timeout. The client is copied; the copy refuses redirects and gets
	// a 10-second timeout when it has none.
	HTTPClient *http.Client
	// RefreshInterval is the age at which the fetched JWKS is refreshed:
	// the first Verify after it starts a fetch, and every caller goes on
	// verifying with the current keys until the fetch has ended. Zero
	// means 15 minutes; negative means never (keys then change only
	// through unknown key IDs and [RemoteVerifier.Refresh]); under a
	// second is refused.
	RefreshInterval time.Duration
	// MinRefetchInterval is the least time between two fetches that
	// Verify starts, for a set past RefreshInterval or a token naming an
	// unknown key ID, so that such tokens, or an issuer that is down,
	// cannot make the verifier hammer the issuer. Zero means 30 seconds;
	// negative or under a second is refused.
	MinRefetchInterval time.Duration
	// Lazy makes [NewRemoteVerifier] return without fetching, so that a
	// resource server can start before its issuer: the first Verify
	// fetches the set. Until a fetch has succeeded, tokens are refused
	// with an error wrapping [ErrUnavailable] (which [Middleware] answers
	// 503), and a failed fetch is retried at most once per
	// MinRefetchInterval. False means the constructor fetches the set and
	// fails when it cannot.
	Lazy bool
	// Logger receives what no caller is told: the failures of the fetches
	// that Verify starts, at level Warn, and at level Error when the
	// issuer publishes private key material (it has leaked its key: alert
	// on it). Each change of the key set is logged at level Info. The
	// errors of [NewRemoteVerifier] and [RemoteVerifier.Refresh] are
	// returned, not logged. Nil means no logging.
	Logger *slog.Logger
}

// RemoteVerifier verifies access tokens with the keys an issuer publishes at
// a JWKS URL, for resource servers that do not hold the keys themselves. It
// implements [Verifier] with the same strict checks as [JWT], and is safe for
// concurrent use. It runs no background goroutine: Verify itself keeps the
// set fresh.
//
// A fetched document must be a JWK Set served as application/jwk-set+json
// or application/json. A set in which any key carries private key members
// ("d", "p", "q", "dp", "dq", "qi", "oth", or "k" of a symmetric key) is
// refused as a whole, with an error naming the URL and the key ID: the
// issuer has leaked its key, and tokens signed with it prove nothing. Of
// the other keys, only asymmetric ones that carry "kid" and a supported
// "alg" and are meant for verification are used ("use", when present, must
// be "sig"; "key_ops", when present, must include "verify").
//
// The set is refetched when it is older than RefreshInterval and when a
// token names an unknown key ID (the issuer rotated), at most once per
// MinRefetchInterval. When a fetch fails or returns no usable key, the last
// good set stays in use.
type RemoteVerifier struct {
	v          verifier
	url        string
	client     *http.Client
	minRefetch time.Duration
	refresh    time.Duration // <= 0: a set never grows stale
	now        func() time.Time
	log        *slog.Logger // nil: no logging
	cur        atomic.Pointer[keySnapshot]
	// fresh is the time, in r.now's Unix nanoseconds, of the last
	// successful fetch; zero before the first.
	fresh atomic.Int64
	// last is the latest fetch, running or done. Verify reads it without
	// a lock to decide whether to wait for it or start another.
	last atomic.Pointer[fetchCall]

	fetchMu  sync.Mutex // serialises fetches and guards lastBody
	lastBody []byte
}

// fetchCall is one fetch of the JWKS. done is closed when it has ended,
// after err is set and, on success, the fetched set installed.
type fetchCall struct {
	started time.Time
	done    chan struct{}
	err     error
}

// running reports whether the fetch has not ended yet.
func (c *fetchCall) running() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

var _ Verifier = (*RemoteVerifier)(nil)

// NewRemoteVerifier returns a verifier of the tokens signed with the keys
// published at cfg.JWKSURL. It returns an error if cfg is incomplete or
// unsafe. Unless cfg.Lazy is set, it fetches the set first, bounded by ctx,
// and returns an error if that fails or yields no usable key. ctx bounds
// that first fetch only, and the verifier starts no goroutine of its own:
// later fetches are started by [RemoteVerifier.Verify].
func NewRemoteVerifier(ctx context.Context, cfg RemoteConfig) (*RemoteVerifier, error) {
	leeway, maxBytes, err := checkVerifierConfig(cfg.Issuer, cfg.Audience, cfg.Leeway, cfg.MaxTokenBytes)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.JWKSURL)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return nil, errors.New("jwtauth: JWKSURL must be an absolute URL without credentials or fragment")
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil, errors.New("jwtauth: JWKSURL must use https (plain http only for loopback hosts)")
	}
	if cfg.MinRefetchInterval < 0 {
		return nil, errors.New("jwtauth: MinRefetchInterval must not be negative")
	}
	if cfg.MinRefetchInterval == 0 {
		cfg.MinRefetchInterval = defaultMinRefetchInterval
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = defaultRefreshInterval
	}
	if cfg.MinRefetchInterval < minRemoteInterval || (cfg.RefreshInterval > 0 && cfg.RefreshInterval < minRemoteInterval) {
		return nil, errors.New("jwtauth: RefreshInterval and MinRefetchInterval under one second are refused")
	}
	client := &http.Client{}
	if cfg.HTTPClient != nil {
		*client = *cfg.HTTPClient
	}
	if client.Timeout == 0 {
		client.Timeout = remoteTimeout
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error {
		return errors.New("jwtauth: JWKS redirects are not followed")
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	r := &RemoteVerifier{
		url:        u.String(),
		client:     client,
		minRefetch: cfg.MinRefetchInterval,
		refresh:    cfg.RefreshInterval,
		now:        now,
		log:        cfg.Logger,
	}
	r.cur.Store(&keySnapshot{version: 1, keys: map[string]*Key{}})
	r.v = verifier{
		issuer:    cfg.Issuer,
		audience:  slices.Clone(cfg.Audience),
		leeway:    leeway,
		maxBytes:  maxBytes,
		anyClient: cfg.AllowMissingClientID,
		now:       now,
		cache:     newTokenCache(cfg.CacheSize),
		snap:      r.cur.Load,
		refetch:   r.refetchUnknown,
	}
	if !cfg.Lazy {
		if err := r.Refresh(ctx); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Verify checks raw as [JWT.Verify] does, with the remote keys.
//
// It keeps the set fresh itself, starting at most one fetch per
// MinRefetchInterval. When the set is older than RefreshInterval, Verify
// starts a fetch and does not wait for it: this and every other caller go
// on verifying with the current keys until it has ended. A token naming an
// unknown key ID waits for the running fetch, or starts one if the last
// started MinRefetchInterval ago or more, each caller only until its own
// ctx ends. A fetch serves every caller, so it keeps the values of the ctx
// that started it but not its cancellation, runs on a goroutine that ends
// with it, and is bounded by the HTTP client's timeout.
//
// Before any fetch has succeeded (see [RemoteConfig.Lazy]), a token with a
// key ID is refused with an error wrapping [ErrUnavailable] and the last
// fetch's error. The returned *Claims must not be modified.
func (r *RemoteVerifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	if r.refresh > 0 && r.now().UnixNano()-r.fresh.Load() >= int64(r.refresh) {
		r.refreshStale(ctx)
	}
	c, err := r.v.verify(ctx, raw)
	if err != nil && errors.Is(err, errUnknownKID) && len(r.cur.Load().keys) == 0 {
		return nil, r.noKeysYet()
	}
	return c, err
}

// noKeysYet returns the error for a token that could not be checked
// because no fetch has succeeded yet.
func (r *RemoteVerifier) noKeysYet() error {
	if c := r.last.Load(); c != nil && !c.running() && c.err != nil {
		return fmt.Errorf("%w: no keys fetched yet: %w", ErrUnavailable, c.err)
	}
	return fmt.Errorf("%w: no keys fetched yet from JWKS %s", ErrUnavailable, r.url)
}

// Refresh fetches the JWKS now, whatever the refetch interval, and waits
// for the fetch. On failure the current keys stay in use and the error is
// returned. Tokens with unknown key IDs that arrive meanwhile wait for this
// fetch rather than starting their own.
func (r *RemoteVerifier) Refresh(ctx context.Context) error {
	c := &fetchCall{started: r.now(), done: make(chan struct{})}
	r.last.Store(c)
	r.run(ctx, c)
	return c.err
}

// run performs the fetch c and ends it.
func (r *RemoteVerifier) run(ctx context.Context, c *fetchCall) {
	r.fetchMu.Lock()
	c.err = r.fetchLocked(ctx)
	r.fetchMu.Unlock()
	close(c.done)
}

// start starts a fetch on its own goroutine, unless one is running or the
// last started less than minRefetch before now, and returns the latest
// fetch: the one it started, or the one that was running or won the race.
// A failure is logged, since no caller receives it.
func (r *RemoteVerifier) start(ctx context.Context, now time.Time, why string) *fetchCall {
	c := r.last.Load()
	if c != nil && (c.running() || now.Sub(c.started) < r.minRefetch) {
		return c
	}
	next := &fetchCall{started: now, done: make(chan struct{})}
	if !r.last.CompareAndSwap(c, next) {
		return r.last.Load()
	}
	go func() {
		r.run(context.WithoutCancel(ctx), next)
		if next.err != nil {
			r.logFetchError(ctx, next.err, why)
		}
	}()
	return next
}

// refreshStale starts a fetch of a set older than the refresh interval,
// within the refetch allowance, and returns without waiting for it.
func (r *RemoteVerifier) refreshStale(ctx context.Context) {
	if ctx == nil {
		ctx = context.Background()
	}
	r.start(ctx, r.now(), "refresh")
}

func (r *RemoteVerifier) logFetchError(ctx context.Context, err error, why string) {
	if r.log == nil {
		return
	}
	level, msg := slog.LevelWarn, "jwtauth: JWKS fetch failed; the last good key set stays in use"
	if errors.Is(err, errLeakedKey) {
		level, msg = slog.LevelError, "jwtauth: the issuer publishes private key material; the JWKS is refused"
	}
	r.log.LogAttrs(ctx, level, msg, slog.String("url", r.url), slog.String("cause", why), slog.String("error", err.Error()))
}

// refetchUnknown is called for a token with an unknown key ID, with the
// snapshot seen that lacked it. If a newer snapshot was installed since, it
// returns that one. Otherwise it joins the latest fetch if that is still
// running or started less than minRefetch ago, or else starts a new one,
// and waits for the fetch to end or ctx to be done; it then returns the
// current snapshot if it differs from seen, or nil. The allowance is read
// without a lock, so that tokens with unknown key IDs past it cost no
// more than a failed verification.
//
// The fetch serves every caller and uses up the refetch allowance, so it
// runs on its own goroutine and does not end with the context of the
// request that started it (a client that hangs up would otherwise leave a
// rotated key unknown until the set grows stale); the client's timeout
// bounds it.
func (r *RemoteVerifier) refetchUnknown(ctx context.Context, seen *keySnapshot) *keySnapshot {
	if s := r.cur.Load(); s != seen {
		return s // installed since the caller read seen
	}
	if ctx == nil {
		ctx = context.Background()
	}
	c := r.start(ctx, r.now(), "unknown key ID")
	select {
	case <-c.done:
	case <-ctx.Done():
		return nil
	}
	if s := r.cur.Load(); s != seen {
		return s
	}
	return nil
}

// fetchLocked fetches and installs the set. r.fetchMu must be held. Errors
// name the URL.
func (r *RemoteVerifier) fetchLocked(ctx context.Context) error {
	body, err := r.get(ctx)
	if err != nil {
		return fmt.Errorf("jwtauth: fetch JWKS %s: %w", r.url, err)
	}
	if bytes.Equal(body, r.lastBody) {
		r.fresh.Store(r.now().UnixNano())
		return nil // unchanged: keep the version, and so the token cache
	}
	keys, err := parseRemoteSet(body)
	if err != nil {
		return fmt.Errorf("jwtauth: fetch JWKS %s: %w", r.url, err)
	}
	old := r.cur.Load()
	r.cur.Store(&keySnapshot{version: old.version + 1, keys: keys})
	r.lastBody = body
	r.fresh.Store(r.now().UnixNano())
	if r.log != nil {
		kids := make([]string, 0, len(keys))
		for id := range keys {
			kids = append(kids, id)
		}
		slices.Sort(kids)
		r.log.LogAttrs(ctx, slog.LevelInfo, "jwtauth: JWKS key set updated", slog.String("url", r.url), slog.Any("kids", kids))
	}
	return nil
}

// get fetches the document. Its errors do not name the URL.
func (r *RemoteVerifier) get(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL is named once, by the caller
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !jwksMediaType(ct) {
		return nil, fmt.Errorf("Content-Type %.80q is not application/jwk-set+json or application/json", ct)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxJWKSBytes {
		return nil, errors.New("document larger than 1 MiB")
	}
	return body, nil
}

// jwksMediaType reports whether a Content-Type field value names a JWK Set
// (RFC 7517 §8.5.1) or plain JSON, with any parameters.
func jwksMediaType(v string) bool {
	mt, _, err := mime.ParseMediaType(v)
	return err == nil && (mt == "application/jwk-set+json" || mt == "application/json")
}

// errLeakedKey is wrapped by the error for a set that publishes private
// key material.
var errLeakedKey = errors.New("the issuer has published its private key; the set is refused")

// maxSkipReasons bounds how many unusable keys an error names.
const maxSkipReasons = 4

// parseRemoteSet returns the usable keys of a fetched JWK Set by ID. A set
// in which any key carries private key material is refused with an error
// naming the key. Keys that are not usable (symmetric, for encryption or
// not for verification, without kid or alg, with an alg that does not fit
// the key, weak, unreadable, with a repeated member or with a repeated
// kid) are skipped; a set with no usable key is an error naming why each
// key was skipped. Errors do not name the URL: the caller does.
func parseRemoteSet(body []byte) (map[string]*Key, error) {
	var list []byte
	n := 0
	err := eachMember(body, func(name, v []byte) error {
		if string(name) == "keys" {
			list, n = v, n+1
		}
		return nil
	})
	var objs [][]byte
	if err == nil && n == 1 {
		err = eachElement(list, func(v []byte) error {
			objs = append(objs, v)
			return nil
		})
	}
	if err != nil || n != 1 {
		return nil, errors.New(`not a JWK Set: one "keys" array is required`)
	}
	for _, o := range objs {
		if kid, member, ok := privateMember(o); ok {
			return nil, fmt.Errorf("key %.130q carries the private key member %q: %w", kid, member, errLeakedKey)
		}
	}
	keys := make(map[string]*Key, len(objs))
	dup := make(map[string]bool)
	var skipped []string
	skip := func(i int, o []byte, why string) {
		if len(skipped) == maxSkipReasons {
			skipped = append(skipped, "...")
		}
		if len(skipped) > maxSkipReasons {
			return
		}
		name := fmt.Sprintf("key %d", i)
		if kid := memberString(o, "kid"); kid != "" {
			name = fmt.Sprintf("key %.130q", kid)
		}
		skipped = append(skipped, name+": "+why)
	}
	for i, o := range objs {
		if repeatedMember(o) {
			skip(i, o, "a member is repeated")
			continue
		}
		jk, err := jwk.ParseKey(o)
		if err != nil {
			skip(i, o, "not a readable JWK")
			continue
		}
		k, err := keyFromJWK(jk, true)
		if err != nil {
			skip(i, o, strings.TrimPrefix(err.Error(), "jwtauth: "))
			continue
		}
		if _, ok := keys[k.kid]; ok {
			dup[k.kid] = true
		}
		keys[k.kid] = k
	}
	for kid := range dup {
		delete(keys, kid) // ambiguous: trust neither
		skipped = append(skipped, fmt.Sprintf("key %.130q: the key ID is used twice", kid))
	}
	if len(keys) == 0 {
		if len(objs) == 0 {
			return nil, errors.New(`no usable signing key: "keys" is empty`)
		}
		return nil, fmt.Errorf("no usable signing key among %d: %s", len(objs), strings.Join(skipped, "; "))
	}
	return keys, nil
}

// memberString returns the string member name of the JSON object o, or "".
func memberString(o []byte, name string) string {
	var s string
	eachMember(o, func(n, v []byte) error {
		if string(n) == name {
			s, _ = jsonString(v)
		}
		return nil
	})
	return s
}

// privateMembers are the JWK members of private and symmetric key material
// (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2 uses "d" too).
var privateMembers = [...]string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// privateMember reports whether the JWK object o has a private key member,
// and returns it with the key's "kid" ("" when it has none or o is not an
// object).
func privateMember(o []byte) (kid, member string, found bool) {
	eachMember(o, func(name, v []byte) error {
		switch n := string(name); {
		case n == "kid":
			kid, _ = jsonString(v)
		case !found && slices.Contains(privateMembers[:], n):
			member, found = n, true
		}
		return nil
	})
	return kid, member, found
}

// repeatedMember reports whether the JWK object o names a member twice,
// which JSON parsers resolve differently.
func repeatedMember(o []byte) bool {
	seen := make(map[string]bool, 8)
	return eachMember(o, func(name, _ []byte) error {
		if seen[string(name)] {
			return errDuplicateKey
		}
		seen[string(name)] = true
		return nil
	}) != nil
}
