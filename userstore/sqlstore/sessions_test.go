package sqlstore_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/oauth2pw"
	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/sqlstore"
	"github.com/authkit-go/authkit/userstore/storetest"
)

var (
	_ oauth2pw.RefreshStore  = (*sqlstore.Store)(nil)
	_ jwtauth.Denylist       = (*sqlstore.Store)(nil)
	_ storetest.SessionStore = (*sqlstore.Store)(nil)
)

func TestSessionsConformance(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		storetest.RunSessions(t, func(t *testing.T) storetest.SessionStore {
			s, _ := newStore(t, b)
			return s
		})
	})
}

// tokenDigest returns a random 32-byte token name.
func tokenDigest() []byte {
	d := sha256.Sum256([]byte(rand.Text()))
	return d[:]
}

// sessionBase is the instant the session tests build their records from.
var sessionBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// mustFamily stores family f of user with a fresh token expiring at
// tokenExpires, and returns the token.
func mustFamily(t testing.TB, s *sqlstore.Store, f, user string, expires, tokenExpires time.Time) []byte {
	t.Helper()
	tok := tokenDigest()
	if err := s.CreateRefreshFamily(t.Context(), f, user, "web", []string{"read"}, sessionBase, expires, tok, tokenExpires); err != nil {
		t.Fatalf("CreateRefreshFamily(%s): %v", f, err)
	}
	return tok
}

// TestSessionsRotateRaceTwoPools rotates one token from many goroutines
// through two stores on two pools of one database, as two instances of a
// service would: exactly one rotation succeeds, the others answer
// ErrConflict, and only the winner's successor is stored.
func TestSessionsRotateRaceTwoPools(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		dbA, dbB := twoPools(t, b)
		stores := [2]*sqlstore.Store{migrated(t, dbA, b.dialect), migrated(t, dbB, b.dialect)}
		const n = 24
		for round := range 3 {
			old := mustFamily(t, stores[0], fmt.Sprintf("f%d", round), "u1", sessionBase.Add(30*24*time.Hour), sessionBase.Add(24*time.Hour))
			nexts := make([][]byte, n)
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				nexts[i] = tokenDigest()
				wg.Go(func() {
					<-start
					errs[i] = stores[i%2].RotateRefreshToken(context.Background(), old, nexts[i],
						sessionBase.Add(time.Minute), sessionBase.Add(48*time.Hour), []byte{byte(i)})
				})
			}
			close(start)
			wg.Wait()
			won := -1
			for i, err := range errs {
				switch {
				case err == nil && won >= 0:
					t.Fatalf("round %d: rotations %d and %d of one token both succeeded", round, won, i)
				case err == nil:
					won = i
				case !errors.Is(err, userstore.ErrConflict):
					t.Errorf("round %d: rotation %d: err = %v, want nil or ErrConflict", round, i, err)
				}
			}
			if won < 0 {
				t.Fatalf("round %d: no rotation succeeded", round)
			}
			for i, next := range nexts {
				_, _, _, _, err := stores[(i+1)%2].RefreshToken(t.Context(), next)
				if i == won && err != nil {
					t.Errorf("round %d: RefreshToken(winner) on the other pool: %v", round, err)
				}
				if i != won && !errors.Is(err, userstore.ErrNotFound) {
					t.Errorf("round %d: RefreshToken(loser %d): err = %v, want ErrNotFound", round, i, err)
				}
			}
			if _, _, _, succ, _ := stores[1].RefreshToken(t.Context(), old); !slices.Equal(succ, []byte{byte(won)}) {
				t.Errorf("round %d: successor of the spent token = %v, want the winner's %v", round, succ, []byte{byte(won)})
			}
			if got := liveTokens(t, dbA, fmt.Sprintf("f%d", round)); got != 1 {
				t.Errorf("round %d: unspent tokens in the family = %d, want 1", round, got)
			}
		}
	})
}

