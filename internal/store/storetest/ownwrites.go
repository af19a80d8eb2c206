package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
)

// testWriterReadsOwnWrites: a Writer's reads see what its transaction
// wrote before it commits (resources, memberships, control-plane rows), and
// a transaction that rolls back leaves nothing of it.
func testWriterReadsOwnWrites(t *testing.T, s store.Store) {
	ctx := context.Background()
	tn := newTenant(t, s, "acme")
	mustCreate(t, s, user(tn, "u1", map[string]any{"userName": "alice"}, 1), user(tn, "u2", map[string]any{"userName": "bob"}, 2))

	memberIDs := func(w store.Writer, group string) []string {
		var ids []string
		require.NoError(t, w.Members(ctx, tn, group, func(m store.Member) error {
			ids = append(ids, m.Value)
			return nil
		}))
		return ids
	}
	err := s.Write(ctx, func(w store.Writer) error {
		require.NoError(t, w.Create(ctx, group(tn, "g", "Engineering", 3)))
		_, err := w.AddMembers(ctx, tn, "g", []string{"u1", "u2"})
		require.NoError(t, err)
		require.Equal(t, []string{"u1", "u2"}, memberIDs(w, "g"), "members added in this transaction")
		_, err = w.RemoveMembers(ctx, tn, "g", []string{"u1"})
		require.NoError(t, err)
		require.Equal(t, []string{"u2"}, memberIDs(w, "g"), "a member removed in this transaction")
		require.NoError(t, w.Delete(ctx, tn, schema.UserResource, "u2"))
		require.Empty(t, memberIDs(w, "g"), "a deleted member")
		err = w.Members(ctx, tn, "nope", func(store.Member) error { return nil })
		require.ErrorIs(t, err, store.ErrNotFound)

		other := store.Tenant{ID: "t-new", Name: "newco", Created: base}
		require.NoError(t, w.Tenants().Create(ctx, other))
		got, err := w.Tenants().GetByName(ctx, "newco")
		require.NoError(t, err)
		require.Equal(t, other.ID, got.ID)
		require.NoError(t, w.Tenants().SetSettings(ctx, other.ID, store.TenantSettings{RateLimit: 7}))
		got, err = w.Tenants().Get(ctx, other.ID)
		require.NoError(t, err)
		require.Equal(t, 7.0, got.Settings.RateLimit)

		tok := store.Token{ID: "tok-own", Tenant: other.ID, SecretHash: []byte{1}, Created: base}
		require.NoError(t, w.Tokens().Create(ctx, tok))
		require.NoError(t, w.Tokens().Revoke(ctx, tok.ID, base.Add(time.Minute)))
		gotTok, err := w.Tokens().Get(ctx, tok.ID)
		require.NoError(t, err)
		require.True(t, gotTok.Revoked.Equal(base.Add(time.Minute)))

		ep := store.WebhookEndpoint{ID: "ep-own", Tenant: other.ID, URL: "https://example.com/h", Secret: "s", MaxAttempts: 3, Created: base}
		require.NoError(t, w.Webhooks().Create(ctx, ep))
		ep.Disabled = true
		require.NoError(t, w.Webhooks().Update(ctx, ep))
		gotEp, err := w.Webhooks().Get(ctx, ep.ID)
		require.NoError(t, err)
		require.True(t, gotEp.Disabled)

		ad := store.Admin{ID: "a-own", Name: "root", PasswordHash: "h", Role: store.RoleAdmin, Created: base}
		require.NoError(t, w.Admins().Create(ctx, ad))
		gotAd, err := w.Admins().GetByName(ctx, "root")
		require.NoError(t, err)
		require.Equal(t, ad.ID, gotAd.ID)
		return errBoom
	})
	require.ErrorIs(t, err, errBoom)

	// Nothing of the rolled-back transaction is left.
	require.Equal(t, []string{}, append([]string{}, memberIDsOf(t, s, tn, "u1")...))
	_, err = s.Resources().Get(ctx, tn, schema.GroupResource, "g")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Resources().Get(ctx, tn, schema.UserResource, "u2")
	require.NoError(t, err)
	_, err = s.Tenants().GetByName(ctx, "newco")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Tokens().Get(ctx, "tok-own")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Webhooks().Get(ctx, "ep-own")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Admins().GetByName(ctx, "root")
	require.ErrorIs(t, err, store.ErrNotFound)
}

