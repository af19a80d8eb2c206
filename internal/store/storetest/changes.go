package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
)

// Tests of the revision history, the event outbox and webhook endpoints
// (store.Writer.Record, store.HistoryStore, store.EventStore,
// store.WebhookStore).

// change returns a change of a resource at base+n minutes whose events have
// the given types. RequestID labels the change so that tests can name the
// entries a query returns.
func change(tenant, typ, id, name, op string, n int, label string, eventTypes ...string) *store.Change {
	at := base.Add(time.Duration(n) * time.Minute)
	c := &store.Change{
		Tenant: tenant, Time: at, ResourceType: typ, ResourceID: id, ResourceName: name,
		Operation: op, Version: 1, Actor: "Scim System User", RequestID: label,
	}
	for _, et := range eventTypes {
		c.Events = append(c.Events, store.Event{
			ID: uuid.NewString(), Type: et, Time: at, ResourceType: typ, ResourceID: id,
			Data: json.RawMessage(fmt.Sprintf(`{"id":%q,"label":%q}`, id, label)),
		})
	}
	return c
}

// record stores each change in a write of its own.
func record(t *testing.T, s store.Store, cs ...*store.Change) {
	t.Helper()
	ctx := context.Background()
	for _, c := range cs {
		require.NoError(t, s.Write(ctx, func(w store.Writer) error { return w.Record(ctx, c) }), "record %s", c.RequestID)
	}
}

// history returns the entries a query selects, requiring no error.
func history(t *testing.T, s store.Store, q store.HistoryQuery) []store.Change {
	t.Helper()
	got, err := s.History().List(context.Background(), q)
	require.NoError(t, err)
	return got
}

// labels returns the RequestIDs of history entries, in order.
func labels(cs []store.Change) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.RequestID)
	}
	return out
}

// eventIDs returns the ids of events, in order.
func eventIDs(es []store.Event) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// changeEventIDs returns the ids of the changes' events, in order.
func changeEventIDs(cs ...*store.Change) []string {
	out := []string{}
	for _, c := range cs {
		for _, e := range c.Events {
			out = append(out, e.ID)
		}
	}
	return out
}

// events returns one page of events, requiring no error.
func events(t *testing.T, s store.Store, q store.EventQuery) ([]store.Event, string) {
	t.Helper()
	es, next, err := s.Events().List(context.Background(), q)
	require.NoError(t, err)
	return es, next
}

// followEvents reads every event after the cursor, a page of limit at a
// time, and returns them with the cursor to read on from.
func followEvents(t *testing.T, s store.Store, tenant, after string, limit int) ([]store.Event, string) {
	t.Helper()
	var all []store.Event
	for {
		page, next := events(t, s, store.EventQuery{Tenant: tenant, After: after, Limit: limit})
		if len(page) == 0 {
			require.Equal(t, after, next, "an empty page returns the cursor it was given")
			return all, next
		}
		require.LessOrEqual(t, len(page), limit)
		require.Equal(t, page[len(page)-1].Cursor, next, "next is the last event's cursor")
		all = append(all, page...)
		after = next
	}
}

