package jwtauth

import (
	"context"
	"sync"
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
	ttl   time.Duration // <= 0: no cache
	size  int

	mu      sync.Mutex
	entries map[string]cachedUser
}

type cachedUser struct {
	u       *userstore.User // private copy, never handed out
	expires time.Time
}

func newUserLoader(store userstore.Store, ttl time.Duration, size int) *userLoader {
	if size <= 0 {
		size = defaultUserCacheSize
	}
	l := &userLoader{store: store, ttl: ttl, size: size}
	if ttl > 0 {
		l.entries = make(map[string]cachedUser)
	}
	return l
}

// user returns the user with that ID: a copy the caller may keep. Errors
// are the store's.
func (l *userLoader) user(ctx context.Context, id string) (*userstore.User, error) {
	if l.ttl <= 0 {
		return l.store.UserByID(ctx, id)
	}
	now := time.Now()
	l.mu.Lock()
	e, ok := l.entries[id]
	l.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.u.Clone(), nil
	}
	u, err := l.store.UserByID(ctx, id)
	if err != nil || u == nil {
		return u, err
	}
	l.put(id, u.Clone(), now.Add(l.ttl))
	return u, nil
}

// put stores u. When the cache is full it first drops expired entries and,
// if that frees less than a quarter of it, drops everything: each full
// sweep is paid for by at least size/4 cheap inserts, and no lookup ever
// waits on more than one sweep.
func (l *userLoader) put(id string, u *userstore.User, expires time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.entries[id]; !ok && len(l.entries) >= l.size {
		now := time.Now()
		for k, e := range l.entries {
			if !now.Before(e.expires) {
				delete(l.entries, k)
			}
		}
		if len(l.entries) > l.size-l.size/4 {
			clear(l.entries)
		}
	}
	l.entries[id] = cachedUser{u: u, expires: expires}
}
