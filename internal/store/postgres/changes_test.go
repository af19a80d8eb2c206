package postgres_test

import (
	"context"
	"encoding/json"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/store/storetest"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/pgtest"
	"github.com/rosterhq/roster/internal/store/postgres"
)

// createdChange is the change of creating user id, with its one event.
func createdChange(tenant, id string) *store.Change {
	now := time.Now().UTC()
	return &store.Change{
		Tenant: tenant, Time: now, ResourceType: schema.UserResource, ResourceID: id, ResourceName: id,
		Operation: "create", Version: 1, Actor: "Scim System User",
		Events: []store.Event{{ID: uuid.NewString(), Type: store.UserCreated, Time: now,
			ResourceType: schema.UserResource, ResourceID: id, Data: json.RawMessage(`{"id":"` + id + `"}`)}},
	}
}

// createAndRecord creates user id and records its change, in the write w.
func createAndRecord(ctx context.Context, w store.Writer, c *store.Change) error {
	if err := w.Create(ctx, store.Resource{Tenant: c.Tenant, Type: schema.UserResource, ID: c.ResourceID, Version: 1,
		Attrs: map[string]any{"userName": c.ResourceID}}); err != nil {
		return err
	}
	return w.Record(ctx, c)
}

func eventIDs(es []store.Event) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// TestEventsCommitOrder is the reason the cursor is (txid, seq) and not a
// bigserial. Transaction A takes its id, then B takes a later one and
// commits while A stays open: a reader must not see B's event until A has
// ended, or a cursor past B's event would skip A's.
//
// Store.Write inserts a change's events with its COMMIT, so A's event
// gets the higher seq, yet the lower txid: the reader sees nothing, then
// A's and B's, in that order. A writer that inserts its event early (here
// one in SQL, holding the event writer lock as every write does) gets the
// lower seq, which a reader paging by seq would skip; the reader sees
// nothing, then A's and B's.
func TestEventsCommitOrder(t *testing.T) {
	t.Parallel()
	for _, early := range []bool{false, true} {
		name := map[bool]string{false: "Write", true: "EarlyInsert"}[early]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := pgtest.Open(t)
			require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
			a, b := createdChange("t1", "a"), createdChange("t1", "b")
			began, release, doneA := make(chan struct{}), make(chan struct{}), make(chan error, 1)
			// Should the test fail, A must still end, or closing the store
			// would wait for it.
			unblock := sync.OnceFunc(func() { close(release) })
			t.Cleanup(unblock)
			if early {
				go func() { doneA <- insertEarly(ctx, s, a, began, release) }()
			} else {
				go func() {
					doneA <- s.Write(ctx, func(w store.Writer) error {
						// A takes its transaction id.
						if err := w.Create(ctx, store.Resource{Tenant: "t1", Type: schema.UserResource, ID: "a", Version: 1,
							Attrs: map[string]any{"userName": "a"}}); err != nil {
							return err
						}
						close(began)
						<-release
						return w.Record(ctx, a)
					})
				}()
			}
			select {
			case <-began:
			case err := <-doneA:
				t.Fatalf("A ended early: %v", err)
			}
			require.NoError(t, s.Write(ctx, func(w store.Writer) error { return createAndRecord(ctx, w, b) }))

			if early {
				// The hazard: A's seq is below B's, which has committed,
				// so a reader paging by seq would pass A's event now and
				// never come back for it.
				rows, err := s.Pool().Query(ctx, "SELECT id FROM events ORDER BY seq")
				require.NoError(t, err)
				committed, err := pgx.CollectRows(rows, pgx.RowTo[string])
				require.NoError(t, err)
				require.Equal(t, []string{b.Events[0].ID}, committed, "A's row is not visible outside A yet")
			}
			for _, tenant := range []string{"", "t1"} {
				es, next, err := s.Events().List(ctx, store.EventQuery{Tenant: tenant})
				require.NoError(t, err)
				require.Empty(t, es, "B's event waits for A, which took its id first (tenant %q)", tenant)
				require.Empty(t, next)
			}

			unblock()
			require.NoError(t, <-doneA)
			var seqA, seqB int64
			require.NoError(t, s.Pool().QueryRow(ctx, "SELECT (SELECT seq FROM events WHERE id = $1), (SELECT seq FROM events WHERE id = $2)",
				a.Events[0].ID, b.Events[0].ID).Scan(&seqA, &seqB))
			require.Equal(t, early, seqA < seqB, "A's seq is below B's only if it inserted early")
			for _, tenant := range []string{"", "t1"} {
				es, next, err := s.Events().List(ctx, store.EventQuery{Tenant: tenant})
				require.NoError(t, err)
				require.Equal(t, []string{a.Events[0].ID, b.Events[0].ID}, eventIDs(es), "A's, then B's (tenant %q)", tenant)
				require.Equal(t, b.Events[0].Cursor, next)
				if !early {
					require.Equal(t, a.Events[0].Cursor, es[0].Cursor, "the cursor Record set")
				}
			}
		})
	}
}