// Record stores the history entry and events in the transaction of the
// change: a write that fails keeps none of them, one that commits keeps
// all.
func testRecordInSameTx(t *testing.T, s store.Store) {
	ctx := context.Background()
	tn := newTenant(t, s, "acme")
	mustCreate(t, s, user(tn, "taken", map[string]any{"userName": "taken"}, 0))

	for _, tc := range []struct {
		name string
		fn   func(w store.Writer, c *store.Change) error
		err  error
	}{
		{"FailAfterRecord", func(w store.Writer, c *store.Change) error {
			if err := w.Create(ctx, user(tn, c.ResourceID, map[string]any{"userName": c.ResourceName}, 1)); err != nil {
				return err
			}
			if err := w.Record(ctx, c); err != nil {
				return err
			}
			return errBoom
		}, errBoom},
		{"ChangeFailsAfterRecord", func(w store.Writer, c *store.Change) error {
			if err := w.Record(ctx, c); err != nil {
				return err
			}
			return w.Create(ctx, user(tn, c.ResourceID, map[string]any{"userName": "TAKEN"}, 1))
		}, store.ErrConflict},
		{"UnknownTenant", func(w store.Writer, c *store.Change) error {
			c.Tenant = "no-such-tenant"
			return w.Record(ctx, c)
		}, store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := change(tn, schema.UserResource, "u-"+tc.name, "name-"+tc.name, "create", 1, tc.name, store.UserCreated)
			err := s.Write(ctx, func(w store.Writer) error { return tc.fn(w, c) })
			require.ErrorIs(t, err, tc.err)
			_, err = s.Resources().Get(ctx, tn, schema.UserResource, c.ResourceID)
			require.ErrorIs(t, err, store.ErrNotFound, "no resource")
			require.Empty(t, history(t, s, store.HistoryQuery{Tenant: tn}), "no history")
			es, _ := events(t, s, store.EventQuery{})
			require.Empty(t, es, "no events")
		})
	}

	t.Run("Commit", func(t *testing.T) {
		c := change(tn, schema.UserResource, "u1", "alice", "create", 2, "ok", store.UserCreated, store.UserDeactivated)
		require.NoError(t, s.Write(ctx, func(w store.Writer) error {
			if err := w.Create(ctx, user(tn, "u1", map[string]any{"userName": "alice"}, 2)); err != nil {
				return err
			}
			return w.Record(ctx, c)
		}))
		require.Positive(t, c.Seq)
		require.Equal(t, []string{store.UserCreated, store.UserDeactivated}, c.EventTypes, "derived from the events")
		for _, e := range c.Events {
			require.Equal(t, tn, e.Tenant)
			require.NotEmpty(t, e.Cursor)
		}
		require.NotEqual(t, c.Events[0].Cursor, c.Events[1].Cursor)
		_, err := s.Resources().Get(ctx, tn, schema.UserResource, "u1")
		require.NoError(t, err)
		got := history(t, s, store.HistoryQuery{Tenant: tn})
		require.Len(t, got, 1)
		require.Equal(t, c.Seq, got[0].Seq)
		require.Equal(t, c.EventTypes, got[0].EventTypes)
		es, _ := events(t, s, store.EventQuery{})
		require.Equal(t, changeEventIDs(c), eventIDs(es))
		require.Equal(t, c.Events[0].Cursor, es[0].Cursor)
		require.Equal(t, c.Events[1].Cursor, es[1].Cursor)
	})

	// Concurrent writes, which a backend may run in one transaction (group
	// commit), keep the history and events of those that commit only.
	t.Run("ConcurrentSomeFail", func(t *testing.T) {
		const n = 40
		cs := make([]*store.Change, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			cs[i] = change(tn, schema.UserResource, fmt.Sprintf("c%02d", i), fmt.Sprintf("c%02d", i), "create", 3, fmt.Sprintf("c%02d", i), store.UserCreated)
			wg.Go(func() {
				errs[i] = s.Write(ctx, func(w store.Writer) error {
					if err := w.Create(ctx, user(tn, cs[i].ResourceID, map[string]any{"userName": cs[i].ResourceName}, 3)); err != nil {
						return err
					}
					if err := w.Record(ctx, cs[i]); err != nil {
						return err
					}
					if i%2 == 1 {
						return errBoom
					}
					return nil
				})
			})
		}
		wg.Wait()
		var want []string
		seqs := map[int64]string{}
		for i, c := range cs {
			if i%2 == 1 {
				require.ErrorIs(t, errs[i], errBoom)
				_, err := s.Resources().Get(ctx, tn, schema.UserResource, c.ResourceID)
				require.ErrorIs(t, err, store.ErrNotFound)
				continue
			}
			require.NoError(t, errs[i])
			want = append(want, c.RequestID)
			seqs[c.Seq] = c.RequestID
		}
		got := history(t, s, store.HistoryQuery{Tenant: tn, Since: base.Add(3 * time.Minute)})
		require.ElementsMatch(t, want, labels(got))
		for _, h := range got {
			require.Equal(t, seqs[h.Seq], h.RequestID, "Seq set by Record is the stored one")
		}
		es, _ := followEvents(t, s, tn, "", 1000)
		cursors := map[string]string{}
		for i, c := range cs {
			if i%2 == 0 {
				cursors[c.Events[0].ID] = c.Events[0].Cursor
			}
		}
		es = slices.DeleteFunc(es, func(e store.Event) bool { return e.Time.Before(base.Add(3 * time.Minute)) })
		require.Len(t, es, len(want))
		for _, e := range es {
			c, ok := cursors[e.ID]
			require.True(t, ok, "event %s of a failed write", e.ID)
			require.Equal(t, c, e.Cursor)
		}
	})
}

