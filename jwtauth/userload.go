package jwtauth

import (
	"container/list"
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
// bounded cache of successful lookups: a least-recently-used list, so that
// a full cache drops the users that have not been seen for longest. Failed
// lookups are never cached.
type userLoader struct {
	store userstore.Store
	ttl   time.Duration // <= 0: no cache
	size  int

	mu      sync.Mutex
	entries map[string]*list.Element // of *cachedUser; nil without cache
	lru     list.List                // most recently used first
}

type cachedUser struct {
	id      string
	u       *userstore.User // private copy, never handed out
	expires time.Time
}

func newUserLoader(store userstore.Store, ttl time.Duration, size int) *userLoader {
	if size <= 0 {
		size = defaultUserCacheSize
	}
	l := &userLoader{store: store, ttl: ttl, size: size}
	if ttl > 0 {
		l.entries = make(map[string]*list.Element)
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
	if u := l.get(id, now); u != nil {
		return u, nil
	}
	u, err := l.store.UserByID(ctx, id)
	if err != nil || u == nil {
		return u, err
	}
	l.put(id, u.Clone(), now.Add(l.ttl))
	return u, nil
}

// get returns a copy of the cached user with that ID, or nil when there is
// none that is still fresh at now.
func (l *userLoader) get(id string, now time.Time) *userstore.User {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[id]
	if !ok {
		return nil
	}
	c := e.Value.(*cachedUser)
	if !now.Before(c.expires) {
		l.lru.Remove(e)
		delete(l.entries, id)
		return nil
	}
	l.lru.MoveToFront(e)
	return c.u.Clone()
}

// put stores u, dropping the least recently used user when the cache is
// full.
func (l *userLoader) put(id string, u *userstore.User, expires time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries[id]; ok {
		c := e.Value.(*cachedUser)
		c.u, c.expires = u, expires
		l.lru.MoveToFront(e)
		return
	}
	for l.lru.Len() >= l.size {
		oldest := l.lru.Back()
		l.lru.Remove(oldest)
		delete(l.entries, oldest.Value.(*cachedUser).id)
	}
	l.entries[id] = l.lru.PushFront(&cachedUser{id: id, u: u, expires: expires})
}
