package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

// ErrSchemaTooNew reports a database whose schema a newer version of this
// package migrated: this code does not know its tables and refuses to use
// them. Upgrade the program, or restore a backup.
var ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this program")

//go:embed migrations
var migrationFiles embed.FS

// migration is one numbered schema change.
type migration struct {
	version int64
	name    string // the file name, such as "0001_users.sql"
	sql     string
}

// migrations returns the dialect's migrations, in order. Their files are
// named NNNN_what.sql and numbered 1, 2, 3… without gaps.
func migrations(d Dialect) ([]migration, error) {
	dir := path.Join("migrations", d.String())
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name is not NNNN_name.sql", e.Name())
		}
		if v != int64(len(ms))+1 {
			return nil, fmt.Errorf("migration %s: version %d, want %d", e.Name(), v, len(ms)+1)
		}
		b, err := migrationFiles.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	return ms, nil
}

// migrateLockKey is the first key of the PostgreSQL advisory lock Migrate
// holds; the second is a hash of the current schema, so that stores in
// different schemas of one database migrate independently.
const migrateLockKey = 0x61757468 // "auth"

// versionTable records every migration applied, one row each, so that
// later migrations (sessions, throttling) add rows.
const versionTable = `CREATE TABLE IF NOT EXISTS authkit_schema_migrations (
	version    BIGINT NOT NULL PRIMARY KEY,
	name       TEXT   NOT NULL,
	applied_at BIGINT NOT NULL
)`

// Migrate brings the database's schema up to the version of this code, in
// one transaction: it applies the embedded migrations the database has not
// had yet and records each in the table authkit_schema_migrations. It is
// idempotent, and safe when several processes call it at once: on
// PostgreSQL they queue on an advisory lock (pg_advisory_xact_lock, taken
// inside the transaction and released with it), on SQLite on the write
// lock that the transaction takes as it begins (BEGIN IMMEDIATE, from
// _txlock=immediate). A database that a newer version migrated is refused
// with an error wrapping [ErrSchemaTooNew], and left as it is.
//
// Call Migrate once at start-up, before serving.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations(s.dialect)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if s.dialect == Postgres {
			lock := fmt.Sprintf("SELECT pg_advisory_xact_lock(%d, hashtext(coalesce(current_schema(), '')))", migrateLockKey)
			if _, err := tx.ExecContext(ctx, lock); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, versionTable); err != nil {
			return fmt.Errorf("create version table: %w", err)
		}
		var current int64
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM authkit_schema_migrations").Scan(&current); err != nil {
			return fmt.Errorf("read version: %w", err)
		}
		latest := ms[len(ms)-1].version
		if current > latest {
			return fmt.Errorf("%w: database at version %d, this program knows up to %d", ErrSchemaTooNew, current, latest)
		}
		for _, m := range ms[current:] {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("apply %s: %w", m.name, err)
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO authkit_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
				m.version, m.name, time.Now().UnixMicro())
			if err != nil {
				return fmt.Errorf("record %s: %w", m.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return s.fail(ctx, "migrate", err)
	}
	return nil
}
