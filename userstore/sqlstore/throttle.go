package sqlstore

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The bounds of the throttle table, authkit_throttle.
const (
	// throttleMaxRows caps the rows of the table: about 250 bytes each
	// with their indexes, some 250 MB in all.
	throttleMaxRows = 1_000_000
	// throttlePruneEvery is how many charges, on average, run one prune
	// of expired rows; throttlePruneRows is how many rows a prune deletes
	// at most. A charge adds at most three rows, so pruning keeps up.
	throttlePruneEvery = 8
	throttlePruneRows  = 64
	// throttleCapEvery is how many charges, on average, run one count of
	// the table's rows against throttleMaxRows.
	throttleCapEvery = 256
)

// throttleKeyBytes is the size of a throttle record's key.
const throttleKeyBytes = 32

// ThrottleRecords reads the throttle records of keys that have not expired
// at now and calls f for each, with its index in keys; see
// oauth2pw.ThrottleStore. A record's times are Unix nanoseconds in the
// database, read back in UTC; 0 is the zero Time.
func (s *Store) ThrottleRecords(ctx context.Context, now time.Time, keys [][32]byte,
	f func(i int, count int64, lastCharge, lastSuccess time.Time, memo []byte)) error {
	if len(keys) == 0 {
		return nil
	}
	args := []any{unixNano(now)}
	q := "SELECT key, attempts, last_charge, last_success, memo FROM authkit_throttle WHERE expires > $1 AND key IN (" +
		keyParams(&args, keys) + ")"
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return s.fail(ctx, "throttle records", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key, memo []byte
		var count, last, success int64
		if err := rows.Scan(&key, &count, &last, &success, &memo); err != nil {
			return s.fail(ctx, "throttle records", err)
		}
		if i := keyIndex(keys, key); i >= 0 {
			f(i, count, fromUnixNano(last), fromUnixNano(success), memo)
		}
	}
	if err := rows.Err(); err != nil {
		return s.fail(ctx, "throttle records", err)
	}
	return nil
}

// ChargeThrottle counts one attempt at now against the throttle record of
// each of keys in one INSERT … ON CONFLICT DO UPDATE … RETURNING statement,
// so that concurrent charges from any number of instances never lose a
// count; see oauth2pw.ThrottleStore. The rows are written in the order of
// their keys, so that concurrent charges on PostgreSQL lock them in one
// order. Now and then it also deletes expired rows and, if the table holds
// more than its cap, the rows least worth keeping (see the package doc).
func (s *Store) ChargeThrottle(ctx context.Context, now, since, expires time.Time, keys [][32]byte, holds []int64,
	f func(i int, count int64, prevCharge, lastSuccess time.Time)) error {
	if len(keys) == 0 {
		return nil
	}
	if len(holds) != len(keys) {
		return fmt.Errorf("sqlstore: charge throttle: %d keys, %d holds", len(keys), len(holds))
	}
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return bytes.Compare(keys[a][:], keys[b][:]) })

	args := []any{unixNano(now), unixNano(since), unixNano(expires)}
	var values strings.Builder
	for n, i := range order {
		held := 0
		if holds[i] <= 1 {
			held = 1
		}
		if n > 0 {
			values.WriteString(", ")
		}
		args = append(args, keys[i][:], holds[i], held)
		p := len(args)
		fmt.Fprintf(&values, "($%d, 1, $1, 0, 0, $%d, $%d, NULL, $3)", p-2, p-1, p)
	}
	const restart = "t.expires <= $1 OR t.last_charge < $2"
	q := "INSERT INTO authkit_throttle AS t" +
		" (key, attempts, last_charge, prev_charge, last_success, hold, held, memo, expires) VALUES " + values.String() +
		" ON CONFLICT (key) DO UPDATE SET" +
		" attempts = CASE WHEN " + restart + " THEN 1 ELSE t.attempts + 1 END," +
		" prev_charge = CASE WHEN t.expires <= $1 THEN 0 ELSE t.last_charge END," +
		" last_charge = $1," +
		" last_success = CASE WHEN t.expires <= $1 THEN 0 ELSE t.last_success END," +
		" hold = excluded.hold," +
		" held = CASE WHEN t.expires > $1 AND t.held = 1 THEN 1" +
		" WHEN (CASE WHEN " + restart + " THEN 1 ELSE t.attempts + 1 END) >= excluded.hold THEN 1 ELSE 0 END," +
		" memo = CASE WHEN t.expires <= $1 THEN NULL ELSE t.memo END," +
		" expires = CASE WHEN t.expires <= $1 OR t.expires < excluded.expires THEN excluded.expires ELSE t.expires END" +
		" RETURNING key, attempts, prev_charge, last_success"
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return s.fail(ctx, "charge throttle", err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var key []byte
		var count, prev, success int64
		if err := rows.Scan(&key, &count, &prev, &success); err != nil {
			return s.fail(ctx, "charge throttle", err)
		}
		if i := keyIndex(keys, key); i >= 0 {
			f(i, count, fromUnixNano(prev), fromUnixNano(success))
			seen++
		}
	}
	if err := rows.Err(); err != nil {
		return s.fail(ctx, "charge throttle", err)
	}
	rows.Close()
	if seen != len(keys) {
		return fmt.Errorf("sqlstore: charge throttle: %d rows returned for %d keys", seen, len(keys))
	}
	// A failed prune or cap leaves the rows for the next one: the charge
	// has counted.
	if rand.N(throttlePruneEvery) == 0 {
		s.pruneThrottle(ctx, now, throttlePruneRows)
	}
	if rand.N(throttleCapEvery) == 0 {
		s.capThrottle(ctx, throttleMaxRows)
	}
	return nil
}

