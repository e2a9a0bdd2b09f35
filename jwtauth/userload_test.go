package jwtauth

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/authkit-go/authkit/userstore"
)

// storeFunc is a [userstore.Store] whose UserByID is f.
type storeFunc func(ctx context.Context, id string) (*userstore.User, error)

func (f storeFunc) UserByUsername(context.Context, string) (*userstore.User, error) {
	return nil, userstore.ErrNotFound
}

func (f storeFunc) UserByID(ctx context.Context, id string) (*userstore.User, error) {
	return f(ctx, id)
}

func TestUserLoaderBounded(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		store := storeFunc(func(_ context.Context, id string) (*userstore.User, error) {
			return &userstore.User{ID: id}, nil
		})
		const size = 8
		l := newUserLoader(store, time.Minute, size)
		for i := range 100 {
			id := fmt.Sprint("u", i)
			u, err := l.user(context.Background(), id)
			if err != nil || u.ID != id {
				t.Fatalf("user(%q) = %+v, %v; want that user", id, u, err)
			}
			if n := len(l.entries); n > size {
				t.Fatalf("after %d users: %d entries, want at most %d", i+1, n, size)
			}
		}
		// The least recently used users are dropped first: a user seen
		// again stays while newcomers push the others out.
		l.user(context.Background(), "u95")
		for i := range size - 1 {
			l.user(context.Background(), fmt.Sprint("fresh", i))
		}
		l.mu.Lock()
		for i := range size - 1 {
			if _, ok := l.entries[fmt.Sprint("fresh", i)]; !ok {
				t.Errorf("fresh%d was evicted", i)
			}
		}
		if _, ok := l.entries["u95"]; !ok {
			t.Error("u95, used again, was evicted before users not seen since")
		}
		if _, ok := l.entries["u99"]; ok {
			t.Error("u99, the least recently used, is still cached")
		}
		if got := l.lru.Len(); got != len(l.entries) {
			t.Errorf("LRU list holds %d entries, map %d", got, len(l.entries))
		}
		l.mu.Unlock()

		// An expired entry is looked up again and refreshed.
		calls := 0
		counting := storeFunc(func(_ context.Context, id string) (*userstore.User, error) {
			calls++
			return &userstore.User{ID: id}, nil
		})
		l = newUserLoader(counting, time.Minute, size)
		l.user(context.Background(), "a")
		l.user(context.Background(), "a")
		if calls != 1 {
			t.Errorf("store lookups within the ttl = %d, want 1", calls)
		}
		time.Sleep(2 * time.Minute)
		l.user(context.Background(), "a")
		if calls != 2 {
			t.Errorf("store lookups after the ttl = %d, want 2", calls)
		}
	})
}

func TestUserLoaderDefaults(t *testing.T) {
	t.Parallel()
	store := storeFunc(func(context.Context, string) (*userstore.User, error) { return nil, userstore.ErrNotFound })
	if l := newUserLoader(store, 0, 0); l.entries != nil || l.size != defaultUserCacheSize {
		t.Errorf("newUserLoader(ttl 0): entries %v, size %d; want no cache, size %d", l.entries, l.size, defaultUserCacheSize)
	}
	a := newAuthenticator(nil, false, []Option{WithUsers(store)})
	if a.users == nil || a.users.ttl != defaultUserCacheTTL || a.users.size != defaultUserCacheSize {
		t.Errorf("default user cache = %+v, want ttl %v, size %d", a.users, defaultUserCacheTTL, defaultUserCacheSize)
	}
	if a := newAuthenticator(nil, false, []Option{WithUsers(nil)}); a.users != nil {
		t.Errorf("WithUsers(nil): user loading on, want off")
	}
}
