package loadgen_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/app"
	"github.com/rosterhq/roster/internal/loadgen"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

// TestScenariosAgainstRoster runs every scenario, small, against a real
// Roster over HTTP: each must finish its requests without an error.
func TestScenariosAgainstRoster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	r, err := app.New(ctx, app.Config{}, st)
	require.NoError(t, err)
	t.Cleanup(r.Close)
	tn, issued, err := r.Tenants.Bootstrap(ctx, "default", "")
	require.NoError(t, err)
	srv := httptest.NewServer(r.Handler)
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		scenario string
		n        int
		want     int // requests
		// serverPID: measure the server's CPU; the server runs in this
		// process, so this process's.
		serverPID bool
		phases    int // phase reports expected with serverPID
	}{
		{"create-users", 50, 50, false, 0},
		{"lookup", 30, 30, false, 0},
		{"patch-users", 40, 40, false, 0},
		{"list", 10, 10, false, 0},
		{"group-membership", 6, 6, false, 0},
		// 120 users: 240 queries and creates, 108 manager PATCHes (the 12
		// managers send none but count as done), one group (one per 100
		// users): query and create, 120 members in batches of 50: 3 PATCHes.
		{"entra-cycle", 120, 240 + 120 + 2 + 3, false, 0},
		{"lookup", 30, 30, true, 0},
		{"entra-cycle", 120, 240 + 120 + 2 + 3, true, 5},
	} {
		name := fmt.Sprintf("%s (server pid %v)", tc.scenario, tc.serverPID)
		o := loadgen.Options{
			URL: srv.URL + "/scim/v2/default", Token: issued.Plaintext, Scenario: tc.scenario,
			N: tc.n, Concurrency: 4, Seed: 100, Duration: time.Minute,
		}
		if tc.serverPID {
			o.ServerPID = os.Getpid()
		}
		rep, err := loadgen.Run(ctx, o)
		require.NoError(t, err, name)
		require.Empty(t, rep.Errors, name)
		require.Equal(t, tc.want, rep.Requests, name)
		require.Positive(t, rep.PerSecond, name)
		require.LessOrEqual(t, rep.P50, rep.P99, name)
		if !tc.serverPID {
			require.Nil(t, rep.ServerCPU, name)
			require.NotContains(t, rep.String(), "server CPU", name)
			require.Empty(t, rep.Phases, name)
			continue
		}
		require.NotNil(t, rep.ServerCPU, name)
		require.Equal(t, os.Getpid(), rep.ServerCPU.PID, name)
		require.InDelta(t, float64(rep.ServerCPU.Total.Microseconds())/float64(rep.Requests), rep.ServerCPU.PerRequestUS, 1, name)
		require.Contains(t, rep.String(), fmt.Sprintf("µs per request (pid %d,", os.Getpid()), name)
		require.Len(t, rep.Phases, tc.phases, name)
		var requests int
		var total time.Duration
		for _, p := range rep.Phases {
			require.NotNil(t, p.ServerCPU, p.Scenario)
			requests += p.Requests
			total += p.ServerCPU.Total
		}
		if tc.phases > 0 {
			require.Equal(t, rep.Requests, requests, name)
			require.Equal(t, rep.ServerCPU.Total, total, "the phases' CPU time adds up to the run's")
		}
	}

	// The group scenarios left their groups behind.
	page, err := st.Resources().Query(ctx, tn.ID, schema.Default().Group(), store.Query{Count: 10})
	require.NoError(t, err)
	require.Equal(t, 2+1, page.Total, "the entra-cycle groups and the group-membership one")
	_, err = loadgen.Run(ctx, loadgen.Options{URL: srv.URL + "/scim/v2/default", Token: issued.Plaintext, Scenario: "nope"})
	require.Error(t, err)
	// A server pid that is no process (above pid_max, at most 2²²) fails
	// before any request.
	users := func() int {
		page, err := st.Resources().Query(ctx, tn.ID, schema.Default().User(), store.Query{Count: 0})
		require.NoError(t, err)
		return page.Total
	}
	before := users()
	_, err = loadgen.Run(ctx, loadgen.Options{URL: srv.URL + "/scim/v2/default", Token: issued.Plaintext, Scenario: "lookup", N: 5, ServerPID: 1 << 30})
	require.ErrorContains(t, err, "is not running")
	require.Equal(t, before, users(), "nothing seeded")
}
