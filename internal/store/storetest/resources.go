package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
)

func testResourceCRUD(t *testing.T, s store.Store) {
	ctx := context.Background()
	tn := newTenant(t, s, "acme")
	attrs := map[string]any{
		"userName":    "bjensen",
		"externalId":  "ext-1",
		"displayName": "Babs Jensen",
		"active":      true,
		"name":        map[string]any{"givenName": "Barbara", "familyName": "Jensen"},
		"emails": []any{
			map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true},
			map[string]any{"value": "babs@jensen.org", "type": "home"},
		},
		"title": "Tour \"Guide\"\n\t\\ <&> ünïcödé ☃",
		schema.EnterpriseUserURN: map[string]any{
			"employeeNumber": "701984",
			"manager":        map[string]any{"value": "boss", "displayName": "The Boss"},
		},
		// Types the core schemas do not use must round-trip too.
		"urn:example:params:scim:schemas:extension:test:2.0:User": map[string]any{
			"count":  int64(9007199254740993),
			"ratio":  2.0,
			"small":  0.25,
			"neg":    int64(-7),
			"flags":  []any{true, false},
			"scores": []any{int64(1), 2.5},
		},
	}
	r := user(tn, "u1", attrs, 0)
	r.Modified = r.Created.Add(time.Second)
	mustCreate(t, s, r)

	got, err := s.Resources().Get(ctx, tn, schema.UserResource, "u1")
	require.NoError(t, err)
	requireResource(t, r, got)

	// Get inside a write sees the same.
	require.NoError(t, s.Write(ctx, func(w store.Writer) error {
		got, err := w.Get(ctx, tn, schema.UserResource, "u1")
		require.NoError(t, err)
		requireResource(t, r, got)
		return nil
	}))

	// The wrong type is not found.
	_, err = s.Resources().Get(ctx, tn, schema.GroupResource, "u1")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Resources().Get(ctx, tn, schema.UserResource, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)

	// A duplicate id is a conflict, whatever the type.
	require.ErrorIs(t, create(s, user(tn, "u1", map[string]any{"userName": "other"}, 1)), store.ErrConflict)
	require.ErrorIs(t, create(s, group(tn, "u1", "G", 1)), store.ErrConflict)

	// Update replaces the attributes.
	upd, err := update(s, tn, schema.UserResource, "u1", func(a map[string]any) {
		a["userName"] = "BJensen2"
		delete(a, "emails")
		delete(a, "externalId")
		a["nickName"] = "Babs"
	})
	require.NoError(t, err)
	require.EqualValues(t, 2, upd.Version)
	got, err = s.Resources().Get(ctx, tn, schema.UserResource, "u1")
	require.NoError(t, err)
	requireResource(t, upd, got)
	require.NotContains(t, got.Attrs, "emails")

	// The indexed columns follow the update.
	rt := schema.Default().User()
	for filter, want := range map[string][]string{
		`userName eq "bjensen2"`:            {"u1"},
		`userName eq "bjensen"`:             nil,
		`externalId eq "ext-1"`:             nil,
		`emails.value eq "babs@jensen.org"`: nil,
		`nickName eq "babs"`:                {"u1"},
	} {
		require.Equal(t, want, ids(queryIDs(t, s, tn, rt, store.Query{Filter: mustFilter(t, rt, filter), Count: 10})), filter)
	}

	// Updating or deleting what does not exist is not found.
	err = s.Write(ctx, func(w store.Writer) error {
		return w.Update(ctx, user(tn, "nope", map[string]any{"userName": "x"}, 0))
	})
	require.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, s.Write(ctx, func(w store.Writer) error { return w.Delete(ctx, tn, schema.UserResource, "u1") }))
	_, err = s.Resources().Get(ctx, tn, schema.UserResource, "u1")
	require.ErrorIs(t, err, store.ErrNotFound)
	err = s.Write(ctx, func(w store.Writer) error { return w.Delete(ctx, tn, schema.UserResource, "u1") })
	require.ErrorIs(t, err, store.ErrNotFound)

	// A group round-trips too.
	g := group(tn, "g1", "Admins", 5)
	g.Attrs["externalId"] = "G-1"
	mustCreate(t, s, g)
	got, err = s.Resources().Get(ctx, tn, schema.GroupResource, "g1")
	require.NoError(t, err)
	requireResource(t, g, got)
	err = s.Write(ctx, func(w store.Writer) error { return w.Delete(ctx, tn, schema.UserResource, "g1") })
	require.ErrorIs(t, err, store.ErrNotFound, "delete with the wrong type")

	require.NoError(t, s.Ping(ctx))
}