// memberIDsOf lists the groups a resource belongs to, as committed.
func memberIDsOf(t *testing.T, s store.Store, tenant, id string) []string {
	t.Helper()
	gs, err := s.Resources().Groups(context.Background(), tenant, id)
	require.NoError(t, err)
	var ids []string
	for _, g := range gs {
		ids = append(ids, g.Value)
	}
	return ids
}

// testControlPlaneWithAudit: a control-plane change and its audit row
// commit together; when the transaction fails after both were written,
// neither is kept.
func testControlPlaneWithAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
	before, err := s.Audit().List(ctx, store.AuditQuery{})
	require.NoError(t, err)
	err = s.Write(ctx, func(w store.Writer) error {
		require.NoError(t, w.Tenants().Create(ctx, store.Tenant{ID: "t-a", Name: "audited", Created: base}))
		e := &store.AuditEvent{Actor: "tester", Action: "tenant.create", Tenant: "audited", Target: "t-a"}
		require.NoError(t, w.Audit().Append(ctx, e))
		return errBoom
	})
	require.ErrorIs(t, err, errBoom)
	after, err := s.Audit().List(ctx, store.AuditQuery{})
	require.NoError(t, err)
	require.Equal(t, before, after)
	_, err = s.Tenants().GetByName(ctx, "audited")
	require.ErrorIs(t, err, store.ErrNotFound)

	var e *store.AuditEvent
	require.NoError(t, s.Write(ctx, func(w store.Writer) error {
		if err := w.Tenants().Create(ctx, store.Tenant{ID: "t-a", Name: "audited", Created: base}); err != nil {
			return err
		}
		e = &store.AuditEvent{Actor: "tester", Action: "tenant.create", Tenant: "audited", Target: "t-a"}
		return w.Audit().Append(ctx, e)
	}))
	require.NotZero(t, e.Seq)
	after, err = s.Audit().List(ctx, store.AuditQuery{Tenant: "audited"})
	require.NoError(t, err)
	require.Len(t, after, 1)
	require.Equal(t, e.Seq, after[0].Seq)

	// The shared policy refuses incomplete rows on every backend, before
	// writing anything.
	for name, write := range map[string]func(w store.Writer) error{
		"tenant without name":   func(w store.Writer) error { return w.Tenants().Create(ctx, store.Tenant{ID: "x"}) },
		"token without tenant":  func(w store.Writer) error { return w.Tokens().Create(ctx, store.Token{ID: "x"}) },
		"client without tenant": func(w store.Writer) error { return w.OAuthClients().Create(ctx, store.OAuthClient{ID: "x"}) },
		"admin without name":    func(w store.Writer) error { return w.Admins().Create(ctx, store.Admin{ID: "x"}) },
		"session without admin": func(w store.Writer) error { return w.Admins().CreateSession(ctx, store.AdminSession{ID: "x"}) },
		"endpoint without tenant": func(w store.Writer) error {
			return w.Webhooks().Create(ctx, store.WebhookEndpoint{ID: "x"})
		},
		"audit without action": func(w store.Writer) error { return w.Audit().Append(ctx, &store.AuditEvent{Actor: "a"}) },
		"nil audit event":      func(w store.Writer) error { return w.Audit().Append(ctx, nil) },
		"change without operation": func(w store.Writer) error {
			return w.Record(ctx, &store.Change{Tenant: "t-a", ResourceType: "User", ResourceID: "u"})
		},
		"event data not JSON": func(w store.Writer) error {
			return w.Record(ctx, &store.Change{Tenant: "t-a", ResourceType: "User", ResourceID: "u", Operation: "create",
				Events: []store.Event{{Type: store.UserCreated, Data: []byte("{")}}})
		},
		"nil change": func(w store.Writer) error { return w.Record(ctx, nil) },
	} {
		require.Error(t, s.Write(ctx, write), name)
	}
}