// liveTokens counts the unspent tokens of family f.
func liveTokens(t *testing.T, db *sql.DB, f string) int {
	t.Helper()
	var n int
	err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM authkit_refresh_tokens WHERE family_id = $1 AND spent_at IS NULL", f).Scan(&n)
	if err != nil {
		t.Fatalf("counting live tokens: %v", err)
	}
	return n
}

// TestSessionsRotateWhileRevoking rotates the chains of several families
// on one pool while the other pool revokes them, revokes their user and
// prunes them as expired: every call succeeds or answers ErrNotFound or ErrConflict (no
// deadlock, no other error), and nothing of the families is left.
func TestSessionsRotateWhileRevoking(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		dbA, dbB := twoPools(t, b)
		a, bs := migrated(t, dbA, b.dialect), migrated(t, dbB, b.dialect)
		const families, rotations = 8, 20
		live := make([][]byte, families)
		for i := range live {
			live[i] = mustFamily(t, a, fmt.Sprintf("f%d", i), "u1", sessionBase.Add(30*24*time.Hour), sessionBase.Add(24*time.Hour))
		}
		var wg sync.WaitGroup
		for i := range families {
			wg.Go(func() {
				tok := live[i]
				for range rotations {
					next := tokenDigest()
					err := a.RotateRefreshToken(context.Background(), tok, next, sessionBase.Add(time.Minute), sessionBase.Add(48*time.Hour), []byte("sealed"))
					if errors.Is(err, userstore.ErrNotFound) {
						return
					}
					if err != nil {
						t.Errorf("RotateRefreshToken(f%d): %v", i, err)
						return
					}
					tok = next
				}
			})
			wg.Go(func() {
				var err error
				switch i % 3 {
				case 0:
					err = bs.RevokeRefreshFamily(context.Background(), fmt.Sprintf("f%d", i))
				case 1:
					err = bs.RevokeUserRefreshFamilies(context.Background(), "u1")
				default:
					// Every live token has expired by then.
					err = bs.PruneRefresh(context.Background(), sessionBase.Add(72*time.Hour))
				}
				if err != nil {
					t.Errorf("revoking or pruning %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if err := bs.RevokeUserRefreshFamilies(t.Context(), "u1"); err != nil {
			t.Fatalf("RevokeUserRefreshFamilies: %v", err)
		}
		for _, table := range []string{"authkit_refresh_families", "authkit_refresh_tokens"} {
			if n := count(t, dbA, table); n != 0 {
				t.Errorf("%s: %d rows after revoking every family, want 0", table, n)
			}
		}
	})
}

// count returns the number of rows of table.
func count(t *testing.T, db *sql.DB, table string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("counting %s: %v", table, err)
	}
	return n
}

// TestSessionsMalformed checks that what the store cannot keep is refused
// alike on both databases, and stores nothing: IDs, clients and scopes
// that are not valid UTF-8 or hold a NUL byte, token digests of the wrong
// size. Lookups of such names find nothing, and any jti may be denied.
func TestSessionsMalformed(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		s, db := newStore(t, b)
		ctx := t.Context()
		exp := sessionBase.Add(time.Hour)
		good := mustFamily(t, s, "good", "u1", exp, exp)
		for _, tc := range []struct {
			name                 string
			family, user, client string
			scope                []string
			token                []byte
		}{
			{"nul in family", "f\x00", "u1", "web", nil, tokenDigest()},
			{"invalid utf-8 user", "f1", "u\xff", "web", nil, tokenDigest()},
			{"nul in client", "f1", "u1", "w\x00", nil, tokenDigest()},
			{"nul in scope", "f1", "u1", "web", []string{"read", "wr\x00te"}, tokenDigest()},
			{"short token", "f1", "u1", "web", nil, tokenDigest()[:31]},
			{"no token", "f1", "u1", "web", nil, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := s.CreateRefreshFamily(ctx, tc.family, tc.user, tc.client, tc.scope, sessionBase, exp, tc.token, exp)
				if err == nil || !strings.HasPrefix(err.Error(), "sqlstore: ") {
					t.Errorf("CreateRefreshFamily: err = %v, want a sqlstore error", err)
				}
			})
		}
		if n := count(t, db, "authkit_refresh_families"); n != 1 {
			t.Errorf("families after the refused creates = %d, want 1", n)
		}
		if _, _, _, _, err := s.RefreshToken(ctx, good[:16]); !errors.Is(err, userstore.ErrNotFound) {
			t.Errorf("RefreshToken(short): err = %v, want ErrNotFound", err)
		}
		if _, _, _, _, _, err := s.RefreshFamily(ctx, "good\x00"); !errors.Is(err, userstore.ErrNotFound) {
			t.Errorf("RefreshFamily(nul): err = %v, want ErrNotFound", err)
		}
		if err := s.RotateRefreshToken(ctx, good[:16], tokenDigest(), sessionBase, exp, nil); !errors.Is(err, userstore.ErrNotFound) {
			t.Errorf("RotateRefreshToken(short old): err = %v, want ErrNotFound", err)
		}
		if err := s.RotateRefreshToken(ctx, good, tokenDigest()[:8], sessionBase, exp, nil); err == nil {
			t.Error("RotateRefreshToken(short next): err = nil, want an error")
		}
		if _, _, spent, _, err := s.RefreshToken(ctx, good); err != nil || !spent.IsZero() {
			t.Errorf("RefreshToken(good) after the refused rotation: spent %v, err %v; want unspent", spent, err)
		}
		if err := s.RotateRefreshToken(ctx, good, good, sessionBase, exp, nil); !errors.Is(err, userstore.ErrDuplicate) {
			t.Errorf("RotateRefreshToken(next = old): err = %v, want ErrDuplicate", err)
		}
		if _, _, spent, _, err := s.RefreshToken(ctx, good); err != nil || !spent.IsZero() {
			t.Errorf("RefreshToken(good) after the duplicate rotation: spent %v, err %v; want unspent", spent, err)
		}
		for _, f := range []func() error{
			func() error { return s.RevokeRefreshFamily(ctx, "\xff") },
			func() error { return s.RevokeUserRefreshFamilies(ctx, "u\x00") },
		} {
			if err := f(); err != nil {
				t.Errorf("revoking a malformed name: %v", err)
			}
		}
		for _, jti := range []string{"j\x00ti", "\xff\xfe", strings.Repeat("j", 10_000)} {
			if err := s.DenyAccessToken(ctx, jti, time.Now().Add(time.Hour)); err != nil {
				t.Fatalf("DenyAccessToken(%.8q): %v", jti, err)
			}
			if got, err := s.Denied(ctx, jti); err != nil || !got {
				t.Errorf("Denied(%.8q) = %v, %v; want true, nil", jti, got, err)
			}
		}
	})
}

