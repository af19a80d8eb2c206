package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/store/storetest"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/pgtest"
	"github.com/rosterhq/roster/internal/store/postgres"
)

// A transaction that PostgreSQL aborts as a deadlock victim is run again;
// other errors come back at once and unchanged.
func TestWriteRetries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.Open(t)
	deadlock := fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "40P01", Message: "deadlock detected"})

	calls := 0
	require.NoError(t, s.Write(ctx, func(store.Writer) error {
		if calls++; calls == 1 {
			return deadlock
		}
		return nil
	}))
	require.Equal(t, 2, calls)

	calls = 0
	err := s.Write(ctx, func(store.Writer) error { calls++; return deadlock })
	require.ErrorIs(t, err, deadlock)
	require.Equal(t, 5, calls, "the first run and four more")

	calls = 0
	boom := errors.New("boom")
	require.Equal(t, boom, s.Write(ctx, func(store.Writer) error { calls++; return boom }))
	require.Equal(t, 1, calls)
}

// Two writes that lock two resources in opposite orders deadlock; the one
// PostgreSQL aborts is run again and both succeed.
func TestWriteDeadlockRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.Open(t)
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
	for _, id := range []string{"a", "b"} {
		require.NoError(t, s.Write(ctx, func(w store.Writer) error {
			return w.Create(ctx, store.Resource{Tenant: "t1", Type: schema.UserResource, ID: id, Attrs: map[string]any{"userName": id}, Version: 1})
		}))
	}
	var (
		both     sync.WaitGroup
		attempts atomic.Int32
		errs     = make(chan error, 2)
	)
	both.Add(2)
	for _, order := range [][2]string{{"a", "b"}, {"b", "a"}} {
		go func() {
			first := true
			errs <- s.Write(ctx, func(w store.Writer) error {
				attempts.Add(1)
				if _, err := w.Get(ctx, "t1", schema.UserResource, order[0]); err != nil {
					return err
				}
				if first {
					// Both hold their first lock before either asks for
					// its second.
					first = false
					both.Done()
					both.Wait()
				}
				r, err := w.Get(ctx, "t1", schema.UserResource, order[1])
				if err != nil {
					return err
				}
				r.Version++
				return w.Update(ctx, r)
			})
		}()
	}
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	require.Equal(t, int32(3), attempts.Load(), "one of the two ran again")
	a, err := s.Resources().Get(ctx, "t1", schema.UserResource, "a")
	require.NoError(t, err)
	b, err := s.Resources().Get(ctx, "t1", schema.UserResource, "b")
	require.NoError(t, err)
	require.Equal(t, []int64{2, 2}, []int64{a.Version, b.Version}, "each updated once")
}

// seedDeletable gives a tenant users, groups with many members and
// multi-valued attributes, and returns its key.
func seedDeletable(t *testing.T, s *postgres.Store, tenant string, users int) int64 {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: tenant, Name: tenant}))
	ids := make([]string, users)
	require.NoError(t, s.Write(ctx, func(w store.Writer) error {
		for i := range ids {
			ids[i] = fmt.Sprintf("u%04d", i)
			if err := w.Create(ctx, store.Resource{Tenant: tenant, Type: schema.UserResource, ID: ids[i], Version: 1, Attrs: map[string]any{
				"userName": ids[i], "emails": []any{map[string]any{"value": ids[i] + "@example.com"}},
			}}); err != nil {
				return err
			}
			if err := w.Record(ctx, createdChange(tenant, ids[i])); err != nil {
				return err
			}
		}
		for _, g := range []string{"all", "half", "nested"} {
			if err := w.Create(ctx, store.Resource{Tenant: tenant, Type: schema.GroupResource, ID: g, Version: 1,
				Attrs: map[string]any{"displayName": g}}); err != nil {
				return err
			}
		}
		if _, err := w.AddMembers(ctx, tenant, "all", ids); err != nil {
			return err
		}
		if _, err := w.AddMembers(ctx, tenant, "half", ids[:users/2]); err != nil {
			return err
		}
		_, err := w.AddMembers(ctx, tenant, "nested", []string{"all", "half", ids[0]})
		return err
	}))
	require.NoError(t, storetest.Write(s).Tokens().Create(ctx, store.Token{ID: "tok-" + tenant, Tenant: tenant, SecretHash: []byte{1}}))
	require.NoError(t, storetest.Write(s).Webhooks().Create(ctx, store.WebhookEndpoint{ID: "wh-" + tenant, Tenant: tenant, URL: "https://example.com/hook", MaxAttempts: 1}))
	var k int64
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT key FROM tenants WHERE id = $1", tenant).Scan(&k))
	return k
}