// testWebhookRedeliveries: redelivery requests are kept, oldest first,
// until done; one for a missing endpoint is refused; they go with their
// endpoint and with their tenant.
func testWebhookRedeliveries(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newTenant(t, s, "a")
	for _, id := range []string{"wh1", "wh2"} {
		require.NoError(t, Write(s).Webhooks().Create(ctx, store.WebhookEndpoint{ID: id, Tenant: a, URL: "https://a.example/" + id,
			Secret: "s", MaxAttempts: 3, Created: base}))
	}
	r1 := store.WebhookRedelivery{ID: "r1", Tenant: a, Endpoint: "wh1", Requested: base}
	r2 := store.WebhookRedelivery{ID: "r2", Tenant: a, Endpoint: "wh2", Deliveries: []int64{7, 3, 12}, Requested: base.Add(time.Second)}
	r3 := store.WebhookRedelivery{ID: "r3", Tenant: a, Endpoint: "wh1", Deliveries: []int64{1}, Requested: base.Add(2 * time.Second)}
	for _, r := range []store.WebhookRedelivery{r2, r1, r3} {
		require.NoError(t, Write(s).Webhooks().RequestRedelivery(ctx, r))
	}
	err := Write(s).Webhooks().RequestRedelivery(ctx, store.WebhookRedelivery{ID: "r9", Tenant: a, Endpoint: "nope"})
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, Write(s).Webhooks().RequestRedelivery(ctx, r1), store.ErrConflict, "duplicate id")

	got, err := s.Webhooks().Redeliveries(ctx, 10)
	require.NoError(t, err)
	require.Len(t, got, 3)
	for i, want := range []store.WebhookRedelivery{r1, r2, r3} {
		require.Equal(t, want.ID, got[i].ID)
		require.Equal(t, want.Tenant, got[i].Tenant)
		require.Equal(t, want.Endpoint, got[i].Endpoint)
		require.Equal(t, want.Deliveries, got[i].Deliveries)
		require.True(t, want.Requested.Equal(got[i].Requested), "requested %v, got %v", want.Requested, got[i].Requested)
	}
	got, err = s.Webhooks().Redeliveries(ctx, 1)
	require.NoError(t, err)
	require.Len(t, got, 1)

	require.NoError(t, Write(s).Webhooks().DoneRedelivery(ctx, "r1"))
	require.NoError(t, Write(s).Webhooks().DoneRedelivery(ctx, "r1"), "done twice")
	require.NoError(t, Write(s).Webhooks().Delete(ctx, "wh2"))
	got, err = s.Webhooks().Redeliveries(ctx, 10)
	require.NoError(t, err)
	require.Len(t, got, 1, "r1 is done and r2 went with its endpoint")
	require.Equal(t, "r3", got[0].ID)

	require.NoError(t, Write(s).Tenants().Delete(ctx, a))
	got, err = s.Webhooks().Redeliveries(ctx, 10)
	require.NoError(t, err)
	require.Empty(t, got, "requests go with their tenant")
}

// testNoLostUpdates: read-modify-write through a Writer, as the services do
// with a tenant's settings, loses no concurrent change: the Writer's read
// locks the row (PostgreSQL) or the writes are serialised (SQLite).
func testNoLostUpdates(t *testing.T, s store.Store) {
	ctx := context.Background()
	tn := newTenant(t, s, "acme")
	const writers = 12
	errs := make(chan error, writers)
	for range writers {
		go func() {
			errs <- s.Write(ctx, func(w store.Writer) error {
				got, err := w.Tenants().Get(ctx, tn)
				if err != nil {
					return err
				}
				got.Settings.RateLimit++
				return w.Tenants().SetSettings(ctx, tn, got.Settings)
			})
		}()
	}
	for range writers {
		require.NoError(t, <-errs)
	}
	got, err := s.Tenants().Get(ctx, tn)
	require.NoError(t, err)
	require.Equal(t, float64(writers), got.Settings.RateLimit)

	// Settings read in the transaction see its own writes.
	require.NoError(t, s.Write(ctx, func(w store.Writer) error {
		_, err := w.Settings().Get(ctx, "k")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.NoError(t, w.Settings().Set(ctx, "k", "v"))
		v, err := w.Settings().Get(ctx, "k")
		require.NoError(t, err)
		require.Equal(t, "v", v)
		all, err := w.Tenants().List(ctx)
		require.NoError(t, err)
		require.Len(t, all, 1)
		return nil
	}))
}