// TestSessionsDenyKeepsLater checks that denying a jti twice keeps the
// later until, whichever order the calls come in.
func TestSessionsDenyKeepsLater(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		s, _ := newStore(t, b)
		ctx := t.Context()
		now := time.Now()
		if err := s.DenyAccessToken(ctx, "j", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.DenyAccessToken(ctx, "j", now.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Denied(ctx, "j"); err != nil || !got {
			t.Errorf("Denied after an earlier until = %v, %v; want true, nil", got, err)
		}
		if err := s.PruneRefresh(ctx, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Denied(ctx, "j"); err != nil || got {
			t.Errorf("Denied after pruning past its until = %v, %v; want false, nil", got, err)
		}
	})
}

// TestSessionsPruneBatches checks that PruneRefresh deletes every expired
// row when there are more than one batch of them, and only those.
func TestSessionsPruneBatches(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		s, db := newStore(t, b)
		const expired, kept = 2500, 10
		now := sessionBase.Add(time.Hour)
		us := func(t time.Time) int64 { return t.UnixMicro() }
		tx, err := db.BeginTx(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		insert := func(q string, args ...any) {
			if _, err := tx.ExecContext(t.Context(), q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		for i := range expired + kept {
			famExp, tokExp := now.Add(-time.Second), now.Add(-time.Second) // absolute and idle expiry passed
			switch {
			case i >= expired:
				famExp, tokExp = now.Add(time.Hour), now.Add(time.Hour)
			case i%2 == 0:
				famExp = now.Add(time.Hour) // only the live token expired
			}
			id := fmt.Sprintf("f%05d", i)
			insert("INSERT INTO authkit_refresh_families (id, user_id, client_id, scope, created_at, expires_at) VALUES ($1, 'u', 'web', '[]', $2, $3)",
				id, us(sessionBase), us(famExp))
			// A spent token expired, and the live one.
			insert("INSERT INTO authkit_refresh_tokens (hash, family_id, expires_at, spent_at, successor) VALUES ($1, $2, $3, $4, $5)",
				tokenDigest(), id, us(now.Add(-time.Minute)), us(sessionBase), []byte("sealed"))
			insert("INSERT INTO authkit_refresh_tokens (hash, family_id, expires_at) VALUES ($1, $2, $3)", tokenDigest(), id, us(tokExp))
			d := sha256.Sum256([]byte(id))
			insert("INSERT INTO authkit_denylist (jti_hash, until) VALUES ($1, $2)", d[:], us(famExp))
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := s.PruneRefresh(t.Context(), now); err != nil {
			t.Fatalf("PruneRefresh: %v", err)
		}
		for _, tc := range []struct {
			table string
			want  int64
		}{
			{"authkit_refresh_families", kept},
			{"authkit_refresh_tokens", kept},       // the live tokens of the kept families
			{"authkit_denylist", kept + expired/2}, // the families' expiries
		} {
			if got := count(t, db, tc.table); got != tc.want {
				t.Errorf("%s after PruneRefresh: %d rows, want %d", tc.table, got, tc.want)
			}
		}
	})
}

// TestSessionsInlinePrune checks that rotations delete expired rows by
// themselves, without PruneRefresh.
func TestSessionsInlinePrune(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		s, db := newStore(t, b)
		for i := range 20 {
			mustFamily(t, s, fmt.Sprintf("idle%d", i), "u1", sessionBase.Add(30*24*time.Hour), sessionBase.Add(time.Minute))
		}
		tok := mustFamily(t, s, "live", "u1", sessionBase.Add(30*24*time.Hour), sessionBase.Add(24*time.Hour))
		// At 1 in 32, 1200 rotations all skip the prune with a
		// probability under 1e-16.
		const rotations = 1200
		for i := range rotations {
			next := tokenDigest()
			now := sessionBase.Add(time.Hour + time.Duration(i)*time.Second)
			if err := s.RotateRefreshToken(t.Context(), tok, next, now, now.Add(time.Minute), nil); err != nil {
				t.Fatalf("RotateRefreshToken %d: %v", i, err)
			}
			tok = next
		}
		if got := count(t, db, "authkit_refresh_families"); got != 1 {
			t.Errorf("families after %d rotations = %d, want 1 (the idle ones pruned)", rotations, got)
		}
		// Spent tokens expire a minute after their rotation; the inline
		// prunes keep them to a few hundred at most, and never the live
		// one.
		if _, _, spent, _, err := s.RefreshToken(t.Context(), tok); err != nil || !spent.IsZero() {
			t.Errorf("RefreshToken(live) = spent %v, %v; want unspent", spent, err)
		}
		if got := count(t, db, "authkit_refresh_tokens"); got > rotations+1-60 {
			t.Errorf("tokens after %d rotations = %d, want the spent ones expired over a minute ago pruned", rotations, got)
		}
	})
}

// sessionInstances are two token endpoints, A and B, each with a store on
// a pool of its own, on one database: users, throttle and refresh
// families shared.
type sessionInstances struct {
	stores   [2]*sqlstore.Store
	h        [2]*oauth2pw.Handler
	api      [2]http.Handler // GET /me behind each instance's Bearer middleware
	clock    *testClock
	username string
	password string
}

// newSessionInstances returns the instances with the given grace window;
// throttle shares the login throttle through the database, else there is
// none.
func newSessionInstances(t testing.TB, b backend, grace time.Duration, throttle bool) *sessionInstances {
	t.Helper()
	dbA, dbB := twoPools(t, b)
	in := &sessionInstances{clock: newTestClock(), username: "alice@example.com", password: rand.Text()}
	in.stores[0] = migrated(t, dbA, b.dialect)
	var err error
	if in.stores[1], err = sqlstore.New(t.Context(), dbB, b.dialect); err != nil {
		t.Fatalf("New: %v", err)
	}
	hasher, tokens := loginParts(t, in.stores[0], in.username, in.password)
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for i, s := range in.stores {
		cfg := oauth2pw.Config{
			Users: s, Hasher: hasher, Tokens: tokens, Now: in.clock.now,
			Refresh:             oauth2pw.RefreshConfig{Store: s, GraceWindow: grace},
			MaxConcurrentHashes: 8,
			InsecureNoThrottle:  !throttle,
		}
		if throttle {
			cfg.ThrottleStore = s
		}
		in.h[i], err = oauth2pw.NewHandler(cfg)
		if err != nil {
			t.Fatalf("NewHandler: %v", err)
		}
		// No cache: a revocation on one instance reaches the other's
		// next request.
		in.api[i] = jwtauth.Middleware(tokens, jwtauth.WithUsers(s), jwtauth.WithDenylist(s), jwtauth.WithUserCache(0, 0))(me)
	}
	return in
}

// post posts form to path on instance i.
func (in *sessionInstances) post(i int, path string, form url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = "198.51.100.7:4711"
	w := httptest.NewRecorder()
	switch path {
	case "/token":
		in.h[i].ServeHTTP(w, r)
	case "/revoke":
		in.h[i].RevocationHandler().ServeHTTP(w, r)
	}
	return w
}

// tokenAnswer is the body of a successful token response.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// grant posts a token request to instance i and returns the answer,
// failing the test unless it is 200.
func (in *sessionInstances) grant(t testing.TB, i int, what string, form url.Values) tokenAnswer {
	t.Helper()
	w := in.post(i, "/token", form)
	if w.Code != http.StatusOK {
		t.Fatalf("POST /token (%s) on %c: status = %d, want 200; body %s", what, 'A'+i, w.Code, w.Body)
	}
	var a tokenAnswer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatalf("POST /token (%s) on %c: %v", what, 'A'+i, err)
	}
	if a.AccessToken == "" || a.RefreshToken == "" {
		t.Fatalf("POST /token (%s) on %c: access_token or refresh_token missing: %s", what, 'A'+i, w.Body)
	}
	return a
}

