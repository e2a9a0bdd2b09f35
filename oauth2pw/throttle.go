package oauth2pw

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"time"
)

// ThrottleKey names the source of an attempt: a login (Username set) or a
// client authentication (ClientID set, Username empty).
type ThrottleKey struct {
	// Username is the username as normalised by
	// [userstore.NormalizeUsername], or as sent if it cannot be
	// normalised. Empty for client-authentication attempts.
	Username string
	// ClientID is the client_id a client-authentication attempt presented
	// (known or not). Empty for login attempts.
	ClientID string
	// IP is the client's address (see [Config.TrustedProxies]), or the
	// zero Addr if the connection has none.
	IP netip.Addr
	// Secret is a keyed digest of the password or client secret the
	// attempt presented (a per-Handler random HMAC-SHA256 key, truncated
	// to 16 bytes; never the secret itself). A limiter may count a failure
	// whose Secret equals a recent failure's of the same (Username or
	// ClientID, IP) pair once. The zero value means none.
	Secret [16]byte
}

// Limiter decides when attempts must wait: the defence against password
// guessing, credential stuffing and client-secret guessing.
//
// The endpoint calls Allow before it checks a password or a client secret
// (for a login, after it has validated the request). If Allow admits the
// attempt, the endpoint later calls exactly one of Failure or Success for
// it; an attempt that fails for a server error counts as a Failure.
// Implementations must be safe for concurrent use and should fail closed.
type Limiter interface {
	// Allow reports whether the attempt may go ahead now. If not, it
	// returns how long the client should wait (the Retry-After header).
	Allow(ctx context.Context, k ThrottleKey) (retryAfter time.Duration, ok bool)
	// Failure records a failed attempt that Allow admitted.
	Failure(ctx context.Context, k ThrottleKey)
	// Success records a successful attempt that Allow admitted.
	Success(ctx context.Context, k ThrottleKey)
}

// ThrottlePolicy tunes the [Limiter] that [NewHandler] uses when
// [Config.Limiter] is nil: the in-memory one, or the one on
// [Config.ThrottleStore], which follows the same rules with records that
// several Handlers share. Every zero field means its default.
//
// The limiter counts failed logins per (username, address) pair, per address
// and per username. Once a count reaches its limit, each further attempt
// must wait BaseDelay after the last one, doubling with every further
// failure up to MaxDelay: growing delays, never a lockout. A correct
// password sent while a delay runs is refused like any other attempt. IPv6
// addresses count by /64, the block a single host or attacker usually holds.
//
// Client authentication is counted the same way and apart from logins:
// per (client_id, address) pair under PairLimit, per client_id under
// UserLimit, and per address under AddressLimit, in counts of their own,
// so that failed client secrets neither use up nor draw on the allowance
// of failed passwords. Everything said below of usernames holds for
// client ids.
//
// A (username, address) pair that logged in successfully within
// KnownWindow is known: neither the username's failures across all
// addresses (its stuffing ceiling) nor the address's failures across all
// usernames delay it, only its own pair limit does. An attacker spreading
// guesses over many addresses, or spraying usernames from an address the
// real user shares (a NAT), therefore cannot keep the real user out of an
// address they have logged in from. A user at an address they have not
// logged in from within KnownWindow can still be delayed by such an attack,
// and the pair limit delays the real user at an address from which an
// attacker guesses their username.
//
// A failure that presents the same secret as one of the last four failures
// of its pair, within RepeatWindow of it, counts once: a typo sent again,
// or a client that retries a failed request, does not use up the limit.
// Only keyed digests of secrets are kept (see [ThrottleKey.Secret]).
//
// Attempts are counted when they are admitted and refunded on success or
// repeat, so that a burst of concurrent guesses cannot overrun a limit.
// Memory is bounded by MaxEntries, and records that delay attempts
// survive a flood of new ones; see MaxEntries. No goroutine runs in the
// background; expired records are dropped as new attempts arrive.
type ThrottlePolicy struct {
	// PairLimit is the number of failures a username may have from one
	// address before its attempts from there are delayed. Zero means 5.
	PairLimit int
	// UserLimit is the number of failures a username may have from all
	// addresses together before its attempts, other than those of known
	// pairs, are delayed. Zero means 20.
	UserLimit int
	// AddressLimit is the number of failures an address may have for all
	// usernames together before its attempts, other than those of known
	// pairs, are delayed. Zero means 50.
	AddressLimit int
	// BaseDelay is the first delay past a limit. Zero means 1 second.
	BaseDelay time.Duration
	// MaxDelay caps the delay. Zero means 5 minutes.
	MaxDelay time.Duration
	// Window is how long a record lives after its last use; failures
	// older than that are forgotten. Zero means 1 hour.
	Window time.Duration
	// KnownWindow is how long a successful login from an address keeps
	// its (username, address) pair known, exempt from the username
	// ceiling and the address limit, so that a user who comes back to an
	// address they use gets in during a distributed attack on their
	// account. Zero means 30 days.
	KnownWindow time.Duration
	// RepeatWindow is how long a failed secret is remembered for its
	// pair: the same secret failing again within RepeatWindow of the
	// first failure counts once. Zero means 5 minutes.
	RepeatWindow time.Duration
	// MaxEntries caps the number of records (pairs, usernames, client ids
	// and addresses together), at most 500 bytes each once a flood has
	// churned the table: 96 bytes for a record (192 for a pair, which
	// remembers failed secrets) and up to some 300 for its share of a Go
	// map that has seen many deletions. Zero means 100,000 (at most
	// 50 MB).
	//
	// The records are kept in three budgets. Records at or over their
	// limit, which delay attempts, may take a quarter of MaxEntries;
	// known pairs another quarter; records under their limit take the
	// rest, and any room the other two leave, and are the first to go
	// when the limiter is full. A flood of
	// attempts from new usernames and addresses therefore cannot push
	// out a record that delays attempts or a known pair. When the
	// quarter of records over their limit is full, the one least over
	// its limit among the least recently used goes; when the quarter of
	// known pairs is full, the one with the oldest login goes. Pushing a
	// delaying record out thus takes a quarter of MaxEntries new records
	// over their limit, each costing as many failures as its limit.
	MaxEntries int
}

