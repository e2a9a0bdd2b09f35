package sqlstore_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/authkit-go/authkit/userstore/sqlstore"
)

// schemaVersions returns the versions recorded in the version table.
func schemaVersions(t *testing.T, db *sql.DB) []int64 {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT version FROM authkit_schema_migrations ORDER BY version")
	if err != nil {
		t.Fatalf("reading authkit_schema_migrations: %v", err)
	}
	defer rows.Close()
	var vs []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatalf("reading authkit_schema_migrations: %v", err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("reading authkit_schema_migrations: %v", err)
	}
	return vs
}

func TestMigrateIdempotent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, db := newStore(t, b)
		alice := mustCreate(t, s, "alice@example.com", "admin")
		want := schemaVersions(t, db)
		if len(want) == 0 || want[0] != 1 {
			t.Fatalf("versions after Migrate = %v, want 1…", want)
		}
		for range 2 {
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatalf("Migrate again: %v", err)
			}
		}
		if got := schemaVersions(t, db); len(got) != len(want) {
			t.Errorf("versions after three Migrates = %v, want %v", got, want)
		}
		if got := mustGet(t, s, alice.ID); got.Username != alice.Username {
			t.Errorf("UserByID after Migrate again: Username = %q, want %q", got.Username, alice.Username)
		}
	})
}

// TestMigrateConcurrently starts several stores, each on its own pool as
// separate processes would have, and migrates them all at once.
func TestMigrateConcurrently(t *testing.T) {
	const instances = 6
	forEachBackend(t, func(t *testing.T, b backend) {
		var open func(t testing.TB) *sql.DB
		switch b.dialect {
		case sqlstore.SQLite:
			path := filepath.Join(t.TempDir(), "shared.db")
			open = func(t testing.TB) *sql.DB { return openSQLiteFile(t, path) }
		case sqlstore.Postgres:
			schema := newPostgresSchema(t)
			open = func(t testing.TB) *sql.DB { return openPostgresSchema(t, schema) }
		}
		stores := make([]*sqlstore.Store, instances)
		var db *sql.DB
		for i := range stores {
			db = open(t)
			s, err := sqlstore.New(t.Context(), db, b.dialect)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			stores[i] = s
		}
		errs := make([]error, instances)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Go(func() {
				<-start
				errs[i] = s.Migrate(t.Context())
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Migrate on instance %d: %v", i, err)
			}
		}
		got := schemaVersions(t, db)
		if len(got) == 0 {
			t.Errorf("versions after concurrent Migrates = %v, want each once from 1", got)
		}
		for i, v := range got {
			if v != int64(i+1) {
				t.Errorf("versions after concurrent Migrates = %v, want each once from 1", got)
				break
			}
		}
		// Every instance sees the others' writes.
		u := mustCreate(t, stores[0], "alice@example.com")
		if got := mustGet(t, stores[instances-1], u.ID); got.ID != u.ID {
			t.Errorf("UserByID on another instance = %q, want %q", got.ID, u.ID)
		}
	})
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, db := newStore(t, b)
		alice := mustCreate(t, s, "alice@example.com")
		versions := schemaVersions(t, db)
		newer := versions[len(versions)-1] + 1
		_, err := db.ExecContext(t.Context(),
			"INSERT INTO authkit_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
			newer, "9999_from_the_future.sql", 0)
		if err != nil {
			t.Fatalf("recording a newer version: %v", err)
		}
		err = s.Migrate(t.Context())
		if !errors.Is(err, sqlstore.ErrSchemaTooNew) {
			t.Fatalf("Migrate on a newer schema = %v, want ErrSchemaTooNew", err)
		}
		if got := schemaVersions(t, db); len(got) != len(versions)+1 {
			t.Errorf("versions after the refused Migrate = %v, want %v plus %d", got, versions, newer)
		}
		if got := mustGet(t, s, alice.ID); got.Username != alice.Username {
			t.Errorf("UserByID after the refused Migrate: Username = %q, want %q", got.Username, alice.Username)
		}
	})
}

func TestUseBeforeMigrate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db := b.open(t)
		s, err := sqlstore.New(t.Context(), db, b.dialect)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if _, err := s.UserByUsername(t.Context(), "alice@example.com"); err == nil {
			t.Errorf("UserByUsername before Migrate: nil error, want one (no tables)")
		}
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		mustCreate(t, s, "alice@example.com")
	})
}
