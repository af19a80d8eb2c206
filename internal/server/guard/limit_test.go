package guard_test

import (
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/server/guard"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestRetryAfter(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-5 * time.Second, "1"},
		{0, "1"},
		{time.Nanosecond, "1"},
		{time.Second, "1"},
		{time.Second + time.Nanosecond, "2"},
		{59500 * time.Millisecond, "60"},
		{2 * time.Minute, "120"},
		{math.MaxInt64, "9223372037"},
	} {
		require.Equal(t, tc.want, guard.RetryAfter(tc.d), tc.d)
	}
}

// step is one call in a limiter scenario, at t0+at.
type step struct {
	at      time.Duration
	key     string
	check   bool          // FailureLimiter: Blocked instead of Fail
	perSec  float64       // RateLimiter: rate
	burst   int           // RateLimiter: burst
	blocked bool          // FailureLimiter: want blocked; RateLimiter: want denied
	retry   time.Duration // want retryAfter
}

func TestFailureLimiter(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		name      string
		perMinute float64
		burst     int
		steps     []step
	}{
		{
			// 6 a minute: one failure back every 10s.
			name: "BurstThenBlock", perMinute: 6, burst: 3,
			steps: []step{
				{key: "a", check: true},
				{key: "a"},
				{key: "a"},
				{key: "a", check: true},
				{key: "a", blocked: true, retry: 10 * time.Second},
				{key: "a", check: true, blocked: true, retry: 10 * time.Second},
				{at: 4 * time.Second, key: "a", check: true, blocked: true, retry: 6 * time.Second},
				// Failing while blocked does not extend the block.
				{at: 5 * time.Second, key: "a", blocked: true, retry: 5 * time.Second},
				{at: 10 * time.Second, key: "a", check: true},
				{at: 10 * time.Second, key: "a", blocked: true, retry: 10 * time.Second},
			},
		},
		{
			name: "RecoversFully", perMinute: 60, burst: 2,
			steps: []step{
				{key: "a"},
				{key: "a", blocked: true, retry: time.Second},
				{at: time.Hour, key: "a"},
				{at: time.Hour, key: "a", blocked: true, retry: time.Second},
			},
		},
		{
			name: "BlockedDoesNotConsume", perMinute: 1, burst: 2,
			steps: []step{
				{key: "a", check: true},
				{key: "a", check: true},
				{key: "a", check: true},
				{key: "a"},
				{key: "a", check: true},
				{key: "a", check: true},
				{key: "a", blocked: true, retry: time.Minute},
			},
		},
		{
			name: "KeysIndependent", perMinute: 1, burst: 1,
			steps: []step{
				{key: "client:203.0.113.9", blocked: true, retry: time.Minute},
				{key: "client:203.0.113.10", check: true},
				{key: "tenant:acme", check: true},
				{key: "tenant:acme", blocked: true, retry: time.Minute},
				{key: "client:203.0.113.10", blocked: true, retry: time.Minute},
				{at: 30 * time.Second, key: "client:203.0.113.9", check: true, blocked: true, retry: 30 * time.Second},
			},
		},
		{
			name: "BurstBelowOne", perMinute: 60, burst: 0,
			steps: []step{
				{key: "a", check: true},
				{key: "a", blocked: true, retry: time.Second},
			},
		},
		{
			name: "TimeGoingBackwards", perMinute: 60, burst: 1,
			steps: []step{
				{at: time.Minute, key: "a", blocked: true, retry: time.Second},
				{at: 0, key: "a", check: true, blocked: true, retry: time.Second},
				{at: time.Minute + time.Second, key: "a", check: true},
			},
		},
		{
			// Absurdly slow rates are capped rather than overflowing.
			name: "GlacialRate", perMinute: 1e-30, burst: 1,
			steps: []step{
				{key: "a", blocked: true, retry: 100 * 365 * 24 * time.Hour},
				{at: 24 * time.Hour, key: "a", check: true, blocked: true, retry: 100 * 365 * 24 * time.Hour},
			},
		},
		{name: "DisabledCheck", perMinute: 0, burst: 1, steps: []step{{key: "a"}, {key: "a", check: true}}},
		{name: "DisabledZero", perMinute: 0, burst: 1, steps: repeat(step{key: "a"}, 100)},
		{name: "DisabledNegative", perMinute: -1, burst: 1, steps: repeat(step{key: "a"}, 100)},
		{name: "DisabledNaN", perMinute: math.NaN(), burst: 1, steps: repeat(step{key: "a"}, 100)},
		{name: "DisabledInf", perMinute: math.Inf(1), burst: 1, steps: repeat(step{key: "a"}, 100)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := guard.NewFailureLimiter(tc.perMinute, tc.burst)
			for i, s := range tc.steps {
				call := l.Fail
				if s.check {
					call = l.Blocked
				}
				retry, blocked := call(s.key, t0.Add(s.at))
				require.Equal(t, s.blocked, blocked, "step %d", i)
				require.Equal(t, s.retry, retry, "step %d", i)
			}
		})
	}
}

