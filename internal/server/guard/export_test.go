package guard

import "net"

// Has reports whether l remembers key, without marking it seen.
func (l *FailureLimiter) Has(key string) bool {
	s := l.keys.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[key]
	return ok
}

// Shards returns how many shards l's keys are split into.
func (l *RateLimiter) Shards() int { return len(l.keys.shards) }

// OpenConns returns how many connections ln, a listener from
// LimitListener, holds open in all and for the client key.
func OpenConns(ln net.Listener, key string) (total, client int) {
	ll := ln.(*limitListener)
	ll.mu.Lock()
	defer ll.mu.Unlock()
	return ll.total, ll.open[key]
}
