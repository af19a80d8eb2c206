package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/report"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

func TestReader(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	for _, name := range []string{"hr", "purged"} {
		j, err := job.Parse([]byte(`{"name":"`+name+`","source":{"type":"scim","url":"https://hr.example.com/scim","token":"s"},"target":{"url":"https://app.example.com/scim","token":"t"},"scope":"all"}`),
			func(string) (string, bool) { return "", false })
		require.NoError(t, err)
		_, _, err = job.New(st).Apply(ctx, j, "test")
		require.NoError(t, err)
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	require.NoError(t, st.Write(ctx, func(w store.Writer) error {
		p := w.Provisioning()
		if err := p.PutCycle(ctx, store.ProvisionCycle{ID: "c1", Job: "hr", Initial: true, Started: t0, Status: "Running"}); err != nil {
			return err
		}
		if err := p.PutState(ctx, store.ProvisionState{Job: "hr", NextRun: t0, Cycle: "c1", Updated: t0}); err != nil {
			return err
		}
		// A state whose cycle retention has purged.
		if err := p.PutState(ctx, store.ProvisionState{Job: "purged", NextRun: t0, Cycle: "gone", Updated: t0}); err != nil {
			return err
		}
		logs := make([]store.ProvisionLog, 2500)
		for i := range logs {
			logs[i] = store.ProvisionLog{Job: "hr", Cycle: "c1", Change: fmt.Sprint(i), Time: t0, Kind: "user", SourceAnchor: fmt.Sprint(i), Action: "Create", Status: "Success"}
		}
		return p.AppendLogs(ctx, logs)
	}))
	r := report.New(st)

	cases := []struct {
		name      string
		job       string
		lastCycle string // "" for none
		err       error
	}{
		{"WithCycle", "hr", "c1", nil},
		{"CyclePurged", "purged", "", nil},
		{"UnknownJob", "nope", "", store.ErrNotFound},
	}
	for _, c := range cases {
		t.Run("State"+c.name, func(t *testing.T) {
			s, err := r.State(ctx, c.job)
			if c.err != nil {
				require.ErrorIs(t, err, c.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, t0, s.NextRun.UTC())
			if c.lastCycle == "" {
				require.Nil(t, s.LastCycle)
			} else {
				require.Equal(t, c.lastCycle, s.LastCycle.ID)
				require.Equal(t, "initial", s.LastCycle.Kind)
			}
		})
	}

	_, err = r.Cycle(ctx, "purged", "c1")
	require.ErrorIs(t, err, store.ErrNotFound, "another job's cycle")
	_, err = r.Logs(ctx, store.ProvisionLogQuery{Job: "nope"})
	require.ErrorIs(t, err, store.ErrNotFound)

	for _, c := range []struct {
		limit, rows int
	}{{0, 2500}, {1500, 1500}, {3, 3}} {
		var buf bytes.Buffer
		require.NoError(t, r.WriteLogsCSV(ctx, store.ProvisionLogQuery{Job: "hr", Limit: c.limit}, &buf))
		recs, err := csv.NewReader(&buf).ReadAll()
		require.NoError(t, err)
		require.Len(t, recs, c.rows+1, "limit %d", c.limit)
		require.Equal(t, "seq", recs[0][0])
		require.Equal(t, "0", recs[1][5], "oldest first")
	}
}
