package adminhttp_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/store"
)

// TestAdminAPIJobProgress reads a running cycle's progress, the job's
// statistics to date and its steady state through GET
// /admin/api/jobs/{name}/progress and GET /admin/api/jobs/{name}, as the
// engine keeps them in the store.
func TestAdminAPIJobProgress(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t)
	require.Equal(t, 201, e.call("PUT", "/admin/api/jobs/hr", e.root, e.doc(e.dstURL, nil)).status)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

	r := e.call("GET", "/admin/api/jobs/hr/progress", e.root, "")
	require.Equal(t, 200, r.status)
	require.Nil(t, r.json["progress"], "no cycle, no progress")
	require.Equal(t, false, r.json["steadyState"])
	require.Equal(t, 0.0, r.json["statisticsToDate"].(map[string]any)["cycles"])

	require.NoError(t, e.st.Write(ctx, func(w store.Writer) error {
		p := w.Provisioning()
		if err := p.PutCycle(ctx, store.ProvisionCycle{ID: "c2", Job: "hr", Started: t0, Status: "Running",
			Stats: json.RawMessage(`{"read":40,"created":10,"progress":{"phase":"users","processed":30,"total":120,` +
				`"estimatedFrom":"lastFullRead","ratePerSecond":3,"etaSeconds":30,"elapsedSeconds":10,"updated":"2026-12-01T10:00:10Z"}}`)}); err != nil {
			return err
		}
		return p.PutState(ctx, store.ProvisionState{Job: "hr", Cycle: "c2", Updated: t0,
			Totals: json.RawMessage(`{"cycles":2,"succeeded":2,"created":120,"updated":7,"lastSucceeded":"2026-12-01T09:00:00Z","lastDurationMs":61000,"lastFullRead":120,"steadySince":"2026-12-01T09:00:00Z"}`)})
	}))
	for _, c := range []struct {
		path string
		view func(map[string]any) map[string]any
	}{
		{"/admin/api/jobs/hr/progress", func(m map[string]any) map[string]any { return m }},
		{"/admin/api/jobs/hr", func(m map[string]any) map[string]any { return m["engine"].(map[string]any) }},
	} {
		r := e.call("GET", c.path, e.root, "")
		require.Equal(t, 200, r.status, c.path)
		v := c.view(r.json)
		p := v["progress"].(map[string]any)
		require.Equal(t, "users", p["phase"], c.path)
		require.Equal(t, 30.0, p["processed"])
		require.Equal(t, 120.0, p["total"])
		require.Equal(t, 30.0, p["etaSeconds"])
		require.Equal(t, "Running", v["lastCycle"].(map[string]any)["status"])
		totals := v["statisticsToDate"].(map[string]any)
		require.Equal(t, 2.0, totals["cycles"])
		require.Equal(t, 120.0, totals["created"])
		require.Equal(t, "2026-12-01T09:00:00Z", totals["lastSucceeded"])
		require.Equal(t, false, v["steadyState"], "the job is Off, so not steady whatever its cycles did")
	}
	require.Equal(t, 200, e.call("POST", "/admin/api/jobs/hr/start", e.root, "").status)
	require.Equal(t, false, e.call("GET", "/admin/api/jobs/hr/progress", e.root, "").json["steadyState"], "an initial cycle is pending")
	jobs := job.New(e.st)
	j, err := jobs.Get(ctx, "hr")
	require.NoError(t, err)
	require.NoError(t, jobs.InitialDone(ctx, j))
	require.Equal(t, true, e.call("GET", "/admin/api/jobs/hr/progress", e.root, "").json["steadyState"])
	require.Equal(t, 404, e.call("GET", "/admin/api/jobs/nope/progress", e.root, "").status)
}