func (in *sessionInstances) login(t testing.TB, i int) tokenAnswer {
	t.Helper()
	return in.grant(t, i, "password", url.Values{"grant_type": {"password"}, "username": {in.username}, "password": {in.password}})
}

func (in *sessionInstances) refresh(i int, rt string) *httptest.ResponseRecorder {
	return in.post(i, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

// wantInvalidGrant fails unless w is 400 invalid_grant.
func wantInvalidGrant(t testing.TB, what string, w *httptest.ResponseRecorder) {
	t.Helper()
	var body struct {
		Error string `json:"error"`
	}
	json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != http.StatusBadRequest || body.Error != oauth2pw.CodeInvalidGrant {
		t.Errorf("POST /token (%s): status = %d, error = %q; want 400 %q", what, w.Code, body.Error, oauth2pw.CodeInvalidGrant)
	}
}

// meStatus returns the status of GET /me with token on instance i.
func (in *sessionInstances) meStatus(i int, token string) int {
	r := httptest.NewRequest(http.MethodGet, "/me", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	in.api[i].ServeHTTP(w, r)
	return w.Code
}

// TestSessionsTwoInstances runs refresh tokens through two token
// endpoints on one database: a refresh on A, its retry within the grace
// window on B (the same successor), then a reuse on B after the window,
// which revokes the family on both; another login's family is untouched.
// An access token revoked on A is refused by B's middleware.
func TestSessionsTwoInstances(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		in := newSessionInstances(t, b, 2*time.Second, true)
		other := in.login(t, 1)
		first := in.login(t, 0)
		in.clock.advance(time.Minute)
		next := in.grant(t, 0, "refresh on A", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}})
		in.clock.advance(time.Second)
		retry := in.grant(t, 1, "retry on B within the grace window", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}})
		if retry.RefreshToken != next.RefreshToken {
			t.Errorf("retry on B within the grace window: refresh_token differs from A's answer")
		}
		in.clock.advance(2 * time.Second)
		wantInvalidGrant(t, "reuse on B after the grace window", in.refresh(1, first.RefreshToken))
		for i := range 2 {
			wantInvalidGrant(t, fmt.Sprintf("successor on %c after the reuse", 'A'+i), in.refresh(i, next.RefreshToken))
		}
		in.grant(t, 0, "other family on A", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {other.RefreshToken}})

		access := in.login(t, 1).AccessToken
		for i := range 2 {
			if got := in.meStatus(i, access); got != http.StatusNoContent {
				t.Fatalf("GET /me on %c: status = %d, want %d", 'A'+i, got, http.StatusNoContent)
			}
		}
		if w := in.post(0, "/revoke", url.Values{"token": {access}}); w.Code != http.StatusOK {
			t.Fatalf("POST /revoke on A: status = %d, want 200; body %s", w.Code, w.Body)
		}
		for i := range 2 {
			if got := in.meStatus(i, access); got != http.StatusUnauthorized {
				t.Errorf("GET /me on %c with the revoked access token: status = %d, want %d", 'A'+i, got, http.StatusUnauthorized)
			}
		}
	})
}

