package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/authkit-go/authkit/oauth2pw"
	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/memory"
	"github.com/authkit-go/authkit/userstore/sqlstore"
)

// memoryDB is the -db value of the throwaway in-memory store.
const memoryDB = ":memory:"

// dbKind is the kind of database a -db value names.
type dbKind int

const (
	dbSQLite dbKind = iota
	dbPostgres
	dbMemory
)

func (k dbKind) String() string {
	switch k {
	case dbPostgres:
		return "PostgreSQL"
	case dbMemory:
		return "memory"
	}
	return "SQLite"
}

// parseDB tells what kind of database the -db value dsn names: ":memory:"
// the memory store, a postgres:// or postgresql:// URL PostgreSQL, any
// other URL nothing (an error), and everything else a SQLite file.
func parseDB(dsn string) (dbKind, error) {
	switch {
	case dsn == "":
		return 0, errors.New("-db: want a SQLite file path, a postgres:// URL or :memory:")
	case dsn == memoryDB:
		return dbMemory, nil
	}
	scheme, _, isURL := strings.Cut(dsn, "://")
	switch {
	case !isURL:
		return dbSQLite, nil
	case strings.EqualFold(scheme, "postgres"), strings.EqualFold(scheme, "postgresql"):
		return dbPostgres, nil
	}
	return 0, fmt.Errorf("-db: %q URLs are not supported: want a SQLite file path, a postgres:// URL or :memory:", scheme)
}

// database is an open user store and what the server keeps beside it.
type database struct {
	kind  dbKind
	users userstore.Manager
	// sql is the SQL store, nil for the memory store.
	sql *sqlstore.Store
	// throttle is the SQL store that keeps the login throttle's records
	// (and, on SQLite, the new refresh-token families and rotations; see
	// [sqliteSessions]): sql itself on PostgreSQL; on SQLite, the same file
	// through connections that commit without waiting for the disk. Nil
	// for the memory store.
	throttle *sqlstore.Store
	// db is the connection pool of the SQL store, and throttleDB that
	// of a separate throttle store; nil when there is none.
	db, throttleDB *sql.DB
	// path is the SQLite database file, "" for the other kinds.
	path string
}

// openDB opens the database that dsn, a -db value, names, creating a
// missing SQLite file (readable by its owner only), and migrates its
// schema. Several processes may open and migrate one database at once.
func openDB(ctx context.Context, dsn string) (*database, error) {
	kind, err := parseDB(dsn)
	if err != nil {
		return nil, err
	}
	d := &database{kind: kind}
	var dialect sqlstore.Dialect
	switch kind {
	case dbMemory:
		d.users = memory.New()
		return d, nil
	case dbSQLite:
		d.path = dsn
		if err := createPrivate(dsn); err != nil {
			return nil, fmt.Errorf("-db: %w", err)
		}
		if d.db, err = sql.Open("sqlite", sqlstore.SQLiteDSN(dsn)); err != nil {
			return nil, fmt.Errorf("-db: %w", err)
		}
		dialect = sqlstore.SQLite
	case dbPostgres:
		if d.db, err = sql.Open("pgx", dsn); err != nil {
			return nil, fmt.Errorf("-db: %w", redactDSN(err, dsn))
		}
		dialect = sqlstore.Postgres
	}
	// Keep as many idle connections as may be open, so that a burst
	// does not close the connections (and the statements prepared on
	// them) the next burst needs.
	n := max(8, 4*runtime.GOMAXPROCS(0))
	d.db.SetMaxOpenConns(n)
	d.db.SetMaxIdleConns(n)
	if d.sql, err = sqlstore.New(ctx, d.db, dialect); err != nil {
		d.db.Close()
		return nil, fmt.Errorf("-db %s: %w", d.describe(dsn), redactDSN(err, dsn))
	}
	if err := d.sql.Migrate(ctx); err != nil {
		d.db.Close()
		return nil, fmt.Errorf("-db %s: %w", d.describe(dsn), redactDSN(err, dsn))
	}
	d.users, d.throttle = d.sql, d.sql
	if kind == dbSQLite {
		if err := d.openSQLiteThrottle(ctx); err != nil {
			d.Close()
			return nil, fmt.Errorf("-db %s: %w", dsn, err)
		}
	}
	return d, nil
}

