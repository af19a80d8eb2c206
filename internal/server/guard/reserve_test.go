package guard_test

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/server/guard"
)

// TestFailureLimiterReserve shows that reservations hold failures back from
// a key's budget while credentials are checked: they end as a failure, which
// stays taken, or are released, which gives the failure back.
func TestFailureLimiterReserve(t *testing.T) {
	t.Parallel()

	// op is one call: "reserve" (want ok unless blocked), "fail" or
	// "release" of the i-th reservation, or "check" (Blocked).
	type op struct {
		at      time.Duration
		do      string
		i       int
		blocked bool
		retry   time.Duration
	}
	for _, tc := range []struct {
		name      string
		perMinute float64
		burst     int
		ops       []op
	}{
		{
			// 6 a minute: one failure back every 10s.
			name: "ReservationsStopAtTheBudget", perMinute: 6, burst: 3,
			ops: []op{
				{do: "reserve", i: 0}, {do: "reserve", i: 1}, {do: "reserve", i: 2},
				{do: "reserve", blocked: true, retry: 10 * time.Second},
				{do: "check", blocked: true, retry: 10 * time.Second},
				{do: "release", i: 1},
				{do: "check"},
				{do: "reserve", i: 3},
				{do: "fail", i: 0}, {do: "fail", i: 2}, {do: "fail", i: 3},
				{do: "check", blocked: true, retry: 10 * time.Second},
				{at: 10 * time.Second, do: "reserve", i: 4},
			},
		},
		{
			name: "ReleaseGivesBack", perMinute: 1, burst: 1,
			ops: []op{
				{do: "reserve", i: 0}, {do: "release", i: 0},
				{do: "reserve", i: 1}, {do: "release", i: 1},
				{do: "reserve", i: 2}, {do: "release", i: 2},
				{do: "check"},
			},
		},
		{
			name: "FailCounts", perMinute: 1, burst: 2,
			ops: []op{
				{do: "reserve", i: 0}, {do: "fail", i: 0},
				{do: "reserve", i: 1}, {do: "fail", i: 1},
				{do: "reserve", blocked: true, retry: time.Minute},
			},
		},
		{
			name: "EndsOnce", perMinute: 1, burst: 2,
			ops: []op{
				{do: "reserve", i: 0},
				{do: "fail", i: 0}, {do: "fail", i: 0}, {do: "release", i: 0},
				{do: "check"},
				{do: "reserve", i: 1}, {do: "release", i: 1}, {do: "release", i: 1},
				{do: "reserve", i: 2},
				{do: "reserve", blocked: true, retry: time.Minute},
			},
		},
		{
			name: "Disabled", perMinute: 0, burst: 1,
			ops: []op{
				{do: "reserve", i: 0}, {do: "reserve", i: 1}, {do: "fail", i: 0}, {do: "fail", i: 1},
				{do: "reserve", i: 2}, {do: "check"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := guard.NewFailureLimiter(tc.perMinute, tc.burst)
			held := map[int]*guard.Reservation{}
			for n, o := range tc.ops {
				now := t0.Add(o.at)
				switch o.do {
				case "reserve":
					r, retry, ok := l.Reserve("client:192.0.2.1", now)
					require.Equal(t, !o.blocked, ok, "op %d", n)
					require.Equal(t, o.retry, retry, "op %d", n)
					if ok {
						held[o.i] = r
					}
				case "check":
					retry, blocked := l.Blocked("client:192.0.2.1", now)
					require.Equal(t, o.blocked, blocked, "op %d", n)
					require.Equal(t, o.retry, retry, "op %d", n)
				case "fail":
					held[o.i].Fail(now)
				case "release":
					held[o.i].Release()
				}
			}
		})
	}
}

// TestReserveConcurrent shows that however many wrong guesses arrive at
// once, only the budget's worth is let through to the costly check.
func TestReserveConcurrent(t *testing.T) {
	t.Parallel()

	l := guard.NewFailureLimiter(30, 30)
	var let, refused atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 1000 {
		wg.Go(func() {
			<-start
			r, _, ok := l.Reserve("client:192.0.2.1", t0)
			if !ok {
				refused.Add(1)
				return
			}
			let.Add(1)
			r.Fail(t0)
		})
	}
	close(start)
	wg.Wait()
	require.Equal(t, int64(30), let.Load())
	require.Equal(t, int64(970), refused.Load())
}

// TestEvictionKeepsReservedKey shows that a flood of fresh keys does not
// make the limiter forget a key whose failures are reserved, which would give
// its next requests a full budget.
func TestEvictionKeepsReservedKey(t *testing.T) {
	t.Parallel()

	const maxKeys = 64 // one shard
	l := guard.NewFailureLimiter(1, 2, guard.WithMaxKeys(maxKeys))
	var held []*guard.Reservation
	for range 2 {
		r, _, ok := l.Reserve("attacker", t0)
		require.True(t, ok)
		held = append(held, r)
	}
	for i := range 3 * maxKeys {
		l.Fail("flood:"+strconv.Itoa(i), t0.Add(time.Duration(i)*time.Hour))
	}
	require.True(t, l.Has("attacker"))
	_, _, ok := l.Reserve("attacker", t0)
	require.False(t, ok)
	for _, r := range held {
		r.Fail(t0)
	}
}