func (p ThrottlePolicy) withDefaults() ThrottlePolicy {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&p.PairLimit, 5)
	def(&p.UserLimit, 20)
	def(&p.AddressLimit, 50)
	def(&p.MaxEntries, 100_000)
	defd(&p.BaseDelay, time.Second)
	defd(&p.MaxDelay, 5*time.Minute)
	defd(&p.Window, time.Hour)
	defd(&p.KnownWindow, 30*24*time.Hour)
	defd(&p.RepeatWindow, 5*time.Minute)
	return p
}

func (p ThrottlePolicy) validate() error {
	p = p.withDefaults()
	var errs []error
	if p.PairLimit < 0 || p.UserLimit < 0 || p.AddressLimit < 0 {
		errs = append(errs, errors.New("negative limit"))
	}
	if p.BaseDelay < 0 || p.MaxDelay < p.BaseDelay || p.Window < 0 || p.KnownWindow < 0 || p.RepeatWindow < 0 {
		errs = append(errs, errors.New("durations must satisfy 0 < BaseDelay <= MaxDelay, and Window, KnownWindow and RepeatWindow > 0"))
	}
	if p.MaxEntries < 3 {
		errs = append(errs, fmt.Errorf("MaxEntries %d below 3", p.MaxEntries))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("Throttle: %w", err)
	}
	return nil
}

// throttleKind is what a record counts. A kind modulo 3 names its limit:
// kindPair and kindClientPair are pairs, kindUser and kindClient names,
// kindAddr and kindClientAddr addresses.
type throttleKind uint8

const (
	kindPair       throttleKind = iota // (username, address)
	kindUser                           // username
	kindAddr                           // address, for logins
	kindClientPair                     // (client_id, address)
	kindClient                         // client_id
	kindClientAddr                     // address, for client authentication
)

// throttleMapKey is fixed-size and holds no pointer: usernames and client
// ids are kept as a truncated SHA-256 digest, addresses as 16 bytes and
// their family (0 for none, 4 or 6).
type throttleMapKey struct {
	kind   throttleKind
	family uint8
	name   [16]byte
	ip     [16]byte
}