// TestSessionsRefreshRaceTwoInstances sends concurrent refreshes of one
// token to both instances: one successor comes of them. Within the grace
// window every request gets it; without one, exactly one request does
// and the family is revoked.
func TestSessionsRefreshRaceTwoInstances(t *testing.T) {
	t.Parallel()
	const n = 12
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, grace := range []time.Duration{2 * time.Second, -1} {
			name := map[bool]string{true: "grace", false: "no grace"}[grace > 0]
			t.Run(name, func(t *testing.T) {
				in := newSessionInstances(t, b, grace, false)
				rt := in.login(t, 0).RefreshToken
				ws := make([]*httptest.ResponseRecorder, n)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						<-start
						ws[i] = in.refresh(i%2, rt)
					})
				}
				close(start)
				wg.Wait()
				successors := map[string]bool{}
				ok := 0
				for i, w := range ws {
					if w.Code != http.StatusOK {
						wantInvalidGrant(t, fmt.Sprintf("concurrent refresh %d", i), w)
						continue
					}
					ok++
					var a tokenAnswer
					if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
						t.Fatal(err)
					}
					successors[a.RefreshToken] = true
				}
				if len(successors) != 1 {
					t.Fatalf("%d concurrent refreshes on two instances: %d distinct successors, want 1", n, len(successors))
				}
				var next string
				for s := range successors {
					next = s
				}
				if grace > 0 {
					if ok != n {
						t.Errorf("%d concurrent refreshes within the grace window: %d answered 200, want %d", n, ok, n)
					}
					in.grant(t, 1, "successor on B", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next}})
					return
				}
				if ok != 1 {
					t.Errorf("%d concurrent refreshes without grace: %d answered 200, want 1", n, ok)
				}
				wantInvalidGrant(t, "successor after a raced reuse", in.refresh(1, next))
			})
		}
	})
}