// leftUnder counts the rows left under a tenant key, and its deletion
// record.
func leftUnder(t *testing.T, s *postgres.Store, k int64) int {
	t.Helper()
	var n int
	require.NoError(t, s.Pool().QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM resources WHERE tenant = $1) +
		(SELECT count(*) FROM resource_values WHERE tenant = $1) +
		(SELECT count(*) FROM memberships m WHERE NOT EXISTS (SELECT 1 FROM resources r WHERE r.seq = m.group_seq)) +
		(SELECT count(*) FROM resource_counts WHERE tenant = $1) +
		(SELECT count(*) FROM history WHERE tenant = $1) +
		(SELECT count(*) FROM events WHERE tenant = $1) +
		(SELECT count(*) FROM tenant_deletions WHERE key = $1)`, k).Scan(&n))
	return n
}

// Delete removes a tenant in batches and leaves nothing under its key,
// while the other tenant keeps everything.
func TestDeleteTenantInBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var batches atomic.Int32
	s := pgtest.Open(t, postgres.WithPurgeRows(100), postgres.WithPurgeHook(func(int64) error { batches.Add(1); return nil }))
	k := seedDeletable(t, s, "doomed", 300)
	other := seedDeletable(t, s, "kept", 20)
	before := leftUnder(t, s, other)
	require.NoError(t, storetest.Write(s).Tenants().Delete(ctx, "doomed"))
	require.Zero(t, leftUnder(t, s, k))
	require.Equal(t, before, leftUnder(t, s, other))
	require.Greater(t, batches.Load(), int32(14), "about 1,800 rows in batches of 100")
	_, err := s.Tokens().Get(ctx, "tok-doomed")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Webhooks().Get(ctx, "wh-doomed")
	require.ErrorIs(t, err, store.ErrNotFound)
	kept, _, err := s.Events().List(ctx, store.EventQuery{Limit: store.EventsMaxLimit})
	require.NoError(t, err)
	require.Len(t, kept, 20, "the other tenant's events")
}

// A deletion cut short is finished by the sweeper of the next Open; the
// tenant is gone from the start.
func TestDeleteTenantInterrupted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sch := pgtest.Schema(t)
	var batches atomic.Int32
	stop := errors.New("crash")
	s, err := postgres.Open(ctx, pgtest.ServerDSN(t), postgres.WithSchema(sch), postgres.WithMaxConns(4), postgres.WithPurgeRows(100),
		postgres.WithPurgeHook(func(int64) error {
			if batches.Add(1) > 3 {
				return stop
			}
			return nil
		}))
	require.NoError(t, err)
	k := seedDeletable(t, s, "doomed", 300)
	err = storetest.Write(s).Tenants().Delete(ctx, "doomed")
	require.ErrorIs(t, err, stop)
	_, err = s.Tenants().Get(ctx, "doomed")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Resources().Get(ctx, "doomed", schema.UserResource, "u0001")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Positive(t, leftUnder(t, s, k))
	// Its history and events are gone for readers at once, though their
	// rows are not yet.
	hs, err := s.History().List(ctx, store.HistoryQuery{Tenant: "doomed"})
	require.NoError(t, err)
	require.Empty(t, hs)
	es, _, err := s.Events().List(ctx, store.EventQuery{})
	require.NoError(t, err)
	require.Empty(t, es)
	var rows int
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT count(*) FROM events WHERE tenant = $1", k).Scan(&rows))
	require.Positive(t, rows)
	require.NoError(t, s.Close())

	s2 := openStore(t, sch)
	require.Eventually(t, func() bool { return leftUnder(t, s2, k) == 0 }, 30*time.Second, 20*time.Millisecond)

	// The id is free again, and the new tenant starts empty.
	require.NoError(t, storetest.Write(s2).Tenants().Create(ctx, store.Tenant{ID: "doomed", Name: "doomed"}))
	page, err := s2.Resources().Query(ctx, "doomed", schema.Default().User(), store.Query{Count: 10})
	require.NoError(t, err)
	require.Zero(t, page.Total)
}

// Deleting a tenant waits for its writes in progress, which therefore leave
// nothing behind, and fails the writes that come after.
func TestDeleteTenantWaitsForWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.Open(t)
	k := seedDeletable(t, s, "doomed", 10)
	inside, release := make(chan struct{}), make(chan struct{})
	writeDone := make(chan error, 1)
	go func() {
		writeDone <- s.Write(ctx, func(w store.Writer) error {
			if err := w.Create(ctx, store.Resource{Tenant: "doomed", Type: schema.UserResource, ID: "late", Version: 1,
				Attrs: map[string]any{"userName": "late"}}); err != nil {
				return err
			}
			close(inside)
			<-release
			return nil
		})
	}()
	<-inside
	deleted := make(chan error, 1)
	go func() { deleted <- storetest.Write(s).Tenants().Delete(ctx, "doomed") }()
	select {
	case err := <-deleted:
		t.Fatalf("Delete returned while a write held the tenant: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-writeDone)
	require.NoError(t, <-deleted)
	require.Zero(t, leftUnder(t, s, k), "the late write's rows went too")
	err := s.Write(ctx, func(w store.Writer) error {
		return w.Create(ctx, store.Resource{Tenant: "doomed", Type: schema.UserResource, ID: "later", Version: 1, Attrs: map[string]any{"userName": "later"}})
	})
	require.ErrorIs(t, err, store.ErrNotFound)
}

// A tenant deleted through one node is gone for another node that had its
// key cached, and one created again with the same id is a new tenant there.
func TestTenantKeyCacheAcrossNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sch := pgtest.Schema(t)
	a, b := openStore(t, sch), openStore(t, sch)
	seedDeletable(t, a, "t1", 5)
	users := schema.Default().User()
	page, err := b.Resources().Query(ctx, "t1", users, store.Query{Count: 10})
	require.NoError(t, err)
	require.Equal(t, 5, page.Total)
	require.NoError(t, storetest.Write(a).Tenants().Delete(ctx, "t1"))
	page, err = b.Resources().Query(ctx, "t1", users, store.Query{Count: 10})
	require.NoError(t, err)
	require.Zero(t, page.Total)
	require.Empty(t, page.Resources)

	require.NoError(t, storetest.Write(a).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "t1"}))
	require.NoError(t, a.Write(ctx, func(w store.Writer) error {
		return w.Create(ctx, store.Resource{Tenant: "t1", Type: schema.UserResource, ID: "new", Version: 1, Attrs: map[string]any{"userName": "new"}})
	}))
	page, err = b.Resources().Query(ctx, "t1", users, store.Query{Count: 10, Filter: nil})
	require.NoError(t, err)
	require.Equal(t, 1, page.Total)
	require.Equal(t, "new", page.Resources[0].ID)
}

// A write function that ignores an error which aborted the transaction
// and returns nil still gets an error from Write, and nothing is kept.
func TestWriteAbortedTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.Open(t)
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
	user := func(id, name string) store.Resource {
		return store.Resource{Tenant: "t1", Type: schema.UserResource, ID: id, Attrs: map[string]any{"userName": name}, Version: 1}
	}
	require.NoError(t, s.Write(ctx, func(w store.Writer) error { return w.Create(ctx, user("a", "alice")) }))
	for _, count := range []bool{false, true} {
		err := s.Write(ctx, func(w store.Writer) error {
			if count {
				require.NoError(t, w.Create(ctx, user("b", "bob")))
			}
			r, err := w.Get(ctx, "t1", schema.UserResource, "a")
			require.NoError(t, err)
			r.Attrs = map[string]any{"userName": "BOB"}
			if !count {
				require.NoError(t, w.Create(ctx, user("c", "carol")))
				// A clash on Create does not abort the transaction.
				require.ErrorIs(t, w.Create(ctx, user("c", "carol")), store.ErrConflict)
				r.Attrs["userName"] = "Carol"
			}
			r.Version++
			require.ErrorIs(t, w.Update(ctx, r), store.ErrConflict) // aborts the transaction
			return nil
		})
		require.Error(t, err, "count %v", count)
		for _, id := range []string{"b", "c"} {
			_, err := s.Resources().Get(ctx, "t1", schema.UserResource, id)
			require.ErrorIs(t, err, store.ErrNotFound)
		}
	}
	page, err := s.Resources().Query(ctx, "t1", schema.Default().User(), store.Query{})
	require.NoError(t, err)
	require.Equal(t, 1, page.Total)
}
