// Package sqlstore provides a [userstore.Manager] kept in a SQL database
// through [database/sql]: SQLite (modernc.org/sqlite, pure Go) as the
// embedded default, and PostgreSQL (github.com/jackc/pgx/v5/stdlib) for
// several instances sharing one database.
//
// The store answers exactly as the in-memory store of
// [github.com/authkit-go/authkit/userstore/memory] does, and passes the same
// conformance suite, on both databases. The package imports no driver: the
// caller opens the *sql.DB, with a blank import of the driver, and hands it
// to [New] with its [Dialect]:
//
//	import _ "modernc.org/sqlite"
//
//	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN("authkit.db"))
//	…
//	store, err := sqlstore.New(ctx, db, sqlstore.SQLite)
//	…
//	err = store.Migrate(ctx)
//
// # Schema
//
// The schema ships with the package as numbered migrations, one set per
// dialect, embedded in the binary. [Store.Migrate] applies those the
// database lacks, in one transaction, and records them in
// authkit_schema_migrations (one row per version). It is idempotent and
// safe to run from several processes at once, and it refuses a database
// that a newer version of the package migrated ([ErrSchemaTooNew]). Every
// table's name begins with "authkit_", so the schema can share a database
// with the application's own tables.
//
// Users live in authkit_users, one row each. username holds the name as
// given, username_key its [userstore.NormalizeUsername] form; a unique
// constraint on username_key makes login names unique in the database
// itself, so that of two instances creating one name at the same moment
// exactly one succeeds. authkit_user_ids keeps every ID ever handed out, and
// authkit_users.id references it: a deleted user's row goes, its ID stays,
// and no later account can take it (IDs become the "sub" of tokens).
//
// Roles are a JSON array of strings in a text column: both databases store
// it alike, it keeps the order and repetition the caller gave, and a lookup
// reads one row without a join. Nothing queries users by role.
//
// Times are Unix microseconds in integer columns, read back in UTC: both
// databases compare them exactly, and the cut-off that only moves forward
// (TokensValidAfter) is computed in the UPDATE statement itself, so two
// instances with different clocks never move it back. The store keeps
// times to the microsecond, and TokensValidAfter's zero value as NULL.
//
// Text columns hold valid UTF-8 without NUL bytes: writes of anything else
// are refused with [userstore.ErrInvalidUser] on both databases, because
// PostgreSQL cannot store it. On PostgreSQL, IDs and username keys use the
// "C" collation, so that they compare and sort byte by byte.
//
// # Throttle
//
// Store implements oauth2pw.ThrottleStore (ThrottleRecords, ChargeThrottle,
// RefundThrottle, ThrottleSuccess, SwapThrottleMemo), so that every
// instance of a service on one database counts failed logins and failed
// client authentications together: set it as the token endpoint's
// Config.ThrottleStore. The records live in authkit_throttle, one row per
// record, keyed by the opaque 32-byte digest the limiter derives (a
// username, client or address never appears in clear): the attempt count,
// the last charge and the one before it, the last success, the hold count
// and held mark, the limiter's memo (keyed digests of recently failed
// secrets, at most 96 bytes) and the expiry. Its times are Unix
// nanoseconds, so that the limiter's delays compare exactly.
//
// A charge is one INSERT … ON CONFLICT (key) DO UPDATE … RETURNING over
// the attempt's rows, on both databases (SQLite 3.35 or later), written in
// the order of their keys: concurrent charges from any number of
// instances never lose a count, and on PostgreSQL never deadlock each
// other. Refunds and successes are single statements too, and the memo
// changes only by compare-and-swap.
//
// The table stays bounded without a goroutine. A row past its expiry
// reads as absent, and one charge in eight deletes up to 64 expired rows,
// so expired rows go faster than charges add them. One charge in 256
// counts the rows and, above 1,000,000 (some 250 MB with the indexes),
// deletes the excess and a little more: first the rows not held, then the
// held ones (records past their limit, and pairs that logged in), each
// soonest to expire first, so that a flood of new usernames and addresses
// cannot push out the records that delay an attacker. Between counts the
// table may pass the cap by a few hundred rows per instance.
//
// A database error reaches the limiter as an error, and the token
// endpoint answers 503 temporarily_unavailable: it fails closed.
//
// # Sessions
//
// Store implements oauth2pw.RefreshStore (CreateRefreshFamily,
// RefreshToken, RefreshFamily, RotateRefreshToken, RevokeRefreshFamily,
// RevokeUserRefreshFamilies, DenyAccessToken, Denied, PruneRefresh) and
// jwtauth.Denylist (Denied), so that every instance of a service on one
// database shares refresh tokens and revocations: set it as the token
// endpoint's Config.Refresh.Store and give it to the Bearer middleware
// with jwtauth.WithDenylist.
//
// A family (one login) is a row of authkit_refresh_families: its ID, user,
// client, granted scope (a JSON array) and the times it started and dies.
// Its tokens are rows of authkit_refresh_tokens, keyed by the SHA-256
// digest of the token (the token itself is never stored), with their
// family, expiry and, once rotated, the instant they were spent and the
// successor the token endpoint sealed for a retry within the grace window
// (on SQLite also the successor's digest and expiry, which the rotation's
// trigger reads). A family has one unspent token, its newest: that token's expiry
// is the family's idle expiry, and the latest spent_at its last use.
// Deleting a family deletes its tokens (ON DELETE CASCADE). Times are
// Unix microseconds, as for users.
//
// A rotation spends the old token with one compare-and-swap statement,
//
//	UPDATE authkit_refresh_tokens SET spent_at = $now, successor = $sealed
//	WHERE hash = $old AND spent_at IS NULL
//
// and inserts the successor into the spent token's family, atomically: on
// PostgreSQL both are one statement (WITH … INSERT); on SQLite the UPDATE
// also writes the successor's digest and expiry on the spent row, and the
// trigger authkit_refresh_tokens_rotate inserts the successor as part of
// the same statement, which fails and spends nothing if that digest is
// taken. Of any number of concurrent rotations of one token, on any
// number of instances, exactly one succeeds; the others see the token
// spent and take the successor (within the grace window) or revoke the
// family, so a family
// never forks. On PostgreSQL the rotation's statement first takes a key
// share lock on the token's family, the lock that deleting the family
// waits for: every
// writer that locks a family and its tokens (rotation, revocation, prune)
// locks the family first, so that none deadlocks another.
//
// The denylist, authkit_denylist, holds the SHA-256 digest of each
// revoked access token's "jti" claim with the instant the token expires
// (plus the token endpoint's margin); Denied is one primary-key lookup,
// and an entry past its instant reads as absent.
//
// The tables stay bounded without a goroutine. PruneRefresh, which the
// token endpoint calls at most once per ten minutes per instance, deletes
// the families whose live token or absolute lifetime has expired (with
// their tokens), the spent tokens past their expiry and the denylist
// entries past theirs, in DELETE statements of at most 1,000 rows each,
// so that SQLite's other writers get their turn in between; on
// PostgreSQL, rows locked elsewhere are skipped (SKIP LOCKED) and left
// for the next prune. Besides, one rotation in 32 deletes up to 256
// expired rows of each kind (on SQLite in one transaction with the
// rotation), more than rotations add, so that expired rows never pile
// up between prunes.
//
// # SQLite
//
// Open the database with the DSN that [SQLiteDSN] returns. It sets, on
// every connection of the pool:
//
//   - journal_mode=WAL, so that readers and the one writer do not block
//     each other;
//   - busy_timeout=5000, so that a connection waits up to 5 s for a lock
//     instead of failing at once with SQLITE_BUSY;
//   - foreign_keys=1, which SQLite leaves off by default;
//   - synchronous=FULL, so that a commit that returned survives a power
//     cut, not only a crash of the process;
//   - _txlock=immediate, so that every read-write transaction begins with
//     BEGIN IMMEDIATE and takes the write lock at once, waiting under
//     busy_timeout. A deferred transaction that reads and then writes has
//     to upgrade its lock, and in WAL mode that fails with SQLITE_BUSY,
//     without waiting, if another connection wrote in between: concurrent
//     logins would fail.
//
// [New] checks the first three on one connection and refuses a database
// without them; it cannot see _txlock, and without it the store's
// read-then-write transactions (UpdateUser, Migrate) fail with SQLITE_BUSY
// under concurrent writes. An in-memory database (":memory:") is refused
// too: it has no WAL, and every connection of a pool would get a database
// of its own. Use the memory package for a throwaway store.
//
// SQLite takes one writer at a time; the store keeps its write
// transactions to a few statements, and the two lookups made on every
// request (UserByID, UserByUsername) are prepared once per connection.
//
// # PostgreSQL
//
// Open the database through pgx's database/sql driver
// (sql.Open("pgx", "postgres://…")). Any number of instances may share it.
// [Store.Migrate] serialises on a transaction-scoped advisory lock keyed by
// the current schema, so instances in different schemas of one database
// migrate independently. Writes that read first (UpdateUser) lock the row
// with SELECT … FOR UPDATE, and a refresh-token rotation locks its family
// first (see Sessions); the others are single statements.
//
// # Errors
//
// Lookups and writes of a missing user return errors wrapping
// [userstore.ErrNotFound]; a username or ID taken, errors wrapping
// [userstore.ErrDuplicate] (detected from the driver's SQLSTATE 23505 or
// SQLite's extended constraint codes, without importing the drivers). Every
// error begins "sqlstore: " and wraps its cause; one that a done context
// cut short also wraps the context's error. Driver errors may carry SQL
// details: log them, never send them to a client.
package sqlstore
