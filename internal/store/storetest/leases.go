package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
)

// testLeases checks that a lease has one holder at a time, is renewed by
// its holder, passes on when released or expired, and that of many
// concurrent contenders exactly one wins.
func testLeases(t *testing.T, s store.Store) {
	ctx := context.Background()
	l := s.Leases()
	got, err := l.Acquire(ctx, "purge", "node-a", time.Hour)
	require.NoError(t, err)
	require.True(t, got, "a free lease is taken")
	got, err = l.Acquire(ctx, "purge", "node-b", time.Hour)
	require.NoError(t, err)
	require.False(t, got, "a held lease is not")
	got, err = l.Acquire(ctx, "purge", "node-a", time.Hour)
	require.NoError(t, err)
	require.True(t, got, "the holder renews it")
	got, err = l.Acquire(ctx, "other", "node-b", time.Hour)
	require.NoError(t, err)
	require.True(t, got, "leases are independent")

	require.NoError(t, l.Release(ctx, "purge", "node-b"), "releasing another's lease does nothing")
	got, err = l.Acquire(ctx, "purge", "node-b", time.Hour)
	require.NoError(t, err)
	require.False(t, got)
	require.NoError(t, l.Release(ctx, "purge", "node-a"))
	got, err = l.Acquire(ctx, "purge", "node-b", time.Hour)
	require.NoError(t, err)
	require.True(t, got, "a released lease is free")

	got, err = l.Acquire(ctx, "short", "node-a", 50*time.Millisecond)
	require.NoError(t, err)
	require.True(t, got)
	require.Eventually(t, func() bool {
		got, err := l.Acquire(ctx, "short", "node-b", time.Hour)
		return err == nil && got
	}, 5*time.Second, 20*time.Millisecond, "an expired lease passes on")

	_, err = l.Acquire(ctx, "", "node-a", time.Hour)
	require.Error(t, err)

	var wg sync.WaitGroup
	wins := make(chan string, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			holder := string(rune('a' + i))
			got, err := l.Acquire(ctx, "contended", holder, time.Hour)
			if err == nil && got {
				wins <- holder
			}
		}()
	}
	wg.Wait()
	close(wins)
	require.Len(t, wins, 1, "exactly one of the contenders holds the lease")
}

// testMaintain checks that maintenance runs on a store with data, twice,
// and leaves the data as it was.
func testMaintain(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newTenant(t, s, "a")
	for i := range 50 {
		mustCreate(t, s, user(a, fmt.Sprint("u", i), map[string]any{"userName": fmt.Sprint("user", i)}, i))
	}
	require.NoError(t, s.Maintain(ctx))
	require.NoError(t, s.Maintain(ctx))
	r, err := s.Resources().Get(ctx, a, "User", "u7")
	require.NoError(t, err)
	require.Equal(t, "user7", r.Attrs["userName"])
}
