package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/engine"
	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/report"
	"github.com/rosterhq/roster/internal/provision/source/ldapsource/slapdtest"
)

// TestProgressAndStatistics runs cycles slowed by the target's request
// rate, from slapd to a Roster tenant over HTTP, and checks what another
// reader of the store sees meanwhile (a Running cycle with its progress),
// the statistics to date after each cycle, the steady state, and the
// engine's metrics scraped over HTTP.
func TestProgressAndStatistics(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			w := newWorldOn(t, backend)
			reg := prometheus.NewRegistry()
			w.eng = engine.New(engine.Config{Store: w.st, FlushEvery: 20 * time.Millisecond, Metrics: reg})
			metricsURL := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})).URL
			const users = 8
			var dns []string
			for i := range users {
				dns = append(dns, w.addUser(fmt.Sprintf("p%02d", i), nil))
			}
			// Four requests a second on one connection: a cycle of eight
			// writes takes two seconds or more, time to watch it.
			doc := fmt.Sprintf(`name: e2e
source: {type: ldap, url: %q, bindDN: %q, bindPassword: %q, baseDN: %q}
target: {url: %q, token: %q, requestsPerSecond: 4, concurrency: 1}
scope: all
`, slapd.url, slapdtest.RootDN, slapdtest.RootPW, w.base, w.target, w.token)
			j, err := job.Parse([]byte(doc), func(string) (string, bool) { return "", false })
			require.NoError(t, err)
			ctx := context.Background()
			_, _, err = w.jobs.Apply(ctx, j, "test")
			require.NoError(t, err)
			_, err = w.jobs.SetStatus(ctx, "e2e", job.StatusOn, "test")
			require.NoError(t, err)
			reports := report.New(w.st)

			// The initial cycle, watched by another reader.
			seen, first := w.runWatched(reports)
			require.Equal(t, "users", seen.Phase)
			require.Less(t, seen.Processed, seen.Total, "seen while users were still being created")
			require.Equal(t, int64(users), seen.Total, "a first full read estimates what it has read")
			require.NotNil(t, seen.ETASeconds)
			require.Greater(t, seen.RatePerSecond, 0.0)
			require.Less(t, *seen.ETASeconds, 30.0, "a sane ETA at four objects a second")
			st, err := reports.State(ctx, "e2e")
			require.NoError(t, err)
			require.Nil(t, st.Progress, "no progress once the cycle ended")
			require.Equal(t, "initial", st.LastCycle.Kind)
			require.False(t, st.SteadyState, "an initial cycle is not steady")
			require.Equal(t, int64(1), st.Totals.Cycles)
			require.Equal(t, int64(users), st.Totals.Created)
			require.Equal(t, int64(users), st.Totals.LastFullRead)
			require.False(t, st.Totals.LastSucceeded.IsZero())

			// An incremental cycle updating every user.
			for _, dn := range dns {
				w.modify(dn, func(m *ldap.ModifyRequest) { m.Replace("sn", []string{"Changed"}) })
			}
			seen, second := w.runWatched(reports)
			require.Less(t, seen.Processed, seen.Total)
			st, err = reports.State(ctx, "e2e")
			require.NoError(t, err)
			require.Equal(t, "incremental", st.LastCycle.Kind)
			require.True(t, st.SteadyState, "an incremental cycle that succeeded with nothing failed is steady")
			require.Equal(t, report.Totals{Cycles: 2, Succeeded: 2, Read: first.Stats.Read + second.Stats.Read,
				Created: users, Updated: users, LastSucceeded: second.Ended,
				LastDurationMS: float64(second.Ended.Sub(second.Started).Microseconds()) / 1000, LastFullRead: users,
				SteadySince: second.Ended}, st.Totals, "the statistics to date add up both cycles")

			// An initial cycle again ends the steady state.
			_, err = w.eng.Run(ctx, "e2e", engine.RunOptions{Initial: true})
			require.NoError(t, err)
			st, err = reports.State(ctx, "e2e")
			require.NoError(t, err)
			require.False(t, st.SteadyState)
			require.Equal(t, int64(3), st.Totals.Cycles)
			require.True(t, st.Totals.SteadySince.IsZero())

			m := scrape(t, metricsURL)
			for name, want := range map[string]float64{
				`roster_provision_cycles_total{job="e2e",status="Succeeded",type="initial"}`:     2,
				`roster_provision_cycles_total{job="e2e",status="Succeeded",type="incremental"}`: 1,
				`roster_provision_objects_total{action="Create",job="e2e",status="Success"}`:     users,
				`roster_provision_objects_total{action="Update",job="e2e",status="Success"}`:     users,
				`roster_provision_cycle_duration_seconds_count{job="e2e",type="initial"}`:        2,
				`roster_provision_steady_state{job="e2e"}`:                                       0,
				`roster_provision_cycle_running{job="e2e"}`:                                      0,
			} {
				require.Contains(t, m, name)
				require.Equal(t, want, m[name], name)
			}
		})
	}
}

// runWatched runs a cycle of the job and, meanwhile, reads the job's
// state as another process would until it sees progress with objects
// left to process; it returns that progress.
func (w *world) runWatched(reports *report.Reader) (report.Progress, engine.Report) {
	w.t.Helper()
	done, reps := make(chan error, 1), make(chan engine.Report, 1)
	go func() {
		rep, err := w.eng.Run(context.Background(), "e2e", engine.RunOptions{})
		reps <- rep
		done <- err
	}()
	var seen *report.Progress
	for {
		select {
		case err := <-done:
			require.NoError(w.t, err)
			require.NotNil(w.t, seen, "the running cycle's progress was seen")
			return *seen, <-reps
		case <-time.After(100 * time.Millisecond):
		}
		st, err := reports.State(context.Background(), "e2e")
		require.NoError(w.t, err)
		if seen == nil && st.Progress != nil && st.Progress.Processed < st.Progress.Total && st.Progress.Processed > 0 {
			require.Equal(w.t, engine.CycleRunning, st.LastCycle.Status)
			p := *st.Progress
			seen = &p
		}
	}
}

// scrape reads a Prometheus text exposition into values by series.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	require.NoError(t, sc.Err())
	return out
}
