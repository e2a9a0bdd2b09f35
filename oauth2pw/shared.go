package oauth2pw

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"log/slog"
	"time"
)

// ThrottleStore keeps the records of a limiter that several Handlers
// share, in one process or in many, so that failures counted by any of
// them delay attempts on all of them. Set it as [Config.ThrottleStore];
// *sqlstore.Store (package userstore/sqlstore) implements it.
//
// A record is named by an opaque 32-byte key and holds a count of
// attempts, the time of its last charge and of the charge before that,
// the time of its last success, a hold threshold and a held mark, a memo
// of at most 96 bytes, and an expiry. A record whose expiry is not after
// now is the same as none: reads do not see it, and a write starts it
// afresh. A zero time.Time means none. The store keeps times to the
// nanosecond and compares them exactly.
//
// Each method is one atomic step on the records it names, with respect to
// every other call on the same records from any process: concurrent
// charges never lose a count. Implementations must be safe for concurrent
// use. The store may drop expired records at any time and, when it is
// full, records that are not held before those that are.
type ThrottleStore interface {
	// ThrottleRecords reads the records of keys as they stand at now and
	// calls f once for each key (by its index in keys) that has one. The
	// memo is valid only during the call.
	ThrottleRecords(ctx context.Context, now time.Time, keys [][32]byte,
		f func(i int, count int64, lastCharge, lastSuccess time.Time, memo []byte)) error
	// ChargeThrottle counts one attempt at now against the record of each
	// of keys (distinct), creating the records it lacks. A record whose
	// last charge is before since counts from zero again. The charge sets
	// the last charge to now and the expiry to expires if that is later;
	// a record becomes held, until it expires, once its count reaches
	// holds[i]. ChargeThrottle calls f once for each key with the count
	// after the charge, the previous last charge (zero for a new record)
	// and the last success.
	ChargeThrottle(ctx context.Context, now, since, expires time.Time, keys [][32]byte, holds []int64,
		f func(i int, count int64, prevCharge, lastSuccess time.Time)) error
	// RefundThrottle takes one attempt off the count of each record of
	// keys that has a count above zero at now. It changes nothing else.
	RefundThrottle(ctx context.Context, now time.Time, keys [][32]byte) error
	// ThrottleSuccess records a success at now on the record of key,
	// creating it if need be: its count goes to zero, its memo is
	// cleared, its last success is now, it is held, and its expiry
	// becomes expires if that is later.
	ThrottleSuccess(ctx context.Context, now, expires time.Time, key [32]byte) error
	// SwapThrottleMemo replaces the memo of the record of key with memo if
	// the record exists at now and its memo is old (nil and empty are
	// alike). It reports whether it did.
	SwapThrottleMemo(ctx context.Context, now time.Time, key [32]byte, old, memo []byte) (bool, error)
}

// sharedLimiter is the [Limiter] on a [ThrottleStore]: the semantics of
// [ThrottlePolicy], with records that every Handler on the store shares.
//
// Allow reads the three records first and refuses without writing if one
// of them delays the attempt, so that attempts refused during a delay do
// not move it. An attempt the records admit is then charged atomically,
// and its wait checked again against each record's state just before the
// charge: of concurrent attempts, only those the limit admits go ahead,
// and the others are refunded.
type sharedLimiter struct {
	p   ThrottlePolicy
	s   ThrottleStore
	now func() time.Time
	log *slog.Logger
}

var _ Limiter = (*sharedLimiter)(nil)

func newSharedLimiter(p ThrottlePolicy, s ThrottleStore, now func() time.Time, log *slog.Logger) *sharedLimiter {
	return &sharedLimiter{p: p.withDefaults(), s: s, now: now, log: log}
}

// swapTries bounds the attempts to record a failed secret in a pair's
// memo that concurrent failures keep changing; past it, the secret is not
// remembered and a repeat of it counts again.
const swapTries = 3

