package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/authkit-go/authkit/userstore"
)

// The bounds of pruning the session tables.
const (
	// sessionPruneBatch is how many rows one DELETE of PruneRefresh
	// removes at most; it repeats until fewer are left, so that no
	// statement holds SQLite's write lock for long.
	sessionPruneBatch = 1000
	// sessionPruneEvery is how many rotations, on average, run one
	// inline prune of up to sessionPruneRows rows of each kind. A
	// rotation adds one token, so inline pruning alone keeps up.
	sessionPruneEvery = 32
	sessionPruneRows  = 256
)

// tokenDigestBytes is the size of a refresh token's name: its SHA-256
// digest.
const tokenDigestBytes = sha256.Size

// errMalformedSession reports a family or token that the store cannot
// keep: an ID, client or scope that is not valid UTF-8 or holds a NUL
// byte, or a token digest that is not 32 bytes long.
var errMalformedSession = errors.New("malformed refresh family or token")

// The statements of the session tables, the same on both dialects except
// where a dialect has its own.
const (
	qInsertFamily = "INSERT INTO authkit_refresh_families (id, user_id, client_id, scope, created_at, expires_at)" +
		" VALUES ($1, $2, $3, $4, $5, $6)"
	qInsertToken = "INSERT INTO authkit_refresh_tokens (hash, family_id, expires_at) VALUES ($1, $2, $3)"
	qToken       = "SELECT family_id, expires_at, spent_at, successor FROM authkit_refresh_tokens WHERE hash = $1"
	qTokenExists = "SELECT 1 FROM authkit_refresh_tokens WHERE hash = $1"
	qFamily      = "SELECT user_id, client_id, scope, created_at, expires_at FROM authkit_refresh_families WHERE id = $1"
	// qRotateSQLite is the compare-and-swap of a rotation on SQLite: of
	// any number of concurrent spends of one token, one finds it unspent.
	// The trigger authkit_refresh_tokens_rotate inserts the successor
	// into the spent token's family as part of the statement; if the
	// successor's digest is taken, the statement fails and spends
	// nothing.
	qRotateSQLite = "UPDATE authkit_refresh_tokens SET spent_at = $2, successor = $3, successor_hash = $4, successor_expires_at = $5" +
		" WHERE hash = $1 AND spent_at IS NULL"
	// qRotatePostgres is the spend and the insert of the successor into
	// the spent token's family, in one statement. The spend's condition
	// first takes a key share lock on the token's family (the lock that
	// deleting the family waits for), before the UPDATE locks the token:
	// every writer that locks a family and its tokens locks the family
	// first, so that rotations, revocations and prunes on several
	// instances never deadlock. A family deleted meanwhile matches
	// nothing; a successor digest already taken fails the statement,
	// which then spends nothing.
	qRotatePostgres = "WITH spent AS (UPDATE authkit_refresh_tokens SET spent_at = $3, successor = $5" +
		" WHERE hash = $1 AND spent_at IS NULL AND family_id = (SELECT f.id FROM authkit_refresh_tokens t" +
		" JOIN authkit_refresh_families f ON f.id = t.family_id WHERE t.hash = $1 FOR KEY SHARE OF f)" +
		" RETURNING family_id)" +
		" INSERT INTO authkit_refresh_tokens (hash, family_id, expires_at) SELECT $2, family_id, $4 FROM spent"
	// Deleting a family deletes its tokens (ON DELETE CASCADE), family
	// first.
	qDeleteFamily       = "DELETE FROM authkit_refresh_families WHERE id = $1"
	qDeleteUserFamilies = "DELETE FROM authkit_refresh_families WHERE user_id = $1"
	qDeny               = "INSERT INTO authkit_denylist AS d (jti_hash, until) VALUES ($1, $2)" +
		" ON CONFLICT (jti_hash) DO UPDATE SET until = CASE WHEN excluded.until > d.until THEN excluded.until ELSE d.until END"
	qDenied = "SELECT until FROM authkit_denylist WHERE jti_hash = $1"
)