func repeat(s step, n int) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestFailureLimiterDisabledRemembersNothing(t *testing.T) {
	t.Parallel()

	l := guard.NewFailureLimiter(0, 5)
	for i := range 1000 {
		_, blocked := l.Fail(strconv.Itoa(i), t0)
		require.False(t, blocked)
	}
	require.Zero(t, l.Len())

	// Checking an unknown key does not store it either.
	l = guard.NewFailureLimiter(10, 5)
	_, blocked := l.Blocked("never-failed", t0)
	require.False(t, blocked)
	require.Zero(t, l.Len())
}

func TestFailureLimiterRetryAfterIsEnough(t *testing.T) {
	t.Parallel()

	// Rates whose refill interval is not a whole number of nanoseconds.
	for _, perMinute := range []float64{7, 13, 0.3, 1e-3, 999.9, 3.3e6} {
		l := guard.NewFailureLimiter(perMinute, 1)
		now := t0
		for range 20 {
			retry, blocked := l.Fail("a", now)
			require.True(t, blocked, perMinute)
			now = now.Add(retry)
			_, blocked = l.Blocked("a", now)
			require.False(t, blocked, "per minute %v: still blocked after retryAfter", perMinute)
		}
	}
}

func TestRateLimiter(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{
			name: "BurstThenDeny",
			steps: []step{
				{key: "acme", perSec: 2, burst: 3},
				{key: "acme", perSec: 2, burst: 3},
				{key: "acme", perSec: 2, burst: 3},
				{key: "acme", perSec: 2, burst: 3, blocked: true, retry: 500 * time.Millisecond},
				{at: 200 * time.Millisecond, key: "acme", perSec: 2, burst: 3, blocked: true, retry: 300 * time.Millisecond},
				{at: 500 * time.Millisecond, key: "acme", perSec: 2, burst: 3},
				{at: 500 * time.Millisecond, key: "acme", perSec: 2, burst: 3, blocked: true, retry: 500 * time.Millisecond},
				{at: time.Hour, key: "acme", perSec: 2, burst: 3},
				{at: time.Hour, key: "acme", perSec: 2, burst: 3},
				{at: time.Hour, key: "acme", perSec: 2, burst: 3},
				{at: time.Hour, key: "acme", perSec: 2, burst: 3, blocked: true, retry: 500 * time.Millisecond},
			},
		},
		{
			name: "KeysIndependent",
			steps: []step{
				{key: "acme", perSec: 1, burst: 1},
				{key: "acme", perSec: 1, burst: 1, blocked: true, retry: time.Second},
				{key: "globex", perSec: 1, burst: 1},
				{key: "initech", perSec: 0.1, burst: 1},
				{key: "initech", perSec: 0.1, burst: 1, blocked: true, retry: 10 * time.Second},
			},
		},
		{
			name: "RateRaised",
			steps: []step{
				{key: "acme", perSec: 1, burst: 1},
				{key: "acme", perSec: 1, burst: 1, blocked: true, retry: time.Second},
				// The empty bucket stays empty but refills at the new rate.
				{key: "acme", perSec: 100, burst: 10, blocked: true, retry: 10 * time.Millisecond},
				{at: 10 * time.Millisecond, key: "acme", perSec: 100, burst: 10},
				{at: time.Second, key: "acme", perSec: 100, burst: 10},
			},
		},
		{
			name: "RateLowered",
			steps: []step{
				{key: "acme", perSec: 100, burst: 1},
				{at: 10 * time.Millisecond, key: "acme", perSec: 100, burst: 1},
				{at: 20 * time.Millisecond, key: "acme", perSec: 1, burst: 1},
				{at: 30 * time.Millisecond, key: "acme", perSec: 1, burst: 1, blocked: true, retry: 990 * time.Millisecond},
			},
		},
		{
			name: "BurstLowered",
			steps: []step{
				{key: "acme", perSec: 1, burst: 10},
				// Nine tokens left, but the new burst caps them at two.
				{key: "acme", perSec: 1, burst: 2},
				{key: "acme", perSec: 1, burst: 2},
				{key: "acme", perSec: 1, burst: 2, blocked: true, retry: time.Second},
			},
		},
		{
			// Callers take now before waiting for the lock, so a new bucket
			// must be full even for a slightly earlier now.
			name: "ClockSkew",
			steps: []step{
				{at: time.Second, key: "acme", perSec: 1, burst: 2},
				{key: "acme", perSec: 1, burst: 2},
				{key: "acme", perSec: 1, burst: 2, blocked: true, retry: time.Second},
			},
		},
		{
			name: "BurstBelowOne",
			steps: []step{
				{key: "acme", perSec: 1, burst: -3},
				{key: "acme", perSec: 1, burst: 0, blocked: true, retry: time.Second},
			},
		},
		{
			name: "Unlimited",
			steps: append(append(append(
				repeat(step{key: "acme", perSec: 0, burst: 0}, 50),
				repeat(step{key: "acme", perSec: -1, burst: 1}, 50)...),
				repeat(step{key: "acme", perSec: math.NaN(), burst: 1}, 50)...),
				repeat(step{key: "acme", perSec: math.Inf(1), burst: 1}, 50)...),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := guard.NewRateLimiter()
			for i, s := range tc.steps {
				retry, ok := l.Allow(s.key, s.perSec, s.burst, t0.Add(s.at))
				require.Equal(t, !s.blocked, ok, "step %d", i)
				require.Equal(t, s.retry, retry, "step %d", i)
			}
		})
	}
}

