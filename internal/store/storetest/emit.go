package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
)

// testEmit checks Writer.Emit: events that no resource change caused go
// to the named tenant's outbox only, in order after the tenant's other
// events, with no history entry, and only if the write commits.
func testEmit(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
	c1 := change(a, schema.UserResource, "u1", "alice", "create", 1, "c1", store.UserCreated)
	record(t, s, c1)

	notice := func(typ string) []store.Event {
		return []store.Event{{Type: typ, ResourceType: "ProvisioningJob", ResourceID: "hr-to-app",
			Time: base.Add(time.Minute), Data: json.RawMessage(`{"job":"hr-to-app","reason":"X"}`)}}
	}
	evA := notice(store.ProvisioningQuarantined)
	require.NoError(t, s.Write(ctx, func(w store.Writer) error { return w.Emit(ctx, a, evA) }))
	require.NotEmpty(t, evA[0].ID, "an id is given")
	require.NotEmpty(t, evA[0].Cursor, "the cursor is set once the write commits")
	require.Equal(t, a, evA[0].Tenant)

	// A write that fails keeps none of its events.
	rolled := notice(store.ProvisioningRecovered)
	err := s.Write(ctx, func(w store.Writer) error {
		if err := w.Emit(ctx, a, rolled); err != nil {
			return err
		}
		return errBoom
	})
	require.ErrorIs(t, err, errBoom)

	// An unknown tenant, and events missing what they need, are refused.
	err = s.Write(ctx, func(w store.Writer) error { return w.Emit(ctx, "no-such-tenant", notice(store.ProvisioningRecovered)) })
	require.ErrorIs(t, err, store.ErrNotFound)
	for _, bad := range []store.Event{
		{ResourceType: "ProvisioningJob", ResourceID: "j"},
		{Type: store.ProvisioningRecovered, ResourceID: "j"},
		{Type: store.ProvisioningRecovered, ResourceType: "ProvisioningJob", Data: json.RawMessage(`{`)},
	} {
		err := s.Write(ctx, func(w store.Writer) error { return w.Emit(ctx, a, []store.Event{bad}) })
		require.Error(t, err, "%+v", bad)
	}

	got, _ := events(t, s, store.EventQuery{Tenant: a})
	require.Equal(t, []string{c1.Events[0].ID, evA[0].ID}, eventIDs(got), "the tenant's events in commit order, the rolled-back one absent")
	e := got[1]
	require.Equal(t, store.ProvisioningQuarantined, e.Type)
	require.Equal(t, "ProvisioningJob", e.ResourceType)
	require.Equal(t, "hr-to-app", e.ResourceID)
	require.True(t, base.Add(time.Minute).Equal(e.Time), "time %s", e.Time)
	require.JSONEq(t, `{"job":"hr-to-app","reason":"X"}`, string(e.Data))
	require.Equal(t, evA[0].Cursor, e.Cursor)

	// Reading on from the event's cursor finds nothing more.
	after, _ := events(t, s, store.EventQuery{Tenant: a, After: e.Cursor})
	require.Empty(t, after)
	// Tenant b sees none of it; the all-tenants read sees it once.
	other, _ := events(t, s, store.EventQuery{Tenant: b})
	require.Empty(t, other)
	every, _ := events(t, s, store.EventQuery{})
	require.Equal(t, []string{c1.Events[0].ID, evA[0].ID}, eventIDs(every))
	// No history entry is written for an emitted event.
	require.Len(t, history(t, s, store.HistoryQuery{Tenant: a}), 1)
}