// ids turns an empty slice into nil, for comparisons.
func ids(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func testTenantIsolation(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
	rt := schema.Default().User()

	// The same userName, displayName and externalId may exist in both tenants.
	mustCreate(t, s,
		user(a, "a-alice", map[string]any{"userName": "alice", "externalId": "x1", "emails": []any{map[string]any{"value": "alice@example.com"}}}, 0),
		user(b, "b-alice", map[string]any{"userName": "Alice", "externalId": "x1", "emails": []any{map[string]any{"value": "alice@example.com"}}}, 1),
		group(a, "a-group", "Staff", 2),
		group(b, "b-group", "Staff", 3),
	)
	_, err := addMembers(s, a, "a-group", "a-alice")
	require.NoError(t, err)

	// Reads never cross tenants.
	_, err = s.Resources().Get(ctx, b, schema.UserResource, "a-alice")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, s.Write(ctx, func(w store.Writer) error {
		_, err := w.Get(ctx, b, schema.UserResource, "a-alice")
		require.ErrorIs(t, err, store.ErrNotFound)
		return nil
	}))
	for _, f := range []string{`userName eq "alice"`, `externalId eq "x1"`, `emails.value eq "alice@example.com"`, `emails pr`} {
		require.Equal(t, []string{"b-alice"}, queryIDs(t, s, b, rt, store.Query{Filter: mustFilter(t, rt, f), Count: 10}), f)
	}
	require.Empty(t, queryIDs(t, s, b, rt, store.Query{Filter: mustFilter(t, rt, `id eq "a-alice"`), Count: 10}))
	require.Equal(t, []string{"b-alice"}, queryIDs(t, s, b, rt, store.Query{Count: 10}))
	require.Equal(t, 1, total(t, s, b, rt))
	gt := schema.Default().Group()
	require.Empty(t, queryIDs(t, s, b, gt, store.Query{Filter: mustFilter(t, gt, `members.value eq "a-alice"`), Count: 10}))
	require.Empty(t, queryIDs(t, s, "no-such-tenant", rt, store.Query{Count: 10}))

	err = s.Resources().Members(ctx, b, "a-group", func(store.Member) error { return nil })
	require.ErrorIs(t, err, store.ErrNotFound)
	groups, err := s.Resources().Groups(ctx, b, "a-alice")
	require.NoError(t, err)
	require.Empty(t, groups)

	// Writes never cross tenants.
	err = s.Write(ctx, func(w store.Writer) error {
		return w.Update(ctx, store.Resource{Tenant: b, Type: schema.UserResource, ID: "a-alice", Attrs: map[string]any{"userName": "mallory"}, Version: 2})
	})
	require.ErrorIs(t, err, store.ErrNotFound)
	err = s.Write(ctx, func(w store.Writer) error { return w.Delete(ctx, b, schema.UserResource, "a-alice") })
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = addMembers(s, b, "b-group", "a-alice")
	var me *store.MemberError
	require.ErrorAs(t, err, &me)
	require.Equal(t, "a-alice", me.ID)
	_, err = addMembers(s, b, "a-group", "b-alice")
	require.ErrorIs(t, err, store.ErrNotFound)
	err = s.Write(ctx, func(w store.Writer) error {
		_, err := w.ClearMembers(ctx, b, "a-group")
		return err
	})
	require.ErrorIs(t, err, store.ErrNotFound)

	// Tenant a is untouched.
	got, err := s.Resources().Get(ctx, a, schema.UserResource, "a-alice")
	require.NoError(t, err)
	require.Equal(t, "alice", got.Attrs["userName"])
	require.Len(t, members(t, s, a, "a-group"), 1)
}

