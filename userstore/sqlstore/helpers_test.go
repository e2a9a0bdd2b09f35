package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/sqlstore"
)

// postgresEnv names the environment variable that holds the DSN of a
// PostgreSQL database the tests may create schemas in.
const postgresEnv = "AUTHKIT_TEST_POSTGRES"

// backend is a database the tests run against.
type backend struct {
	name    string
	dialect sqlstore.Dialect
	// open returns a fresh, empty database, closed at the end of the test.
	open func(t testing.TB) *sql.DB
}

var backends = []backend{
	{"sqlite", sqlstore.SQLite, openSQLite},
	{"postgres", sqlstore.Postgres, openPostgres},
}

// forEachBackend runs f as a parallel subtest per backend.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}

// openSQLite opens a new SQLite database file in a temporary directory.
func openSQLite(t testing.TB) *sql.DB {
	t.Helper()
	return openSQLiteFile(t, filepath.Join(t.TempDir(), "users.db"))
}

// openSQLiteFile opens the SQLite database at path with SQLiteDSN.
func openSQLiteFile(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(path))
	if err != nil {
		t.Fatalf("sql.Open(sqlite): %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// postgresDSN returns the DSN from AUTHKIT_TEST_POSTGRES. Without one the
// test is skipped, except under CI=true, where it fails: a CI run whose
// PostgreSQL set-up broke must not pass.
func postgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set, and CI=true: the PostgreSQL tests must run (see .ci/postgres.sh)", postgresEnv)
		}
		t.Skipf("%s not set; run the tests under .ci/postgres.sh to include PostgreSQL", postgresEnv)
	}
	return dsn
}

// openPostgres creates a schema of its own in the test database and
// returns a pool whose connections use it; the schema is dropped at the end
// of the test.
func openPostgres(t testing.TB) *sql.DB {
	t.Helper()
	schema := newPostgresSchema(t)
	return openPostgresSchema(t, schema)
}

// newPostgresSchema creates an empty schema, dropped at the end of the
// test, and returns its name.
func newPostgresSchema(t testing.TB) string {
	t.Helper()
	dsn := postgresDSN(t)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("sql.Open(pgx): %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	schema := "authkit_test_" + strings.ToLower(rand.Text())
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("CREATE SCHEMA: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("DROP SCHEMA %s: %v", schema, err)
		}
	})
	return schema
}

// openPostgresSchema returns a pool whose connections use the given
// schema, closed at the end of the test (before the schema is dropped).
func openPostgresSchema(t testing.TB, schema string) *sql.DB {
	t.Helper()
	u, err := url.Parse(postgresDSN(t))
	if err != nil {
		t.Fatalf("%s: %v", postgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatalf("sql.Open(pgx): %v", err)
	}
	db.SetMaxOpenConns(16)
	t.Cleanup(func() { db.Close() })
	return db
}

// newStore returns a migrated store on a fresh database of backend b.
func newStore(t testing.TB, b backend) (*sqlstore.Store, *sql.DB) {
	t.Helper()
	db := b.open(t)
	return migrated(t, db, b.dialect), db
}

// migrated returns a store on db after Migrate.
func migrated(t testing.TB, db *sql.DB, d sqlstore.Dialect) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.New(t.Context(), db, d)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// fakeHash returns a random string shaped like an encoded argon2id hash.
// The store treats hashes as opaque.
func fakeHash() string {
	return "$argon2id$v=19$m=19456,t=2,p=1$" + rand.Text() + "$" + rand.Text() + rand.Text()
}

// mustCreate creates a user with the given username and roles.
func mustCreate(t testing.TB, m userstore.Manager, username string, roles ...string) *userstore.User {
	t.Helper()
	u, err := m.CreateUser(t.Context(), &userstore.User{
		Username:     username,
		Name:         "Test User",
		Email:        username,
		PasswordHash: fakeHash(),
		Roles:        roles,
	})
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", username, err)
	}
	return u
}

// mustGet returns the stored user with the given ID.
func mustGet(t testing.TB, s userstore.Store, id string) *userstore.User {
	t.Helper()
	u, err := s.UserByID(t.Context(), id)
	if err != nil {
		t.Fatalf("UserByID(%q): %v", id, err)
	}
	return u
}
