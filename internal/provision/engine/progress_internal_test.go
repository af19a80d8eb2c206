package engine

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/report"
	"github.com/rosterhq/roster/internal/store"
)

// TestAddTotals adds cycles one after the other to a job's statistics to
// date and checks the counts, the last success and the steady state.
func TestAddTotals(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	rec := func(i int, status string) store.ProvisionCycle {
		start := t0.Add(time.Duration(i) * time.Hour)
		return store.ProvisionCycle{Status: status, Started: start, Ended: start.Add(90 * time.Second)}
	}
	var totals json.RawMessage
	for i, c := range []struct {
		status       string
		stats        Stats
		steady, full bool
		want         report.Totals
	}{
		{CycleSucceeded, Stats{Read: 10, Created: 9, Skipped: 1}, false, true,
			report.Totals{Cycles: 1, Succeeded: 1, Read: 10, Created: 9, Skipped: 1, LastSucceeded: rec(0, "").Ended,
				LastDurationMS: 90000, LastFullRead: 10}},
		{CycleSucceeded, Stats{Read: 2, Updated: 2}, true, false,
			report.Totals{Cycles: 2, Succeeded: 2, Read: 12, Created: 9, Updated: 2, Skipped: 1, LastSucceeded: rec(1, "").Ended,
				LastDurationMS: 90000, LastFullRead: 10, SteadySince: rec(1, "").Ended}},
		{CycleSucceeded, Stats{Read: 1, Disabled: 1}, true, false, // steady since the first of the run
			report.Totals{Cycles: 3, Succeeded: 3, Read: 13, Created: 9, Updated: 2, Disabled: 1, Skipped: 1,
				LastSucceeded: rec(2, "").Ended, LastDurationMS: 90000, LastFullRead: 10, SteadySince: rec(1, "").Ended}},
		{CycleFailed, Stats{Read: 1, Failed: 1}, false, true, // a failed full read leaves the last one's size
			report.Totals{Cycles: 4, Succeeded: 3, FailedCycles: 1, Read: 14, Created: 9, Updated: 2, Disabled: 1, Skipped: 1,
				Failed: 1, LastSucceeded: rec(2, "").Ended, LastDurationMS: 90000, LastFullRead: 10}},
	} {
		totals = addTotals(totals, rec(i, c.status), c.stats, c.steady, c.full)
		require.Equal(t, c.want, report.TotalsOf(totals), "after cycle %d", i+1)
	}
}

// TestProgressEstimate checks the estimated total and the ETA a cycle
// reports from what it has read and processed.
func TestProgressEstimate(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name                 string
		phase                string
		full                 bool
		lastFullRead, linked int
		read, done           int64
		wantTotal            int64
		wantFrom             string
		wantETA              float64 // -1: none
	}{
		{"starting", phaseStarting, true, 100, 50, 0, 0, 0, "", -1},
		{"full read, last read known", phaseUsers, true, 100, 50, 30, 20, 100, "lastFullRead", 40},
		{"full read, links only", phaseUsers, true, 0, 50, 30, 20, 50, "links", 15},
		{"full read past the estimate", phaseUsers, true, 100, 50, 120, 110, 120, "read", 10.0 / 11},
		{"first full read", phaseUsers, true, 0, 0, 30, 20, 30, "read", 5},
		{"incremental", phaseUsers, false, 100, 50, 8, 4, 8, "read", 10},
		{"incremental, all done", phaseGroups, false, 100, 50, 8, 8, 8, "read", -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			totals := addTotals(nil, store.ProvisionCycle{Status: CycleSucceeded}, Stats{Read: int64(c.lastFullRead)}, false, true)
			cy := &cycle{started: t0, state: store.ProvisionState{Totals: totals}, linkedAtStart: c.linked}
			cy.setPhase(c.phase, c.full)
			cy.n.read.Store(c.read)
			cy.track.done.Store(c.done)
			p := cy.progressNow(t0.Add(10 * time.Second)) // done objects in 10 s
			require.Equal(t, c.wantTotal, p.Total)
			require.Equal(t, c.wantFrom, p.EstimatedFrom)
			require.Equal(t, c.done, p.Processed)
			require.InDelta(t, float64(c.done)/10, p.RatePerSecond, 1e-9)
			if c.wantETA < 0 {
				require.Nil(t, p.ETASeconds)
			} else {
				require.NotNil(t, p.ETASeconds)
				require.InDelta(t, c.wantETA, *p.ETASeconds, 1e-9)
			}
		})
	}
}