func testUniquenessPerTenant(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
	mustCreate(t, s, user(a, "u1", map[string]any{"userName": "Alice"}, 0))

	// userName is unique per tenant, compared case-insensitively (RFC 7643 §4.1.1).
	for _, name := range []string{"Alice", "alice", "ALICE", "aLiCe"} {
		err := create(s, user(a, "dup-"+name, map[string]any{"userName": name}, 1))
		require.ErrorIs(t, err, store.ErrConflict, name)
	}
	mustCreate(t, s, user(b, "b1", map[string]any{"userName": "alice"}, 1))
	// Groups may share a displayName, and a group is not a user.
	mustCreate(t, s, group(a, "g1", "alice", 2), group(a, "g2", "alice", 3))

	// An update that takes a used userName is a conflict; keeping one's own is not.
	mustCreate(t, s, user(a, "u2", map[string]any{"userName": "bob"}, 4))
	_, err := update(s, a, schema.UserResource, "u2", func(m map[string]any) { m["userName"] = "ALICE" })
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = update(s, a, schema.UserResource, "u1", func(m map[string]any) { m["userName"] = "alice" })
	require.NoError(t, err)

	// Deleting frees the name.
	require.NoError(t, s.Write(ctx, func(w store.Writer) error { return w.Delete(ctx, a, schema.UserResource, "u1") }))
	mustCreate(t, s, user(a, "u3", map[string]any{"userName": "ALICE"}, 5))

	// Of concurrent creates of one userName exactly one wins.
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		won      int
		conflict int
	)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := create(s, user(a, "race-"+string(rune('a'+i)), map[string]any{"userName": "Racer"}, 6))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, store.ErrConflict):
				conflict++
			default:
				t.Errorf("create: %v", err)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 1, won)
	require.Equal(t, 19, conflict)
}

func testOptimisticConcurrency(t *testing.T, s store.Store) {
	ctx := context.Background()
	tn := newTenant(t, s, "acme")
	r := user(tn, "u1", map[string]any{"userName": "alice"}, 0)
	mustCreate(t, s, r)

	write := func(version int64) error {
		next := r
		next.Attrs = map[string]any{"userName": "alice", "title": "v"}
		next.Version = version
		return s.Write(ctx, func(w store.Writer) error { return w.Update(ctx, next) })
	}
	require.NoError(t, write(2))
	require.ErrorIs(t, write(2), store.ErrPrecondition, "stale")
	require.ErrorIs(t, write(4), store.ErrPrecondition, "from the future")
	require.ErrorIs(t, write(1), store.ErrPrecondition)
	require.NoError(t, write(3))

	// Concurrent read-modify-write cycles are serialized by Write.
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := update(s, tn, schema.UserResource, "u1", func(m map[string]any) { m["title"] = "x" })
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	got, err := s.Resources().Get(ctx, tn, schema.UserResource, "u1")
	require.NoError(t, err)
	require.EqualValues(t, 13, got.Version)
}

