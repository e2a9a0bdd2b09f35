package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/internal/rules"
)

// Dialect names the SQL database behind a [Store]. The zero value names
// none, and [New] refuses it.
type Dialect int

const (
	// SQLite is SQLite through modernc.org/sqlite, opened with the DSN
	// [SQLiteDSN] builds.
	SQLite Dialect = iota + 1
	// Postgres is PostgreSQL through github.com/jackc/pgx/v5/stdlib.
	Postgres
)

// String returns the dialect's name: "sqlite", "postgres", or "Dialect(n)".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// Store is a [userstore.Manager] kept in a SQL database. Create one with
// [New] and bring its schema up to date with [Store.Migrate]. The zero value
// is not usable. A Store is safe for concurrent use, and any number of
// Stores, in one process or many, may share one database.
type Store struct {
	db      *sql.DB
	dialect Dialect
	q       queries

	// byID and byKey are the lookups the token endpoint and the
	// middleware make on every request, token, family and denied those of
	// refreshes and of the denylist check, and rotate the statement of a
	// rotation on SQLite; each is prepared on first use.
	byID, byKey           lazyStmt
	token, family, denied lazyStmt
	rotate                lazyStmt // SQLite's rotation
}

var (
	_ userstore.Store                = (*Store)(nil)
	_ userstore.Manager              = (*Store)(nil)
	_ userstore.PasswordHashUpgrader = (*Store)(nil)
)

// New returns a Store on db, a database the caller opened (and closes) with
// the driver d names. New does not create the schema: call
// [Store.Migrate].
//
// For [SQLite], New checks the set-up of one of db's connections and
// refuses a database that is not in WAL mode, has no busy_timeout or does
// not enforce foreign keys; [SQLiteDSN] builds a DSN that sets all three
// (and _txlock=immediate, which New cannot check). For [Postgres], New
// checks that db answers as PostgreSQL.
func New(ctx context.Context, db *sql.DB, d Dialect) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: new: nil *sql.DB")
	}
	var err error
	switch d {
	case SQLite:
		err = checkSQLite(ctx, db)
	case Postgres:
		err = checkPostgres(ctx, db)
	default:
		return nil, fmt.Errorf("sqlstore: new: unknown dialect %v", d)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: new: %w", err)
	}
	return &Store{db: db, dialect: d, q: newQueries(d)}, nil
}

// errSQLiteSetup reports a SQLite connection without the settings the
// store relies on.
var errSQLiteSetup = errors.New("sqlite connection not set up as SQLiteDSN does")

// checkSQLite checks the pragmas of one connection of db. Every connection
// of a pool opened from one DSN runs the same pragmas.
func checkSQLite(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var mode string
	var busy, fk int64
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal_mode (is this SQLite?): %w", err)
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
		return fmt.Errorf("read busy_timeout: %w", err)
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return fmt.Errorf("read foreign_keys: %w", err)
	}
	switch {
	case !strings.EqualFold(mode, "wal"):
		return fmt.Errorf("%w: journal_mode is %q, want \"wal\"", errSQLiteSetup, mode)
	case busy <= 0:
		return fmt.Errorf("%w: busy_timeout is %d, want more than 0", errSQLiteSetup, busy)
	case fk != 1:
		return fmt.Errorf("%w: foreign_keys is off", errSQLiteSetup)
	}
	return nil
}

// checkPostgres checks that db is a PostgreSQL server.
func checkPostgres(ctx context.Context, db *sql.DB) error {
	var v string
	if err := db.QueryRowContext(ctx, "SELECT current_setting('server_version_num')").Scan(&v); err != nil {
		return fmt.Errorf("read server_version_num (is this PostgreSQL?): %w", err)
	}
	return nil
}

// userColumns are the columns scanUser reads, in order.
const userColumns = "id, username, name, email, password_hash, roles, disabled, created_at, updated_at, tokens_valid_after"

