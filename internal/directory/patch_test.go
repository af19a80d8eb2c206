package directory_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/directory"
	"github.com/rosterhq/roster/internal/scim/patch"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/backendtest"
	"github.com/rosterhq/roster/internal/store/storetest"
)

// TestPatchOperationsApplyInOrder: per RFC 7644 §3.5.2 the operations of a
// PATCH apply in order, each to the result of the ones before, so a member
// added by one operation is removed by a later filter that matches it.
func TestPatchOperationsApplyInOrder(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
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
