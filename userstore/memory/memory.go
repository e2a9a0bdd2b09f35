// Package memory provides an in-memory [userstore.Manager]: a user store for
// tests, examples and single-instance services whose accounts need not
// survive a restart.
//
// The store is safe for concurrent use. It copies users in and out, so a
// caller that modifies a user it passed in or got back changes nothing
// stored. Login names are unique after [userstore.NormalizeUsername]: of any
// number of concurrent CreateUser calls for equivalent names, exactly one
// succeeds. It keeps encoded password hashes only and treats them as opaque
// strings.
//
// Everything lives in memory: the store holds every user, and the ID of
// every deleted user (so that no ID is ever handed out twice), for its
// lifetime.
package memory

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/internal/rules"
)

// Store is an in-memory [userstore.Manager]. Create one with [New] or
// [NewWithClock]; the zero value is an empty store that uses [time.Now].
// A Store must not be copied after first use.
type Store struct {
	now func() time.Time

	mu      sync.RWMutex
	byID    map[string]*userstore.User // the stored records; never handed out
	byName  map[string]string          // normalised username -> ID
	ids     []string                   // IDs of live users, sorted, for paging
	deleted map[string]struct{}        // IDs of deleted users, never reused
}

var _ userstore.Manager = (*Store)(nil)

// New returns an empty store that stamps records with [time.Now].
func New() *Store { return &Store{} }

// NewWithClock returns an empty store that stamps CreatedAt, UpdatedAt and
// TokensValidAfter with the time now returns. A nil now means [time.Now].
func NewWithClock(now func() time.Time) *Store { return &Store{now: now} }

