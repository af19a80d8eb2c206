package loadgen_test

import (
	"context"
	"net/http/httptest"
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
	}{
		{"create-users", 50, 50},
		{"lookup", 30, 30},
		{"patch-users", 40, 40},
		{"list", 10, 10},
		{"group-membership", 6, 6},
		// 120 users: 240 queries and creates, 108 manager PATCHes (the 12
		// managers send none but count as done), one group (one per 100
		// users): query and create, 120 members in batches of 50: 3 PATCHes.
		{"entra-cycle", 120, 240 + 120 + 2 + 3},
	} {
		rep, err := loadgen.Run(ctx, loadgen.Options{
			URL: srv.URL + "/scim/v2/default", Token: issued.Plaintext, Scenario: tc.scenario,
			N: tc.n, Concurrency: 4, Seed: 100, Duration: time.Minute,
		})
		require.NoError(t, err, tc.scenario)
		require.Empty(t, rep.Errors, tc.scenario)
		require.Equal(t, tc.want, rep.Requests, tc.scenario)
		require.Positive(t, rep.PerSecond, tc.scenario)
		require.LessOrEqual(t, rep.P50, rep.P99, tc.scenario)
	}

	// The group scenarios left their groups behind.
	page, err := st.Resources().Query(ctx, tn.ID, schema.Default().Group(), store.Query{Count: 10})
	require.NoError(t, err)
	require.Equal(t, 1+1, page.Total, "the entra-cycle group and the group-membership one")
	_, err = loadgen.Run(ctx, loadgen.Options{URL: srv.URL + "/scim/v2/default", Token: issued.Plaintext, Scenario: "nope"})
	require.Error(t, err)
}