// throttleBudget is one of the limiter's budgets of records.
type throttleBudget uint8

const (
	budgetUnder throttleBudget = iota // under their limit: evicted first
	budgetOver                        // at or over their limit, not known
	budgetKnown                       // known pairs
	budgetGone                        // removed from the limiter
)

// repeatSlots is the number of failed secrets remembered per pair.
const repeatSlots = 4

type failedSecret struct {
	digest [16]byte
	at     int64 // unix nanoseconds of the failure
}

type throttleEntry struct {
	key        throttleMapKey
	budget     throttleBudget
	nextFailed uint8                      // pairs: the slot of failed for the next secret
	count      int32                      // attempts charged and not refunded
	prev, next *throttleEntry             // in the budget's list
	last       int64                      // unix nanoseconds of the last charged attempt
	touched    int64                      // unix nanoseconds of the last use
	success    int64                      // pairs: unix nanoseconds of the last success
	failed     *[repeatSlots]failedSecret // pairs: the last failures' secrets
}

// pairEntry is the allocation behind a pair's entry: only pairs remember
// failed secrets.
type pairEntry struct {
	throttleEntry
	slots [repeatSlots]failedSecret
}

// throttleList is a budget's records, most recently used first; for
// budgetKnown, most recent success first.
type throttleList struct {
	head, tail *throttleEntry
	n          int
}

// memoryLimiter is the in-memory [Limiter] described on [ThrottlePolicy].
type memoryLimiter struct {
	p    ThrottlePolicy
	now  func() time.Time
	caps [3]int // per budget; budgetUnder's is MaxEntries, shared

	mu      sync.Mutex
	entries map[throttleMapKey]*throttleEntry
	lists   [3]throttleList
}

var _ Limiter = (*memoryLimiter)(nil)

func newMemoryLimiter(p ThrottlePolicy, now func() time.Time) *memoryLimiter {
	p = p.withDefaults()
	quarter := max(1, p.MaxEntries/4)
	return &memoryLimiter{
		p:       p,
		now:     now,
		caps:    [3]int{p.MaxEntries, quarter, quarter},
		entries: make(map[throttleMapKey]*throttleEntry),
	}
}

// throttleKeys returns the pair, username (or client id) and address keys
// of k.
func throttleKeys(k ThrottleKey) (pair, name, addr throttleMapKey) {
	kind, s := kindPair, k.Username
	if k.Username == "" && k.ClientID != "" {
		kind, s = kindClientPair, k.ClientID
	}
	sum := sha256.Sum256([]byte(s))
	addr.kind = kind + 2
	switch ip := k.IP.Unmap(); {
	case ip.Is4():
		addr.family, addr.ip = 4, ip.As16()
	case ip.Is6():
		addr.family, addr.ip = 6, netip.PrefixFrom(ip, 64).Masked().Addr().As16()
	}
	name.kind = kind + 1
	copy(name.name[:], sum[:])
	pair = addr
	pair.kind, pair.name = kind, name.name
	return pair, name, addr
}

// limit returns the limit of records of kind.
func (p ThrottlePolicy) limit(kind throttleKind) int {
	switch kind % 3 {
	case kindPair:
		return p.PairLimit
	case kindUser:
		return p.UserLimit
	default:
		return p.AddressLimit
	}
}

// delay returns the delay after the n-th attempt past a limit (n >= 1).
func (p ThrottlePolicy) delay(n int) time.Duration {
	if n > 40 {
		return p.MaxDelay
	}
	d := p.BaseDelay << (n - 1)
	if d <= 0 || d > p.MaxDelay {
		return p.MaxDelay
	}
	return d
}

// wait returns how long an attempt must wait at now (unix nanoseconds) on
// a record of kind holding count attempts, the last charged at last; 0 if
// it need not.
func (p ThrottlePolicy) wait(kind throttleKind, count, last, now int64) time.Duration {
	limit := int64(p.limit(kind))
	if count < limit || now-last > int64(p.Window) {
		return 0
	}
	until := last + int64(p.delay(int(min(count-limit+1, math.MaxInt32))))
	if now >= until {
		return 0
	}
	return time.Duration(until - now)
}

