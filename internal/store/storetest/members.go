package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
)

func testMembers(t *testing.T, s store.Store) {
	ctx := context.Background()
	tn := newTenant(t, s, "acme")
	mustCreate(t, s,
		group(tn, "g", "Engineering", 0),
		user(tn, "u1", map[string]any{"userName": "alice", "displayName": "Alice Liddell"}, 1),
		user(tn, "u2", map[string]any{"userName": "bob"}, 2),
		user(tn, "u3", map[string]any{"userName": "carol"}, 3),
		user(tn, "u4", map[string]any{"userName": "dave"}, 4),
		group(tn, "h", "Platform", 5),
		group(tn, "empty", "Empty", 6),
	)

	added, err := addMembers(s, tn, "g", "u1", "u2")
	require.NoError(t, err)
	require.Equal(t, []string{"u1", "u2"}, added)
	// Adding is idempotent and reports only what it added.
	added, err = addMembers(s, tn, "g", "u2", "u3", "h", "u3")
	require.NoError(t, err)
	require.Equal(t, []string{"u3", "h"}, added)

	// An unknown id fails the call, and the write rolls back what it added.
	_, err = addMembers(s, tn, "g", "u4", "ghost", "u1")
	var me *store.MemberError
	require.ErrorAs(t, err, &me)
	require.Equal(t, "ghost", me.ID)
	require.ErrorIs(t, err, store.ErrNotFound)

	got := members(t, s, tn, "g")
	require.ElementsMatch(t, []store.Member{
		{Value: "u1", Type: schema.UserResource, Display: "Alice Liddell"},
		{Value: "u2", Type: schema.UserResource, Display: "bob"},
		{Value: "u3", Type: schema.UserResource, Display: "carol"},
		{Value: "h", Type: schema.GroupResource, Display: "Platform"},
	}, got)
	// The stream's order is stable.
	require.Equal(t, got, members(t, s, tn, "g"))
	_, err = addMembers(s, tn, "empty", "u4")
	require.NoError(t, err)
	require.Equal(t, got, members(t, s, tn, "g"))
	// fn's error stops the stream and comes back.
	n := 0
	err = s.Resources().Members(ctx, tn, "g", func(store.Member) error {
		n++
		return errBoom
	})
	require.True(t, errors.Is(err, errBoom))
	require.Equal(t, 1, n)

	// Display is derived when read.
	_, err = update(s, tn, schema.UserResource, "u2", func(m map[string]any) { m["displayName"] = "Robert" })
	require.NoError(t, err)
	require.Contains(t, members(t, s, tn, "g"), store.Member{Value: "u2", Type: schema.UserResource, Display: "Robert"})

	groups, err := s.Resources().Groups(ctx, tn, "u3")
	require.NoError(t, err)
	require.Equal(t, []store.Member{{Value: "g", Type: schema.GroupResource, Display: "Engineering"}}, groups)
	groups, err = s.Resources().Groups(ctx, tn, "h")
	require.NoError(t, err)
	require.Equal(t, []store.Member{{Value: "g", Type: schema.GroupResource, Display: "Engineering"}}, groups)
	groups, err = s.Resources().Groups(ctx, tn, "u4")
	require.NoError(t, err)
	require.Equal(t, []store.Member{{Value: "empty", Type: schema.GroupResource, Display: "Empty"}}, groups)

	// GroupsOf answers the same for many resources at once.
	byMember, err := s.Resources().GroupsOf(ctx, tn, []string{"u3", "h", "u4", "ghost"})
	require.NoError(t, err)
	require.Equal(t, map[string][]store.Member{
		"u3": {{Value: "g", Type: schema.GroupResource, Display: "Engineering"}},
		"h":  {{Value: "g", Type: schema.GroupResource, Display: "Engineering"}},
		"u4": {{Value: "empty", Type: schema.GroupResource, Display: "Empty"}},
	}, byMember)
	byMember, err = s.Resources().GroupsOf(ctx, "no-such-tenant", []string{"u3"})
	require.NoError(t, err)
	require.Empty(t, byMember)

	// Removing ignores ids that are not members.
	var removed []string
	require.NoError(t, s.Write(ctx, func(w store.Writer) error {
		removed, err = w.RemoveMembers(ctx, tn, "g", []string{"u1", "u4", "ghost"})
		return err
	}))
	require.Equal(t, []string{"u1"}, removed)
	require.Len(t, members(t, s, tn, "g"), 3)

	// Deleting a user removes its memberships.
	require.NoError(t, s.Write(ctx, func(w store.Writer) error { return w.Delete(ctx, tn, schema.UserResource, "u2") }))
	require.ElementsMatch(t, []string{"u3", "h"}, memberIDs(members(t, s, tn, "g")))
	// Deleting a group removes its memberships both ways.
	require.NoError(t, s.Write(ctx, func(w store.Writer) error { return w.Delete(ctx, tn, schema.GroupResource, "h") }))
	require.Equal(t, []string{"u3"}, memberIDs(members(t, s, tn, "g")))
	require.NoError(t, s.Write(ctx, func(w store.Writer) error { return w.Delete(ctx, tn, schema.GroupResource, "g") }))
	groups, err = s.Resources().Groups(ctx, tn, "u3")
	require.NoError(t, err)
	require.Empty(t, groups)

	// Clearing removes every member.
	require.NoError(t, s.Write(ctx, func(w store.Writer) error {
		removed, err = w.ClearMembers(ctx, tn, "empty")
		return err
	}))
	require.Equal(t, []string{"u4"}, removed)
	require.Empty(t, members(t, s, tn, "empty"))

	// Only groups have members.
	err = s.Resources().Members(ctx, tn, "u3", func(store.Member) error { return nil })
	require.ErrorIs(t, err, store.ErrNotFound)
	err = s.Resources().Members(ctx, tn, "g", func(store.Member) error { return nil })
	require.ErrorIs(t, err, store.ErrNotFound, "deleted group")
	_, err = addMembers(s, tn, "u3", "u4")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = addMembers(s, tn, "ghost", "u4")
	require.ErrorIs(t, err, store.ErrNotFound)
	var me2 *store.MemberError
	require.False(t, errors.As(err, &me2), "a missing group is not a member error")
}

func memberIDs(ms []store.Member) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Value)
	}
	return out
}
