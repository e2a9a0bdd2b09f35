package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/authkit-go/authkit/userstore"
)

// Sessions is an in-memory store of refresh-token families and of the
// access-token denylist: the store the token endpoint's refresh tokens
// need (oauth2pw.RefreshStore), and a denylist for the Bearer middleware
// (jwtauth.Denylist). It is separate from [Store] so that sessions can
// live beside users kept anywhere else, and users beside sessions kept
// elsewhere.
//
// Create one with [NewSessions]; the zero value is an empty store that
// uses [time.Now]. It is safe for concurrent use, copies the slices it is
// given and returns, and starts no goroutine: expired records go when
// PruneRefresh is called. A Sessions must not be copied after first use.
type Sessions struct {
	now func() time.Time

	mu       sync.Mutex
	families map[string]*familyRecord
	tokens   map[string]*tokenRecord        // by digest
	byUser   map[string]map[string]struct{} // user ID -> family IDs
	denied   map[string]time.Time           // jti -> until
}

type familyRecord struct {
	userID, clientID string
	scope            []string
	created, expires time.Time
	tokens           []string // digests, soonest expiry first
}

type tokenRecord struct {
	family         string
	expires, spent time.Time
	successor      []byte
}

// NewSessions returns an empty session store that reads the time for
// Denied from now. A nil now means [time.Now].
func NewSessions(now func() time.Time) *Sessions { return &Sessions{now: now} }

func (s *Sessions) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// init makes the maps; the caller holds s.mu.
func (s *Sessions) init() {
	if s.families == nil {
		s.families = make(map[string]*familyRecord)
		s.tokens = make(map[string]*tokenRecord)
		s.byUser = make(map[string]map[string]struct{})
		s.denied = make(map[string]time.Time)
	}
}

// CreateRefreshFamily stores a new family with its first token, unspent.
// It returns an error wrapping [userstore.ErrDuplicate] if the family ID
// or the token is stored already, and ctx's error if ctx is done.
func (s *Sessions) CreateRefreshFamily(ctx context.Context, family, userID, clientID string, scope []string, created, expires time.Time, token []byte, tokenExpires time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	if _, ok := s.families[family]; ok {
		return fmt.Errorf("memory: create refresh family: family exists: %w", userstore.ErrDuplicate)
	}
	if _, ok := s.tokens[string(token)]; ok {
		return fmt.Errorf("memory: create refresh family: token exists: %w", userstore.ErrDuplicate)
	}
	s.families[family] = &familyRecord{
		userID: userID, clientID: clientID, scope: slices.Clone(scope),
		created: created.Round(0), expires: expires.Round(0),
		tokens: []string{string(token)},
	}
	s.tokens[string(token)] = &tokenRecord{family: family, expires: tokenExpires.Round(0)}
	fams := s.byUser[userID]
	if fams == nil {
		fams = make(map[string]struct{})
		s.byUser[userID] = fams
	}
	fams[family] = struct{}{}
	return nil
}

