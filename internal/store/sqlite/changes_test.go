package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/store/storetest"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
)

// Every read of the history and the outbox reaches its rows through an
// index: no step of its plan scans history or events, so none reads other
// tenants' rows or the whole table. Retention deletes read the oldest rows
// in primary-key order, at most their limit: a scan, but a bounded one,
// with no sort.
func TestChangePlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "roster.db"))
	since := time.Now()
	queries := map[string][]any{
		eventsSQL:       {1, 100},
		eventsTenantSQL: {1, 1, 100},
		oldestEventSQL:  nil,
		lastEventSQL:    nil,
		clearGroupSQL:   {1},
		webhookSQL:      {"w"},
		webhookListSQL:  {"t"},
	}
	for _, q := range []store.HistoryQuery{
		{},
		{ResourceID: "u1"},
		{ResourceType: schema.UserResource, ResourceID: "u1"},
		{ResourceType: schema.GroupResource},
		{UserName: "alice"},
		{UserName: "alice", ResourceID: "u1", Actor: "x", Since: since, Until: since, After: 5, Limit: 3},
		{Actor: "x", Since: since},
	} {
		query, args := historySQL(1, q)
		queries[query] = args
	}
	plan := func(query string, args []any) []string {
		rows, err := s.rdb.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
		require.NoError(t, err, query)
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Err())
		return plan
	}
	for _, query := range []string{purgeHistorySQL, purgeEventsSQL, purgedNewestSQL} {
		p := plan(query, []any{"x", 100})
		require.NotContains(t, strings.Join(p, "\n"), "TEMP B-TREE", "%s\nplan: %q", query, p)
	}
	for query, args := range queries {
		rows, err := s.rdb.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
		require.NoError(t, err, query)
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Err())
		require.NotEmpty(t, plan)
		for _, step := range plan {
			if name, ok := strings.CutPrefix(step, "SCAN "); ok {
				name, _, _ = strings.Cut(name, " ")
				require.NotContains(t, []string{"history", "h", "events", "e", "memberships", "webhook_endpoints"}, name,
					"%s\nplan: %q", query, plan)
			}
		}
		if testing.Verbose() {
			t.Logf("%s\n\t%s", query, strings.Join(plan, "\n\t"))
		}
	}
}

// A cursor past the last event ever written, such as one kept from before
// the database was restored from an older backup, fails instead of
// silently skipping the events up to it.
func TestEventCursorPastEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
	for _, tenant := range []string{"", "t1", "no-such-tenant"} {
		_, _, err := s.Events().List(ctx, store.EventQuery{Tenant: tenant, After: "1"})
		require.ErrorIs(t, err, store.ErrInvalidCursor, tenant)
	}
	c := &store.Change{Tenant: "t1", ResourceType: schema.UserResource, ResourceID: "u1", Operation: "create", Actor: "x",
		Events: []store.Event{{ID: "e1", Type: store.UserCreated, Data: []byte(`{}`)}, {ID: "e2", Type: store.UserDeactivated, Data: []byte(`{}`)}}}
	require.NoError(t, s.Write(ctx, func(w store.Writer) error { return w.Record(ctx, c) }))
	last := c.Events[1].Cursor
	n, _ := strconv.ParseInt(last, 10, 64)
	for _, tenant := range []string{"", "t1", "no-such-tenant"} {
		es, next, err := s.Events().List(ctx, store.EventQuery{Tenant: tenant, After: last})
		require.NoError(t, err, tenant)
		require.Empty(t, es)
		require.Equal(t, last, next)
		_, _, err = s.Events().List(ctx, store.EventQuery{Tenant: tenant, After: strconv.FormatInt(n+1, 10)})
		require.ErrorIs(t, err, store.ErrInvalidCursor, tenant)
	}
	// Purged events do not make their cursors invalid.
	purged, err := s.Events().Purge(ctx, time.Now().Add(time.Hour), 10)
	require.NoError(t, err)
	require.Equal(t, 2, purged)
	_, _, err = s.Events().List(ctx, store.EventQuery{After: last})
	require.NoError(t, err)
	oldest, err := s.Events().Oldest(ctx)
	require.NoError(t, err)
	require.Equal(t, last, oldest)
}