// openSQLiteThrottle opens the throttle store of a SQLite database: a
// second pool on the file whose connections run synchronous=NORMAL. In WAL
// mode their commits survive a crash of the process but not a power cut,
// and they do not wait for the disk: a login writes the throttle on every
// attempt, and waiting for the disk on each would add some 10 % to its
// cost. A count lost to a power cut is a few failed logins forgotten; the
// users and their changes keep synchronous=FULL. The session store writes
// new families and rotations through it too; see [sqliteSessions].
func (d *database) openSQLiteThrottle(ctx context.Context) error {
	dsn := strings.Replace(sqlstore.SQLiteDSN(d.path), "_pragma=synchronous(FULL)", "_pragma=synchronous(NORMAL)", 1)
	var err error
	if d.throttleDB, err = sql.Open("sqlite", dsn); err != nil {
		return err
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	d.throttleDB.SetMaxOpenConns(n)
	d.throttleDB.SetMaxIdleConns(n)
	d.throttle, err = sqlstore.New(ctx, d.throttleDB, sqlstore.SQLite)
	return err
}

// sessions returns the store of the refresh-token families and of the
// access-token denylist: on SQLite a [sqliteSessions], on PostgreSQL the
// SQL store itself, so that sessions survive restarts and every instance
// on the database shares them, or, for the memory store, a store in
// memory whose clock is now (nil: time.Now).
func (d *database) sessions(now func() time.Time) oauth2pw.RefreshStore {
	switch {
	case d.throttleDB != nil:
		return sqliteSessions{Store: d.throttle, durable: d.sql}
	case d.sql != nil:
		return d.sql
	}
	return memory.NewSessions(now)
}

// sqliteSessions is the session store of a SQLite database. New families
// (logins), rotations (refreshes) and the reads go through Store, the
// throttle's pool, whose commits do not wait for the disk: a login or a
// refresh writes once, and the sync would be most of the store's share of
// its cost. Such a commit survives a crash of the process, not a power
// cut, which may forget the last families and rotations: a client whose
// newest refresh token is forgotten logs in again, and a token it had
// spent is live again until it expires or is spent. Revocations (sign-out,
// POST /revoke, a password change) and denylist entries go through
// durable, the pool with synchronous=FULL, whose commit also syncs every
// earlier commit to the file, so that a revocation that returned is never
// forgotten.
type sqliteSessions struct {
	*sqlstore.Store
	durable *sqlstore.Store
}

// RevokeRefreshFamily revokes the family through the durable pool.
func (s sqliteSessions) RevokeRefreshFamily(ctx context.Context, family string) error {
	return s.durable.RevokeRefreshFamily(ctx, family)
}

// RevokeUserRefreshFamilies revokes the user's families through the
// durable pool.
func (s sqliteSessions) RevokeUserRefreshFamilies(ctx context.Context, userID string) error {
	return s.durable.RevokeUserRefreshFamilies(ctx, userID)
}

// DenyAccessToken puts jti on the denylist through the durable pool.
func (s sqliteSessions) DenyAccessToken(ctx context.Context, jti string, until time.Time) error {
	return s.durable.DenyAccessToken(ctx, jti, until)
}

// createPrivate creates the file at path, readable and writable by its
// owner only, if it does not exist. SQLite then opens the empty file as a
// new database and gives its -wal and -shm files the same mode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("create %s: directory %s does not exist", path, filepath.Dir(path))
	case err != nil:
		return err
	}
	return f.Close()
}

// describe names the database in messages: the SQLite file, or
// PostgreSQL without the URL, which may hold a password.
func (d *database) describe(dsn string) string {
	if d.kind == dbSQLite {
		return dsn
	}
	return d.kind.String()
}

// redactDSN returns err with any occurrence of dsn in its text replaced,
// so that a password in a PostgreSQL URL never reaches a log.
func redactDSN(err error, dsn string) error {
	if err == nil || dsn == "" || !strings.Contains(err.Error(), dsn) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), dsn, "<-db>"))
}

// Close closes the connection pools of a SQL store.
func (d *database) Close() error {
	var errs []error
	for _, db := range []*sql.DB{d.db, d.throttleDB} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	return errors.Join(errs...)
}

// keyFile returns the path of the signing key kept beside a SQLite
// database, "" for the other kinds.
func (d *database) keyFile() string {
	if d.kind != dbSQLite {
		return ""
	}
	return d.path + ".key.pem"
}
