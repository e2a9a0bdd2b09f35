package jwtauth

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// KeySet holds one active signing key and any number of verification-only
// keys, addressed by key ID. Tokens are signed with the active key and
// verified with whichever key their "kid" names. A KeySet is safe for
// concurrent use: changes take effect atomically for every [JWT] using it,
// and every change invalidates their verified-token caches.
//
// Rotation without breaking clients: [KeySet.Rotate] to a new key; the
// previous active key stays for verification, so the tokens it signed stay
// valid until they expire; once they have, [KeySet.Remove] it. Removing a
// key makes its tokens fail at once. Resource servers that follow the
// [KeySet.JWKSHandler] output should see a new key before tokens carry it:
// [KeySet.Add] it first, wait for their JWKS caches to refresh, then Rotate.
type KeySet struct {
	mu  sync.Mutex // serialises writers
	cur atomic.Pointer[keySnapshot]
}

// keySnapshot is an immutable state of a key set.
type keySnapshot struct {
	version uint64
	active  *Key // nil in a remote set
	keys    map[string]*Key
}

// NewKeySet returns a set that signs with active, which must be able to
// sign, and also verifies with verifyOnly. Key IDs must be unique.
func NewKeySet(active *Key, verifyOnly ...*Key) (*KeySet, error) {
	if active == nil {
		return nil, errors.New("jwtauth: key set needs an active key")
	}
	if !active.CanSign() {
		return nil, fmt.Errorf("jwtauth: active key %q cannot sign", active.kid)
	}
	snap := &keySnapshot{version: 1, active: active, keys: map[string]*Key{active.kid: active}}
	for _, k := range verifyOnly {
		if k == nil {
			return nil, errors.New("jwtauth: nil key")
		}
		if _, dup := snap.keys[k.kid]; dup {
			return nil, fmt.Errorf("jwtauth: duplicate key ID %q", k.kid)
		}
		snap.keys[k.kid] = k
	}
	s := &KeySet{}
	s.cur.Store(snap)
	return s, nil
}

func (s *KeySet) snapshot() *keySnapshot { return s.cur.Load() }

// update applies fn to a copy of the current state under the writer lock.
func (s *KeySet) update(fn func(keys map[string]*Key, active **Key) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cur.Load()
	if old == nil {
		return errZeroKeySet
	}
	keys := make(map[string]*Key, len(old.keys)+1)
	for id, k := range old.keys {
		keys[id] = k
	}
	active := old.active
	if err := fn(keys, &active); err != nil {
		return err
	}
	s.cur.Store(&keySnapshot{version: old.version + 1, active: active, keys: keys})
	return nil
}

// Rotate makes newActive the signing key. The previous active key stays in
// the set for verification only. newActive must be able to sign and must not
// be the active key already. Its ID may be in the set only for the same key,
// added earlier with [KeySet.Add] (itself or its [Key.Public] part) so that
// verifiers following the JWKS knew it in time.
func (s *KeySet) Rotate(newActive *Key) error {
	if newActive == nil || !newActive.CanSign() {
		return errors.New("jwtauth: rotate: the new active key must be able to sign")
	}
	return s.update(func(keys map[string]*Key, active **Key) error {
		if (*active).kid == newActive.kid {
			return fmt.Errorf("jwtauth: rotate: key %q is already the active key", newActive.kid)
		}
		if old, dup := keys[newActive.kid]; dup && !old.sameKey(newActive) {
			return fmt.Errorf("jwtauth: rotate: key ID %q already in the set for another key", newActive.kid)
		}
		keys[newActive.kid] = newActive
		*active = newActive
		return nil
	})
}

// Add adds k for verification only. Its ID must not be in the set yet.
func (s *KeySet) Add(k *Key) error {
	if k == nil {
		return errors.New("jwtauth: add: nil key")
	}
	return s.update(func(keys map[string]*Key, _ **Key) error {
		if _, dup := keys[k.kid]; dup {
			return fmt.Errorf("jwtauth: add: key ID %q already in the set", k.kid)
		}
		keys[k.kid] = k
		return nil
	})
}

// Remove removes the key with ID kid: tokens it signed stop verifying at
// once. The active key cannot be removed; Rotate away from it first.
func (s *KeySet) Remove(kid string) error {
	return s.update(func(keys map[string]*Key, active **Key) error {
		if _, ok := keys[kid]; !ok {
			return fmt.Errorf("jwtauth: remove: no key with ID %q", kid)
		}
		if (*active).kid == kid {
			return fmt.Errorf("jwtauth: remove: key %q is the active key", kid)
		}
		delete(keys, kid)
		return nil
	})
}

// Active returns the current signing key.
func (s *KeySet) Active() *Key {
	if snap := s.cur.Load(); snap != nil {
		return snap.active
	}
	return nil
}

var errZeroKeySet = errors.New("jwtauth: KeySet not created by NewKeySet")