// Events are read in commit order by following cursors.
func testEventCursors(t *testing.T, s store.Store) {
	ctx := context.Background()

	// An empty outbox: next is the cursor given, and "" stays usable.
	es, next := events(t, s, store.EventQuery{})
	require.Empty(t, es)
	require.Empty(t, next)
	es, next2 := events(t, s, store.EventQuery{After: next})
	require.Empty(t, es)
	require.Equal(t, next, next2)

	a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
	c1 := change(a, schema.UserResource, "u1", "alice", "create", 1, "c1", store.UserCreated, store.UserDeactivated)
	c2 := change(b, schema.GroupResource, "g1", "Staff", "create", 2, "c2", store.GroupCreated)
	c3 := change(a, schema.UserResource, "u1", "alice", "patch", 3, "c3", store.UserUpdated)
	record(t, s, c1, c2, c3)
	// Two changes in one write.
	c4 := change(b, schema.GroupResource, "g1", "Staff", "patch", 4, "c4", store.GroupMembersAdded)
	c5 := change(a, schema.UserResource, "u1", "alice", "delete", 5, "c5", store.UserDeleted)
	require.NoError(t, s.Write(ctx, func(w store.Writer) error {
		if err := w.Record(ctx, c4); err != nil {
			return err
		}
		return w.Record(ctx, c5)
	}))
	// A change without events has a history entry only.
	c6 := change(a, schema.UserResource, "u2", "bob", "patch", 6, "c6")
	record(t, s, c6)
	require.Empty(t, c6.EventTypes)

	all := []*store.Change{c1, c2, c3, c4, c5}
	want := changeEventIDs(all...)
	var cursors []string
	for _, c := range all {
		for _, e := range c.Events {
			cursors = append(cursors, e.Cursor)
		}
	}

	es, next = events(t, s, store.EventQuery{})
	require.Equal(t, want, eventIDs(es), "every tenant's events, in commit order")
	require.Equal(t, cursors[len(cursors)-1], next)
	for i, e := range es {
		require.Equal(t, cursors[i], e.Cursor, "the cursor Record set")
	}
	// Reading on from the end finds nothing, and keeps the cursor.
	es, next2 = events(t, s, store.EventQuery{After: next})
	require.Empty(t, es)
	require.Equal(t, next, next2)

	// After any event's cursor come exactly the later ones.
	for i, cur := range cursors {
		got, _ := followEvents(t, s, "", cur, 2)
		require.Equal(t, want[i+1:], eventIDs(got), "after event %d", i)
	}
	// Pages of every size add up to the whole.
	for _, limit := range []int{1, 2, 3, 100} {
		got, end := followEvents(t, s, "", "", limit)
		require.Equal(t, want, eventIDs(got), "limit %d", limit)
		require.Equal(t, cursors[len(cursors)-1], end)
	}

	// Each event comes back as recorded.
	byID := map[string]store.Event{}
	for _, c := range all {
		for _, e := range c.Events {
			byID[e.ID] = e
		}
	}
	es, _ = events(t, s, store.EventQuery{})
	for _, e := range es {
		w := byID[e.ID]
		require.Equal(t, w.Tenant, e.Tenant)
		require.Equal(t, w.Type, e.Type)
		require.Equal(t, w.ResourceType, e.ResourceType)
		require.Equal(t, w.ResourceID, e.ResourceID)
		require.True(t, w.Time.Equal(e.Time), "time %s, want %s", e.Time, w.Time)
		require.Equal(t, time.UTC, e.Time.Location())
		require.JSONEq(t, string(w.Data), string(e.Data))
	}

	// The tenant filter, from the start and from a cursor of the
	// unfiltered feed (c2's event: c3 on come after it).
	for _, tc := range []struct {
		tenant      string
		want, after []*store.Change
	}{
		{a, []*store.Change{c1, c3, c5}, []*store.Change{c3, c5}},
		{b, []*store.Change{c2, c4}, []*store.Change{c4}},
		{"no-such-tenant", nil, nil},
	} {
		got, _ := followEvents(t, s, tc.tenant, "", 1)
		require.Equal(t, changeEventIDs(tc.want...), eventIDs(got), tc.tenant)
		for _, e := range got {
			require.Equal(t, tc.tenant, e.Tenant)
		}
		got, _ = followEvents(t, s, tc.tenant, c2.Events[0].Cursor, 10)
		require.Equal(t, changeEventIDs(tc.after...), eventIDs(got), tc.tenant)
	}

	// Malformed cursors.
	for _, cur := range []string{"not a cursor", "-1", "12abc", " 1"} {
		_, _, err := s.Events().List(ctx, store.EventQuery{After: cur})
		require.ErrorIs(t, err, store.ErrInvalidCursor, "%q", cur)
		_, _, err = s.Events().List(ctx, store.EventQuery{Tenant: a, After: cur})
		require.ErrorIs(t, err, store.ErrInvalidCursor, "%q", cur)
	}
}

// Limits: history and event reads default to 100 and are capped at 1000.
func testChangeLimits(t *testing.T, s store.Store) {
	ctx := context.Background()
	tn := newTenant(t, s, "acme")
	const n = store.EventsMaxLimit + 5
	require.NoError(t, s.Write(ctx, func(w store.Writer) error {
		for i := range n {
			c := change(tn, schema.UserResource, "u1", "alice", "patch", i, fmt.Sprint(i), store.UserUpdated)
			if err := w.Record(ctx, c); err != nil {
				return err
			}
		}
		return nil
	}))
	for _, tc := range []struct{ limit, want int }{
		{0, 100}, {-1, 100}, {7, 7}, {store.EventsMaxLimit, store.EventsMaxLimit}, {5000, store.EventsMaxLimit},
	} {
		es, _ := events(t, s, store.EventQuery{Limit: tc.limit})
		require.Len(t, es, tc.want, "events, limit %d", tc.limit)
		es, _ = events(t, s, store.EventQuery{Tenant: tn, Limit: tc.limit})
		require.Len(t, es, tc.want, "tenant's events, limit %d", tc.limit)
		require.Equal(t, tc.want, store.EventQuery{Limit: tc.limit}.EffectiveLimit())
		hs := history(t, s, store.HistoryQuery{Tenant: tn, Limit: tc.limit})
		require.Len(t, hs, tc.want, "history, limit %d", tc.limit)
		require.Equal(t, tc.want, store.HistoryQuery{Limit: tc.limit}.EffectiveLimit())
	}
	all, _ := followEvents(t, s, "", "", 5000)
	require.Len(t, all, n)
}