// insertEarly writes c's one event with SQL of its own in a transaction
// that, as Store.Write does, takes the event writer lock before its id;
// it closes began once the event is inserted and commits once release is
// closed.
func insertEarly(ctx context.Context, s *postgres.Store, c *store.Change, began, release chan struct{}) error {
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	k1, k2 := s.EventWriterLock()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock_shared($1, $2)", k1, k2); err != nil {
		return err
	}
	e := c.Events[0]
	if _, err := tx.Exec(ctx, `INSERT INTO events (tenant, tenant_id, id, type, time, resource_type, resource_id, data)
		SELECT key, id, $2, $3, $4, $5, $6, $7 FROM tenants WHERE id = $1`,
		c.Tenant, e.ID, e.Type, e.Time, e.ResourceType, e.ResourceID, string(e.Data)); err != nil {
		return err
	}
	close(began)
	<-release
	return tx.Commit(ctx)
}

// A reader following the cursor while A is open, B commits and then A
// commits, sees both events, none skipped and none twice.
func TestEventsFollowAcrossLateCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.Open(t)
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
	first := createdChange("t1", "first")
	require.NoError(t, s.Write(ctx, func(w store.Writer) error { return createAndRecord(ctx, w, first) }))
	es, cursor, err := s.Events().List(ctx, store.EventQuery{})
	require.NoError(t, err)
	require.Equal(t, []string{first.Events[0].ID}, eventIDs(es))

	a, b := createdChange("t1", "a"), createdChange("t1", "b")
	inside, release, doneA := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	unblock := sync.OnceFunc(func() { close(release) })
	t.Cleanup(unblock)
	go func() {
		doneA <- s.Write(ctx, func(w store.Writer) error {
			if err := createAndRecord(ctx, w, a); err != nil {
				return err
			}
			close(inside)
			<-release
			return nil
		})
	}()
	select {
	case <-inside:
	case err := <-doneA:
		t.Fatalf("A ended early: %v", err)
	}
	require.NoError(t, s.Write(ctx, func(w store.Writer) error { return createAndRecord(ctx, w, b) }))
	var seen []store.Event
	for range 3 {
		es, next, err := s.Events().List(ctx, store.EventQuery{After: cursor})
		require.NoError(t, err)
		seen, cursor = append(seen, es...), next
	}
	require.Empty(t, seen, "nothing while A is open")
	unblock()
	require.NoError(t, <-doneA)
	for range 3 {
		es, next, err := s.Events().List(ctx, store.EventQuery{After: cursor})
		require.NoError(t, err)
		seen, cursor = append(seen, es...), next
	}
	require.Equal(t, []string{a.Events[0].ID, b.Events[0].ID}, eventIDs(seen))
}

// Only transactions that may write this schema's events hold its readers
// back: a long transaction of another application (or another schema, or a
// migration) does not, although it holds back the cluster's xmin.
func TestEventsNotHeldBackByOtherTransactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.Open(t)
	other := pgtest.Open(t) // another schema, in the same database
	for _, st := range []*postgres.Store{s, other} {
		require.NoError(t, storetest.Write(st).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
	}

	conn, err := pgx.Connect(ctx, pgtest.ServerDSN(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	var longXID uint64
	require.NoError(t, tx.QueryRow(ctx, "SELECT pg_current_xact_id()").Scan(&longXID))

	inside, release, doneOther := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		doneOther <- other.Write(ctx, func(w store.Writer) error {
			if err := createAndRecord(ctx, w, createdChange("t1", "x")); err != nil {
				return err
			}
			close(inside)
			<-release
			return nil
		})
	}()
	select {
	case <-inside:
	case err := <-doneOther:
		t.Fatalf("the other write ended early: %v", err)
	}
	defer func() { close(release); require.NoError(t, <-doneOther) }() // before the stores close

	c := createdChange("t1", "u1")
	require.NoError(t, s.Write(ctx, func(w store.Writer) error { return createAndRecord(ctx, w, c) }))
	var xmin uint64
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT pg_snapshot_xmin(pg_current_snapshot())").Scan(&xmin))
	require.LessOrEqual(t, xmin, longXID, "the cluster's xmin is held back")
	es, _, err := s.Events().List(ctx, store.EventQuery{})
	require.NoError(t, err)
	require.Equal(t, []string{c.Events[0].ID}, eventIDs(es), "read at once")
}

// A cursor in the format of this backend but naming a transaction this
// database has not run is invalid, as are other formats.
func TestEventCursorFromElsewhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.Open(t)
	for _, cur := range []string{"18446744073709551615.1", "1", "1.2.3", "1.", ".1", "1.-2", "a.1"} {
		_, _, err := s.Events().List(ctx, store.EventQuery{After: cur})
		require.ErrorIs(t, err, store.ErrInvalidCursor, "%q", cur)
	}
	_, _, err := s.Events().List(ctx, store.EventQuery{After: "3.0"})
	require.NoError(t, err)
}

// The horizon takes the 32-bit ids of the writers to the epoch of xmax,
// or the one before, and ignores those at or above xmax.
func TestHorizon(t *testing.T) {
	t.Parallel()
	const epoch = uint64(1) << 32
	for _, tc := range []struct {
		xmax uint64
		xids []int64
		want uint64
	}{
		{1000, nil, 1000},
		{1000, []int64{990, 995}, 990},
		{1000, []int64{1000, 1005}, 1000},
		{5*epoch + 10, []int64{5}, 5*epoch + 5},
		{5*epoch + 10, []int64{math.MaxUint32 - 1}, 5*epoch - 2},
		{5*epoch + 10, []int64{math.MaxUint32 - 1, 7}, 5*epoch - 2},
		{5*epoch + 10, []int64{12}, 5*epoch + 10},
	} {
		require.Equal(t, tc.want, postgres.Horizon(tc.xmax, tc.xids), "%d %v", tc.xmax, tc.xids)
	}
}
