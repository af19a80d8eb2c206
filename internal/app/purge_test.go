package app

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/backendtest"
)

// The retention sweeper purges the provisioning log, and its ended
// cycles, with the history's retention.
func TestPurgeOldProvisioningLog(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		old, young := now.Add(-3*time.Hour), now.Add(-time.Minute)
		require.NoError(t, st.Write(ctx, func(w store.Writer) error {
			p := w.Provisioning()
			if err := p.PutCycle(ctx, store.ProvisionCycle{ID: "c-old", Job: "hr", Started: old, Ended: old, Status: "Succeeded"}); err != nil {
				return err
			}
			return p.AppendLogs(ctx, []store.ProvisionLog{
				{Job: "hr", Cycle: "c-old", Change: "old", Time: old},
				{Job: "hr", Cycle: "c-new", Change: "young", Time: young},
			})
		}))

		r := &Roster{cfg: Config{HistoryRetention: time.Hour, Logger: slog.New(slog.DiscardHandler)}, store: st}
		require.NoError(t, r.purgeOld(ctx))

		logs, err := st.Provisioning().Logs(ctx, store.ProvisionLogQuery{Job: "hr"})
		require.NoError(t, err)
		require.Len(t, logs, 1)
		require.Equal(t, "young", logs[0].Change)
		_, err = st.Provisioning().Cycle(ctx, "c-old")
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}