// Many concurrent writers: a reader that follows the cursor from the start
// while they write sees every committed event exactly once, in the order
// each writer committed them, and none of a write that failed.
func testEventsConcurrentWriters(t *testing.T, s store.Store) {
	ctx := context.Background()
	tn := newTenant(t, s, "acme")
	const writers, perWriter = 8, 50

	type pos struct{ writer, n int }
	var (
		mu     sync.Mutex
		posOf  = map[string]pos{} // event id → its writer and change
		failed = map[string]bool{}
	)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range perWriter {
				id := fmt.Sprintf("w%d-%03d", g, i)
				c := change(tn, schema.UserResource, id, id, "create", i, id, store.UserCreated)
				if i%3 == 0 {
					c.Events = append(c.Events, store.Event{ID: uuid.NewString(), Type: store.UserDeactivated, Time: c.Time,
						ResourceType: c.ResourceType, ResourceID: id, Data: json.RawMessage(`{}`)})
				}
				fail := i%10 == 7
				err := s.Write(ctx, func(w store.Writer) error {
					if err := w.Create(ctx, user(tn, id, map[string]any{"userName": id}, i)); err != nil {
						return err
					}
					if err := w.Record(ctx, c); err != nil {
						return err
					}
					if fail {
						return errBoom
					}
					return nil
				})
				mu.Lock()
				for _, e := range c.Events {
					if fail {
						failed[e.ID] = true
					} else {
						posOf[e.ID] = pos{g, i}
					}
				}
				mu.Unlock()
				if fail {
					if !assertErrorIs(t, err, errBoom) {
						return
					}
				} else if err != nil {
					t.Errorf("write %s: %v", id, err)
					return
				}
			}
		})
	}

	defer wg.Wait() // should the reader fail

	// The reader follows the cursor while the writers write.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var (
		seen   []store.Event
		cursor string
	)
	deadline := time.Now().Add(time.Minute)
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		page, next, err := s.Events().List(ctx, store.EventQuery{After: cursor, Limit: 7})
		require.NoError(t, err)
		seen = append(seen, page...)
		cursor = next
		if len(page) == 0 {
			if finished {
				break // every write had returned before this read
			}
			require.True(t, time.Now().Before(deadline), "the writers take too long")
			time.Sleep(time.Millisecond)
		}
	}

	count := map[string]int{}
	last := make([]int, writers)
	for i := range last {
		last[i] = -1
	}
	for _, e := range seen {
		count[e.ID]++
		require.False(t, failed[e.ID], "event %s of a failed write", e.ID)
		p, ok := posOf[e.ID]
		require.True(t, ok, "unknown event %s", e.ID)
		require.GreaterOrEqual(t, p.n, last[p.writer], "writer %d's events in commit order", p.writer)
		last[p.writer] = p.n
	}
	for id := range posOf {
		require.Equal(t, 1, count[id], "event %s seen once", id)
	}
	require.Len(t, seen, len(posOf))
	// The history has each committed change once, Seq ascending.
	var hs []store.Change
	for after := int64(0); ; {
		page := history(t, s, store.HistoryQuery{Tenant: tn, After: after, Limit: 64})
		if len(page) == 0 {
			break
		}
		hs = append(hs, page...)
		after = page[len(page)-1].Seq
	}
	require.Len(t, hs, writers*(perWriter-perWriter/10))
	for i := 1; i < len(hs); i++ {
		require.Greater(t, hs[i].Seq, hs[i-1].Seq)
	}
}

// assertErrorIs is require.ErrorIs for a goroutine other than the test's.
func assertErrorIs(t *testing.T, err, target error) bool {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("error %v, want %v", err, target)
		return false
	}
	return true
}

