package sqlstore

import (
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// openSQLiteStore returns a Store on a new SQLite database file in a
// temporary directory, with the pool it uses, closed when the test ends;
// it migrates the schema if migrate is set.
func openSQLiteStore(t *testing.T, migrate bool) (*Store, *sql.DB) {
	t.Helper()
	db, err := sql.Open("sqlite", SQLiteDSN(filepath.Join(t.TempDir(), "x.db")))
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := New(t.Context(), db, SQLite)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if migrate {
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	return s, db
}

func TestNewChecksSQLiteSetup(t *testing.T) {
	t.Parallel()
	full := "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	tests := []struct {
		name  string
		query string
		want  error
	}{
		{"SQLiteDSN", "", nil},
		{"all three pragmas", full, nil},
		{"rollback journal", "?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)", errSQLiteSetup},
		{"no busy_timeout", "?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)", errSQLiteSetup},
		{"foreign keys off", "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)", errSQLiteSetup},
		{"no pragmas", "?", errSQLiteSetup},
		{"in memory", ":memory:" + full[1:], errSQLiteSetup},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "x.db")
			dsn := SQLiteDSN(path)
			switch {
			case strings.HasPrefix(tc.query, ":memory:"):
				dsn = ":memory:?" + strings.TrimPrefix(tc.query, ":memory:")
			case tc.query != "":
				dsn = "file:" + path + tc.query
			}
			db, err := sql.Open("sqlite", dsn)
			if err != nil {
				t.Fatalf("sql.Open: %v", err)
			}
			defer db.Close()
			_, err = New(t.Context(), db, SQLite)
			if !errors.Is(err, tc.want) {
				t.Errorf("New(%s) = %v, want %v", tc.name, err, tc.want)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", SQLiteDSN(filepath.Join(t.TempDir(), "x.db")))
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	defer db.Close()
	tests := []struct {
		name string
		db   *sql.DB
		d    Dialect
	}{
		{"nil db", nil, SQLite},
		{"zero dialect", db, 0},
		{"unknown dialect", db, Postgres + 1},
		{"SQLite database as Postgres", db, Postgres},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := New(t.Context(), tc.db, tc.d); err == nil {
				t.Errorf("New(%s) = %v, nil; want an error", tc.name, s)
			}
		})
	}
}

func TestIsUnique(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		d    Dialect
		err  error
		want bool
	}{
		{"postgres unique_violation", Postgres, pgError("23505"), true},
		{"postgres wrapped", Postgres, wrapped{pgError("23505")}, true},
		{"postgres foreign_key_violation", Postgres, pgError("23503"), false},
		{"sqlite unique", SQLite, liteError(2067), true},
		{"sqlite primary key", SQLite, liteError(1555), true},
		{"sqlite foreign key", SQLite, liteError(787), false},
		{"sqlite busy", SQLite, liteError(5), false},
		{"sqlite code on postgres", Postgres, liteError(2067), false},
		{"postgres state on sqlite", SQLite, pgError("23505"), false},
		{"plain error", SQLite, errors.New("UNIQUE constraint failed"), false},
		{"nil", Postgres, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Store{dialect: tc.d}
			if got := s.isUnique(tc.err); got != tc.want {
				t.Errorf("isUnique(%v) = %t, want %t", tc.err, got, tc.want)
			}
		})
	}
}

// pgError has pgconn.PgError's SQLState method.
type pgError string

func (e pgError) Error() string    { return "ERROR: SQLSTATE " + string(e) }
func (e pgError) SQLState() string { return string(e) }

// liteError has modernc.org/sqlite's Code method.
type liteError int

func (e liteError) Error() string { return "sqlite error" }
func (e liteError) Code() int     { return int(e) }

// wrapped wraps an error.
type wrapped struct{ err error }

func (w wrapped) Error() string { return "wrapped: " + w.err.Error() }
func (w wrapped) Unwrap() error { return w.err }
