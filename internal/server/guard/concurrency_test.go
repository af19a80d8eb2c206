package guard_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/server/guard"
)

// TestConcurrency shows a key's requests beyond the limit waiting briefly
// and then refused, a slot given back letting a waiter in, other keys
// unaffected, and keys forgotten once idle.
func TestConcurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := guard.NewConcurrency(2, 50*time.Millisecond)
	r1, ok := c.Acquire(ctx, "a")
	require.True(t, ok)
	r2, ok := c.Acquire(ctx, "a")
	require.True(t, ok)
	require.Equal(t, 2, c.InUse("a"))

	start := time.Now()
	_, ok = c.Acquire(ctx, "a")
	require.False(t, ok, "a third request of the same key is refused")
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "after waiting briefly")

	rb, ok := c.Acquire(ctx, "b")
	require.True(t, ok, "another key has slots of its own")
	rb()

	got := make(chan bool)
	go func() {
		r, ok := guard.NewConcurrency(0, 0).Acquire(ctx, "x") // no limit
		r()
		_, ok2 := c.Acquire(ctx, "a")
		got <- ok && ok2
	}()
	time.Sleep(10 * time.Millisecond)
	r1()
	r1() // a second release gives back nothing more
	require.True(t, <-got, "a slot given back lets a waiter in")
	require.Equal(t, 2, c.InUse("a"))

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, ok = c.Acquire(cctx, "a")
	require.False(t, ok, "a request whose client left stops waiting")
	r2()
	require.Equal(t, 1, c.InUse("a"))
}