// storeKey returns the store's key for the record k names.
func storeKey(k throttleMapKey) [32]byte {
	var b [35]byte
	b[0], b[1], b[2] = 1, byte(k.kind), k.family
	copy(b[3:], k.name[:])
	copy(b[19:], k.ip[:])
	return sha256.Sum256(b[:])
}

// sharedKeys returns the pair, name and address records of k: their kinds
// and their store keys.
func sharedKeys(k ThrottleKey) ([3]throttleKind, [3][32]byte) {
	pk, nk, ak := throttleKeys(k)
	return [3]throttleKind{pk.kind, nk.kind, ak.kind}, [3][32]byte{storeKey(pk), storeKey(nk), storeKey(ak)}
}

// nanos returns t in unix nanoseconds, 0 for the zero Time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// sharedRecord is what the limiter reads of a record.
type sharedRecord struct {
	ok            bool // the record exists
	count         int64
	last, success int64 // unix nanoseconds, 0 for none
	memo          [repeatSlots]failedSecret
	rawMemo       []byte
}

// read returns the records of keys.
func (l *sharedLimiter) read(ctx context.Context, now time.Time, keys [][32]byte) ([3]sharedRecord, error) {
	var recs [3]sharedRecord
	err := l.s.ThrottleRecords(ctx, now, keys, func(i int, count int64, last, success time.Time, memo []byte) {
		if i < 0 || i >= len(recs) {
			return
		}
		r := &recs[i]
		r.ok, r.count, r.last, r.success = true, count, nanos(last), nanos(success)
		r.rawMemo = append([]byte(nil), memo...)
		r.memo = decodeMemo(memo)
	})
	return recs, err
}

// Allow implements [Limiter]. It refuses an attempt it cannot check
// against the store, asking for a retry in a second.
func (l *sharedLimiter) Allow(ctx context.Context, k ThrottleKey) (time.Duration, bool) {
	wait, ok, err := l.allow(ctx, k)
	if err != nil {
		return time.Second, false
	}
	return wait, ok
}

// allow is Allow with the store's error, which the handler answers 503.
func (l *sharedLimiter) allow(ctx context.Context, k ThrottleKey) (time.Duration, bool, error) {
	kinds, keys := sharedKeys(k)
	now := l.now()
	n := now.UnixNano()
	recs, err := l.read(ctx, now, keys[:])
	if err != nil {
		return 0, false, err
	}
	known := l.p.known(recs[0].success, n)
	check := recs[:]
	if known {
		check = recs[:1]
	}
	var w time.Duration
	for i, r := range check {
		w = max(w, l.p.wait(kinds[i], r.count, r.last, n))
	}
	if w > 0 {
		return w, false, nil
	}

	charged := [][32]byte{keys[0], keys[1], keys[2]}
	chargedKinds := []throttleKind{kinds[0], kinds[1], kinds[2]}
	if known {
		charged = [][32]byte{keys[0], keys[2]}
		chargedKinds = []throttleKind{kinds[0], kinds[2]}
	}
	holds := make([]int64, len(charged))
	for i, kind := range chargedKinds {
		holds[i] = int64(l.p.limit(kind))
	}
	err = l.s.ChargeThrottle(ctx, now, now.Add(-l.p.Window), now.Add(l.p.Window), charged, holds,
		func(i int, count int64, prev, _ time.Time) {
			if i < 0 || i >= len(chargedKinds) || (known && i > 0) {
				return
			}
			w = max(w, l.p.wait(chargedKinds[i], count-1, nanos(prev), n))
		})
	if err != nil {
		return 0, false, err
	}
	if w > 0 {
		if err := l.s.RefundThrottle(ctx, now, charged); err != nil {
			return 0, false, err
		}
		return w, false, nil
	}
	return 0, true, nil
}

// allow asks h's limiter about an attempt, with the error of a
// [ThrottleStore] that could not answer.
func (h *Handler) allow(ctx context.Context, k ThrottleKey) (time.Duration, bool, error) {
	if s, ok := h.limiter.(*sharedLimiter); ok {
		return s.allow(ctx, k)
	}
	wait, ok := h.limiter.Allow(ctx, k)
	return wait, ok, nil
}