// known reports whether a pair whose last success was at success (unix
// nanoseconds, 0 for none) is known at now: its attempts escape the
// username's ceiling and the address limit.
func (p ThrottlePolicy) known(success, now int64) bool {
	return success != 0 && now-success <= int64(p.KnownWindow)
}

// repeats reports whether digest is among the failed secrets of slots
// within RepeatWindow of now.
func (p ThrottlePolicy) repeats(slots *[repeatSlots]failedSecret, digest [16]byte, now int64) bool {
	for _, f := range slots {
		if f.digest == digest && now-f.at <= int64(p.RepeatWindow) {
			return true
		}
	}
	return false
}

// limit returns the limit of records of kind.
func (l *memoryLimiter) limit(kind throttleKind) int { return l.p.limit(kind) }

// wait returns how long e must wait at now, 0 if it need not.
func (l *memoryLimiter) wait(e *throttleEntry, now int64) time.Duration {
	if e == nil {
		return 0
	}
	return l.p.wait(e.key.kind, int64(e.count), e.last, now)
}

// Allow implements [Limiter]. An admitted attempt is charged at once.
func (l *memoryLimiter) Allow(_ context.Context, k ThrottleKey) (time.Duration, bool) {
	pk, nk, ak := throttleKeys(k)
	now := l.now().UnixNano()

	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)

	pair, name, addr := l.entries[pk], l.entries[nk], l.entries[ak]
	known := l.known(pair, now)
	w := l.wait(pair, now)
	if !known {
		w = max(w, l.wait(name, now), l.wait(addr, now))
	}
	if w > 0 {
		return w, false
	}
	l.charge(pair, pk, now)
	if !known {
		l.charge(name, nk, now)
	}
	l.charge(addr, ak, now)
	return 0, true
}

// known reports whether e is a pair that logged in successfully within
// KnownWindow: its attempts escape the username's ceiling and the address
// limit.
func (l *memoryLimiter) known(e *throttleEntry, now int64) bool {
	return e != nil && l.p.known(e.success, now)
}

// charge counts an attempt against e, the entry for key, creating it if
// there is none or if inserting another has removed it.
func (l *memoryLimiter) charge(e *throttleEntry, key throttleMapKey, now int64) {
	if e == nil || e.budget == budgetGone {
		e = l.insert(key)
	}
	if now-e.last > int64(l.p.Window) {
		e.count = 0
	}
	if e.count < math.MaxInt32 {
		e.count++
	}
	e.last = now
	e.touched = now
	l.place(e, now, true)
}

// refund takes back an attempt charged against the entry for key.
func (l *memoryLimiter) refund(key throttleMapKey, now int64) {
	if e := l.entries[key]; e != nil && e.count > 0 {
		e.count--
		l.place(e, now, false)
	}
}

// Failure implements [Limiter]. Allow charged the attempt; Failure
// refunds it if its secret repeats a recent failure of the pair.
func (l *memoryLimiter) Failure(_ context.Context, k ThrottleKey) {
	if k.Secret == ([16]byte{}) {
		return
	}
	pk, nk, ak := throttleKeys(k)
	now := l.now().UnixNano()

	l.mu.Lock()
	defer l.mu.Unlock()
	pair := l.entries[pk]
	if pair == nil {
		return
	}
	if l.p.repeats(pair.failed, k.Secret, now) {
		// Allow charged the username only if the pair was not known.
		if !l.known(pair, now) {
			l.refund(nk, now)
		}
		l.refund(ak, now)
		l.refund(pk, now)
		return
	}
	pair.failed[pair.nextFailed] = failedSecret{digest: k.Secret, at: now}
	pair.nextFailed = (pair.nextFailed + 1) % repeatSlots
}

// Success implements [Limiter]: it clears the pair's failures, marks the
// pair as known, and refunds the attempt to the username and address.
func (l *memoryLimiter) Success(_ context.Context, k ThrottleKey) {
	pk, nk, ak := throttleKeys(k)
	now := l.now().UnixNano()

	l.mu.Lock()
	defer l.mu.Unlock()
	pair := l.entries[pk]
	// Allow charged the username only if the pair was not known.
	if !l.known(pair, now) {
		l.refund(nk, now)
	}
	l.refund(ak, now)
	if pair == nil {
		pair = l.insert(pk)
	}
	pair.count, pair.success, pair.touched = 0, now, now
	*pair.failed, pair.nextFailed = [repeatSlots]failedSecret{}, 0
	l.unlink(pair)
	l.link(pair, budgetKnown)
}

