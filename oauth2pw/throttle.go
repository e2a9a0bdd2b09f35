package oauth2pw

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// ThrottleKey names the source of a login attempt.
type ThrottleKey struct {
	// Username is the username as normalised by
	// [userstore.NormalizeUsername], or as sent if it cannot be
	// normalised.
	Username string
	// IP is the client's address (see [Config.TrustedProxies]), or the
	// zero Addr if the connection has none.
	IP netip.Addr
}

// Limiter decides when login attempts must wait: the defence against
// password guessing and credential stuffing.
//
// The endpoint calls Allow after it has validated the request and before it
// hashes anything. If Allow admits the attempt, the endpoint later calls
// exactly one of Failure or Success for it; a login that fails for a server
// error counts as a Failure. Implementations must be safe for concurrent
// use and should fail closed.
type Limiter interface {
	// Allow reports whether the attempt may go ahead now. If not, it
	// returns how long the client should wait (the Retry-After header).
	Allow(ctx context.Context, k ThrottleKey) (retryAfter time.Duration, ok bool)
	// Failure records a failed login for an admitted attempt.
	Failure(ctx context.Context, k ThrottleKey)
	// Success records a successful login for an admitted attempt.
	Success(ctx context.Context, k ThrottleKey)
}

// ThrottlePolicy tunes the in-memory [Limiter] that [NewHandler] uses when
// [Config.Limiter] is nil. Every zero field means its default.
//
// The limiter counts failed logins per (username, address) pair, per address
// and per username. Once a count reaches its limit, each further attempt
// must wait BaseDelay after the last one, doubling with every further
// failure up to MaxDelay: growing delays, never a lockout. A correct
// password sent while a delay runs is refused like any other attempt. IPv6
// addresses count by /64, the block a single host or attacker usually holds.
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
// Attempts are counted when they are admitted and refunded on success, so
// that a burst of concurrent guesses cannot overrun a limit. Memory is
// bounded by MaxEntries: past it, the least recently used records are
// dropped, known pairs among them. No goroutine runs in the background;
// expired records are dropped as new attempts arrive.
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
	// MaxEntries caps the number of records (pairs, usernames and
	// addresses together), at about 300 bytes each. Zero means 100,000
	// (some 30 MB).
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
	return p
}

func (p ThrottlePolicy) validate() error {
	p = p.withDefaults()
	var errs []error
	if p.PairLimit < 0 || p.UserLimit < 0 || p.AddressLimit < 0 {
		errs = append(errs, errors.New("negative limit"))
	}
	if p.BaseDelay < 0 || p.MaxDelay < p.BaseDelay || p.Window < 0 || p.KnownWindow < 0 {
		errs = append(errs, errors.New("durations must satisfy 0 < BaseDelay <= MaxDelay, Window > 0 and KnownWindow > 0"))
	}
	if p.MaxEntries < 3 {
		errs = append(errs, fmt.Errorf("MaxEntries %d below 3", p.MaxEntries))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("Throttle: %w", err)
	}
	return nil
}

type throttleKind uint8

const (
	kindPair throttleKind = iota
	kindUser
	kindAddr
)

// throttleMapKey is fixed-size whatever the username's length: usernames
// are kept as a truncated SHA-256 digest.
type throttleMapKey struct {
	kind throttleKind
	user [16]byte
	ip   netip.Addr
}

type throttleEntry struct {
	key        throttleMapKey
	prev, next *throttleEntry // in least-recently-used order
	count      int            // attempts charged and not refunded
	last       int64          // unix nanoseconds of the last charged attempt
	touched    int64          // unix nanoseconds of the last use
	success    int64          // pairs: unix nanoseconds of the last success
}

// memoryLimiter is the in-memory [Limiter] described on [ThrottlePolicy].
type memoryLimiter struct {
	p   ThrottlePolicy
	now func() time.Time

	mu      sync.Mutex
	entries map[throttleMapKey]*throttleEntry
	head    *throttleEntry // most recently used
	tail    *throttleEntry // least recently used
}

var _ Limiter = (*memoryLimiter)(nil)

func newMemoryLimiter(p ThrottlePolicy, now func() time.Time) *memoryLimiter {
	return &memoryLimiter{
		p:       p.withDefaults(),
		now:     now,
		entries: make(map[throttleMapKey]*throttleEntry),
	}
}

// keys returns the pair, username and address keys of k.
func throttleKeys(k ThrottleKey) (pair, user, addr throttleMapKey) {
	sum := sha256.Sum256([]byte(k.Username))
	ip := k.IP
	if ip.Is6() {
		ip = netip.PrefixFrom(ip, 64).Masked().Addr()
	}
	pair = throttleMapKey{kind: kindPair, ip: ip}
	copy(pair.user[:], sum[:])
	user = throttleMapKey{kind: kindUser, user: pair.user}
	addr = throttleMapKey{kind: kindAddr, ip: ip}
	return pair, user, addr
}