// UserByUsername implements [userstore.Store]. It returns an error wrapping
// [userstore.ErrInvalidUsername] if username cannot be normalised, one
// wrapping [userstore.ErrNotFound] if no user holds it, and ctx's error if
// ctx is done.
func (s *Store) UserByUsername(ctx context.Context, username string) (*userstore.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key, err := userstore.NormalizeUsername(username)
	if err != nil {
		return nil, fmt.Errorf("memory: user by username: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if u := s.byID[s.byName[key]]; u != nil {
		return u.Clone(), nil
	}
	return nil, fmt.Errorf("memory: user by username: %w", userstore.ErrNotFound)
}

// UserByID implements [userstore.Store]. IDs are compared exactly. It
// returns an error wrapping [userstore.ErrNotFound] if no user has the ID,
// and ctx's error if ctx is done.
func (s *Store) UserByID(ctx context.Context, id string) (*userstore.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if u := s.byID[id]; u != nil {
		return u.Clone(), nil
	}
	return nil, fmt.Errorf("memory: user by id: %w", userstore.ErrNotFound)
}

// CreateUser implements [userstore.Manager]. It stores a copy of u and
// returns another. An empty u.ID gets a random one from [rand.Text]; a
// caller-chosen ID must be valid UTF-8 of at most 256 bytes without control
// characters, and must never have belonged to a user of this store, deleted
// or not (else [userstore.ErrDuplicate]). CreatedAt and UpdatedAt are set to
// the store's clock; TokensValidAfter is kept as given, so that an imported
// account keeps its cut-off.
//
// An invalid username returns an error that wraps both
// [userstore.ErrInvalidUser] and [userstore.ErrInvalidUsername].
func (s *Store) CreateUser(ctx context.Context, u *userstore.User) (*userstore.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if u == nil {
		return nil, fmt.Errorf("memory: create user: nil user: %w", userstore.ErrInvalidUser)
	}
	key, err := checkUser(u)
	if err != nil {
		return nil, fmt.Errorf("memory: create user: %w", err)
	}
	if u.ID != "" && !rules.ValidID(u.ID) {
		return nil, fmt.Errorf("memory: create user: malformed id: %w", userstore.ErrInvalidUser)
	}
	c := u.Clone()

	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	if _, taken := s.byName[key]; taken {
		return nil, fmt.Errorf("memory: create user: username taken: %w", userstore.ErrDuplicate)
	}
	if c.ID == "" {
		c.ID = s.newID()
	} else if s.idUsed(c.ID) {
		return nil, fmt.Errorf("memory: create user: id taken: %w", userstore.ErrDuplicate)
	}
	now := s.clock()
	c.CreatedAt, c.UpdatedAt = now, now
	c.TokensValidAfter = c.TokensValidAfter.Round(0)
	s.byID[c.ID] = c
	s.byName[key] = c.ID
	i, _ := slices.BinarySearch(s.ids, c.ID)
	s.ids = slices.Insert(s.ids, i, c.ID)
	return c.Clone(), nil
}

// UpdateUser implements [userstore.Manager]. It replaces Username, Name,
// Email, Roles and Disabled of the user with u.ID and ignores u's other
// fields. If the set of roles changes (order and repetition do not count),
// TokensValidAfter moves forward to now.
func (s *Store) UpdateUser(ctx context.Context, u *userstore.User) (*userstore.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if u == nil {
		return nil, fmt.Errorf("memory: update user: nil user: %w", userstore.ErrInvalidUser)
	}
	key, err := normalize(u.Username)
	if err != nil {
		return nil, fmt.Errorf("memory: update user: %w", err)
	}
	roles := slices.Clone(u.Roles)

	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.byID[u.ID]
	if cur == nil {
		return nil, fmt.Errorf("memory: update user: %w", userstore.ErrNotFound)
	}
	if owner, taken := s.byName[key]; taken && owner != cur.ID {
		return nil, fmt.Errorf("memory: update user: username taken: %w", userstore.ErrDuplicate)
	}
	oldKey, _ := userstore.NormalizeUsername(cur.Username)
	now := s.clock()
	if !rules.SameRoles(cur.Roles, roles) || (u.Disabled && !cur.Disabled) {
		cur.TokensValidAfter = rules.Later(cur.TokensValidAfter, now)
	}
	if oldKey != key {
		delete(s.byName, oldKey)
		s.byName[key] = cur.ID
	}
	cur.Username, cur.Name, cur.Email = u.Username, u.Name, u.Email
	cur.Roles, cur.Disabled = roles, u.Disabled
	cur.UpdatedAt = now
	return cur.Clone(), nil
}

// SetPasswordHash implements [userstore.Manager]. An empty hash returns an
// error wrapping [userstore.ErrInvalidUser].
func (s *Store) SetPasswordHash(ctx context.Context, id, hash string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if hash == "" {
		return fmt.Errorf("memory: set password hash: empty hash: %w", userstore.ErrInvalidUser)
	}
	return s.modify(id, "set password hash", func(u *userstore.User, now time.Time) error {
		u.PasswordHash = hash
		u.TokensValidAfter = rules.Later(u.TokensValidAfter, now)
		return nil
	})
}

// UpgradePasswordHash implements [userstore.PasswordHashUpgrader]: it
// replaces the hash only if it still equals oldHash, else returns an error
// wrapping [userstore.ErrConflict]. An empty newHash returns an error
// wrapping [userstore.ErrInvalidUser].
func (s *Store) UpgradePasswordHash(ctx context.Context, id, oldHash, newHash string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if newHash == "" {
		return fmt.Errorf("memory: upgrade password hash: empty hash: %w", userstore.ErrInvalidUser)
	}
	return s.modify(id, "upgrade password hash", func(u *userstore.User, _ time.Time) error {
		if u.PasswordHash != oldHash {
			return userstore.ErrConflict
		}
		u.PasswordHash = newHash
		return nil
	})
}

// SetDisabled implements [userstore.Manager]. Disabling moves
// TokensValidAfter forward to now, so that re-enabling the user later does
// not bring back the tokens issued before.
func (s *Store) SetDisabled(ctx context.Context, id string, disabled bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.modify(id, "set disabled", func(u *userstore.User, now time.Time) error {
		if disabled && !u.Disabled {
			u.TokensValidAfter = rules.Later(u.TokensValidAfter, now)
		}
		u.Disabled = disabled
		return nil
	})
}

// RevokeTokens implements [userstore.Manager]: it moves TokensValidAfter
// forward to now. A clock that went backwards never moves it back.
func (s *Store) RevokeTokens(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.modify(id, "revoke tokens", func(u *userstore.User, now time.Time) error {
		u.TokensValidAfter = rules.Later(u.TokensValidAfter, now)
		return nil
	})
}

// DeleteUser implements [userstore.Manager]. The username becomes free
// again; the ID does not.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.byID[id]
	if u == nil {
		return fmt.Errorf("memory: delete user: %w", userstore.ErrNotFound)
	}
	key, _ := userstore.NormalizeUsername(u.Username)
	delete(s.byName, key)
	delete(s.byID, id)
	if i, ok := slices.BinarySearch(s.ids, id); ok {
		s.ids = slices.Delete(s.ids, i, i+1)
	}
	s.deleted[id] = struct{}{}
	return nil
}

