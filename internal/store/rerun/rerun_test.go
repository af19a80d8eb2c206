package rerun

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTriggersCoalesce(t *testing.T) {
	var runs atomic.Int32
	release := make(chan struct{})
	r := New(func(ctx context.Context) error {
		if runs.Add(1) == 1 {
			<-release
		}
		return nil
	})
	r.Trigger()
	require.Eventually(t, func() bool { return runs.Load() == 1 }, time.Second, time.Millisecond)
	for range 5 {
		r.Trigger() // while the first run is in progress
	}
	close(release)
	r.Wait()
	require.Equal(t, int32(2), runs.Load(), "five requests during a run make one more run")
	r.Trigger()
	r.Wait()
	require.Equal(t, int32(3), runs.Load())
}

func TestStopCancelsAndEnds(t *testing.T) {
	var runs atomic.Int32
	r := New(func(ctx context.Context) error {
		runs.Add(1)
		<-ctx.Done()
		return ctx.Err()
	})
	r.Trigger()
	require.Eventually(t, func() bool { return runs.Load() == 1 }, time.Second, time.Millisecond)
	r.Trigger()
	r.Stop()
	r.Trigger()
	r.Wait()
	require.Equal(t, int32(1), runs.Load(), "no run after Stop")
}