// sweep drops a few expired records from the least recently used end of
// each budget. A known pair outlives Window: it leaves its budget when
// KnownWindow has passed since its last success.
func (l *memoryLimiter) sweep(now int64) {
	for _, b := range [...]throttleBudget{budgetUnder, budgetOver} {
		for range 8 {
			e := l.lists[b].tail
			if e == nil || now-e.touched <= int64(l.p.Window) {
				break
			}
			l.remove(e)
		}
	}
	for range 8 {
		e := l.lists[budgetKnown].tail
		if e == nil || l.known(e, now) {
			break
		}
		if now-e.touched > int64(l.p.Window) {
			l.remove(e)
			continue
		}
		l.place(e, now, true)
	}
}

// class returns the budget e belongs in at now.
func (l *memoryLimiter) class(e *throttleEntry, now int64) throttleBudget {
	switch {
	case l.known(e, now):
		return budgetKnown
	case int(e.count) >= l.limit(e.key.kind) && now-e.last <= int64(l.p.Window):
		return budgetOver
	default:
		return budgetUnder
	}
}

// place moves e into the budget it belongs in, at the front; if e stays
// in its budget, it moves to the front only when touched (a known pair
// moves only on success).
func (l *memoryLimiter) place(e *throttleEntry, now int64, touched bool) {
	b := l.class(e, now)
	if b == e.budget && (!touched || b == budgetKnown) {
		return
	}
	l.unlink(e)
	l.link(e, b)
}

// insert adds a new entry for key to budgetUnder, evicting records under
// their limit first if the limiter is full.
func (l *memoryLimiter) insert(key throttleMapKey) *throttleEntry {
	for len(l.entries) >= l.p.MaxEntries {
		// The other budgets hold at most half of MaxEntries, so
		// budgetUnder is not empty here.
		for _, list := range l.lists {
			if list.tail != nil {
				l.remove(list.tail)
				break
			}
		}
	}
	var e *throttleEntry
	if key.kind%3 == kindPair {
		p := &pairEntry{throttleEntry: throttleEntry{key: key}}
		p.failed = &p.slots
		e = &p.throttleEntry
	} else {
		e = &throttleEntry{key: key}
	}
	l.entries[key] = e
	l.pushFront(e, budgetUnder)
	return e
}

// link puts the unlinked e at the front of budget b, making room in b if
// it is full.
func (l *memoryLimiter) link(e *throttleEntry, b throttleBudget) {
	if b != budgetUnder && l.lists[b].n >= l.caps[b] {
		l.remove(l.evictee(b))
	}
	l.pushFront(e, b)
}

// evictee returns the record to drop from the full budget b: the oldest
// known pair, or, among the few least recently used records over their
// limit, the one least over it.
func (l *memoryLimiter) evictee(b throttleBudget) *throttleEntry {
	victim := l.lists[b].tail
	if b != budgetOver {
		return victim
	}
	least := int(victim.count) - l.limit(victim.key.kind)
	e := victim.prev
	for range 3 {
		if e == nil {
			break
		}
		if over := int(e.count) - l.limit(e.key.kind); over < least {
			victim, least = e, over
		}
		e = e.prev
	}
	return victim
}

func (l *memoryLimiter) remove(e *throttleEntry) {
	l.unlink(e)
	e.budget = budgetGone
	delete(l.entries, e.key)
}

func (l *memoryLimiter) pushFront(e *throttleEntry, b throttleBudget) {
	list := &l.lists[b]
	e.budget = b
	e.prev, e.next = nil, list.head
	if list.head != nil {
		list.head.prev = e
	}
	list.head = e
	if list.tail == nil {
		list.tail = e
	}
	list.n++
}

func (l *memoryLimiter) unlink(e *throttleEntry) {
	list := &l.lists[e.budget]
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		list.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		list.tail = e.prev
	}
	e.prev, e.next = nil, nil
	list.n--
}

// len returns the number of records kept.
func (l *memoryLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}
