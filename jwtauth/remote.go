package jwtauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Defaults and limits of [RemoteConfig].
const (
	// defaultRefreshInterval is how often the JWKS is refetched in the
	// background when RemoteConfig.RefreshInterval is zero.
	defaultRefreshInterval = 15 * time.Minute
	// defaultMinRefetchInterval is the least time between two fetches
	// caused by unknown key IDs when RemoteConfig.MinRefetchInterval is
	// zero.
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
	// Leeway, MaxTokenBytes, CacheSize and Now mean what they mean in
	// [Config].
	Leeway        time.Duration
	MaxTokenBytes int
	CacheSize     int
	Now           func() time.Time
	// HTTPClient fetches the JWKS. Nil means a client with a 10-second
	// timeout. The client is copied; the copy refuses redirects and gets
	// a 10-second timeout when it has none.
	HTTPClient *http.Client
	// RefreshInterval is how often the JWKS is refetched in the
	// background. Zero means 15 minutes; negative disables
	// background refresh (keys then change only through unknown key IDs
	// and [RemoteVerifier.Refresh]); under a second is refused.
	RefreshInterval time.Duration
	// MinRefetchInterval is the least time between two fetches, so that
	// tokens with unknown key IDs cannot make the verifier hammer the
	// issuer. Zero means 30 seconds; negative or under a second is
	// refused.
	MinRefetchInterval time.Duration
}

// RemoteVerifier verifies access tokens with the keys an issuer publishes at
// a JWKS URL, for resource servers that do not hold the keys themselves. It
// implements [Verifier] with the same strict checks as [JWT], and is safe for
// concurrent use.
//
// Only asymmetric keys that carry "kid" and a supported "alg" are taken from
// the remote set, and only their public part; symmetric ("oct") keys and
// keys for encryption are ignored. The set is refetched in the background,
// and at most once per MinRefetchInterval when a token names an unknown key
// ID (the issuer rotated). When a fetch fails or returns no usable key, the
// last good set stays in use.
type RemoteVerifier struct {
	v          verifier
	url        string
	client     *http.Client
	minRefetch time.Duration
	now        func() time.Time
	cur        atomic.Pointer[keySnapshot]

	fetchMu   sync.Mutex // serialises fetches and guards the fields below
	lastFetch time.Time
	lastBody  []byte
}

var _ Verifier = (*RemoteVerifier)(nil)

// NewRemoteVerifier fetches the JWKS at cfg.JWKSURL and returns a verifier
// using it. It returns an error if cfg is incomplete or unsafe or if the
// first fetch fails or yields no usable key.
//
// Unless cfg.RefreshInterval is negative, it starts one goroutine that
// refetches the set every RefreshInterval; the goroutine ends when ctx is
// done, so ctx must live as long as the verifier is used (for example the
// server's lifetime context). The first fetch also uses ctx.
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
		now:        now,
	}
	r.cur.Store(&keySnapshot{version: 1, keys: map[string]*Key{}})
	r.v = verifier{
		issuer:   cfg.Issuer,
		audience: slices.Clone(cfg.Audience),
		leeway:   leeway,
		maxBytes: maxBytes,
		now:      now,
		cache:    newTokenCache(cfg.CacheSize),
		snap:     r.cur.Load,
		refetch:  r.refetchUnknown,
	}
	if err := r.Refresh(ctx); err != nil {
		return nil, err
	}
	if cfg.RefreshInterval > 0 {
		go r.refreshLoop(ctx, cfg.RefreshInterval)
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

// Verify checks raw as [JWT.Verify] does, with the remote keys. A token
// naming an unknown key ID may cause a fetch of the JWKS at most once per
// MinRefetchInterval. That fetch serves every caller: it keeps ctx's
// values but not its cancellation, and is bounded by the HTTP client's
// timeout. The returned *Claims must not be modified.
func (r *RemoteVerifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	return r.v.verify(ctx, raw)
}

// Refresh fetches the JWKS now, whatever the refetch interval. On failure
// the current keys stay in use and the error is returned.
func (r *RemoteVerifier) Refresh(ctx context.Context) error {
	r.fetchMu.Lock()
	defer r.fetchMu.Unlock()
	return r.fetchLocked(ctx)
}

func (r *RemoteVerifier) refreshLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.Refresh(ctx) // on failure the last good set stays
		}
	}
}

// refetchUnknown is called for a token with an unknown key ID, with the
// snapshot seen that lacked it. If a newer snapshot was installed since, it
// returns that one; otherwise it fetches the set unless a fetch happened
// less than minRefetch ago, and returns the current snapshot, or nil.
//
// The fetch serves every caller and uses up the refetch budget, so it does
// not end with the context of the request that triggered it (a client that
// hangs up would otherwise leave a rotated key unknown until the next
// background refresh); the client's timeout bounds it.
func (r *RemoteVerifier) refetchUnknown(ctx context.Context, seen *keySnapshot) *keySnapshot {
	if s := r.cur.Load(); s != seen {
		return s // installed since the caller read seen
	}
	r.fetchMu.Lock()
	defer r.fetchMu.Unlock()
	if s := r.cur.Load(); s != seen {
		return s // another caller fetched meanwhile
	}
	if r.now().Sub(r.lastFetch) < r.minRefetch {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	r.fetchLocked(context.WithoutCancel(ctx))
	return r.cur.Load()
}

// fetchLocked fetches and installs the set. r.fetchMu must be held.
func (r *RemoteVerifier) fetchLocked(ctx context.Context) error {
	r.lastFetch = r.now()
	body, err := r.get(ctx)
	if err != nil {
		return err
	}
	if bytes.Equal(body, r.lastBody) {
		return nil // unchanged: keep the version, and so the token cache
	}
	keys, err := parseRemoteSet(body)
	if err != nil {
		return err
	}
	old := r.cur.Load()
	r.cur.Store(&keySnapshot{version: old.version + 1, keys: keys})
	r.lastBody = body
	return nil
}

func (r *RemoteVerifier) get(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: fetch JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwtauth: fetch JWKS: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("jwtauth: fetch JWKS: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return nil, errors.New("jwtauth: fetch JWKS: document larger than 1 MiB")
	}
	return body, nil
}

// parseRemoteSet returns the usable keys of a fetched JWK Set by ID. Keys
// that are not usable (symmetric, for encryption, without kid or alg, with
// an alg that does not fit the key, weak, or with a repeated kid) are
// skipped; a set with no usable key is an error.
func parseRemoteSet(body []byte) (map[string]*Key, error) {
	if !checkJSON(body) {
		return nil, errors.New("jwtauth: fetch JWKS: not valid JSON")
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, errors.New("jwtauth: fetch JWKS: not a JWK Set")
	}
	keys := make(map[string]*Key, set.Len())
	dup := make(map[string]bool)
	for i := range set.Len() {
		jk, _ := set.Key(i)
		k, err := keyFromJWK(jk, true)
		if err != nil {
			continue
		}
		if _, ok := keys[k.kid]; ok {
			dup[k.kid] = true
		}
		keys[k.kid] = k
	}
	for kid := range dup {
		delete(keys, kid) // ambiguous: trust neither
	}
	if len(keys) == 0 {
		return nil, errors.New("jwtauth: fetch JWKS: no usable signing key")
	}
	return keys, nil
}