func testWriteRollback(t *testing.T, s store.Store) {
	ctx := context.Background()
	tn := newTenant(t, s, "acme")
	rt := schema.Default().User()
	mustCreate(t, s, group(tn, "g", "G", 0), user(tn, "keep", map[string]any{"userName": "keep"}, 0))

	err := s.Write(ctx, func(w store.Writer) error {
		require.NoError(t, w.Create(ctx, user(tn, "u1", map[string]any{"userName": "gone", "emails": []any{map[string]any{"value": "gone@example.com"}}}, 1)))
		_, err := w.AddMembers(ctx, tn, "g", []string{"u1", "keep"})
		require.NoError(t, err)
		require.NoError(t, w.Delete(ctx, tn, schema.UserResource, "keep"))
		return errBoom
	})
	require.Equal(t, errBoom, err, "the function's error comes back unchanged")

	_, err = s.Resources().Get(ctx, tn, schema.UserResource, "u1")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Resources().Get(ctx, tn, schema.UserResource, "keep")
	require.NoError(t, err)
	require.Empty(t, members(t, s, tn, "g"))
	require.Equal(t, 1, total(t, s, tn, rt))
	require.Empty(t, queryIDs(t, s, tn, rt, store.Query{Filter: mustFilter(t, rt, `emails.value eq "gone@example.com"`), Count: 10}))
	// The userName it took is free again.
	mustCreate(t, s, user(tn, "u2", map[string]any{"userName": "gone"}, 2))

	// A panic rolls back too, and reaches the caller.
	require.Panics(t, func() {
		_ = s.Write(ctx, func(w store.Writer) error {
			require.NoError(t, w.Create(ctx, user(tn, "p", map[string]any{"userName": "panicky"}, 3)))
			panic("write panicked")
		})
	})
	_, err = s.Resources().Get(ctx, tn, schema.UserResource, "p")
	require.ErrorIs(t, err, store.ErrNotFound)

	// Concurrent writes that fail roll back alone.
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := userIDs(40)[i]
			err := s.Write(ctx, func(w store.Writer) error {
				if err := w.Create(ctx, user(tn, id, map[string]any{"userName": id}, 4)); err != nil {
					return err
				}
				if i%2 == 1 {
					return errBoom
				}
				return nil
			})
			if i%2 == 1 {
				assert.Equal(t, errBoom, err)
			} else {
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	for i, id := range userIDs(40) {
		_, err := s.Resources().Get(ctx, tn, schema.UserResource, id)
		if i%2 == 1 {
			require.ErrorIs(t, err, store.ErrNotFound, id)
		} else {
			require.NoError(t, err, id)
		}
	}
	require.Equal(t, 22, total(t, s, tn, rt))

	// A cancelled context stops a write before it starts.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = s.Write(cctx, func(w store.Writer) error { return w.Create(ctx, user(tn, "c", map[string]any{"userName": "c"}, 5)) })
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.Resources().Get(ctx, tn, schema.UserResource, "c")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testCounts(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
	users, groups := schema.Default().User(), schema.Default().Group()
	require.Equal(t, 0, total(t, s, a, users))

	for i, id := range userIDs(5) {
		mustCreate(t, s, user(a, id, map[string]any{"userName": id}, i))
	}
	mustCreate(t, s, group(a, "g1", "G", 9), user(b, "b1", map[string]any{"userName": "b"}, 9))
	require.Equal(t, 5, total(t, s, a, users))
	require.Equal(t, 1, total(t, s, a, groups))
	require.Equal(t, 1, total(t, s, b, users))

	require.NoError(t, s.Write(ctx, func(w store.Writer) error {
		if err := w.Delete(ctx, a, schema.UserResource, "user-00"); err != nil {
			return err
		}
		return w.Delete(ctx, a, schema.UserResource, "user-01")
	}))
	require.Equal(t, 3, total(t, s, a, users))

	// Rolled back creates and deletes do not count.
	err := s.Write(ctx, func(w store.Writer) error {
		require.NoError(t, w.Create(ctx, user(a, "x", map[string]any{"userName": "x"}, 10)))
		require.NoError(t, w.Delete(ctx, a, schema.UserResource, "user-02"))
		return errBoom
	})
	require.ErrorIs(t, err, errBoom)
	require.Equal(t, 3, total(t, s, a, users))
	// A failed create does not count either.
	require.ErrorIs(t, create(s, user(a, "y", map[string]any{"userName": "USER-03"}, 11)), store.ErrConflict)
	require.Equal(t, 3, total(t, s, a, users))

	// The totals of filtered queries agree.
	page, err := s.Resources().Query(ctx, a, users, store.Query{Filter: mustFilter(t, users, `userName sw "user"`), Count: 1})
	require.NoError(t, err)
	require.Equal(t, 3, page.Total)
	require.Len(t, page.Resources, 1)
	page, err = s.Resources().Query(ctx, a, users, store.Query{Filter: mustFilter(t, users, `userName sw "user"`)})
	require.NoError(t, err)
	require.Equal(t, 3, page.Total)
	require.Empty(t, page.Resources)

	// So do those of eq filters, whose first page SQLite reads on its own
	// unless it is full: full, not full, later pages, empty.
	mustCreate(t, s, user(a, "t1", map[string]any{"userName": "t1", "title": "T"}, 12),
		user(a, "t2", map[string]any{"userName": "t2", "title": "T"}, 13))
	for _, tc := range []struct {
		filter            string
		start, count      int
		total, onThisPage int
	}{
		{`title eq "T"`, 1, 1, 2, 1},
		{`title eq "T"`, 1, 2, 2, 2},
		{`title eq "T"`, 1, 3, 2, 2},
		{`title eq "T"`, 2, 1, 2, 1},
		{`title eq "T" and userName eq "t2"`, 1, 1, 1, 1},
		{`userName eq "user-03"`, 1, 100, 1, 1},
		{`userName eq "nobody"`, 1, 100, 0, 0},
	} {
		page, err := s.Resources().Query(ctx, a, users, store.Query{Filter: mustFilter(t, users, tc.filter), StartIndex: tc.start, Count: tc.count})
		require.NoError(t, err, tc.filter)
		require.Equal(t, tc.total, page.Total, "%s start %d count %d", tc.filter, tc.start, tc.count)
		require.Len(t, page.Resources, tc.onThisPage, "%s start %d count %d", tc.filter, tc.start, tc.count)
	}
}

func testTenants(t *testing.T, s store.Store) {
	ctx := context.Background()
	acme := store.Tenant{ID: "t1", Name: "acme", Created: base}
	globex := store.Tenant{ID: "t2", Name: "globex", Created: base.Add(time.Hour), SCIMDisabled: true,
		Settings: store.TenantSettings{RateLimit: 25, JWT: &store.JWTSettings{Algorithm: "HS256", Secret: []byte("k"), Audience: "globex"}}}
	require.NoError(t, Write(s).Tenants().Create(ctx, acme))
	require.NoError(t, Write(s).Tenants().Create(ctx, globex))
	require.ErrorIs(t, Write(s).Tenants().Create(ctx, store.Tenant{ID: "t3", Name: "acme", Created: base}), store.ErrConflict)
	require.ErrorIs(t, Write(s).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "other", Created: base}), store.ErrConflict)

	got, err := s.Tenants().Get(ctx, "t2")
	require.NoError(t, err)
	requireTenant(t, globex, got)
	got, err = s.Tenants().GetByName(ctx, "acme")
	require.NoError(t, err)
	requireTenant(t, acme, got)
	_, err = s.Tenants().Get(ctx, "t3")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Tenants().GetByName(ctx, "initech")
	require.ErrorIs(t, err, store.ErrNotFound)

	list, err := s.Tenants().List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	byID := map[string]store.Tenant{}
	for _, tn := range list {
		byID[tn.ID] = tn
	}
	requireTenant(t, acme, byID["t1"])
	requireTenant(t, globex, byID["t2"])

	// The SCIM switch flips both ways and reports unknown tenants.
	require.NoError(t, Write(s).Tenants().SetSCIMDisabled(ctx, "t1", true))
	got, err = s.Tenants().GetByName(ctx, "acme")
	require.NoError(t, err)
	require.True(t, got.SCIMDisabled)
	require.NoError(t, Write(s).Tenants().SetSCIMDisabled(ctx, "t2", false))
	got, err = s.Tenants().Get(ctx, "t2")
	require.NoError(t, err)
	require.False(t, got.SCIMDisabled)
	require.ErrorIs(t, Write(s).Tenants().SetSCIMDisabled(ctx, "t9", true), store.ErrNotFound)
}

