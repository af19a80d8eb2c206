package background_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/background"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/pgtest"
	"github.com/rosterhq/roster/internal/store/postgres"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

// TestOneNodeRunsEachPeriod runs the same task on three "nodes" — three
// stores on one database file, as three processes would be — and shows it
// ran about once per period in all, never twice at once, and that another
// node takes over when the holder stops.
func TestOneNodeRunsEachPeriod(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "roster.db")
	runOnNodes(t, func(ctx context.Context) (store.Store, error) { return sqlite.Open(ctx, path) })
}

// TestOneNodeRunsEachPeriodPostgres is the same with three nodes on one
// PostgreSQL schema.
func TestOneNodeRunsEachPeriodPostgres(t *testing.T) {
	t.Parallel()
	dsn, schema := pgtest.ServerDSN(t), pgtest.Schema(t)
	runOnNodes(t, func(ctx context.Context) (store.Store, error) {
		return postgres.Open(ctx, dsn, postgres.WithSchema(schema))
	})
}

func runOnNodes(t *testing.T, open func(context.Context) (store.Store, error)) {
	const period = 100 * time.Millisecond
	var runs, running, overlaps atomic.Int32
	perNode := make([]atomic.Int32, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	cancels := make([]context.CancelFunc, 3)
	for i := range 3 {
		st, err := open(ctx)
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		nctx, ncancel := context.WithCancel(ctx)
		cancels[i] = ncancel
		r := background.NewRunner(st.Leases(), nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Run(nctx, background.Task{Name: "count", Every: period, Run: func(context.Context) error {
				if running.Add(1) > 1 {
					overlaps.Add(1)
				}
				runs.Add(1)
				perNode[i].Add(1)
				time.Sleep(period / 4)
				running.Add(-1)
				return nil
			}})
		}()
	}
	// Count from here: the first nodes ran while the others were opening,
	// which on a loaded machine (migrations under a lock) takes many periods.
	start, before0 := time.Now(), runs.Load()
	time.Sleep(20 * period)
	n := runs.Load() - before0
	// On a loaded machine the sleep can outlast 20 periods: expect runs for
	// the time that really passed (three nodes each running every period
	// would make three times as many).
	periods := float64(time.Since(start)) / float64(period)
	require.Zero(t, overlaps.Load(), "two nodes ran the task at once")
	require.InDelta(t, periods, n, 0.3*periods+2, "about one run per period across all nodes, not one per node (%d runs in %.1f periods)", n, periods)

	// Stop whichever node holds the lease: another takes over.
	holder := 0
	for i := range perNode {
		if perNode[i].Load() > perNode[holder].Load() {
			holder = i
		}
	}
	before := make([]int32, 3)
	for i := range perNode {
		before[i] = perNode[i].Load()
	}
	cancels[holder]()
	time.Sleep(10 * period)
	others := int32(0)
	for i := range perNode {
		if i != holder {
			others += perNode[i].Load() - before[i]
		}
	}
	require.GreaterOrEqual(t, others, int32(5), "another node took over")
	cancel()
	wg.Wait()
}