// Failure implements [Limiter]. Allow charged the attempt; Failure
// refunds it if its secret repeats a recent failure of the pair, and
// otherwise remembers the secret in the pair's memo. A store error is
// logged; the charge stands.
func (l *sharedLimiter) Failure(ctx context.Context, k ThrottleKey) {
	if k.Secret == ([16]byte{}) {
		return
	}
	if err := l.failure(ctx, k); err != nil {
		l.log.LogAttrs(ctx, slog.LevelError, "oauth2pw: throttle store failed", slog.Any("error", err))
	}
}

func (l *sharedLimiter) failure(ctx context.Context, k ThrottleKey) error {
	_, keys := sharedKeys(k)
	now := l.now()
	n := now.UnixNano()
	for range swapTries {
		recs, err := l.read(ctx, now, keys[:1])
		if err != nil {
			return err
		}
		pair := &recs[0]
		if !pair.ok {
			return nil // nothing to refund, nowhere to remember
		}
		if l.p.repeats(&pair.memo, k.Secret, n) {
			refund := [][32]byte{keys[0], keys[2]}
			// Allow charged the username only if the pair was not known.
			if !l.p.known(pair.success, n) {
				refund = append(refund, keys[1])
			}
			return l.s.RefundThrottle(ctx, now, refund)
		}
		slots := pair.memo
		copy(slots[1:], pair.memo[:repeatSlots-1])
		slots[0] = failedSecret{digest: k.Secret, at: n}
		ok, err := l.s.SwapThrottleMemo(ctx, now, keys[0], pair.rawMemo, encodeMemo(&slots))
		if err != nil || ok {
			return err
		}
	}
	return nil
}

// Success implements [Limiter]: it clears the pair's failures and memo,
// marks the pair as known, and refunds the attempt to the username and
// address. A store error is logged.
func (l *sharedLimiter) Success(ctx context.Context, k ThrottleKey) {
	if err := l.success(ctx, k); err != nil {
		l.log.LogAttrs(ctx, slog.LevelError, "oauth2pw: throttle store failed", slog.Any("error", err))
	}
}

func (l *sharedLimiter) success(ctx context.Context, k ThrottleKey) error {
	_, keys := sharedKeys(k)
	now := l.now()
	recs, err := l.read(ctx, now, keys[:1])
	if err != nil {
		return err
	}
	refund := [][32]byte{keys[2]}
	// Allow charged the username only if the pair was not known.
	if !l.p.known(recs[0].success, now.UnixNano()) {
		refund = append(refund, keys[1])
	}
	return errors.Join(
		l.s.RefundThrottle(ctx, now, refund),
		l.s.ThrottleSuccess(ctx, now, now.Add(max(l.p.Window, l.p.KnownWindow)), keys[0]),
	)
}

// memoSlotBytes is the size of one failed secret in a memo: the digest
// and the time of the failure.
const memoSlotBytes = 16 + 8

// encodeMemo returns the memo of slots: the used slots, most recent
// first, each the digest and the big-endian unix nanoseconds.
func encodeMemo(slots *[repeatSlots]failedSecret) []byte {
	b := make([]byte, 0, repeatSlots*memoSlotBytes)
	for _, f := range slots {
		if f.at == 0 {
			break
		}
		b = append(b, f.digest[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(f.at))
	}
	return b
}

// decodeMemo returns the failed secrets of memo. Bytes that do not make
// a whole slot are ignored.
func decodeMemo(memo []byte) (slots [repeatSlots]failedSecret) {
	for i := range slots {
		if len(memo) < memoSlotBytes {
			break
		}
		copy(slots[i].digest[:], memo[:16])
		slots[i].at = int64(binary.BigEndian.Uint64(memo[16:memoSlotBytes]))
		memo = memo[memoSlotBytes:]
	}
	return slots
}
