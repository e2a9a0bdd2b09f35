package sqlstore_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/sqlstore"
)

// The store detects the drivers' errors by these methods alone.
var (
	_ interface{ SQLState() string } = (*pgconn.PgError)(nil)
	_ interface{ Code() int }        = (*sqlite.Error)(nil)
)

// TestSQLiteConcurrentReadThenWrite runs 8 writers × 100 transactions
// that read a counter and then write it back incremented, on separate
// connections. With BEGIN IMMEDIATE and busy_timeout, every one commits
// (a deferred transaction would fail with SQLITE_BUSY on the upgrade) and
// no increment is lost.
func TestSQLiteConcurrentReadThenWrite(t *testing.T) {
	t.Parallel()
	const writers, rounds = 8, 100
	db := openSQLite(t)
	if _, err := db.ExecContext(t.Context(), "CREATE TABLE counter (n INTEGER NOT NULL)"); err != nil {
		t.Fatalf("CREATE TABLE: %v", err)
	}
	if _, err := db.ExecContext(t.Context(), "INSERT INTO counter (n) VALUES (0)"); err != nil {
		t.Fatalf("INSERT: %v", err)
	}
	increment := func() error {
		tx, err := db.BeginTx(t.Context(), nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer tx.Rollback()
		var n int64
		if err := tx.QueryRowContext(t.Context(), "SELECT n FROM counter").Scan(&n); err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if _, err := tx.ExecContext(t.Context(), "UPDATE counter SET n = $1", n+1); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	for range writers {
		wg.Go(func() {
			for range rounds {
				if err := increment(); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed++; failed <= 3 {
			t.Errorf("transaction: %v", err)
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d transactions failed, want none", failed, writers*rounds)
	}
	var n int64
	if err := db.QueryRowContext(t.Context(), "SELECT n FROM counter").Scan(&n); err != nil {
		t.Fatalf("SELECT: %v", err)
	}
	if n != writers*rounds {
		t.Errorf("counter = %d, want %d", n, writers*rounds)
	}
}

// TestSQLiteConcurrentUpdates drives the store's own read-then-write
// transaction (UpdateUser) from 8 writers × 100 rounds.
func TestSQLiteConcurrentUpdates(t *testing.T) {
	t.Parallel()
	const writers, rounds = 8, 100
	s, _ := newStore(t, backends[0])
	users := make([]*userstore.User, writers)
	for i := range users {
		users[i] = mustCreate(t, s, fmt.Sprintf("user%d@example.com", i), "user")
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	for w := range writers {
		wg.Go(func() {
			u := users[w].Clone()
			for i := range rounds {
				u.Name = fmt.Sprint("round ", i)
				u.Roles = []string{"user", fmt.Sprint("r", i%3)}
				if _, err := s.UpdateUser(t.Context(), u); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed++; failed <= 3 {
			t.Errorf("UpdateUser: %v", err)
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d updates failed, want none", failed, writers*rounds)
	}
	for _, u := range users {
		if got := mustGet(t, s, u.ID).Name; got != fmt.Sprint("round ", rounds-1) {
			t.Errorf("Name of %s after the updates = %q, want %q", u.Username, got, fmt.Sprint("round ", rounds-1))
		}
	}
}

func TestSQLiteDSNPath(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"users.db", "with space.db", "what?.db", "hash#percent%41.db", "ünïcode.db"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			s := migrated(t, openSQLiteFile(t, path), sqlstore.SQLite)
			mustCreate(t, s, "alice@example.com")
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatalf("database file at %q: %v", path, err)
			}
			if fi.Size() == 0 {
				t.Errorf("database file at %q is empty", path)
			}
		})
	}
}

// TestSQLitePersists reopens the database file: users, their cut-offs and
// the IDs of deleted users survive.
func TestSQLitePersists(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(path))
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	s := migrated(t, db, sqlstore.SQLite)
	alice := mustCreate(t, s, "alice@example.com", "admin")
	if err := s.RevokeTokens(t.Context(), alice.ID); err != nil {
		t.Fatalf("RevokeTokens: %v", err)
	}
	alice = mustGet(t, s, alice.ID)
	bob := mustCreate(t, s, "bob@example.com")
	if err := s.DeleteUser(t.Context(), bob.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = migrated(t, openSQLiteFile(t, path), sqlstore.SQLite)
	got, err := s.UserByUsername(t.Context(), "ALICE@example.com")
	if err != nil {
		t.Fatalf("UserByUsername after reopening: %v", err)
	}
	if got.ID != alice.ID || got.PasswordHash != alice.PasswordHash || !got.TokensValidAfter.Equal(alice.TokensValidAfter) ||
		!got.CreatedAt.Equal(alice.CreatedAt) || len(got.Roles) != 1 || got.Roles[0] != "admin" {
		t.Errorf("alice after reopening = %+v, want %+v", got, alice)
	}
	reuse := &userstore.User{ID: bob.ID, Username: "carol@example.com", PasswordHash: fakeHash()}
	if _, err := s.CreateUser(t.Context(), reuse); !errors.Is(err, userstore.ErrDuplicate) {
		t.Errorf("CreateUser(deleted ID) after reopening = %v, want ErrDuplicate", err)
	}
}
