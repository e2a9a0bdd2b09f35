package jwtauth

import (
	"container/list"
	"sync"
	"time"
)

// ttlCache is a bounded cache whose entries expire: a least-recently-used
// list, so that a full cache drops the entries that have not been seen for
// longest. It is safe for concurrent use.
type ttlCache[V any] struct {
	size int

	mu      sync.Mutex
	entries map[string]*list.Element // of *ttlEntry[V]
	lru     list.List                // most recently used first
}

type ttlEntry[V any] struct {
	key     string
	v       V
	expires time.Time
}

func newTTLCache[V any](size int) *ttlCache[V] {
	return &ttlCache[V]{size: size, entries: make(map[string]*list.Element)}
}

// get returns the value cached for key, if there is one still fresh at now.
func (c *ttlCache[V]) get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		var zero V
		return zero, false
	}
	en := e.Value.(*ttlEntry[V])
	if !now.Before(en.expires) {
		c.lru.Remove(e)
		delete(c.entries, key)
		var zero V
		return zero, false
	}
	c.lru.MoveToFront(e)
	return en.v, true
}

// put caches v for key until expires, dropping the least recently used
// entry when the cache is full.
func (c *ttlCache[V]) put(key string, v V, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		en := e.Value.(*ttlEntry[V])
		en.v, en.expires = v, expires
		c.lru.MoveToFront(e)
		return
	}
	for c.lru.Len() >= c.size {
		oldest := c.lru.Back()
		c.lru.Remove(oldest)
		delete(c.entries, oldest.Value.(*ttlEntry[V]).key)
	}
	c.entries[key] = c.lru.PushFront(&ttlEntry[V]{key: key, v: v, expires: expires})
}

// len returns the number of entries, fresh or not.
func (c *ttlCache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