func TestRateLimiterUnlimitedRemembersNothing(t *testing.T) {
	t.Parallel()

	l := guard.NewRateLimiter()
	for i := range 100 {
		_, ok := l.Allow(strconv.Itoa(i), 0, 10, t0)
		require.True(t, ok)
	}
	require.Zero(t, l.Len())
}

func TestEvictionKeepsRecentBlockedKey(t *testing.T) {
	t.Parallel()

	const maxKeys = 1000
	l := guard.NewFailureLimiter(1, 3, guard.WithMaxKeys(maxKeys))
	for range 3 {
		l.Fail("attacker", t0)
	}
	_, blocked := l.Blocked("attacker", t0)
	require.True(t, blocked)

	// A flood of fresh addresses, each failing once (so none is idle), while
	// the blocked attacker keeps retrying.
	for i := range 3 * maxKeys {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		l.Fail("flood:"+strconv.Itoa(i), now)
		require.LessOrEqual(t, l.Len(), maxKeys)
		if i%50 == 0 {
			_, blocked := l.Blocked("attacker", now)
			require.True(t, blocked, "after %d keys", i)
		}
	}
	require.GreaterOrEqual(t, l.Len(), maxKeys*7/8, "evicts only what it needs to")
	_, blocked = l.Blocked("attacker", t0.Add(3*time.Second))
	require.True(t, blocked)
	require.True(t, l.Has("attacker"))
}

func TestEvictionPrefersIdleKeys(t *testing.T) {
	t.Parallel()

	const maxKeys = 1000
	l := guard.NewRateLimiter(guard.WithMaxKeys(maxKeys))
	_, ok := l.Allow("slow", 0.001, 1, t0)
	require.True(t, ok)

	// Fast keys refill within a millisecond, so every older one is idle.
	// "slow" is never touched again, yet outlives them all.
	for i := range 3 * maxKeys {
		now := t0.Add(time.Duration(i+1) * time.Millisecond)
		_, ok := l.Allow("fast:"+strconv.Itoa(i), 1000, 1, now)
		require.True(t, ok)
		require.LessOrEqual(t, l.Len(), maxKeys)
	}
	retry, ok := l.Allow("slow", 0.001, 1, t0.Add(time.Minute))
	require.False(t, ok, "slow key was forgotten")
	require.InDelta(t, 1000*time.Second-time.Minute, retry, float64(time.Millisecond))
}