// queries holds the statements of one dialect. Both take $n placeholders:
// modernc.org/sqlite binds the SQLite parameter named "$1" to the first
// argument, and so on.
type queries struct {
	userByID, userByKey, userForUpdate, userExists         string
	insertID, insertUser, updateUser, deleteUser           string
	setHash, upgradeHash, setDisabled, revoke, listAfterID string
}

func newQueries(d Dialect) queries {
	forUpdate := ""
	if d == Postgres {
		// SQLite needs no row lock: its write transactions begin
		// IMMEDIATE and so exclude each other.
		forUpdate = " FOR UPDATE"
	}
	// later is the SQL form of the later function: the cut-off never moves
	// back.
	later := func(now string) string {
		return "CASE WHEN tokens_valid_after IS NULL OR tokens_valid_after < " + now +
			" THEN " + now + " ELSE tokens_valid_after END"
	}
	return queries{
		userByID:      "SELECT " + userColumns + " FROM authkit_users WHERE id = $1",
		userByKey:     "SELECT " + userColumns + " FROM authkit_users WHERE username_key = $1",
		userForUpdate: "SELECT " + userColumns + " FROM authkit_users WHERE id = $1" + forUpdate,
		userExists:    "SELECT 1 FROM authkit_users WHERE id = $1",
		insertID:      "INSERT INTO authkit_user_ids (id) VALUES ($1)",
		insertUser: "INSERT INTO authkit_users (" + userColumns + ", username_key)" +
			" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
		updateUser: "UPDATE authkit_users SET username = $2, username_key = $3, name = $4, email = $5," +
			" roles = $6, disabled = $7, updated_at = $8, tokens_valid_after = $9 WHERE id = $1",
		deleteUser: "DELETE FROM authkit_users WHERE id = $1",
		setHash: "UPDATE authkit_users SET password_hash = $2, updated_at = $3," +
			" tokens_valid_after = " + later("$3") + " WHERE id = $1",
		upgradeHash: "UPDATE authkit_users SET password_hash = $3, updated_at = $4" +
			" WHERE id = $1 AND password_hash = $2",
		setDisabled: "UPDATE authkit_users SET disabled = $2, updated_at = $3," +
			" tokens_valid_after = CASE WHEN $2 AND NOT disabled THEN " + later("$3") +
			" ELSE tokens_valid_after END WHERE id = $1",
		revoke: "UPDATE authkit_users SET updated_at = $2, tokens_valid_after = " + later("$2") +
			" WHERE id = $1",
		listAfterID: "SELECT " + userColumns + " FROM authkit_users WHERE id > $1 ORDER BY id LIMIT $2",
	}
}

// UserByUsername implements [userstore.Store]. It returns an error wrapping
// [userstore.ErrInvalidUsername] if username cannot be normalised, one
// wrapping [userstore.ErrNotFound] if no user holds it, and one wrapping
// ctx's error if ctx is done.
func (s *Store) UserByUsername(ctx context.Context, username string) (*userstore.User, error) {
	const op = "user by username"
	if err := ctx.Err(); err != nil {
		return nil, s.fail(ctx, op, err)
	}
	key, err := userstore.NormalizeUsername(username)
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	u, err := scanUser(s.byKey.queryRow(ctx, s.db, s.q.userByKey, key))
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return u, nil
}

// UserByID implements [userstore.Store]. IDs are compared byte by byte. It
// returns an error wrapping [userstore.ErrNotFound] if no user has the ID,
// and one wrapping ctx's error if ctx is done.
func (s *Store) UserByID(ctx context.Context, id string) (*userstore.User, error) {
	const op = "user by id"
	if err := ctx.Err(); err != nil {
		return nil, s.fail(ctx, op, err)
	}
	if !rules.ValidID(id) {
		// No such ID can be stored; PostgreSQL would refuse to compare it.
		return nil, s.fail(ctx, op, userstore.ErrNotFound)
	}
	u, err := scanUser(s.byID.queryRow(ctx, s.db, s.q.userByID, id))
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return u, nil
}

