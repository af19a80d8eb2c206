package guard

import (
	"context"
	"sync"
	"time"
)

// Concurrency limits how many requests of one key (a tenant) run at once on
// this node. A rate limit cannot do this: sixteen requests a second are
// harmless when each takes a millisecond and take the node over when each
// runs a costly filter for seconds, holding database connections and CPU
// that every other tenant needs. A request over the limit waits a little
// for a slot, so a client's short burst passes, and is then refused. It is
// safe for concurrent use; it remembers a key only while it has requests
// running or waiting, so its memory is bounded by the requests in flight.
type Concurrency struct {
	limit int
	wait  time.Duration

	mu   sync.Mutex
	keys map[string]*slots
}

type slots struct {
	free  chan struct{} // one token per slot not in use
	users int           // requests holding or waiting for a slot
}

// NewConcurrency allows limit requests per key at once; one over it waits up
// to wait for a slot. limit <= 0 means no limit.
func NewConcurrency(limit int, wait time.Duration) *Concurrency {
	return &Concurrency{limit: limit, wait: max(wait, 0), keys: make(map[string]*slots)}
}

// Acquire takes one of key's slots, waiting up to the limiter's wait for one
// to be given back. It reports false if none was, or ctx ended first; else
// the caller must call release exactly once when its request is done.
func (c *Concurrency) Acquire(ctx context.Context, key string) (release func(), ok bool) {
	if c == nil || c.limit <= 0 {
		return func() {}, true
	}
	c.mu.Lock()
	s := c.keys[key]
	if s == nil {
		s = &slots{free: make(chan struct{}, c.limit)}
		for range c.limit {
			s.free <- struct{}{}
		}
		c.keys[key] = s
	}
	s.users++
	c.mu.Unlock()

	got := false
	select {
	case <-s.free:
		got = true
	default:
		if c.wait > 0 {
			t := time.NewTimer(c.wait)
			select {
			case <-s.free:
				got = true
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
	}
	if !got {
		c.leave(key, s)
		return nil, false
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			s.free <- struct{}{}
			c.leave(key, s)
		})
	}, true
}

// leave forgets key once no request holds or waits for its slots, so that
// a key's entry lives only as long as its traffic.
func (c *Concurrency) leave(key string, s *slots) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.users--; s.users == 0 {
		delete(c.keys, key)
	}
}

// InUse returns how many of key's slots are taken.
func (c *Concurrency) InUse(key string) int {
	if c == nil || c.limit <= 0 {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.keys[key]; s != nil {
		return c.limit - len(s.free)
	}
	return 0
}
