package feed_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/store/storetest"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/feed"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/pgtest"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

// backends runs fn on SQLite and, with ROSTER_TEST_PG_DSN, on PostgreSQL.
func backends(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		st := pgtest.Open(t)
		fn(t, st)
	})
}

func tenant(t *testing.T, st store.Store, id string) {
	require.NoError(t, storetest.Write(st).Tenants().Create(context.Background(), store.Tenant{ID: id, Name: id, Created: time.Now()}))
}

// emit records one change with one event for tenant, at time at.
func emit(t *testing.T, st store.Store, tenant, label string, at time.Time) store.Event {
	t.Helper()
	c := &store.Change{
		Tenant: tenant, Time: at, ResourceType: "User", ResourceID: label, Operation: "create", Actor: "test",
		Events: []store.Event{{ID: tenant + "-" + label, Type: store.UserCreated, Time: at, ResourceType: "User",
			ResourceID: label, Data: []byte(`{"resource":{}}`)}},
	}
	require.NoError(t, st.Write(context.Background(), func(w store.Writer) error { return w.Record(context.Background(), c) }))
	return c.Events[0]
}

func ids(evs []store.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// TestLongPollWakesAtCommit shows a read that waits returning as soon as
// an event commits, woken by the committed signal rather than its poll.
func TestLongPollWakesAtCommit(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		tenant(t, st, "a")
		wake := make(chan struct{})
		f := feed.New(st, func() <-chan struct{} { return wake }, time.Hour)
		var caught string
		got := make(chan []store.Event, 1)
		go func() {
			evs, _, err := f.Read(context.Background(), store.EventQuery{Tenant: "a"}, 30*time.Second)
			if err != nil {
				t.Error(err)
			}
			got <- evs
		}()
		time.Sleep(100 * time.Millisecond)
		emit(t, st, "a", "1", time.Now())
		start := time.Now()
		close(wake)
		select {
		case evs := <-got:
			require.Equal(t, []string{"a-1"}, ids(evs))
			caught = evs[0].Cursor
			require.Less(t, time.Since(start), 5*time.Second)
		case <-time.After(10 * time.Second):
			t.Fatal("the long poll did not wake")
		}

		// With nothing to read, a wait ends empty when its time is up, and
		// Close ends a wait at once.
		evs, _, err := f.Read(context.Background(), store.EventQuery{Tenant: "a", After: "zz"}, 0)
		require.ErrorIs(t, err, store.ErrInvalidCursor)
		require.Empty(t, evs)
		done := make(chan struct{})
		go func() {
			_, _, _ = f.Read(context.Background(), store.EventQuery{Tenant: "a", After: caught}, time.Minute)
			close(done)
		}()
		time.Sleep(50 * time.Millisecond)
		f.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not end the wait")
		}
	})
}

// TestQuietTenantNeverExpires: a caught-up reader of a quiet tenant moves
// past other tenants' events, so retention purging them does not make its
// cursor expire; a reader really behind the purge gets ErrExpired.
func TestQuietTenantNeverExpires(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		tenant(t, st, "quiet")
		tenant(t, st, "busy")
		old := time.Now().Add(-48 * time.Hour)
		first := emit(t, st, "quiet", "q1", old)
		f := feed.New(st, nil, 10*time.Millisecond)
		evs, next, err := f.Read(ctx, store.EventQuery{Tenant: "quiet"}, 0)
		require.NoError(t, err)
		require.Equal(t, []string{"quiet-q1"}, ids(evs))
		behind := next
		for i := range 5 {
			emit(t, st, "busy", fmt.Sprint(i), old)
		}
		evs, next, err = f.Read(ctx, store.EventQuery{Tenant: "quiet", After: next}, 0)
		require.NoError(t, err)
		require.Empty(t, evs)
		require.NotEqual(t, behind, next, "the cursor moved past the busy tenant's events")

		n, err := st.Events().Purge(ctx, time.Now().Add(-time.Hour), 100)
		require.NoError(t, err)
		require.Equal(t, 6, n)
		_, _, err = f.Read(ctx, store.EventQuery{Tenant: "quiet", After: next}, 0)
		require.NoError(t, err, "a caught-up reader is not behind")
		_, _, err = f.Read(ctx, store.EventQuery{Tenant: "quiet", After: first.Cursor}, 0)
		require.ErrorIs(t, err, feed.ErrExpired, "this reader missed the busy tenant's purged events and cannot tell they were not its own")

		emit(t, st, "quiet", "q2", time.Now())
		evs, _, err = f.Read(ctx, store.EventQuery{Tenant: "quiet", After: next}, 0)
		require.NoError(t, err)
		require.Equal(t, []string{"quiet-q2"}, ids(evs))
	})
}

// TestSubscribeResumes: a subscription hands every event once in order,
// keeps its cursor, stops on a handler error with the failed event handed
// again on resume, and picks up what was committed while it was stopped.
func TestSubscribeResumes(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		tenant(t, st, "a")
		for i := range 5 {
			emit(t, st, "a", fmt.Sprint(i), time.Now())
		}
		f := feed.New(st, nil, 10*time.Millisecond)
		var seen []string
		boom := errors.New("app database down")
		err := f.Subscribe(ctx, feed.Subscription{Name: "app", Batch: 2}, func(_ context.Context, e store.Event) error {
			if e.ID == "a-3" {
				return boom
			}
			seen = append(seen, e.ID)
			return nil
		}, nil)
		require.ErrorIs(t, err, boom)
		require.Equal(t, []string{"a-0", "a-1", "a-2"}, seen)

		emit(t, st, "a", "5", time.Now())
		sctx, cancel := context.WithCancel(ctx)
		seen = nil
		err = f.Subscribe(sctx, feed.Subscription{Name: "app"}, func(_ context.Context, e store.Event) error {
			seen = append(seen, e.ID)
			if e.ID == "a-5" {
				cancel()
			}
			return nil
		}, nil)
		require.NoError(t, err)
		require.Equal(t, []string{"a-3", "a-4", "a-5"}, seen, "resumes at the failed event, nothing handled twice")
	})
}
