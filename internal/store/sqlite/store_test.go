package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"
	"github.com/rosterhq/roster/internal/store/storetest"
)

// newStore opens a fresh database file, not ":memory:", so that WAL and the
// single write connection run as in production.
func newStore(t testing.TB, opts ...sqlite.Option) *sqlite.Store {
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
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
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
		for name, call := range map[string]func() error{
			"tenants.List":        func() error { _, err := s.Tenants().List(ctx); return err },
			"tenants.SetSettings": func() error { return storetest.Write(s).Tenants().SetSettings(ctx, "t", store.TenantSettings{}) },
			"tenants.Delete":      func() error { return storetest.Write(s).Tenants().Delete(ctx, "t") },
			"tokens.Get":          func() error { _, err := s.Tokens().Get(ctx, "x"); return err },
			"tokens.Lookup":       func() error { _, err := s.Tokens().Lookup(ctx, "x"); return err },
			"tokens.DeleteExpired": func() error {
				_, err := s.Tokens().DeleteExpired(ctx, time.Now())
				return err
			},
			"clients.Create": func() error {
				return storetest.Write(s).OAuthClients().Create(ctx, store.OAuthClient{ID: "c", Tenant: "t"})
			},
			"clients.Get":      func() error { _, err := s.OAuthClients().Get(ctx, "c"); return err },
			"clients.List":     func() error { _, err := s.OAuthClients().List(ctx, "t"); return err },
			"clients.Revoke":   func() error { return storetest.Write(s).OAuthClients().Revoke(ctx, "c", time.Now()) },
			"admins.Create":    func() error { return storetest.Write(s).Admins().Create(ctx, store.Admin{ID: "a", Name: "a"}) },
			"admins.Get":       func() error { _, err := s.Admins().Get(ctx, "a"); return err },
			"admins.GetByName": func() error { _, err := s.Admins().GetByName(ctx, "a"); return err },
			"admins.List":      func() error { _, err := s.Admins().List(ctx); return err },
			"admins.Update":    func() error { return storetest.Write(s).Admins().Update(ctx, store.Admin{ID: "a"}) },
			"admins.Delete":    func() error { return storetest.Write(s).Admins().Delete(ctx, "a") },
			"admins.CreateSession": func() error {
				return storetest.Write(s).Admins().CreateSession(ctx, store.AdminSession{ID: "s", Admin: "a"})
			},
			"admins.GetSession":     func() error { _, err := s.Admins().GetSession(ctx, "s"); return err },
			"admins.DeleteSessions": func() error { return storetest.Write(s).Admins().DeleteSessions(ctx, "a", "") },
			"audit.Append": func() error {
				return storetest.Write(s).Audit().Append(ctx, &store.AuditEvent{Actor: "x", Action: "y"})
			},
			"audit.List":   func() error { _, err := s.Audit().List(ctx, store.AuditQuery{}); return err },
			"settings.Get": func() error { _, err := s.Settings().Get(ctx, "k"); return err },
			"settings.Set": func() error { return storetest.Write(s).Settings().Set(ctx, "k", "v") },
			"leases.Acquire": func() error {
				_, err := s.Leases().Acquire(ctx, "l", "h", time.Second)
				return err
			},
			"leases.Release": func() error { return s.Leases().Release(ctx, "l", "h") },
			"history.List": func() error {
				_, err := s.History().List(ctx, store.HistoryQuery{Tenant: "t"})
				return err
			},
			"history.Purge": func() error { _, err := s.History().Purge(ctx, time.Now(), 1); return err },
			"events.List": func() error {
				_, _, err := s.Events().List(ctx, store.EventQuery{})
				return err
			},
			"events.ListTenant": func() error {
				_, _, err := s.Events().List(ctx, store.EventQuery{Tenant: "t"})
				return err
			},
			"events.Purge":  func() error { _, err := s.Events().Purge(ctx, time.Now(), 1); return err },
			"events.Oldest": func() error { _, err := s.Events().Oldest(ctx); return err },
			"webhooks.Create": func() error {
				return storetest.Write(s).Webhooks().Create(ctx, store.WebhookEndpoint{ID: "w", Tenant: "t"})
			},
			"webhooks.Get":    func() error { _, err := s.Webhooks().Get(ctx, "w"); return err },
			"webhooks.List":   func() error { _, err := s.Webhooks().List(ctx, ""); return err },
			"webhooks.Update": func() error { return storetest.Write(s).Webhooks().Update(ctx, store.WebhookEndpoint{ID: "w"}) },
			"webhooks.Delete": func() error { return storetest.Write(s).Webhooks().Delete(ctx, "w") },
		} {
			require.ErrorIs(t, call(), store.ErrUnavailable, name)
		}
	}
}

// Close waits for the writes in progress; those that come later fail.
func TestCloseDuringWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, err)
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
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