// userKey returns the normalised username of u, the unique key of its
// row, after the checks every write of a whole user starts with: a live
// context and a user at all.
func userKey(ctx context.Context, u *userstore.User) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if u == nil {
		return "", fmt.Errorf("nil user: %w", userstore.ErrInvalidUser)
	}
	return normalize(u.Username)
}

// CreateUser implements [userstore.Manager]. An empty u.ID gets a random
// one from [rand.Text]; a caller-chosen ID must be valid UTF-8 of at most
// 256 bytes without control characters, and must never have belonged to a
// user of this database, deleted or not (else [userstore.ErrDuplicate]).
// CreatedAt and UpdatedAt are set to now; TokensValidAfter is kept as given,
// to the microsecond.
//
// Name, Email, PasswordHash and Roles must be valid UTF-8 without NUL bytes
// (PostgreSQL cannot store anything else), else the error wraps
// [userstore.ErrInvalidUser]. An invalid username returns an error that
// wraps both [userstore.ErrInvalidUser] and [userstore.ErrInvalidUsername].
func (s *Store) CreateUser(ctx context.Context, u *userstore.User) (*userstore.User, error) {
	const op = "create user"
	key, err := userKey(ctx, u)
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	if u.PasswordHash == "" {
		return nil, s.fail(ctx, op, fmt.Errorf("empty password hash: %w", userstore.ErrInvalidUser))
	}
	if err := checkText(u.Name, u.Email, u.PasswordHash, u.Roles); err != nil {
		return nil, s.fail(ctx, op, err)
	}
	if u.ID != "" && !rules.ValidID(u.ID) {
		return nil, s.fail(ctx, op, fmt.Errorf("malformed id: %w", userstore.ErrInvalidUser))
	}
	c := u.Clone()
	now := s.now()
	c.CreatedAt, c.UpdatedAt = now, now
	c.TokensValidAfter = truncate(c.TokensValidAfter)
	roles := encodeRoles(c.Roles)

	idTaken := fmt.Errorf("id taken: %w", userstore.ErrDuplicate)
	create := func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q.insertID, c.ID); err != nil {
			if s.isUnique(err) {
				return idTaken
			}
			return err
		}
		_, err := tx.ExecContext(ctx, s.q.insertUser, c.ID, c.Username, c.Name, c.Email, c.PasswordHash,
			roles, c.Disabled, micros(c.CreatedAt), micros(c.UpdatedAt), nullMicros(c.TokensValidAfter), key)
		if s.isUnique(err) {
			return fmt.Errorf("username taken: %w", userstore.ErrDuplicate)
		}
		return err
	}
	if c.ID != "" {
		err = s.inTx(ctx, create)
	} else {
		// 26 base32 characters: 130 random bits, so this runs once in
		// practice; a clash with an ID ever used draws again.
		for range 3 {
			c.ID = rand.Text()
			if err = s.inTx(ctx, create); !errors.Is(err, idTaken) {
				break
			}
		}
	}
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return c.Clone(), nil
}

// UpdateUser implements [userstore.Manager]. It replaces Username, Name,
// Email, Roles and Disabled of the user with u.ID and ignores u's other
// fields. If the set of roles changes (order and repetition do not count),
// or the user is disabled, TokensValidAfter moves forward to now. The text
// fields must be as [Store.CreateUser] requires.
func (s *Store) UpdateUser(ctx context.Context, u *userstore.User) (*userstore.User, error) {
	const op = "update user"
	key, err := userKey(ctx, u)
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	if err := checkText(u.Name, u.Email, "", u.Roles); err != nil {
		return nil, s.fail(ctx, op, err)
	}
	if !rules.ValidID(u.ID) {
		return nil, s.fail(ctx, op, userstore.ErrNotFound)
	}
	roles := slices.Clone(u.Roles)
	var out *userstore.User
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := scanUser(tx.QueryRowContext(ctx, s.q.userForUpdate, u.ID))
		if err != nil {
			return err
		}
		now := s.now()
		if !rules.SameRoles(cur.Roles, roles) || (u.Disabled && !cur.Disabled) {
			cur.TokensValidAfter = rules.Later(cur.TokensValidAfter, now)
		}
		cur.Username, cur.Name, cur.Email = u.Username, u.Name, u.Email
		cur.Roles, cur.Disabled = roles, u.Disabled
		cur.UpdatedAt = now
		_, err = tx.ExecContext(ctx, s.q.updateUser, cur.ID, cur.Username, key, cur.Name, cur.Email,
			encodeRoles(cur.Roles), cur.Disabled, micros(now), nullMicros(cur.TokensValidAfter))
		if s.isUnique(err) {
			return fmt.Errorf("username taken: %w", userstore.ErrDuplicate)
		}
		out = cur
		return err
	})
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return out.Clone(), nil
}

