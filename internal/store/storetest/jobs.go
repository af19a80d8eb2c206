package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
)

// testJobs pins the provisioning job store: revision 1 on create, a
// duplicate name refused, the document kept as given (as JSON), updates
// guarded by the revision, reads inside a Write seeing its writes, and of
// concurrent updates based on one revision exactly one winning.
func testJobs(t *testing.T, s store.Store) {
	ctx := context.Background()
	doc := []byte(`{"name":"hr","source":{"type":"scim","url":"https://a.example/scim","token":"s3cret"}}`)
	j := store.Job{Name: "hr", Document: doc, Created: base}
	require.NoError(t, Write(s).Jobs().Create(ctx, j))
	require.NoError(t, Write(s).Jobs().Create(ctx, store.Job{Name: "crm", Document: []byte(`{"name":"crm"}`),
		Status: "On", NeedsInitial: true, Created: base.Add(time.Minute)}))

	dup := store.Job{Name: "hr", Document: []byte(`{}`)}
	require.ErrorIs(t, Write(s).Jobs().Create(ctx, dup), store.ErrConflict, "duplicate name")
	require.Error(t, Write(s).Jobs().Create(ctx, store.Job{Name: "bad", Document: []byte(`{`)}), "invalid JSON")
	require.Error(t, Write(s).Jobs().Create(ctx, store.Job{Document: []byte(`{}`)}), "no name")

	got, err := s.Jobs().Get(ctx, "hr")
	require.NoError(t, err)
	require.Equal(t, "hr", got.Name)
	require.JSONEq(t, string(doc), string(got.Document))
	require.Equal(t, "Off", got.Status, "an empty status is Off")
	require.Equal(t, int64(1), got.Revision)
	require.False(t, got.NeedsInitial)
	require.True(t, base.Equal(got.Created), "created %v", got.Created)
	require.True(t, base.Equal(got.Updated), "updated defaults to created: %v", got.Updated)

	_, err = s.Jobs().Get(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)

	all, err := s.Jobs().List(ctx)
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, []string{"crm", "hr"}, []string{all[0].Name, all[1].Name}, "ordered by name")
	require.Equal(t, "On", all[0].Status)
	require.True(t, all[0].NeedsInitial)

	// An update reads and writes in one transaction and sees its own write.
	later := base.Add(time.Hour)
	require.NoError(t, s.Write(ctx, func(w store.Writer) error {
		cur, err := w.Jobs().Get(ctx, "hr")
		if err != nil {
			return err
		}
		cur.Document, cur.Status, cur.NeedsInitial, cur.Updated = []byte(`{"name":"hr","v":2}`), "On", true, later
		cur.Revision++
		if err := w.Jobs().Update(ctx, cur); err != nil {
			return err
		}
		seen, err := w.Jobs().Get(ctx, "hr")
		if err != nil {
			return err
		}
		require.Equal(t, int64(2), seen.Revision, "the writer reads its own update")
		return nil
	}))
	got, err = s.Jobs().Get(ctx, "hr")
	require.NoError(t, err)
	require.JSONEq(t, `{"name":"hr","v":2}`, string(got.Document))
	require.Equal(t, int64(2), got.Revision)
	require.Equal(t, "On", got.Status)
	require.True(t, got.NeedsInitial)
	require.True(t, base.Equal(got.Created), "created stays")
	require.True(t, later.Equal(got.Updated))

	stale := got
	stale.Revision = 2 // based on revision 1, which is gone
	require.ErrorIs(t, Write(s).Jobs().Update(ctx, stale), store.ErrPrecondition)
	missing := store.Job{Name: "nope", Document: []byte(`{}`), Revision: 2}
	require.ErrorIs(t, Write(s).Jobs().Update(ctx, missing), store.ErrNotFound)

	// Concurrent updates based on the same revision: exactly one wins, the
	// others fail with ErrPrecondition and change nothing.
	const writers = 4
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		wins, conflicts int
	)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := got
			next.Revision = got.Revision + 1
			next.Document = []byte(`{"writer":` + string(rune('0'+i)) + `}`)
			err := Write(s).Jobs().Update(ctx, next)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrPrecondition):
				conflicts++
			default:
				t.Errorf("concurrent update: %v", err)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 1, wins)
	require.Equal(t, writers-1, conflicts)
	got, err = s.Jobs().Get(ctx, "hr")
	require.NoError(t, err)
	require.Equal(t, int64(3), got.Revision)

	// A failed Write keeps nothing.
	boom := errors.New("boom")
	require.ErrorIs(t, s.Write(ctx, func(w store.Writer) error {
		if err := w.Jobs().Delete(ctx, "hr"); err != nil {
			return err
		}
		return boom
	}), boom)
	_, err = s.Jobs().Get(ctx, "hr")
	require.NoError(t, err, "rolled back")

	require.NoError(t, Write(s).Jobs().Delete(ctx, "hr"))
	require.ErrorIs(t, Write(s).Jobs().Delete(ctx, "hr"), store.ErrNotFound)
	_, err = s.Jobs().Get(ctx, "hr")
	require.ErrorIs(t, err, store.ErrNotFound)
}
