package directory_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/directory"
	"github.com/rosterhq/roster/internal/scim/patch"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/pgtest"
	"github.com/rosterhq/roster/internal/store/sqlite"
	"github.com/rosterhq/roster/internal/store/storetest"
)

// backends returns a fresh store of each backend this run can reach.
func backends(t *testing.T) map[string]func(t *testing.T) store.Store {
	out := map[string]func(t *testing.T) store.Store{
		"SQLite": func(t *testing.T) store.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
			require.NoError(t, err)
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
	if os.Getenv(pgtest.EnvDSN) != "" {
		out["PostgreSQL"] = func(t *testing.T) store.Store { return pgtest.Open(t) }
	}
	return out
}

// TestPatchOperationsApplyInOrder: per RFC 7644 §3.5.2 the operations of a
// PATCH apply in order, each to the result of the ones before, so a member
// added by one operation is removed by a later filter that matches it.
func TestPatchOperationsApplyInOrder(t *testing.T) {
	t.Parallel()
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := open(t)
			require.NoError(t, storetest.Write(st).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
			dir := directory.New(st, schema.Default())
			users, groups := schema.Default().User(), schema.Default().Group()
			u, err := dir.Create(ctx, "t1", users, map[string]any{"userName": "u"})
			require.NoError(t, err)
			kept, err := dir.Create(ctx, "t1", groups, map[string]any{"displayName": "Kept"})
			require.NoError(t, err)
			g, err := dir.Create(ctx, "t1", groups, map[string]any{"displayName": "G",
				"members": []any{map[string]any{"value": kept.ID}}})
			require.NoError(t, err)

			req, err := patch.ParseRequest([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
				{"op":"add","path":"members","value":[{"value":"` + u.ID + `"}]},
				{"op":"remove","path":"members[type eq \"User\"]"}]}`))
			require.NoError(t, err)
			res, err := dir.Patch(ctx, "t1", groups, g.ID, "", req)
			require.NoError(t, err)
			require.Empty(t, res.MembersAdded, "U was added and removed again: no net change")
			require.Empty(t, res.MembersRemoved)

			var ids []string
			require.NoError(t, st.Resources().Members(ctx, "t1", g.ID, func(m store.Member) error {
				ids = append(ids, m.Value)
				return nil
			}))
			require.Equal(t, []string{kept.ID}, ids, "U must be gone; the group member stays")
		})
	}
}