// SetPasswordHash implements [userstore.Manager]. It moves
// TokensValidAfter forward to now. An empty hash, or one that is not valid
// UTF-8 or holds a NUL byte, returns an error wrapping
// [userstore.ErrInvalidUser].
func (s *Store) SetPasswordHash(ctx context.Context, id, hash string) error {
	const op = "set password hash"
	if err := ctx.Err(); err != nil {
		return s.fail(ctx, op, err)
	}
	if hash == "" {
		return s.fail(ctx, op, fmt.Errorf("empty hash: %w", userstore.ErrInvalidUser))
	}
	if err := checkText("", "", hash, nil); err != nil {
		return s.fail(ctx, op, err)
	}
	return s.update(ctx, op, id, s.q.setHash, id, hash, micros(s.now()))
}

// UpgradePasswordHash implements [userstore.PasswordHashUpgrader]: it
// replaces the hash only if it still equals oldHash, in one statement, else
// returns an error wrapping [userstore.ErrConflict]. An empty or
// unstorable newHash returns an error wrapping [userstore.ErrInvalidUser].
func (s *Store) UpgradePasswordHash(ctx context.Context, id, oldHash, newHash string) error {
	const op = "upgrade password hash"
	if err := ctx.Err(); err != nil {
		return s.fail(ctx, op, err)
	}
	if newHash == "" {
		return s.fail(ctx, op, fmt.Errorf("empty hash: %w", userstore.ErrInvalidUser))
	}
	if err := checkText("", "", newHash, nil); err != nil {
		return s.fail(ctx, op, err)
	}
	if !rules.ValidID(id) {
		return s.fail(ctx, op, userstore.ErrNotFound)
	}
	if checkText("", "", oldHash, nil) != nil {
		// No stored hash is like that, so it cannot match; find out
		// whether the user exists.
		oldHash = ""
	}
	res, err := s.db.ExecContext(ctx, s.q.upgradeHash, id, oldHash, newHash, micros(s.now()))
	if err != nil {
		return s.fail(ctx, op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.fail(ctx, op, err)
	} else if n == 1 {
		return nil
	}
	var one int
	if err := s.db.QueryRowContext(ctx, s.q.userExists, id).Scan(&one); err != nil {
		return s.fail(ctx, op, err)
	}
	return s.fail(ctx, op, userstore.ErrConflict)
}

// SetDisabled implements [userstore.Manager]. Disabling moves
// TokensValidAfter forward to now, so that re-enabling the user later does
// not bring back the tokens issued before.
func (s *Store) SetDisabled(ctx context.Context, id string, disabled bool) error {
	const op = "set disabled"
	if err := ctx.Err(); err != nil {
		return s.fail(ctx, op, err)
	}
	return s.update(ctx, op, id, s.q.setDisabled, id, disabled, micros(s.now()))
}

// RevokeTokens implements [userstore.Manager]: it moves TokensValidAfter
// forward to now. A clock that went backwards, here or on another instance
// sharing the database, never moves it back.
func (s *Store) RevokeTokens(ctx context.Context, id string) error {
	const op = "revoke tokens"
	if err := ctx.Err(); err != nil {
		return s.fail(ctx, op, err)
	}
	return s.update(ctx, op, id, s.q.revoke, id, micros(s.now()))
}

// DeleteUser implements [userstore.Manager]. The username becomes free
// again; the ID does not.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	const op = "delete user"
	if err := ctx.Err(); err != nil {
		return s.fail(ctx, op, err)
	}
	return s.update(ctx, op, id, s.q.deleteUser, id)
}

