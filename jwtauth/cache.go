package jwtauth

import (
	"strings"
	"sync"
	"time"
)

// tokenCache remembers tokens that verified, so that a client sending the
// same token on many requests pays for the signature check once.
//
// It can never make an invalid token valid: entries are keyed by the whole
// token (a lookup is an exact string comparison, so a token differing in any
// byte misses), an entry is used only while the key set is at the version it
// was verified under (any Add, Rotate or Remove invalidates every entry), and
// exp, nbf and iat are checked against the clock on every hit, with the same
// leeway as a full verification. Only verified tokens are stored, so the
// memory held is bounded by size times the largest token the trusted issuer
// signs (and never more than size times MaxTokenBytes). When full, a random
// entry is evicted.
type tokenCache struct {
	mu   sync.RWMutex
	size int
	m    map[string]cacheEntry
}

type cacheEntry struct {
	claims    *Claims
	version   uint64
	expires   time.Time // exp
	notBefore time.Time // the later of nbf and iat; zero when neither
}

func newTokenCache(size int) *tokenCache {
	if size < 0 {
		return nil
	}
	if size == 0 {
		size = defaultCacheSize
	}
	return &tokenCache{size: size, m: make(map[string]cacheEntry, min(size, 1024))}
}

// get returns the cached claims of raw if they were verified under key-set
// version and are valid at now, or nil.
func (c *tokenCache) get(raw string, version uint64, now time.Time, leeway time.Duration) *Claims {
	c.mu.RLock()
	e, ok := c.m[raw]
	c.mu.RUnlock()
	if !ok || e.version != version || !now.Before(e.expires.Add(leeway)) || now.Add(leeway).Before(e.notBefore) {
		return nil
	}
	return e.claims
}

// put stores verified claims. raw is copied: it is often a substring of a
// request's Authorization field, query or Cookie field, which may hold up
// to a megabyte of padding that the entry must not keep alive.
func (c *tokenCache) put(raw string, claims *Claims, version uint64, expires, notBefore time.Time) {
	raw = strings.Clone(raw) // also when replacing: assignment replaces the key
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[raw]; !ok && len(c.m) >= c.size {
		for k := range c.m { // map iteration starts at a random entry
			delete(c.m, k)
			break
		}
	}
	c.m[raw] = cacheEntry{claims: claims, version: version, expires: expires, notBefore: notBefore}
}
