package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"
	"github.com/rosterhq/roster/internal/store/storetest"
)

// newStore opens a fresh database file, not ":memory:", so that WAL and the
// single write connection run as in production.
func newStore(t *testing.T, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.RunTests(t, func(t *testing.T) store.Store { return newStore(t) })
}

func TestConformanceWithoutGroupCommit(t *testing.T) {
	t.Parallel()
	storetest.RunTests(t, func(t *testing.T) store.Store { return newStore(t, sqlite.WithGroupCommit(false)) })
}

// Reopening a database keeps its data and does not apply migrations twice.
func TestReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roster.db")
	s, err := sqlite.Open(ctx, path, sqlite.WithSynchronousFull(), sqlite.WithReaders(2))
	require.NoError(t, err)
	require.NoError(t, s.Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
	require.NoError(t, s.Write(ctx, func(w store.Writer) error {
		return w.Create(ctx, store.Resource{Tenant: "t1", Type: "User", ID: "u1", Attrs: map[string]any{"userName": "alice"}, Version: 1})
	}))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")

	s, err = sqlite.Open(ctx, path)
	require.NoError(t, err)
	defer s.Close()
	r, err := s.Resources().Get(ctx, "t1", "User", "u1")
	require.NoError(t, err)
	require.Equal(t, "alice", r.Attrs["userName"])
	require.False(t, r.Created.IsZero(), "a zero Created is set")
	require.Equal(t, r.Created, r.Modified)
}

// A closed store reports store.ErrUnavailable.
func TestClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, gc := range []bool{true, false} {
		s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"), sqlite.WithGroupCommit(gc))
		require.NoError(t, err)
		require.NoError(t, s.Close())
		require.ErrorIs(t, s.Write(ctx, func(store.Writer) error { return nil }), store.ErrUnavailable)
		require.ErrorIs(t, s.Ping(ctx), store.ErrUnavailable)
		_, err = s.Resources().Get(ctx, "t", "User", "u")
		require.ErrorIs(t, err, store.ErrUnavailable)
		_, err = s.Tenants().Get(ctx, "t")
		require.ErrorIs(t, err, store.ErrUnavailable)
	}
}

// Close waits for the writes in progress; those that come later fail.
func TestCloseDuringWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, err)
	require.NoError(t, s.Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
	errs := make(chan error, 200)
	for i := range 200 {
		go func() {
			errs <- s.Write(ctx, func(w store.Writer) error {
				return w.Create(ctx, store.Resource{Tenant: "t1", Type: "User", ID: fmt.Sprint(i), Attrs: map[string]any{"userName": fmt.Sprint(i)}, Version: 1})
			})
		}()
	}
	require.NoError(t, s.Close())
	for range 200 {
		if err := <-errs; err != nil {
			require.ErrorIs(t, err, store.ErrUnavailable)
		}
	}
}
