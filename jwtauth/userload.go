package jwtauth

import (
	"context"
	"time"

	"github.com/authkit-go/authkit/userstore"
)

// Defaults of [WithUserCache].
const (
	defaultUserCacheTTL  = time.Second
	defaultUserCacheSize = 4096
)

// userLoader looks users up by ID for [Middleware], through a short-lived,
// bounded cache of successful lookups. Failed lookups are never cached.
type userLoader struct {
	store userstore.Store
	ttl   time.Duration              // <= 0: no cache
	cache *ttlCache[*userstore.User] // private copies, never handed out; nil without cache
}

func newUserLoader(store userstore.Store, ttl time.Duration, size int) *userLoader {
	l := &userLoader{store: store, ttl: ttl}
	if ttl > 0 {
		l.cache = newTTLCache[*userstore.User](cacheSize(size))
	}
	return l
}

// cacheSize returns size, or the default for a size of zero or less.
func cacheSize(size int) int {
	if size <= 0 {
		return defaultUserCacheSize
	}
	return size
}

// user returns the user with that ID: a copy the caller may keep. Errors
// are the store's.
func (l *userLoader) user(ctx context.Context, id string) (*userstore.User, error) {
	if l.cache == nil {
		return l.store.UserByID(ctx, id)
	}
	now := time.Now()
	if u, ok := l.cache.get(id, now); ok {
		return u.Clone(), nil
	}
	u, err := l.store.UserByID(ctx, id)
	if err != nil || u == nil {
		return u, err
	}
	l.cache.put(id, u.Clone(), now.Add(l.ttl))
	return u, nil
}

// denyChecker asks a [Denylist] about a token's "jti", through the same
// kind of cache as [userLoader]: an answer is reused for the cache's
// ttl, and never past the token's expiry. Errors are never cached.
type denyChecker struct {
	list  Denylist
	ttl   time.Duration   // <= 0: no cache
	cache *ttlCache[bool] // nil without cache
}

func newDenyChecker(d Denylist, ttl time.Duration, size int) *denyChecker {
	c := &denyChecker{list: d, ttl: ttl}
	if ttl > 0 {
		c.cache = newTTLCache[bool](cacheSize(size))
	}
	return c
}

// denied reports whether the token with that jti and expiry is on the list.
func (c *denyChecker) denied(ctx context.Context, jti string, exp time.Time) (bool, error) {
	if c.cache == nil {
		return c.list.Denied(ctx, jti)
	}
	now := time.Now()
	if d, ok := c.cache.get(jti, now); ok {
		return d, nil
	}
	d, err := c.list.Denied(ctx, jti)
	if err != nil {
		return false, err
	}
	until := now.Add(c.ttl)
	if !exp.IsZero() && exp.Before(until) {
		until = exp
	}
	c.cache.put(jti, d, until)
	return d, nil
}
