package guard

import (
	"math"
	"strconv"
	"time"

	"golang.org/x/time/rate"
)

// FailureLimiter counts failed authentications per key (a client address or
// a tenant) and blocks a key that fails too often. Each key has a bucket of
// burst failures that refills at perMinute; a key is blocked while its
// bucket is empty. It is safe for concurrent use.
type FailureLimiter struct {
	limit rate.Limit
	burst int
	keys  *table // nil when disabled
}

// NewFailureLimiter allows burst failures per key, refilled at perMinute.
// perMinute <= 0 (or +Inf) disables the limiter: it never blocks and
// remembers nothing. burst < 1 is taken as 1.
func NewFailureLimiter(perMinute float64, burst int, opts ...Option) *FailureLimiter {
	if !(perMinute > 0) || math.IsInf(perMinute, 1) { // also catches NaN
		return &FailureLimiter{}
	}
	o := buildOptions(opts)
	return &FailureLimiter{
		limit: rate.Limit(perMinute / 60),
		burst: max(burst, 1),
		keys:  newTable(o.maxKeys),
	}
}

// Blocked reports whether key has no failure budget left, and if so how long
// until it has. It consumes nothing, so it can run before the credentials
// are checked.
func (l *FailureLimiter) Blocked(key string, now time.Time) (retryAfter time.Duration, blocked bool) {
	if l.keys == nil {
		return 0, false
	}
	s := l.keys.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	// get marks the key as seen: a blocked client that keeps knocking is the
	// last one to be forgotten.
	e := s.get(key)
	if e == nil {
		return 0, false
	}
	d := wait(e, now)
	return d, d > 0
}

// Reserve takes one failure from key's budget before a costly check of a
// credential (an argon2id password hash) runs, so that many concurrent
// wrong guesses cannot all pass a [FailureLimiter.Blocked] check made before
// any of them has failed. If the budget, less the reservations still in
// flight, has no failure left, Reserve reports how long until it has and
// reserves nothing. Otherwise the caller must end the reservation exactly
// once: [Reservation.Fail] if the check failed, [Reservation.Release] if it
// passed or never ran.
func (l *FailureLimiter) Reserve(key string, now time.Time) (r *Reservation, retryAfter time.Duration, ok bool) {
	if l.keys == nil {
		return &Reservation{}, 0, true
	}
	s := l.keys.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.get(key)
	if e == nil {
		e = s.add(newEntry(key, l.limit, l.burst, now), now)
	}
	if d := wait(e, now); d > 0 {
		return nil, d, false
	}
	e.pending++
	return &Reservation{shard: s, entry: e}, 0, true
}

// Reservation is one failure held back from a key's budget while a
// credential is checked. Its methods are safe to call on a nil Reservation
// and do nothing after the first call.
type Reservation struct {
	shard *shard
	entry *entry
}

// Fail ends the reservation as a failed authentication, which stays taken
// from the key's budget.
func (r *Reservation) Fail(now time.Time) {
	if r == nil || r.entry == nil {
		return
	}
	r.shard.mu.Lock()
	defer r.shard.mu.Unlock()
	r.entry.pending--
	r.entry.lim.AllowN(now, 1)
	r.entry.settle(now)
	r.entry = nil
}

// Release ends the reservation without a failure: the credential was valid,
// or it was never checked.
func (r *Reservation) Release() {
	if r == nil || r.entry == nil {
		return
	}
	r.shard.mu.Lock()
	defer r.shard.mu.Unlock()
	r.entry.pending--
	r.entry = nil
}

// Fail records one failed authentication for key and reports whether the
// key's budget is now exhausted, and if so how long until it is not.
func (l *FailureLimiter) Fail(key string, now time.Time) (retryAfter time.Duration, blocked bool) {
	if l.keys == nil {
		return 0, false
	}
	s := l.keys.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.get(key)
	if e == nil {
		e = s.add(newEntry(key, l.limit, l.burst, now), now)
	}
	// A failure while already blocked takes nothing: AllowN never goes into
	// debt, so a block lasts at most one refill interval however often the
	// client keeps trying.
	e.lim.AllowN(now, 1)
	e.settle(now)
	d := wait(e, now)
	return d, d > 0
}