func TestEvictionLeastRecentlySeen(t *testing.T) {
	t.Parallel()

	// 64 keys fit one shard, so the order is exact.
	const maxKeys = 64
	l := guard.NewFailureLimiter(1, 5, guard.WithMaxKeys(maxKeys))
	for i := range maxKeys {
		l.Fail(strconv.Itoa(i), t0)
	}
	l.Blocked("0", t0) // seen again: now "1" is the oldest
	l.Fail("new", t0)
	require.Equal(t, maxKeys, l.Len())
	require.True(t, l.Has("0"))
	require.False(t, l.Has("1"))
	require.True(t, l.Has("2"))
	require.True(t, l.Has("new"))
}

func TestMaxKeysBound(t *testing.T) {
	t.Parallel()

	for _, maxKeys := range []int{1, 7, 64, 65, 1000, 4097, 100_000} {
		l := guard.NewRateLimiter(guard.WithMaxKeys(maxKeys))
		for i := range 3 * maxKeys {
			l.Allow(strconv.Itoa(i), 1, 1, t0)
		}
		require.LessOrEqual(t, l.Len(), maxKeys)
		require.GreaterOrEqual(t, l.Len(), maxKeys*3/4, "max %d, %d shards", maxKeys, l.Shards())
	}
	require.Equal(t, 64, guard.NewRateLimiter().Shards())
	require.Equal(t, 1, guard.NewRateLimiter(guard.WithMaxKeys(100)).Shards())
}

func TestLimitersConcurrent(t *testing.T) {
	t.Parallel()

	const maxKeys = 256
	fl := guard.NewFailureLimiter(60, 3, guard.WithMaxKeys(maxKeys))
	rl := guard.NewRateLimiter(guard.WithMaxKeys(maxKeys))
	var clock atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 0))
			for range 5000 {
				now := t0.Add(time.Duration(clock.Add(1)) * time.Millisecond)
				key := strconv.Itoa(rng.IntN(4 * maxKeys))
				switch rng.IntN(3) {
				case 0:
					fl.Fail(key, now)
				case 1:
					fl.Blocked(key, now)
				default:
					rl.Allow(key, float64(1+rng.IntN(3)), 1+rng.IntN(3), now)
				}
			}
		})
	}
	wg.Wait()
	require.LessOrEqual(t, fl.Len(), maxKeys)
	require.LessOrEqual(t, rl.Len(), maxKeys)
}

func BenchmarkFailureLimiterParallel(b *testing.B) {
	b.Run("HotKeys", func(b *testing.B) {
		// Some thousand clients, most of them blocked soon.
		keys := benchKeys(1 << 12)
		l := guard.NewFailureLimiter(10, 5)
		var seq atomic.Uint64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := seq.Add(1) << 32
			for pb.Next() {
				i++
				now := t0.Add(time.Duration(i&(1<<32-1)) * time.Microsecond)
				key := keys[int(i*0x9E3779B97F4A7C15>>40)%len(keys)]
				if _, blocked := l.Blocked(key, now); !blocked {
					l.Fail(key, now)
				}
			}
		})
	})
	b.Run("Evicting", func(b *testing.B) {
		// An attack from far more addresses than fit: nearly every request
		// is a new key and evicts one. The key is built per request, as
		// Client builds Addr.
		l := guard.NewFailureLimiter(10, 5, guard.WithMaxKeys(1<<14))
		var seq atomic.Uint64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := seq.Add(1) << 32
			buf := make([]byte, 0, 32)
			for pb.Next() {
				i++
				now := t0.Add(time.Duration(i&(1<<32-1)) * time.Microsecond)
				buf = strconv.AppendUint(append(buf[:0], "2001:db8::"...), i*0x9E3779B97F4A7C15>>44, 16)
				key := string(buf)
				if _, blocked := l.Blocked(key, now); !blocked {
					l.Fail(key, now)
				}
			}
		})
	})
}

func BenchmarkRateLimiterAllowParallel(b *testing.B) {
	for _, bc := range []struct {
		name string
		keys int
	}{
		{"OneTenant", 1},
		{"Tenants", 64},
		{"ManyKeys", 1 << 12},
	} {
		b.Run(bc.name, func(b *testing.B) {
			keys := benchKeys(bc.keys)
			l := guard.NewRateLimiter()
			var seq atomic.Uint64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := seq.Add(1) << 32
				for pb.Next() {
					i++
					now := t0.Add(time.Duration(i&(1<<32-1)) * time.Microsecond)
					l.Allow(keys[int(i)%len(keys)], 500, 100, now)
				}
			})
		})
	}
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "198." + strconv.Itoa(i>>16&255) + "." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255)
	}
	return keys
}