// The history's filters.
func testHistoryFilters(t *testing.T, s store.Store) {
	tn := newTenant(t, s, "acme")
	u, g := schema.UserResource, schema.GroupResource
	cs := []*store.Change{
		change(tn, u, "u1", "Alice", "create", 0, "1"),
		change(tn, u, "u2", "bob", "create", 1, "2"),
		change(tn, u, "u1", "Alice", "patch", 2, "3"),
		change(tn, u, "u1", "alice.smith", "replace", 3, "4"), // renamed
		change(tn, g, "g1", "alice", "create", 4, "5"),        // a group, not a user
		change(tn, u, "u3", "ALICE", "create", 5, "6"),        // the old name, taken again
		change(tn, u, "u2", "bob", "delete", 6, "7"),
		change(tn, u, "u1", "alice.smith", "patch", 7, "8"),
	}
	cs[1].Actor = "admin:carol"
	cs[6].Actor = "admin:carol"
	cs[6].Version = 0
	record(t, s, cs...)
	for i := 1; i < len(cs); i++ {
		require.Greater(t, cs[i].Seq, cs[i-1].Seq, "Seq ascending")
	}
	at := func(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

	for _, tc := range []struct {
		name string
		q    store.HistoryQuery
		want []string
	}{
		{"All", store.HistoryQuery{}, []string{"1", "2", "3", "4", "5", "6", "7", "8"}},
		{"Users", store.HistoryQuery{ResourceType: u}, []string{"1", "2", "3", "4", "6", "7", "8"}},
		{"Groups", store.HistoryQuery{ResourceType: g}, []string{"5"}},
		{"Resource", store.HistoryQuery{ResourceID: "u1"}, []string{"1", "3", "4", "8"}},
		{"TypeAndResource", store.HistoryQuery{ResourceType: u, ResourceID: "u1"}, []string{"1", "3", "4", "8"}},
		{"WrongTypeOfResource", store.HistoryQuery{ResourceType: g, ResourceID: "u1"}, nil},
		{"DeletedResource", store.HistoryQuery{ResourceID: "u2"}, []string{"2", "7"}},
		{"UserName", store.HistoryQuery{UserName: "alice"}, []string{"1", "3", "4", "6", "8"}},
		{"UserNameOtherCase", store.HistoryQuery{UserName: "aLiCe"}, []string{"1", "3", "4", "6", "8"}},
		{"UserNameAfterRename", store.HistoryQuery{UserName: "ALICE.SMITH"}, []string{"1", "3", "4", "8"}},
		{"UserNameOfDeleted", store.HistoryQuery{UserName: "Bob"}, []string{"2", "7"}},
		{"UserNameUnknown", store.HistoryQuery{UserName: "nobody"}, nil},
		{"UserNameAndResource", store.HistoryQuery{UserName: "alice", ResourceID: "u3"}, []string{"6"}},
		{"Actor", store.HistoryQuery{Actor: "admin:carol"}, []string{"2", "7"}},
		{"ActorUnknown", store.HistoryQuery{Actor: "admin:mallory"}, nil},
		{"Since", store.HistoryQuery{Since: at(3)}, []string{"4", "5", "6", "7", "8"}},
		{"Until", store.HistoryQuery{Until: at(3)}, []string{"1", "2", "3"}},
		{"SinceUntil", store.HistoryQuery{Since: at(2), Until: at(5)}, []string{"3", "4", "5"}},
		{"SinceMicrosecond", store.HistoryQuery{Since: at(3).Add(time.Microsecond)}, []string{"5", "6", "7", "8"}},
		{"After", store.HistoryQuery{After: cs[3].Seq}, []string{"5", "6", "7", "8"}},
		{"Limit", store.HistoryQuery{Limit: 3}, []string{"1", "2", "3"}},
		{"AfterLimit", store.HistoryQuery{After: cs[2].Seq, Limit: 3}, []string{"4", "5", "6"}},
		{"UserNameSince", store.HistoryQuery{UserName: "alice", Since: at(3)}, []string{"4", "6", "8"}},
		{"UserNameLimit", store.HistoryQuery{UserName: "alice", After: cs[0].Seq, Limit: 2}, []string{"3", "4"}},
		{"Everything", store.HistoryQuery{ResourceType: u, ResourceID: "u1", UserName: "Alice", Actor: "Scim System User",
			Since: at(1), Until: at(8), After: cs[2].Seq, Limit: 1}, []string{"4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Tenant = tn
			got := history(t, s, q)
			require.Equal(t, tc.want, nilIfEmpty(labels(got)))
			for _, c := range got {
				require.Equal(t, tn, c.Tenant)
			}
		})
	}
}

// Every field of a change comes back from the history as recorded.
func testHistoryRoundTrip(t *testing.T, s store.Store) {
	tn := newTenant(t, s, "acme")
	cet := time.FixedZone("CET", 3600)
	at := time.Date(2024, 3, 10, 10, 0, 0, 654321000, cet)
	c := &store.Change{
		Tenant: tn, Time: at, ResourceType: schema.GroupResource, ResourceID: "g1", ResourceName: "Engineering",
		Operation: "patch", Version: 7,
		Actor: "Scim System User", ActorLabel: "Okta provisioning", Credential: "token:tok-1",
		RequestID: "req-42", ClientAddr: "203.0.113.7",
		Attributes: []store.AttrChange{
			{Path: "displayName", Before: "Eng", After: "Engineering"},
			{Path: "name", After: map[string]any{"givenName": "Ada", "familyName": "Lovelace"}},
			{Path: "emails", Before: []any{map[string]any{"value": "a@x.example", "primary": true, "type": "work"}}},
			{Path: "active", Before: true, After: false},
			{Path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", After: map[string]any{
				"value": "m1", "nested": map[string]any{"n": 3.5, "list": []any{"x", 1.0, false, nil}},
			}},
		},
		MembersAdded:   []string{"u2", "u1", "g9"},
		MembersRemoved: []string{"u3"},
	}
	for _, et := range []string{store.GroupUpdated, store.GroupMembersAdded, store.GroupMembersRemoved} {
		c.Events = append(c.Events, store.Event{ID: uuid.NewString(), Type: et, Time: at, ResourceType: c.ResourceType,
			ResourceID: c.ResourceID, Data: json.RawMessage(`{"members": [{"value": "u2"}], "id": "g1"}`)})
	}
	// A minimal change: every optional field empty.
	bare := &store.Change{Tenant: tn, Time: at.Add(time.Second), ResourceType: schema.UserResource, ResourceID: "u1",
		Operation: "delete", Actor: "system"}
	record(t, s, c, bare)
	require.Equal(t, []string{store.GroupUpdated, store.GroupMembersAdded, store.GroupMembersRemoved}, c.EventTypes)

	got := history(t, s, store.HistoryQuery{Tenant: tn})
	require.Len(t, got, 2)
	want := *c
	want.Events = nil
	requireChange(t, want, got[0])

	b := got[1]
	require.Equal(t, bare.Seq, b.Seq)
	require.Equal(t, tn, b.Tenant)
	require.True(t, bare.Time.Equal(b.Time))
	require.Equal(t, "delete", b.Operation)
	require.Equal(t, "system", b.Actor)
	require.Zero(t, b.Version)
	require.Empty(t, b.ResourceName)
	require.Empty(t, b.ActorLabel)
	require.Empty(t, b.Credential)
	require.Empty(t, b.RequestID)
	require.Empty(t, b.ClientAddr)
	require.Empty(t, b.Attributes)
	require.Empty(t, b.MembersAdded)
	require.Empty(t, b.MembersRemoved)
	require.Empty(t, b.EventTypes)
	require.Empty(t, b.Events)
}

// requireChange checks that got is want as stored, its time in UTC.
func requireChange(t *testing.T, want, got store.Change) {
	t.Helper()
	require.True(t, want.Time.Equal(got.Time), "time %s, want %s", got.Time, want.Time)
	require.Equal(t, time.UTC, got.Time.Location())
	want.Time, got.Time = time.Time{}, time.Time{}
	require.Equal(t, want, got)
}

