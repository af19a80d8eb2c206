package report_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/report"
)

func TestProgressPercent(t *testing.T) {
	for _, c := range []struct {
		processed, total int64
		want             float64
	}{
		{0, 0, -1},
		{5, 0, -1},
		{0, 10, 0},
		{5, 10, 50},
		{10, 10, 100},
		{12, 10, 100}, // an estimate the cycle went past
	} {
		require.Equal(t, c.want, report.Progress{Processed: c.processed, Total: c.total}.Percent(), "%d of %d", c.processed, c.total)
	}
}

func TestProgressOf(t *testing.T) {
	for _, c := range []struct {
		name, stats string
		want        *report.Progress
	}{
		{"none", ``, nil},
		{"ended cycle", `{"read":3,"created":1}`, nil},
		{"not JSON", `{"read":`, nil},
		{"running", `{"read":3,"progress":{"phase":"users","processed":2,"total":3,"ratePerSecond":1.5,"etaSeconds":0.5}}`,
			&report.Progress{Phase: "users", Processed: 2, Total: 3, RatePerSecond: 1.5, ETASeconds: ptr(0.5)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, report.ProgressOf(json.RawMessage(c.stats)))
		})
	}
}

func TestSteady(t *testing.T) {
	since := report.Totals{SteadySince: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	for _, c := range []struct {
		name string
		job  job.Job
		t    report.Totals
		want bool
	}{
		{"steady", job.Job{Status: job.StatusOn}, since, true},
		{"never steady", job.Job{Status: job.StatusOn}, report.Totals{}, false},
		{"initial pending", job.Job{Status: job.StatusOn, NeedsInitial: true}, since, false},
		{"paused", job.Job{Status: job.StatusPaused}, since, false},
		{"off", job.Job{Status: job.StatusOff}, since, false},
	} {
		require.Equal(t, c.want, report.Steady(c.job, c.t), c.name)
	}
}

func ptr[T any](v T) *T { return &v }

// FuzzProgressOf: whatever a cycle's stats hold, reading its progress and
// the job's totals never panics, and progress read back from its own JSON
// is the same.
func FuzzProgressOf(f *testing.F) {
	f.Add([]byte(`{"progress":{"phase":"users","processed":2,"total":3,"etaSeconds":1}}`))
	f.Add([]byte(`{"progress":null}`))
	f.Add([]byte(`{"cycles":"x"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = report.TotalsOf(b)
		p := report.ProgressOf(b)
		if p == nil {
			return
		}
		_ = p.Percent()
		again, err := json.Marshal(map[string]any{"progress": p})
		require.NoError(t, err)
		require.Equal(t, p, report.ProgressOf(again))
	})
}