// CreateRefreshFamily stores a new refresh-token family with its first
// token, unspent, in one transaction; see oauth2pw.RefreshStore. A family
// ID or token already stored returns an error wrapping
// [userstore.ErrDuplicate] and stores nothing. The IDs and scope must be
// valid UTF-8 without NUL bytes, and token 32 bytes long.
func (s *Store) CreateRefreshFamily(ctx context.Context, family, userID, clientID string, scope []string,
	created, expires time.Time, token []byte, tokenExpires time.Time) error {
	const op = "create refresh family"
	if err := ctx.Err(); err != nil {
		return s.fail(ctx, op, err)
	}
	if len(token) != tokenDigestBytes || !validText(family, userID, clientID) || !validText(scope...) {
		return s.fail(ctx, op, errMalformedSession)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, qInsertFamily, family, userID, clientID, encodeRoles(scope), micros(created), micros(expires))
		if s.isUnique(err) {
			return fmt.Errorf("family exists: %w", userstore.ErrDuplicate)
		} else if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, qInsertToken, token, family, micros(tokenExpires))
		if s.isUnique(err) {
			return fmt.Errorf("token exists: %w", userstore.ErrDuplicate)
		}
		return err
	})
	if err != nil {
		return s.fail(ctx, op, err)
	}
	return nil
}

// RefreshToken returns the family of a stored refresh token, its expiry
// and, once it is spent, the instant it was spent and its sealed
// successor; see oauth2pw.RefreshStore. An unknown token returns an error
// wrapping [userstore.ErrNotFound].
func (s *Store) RefreshToken(ctx context.Context, token []byte) (family string, expires, spent time.Time, successor []byte, err error) {
	const op = "refresh token"
	if err := ctx.Err(); err != nil {
		return "", time.Time{}, time.Time{}, nil, s.fail(ctx, op, err)
	}
	if len(token) != tokenDigestBytes {
		return "", time.Time{}, time.Time{}, nil, s.fail(ctx, op, userstore.ErrNotFound)
	}
	var exp int64
	var sp sql.NullInt64
	if err := s.token.queryRow(ctx, s.db, qToken, token).Scan(&family, &exp, &sp, &successor); err != nil {
		return "", time.Time{}, time.Time{}, nil, s.fail(ctx, op, err)
	}
	if sp.Valid {
		spent = fromMicros(sp.Int64)
	}
	return family, fromMicros(exp), spent, successor, nil
}

// RefreshFamily returns the record of a stored refresh-token family; see
// oauth2pw.RefreshStore. An unknown family returns an error wrapping
// [userstore.ErrNotFound].
func (s *Store) RefreshFamily(ctx context.Context, family string) (userID, clientID string, scope []string, created, expires time.Time, err error) {
	const op = "refresh family"
	if err := ctx.Err(); err != nil {
		return "", "", nil, time.Time{}, time.Time{}, s.fail(ctx, op, err)
	}
	if !validText(family) {
		return "", "", nil, time.Time{}, time.Time{}, s.fail(ctx, op, userstore.ErrNotFound)
	}
	var sc string
	var cr, exp int64
	if err := s.family.queryRow(ctx, s.db, qFamily, family).Scan(&userID, &clientID, &sc, &cr, &exp); err != nil {
		return "", "", nil, time.Time{}, time.Time{}, s.fail(ctx, op, err)
	}
	if scope, err = decodeRoles(sc); err != nil {
		return "", "", nil, time.Time{}, time.Time{}, s.fail(ctx, op, fmt.Errorf("family %q: scope: %w", family, err))
	}
	return userID, clientID, scope, fromMicros(cr), fromMicros(exp), nil
}

// RotateRefreshToken spends old and stores next, unspent, in old's family,
// atomically; see oauth2pw.RefreshStore. The spend is one compare-and-swap
// statement (UPDATE … WHERE hash = old AND spent_at IS NULL): of any
// number of concurrent rotations of one token, from any number of
// instances, exactly one succeeds and the others return an error wrapping
// [userstore.ErrConflict]. The insert of next is part of the
// same statement, so that a rotation commits like any single write,
// without a transaction around it: on PostgreSQL as a data-modifying WITH
// whose spend first takes a key share lock on the family (the lock a
// revocation waits for), so that every writer locks a family before its
// tokens and none deadlocks another; on SQLite through a trigger, the
// spend naming the successor.
//
// An unknown old (or one whose family was revoked) returns an error
// wrapping [userstore.ErrNotFound], and a next already stored one wrapping
// [userstore.ErrDuplicate]; neither changes anything. One rotation in
// 32, on average, also deletes a few rows that expired at now (see
// [Store.PruneRefresh]): on SQLite in one transaction with that rotation,
// so that it costs no commit of its own, on PostgreSQL after it.
func (s *Store) RotateRefreshToken(ctx context.Context, old, next []byte, now, nextExpires time.Time, sealed []byte) error {
	const op = "rotate refresh token"
	if err := ctx.Err(); err != nil {
		return s.fail(ctx, op, err)
	}
	if len(old) != tokenDigestBytes {
		return s.fail(ctx, op, userstore.ErrNotFound)
	}
	if len(next) != tokenDigestBytes {
		return s.fail(ctx, op, errMalformedSession)
	}
	prune := rand.N(sessionPruneEvery) == 0
	if s.dialect == SQLite {
		if err := s.rotateSQLite(ctx, old, next, now, nextExpires, sealed, prune); err != nil {
			return s.fail(ctx, op, err)
		}
		return nil
	}
	if err := s.rotatePostgres(ctx, old, next, now, nextExpires, sealed); err != nil {
		return s.fail(ctx, op, err)
	}
	if prune {
		// A failed prune leaves the rows for the next one.
		s.pruneSessions(ctx, s.db.ExecContext, now, sessionPruneRows, false)
	}
	return nil
}