// delay returns the delay after the n-th attempt past a limit (n >= 1).
func (l *memoryLimiter) delay(n int) time.Duration {
	if n > 40 {
		return l.p.MaxDelay
	}
	d := l.p.BaseDelay << (n - 1)
	if d <= 0 || d > l.p.MaxDelay {
		return l.p.MaxDelay
	}
	return d
}

// wait returns how long e must wait at now under limit, 0 if it need not.
func (l *memoryLimiter) wait(e *throttleEntry, limit int, now int64) time.Duration {
	if e == nil || e.count < limit || now-e.last > int64(l.p.Window) {
		return 0
	}
	until := e.last + int64(l.delay(e.count-limit+1))
	if now >= until {
		return 0
	}
	return time.Duration(until - now)
}

// Allow implements [Limiter]. An admitted attempt is charged at once.
func (l *memoryLimiter) Allow(_ context.Context, k ThrottleKey) (time.Duration, bool) {
	pk, uk, ak := throttleKeys(k)
	now := l.now().UnixNano()

	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)

	pair, user, addr := l.entries[pk], l.entries[uk], l.entries[ak]
	known := l.known(pair, now)
	w := l.wait(pair, l.p.PairLimit, now)
	if !known {
		w = max(w, l.wait(user, l.p.UserLimit, now), l.wait(addr, l.p.AddressLimit, now))
	}
	if w > 0 {
		return w, false
	}
	l.charge(pk, now)
	if !known {
		l.charge(uk, now)
	}
	l.charge(ak, now)
	return 0, true
}

// known reports whether the pair logged in successfully within
// KnownWindow: its attempts escape the username's ceiling and the address
// limit.
func (l *memoryLimiter) known(pair *throttleEntry, now int64) bool {
	return pair != nil && pair.success != 0 && now-pair.success <= int64(l.p.KnownWindow)
}

// charge counts an attempt against the entry for key, creating it if
// there is none. (It looks the entry up again: inserting another may have
// evicted it.)
func (l *memoryLimiter) charge(key throttleMapKey, now int64) {
	e := l.entries[key]
	if e == nil {
		e = l.insert(key)
	} else {
		l.unlink(e)
		l.pushFront(e)
	}
	if now-e.last > int64(l.p.Window) {
		e.count = 0
	}
	e.count++
	e.last = now
	e.touched = now
}

// Failure implements [Limiter]. The attempt was charged by Allow.
func (l *memoryLimiter) Failure(context.Context, ThrottleKey) {}

// Success implements [Limiter]: it clears the pair's failures, marks the
// pair as known, and refunds the attempt to the username and address.
func (l *memoryLimiter) Success(_ context.Context, k ThrottleKey) {
	pk, uk, ak := throttleKeys(k)
	now := l.now().UnixNano()

	l.mu.Lock()
	defer l.mu.Unlock()
	pair := l.entries[pk]
	// Allow charged the username only if the pair was not known.
	refund := [...]throttleMapKey{ak, uk}
	n := len(refund)
	if l.known(pair, now) {
		n = 1
	}
	if pair == nil {
		pair = l.insert(pk)
	} else {
		l.unlink(pair)
		l.pushFront(pair)
	}
	pair.count, pair.success, pair.touched = 0, now, now
	for _, key := range refund[:n] {
		if e := l.entries[key]; e != nil && e.count > 0 {
			e.count--
		}
	}
}

// sweep drops a few expired entries from the least recently used end. A
// known pair outlives Window: it goes back to the front instead, so that
// only the MaxEntries bound evicts it.
func (l *memoryLimiter) sweep(now int64) {
	for range 8 {
		e := l.tail
		if e == nil || now-e.touched <= int64(l.p.Window) {
			return
		}
		if l.known(e, now) {
			l.unlink(e)
			l.pushFront(e)
			continue
		}
		l.remove(e)
	}
}

// insert adds a new entry for key at the front, evicting the least
// recently used entry if the limiter is full.
func (l *memoryLimiter) insert(key throttleMapKey) *throttleEntry {
	for len(l.entries) >= l.p.MaxEntries && l.tail != nil {
		l.remove(l.tail)
	}
	e := &throttleEntry{key: key}
	l.entries[key] = e
	l.pushFront(e)
	return e
}

func (l *memoryLimiter) remove(e *throttleEntry) {
	l.unlink(e)
	delete(l.entries, e.key)
}

func (l *memoryLimiter) pushFront(e *throttleEntry) {
	e.prev, e.next = nil, l.head
	if l.head != nil {
		l.head.prev = e
	}
	l.head = e
	if l.tail == nil {
		l.tail = e
	}
}

func (l *memoryLimiter) unlink(e *throttleEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

// len returns the number of records kept.
func (l *memoryLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}
