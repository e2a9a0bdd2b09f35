package sqlstore

import (
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/authkit-go/authkit/userstore"
)

// TestRotateSQLitePaths runs SQLite's rotation both ways it can go, the
// single statement and the transaction that also prunes, through every
// outcome: a rotation, a spent token, an unknown one, a successor digest
// already taken (which spends nothing), and checks the rows each leaves.
func TestRotateSQLitePaths(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		prune  bool
		tokens int // rows left in the end
	}{
		{"statement", false, 3}, // old, next and the stale family's
		{"with prune", true, 2}, // old and next: the stale family pruned
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, db := openSQLiteStore(t, true)
			ctx := t.Context()
			digest := func() []byte {
				d := make([]byte, tokenDigestBytes)
				rand.Read(d)
				return d
			}
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			far := now.Add(24 * time.Hour)
			old, stale := digest(), digest()
			if err := s.CreateRefreshFamily(ctx, "f", "u", "web", nil, now, far, old, far); err != nil {
				t.Fatal(err)
			}
			// A family whose live token expired, for the prune to take.
			if err := s.CreateRefreshFamily(ctx, "stale", "u", "web", nil, now.Add(-time.Hour), far, stale, now.Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
			rotate := func(old, next []byte) error {
				return s.rotateSQLite(ctx, old, next, now, far.Add(time.Hour), []byte("sealed"), tc.prune)
			}
			if err := rotate(old, old); !errors.Is(err, userstore.ErrDuplicate) {
				t.Errorf("rotate onto itself: err = %v, want ErrDuplicate", err)
			}
			if err := rotate(old, stale); !errors.Is(err, userstore.ErrDuplicate) {
				t.Errorf("rotate onto another family's token: err = %v, want ErrDuplicate", err)
			}
			if _, _, spent, _, err := s.RefreshToken(ctx, old); err != nil || !spent.IsZero() {
				t.Errorf("RefreshToken(old) after the failed rotations: spent %v, %v; want unspent", spent, err)
			}
			next := digest()
			if err := rotate(old, next); err != nil {
				t.Fatalf("rotate: %v", err)
			}
			fam, exp, spent, _, err := s.RefreshToken(ctx, next)
			if err != nil || fam != "f" || !exp.Equal(far.Add(time.Hour)) || !spent.IsZero() {
				t.Errorf("RefreshToken(next) = %q, expires %v, spent %v, %v; want f, %v, unspent", fam, exp, spent, err, far.Add(time.Hour))
			}
			fam, _, spent, succ, err := s.RefreshToken(ctx, old)
			if err != nil || fam != "f" || !spent.Equal(now) || string(succ) != "sealed" {
				t.Errorf("RefreshToken(old) = %q, spent %v, successor %q, %v; want f, %v, sealed", fam, spent, succ, err, now)
			}
			if err := rotate(old, digest()); !errors.Is(err, userstore.ErrConflict) {
				t.Errorf("rotate a spent token: err = %v, want ErrConflict", err)
			}
			if err := rotate(digest(), digest()); !errors.Is(err, userstore.ErrNotFound) {
				t.Errorf("rotate an unknown token: err = %v, want ErrNotFound", err)
			}
			var n int
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM authkit_refresh_tokens").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != tc.tokens {
				t.Errorf("tokens stored = %d, want %d", n, tc.tokens)
			}
		})
	}
}

// TestRotateAfterUpgrade checks that a token stored before the migration
// that made SQLite's rotation one statement rotates after it.
func TestRotateAfterUpgrade(t *testing.T) {
	t.Parallel()
	s, db := openSQLiteStore(t, false)
	ms, err := migrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, versionTable); err != nil {
		t.Fatal(err)
	}
	if len(ms) < 4 || ms[3].name != "0004_rotation.sql" {
		t.Fatalf("migration 4 is not 0004_rotation.sql")
	}
	for _, m := range ms[:3] {
		if _, err := db.ExecContext(ctx, m.sql); err != nil {
			t.Fatalf("apply %s: %v", m.name, err)
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO authkit_schema_migrations VALUES ($1, $2, 0)", m.version, m.name); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	old := []byte("a token stored before version 4.")
	if err := s.CreateRefreshFamily(ctx, "f", "u", "web", nil, now, now.Add(time.Hour), old, now.Add(time.Hour)); err != nil {
		t.Fatalf("CreateRefreshFamily before the upgrade: %v", err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	next := []byte("its successor, after the upgrade")
	if err := s.RotateRefreshToken(ctx, old, next, now, now.Add(time.Hour), nil); err != nil {
		t.Fatalf("RotateRefreshToken after the upgrade: %v", err)
	}
	if fam, _, spent, _, err := s.RefreshToken(ctx, next); err != nil || fam != "f" || !spent.IsZero() {
		t.Errorf("RefreshToken(next) = %q, spent %v, %v; want f, unspent", fam, spent, err)
	}
}