func requireTenant(t *testing.T, want, got store.Tenant) {
	t.Helper()
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, want.Name, got.Name)
	require.Equal(t, want.SCIMDisabled, got.SCIMDisabled)
	require.Equal(t, want.Settings, got.Settings)
	require.True(t, want.Created.Equal(got.Created))
}

func testTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
	t1 := store.Token{ID: "tok1", Tenant: a, SecretHash: []byte{1, 2, 3, 0xff}, Label: "okta", CreatedBy: "alice", Created: base}
	t2 := store.Token{ID: "tok2", Tenant: a, SecretHash: []byte{4}, Label: "entra", CreatedBy: "cli:root", ClientID: "client-1",
		Created: base.Add(time.Second), Expires: base.Add(24 * time.Hour)}
	t3 := store.Token{ID: "tok3", Tenant: b, SecretHash: []byte{5}, Created: base}
	for _, tok := range []store.Token{t1, t2, t3} {
		require.NoError(t, Write(s).Tokens().Create(ctx, tok))
	}
	require.ErrorIs(t, Write(s).Tokens().Create(ctx, t1), store.ErrConflict)

	got, err := s.Tokens().Get(ctx, "tok2")
	require.NoError(t, err)
	requireToken(t, t2, got)
	_, err = s.Tokens().Get(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)

	list, err := s.Tokens().List(ctx, a)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "tok1", list[0].ID)
	requireToken(t, t1, list[0])
	requireToken(t, t2, list[1])

	used := base.Add(time.Minute)
	require.NoError(t, s.Tokens().Touch(ctx, "tok1", used))
	revoked := base.Add(2 * time.Minute)
	require.NoError(t, Write(s).Tokens().Revoke(ctx, "tok1", revoked))
	got, err = s.Tokens().Get(ctx, "tok1")
	require.NoError(t, err)
	require.True(t, used.Equal(got.LastUsed))
	require.True(t, revoked.Equal(got.Revoked))
	require.True(t, got.Expires.IsZero())
	require.ErrorIs(t, s.Tokens().Touch(ctx, "nope", used), store.ErrNotFound)
	require.ErrorIs(t, Write(s).Tokens().Revoke(ctx, "nope", used), store.ErrNotFound)
}

func requireToken(t *testing.T, want, got store.Token) {
	t.Helper()
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, want.Tenant, got.Tenant)
	require.Equal(t, want.SecretHash, got.SecretHash)
	require.Equal(t, want.Label, got.Label)
	require.Equal(t, want.CreatedBy, got.CreatedBy)
	require.Equal(t, want.ClientID, got.ClientID)
	for _, p := range [][2]time.Time{{want.Created, got.Created}, {want.LastUsed, got.LastUsed}, {want.Expires, got.Expires}, {want.Revoked, got.Revoked}} {
		require.True(t, p[0].Equal(p[1]), "time %s, want %s", p[1], p[0])
	}
}