// History and events of one tenant are never returned for another.
func testChangesTenantIsolation(t *testing.T, s store.Store) {
	a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
	// The same ids and names in both tenants.
	ca := change(a, schema.UserResource, "u1", "alice", "create", 0, "a1", store.UserCreated)
	cb := change(b, schema.UserResource, "u1", "alice", "create", 1, "b1", store.UserCreated)
	ca2 := change(a, schema.UserResource, "u2", "carol", "create", 2, "a2", store.UserCreated)
	record(t, s, ca, cb, ca2)

	for _, q := range []store.HistoryQuery{
		{}, {ResourceID: "u1"}, {UserName: "alice"}, {ResourceType: schema.UserResource}, {Actor: "Scim System User"},
	} {
		q.Tenant = b
		got := history(t, s, q)
		require.Equal(t, []string{"b1"}, labels(got), "%+v", q)
		require.Equal(t, b, got[0].Tenant)
	}
	require.Empty(t, history(t, s, store.HistoryQuery{Tenant: b, ResourceID: "u2"}))
	require.Empty(t, history(t, s, store.HistoryQuery{Tenant: b, UserName: "carol"}))
	require.Equal(t, []string{"a1", "a2"}, labels(history(t, s, store.HistoryQuery{Tenant: a})))
	require.Empty(t, history(t, s, store.HistoryQuery{Tenant: "no-such-tenant"}))

	es, _ := followEvents(t, s, b, "", 10)
	require.Equal(t, changeEventIDs(cb), eventIDs(es))
	es, _ = followEvents(t, s, a, "", 10)
	require.Equal(t, changeEventIDs(ca, ca2), eventIDs(es))
	// Following a tenant's feed from another tenant's cursor skips the
	// other tenant's events.
	es, _ = followEvents(t, s, b, ca.Events[0].Cursor, 10)
	require.Equal(t, changeEventIDs(cb), eventIDs(es))
	es, _ = followEvents(t, s, "", "", 10)
	require.Equal(t, changeEventIDs(ca, cb, ca2), eventIDs(es))
	require.Equal(t, []string{a, b, a}, []string{es[0].Tenant, es[1].Tenant, es[2].Tenant})
}