// ListUsers implements [userstore.Manager]: it returns up to
// opts.PageLimit() users with IDs greater than opts.After, in ascending
// byte order of ID, and the ID of the last one as the next cursor when more
// follow. Each page is one query, consistent in itself.
func (s *Store) ListUsers(ctx context.Context, opts userstore.ListOptions) ([]*userstore.User, string, error) {
	const op = "list users"
	if err := ctx.Err(); err != nil {
		return nil, "", s.fail(ctx, op, err)
	}
	limit := opts.PageLimit()
	rows, err := s.db.QueryContext(ctx, s.q.listAfterID, opts.After, limit+1)
	if err != nil {
		return nil, "", s.fail(ctx, op, err)
	}
	defer rows.Close()
	users := make([]*userstore.User, 0, min(limit, 64))
	next := ""
	for rows.Next() {
		if len(users) == limit {
			next = users[limit-1].ID
			break
		}
		u, err := scanUser(rows)
		if err != nil {
			return nil, "", s.fail(ctx, op, err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, "", s.fail(ctx, op, err)
	}
	return users, next, nil
}

// lazyStmt is a statement prepared on its first successful use. Preparing
// saves SQLite from parsing the query on every call; [sql.Stmt] prepares it
// again on each connection of the pool as needed, and the statements close
// with the pool.
type lazyStmt struct {
	stmt atomic.Pointer[sql.Stmt]
}

// prepared returns the prepared statement of query, preparing it first if
// need be.
func (l *lazyStmt) prepared(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	if st := l.stmt.Load(); st != nil {
		return st, nil
	}
	p, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if l.stmt.CompareAndSwap(nil, p) {
		return p, nil
	}
	p.Close()
	return l.stmt.Load(), nil
}

// queryRow runs query through the prepared statement, preparing it first
// if need be. If preparing fails (before Migrate, say), it runs the query
// unprepared, so that the caller sees the query's own error.
func (l *lazyStmt) queryRow(ctx context.Context, db *sql.DB, query string, args ...any) *sql.Row {
	st, err := l.prepared(ctx, db, query)
	if err != nil {
		return db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// exec runs query through the prepared statement, preparing it first if
// need be, or unprepared if preparing fails.
func (l *lazyStmt) exec(ctx context.Context, db *sql.DB, query string, args ...any) (sql.Result, error) {
	st, err := l.prepared(ctx, db, query)
	if err != nil {
		return db.ExecContext(ctx, query, args...)
	}
	return st.ExecContext(ctx, args...)
}

// txExec runs query inside tx through the prepared statement, preparing it
// first if need be, or unprepared if preparing fails.
func (l *lazyStmt) txExec(ctx context.Context, db *sql.DB, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := l.prepared(ctx, db, query)
	if err != nil {
		return tx.ExecContext(ctx, query, args...)
	}
	return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
}

// update runs a statement that changes the row of the user with the given
// ID, and answers [userstore.ErrNotFound] if there is none.
func (s *Store) update(ctx context.Context, op, id, query string, args ...any) error {
	if !rules.ValidID(id) {
		return s.fail(ctx, op, userstore.ErrNotFound)
	}
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return s.fail(ctx, op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail(ctx, op, err)
	}
	if n == 0 {
		return s.fail(ctx, op, userstore.ErrNotFound)
	}
	return nil
}

// inTx runs f in a write transaction and commits it if f succeeds.
func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// fail wraps err for operation op. It maps [sql.ErrNoRows] to
// [userstore.ErrNotFound], and wraps ctx's error too if ctx is done, so
// that a query the context cut short reports why.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		err = userstore.ErrNotFound
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("sqlstore: %s: %w: %w", op, cerr, err)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// isUnique reports whether err is the driver's unique-constraint violation:
// SQLSTATE 23505 from pgx, or SQLITE_CONSTRAINT_UNIQUE (2067) or
// SQLITE_CONSTRAINT_PRIMARYKEY (1555) from modernc.org/sqlite. It asks for
// the drivers' error methods rather than their types, so that this package
// does not import the drivers.
func (s *Store) isUnique(err error) bool {
	if err == nil {
		return false
	}
	switch s.dialect {
	case Postgres:
		if e, ok := errors.AsType[sqlStateError](err); ok {
			return e.SQLState() == "23505"
		}
	case SQLite:
		if e, ok := errors.AsType[codeError](err); ok {
			return e.Code() == 2067 || e.Code() == 1555
		}
	}
	return false
}

// sqlStateError is the method set of pgconn.PgError that isUnique needs.
type sqlStateError interface {
	error
	SQLState() string
}

// codeError is the method set of modernc.org/sqlite's *Error that isUnique
// needs. With extended result codes, which that driver turns on, Code
// returns the extended code.
type codeError interface {
	error
	Code() int
}

// now returns the current time as the database keeps it: UTC, to the
// microsecond.
func (s *Store) now() time.Time { return truncate(time.Now()) }

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// scanUser reads the userColumns of one row.
func scanUser(r rowScanner) (*userstore.User, error) {
	var (
		u                userstore.User
		roles            string
		created, updated int64
		cutoff           sql.NullInt64
	)
	err := r.Scan(&u.ID, &u.Username, &u.Name, &u.Email, &u.PasswordHash, &roles, &u.Disabled,
		&created, &updated, &cutoff)
	if err != nil {
		return nil, err
	}
	if u.Roles, err = decodeRoles(roles); err != nil {
		return nil, fmt.Errorf("user %q: %w", u.ID, err)
	}
	u.CreatedAt = time.UnixMicro(created).UTC()
	u.UpdatedAt = time.UnixMicro(updated).UTC()
	if cutoff.Valid {
		u.TokensValidAfter = time.UnixMicro(cutoff.Int64).UTC()
	}
	return &u, nil
}

// encodeRoles returns the JSON array the roles column holds.
func encodeRoles(roles []string) string {
	if len(roles) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(roles) // a []string always marshals
	return string(b)
}

// decodeRoles parses the roles column; "[]" is no roles (nil).
func decodeRoles(s string) ([]string, error) {
	if s == "[]" {
		return nil, nil
	}
	var roles []string
	if err := json.Unmarshal([]byte(s), &roles); err != nil {
		return nil, fmt.Errorf("roles column: %w", err)
	}
	if len(roles) == 0 {
		return nil, nil
	}
	return roles, nil
}

// truncate returns t in UTC to the microsecond, as the database keeps it.
// The zero time stays zero.
func truncate(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// micros returns t as Unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// nullMicros returns t as Unix microseconds, or NULL for the zero time.
func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
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

// checkText reports, wrapping [userstore.ErrInvalidUser], a field that is
// not valid UTF-8 or holds a NUL byte: PostgreSQL's text type stores
// neither, and the store refuses them on SQLite too so that both answer
// alike.
func checkText(name, email, hash string, roles []string) error {
	bad := func(s string) bool { return !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 }
	switch {
	case bad(name):
		return fmt.Errorf("malformed name: %w", userstore.ErrInvalidUser)
	case bad(email):
		return fmt.Errorf("malformed email: %w", userstore.ErrInvalidUser)
	case bad(hash):
		return fmt.Errorf("malformed password hash: %w", userstore.ErrInvalidUser)
	case slices.ContainsFunc(roles, bad):
		return fmt.Errorf("malformed role: %w", userstore.ErrInvalidUser)
	}
	return nil
}