// RefundThrottle takes one attempt off the count of each throttle record
// of keys that has not expired at now and counts more than zero; see
// oauth2pw.ThrottleStore.
func (s *Store) RefundThrottle(ctx context.Context, now time.Time, keys [][32]byte) error {
	if len(keys) == 0 {
		return nil
	}
	sorted := slices.Clone(keys)
	slices.SortFunc(sorted, func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	args := []any{unixNano(now)}
	q := "UPDATE authkit_throttle SET attempts = attempts - 1 WHERE expires > $1 AND attempts > 0 AND key IN (" +
		keyParams(&args, sorted) + ")"
	if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
		return s.fail(ctx, "refund throttle", err)
	}
	return nil
}

// ThrottleSuccess records a success at now on the throttle record of key,
// in one upsert: its count goes to zero, its memo is cleared and it is
// held; see oauth2pw.ThrottleStore.
func (s *Store) ThrottleSuccess(ctx context.Context, now, expires time.Time, key [32]byte) error {
	const q = "INSERT INTO authkit_throttle AS t" +
		" (key, attempts, last_charge, prev_charge, last_success, hold, held, memo, expires)" +
		" VALUES ($3, 0, 0, 0, $1, 0, 1, NULL, $2)" +
		" ON CONFLICT (key) DO UPDATE SET attempts = 0, last_success = $1, held = 1, memo = NULL," +
		" last_charge = CASE WHEN t.expires <= $1 THEN 0 ELSE t.last_charge END," +
		" prev_charge = CASE WHEN t.expires <= $1 THEN 0 ELSE t.prev_charge END," +
		" expires = CASE WHEN t.expires <= $1 OR t.expires < excluded.expires THEN excluded.expires ELSE t.expires END"
	if _, err := s.db.ExecContext(ctx, q, unixNano(now), unixNano(expires), key[:]); err != nil {
		return s.fail(ctx, "throttle success", err)
	}
	return nil
}

// SwapThrottleMemo replaces the memo of the throttle record of key with
// memo if the record has not expired at now and its memo is old (nil and
// empty are alike, kept as NULL); see oauth2pw.ThrottleStore. It reports
// whether it did.
func (s *Store) SwapThrottleMemo(ctx context.Context, now time.Time, key [32]byte, old, memo []byte) (bool, error) {
	const q = "UPDATE authkit_throttle SET memo = $3 WHERE key = $2 AND expires > $1 AND memo IS NOT DISTINCT FROM $4"
	res, err := s.db.ExecContext(ctx, q, unixNano(now), key[:], nullBytes(memo), nullBytes(old))
	if err != nil {
		return false, s.fail(ctx, "swap throttle memo", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.fail(ctx, "swap throttle memo", err)
	}
	return n == 1, nil
}

// pruneThrottle deletes up to limit throttle rows that expired at now,
// the longest expired first. On PostgreSQL it skips rows that other
// transactions hold locked.
func (s *Store) pruneThrottle(ctx context.Context, now time.Time, limit int) error {
	skip := ""
	if s.dialect == Postgres {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	q := "DELETE FROM authkit_throttle WHERE key IN (SELECT key FROM authkit_throttle WHERE expires <= $1" +
		" ORDER BY expires LIMIT $2" + skip + ")"
	if _, err := s.db.ExecContext(ctx, q, unixNano(now), limit); err != nil {
		return s.fail(ctx, "prune throttle", err)
	}
	return nil
}

// capThrottle counts the throttle rows and, if there are more than
// maxRows, deletes the excess and a sixty-fourth of maxRows more, so that the count
// need not run again at once: first the rows that are not held, then the
// held ones, each soonest to expire first.
func (s *Store) capThrottle(ctx context.Context, maxRows int64) error {
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM authkit_throttle").Scan(&n); err != nil {
		return s.fail(ctx, "cap throttle", err)
	}
	if n <= maxRows {
		return nil
	}
	q := "DELETE FROM authkit_throttle WHERE key IN (SELECT key FROM authkit_throttle ORDER BY held, expires LIMIT $1)"
	if _, err := s.db.ExecContext(ctx, q, n-maxRows+maxRows/64); err != nil {
		return s.fail(ctx, "cap throttle", err)
	}
	return nil
}

// keyParams appends keys to args and returns their placeholders, separated
// by commas.
func keyParams(args *[]any, keys [][32]byte) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		*args = append(*args, k[:])
		b.WriteString("$" + strconv.Itoa(len(*args)))
	}
	return b.String()
}

// keyIndex returns the index of key in keys, -1 if it is not there.
func keyIndex(keys [][32]byte, key []byte) int {
	if len(key) != throttleKeyBytes {
		return -1
	}
	for i := range keys {
		if bytes.Equal(keys[i][:], key) {
			return i
		}
	}
	return -1
}

// unixNano returns t in Unix nanoseconds, 0 for the zero Time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnixNano returns the Time of ns Unix nanoseconds in UTC, the zero
// Time for 0.
func fromUnixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// nullBytes returns b, or an untyped nil (NULL) if b is empty.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