// Purge removes the oldest history and events, at most limit at a time, and
// never reuses an event's position.
func testChangesPurge(t *testing.T, s store.Store) {
	ctx := context.Background()
	oldest, err := s.Events().Oldest(ctx)
	require.NoError(t, err)
	es, next := events(t, s, store.EventQuery{After: oldest})
	require.Empty(t, es)
	require.Equal(t, oldest, next)
	n, err := s.History().Purge(ctx, base.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = s.Events().Purge(ctx, base.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Zero(t, n)

	a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
	var cs []*store.Change
	for i := range 10 {
		tn := a
		if i%2 == 1 {
			tn = b
		}
		cs = append(cs, change(tn, schema.UserResource, "u1", "alice", "patch", i, fmt.Sprint(i), store.UserUpdated))
	}
	record(t, s, cs...)
	allHistory := func() []string {
		return append(labels(history(t, s, store.HistoryQuery{Tenant: a})), labels(history(t, s, store.HistoryQuery{Tenant: b}))...)
	}
	all, _ := followEvents(t, s, "", "", 100)
	require.Len(t, all, 10)

	oldest, err = s.Events().Oldest(ctx)
	require.NoError(t, err)
	got, _ := followEvents(t, s, "", oldest, 100)
	require.Equal(t, eventIDs(all), eventIDs(got), "Oldest is just before the oldest event")

	cut := base.Add(5 * time.Minute) // entries 0…4 are older
	for _, step := range []struct{ limit, want int }{{3, 3}, {3, 2}, {3, 0}} {
		n, err := s.History().Purge(ctx, cut, step.limit)
		require.NoError(t, err)
		require.Equal(t, step.want, n, "history")
		n, err = s.Events().Purge(ctx, cut, step.limit)
		require.NoError(t, err)
		require.Equal(t, step.want, n, "events")
		if step.want == 3 {
			// The oldest went first.
			require.ElementsMatch(t, []string{"3", "4", "5", "6", "7", "8", "9"}, allHistory())
			left, _ := followEvents(t, s, "", "", 100)
			require.Equal(t, eventIDs(all[3:]), eventIDs(left))
		}
	}
	require.ElementsMatch(t, []string{"5", "6", "7", "8", "9"}, allHistory())
	left, _ := followEvents(t, s, "", "", 100)
	require.Equal(t, eventIDs(all[5:]), eventIDs(left))
	oldest, err = s.Events().Oldest(ctx)
	require.NoError(t, err)
	got, _ = followEvents(t, s, "", oldest, 100)
	require.Equal(t, eventIDs(all[5:]), eventIDs(got))
	// A cursor from before the purge still reads on.
	got, _ = followEvents(t, s, "", all[1].Cursor, 100)
	require.Equal(t, eventIDs(all[5:]), eventIDs(got))

	// Purging everything: positions are not handed out again, so a reader
	// at the last event's cursor gets the next one.
	n, err = s.History().Purge(ctx, base.Add(time.Hour), 100)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	n, err = s.Events().Purge(ctx, base.Add(time.Hour), 100)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	require.Empty(t, allHistory())
	lastCursor := all[len(all)-1].Cursor
	es, next = events(t, s, store.EventQuery{After: lastCursor})
	require.Empty(t, es)
	require.Equal(t, lastCursor, next)
	oldest, err = s.Events().Oldest(ctx)
	require.NoError(t, err)

	c := change(a, schema.UserResource, "u1", "alice", "patch", 20, "20", store.UserUpdated)
	record(t, s, c)
	require.Greater(t, c.Seq, cs[len(cs)-1].Seq, "history Seq is not reused")
	got, _ = followEvents(t, s, "", lastCursor, 100)
	require.Equal(t, changeEventIDs(c), eventIDs(got))
	got, _ = followEvents(t, s, "", oldest, 100)
	require.Equal(t, changeEventIDs(c), eventIDs(got))
	require.Equal(t, []string{"20"}, labels(history(t, s, store.HistoryQuery{Tenant: a, After: cs[len(cs)-1].Seq})))
}

// Deleting a tenant removes its history, events and webhook endpoints, and
// leaves the other tenant's.
func testChangesTenantDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	acme, globex := newTenant(t, s, "acme"), newTenant(t, s, "globex")
	var ca, cg []*store.Change
	for i := range 5 {
		ca = append(ca, change(acme, schema.UserResource, "u1", "alice", "patch", i, fmt.Sprint("acme", i), store.UserUpdated))
		cg = append(cg, change(globex, schema.UserResource, "u1", "alice", "patch", i, fmt.Sprint("globex", i), store.UserUpdated))
		record(t, s, ca[i], cg[i])
	}
	for _, e := range []store.WebhookEndpoint{
		{ID: "wh-acme", Tenant: acme, URL: "https://acme.example/hook", Secret: "s1", MaxAttempts: 5, Created: base},
		{ID: "wh-globex", Tenant: globex, URL: "https://globex.example/hook", Secret: "s2", MaxAttempts: 5, Created: base},
	} {
		require.NoError(t, Write(s).Webhooks().Create(ctx, e))
	}
	globexHistory := history(t, s, store.HistoryQuery{Tenant: globex})
	globexEvents, _ := followEvents(t, s, globex, "", 100)
	require.Len(t, globexEvents, 5)

	require.NoError(t, Write(s).Tenants().Delete(ctx, acme))

	requireGone := func() {
		t.Helper()
		require.Empty(t, history(t, s, store.HistoryQuery{Tenant: acme}))
		require.Empty(t, history(t, s, store.HistoryQuery{Tenant: acme, UserName: "alice"}))
		es, _ := followEvents(t, s, acme, "", 100)
		require.Empty(t, es)
		es, _ = followEvents(t, s, "", "", 100)
		require.Equal(t, eventIDs(globexEvents), eventIDs(es), "only globex's events are left")
		hooks, err := s.Webhooks().List(ctx, acme)
		require.NoError(t, err)
		require.Empty(t, hooks)
		_, err = s.Webhooks().Get(ctx, "wh-acme")
		require.ErrorIs(t, err, store.ErrNotFound)
		hooks, err = s.Webhooks().List(ctx, "")
		require.NoError(t, err)
		require.Len(t, hooks, 1)
		require.Equal(t, "wh-globex", hooks[0].ID)
	}
	requireGone()
	require.Equal(t, globexHistory, history(t, s, store.HistoryQuery{Tenant: globex}))
	es, _ := followEvents(t, s, globex, "", 100)
	require.Equal(t, globexEvents, es)
	// Purging finds nothing of acme's left.
	n, err := s.History().Purge(ctx, base.Add(time.Hour), 100)
	require.NoError(t, err)
	require.Equal(t, 5, n, "only globex's history")
	n, err = s.Events().Purge(ctx, base.Add(time.Hour), 100)
	require.NoError(t, err)
	require.Equal(t, 5, n, "only globex's events")

	// A tenant created again with the same id starts without history.
	require.NoError(t, Write(s).Tenants().Create(ctx, store.Tenant{ID: acme, Name: "acme", Created: base}))
	require.Empty(t, history(t, s, store.HistoryQuery{Tenant: acme}))
	es, _ = followEvents(t, s, acme, "", 100)
	require.Empty(t, es)
	hooks, err := s.Webhooks().List(ctx, acme)
	require.NoError(t, err)
	require.Empty(t, hooks)
	require.NoError(t, Write(s).Webhooks().Create(ctx, store.WebhookEndpoint{ID: "wh-acme", Tenant: acme, URL: "https://acme.example/new", MaxAttempts: 1, Created: base}),
		"the endpoint id is free again")
}

// Webhook endpoints: create, read, list, update and delete.
func testWebhooks(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
	e1 := store.WebhookEndpoint{ID: "wh1", Tenant: a, URL: "https://a.example/hook", Secret: "whsec_one",
		EventTypes: []string{store.UserCreated, store.GroupMembersAdded}, MaxAttempts: 8, Created: base}
	e2 := store.WebhookEndpoint{ID: "wh2", Tenant: b, URL: "https://b.example/hook", Secret: "whsec_two",
		MaxAttempts: 3, Disabled: true, Created: base.Add(time.Minute)}
	e3 := store.WebhookEndpoint{ID: "wh3", Tenant: a, URL: "https://a.example/other", Secret: "whsec_three",
		EventTypes: []string{store.UserDeleted}, MaxAttempts: 1, Created: base.Add(2 * time.Minute)}
	for _, e := range []store.WebhookEndpoint{e1, e2, e3} {
		require.NoError(t, Write(s).Webhooks().Create(ctx, e))
	}

	dup := e3
	dup.Tenant, dup.URL = b, "https://b.example/dup"
	require.ErrorIs(t, Write(s).Webhooks().Create(ctx, dup), store.ErrConflict, "duplicate id")
	orphan := store.WebhookEndpoint{ID: "wh9", Tenant: "no-such-tenant", URL: "https://x.example", MaxAttempts: 1, Created: base}
	require.ErrorIs(t, Write(s).Webhooks().Create(ctx, orphan), store.ErrNotFound, "unknown tenant")

	for _, e := range []store.WebhookEndpoint{e1, e2, e3} {
		got, err := s.Webhooks().Get(ctx, e.ID)
		require.NoError(t, err)
		requireEndpoint(t, e, got)
	}
	_, err := s.Webhooks().Get(ctx, "wh9")
	require.ErrorIs(t, err, store.ErrNotFound)

	for _, tc := range []struct {
		tenant string
		want   []store.WebhookEndpoint
	}{
		{a, []store.WebhookEndpoint{e1, e3}},
		{b, []store.WebhookEndpoint{e2}},
		{"", []store.WebhookEndpoint{e1, e2, e3}},
		{"no-such-tenant", nil},
	} {
		got, err := s.Webhooks().List(ctx, tc.tenant)
		require.NoError(t, err)
		require.Len(t, got, len(tc.want), "tenant %q", tc.tenant)
		for i := range got {
			requireEndpoint(t, tc.want[i], got[i])
		}
	}

	up := e1
	up.URL, up.Secret, up.EventTypes, up.MaxAttempts, up.Disabled = "https://a.example/v2", "whsec_rotated", nil, 12, true
	require.NoError(t, Write(s).Webhooks().Update(ctx, up))
	got, err := s.Webhooks().Get(ctx, "wh1")
	require.NoError(t, err)
	requireEndpoint(t, up, got)
	up.EventTypes, up.Disabled = []string{store.UserReactivated}, false
	require.NoError(t, Write(s).Webhooks().Update(ctx, up))
	got, err = s.Webhooks().Get(ctx, "wh1")
	require.NoError(t, err)
	requireEndpoint(t, up, got)
	require.ErrorIs(t, Write(s).Webhooks().Update(ctx, orphan), store.ErrNotFound)

	require.NoError(t, Write(s).Webhooks().Delete(ctx, "wh1"))
	_, err = s.Webhooks().Get(ctx, "wh1")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, Write(s).Webhooks().Delete(ctx, "wh1"), store.ErrNotFound)
	list, err := s.Webhooks().List(ctx, a)
	require.NoError(t, err)
	require.Len(t, list, 1)
	requireEndpoint(t, e3, list[0])
}