// With group commit, several writes share a transaction, each after a
// savepoint: the history and events of one that fails are rolled back with
// it, the seqs it took are handed to the next, and the others' stay, their
// cursors ascending in commit order.
func TestRecordInGroupCommitBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
	change := func(i int) *store.Change {
		id := fmt.Sprintf("u%d", i)
		return &store.Change{Tenant: "t1", ResourceType: schema.UserResource, ResourceID: id, ResourceName: id,
			Operation: "create", Actor: "x", RequestID: id,
			Events: []store.Event{{ID: "e-" + id, Type: store.UserCreated, Data: []byte(`{}`)}}}
	}

	// The first write holds the writer goroutine until the others queue.
	hold, started := make(chan struct{}), make(chan struct{})
	first := change(0)
	errs := make(chan error, 1)
	go func() {
		errs <- s.Write(ctx, func(w store.Writer) error {
			close(started)
			<-hold
			return w.Record(ctx, first)
		})
	}()
	<-started
	const n = 6
	cs := make([]*store.Change, n)
	results := make([]error, n)
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		cs[i] = change(i)
		wg.Go(func() {
			results[i] = s.Write(ctx, func(w store.Writer) error {
				if err := w.Create(ctx, store.Resource{Tenant: "t1", Type: schema.UserResource, ID: cs[i].ResourceID,
					Attrs: map[string]any{"userName": cs[i].ResourceName}, Version: 1}); err != nil {
					return err
				}
				if err := w.Record(ctx, cs[i]); err != nil {
					return err
				}
				if i%2 == 0 {
					return fmt.Errorf("write %d: %w", i, errBoomSQLite)
				}
				return nil
			})
		})
	}
	time.Sleep(50 * time.Millisecond) // the others are waiting to be taken
	close(hold)
	wg.Wait()
	require.NoError(t, <-errs)

	want := []string{first.Events[0].ID}
	var seqs []int64
	for i := 1; i < n; i++ {
		if i%2 == 0 {
			require.ErrorIs(t, results[i], errBoomSQLite)
			continue
		}
		require.NoError(t, results[i])
		want = append(want, cs[i].Events[0].ID)
		seqs = append(seqs, cs[i].Seq)
	}
	es, _, err := s.Events().List(ctx, store.EventQuery{})
	require.NoError(t, err)
	got := make([]string, 0, len(es))
	for i, e := range es {
		got = append(got, e.ID)
		if i > 0 {
			prev, _ := strconv.ParseInt(es[i-1].Cursor, 10, 64)
			cur, _ := strconv.ParseInt(e.Cursor, 10, 64)
			require.Greater(t, cur, prev)
		}
	}
	require.ElementsMatch(t, want, got)
	hs, err := s.History().List(ctx, store.HistoryQuery{Tenant: "t1"})
	require.NoError(t, err)
	require.Len(t, hs, len(want))
	var stored []int64
	for _, h := range hs {
		if h.RequestID != first.RequestID {
			stored = append(stored, h.Seq)
		}
	}
	require.ElementsMatch(t, seqs, stored, "the Seq each Record set is the stored one")
}

var errBoomSQLite = errors.New("boom")

// A Record that fails writes nothing, even when the write goes on and
// commits.
func TestRecordFailsWhole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
	c := &store.Change{Tenant: "t1", ResourceType: schema.UserResource, ResourceID: "u1", Operation: "create", Actor: "x",
		Events: []store.Event{{ID: "e1", Type: store.UserCreated, Data: []byte(`{}`)}, {ID: "e2", Type: store.UserUpdated, Data: []byte(`{"a":`)}}}
	var recordErr error
	require.NoError(t, s.Write(ctx, func(w store.Writer) error {
		recordErr = w.Record(ctx, c)
		return nil
	}))
	require.ErrorContains(t, recordErr, "not JSON")
	require.Zero(t, c.Seq)
	require.Empty(t, c.Events[0].Cursor)
	hs, err := s.History().List(ctx, store.HistoryQuery{Tenant: "t1"})
	require.NoError(t, err)
	require.Empty(t, hs)
	es, _, err := s.Events().List(ctx, store.EventQuery{})
	require.NoError(t, err)
	require.Empty(t, es)
}