// RefreshToken returns the family of the token, its expiry and, once it
// is spent, the instant it was spent and its sealed successor. An unknown
// token is an error wrapping [userstore.ErrNotFound].
func (s *Sessions) RefreshToken(ctx context.Context, token []byte) (family string, expires, spent time.Time, successor []byte, err error) {
	if err := ctx.Err(); err != nil {
		return "", time.Time{}, time.Time{}, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[string(token)]
	if t == nil {
		return "", time.Time{}, time.Time{}, nil, fmt.Errorf("memory: refresh token: %w", userstore.ErrNotFound)
	}
	return t.family, t.expires, t.spent, slices.Clone(t.successor), nil
}

// RefreshFamily returns the record of the family. An unknown family is an
// error wrapping [userstore.ErrNotFound].
func (s *Sessions) RefreshFamily(ctx context.Context, family string) (userID, clientID string, scope []string, created, expires time.Time, err error) {
	if err := ctx.Err(); err != nil {
		return "", "", nil, time.Time{}, time.Time{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.families[family]
	if f == nil {
		return "", "", nil, time.Time{}, time.Time{}, fmt.Errorf("memory: refresh family: %w", userstore.ErrNotFound)
	}
	return f.userID, f.clientID, slices.Clone(f.scope), f.created, f.expires, nil
}

// RotateRefreshToken spends old, recording now and sealed, and stores
// next in old's family, atomically. It returns an error wrapping
// [userstore.ErrConflict] if old is spent already, one wrapping
// [userstore.ErrNotFound] if old or its family is gone, and one wrapping
// [userstore.ErrDuplicate] if next is stored already; in each case it
// changes nothing.
func (s *Sessions) RotateRefreshToken(ctx context.Context, old, next []byte, now, nextExpires time.Time, sealed []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[string(old)]
	if t == nil || s.families[t.family] == nil {
		return fmt.Errorf("memory: rotate refresh token: %w", userstore.ErrNotFound)
	}
	if !t.spent.IsZero() {
		return fmt.Errorf("memory: rotate refresh token: spent: %w", userstore.ErrConflict)
	}
	if _, ok := s.tokens[string(next)]; ok {
		return fmt.Errorf("memory: rotate refresh token: next exists: %w", userstore.ErrDuplicate)
	}
	t.spent, t.successor = now.Round(0), slices.Clone(sealed)
	exp := nextExpires.Round(0)
	s.tokens[string(next)] = &tokenRecord{family: t.family, expires: exp}
	f := s.families[t.family]
	i := len(f.tokens) // the end, unless a token of the family outlives next
	for i > 0 && s.tokens[f.tokens[i-1]].expires.After(exp) {
		i--
	}
	f.tokens = slices.Insert(f.tokens, i, string(next))
	return nil
}

// RevokeRefreshFamily deletes the family and its tokens. An unknown family
// is no error.
func (s *Sessions) RevokeRefreshFamily(ctx context.Context, family string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteFamily(family)
	return nil
}

// RevokeUserRefreshFamilies deletes every family of the user, and their
// tokens.
func (s *Sessions) RevokeUserRefreshFamilies(ctx context.Context, userID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.byUser[userID] {
		s.deleteFamily(id)
	}
	return nil
}

// deleteFamily removes the family and its tokens; the caller holds s.mu.
func (s *Sessions) deleteFamily(id string) {
	f := s.families[id]
	if f == nil {
		return
	}
	for _, d := range f.tokens {
		delete(s.tokens, d)
	}
	delete(s.families, id)
	if fams := s.byUser[f.userID]; fams != nil {
		delete(fams, id)
		if len(fams) == 0 {
			delete(s.byUser, f.userID)
		}
	}
}

// DenyAccessToken puts jti on the denylist until until. A later call for
// the same jti keeps the later of the two instants.
func (s *Sessions) DenyAccessToken(ctx context.Context, jti string, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	if cur, ok := s.denied[jti]; !ok || until.After(cur) {
		s.denied[jti] = until.Round(0)
	}
	return nil
}

// Denied reports whether jti is on the denylist and its entry's until is
// after the store's clock. It implements jwtauth.Denylist.
func (s *Sessions) Denied(ctx context.Context, jti string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	until, ok := s.denied[jti]
	s.mu.Unlock()
	return ok && until.After(s.clock()), nil
}

// PruneRefresh deletes the tokens whose expiry is not after now, the
// families whose expiry is not after now or that have no token left, and
// the denylist entries whose until is not after now. A family's tokens
// are kept in order of expiry, so it looks at no live token but the first
// of each family.
func (s *Sessions) PruneRefresh(ctx context.Context, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, f := range s.families {
		if !f.expires.After(now) {
			s.deleteFamily(id)
			continue
		}
		n := 0
		for n < len(f.tokens) && !s.tokens[f.tokens[n]].expires.After(now) {
			delete(s.tokens, f.tokens[n])
			n++
		}
		f.tokens = slices.Delete(f.tokens, 0, n)
		if len(f.tokens) == 0 {
			s.deleteFamily(id)
		}
	}
	for jti, until := range s.denied {
		if !until.After(now) {
			delete(s.denied, jti)
		}
	}
	return nil
}