// ListUsers implements [userstore.Manager]: it returns up to
// opts.PageLimit() users with IDs greater than opts.After, in ascending
// byte order of ID, and the ID of the last one as the next cursor when more
// follow. A page stays consistent under concurrent writes; users created or
// deleted between pages may be seen or missed, as with any cursor.
func (s *Store) ListUsers(ctx context.Context, opts userstore.ListOptions) ([]*userstore.User, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	limit := opts.PageLimit()
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, found := slices.BinarySearch(s.ids, opts.After)
	if found {
		i++
	}
	end := min(i+limit, len(s.ids))
	users := make([]*userstore.User, 0, end-i)
	for _, id := range s.ids[i:end] {
		users = append(users, s.byID[id].Clone())
	}
	next := ""
	if end < len(s.ids) {
		next = s.ids[end-1]
	}
	return users, next, nil
}

// modify runs f on the stored user with the given ID under the write lock
// and stamps UpdatedAt if f succeeds. f must not keep u.
func (s *Store) modify(id, op string, f func(u *userstore.User, now time.Time) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.byID[id]
	if u == nil {
		return fmt.Errorf("memory: %s: %w", op, userstore.ErrNotFound)
	}
	now := s.clock()
	if err := f(u, now); err != nil {
		return fmt.Errorf("memory: %s: %w", op, err)
	}
	u.UpdatedAt = now
	return nil
}

// init makes the zero Store usable. s.mu must be held for writing.
func (s *Store) init() {
	if s.byID == nil {
		s.byID = make(map[string]*userstore.User)
		s.byName = make(map[string]string)
		s.deleted = make(map[string]struct{})
	}
}

// clock returns the current time without its monotonic reading, so that
// stored times compare equal after a round trip.
func (s *Store) clock() time.Time {
	if s.now == nil {
		return time.Now().Round(0)
	}
	return s.now().Round(0)
}

// idUsed reports whether id belongs to a live or deleted user.
func (s *Store) idUsed(id string) bool {
	_, deleted := s.deleted[id]
	return deleted || s.byID[id] != nil
}

// newID returns a random ID that no user of s has ever had. s.mu must be
// held for writing.
func (s *Store) newID() string {
	for {
		// 26 base32 characters: 130 random bits, so the loop runs once in
		// practice.
		if id := rand.Text(); !s.idUsed(id) {
			return id
		}
	}
}

// checkUser validates a user to be created and returns its normalised
// username.
func checkUser(u *userstore.User) (string, error) {
	key, err := normalize(u.Username)
	if err != nil {
		return "", err
	}
	if u.PasswordHash == "" {
		return "", fmt.Errorf("empty password hash: %w", userstore.ErrInvalidUser)
	}
	return key, nil
}

// normalize is [userstore.NormalizeUsername] with an error that also wraps
// [userstore.ErrInvalidUser], as the Manager contract asks of writes.
func normalize(username string) (string, error) {
	key, err := userstore.NormalizeUsername(username)
	if err != nil {
		return "", fmt.Errorf("%w: %w", userstore.ErrInvalidUser, err)
	}
	return key, nil
}
