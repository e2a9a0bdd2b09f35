package jwtauth

import (
	"context"
	"errors"
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
			if n := l.cache.len(); n > size {
				t.Fatalf("after %d users: %d entries, want at most %d", i+1, n, size)
			}
		}
		// The least recently used users are dropped first: a user seen
		// again stays while newcomers push the others out.
		l.user(context.Background(), "u95")
		for i := range size - 1 {
			l.user(context.Background(), fmt.Sprint("fresh", i))
		}
		now := time.Now()
		for i := range size - 1 {
			if _, ok := l.cache.get(fmt.Sprint("fresh", i), now); !ok {
				t.Errorf("fresh%d was evicted", i)
			}
		}
		if _, ok := l.cache.get("u95", now); !ok {
			t.Error("u95, used again, was evicted before users not seen since")
		}
		if _, ok := l.cache.get("u99", now); ok {
			t.Error("u99, the least recently used, is still cached")
		}
		l.cache.mu.Lock()
		if got, want := l.cache.lru.Len(), len(l.cache.entries); got != want {
			t.Errorf("LRU list holds %d entries, map %d", got, want)
		}
		l.cache.mu.Unlock()

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
	if l := newUserLoader(store, 0, 0); l.cache != nil {
		t.Errorf("newUserLoader(ttl 0): a cache, want none")
	}
	a := newAuthenticator(nil, false, []Option{WithUsers(store)})
	if a.users == nil || a.users.ttl != defaultUserCacheTTL || a.users.cache == nil || a.users.cache.size != defaultUserCacheSize {
		t.Errorf("default user cache = %+v, want ttl %v, size %d", a.users, defaultUserCacheTTL, defaultUserCacheSize)
	}
	if a := newAuthenticator(nil, false, []Option{WithUsers(nil)}); a.users != nil {
		t.Errorf("WithUsers(nil): user loading on, want off")
	}
}

func TestDenyCheckerCache(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		denied := map[string]bool{}
		fail := false
		list := &denyFunc{denied: func(jti string) (bool, error) {
			if fail {
				return false, errors.New("list down")
			}
			return denied[jti], nil
		}}
		ctx := context.Background()
		exp := time.Now().Add(time.Hour)

		c := newDenyChecker(list, 0, 0)
		c.denied(ctx, "a", exp)
		c.denied(ctx, "a", exp)
		if calls := list.calls.Load(); calls != 2 || c.cache != nil {
			t.Errorf("without a cache: %d lookups for 2 checks (cache %v), want 2 and none", calls, c.cache)
		}

		list.calls.Store(0)
		c = newDenyChecker(list, time.Minute, 4)
		for range 3 {
			if d, err := c.denied(ctx, "a", exp); d || err != nil {
				t.Fatalf("denied(a) = %v, %v; want false", d, err)
			}
		}
		if calls := list.calls.Load(); calls != 1 {
			t.Errorf("lookups within the ttl = %d, want 1", calls)
		}
		// A revocation reaches a cached answer within the ttl.
		denied["a"] = true
		time.Sleep(61 * time.Second)
		if d, _ := c.denied(ctx, "a", exp); !d || list.calls.Load() != 2 {
			t.Errorf("after the ttl: denied(a) = %v after %d lookups, want true after 2", d, list.calls.Load())
		}
		// An answer never outlives its token.
		short := time.Now().Add(10 * time.Second)
		c.denied(ctx, "b", short)
		time.Sleep(11 * time.Second)
		c.denied(ctx, "b", short)
		if calls := list.calls.Load(); calls != 4 {
			t.Errorf("lookups of a token past its exp = %d, want 4", calls)
		}
		// Errors are not cached.
		fail = true
		if _, err := c.denied(ctx, "c", exp); err == nil {
			t.Error("denied with a failing list: no error")
		}
		fail = false
		if d, err := c.denied(ctx, "c", exp); d || err != nil || list.calls.Load() != 6 {
			t.Errorf("after a failure: denied(c) = %v, %v after %d lookups, want false, nil after 6", d, err, list.calls.Load())
		}
		if n := c.cache.len(); n > 4 {
			t.Errorf("cache holds %d answers, want at most 4", n)
		}
	})
}