func (s *Store) rotatePostgres(ctx context.Context, old, next []byte, now, nextExpires time.Time, sealed []byte) error {
	res, err := s.db.ExecContext(ctx, qRotatePostgres, old, next, micros(now), micros(nextExpires), nullBytes(sealed))
	if spent, err := s.spentOne(res, err); err != nil || spent {
		return err
	}
	return notRotated(s.db.QueryRowContext(ctx, qTokenExists, old))
}

// rotateSQLite spends old and inserts next with one statement and, if
// prune is set, runs it in a transaction that also deletes a few expired
// rows, and then commits (and syncs) once. A failed delete leaves its
// rows for the next prune.
func (s *Store) rotateSQLite(ctx context.Context, old, next []byte, now, nextExpires time.Time, sealed []byte, prune bool) error {
	args := []any{old, micros(now), nullBytes(sealed), next, micros(nextExpires)}
	if !prune {
		res, err := s.rotate.exec(ctx, s.db, qRotateSQLite, args...)
		if spent, err := s.spentOne(res, err); err != nil || spent {
			return err
		}
		return notRotated(s.db.QueryRowContext(ctx, qTokenExists, old))
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.rotate.txExec(ctx, s.db, tx, qRotateSQLite, args...)
		if spent, err := s.spentOne(res, err); err != nil {
			return err
		} else if !spent {
			return notRotated(tx.QueryRowContext(ctx, qTokenExists, old))
		}
		s.pruneSessions(ctx, tx.ExecContext, now, sessionPruneRows, false)
		return nil
	})
}

// spentOne reports whether a rotation statement, whose result and error
// it is given, spent the token; a successor digest already taken returns
// an error wrapping [userstore.ErrDuplicate].
func (s *Store) spentOne(res sql.Result, err error) (bool, error) {
	if s.isUnique(err) {
		return false, fmt.Errorf("next exists: %w", userstore.ErrDuplicate)
	} else if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// notRotated returns why a spend found no unspent token, from the row of
// qTokenExists: the token is spent ([userstore.ErrConflict]), or gone
// ([userstore.ErrNotFound]).
func notRotated(r *sql.Row) error {
	var one int
	switch err := r.Scan(&one); {
	case err == nil:
		return fmt.Errorf("spent: %w", userstore.ErrConflict)
	case errors.Is(err, sql.ErrNoRows):
		return userstore.ErrNotFound
	default:
		return err
	}
}

// RevokeRefreshFamily deletes the refresh-token family and all of its
// tokens, in one statement; see oauth2pw.RefreshStore. An unknown
// family is no error.
func (s *Store) RevokeRefreshFamily(ctx context.Context, family string) error {
	const op = "revoke refresh family"
	if err := ctx.Err(); err != nil {
		return s.fail(ctx, op, err)
	}
	if !validText(family) {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, qDeleteFamily, family); err != nil {
		return s.fail(ctx, op, err)
	}
	return nil
}

// RevokeUserRefreshFamilies deletes every refresh-token family of the
// user, and their tokens, in one statement; see oauth2pw.RefreshStore.
func (s *Store) RevokeUserRefreshFamilies(ctx context.Context, userID string) error {
	const op = "revoke user refresh families"
	if err := ctx.Err(); err != nil {
		return s.fail(ctx, op, err)
	}
	if !validText(userID) {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, qDeleteUserFamilies, userID); err != nil {
		return s.fail(ctx, op, err)
	}
	return nil
}

// DenyAccessToken puts the access token whose "jti" is jti on the
// denylist until until, in one upsert; see oauth2pw.RefreshStore. A later
// call for the same jti keeps the later of the two instants. The entry is
// keyed by the SHA-256 digest of jti, so any string may be given.
func (s *Store) DenyAccessToken(ctx context.Context, jti string, until time.Time) error {
	const op = "deny access token"
	if err := ctx.Err(); err != nil {
		return s.fail(ctx, op, err)
	}
	d := sha256.Sum256([]byte(jti))
	if _, err := s.db.ExecContext(ctx, qDeny, d[:], micros(until)); err != nil {
		return s.fail(ctx, op, err)
	}
	return nil
}

// Denied reports whether jti is on the denylist with an entry whose until
// is after the current time; it implements jwtauth.Denylist.
func (s *Store) Denied(ctx context.Context, jti string) (bool, error) {
	const op = "denied"
	if err := ctx.Err(); err != nil {
		return false, s.fail(ctx, op, err)
	}
	d := sha256.Sum256([]byte(jti))
	var until int64
	switch err := s.denied.queryRow(ctx, s.db, qDenied, d[:]).Scan(&until); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, s.fail(ctx, op, err)
	}
	return until > micros(s.now()), nil
}