// Len returns how many keys the limiter remembers.
func (l *FailureLimiter) Len() int {
	if l.keys == nil {
		return 0
	}
	return l.keys.len()
}

// RateLimiter limits requests per key with a token bucket whose rate may
// differ per key (a tenant's own setting). It is safe for concurrent use.
type RateLimiter struct {
	keys *table
}

// NewRateLimiter returns a RateLimiter with no keys.
func NewRateLimiter(opts ...Option) *RateLimiter {
	o := buildOptions(opts)
	return &RateLimiter{keys: newTable(o.maxKeys)}
}

// Allow takes one token from key's bucket, which refills at perSecond up to
// burst, and reports whether there was one; if not, retryAfter says when
// there will be. perSecond <= 0 (or +Inf) means unlimited and remembers
// nothing; burst < 1 is taken as 1. If perSecond or burst differ from the
// key's last call, the bucket adopts the new values and keeps its tokens (up
// to the new burst), so changing a tenant's setting takes effect on its next
// request.
func (l *RateLimiter) Allow(key string, perSecond float64, burst int, now time.Time) (retryAfter time.Duration, ok bool) {
	if !(perSecond > 0) || math.IsInf(perSecond, 1) {
		return 0, true
	}
	limit, burst := rate.Limit(perSecond), max(burst, 1)
	s := l.keys.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.get(key)
	if e == nil {
		e = s.add(newEntry(key, limit, burst, now), now)
	}
	if e.limit != limit || e.burst != burst {
		e.lim.SetLimitAt(now, limit)
		e.lim.SetBurstAt(now, burst)
		e.set(limit, burst)
	}
	ok = e.lim.AllowN(now, 1)
	e.settle(now)
	if ok {
		return 0, true
	}
	return wait(e, now), false
}

// Len returns how many keys the limiter remembers.
func (l *RateLimiter) Len() int { return l.keys.len() }

// maxWait caps waits for absurdly slow rates, keeping time arithmetic far
// from overflow.
const maxWait = 100 * 365 * 24 * time.Hour

// wait returns how long until e's bucket holds a whole token beyond those
// reserved, 0 if it does now.
func wait(e *entry, now time.Time) time.Duration {
	lim := &e.lim
	tokens := lim.TokensAt(now) - float64(e.pending)
	if tokens >= 1 {
		return 0
	}
	if e.pending > 0 {
		// Reservations in flight end within a request's time, and may end
		// without taking anything, so the refill of one token is as good a
		// guess as any, and the bucket may never hold more than burst.
		return time.Duration(math.Ceil(float64(time.Second) / float64(e.limit)))
	}
	ns := math.Ceil((1 - tokens) / float64(e.limit) * float64(time.Second))
	if !(ns < float64(maxWait)) {
		return maxWait
	}
	d := time.Duration(ns)
	// Float rounding can leave the bucket a hair short of a token at now+d;
	// nudge d so that a client retrying after exactly d gets in. (A larger
	// shortfall means now is before the bucket's last update, which the
	// limiter treats as no time passing; nudging cannot help then.)
	for range 3 {
		if short := 1 - lim.TokensAt(now.Add(d)); short <= 0 || short > 1e-6 {
			break
		}
		d += time.Microsecond
	}
	return d
}

// RetryAfter formats a wait as the value of a Retry-After header (RFC 9110
// §10.2.3): whole seconds, rounded up so the client does not come back too
// early, and at least 1.
func RetryAfter(d time.Duration) string {
	s := int64(d / time.Second)
	if d%time.Second > 0 {
		s++
	}
	return strconv.FormatInt(max(s, 1), 10)
}
