package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/jobs"
	"github.com/rosterhq/roster/internal/provision/engine"
	"github.com/rosterhq/roster/internal/provision/job"
)

// TestSchedule turns a job On and lets the jobs host run it: the first
// cycle starts at once (a new job has no next run), and its end stores
// the next run one interval later, so no second cycle follows at once.
func TestSchedule(t *testing.T) {
	w := newWorld(t)
	w.addUser("alice", nil)
	w.apply("scope: all\nschedule: {interval: 1h}\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	host, err := jobs.Open(ctx, w.st, jobs.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { host.Close() })
	eng := engine.New(engine.Config{Store: w.st})
	require.NoError(t, eng.Register(host, 1))
	require.NoError(t, host.Start(ctx))
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = host.Stop(sctx)
	})

	due, err := eng.Due(ctx)
	require.NoError(t, err)
	require.Empty(t, due, "an Off job is never due")
	_, err = w.jobs.SetStatus(ctx, "e2e", job.StatusOn, "test")
	require.NoError(t, err)
	due, err = eng.Due(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"e2e"}, due)

	require.Eventually(t, func() bool {
		cs, err := w.st.Provisioning().Cycles(ctx, "e2e", 10)
		return err == nil && len(cs) == 1 && cs[0].Status == engine.CycleSucceeded
	}, 40*time.Second, 100*time.Millisecond, "the scheduler ran the job")
	require.Contains(t, w.users(), "alice")
	st, err := w.st.Provisioning().State(ctx, "e2e")
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(time.Hour), st.NextRun, 6*time.Minute, "next run: end + interval + jitter")
	due, err = eng.Due(ctx)
	require.NoError(t, err)
	require.Empty(t, due)
}