// PruneRefresh deletes what has expired at now (see
// oauth2pw.RefreshStore): the families whose live token or whose absolute
// expiry is not after now, with all their tokens; the spent tokens whose
// expiry is not after now; and the denylist entries whose until is not
// after now. A family's live (unspent) token is its newest, so a family
// whose live token expired has no token left that could refresh. Each
// kind goes in DELETE statements of at most 1,000 rows, repeated until
// none is left, so that other writers get their turn in between; on
// PostgreSQL, rows that other transactions hold locked are left for the
// next prune.
func (s *Store) PruneRefresh(ctx context.Context, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return s.fail(ctx, "prune refresh", err)
	}
	return s.pruneSessions(ctx, s.db.ExecContext, now, sessionPruneBatch, true)
}

// execFunc runs a write statement: the ExecContext of the pool or of a
// transaction.
type execFunc func(ctx context.Context, query string, args ...any) (sql.Result, error)

// pruneSessions deletes, through exec, up to limit expired rows of each
// kind, and goes on with more batches while a batch was full if all is
// set.
func (s *Store) pruneSessions(ctx context.Context, exec execFunc, now time.Time, limit int, all bool) error {
	// On PostgreSQL, rows locked elsewhere are skipped; families are
	// locked before their tokens, as every writer does.
	skip, skipFamilies := "", ""
	if s.dialect == Postgres {
		skip, skipFamilies = " FOR UPDATE SKIP LOCKED", " FOR UPDATE OF f SKIP LOCKED"
	}
	steps := [...]struct{ what, query string }{
		{"families with an expired live token", "DELETE FROM authkit_refresh_families WHERE id IN" +
			" (SELECT f.id FROM authkit_refresh_families f JOIN authkit_refresh_tokens t ON t.family_id = f.id" +
			" WHERE t.expires_at <= $1 AND t.spent_at IS NULL LIMIT $2" + skipFamilies + ")"},
		{"expired families", "DELETE FROM authkit_refresh_families WHERE id IN" +
			" (SELECT id FROM authkit_refresh_families WHERE expires_at <= $1 LIMIT $2" + skip + ")"},
		{"expired tokens", "DELETE FROM authkit_refresh_tokens WHERE hash IN" +
			" (SELECT hash FROM authkit_refresh_tokens WHERE expires_at <= $1 LIMIT $2" + skip + ")"},
		{"expired denylist entries", "DELETE FROM authkit_denylist WHERE jti_hash IN" +
			" (SELECT jti_hash FROM authkit_denylist WHERE until <= $1 LIMIT $2" + skip + ")"},
	}
	at := micros(now)
	for _, st := range steps {
		for {
			res, err := exec(ctx, st.query, at, limit)
			if err != nil {
				return s.fail(ctx, "prune refresh: "+st.what, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return s.fail(ctx, "prune refresh: "+st.what, err)
			}
			if !all || n < int64(limit) {
				break
			}
		}
	}
	return nil
}

// validText reports whether every string is valid UTF-8 without NUL
// bytes, as PostgreSQL's text type requires; the store refuses other
// strings on SQLite too, so that both answer alike.
func validText(ss ...string) bool {
	for _, s := range ss {
		if checkText(s, "", "", nil) != nil {
			return false
		}
	}
	return true
}

// fromMicros returns the Time of us Unix microseconds, in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
