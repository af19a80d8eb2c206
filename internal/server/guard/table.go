package guard

import (
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys is how many keys a limiter remembers unless [WithMaxKeys]
// says otherwise: at about 200 bytes a short key, about 20 MB per limiter.
const DefaultMaxKeys = 100_000

// Option configures a limiter.
type Option func(*options)

type options struct {
	maxKeys int
}

// WithMaxKeys bounds how many keys a limiter remembers; n <= 0 means
// [DefaultMaxKeys]. When the bound is reached, keys whose bucket has refilled
// are forgotten first, then the least recently seen.
func WithMaxKeys(n int) Option {
	return func(o *options) { o.maxKeys = n }
}

func buildOptions(opts []Option) options {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxKeys <= 0 {
		o.maxKeys = DefaultMaxKeys
	}
	return o
}

// table is a bounded map from key to token bucket. It is split into shards,
// each with its own mutex, so parallel requests for different keys rarely
// wait on each other; each shard keeps its keys in least-recently-seen order.
type table struct {
	seed   maphash.Seed
	shards []shard
	mask   uint64
}

type shard struct {
	mu         sync.Mutex
	m          map[string]*entry
	head, tail *entry // most and least recently seen
	max        int
	// credit counts least-recently-seen evictions left before the next
	// sweep for idle keys. A sweep visits every key in the shard, so one runs
	// only once per `every` inserts (max/4 or more), which keeps eviction
	// O(1) amortised. A sweep that frees little doubles `every`, up to
	// 4*max, so a flood of fresh addresses, where nothing is idle, costs
	// less still.
	credit, every int
	_             [64]byte // keep neighbouring shards' locks off one cache line
}

type entry struct {
	key        string
	lim        rate.Limiter
	limit      rate.Limit // lim's settings, kept here to read without its lock
	burst      int
	refill     int64 // ns for lim to fill from empty
	fullAt     int64 // Unix ns by which lim is surely full; see settle
	pending    int   // failures reserved and not yet ended (FailureLimiter.Reserve)
	prev, next *entry
}

func newEntry(key string, limit rate.Limit, burst int, now time.Time) *entry {
	// Clone so a key sliced from a request does not pin the whole request.
	e := &entry{key: strings.Clone(key)}
	e.set(limit, burst)
	// Start the limiter empty long enough ago that it is full by now, which
	// is a new bucket without a second allocation. The minute's margin
	// covers callers whose now is a little behind.
	start := now.Add(-max(2*time.Duration(e.refill), time.Minute))
	e.lim.SetLimitAt(start, limit)
	e.lim.SetBurstAt(start, burst)
	return e
}

// set records lim's settings.
func (e *entry) set(limit rate.Limit, burst int) {
	e.limit, e.burst = limit, burst
	e.refill = int64(min(float64(burst)/float64(limit)*1e9, float64(maxWait)))
}

// settle notes, after a call that may have taken tokens, when e's bucket is
// surely full again. The bucket never goes below empty, so that is at most
// one full refill away. Overestimating for a bucket that was not drained
// costs nothing but an idle key kept a little longer, and it spares the hot
// path a second trip through the limiter's lock.
func (e *entry) settle(now time.Time) {
	e.fullAt = max(e.fullAt, now.UnixNano()+e.refill)
}

// minShardKeys keeps shards big enough that hashing does not leave one
// shard full while the table as a whole has room.
const minShardKeys = 64

func newTable(maxKeys int) *table {
	n := 64
	for n > 1 && maxKeys/n < minShardKeys {
		n /= 2
	}
	t := &table{seed: maphash.MakeSeed(), shards: make([]shard, n), mask: uint64(n - 1)}
	for i := range t.shards {
		// Spread the remainder so the shard bounds add up to maxKeys.
		t.shards[i].max = maxKeys / n
		if i < maxKeys%n {
			t.shards[i].max++
		}
		t.shards[i].m = make(map[string]*entry)
		t.shards[i].every = max(t.shards[i].max/4, 1)
	}
	return t
}

// shard returns key's shard. The caller locks it.
func (t *table) shard(key string) *shard {
	return &t.shards[maphash.String(t.seed, key)&t.mask]
}

// len counts the keys in t.
func (t *table) len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// get returns key's entry and marks it recently seen, or nil.
func (s *shard) get(key string) *entry {
	e := s.m[key]
	if e != nil && e != s.head {
		s.unlink(e)
		s.pushFront(e)
	}
	return e
}

// add inserts e, first making room if the shard is full.
func (s *shard) add(e *entry, now time.Time) *entry {
	if len(s.m) >= s.max {
		if s.credit <= 0 {
			freed := s.sweep(now)
			if freed < s.max/16 {
				s.every = min(s.every*2, s.max*4)
			} else {
				s.every = max(s.max/4, 1)
			}
			s.credit = s.every - freed
		}
		for len(s.m) >= s.max {
			s.credit--
			s.remove(s.victim())
		}
	}
	s.m[e.key] = e
	s.pushFront(e)
	return e
}

// victim returns the least recently seen key without a reservation in
// flight, or the least recently seen key if all have one: forgetting a key
// with reservations would let its next requests start from a full budget.
func (s *shard) victim() *entry {
	for e := s.tail; e != nil; e = e.prev {
		if e.pending == 0 {
			return e
		}
	}
	return s.tail
}

// sweep forgets every key whose bucket is full again and which has no
// reservation in flight: it is idle, and a new bucket for it would behave
// the same.
func (s *shard) sweep(now time.Time) int {
	freed, ns := 0, now.UnixNano()
	for e := s.tail; e != nil; {
		prev := e.prev
		if e.fullAt <= ns && e.pending == 0 {
			s.remove(e)
			freed++
		}
		e = prev
	}
	return freed
}

func (s *shard) remove(e *entry) {
	s.unlink(e)
	delete(s.m, e.key)
}

func (s *shard) pushFront(e *entry) {
	e.prev, e.next = nil, s.head
	if s.head != nil {
		s.head.prev = e
	}
	s.head = e
	if s.tail == nil {
		s.tail = e
	}
}

func (s *shard) unlink(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = nil, nil
}