// requireEndpoint checks that got is want as stored: an empty EventTypes
// may come back nil or empty, Created to the microsecond.
func requireEndpoint(t *testing.T, want, got store.WebhookEndpoint) {
	t.Helper()
	require.True(t, want.Created.Equal(got.Created), "created %s, want %s", got.Created, want.Created)
	require.ElementsMatch(t, want.EventTypes, got.EventTypes)
	want.Created, got.Created = time.Time{}, time.Time{}
	want.EventTypes, got.EventTypes = nil, nil
	require.Equal(t, want, got)
}

// ClearMembers returns the ids it removed, and a write that fails keeps
// them.
func testClearMembers(t *testing.T, s store.Store) {
	ctx := context.Background()
	tn := newTenant(t, s, "acme")
	mustCreate(t, s,
		group(tn, "g", "Engineering", 0),
		user(tn, "u1", map[string]any{"userName": "alice"}, 1),
		user(tn, "u2", map[string]any{"userName": "bob"}, 2),
		group(tn, "h", "Platform", 3),
		group(tn, "empty", "Empty", 4),
	)
	_, err := addMembers(s, tn, "g", "u1", "u2", "h")
	require.NoError(t, err)
	_, err = addMembers(s, tn, "h", "u1")
	require.NoError(t, err)
	clearGroup := func(groupID string, fail bool) ([]string, error) {
		var removed []string
		err := s.Write(ctx, func(w store.Writer) error {
			var err error
			removed, err = w.ClearMembers(ctx, tn, groupID)
			if err == nil && fail {
				return errBoom
			}
			return err
		})
		return removed, err
	}

	removed, err := clearGroup("g", true)
	require.ErrorIs(t, err, errBoom)
	require.ElementsMatch(t, []string{"u1", "u2", "h"}, removed)
	require.ElementsMatch(t, []string{"u1", "u2", "h"}, memberIDs(members(t, s, tn, "g")), "rolled back")

	removed, err = clearGroup("g", false)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"u1", "u2", "h"}, removed)
	require.Empty(t, members(t, s, tn, "g"))
	require.Equal(t, []string{"u1"}, memberIDs(members(t, s, tn, "h")), "other groups keep theirs")

	removed, err = clearGroup("g", false)
	require.NoError(t, err)
	require.Empty(t, removed)
	removed, err = clearGroup("empty", false)
	require.NoError(t, err)
	require.Empty(t, removed)
	_, err = clearGroup("u1", false)
	require.ErrorIs(t, err, store.ErrNotFound, "a user has no members")
	_, err = clearGroup("ghost", false)
	require.ErrorIs(t, err, store.ErrNotFound)
}
