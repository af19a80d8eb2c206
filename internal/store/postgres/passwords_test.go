package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/password"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/pgtest"
	"github.com/rosterhq/roster/internal/store/storetest"
)

// A schema of the release before migration 0004 holds User passwords as
// clients sent them; the next node to start replaces each with its salted
// hash, leaves the rest of the row alone, and no live row holds a byte of
// a password.
func TestUpgradeHashesPasswords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sch := pgtest.Schema(t)
	old := openStore(t, sch)
	require.NoError(t, storetest.Write(old).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
	for _, u := range []store.Resource{
		{ID: "u1", Attrs: map[string]any{"userName": "alice", "password": "Sup3r-Secret-Alice", "title": "CEO"}, Version: 1},
		{ID: "u2", Attrs: map[string]any{"userName": "bob"}, Version: 1},
		{ID: "u3", Attrs: map[string]any{"userName": "carol", "password": "Sup3r-Secret-Carol"}, Version: 1},
	} {
		u.Tenant, u.Type = "t1", schema.UserResource
		require.NoError(t, storetest.Write(old).Create(ctx, u))
	}
	// The older release's schema: the same tables, without migration 0004
	// (whose SQL changes nothing; its Go step does the work).
	_, err := old.Pool().Exec(ctx, "DELETE FROM schema_migrations WHERE version = 4")
	require.NoError(t, err)

	s := openStore(t, sch)
	require.NoError(t, s.Ping(ctx))
	for _, tc := range []struct {
		id, clear string
		attrs     map[string]any
	}{
		{"u1", "Sup3r-Secret-Alice", map[string]any{"userName": "alice", "title": "CEO"}},
		{"u2", "", map[string]any{"userName": "bob"}},
		{"u3", "Sup3r-Secret-Carol", map[string]any{"userName": "carol"}},
	} {
		u, err := s.Resources().Get(ctx, "t1", schema.UserResource, tc.id)
		require.NoError(t, err)
		require.Equal(t, int64(1), u.Version, "hashing is no change a client sees")
		stored, _ := u.Attrs["password"].(string)
		delete(u.Attrs, "password")
		require.Equal(t, tc.attrs, u.Attrs, "the rest of the row is kept")
		if tc.clear == "" {
			require.Empty(t, stored)
			continue
		}
		ok, err := password.Check(stored, tc.clear)
		require.NoError(t, err)
		require.True(t, ok, "%s: %q is the hash of the old password", tc.id, stored)
	}
	var leaks int
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT count(*) FROM resources WHERE attrs::text LIKE '%Sup3r-Secret%'").Scan(&leaks))
	require.Zero(t, leaks)

	// Another node starting later hashes nothing again.
	before, err := s.Resources().Get(ctx, "t1", schema.UserResource, "u1")
	require.NoError(t, err)
	again := openStore(t, sch)
	after, err := again.Resources().Get(ctx, "t1", schema.UserResource, "u1")
	require.NoError(t, err)
	require.Equal(t, before.Attrs["password"], after.Attrs["password"])
}
