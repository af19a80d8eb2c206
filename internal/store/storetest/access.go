package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
)

const testPEM = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE+5Qfi8GS0v+T5VG/vXqBc6lmWPm0
o8XrkLbnAJVBs8u4nbYhvALZLrfl7a8ZxLKpEtaQISbK278rAgYEPrwlCw==
-----END PUBLIC KEY-----
`

func testTenantSettings(t *testing.T, s store.Store) {
	ctx := context.Background()
	acme, globex := newTenant(t, s, "acme"), newTenant(t, s, "globex")
	for _, tc := range []struct {
		name string
		set  store.TenantSettings
	}{
		{"HS256", store.TenantSettings{JWT: &store.JWTSettings{
			Algorithm: "HS256", Secret: []byte{0, 1, 0x7f, 0x80, 0xfe, 0xff}, Issuer: "roster", Audience: "https://roster.example/scim/v2/acme",
		}}},
		{"ES256 and IdP with a PEM", store.TenantSettings{
			JWT: &store.JWTSettings{Algorithm: "ES256", PublicKeyPEM: testPEM, Audience: "acme"},
			IdP: &store.IdPSettings{Issuer: "https://idp.example/", Audience: "roster", PublicKeyPEM: testPEM},
		}},
		{"IdP with JWKS and a rate limit", store.TenantSettings{
			IdP:       &store.IdPSettings{Issuer: "https://sts.windows.net/4f5a/", Audience: "8adf8e6e-67b2-4cf2-a259-e3dc5476c621", JWKSURL: "https://login.microsoftonline.com/common/discovery/v2.0/keys"},
			RateLimit: 12.5,
		}},
		{"no passwords kept and a history actor", store.TenantSettings{StorePasswords: store.StorePasswordsNone, HistoryActor: "Okta"}},
		{"defaults again", store.TenantSettings{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, Write(s).Tenants().SetSettings(ctx, acme, tc.set))
			got, err := s.Tenants().Get(ctx, acme)
			require.NoError(t, err)
			require.Equal(t, tc.set, got.Settings)
			got, err = s.Tenants().GetByName(ctx, "acme")
			require.NoError(t, err)
			require.Equal(t, tc.set, got.Settings)
			list, err := s.Tenants().List(ctx)
			require.NoError(t, err)
			require.Len(t, list, 2)
			require.Equal(t, tc.set, list[0].Settings)
			// The other tenant keeps its defaults.
			got, err = s.Tenants().Get(ctx, globex)
			require.NoError(t, err)
			require.Equal(t, store.TenantSettings{}, got.Settings)
		})
	}
	require.ErrorIs(t, Write(s).Tenants().SetSettings(ctx, "no-such-tenant", store.TenantSettings{RateLimit: 1}), store.ErrNotFound)
}

// testIdPIssuerUnique: the database lets one tenant at most trust an
// identity provider's issuer (issue 12.20), since the shared Tenant URL
// finds the tenant by it; a second is ErrConflict and changes nothing.
// Tenants without an IdP never collide.
func testIdPIssuerUnique(t *testing.T, s store.Store) {
	ctx := context.Background()
	acme, globex := newTenant(t, s, "acme"), newTenant(t, s, "globex")
	idp := func(iss string, rate float64) store.TenantSettings {
		return store.TenantSettings{RateLimit: rate, IdP: &store.IdPSettings{Issuer: iss, Audience: "roster", JWKSURL: "https://idp.example/keys"}}
	}
	for _, tc := range []struct {
		name, tenant string
		set          store.TenantSettings
		wantErr      error
	}{
		{"NeitherTrustsAnIssuer", acme, store.TenantSettings{RateLimit: 1}, nil},
		{"NeitherTrustsAnIssuerEither", globex, store.TenantSettings{RateLimit: 2}, nil},
		{"FirstTrusts", acme, idp("https://idp.example/", 0), nil},
		{"SameTenantKeepsIt", acme, idp("https://idp.example/", 3), nil},
		{"SecondTrustsTheSame", globex, idp("https://idp.example/", 0), store.ErrConflict},
		{"SecondTrustsAnother", globex, idp("https://other.example/", 0), nil},
		{"FirstMovesToTheTaken", acme, idp("https://other.example/", 0), store.ErrConflict},
		{"IssuersDifferInCase", acme, idp("https://OTHER.example/", 0), nil},
		{"FirstLetsGo", acme, store.TenantSettings{}, nil},
		{"SecondTakesTheFreed", globex, idp("https://OTHER.example/", 0), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := s.Tenants().Get(ctx, tc.tenant)
			require.NoError(t, err)
			err = Write(s).Tenants().SetSettings(ctx, tc.tenant, tc.set)
			got, gerr := s.Tenants().Get(ctx, tc.tenant)
			require.NoError(t, gerr)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.Equal(t, before.Settings, got.Settings, "a refused change leaves the settings")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.set, got.Settings)
		})
	}
}

// seedTenant gives a tenant what Delete must remove: users with
// multi-valued attributes, nested groups, a token and an OAuth client. The
// ids are the same in every tenant.
func seedTenant(t *testing.T, s store.Store, tenant, name string) {
	t.Helper()
	ctx := context.Background()
	for i, id := range []string{"u1", "u2", "u3"} {
		mustCreate(t, s, user(tenant, id, map[string]any{
			"userName": id,
			"emails":   []any{map[string]any{"value": id + "@" + name + ".example", "type": "work"}},
		}, i))
	}
	mustCreate(t, s, group(tenant, "g", "Staff", 3), group(tenant, "h", "Admins", 4))
	_, err := addMembers(s, tenant, "g", "u1", "u2", "h")
	require.NoError(t, err)
	_, err = addMembers(s, tenant, "h", "u3")
	require.NoError(t, err)
	require.NoError(t, Write(s).Tokens().Create(ctx, store.Token{ID: "tok-" + name, Tenant: tenant, SecretHash: []byte{1}, Created: base}))
	require.NoError(t, Write(s).OAuthClients().Create(ctx, store.OAuthClient{ID: "client-" + name, Tenant: tenant, SecretHash: []byte{2}, Created: base}))
}

// tenantView is everything the store shows of a tenant seeded by seedTenant.
type tenantView struct {
	Tenant    store.Tenant
	Resources []store.Resource
	Users     store.Page
	Groups    store.Page
	ByEmail   []string
	Members   map[string][]store.Member
	GroupsOf  map[string][]store.Member
	Groups1   []store.Member
	Tokens    []store.Token
	Clients   []store.OAuthClient
}

func viewTenant(t *testing.T, s store.Store, tenant, name string) tenantView {
	t.Helper()
	ctx := context.Background()
	users, groups := schema.Default().User(), schema.Default().Group()
	var v tenantView
	var err error
	v.Tenant, err = s.Tenants().Get(ctx, tenant)
	require.NoError(t, err)
	for _, r := range []struct{ typ, id string }{
		{schema.UserResource, "u1"}, {schema.UserResource, "u2"}, {schema.UserResource, "u3"},
		{schema.GroupResource, "g"}, {schema.GroupResource, "h"},
	} {
		got, err := s.Resources().Get(ctx, tenant, r.typ, r.id)
		require.NoError(t, err)
		v.Resources = append(v.Resources, got)
	}
	v.Users, err = s.Resources().Query(ctx, tenant, users, store.Query{Count: 10})
	require.NoError(t, err)
	v.Groups, err = s.Resources().Query(ctx, tenant, groups, store.Query{Count: 10})
	require.NoError(t, err)
	v.ByEmail = queryIDs(t, s, tenant, users, store.Query{Filter: mustFilter(t, users, `emails.value eq "u2@`+name+`.example"`), Count: 10})
	v.Members = map[string][]store.Member{"g": members(t, s, tenant, "g"), "h": members(t, s, tenant, "h")}
	v.GroupsOf, err = s.Resources().GroupsOf(ctx, tenant, []string{"u1", "u3", "h"})
	require.NoError(t, err)
	v.Groups1, err = s.Resources().Groups(ctx, tenant, "u1")
	require.NoError(t, err)
	v.Tokens, err = s.Tokens().List(ctx, tenant)
	require.NoError(t, err)
	v.Clients, err = s.OAuthClients().List(ctx, tenant)
	require.NoError(t, err)
	return v
}

func testTenantDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	users, groups := schema.Default().User(), schema.Default().Group()
	acme, globex := newTenant(t, s, "acme"), newTenant(t, s, "globex")
	seedTenant(t, s, acme, "acme")
	seedTenant(t, s, globex, "globex")
	require.NoError(t, Write(s).Audit().Append(ctx, &store.AuditEvent{Time: base, Actor: "alice", Action: "token.issue", Tenant: "acme", Target: "tok-acme"}))

	before := viewTenant(t, s, globex, "globex")
	require.Len(t, before.Users.Resources, 3)
	require.Equal(t, []string{"u2"}, before.ByEmail)
	require.Len(t, before.Members["g"], 3)
	require.Len(t, before.GroupsOf, 3)
	require.Len(t, before.Tokens, 1)
	require.Len(t, before.Clients, 1)
	require.Equal(t, before, viewTenant(t, s, globex, "globex"), "the view is stable")

	require.NoError(t, Write(s).Tenants().Delete(ctx, acme))

	// The other tenant sees no change.
	require.Equal(t, before, viewTenant(t, s, globex, "globex"))

	// Nothing of the deleted one is left.
	_, err := s.Tenants().Get(ctx, acme)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Tenants().GetByName(ctx, "acme")
	require.ErrorIs(t, err, store.ErrNotFound)
	list, err := s.Tenants().List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, globex, list[0].ID)
	requireGone := func(tenant string) {
		t.Helper()
		_, err := s.Resources().Get(ctx, tenant, schema.UserResource, "u1")
		require.ErrorIs(t, err, store.ErrNotFound)
		_, err = s.Resources().Get(ctx, tenant, schema.GroupResource, "g")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.Empty(t, queryIDs(t, s, tenant, users, store.Query{Count: 10}))
		require.Empty(t, queryIDs(t, s, tenant, users, store.Query{Filter: mustFilter(t, users, `emails.value eq "u2@acme.example"`), Count: 10}))
		require.Zero(t, total(t, s, tenant, users))
		require.Zero(t, total(t, s, tenant, groups))
		err = s.Resources().Members(ctx, tenant, "g", func(store.Member) error { return nil })
		require.ErrorIs(t, err, store.ErrNotFound)
		gs, err := s.Resources().Groups(ctx, tenant, "u1")
		require.NoError(t, err)
		require.Empty(t, gs)
		gof, err := s.Resources().GroupsOf(ctx, tenant, []string{"u1", "u3", "h"})
		require.NoError(t, err)
		require.Empty(t, gof)
		toks, err := s.Tokens().List(ctx, tenant)
		require.NoError(t, err)
		require.Empty(t, toks)
		_, err = s.Tokens().Get(ctx, "tok-acme")
		require.ErrorIs(t, err, store.ErrNotFound)
		cs, err := s.OAuthClients().List(ctx, tenant)
		require.NoError(t, err)
		require.Empty(t, cs)
		_, err = s.OAuthClients().Get(ctx, "client-acme")
		require.ErrorIs(t, err, store.ErrNotFound)
	}
	requireGone(acme)
	err = s.Write(ctx, func(w store.Writer) error {
		_, err := w.Get(ctx, acme, schema.UserResource, "u1")
		return err
	})
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, create(s, user(acme, "u9", map[string]any{"userName": "u9"}, 9)), store.ErrNotFound)

	// Its audit events stay.
	events, err := s.Audit().List(ctx, store.AuditQuery{Tenant: "acme"})
	require.NoError(t, err)
	require.Len(t, events, 1)

	require.ErrorIs(t, Write(s).Tenants().Delete(ctx, acme), store.ErrNotFound)
	require.ErrorIs(t, Write(s).Tenants().Delete(ctx, "no-such-tenant"), store.ErrNotFound)

	// A tenant created again with the same id and name starts empty, and
	// the old ids, userNames, token and client ids are free.
	require.NoError(t, Write(s).Tenants().Create(ctx, store.Tenant{ID: acme, Name: "acme", Created: base}))
	requireGone(acme)
	seedTenant(t, s, acme, "acme")
	again := viewTenant(t, s, acme, "acme")
	require.Equal(t, 3, again.Users.Total)
	require.Equal(t, 2, again.Groups.Total)
	require.Len(t, again.Members["g"], 3)
	require.Equal(t, before, viewTenant(t, s, globex, "globex"))
}

func testTokensDeleteExpired(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
	cutoff := base.Add(time.Hour)
	for _, tok := range []store.Token{
		{ID: "never", Tenant: a},
		{ID: "long-ago", Tenant: a, Expires: base},
		{ID: "just-before", Tenant: b, Expires: cutoff.Add(-time.Microsecond)},
		{ID: "revoked-and-expired", Tenant: b, Expires: base, Revoked: base},
		{ID: "at-cutoff", Tenant: a, Expires: cutoff},
		{ID: "later", Tenant: b, Expires: cutoff.Add(time.Microsecond), ClientID: "c1"},
	} {
		tok.Created = base.Add(-time.Hour)
		tok.SecretHash = []byte(tok.ID)
		require.NoError(t, Write(s).Tokens().Create(ctx, tok))
	}
	n, err := s.Tokens().DeleteExpired(ctx, cutoff)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	for id, kept := range map[string]bool{"never": true, "long-ago": false, "just-before": false, "revoked-and-expired": false, "at-cutoff": true, "later": true} {
		_, err := s.Tokens().Get(ctx, id)
		if kept {
			require.NoError(t, err, id)
		} else {
			require.ErrorIs(t, err, store.ErrNotFound, id)
		}
	}
	n, err = s.Tokens().DeleteExpired(ctx, cutoff)
	require.NoError(t, err)
	require.Zero(t, n)
}

func testOAuthClients(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
	c1 := store.OAuthClient{ID: "c1", Tenant: a, SecretHash: []byte{1, 2, 0xff}, Label: "entra", CreatedBy: "alice", Created: base}
	c2 := store.OAuthClient{ID: "c2", Tenant: a, SecretHash: []byte{3}, Label: "okta", CreatedBy: "cli:root", Created: base.Add(time.Second)}
	c3 := store.OAuthClient{ID: "c3", Tenant: b, SecretHash: []byte{4}, Created: base}
	for _, c := range []store.OAuthClient{c2, c1, c3} {
		require.NoError(t, Write(s).OAuthClients().Create(ctx, c))
	}
	require.ErrorIs(t, Write(s).OAuthClients().Create(ctx, c1), store.ErrConflict)
	require.ErrorIs(t, Write(s).OAuthClients().Create(ctx, store.OAuthClient{ID: "c3", Tenant: a, SecretHash: []byte{5}, Created: base}), store.ErrConflict)
	require.ErrorIs(t, Write(s).OAuthClients().Create(ctx, store.OAuthClient{ID: "c4", Tenant: "no-such-tenant", SecretHash: []byte{6}, Created: base}), store.ErrNotFound)

	got, err := s.OAuthClients().Get(ctx, "c1")
	require.NoError(t, err)
	requireClient(t, c1, got)
	_, err = s.OAuthClients().Get(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)

	list, err := s.OAuthClients().List(ctx, a)
	require.NoError(t, err)
	require.Len(t, list, 2)
	requireClient(t, c1, list[0])
	requireClient(t, c2, list[1])
	list, err = s.OAuthClients().List(ctx, b)
	require.NoError(t, err)
	require.Len(t, list, 1)
	requireClient(t, c3, list[0])
	list, err = s.OAuthClients().List(ctx, "no-such-tenant")
	require.NoError(t, err)
	require.Empty(t, list)

	revoked := base.Add(time.Minute)
	require.NoError(t, Write(s).OAuthClients().Revoke(ctx, "c1", revoked))
	got, err = s.OAuthClients().Get(ctx, "c1")
	require.NoError(t, err)
	c1.Revoked = revoked
	requireClient(t, c1, got)
	got, err = s.OAuthClients().Get(ctx, "c2")
	require.NoError(t, err)
	require.True(t, got.Revoked.IsZero())
	require.ErrorIs(t, Write(s).OAuthClients().Revoke(ctx, "nope", revoked), store.ErrNotFound)
}

func requireClient(t *testing.T, want, got store.OAuthClient) {
	t.Helper()
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, want.Tenant, got.Tenant)
	require.Equal(t, want.SecretHash, got.SecretHash)
	require.Equal(t, want.Label, got.Label)
	require.Equal(t, want.CreatedBy, got.CreatedBy)
	require.True(t, want.Created.Equal(got.Created), "created %s, want %s", got.Created, want.Created)
	require.True(t, want.Revoked.Equal(got.Revoked), "revoked %s, want %s", got.Revoked, want.Revoked)
}

func testAdmins(t *testing.T, s store.Store) {
	ctx := context.Background()
	carol := store.Admin{ID: "a3", Name: "carol", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", Role: store.RoleReadOnly, Created: base}
	alice := store.Admin{ID: "a1", Name: "alice", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$YQ$Yg", Role: store.RoleSuperAdmin, Created: base.Add(time.Second)}
	bob := store.Admin{ID: "a2", Name: "bob", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$Yg$Yw", Role: store.RoleAdmin, Created: base.Add(2 * time.Second)}
	for _, a := range []store.Admin{carol, alice, bob} {
		require.NoError(t, Write(s).Admins().Create(ctx, a))
	}
	for _, tc := range []struct {
		name  string
		admin store.Admin
	}{
		{"duplicate id", store.Admin{ID: "a1", Name: "dave", PasswordHash: "x", Role: store.RoleAdmin, Created: base}},
		{"duplicate name", store.Admin{ID: "a4", Name: "alice", PasswordHash: "x", Role: store.RoleAdmin, Created: base}},
	} {
		require.ErrorIs(t, Write(s).Admins().Create(ctx, tc.admin), store.ErrConflict, tc.name)
	}

	got, err := s.Admins().Get(ctx, "a1")
	require.NoError(t, err)
	requireAdmin(t, alice, got)
	got, err = s.Admins().GetByName(ctx, "bob")
	require.NoError(t, err)
	requireAdmin(t, bob, got)
	_, err = s.Admins().Get(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Admins().GetByName(ctx, "Alice")
	require.ErrorIs(t, err, store.ErrNotFound, "names are case-sensitive")

	list, err := s.Admins().List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 3)
	for i, want := range []store.Admin{alice, bob, carol} {
		requireAdmin(t, want, list[i])
	}

	// Names differing only in case are different admins.
	require.NoError(t, Write(s).Admins().Create(ctx, store.Admin{ID: "a5", Name: "Alice", PasswordHash: "x", Role: store.RoleReadOnly, Created: base}))
	got, err = s.Admins().GetByName(ctx, "Alice")
	require.NoError(t, err)
	require.Equal(t, "a5", got.ID)

	// Update changes the password hash and role, and nothing else.
	changed := alice
	changed.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=4$bmV3$bmV3"
	changed.Role = store.RoleReadOnly
	update := changed
	update.Name, update.Created = "mallory", base.Add(time.Hour)
	require.NoError(t, Write(s).Admins().Update(ctx, update))
	got, err = s.Admins().Get(ctx, "a1")
	require.NoError(t, err)
	requireAdmin(t, changed, got)
	require.ErrorIs(t, Write(s).Admins().Update(ctx, store.Admin{ID: "nope", PasswordHash: "x", Role: store.RoleAdmin}), store.ErrNotFound)

	require.NoError(t, Write(s).Admins().Delete(ctx, "a2"))
	_, err = s.Admins().Get(ctx, "a2")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, Write(s).Admins().Delete(ctx, "a2"), store.ErrNotFound)
	// The name is free again.
	require.NoError(t, Write(s).Admins().Create(ctx, store.Admin{ID: "a6", Name: "bob", PasswordHash: "x", Role: store.RoleAdmin, Created: base}))
}

func requireAdmin(t *testing.T, want, got store.Admin) {
	t.Helper()
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, want.Name, got.Name)
	require.Equal(t, want.PasswordHash, got.PasswordHash)
	require.Equal(t, want.Role, got.Role)
	require.True(t, want.Created.Equal(got.Created), "created %s, want %s", got.Created, want.Created)
}

func testAdminSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, a := range []store.Admin{
		{ID: "alice", Name: "alice", PasswordHash: "x", Role: store.RoleSuperAdmin, Created: base},
		{ID: "bob", Name: "bob", PasswordHash: "x", Role: store.RoleAdmin, Created: base},
	} {
		require.NoError(t, Write(s).Admins().Create(ctx, a))
	}
	session := func(id, admin string) store.AdminSession {
		return store.AdminSession{ID: id, Admin: admin, SecretHash: []byte(id), Created: base, Expires: base.Add(12 * time.Hour)}
	}
	createAll := func(t *testing.T, ss ...store.AdminSession) {
		t.Helper()
		for _, se := range ss {
			require.NoError(t, Write(s).Admins().CreateSession(ctx, se))
		}
	}
	// exist reports which of the sessions exist.
	exist := func(t *testing.T, ids ...string) []string {
		t.Helper()
		var out []string
		for _, id := range ids {
			_, err := s.Admins().GetSession(ctx, id)
			if err == nil {
				out = append(out, id)
				continue
			}
			require.ErrorIs(t, err, store.ErrNotFound)
		}
		return out
	}
	a1, a2, b1 := session("a1", "alice"), session("a2", "alice"), session("b1", "bob")
	createAll(t, a1, a2, b1)
	require.ErrorIs(t, Write(s).Admins().CreateSession(ctx, a1), store.ErrConflict)
	require.ErrorIs(t, Write(s).Admins().CreateSession(ctx, session("x1", "nobody")), store.ErrNotFound)

	got, err := s.Admins().GetSession(ctx, "a1")
	require.NoError(t, err)
	require.Equal(t, a1.ID, got.ID)
	require.Equal(t, a1.Admin, got.Admin)
	require.Equal(t, a1.SecretHash, got.SecretHash)
	require.True(t, a1.Created.Equal(got.Created))
	require.True(t, a1.Expires.Equal(got.Expires))

	for _, tc := range []struct {
		name      string
		admin, id string
		want      []string // sessions left of a1, a2, b1
	}{
		{"one by id", "", "a1", []string{"a2", "b1"}},
		{"one by id and admin", "alice", "a2", []string{"a1", "b1"}},
		{"not another admin's", "alice", "b1", []string{"a1", "a2", "b1"}},
		{"unknown id", "", "zz", []string{"a1", "a2", "b1"}},
		{"all of an admin", "alice", "", []string{"b1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_ = Write(s).Admins().DeleteSessions(ctx, "alice", "")
			_ = Write(s).Admins().DeleteSessions(ctx, "bob", "")
			createAll(t, a1, a2, b1)
			require.NoError(t, Write(s).Admins().DeleteSessions(ctx, tc.admin, tc.id))
			require.Equal(t, tc.want, exist(t, "a1", "a2", "b1"))
		})
	}

	// Deleting an admin ends its sessions and no one else's.
	_ = Write(s).Admins().DeleteSessions(ctx, "alice", "")
	createAll(t, a1, a2)
	require.NoError(t, Write(s).Admins().Delete(ctx, "alice"))
	require.Equal(t, []string{"b1"}, exist(t, "a1", "a2", "b1"))

	// Expired sessions are purged; live ones stay.
	old := store.AdminSession{ID: "b0", Admin: "bob", SecretHash: []byte("b0"), Created: base, Expires: base.Add(time.Hour)}
	createAll(t, old)
	n, err := s.Admins().DeleteExpiredSessions(ctx, base.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, []string{"b1"}, exist(t, "b0", "b1"))
	n, err = s.Admins().DeleteExpiredSessions(ctx, base.Add(2*time.Hour))
	require.NoError(t, err)
	require.Zero(t, n)
}

func testAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
	events := []store.AuditEvent{
		{Time: base, Actor: "alice", Action: "tenant.create", Tenant: "acme", Target: "acme",
			Detail: map[string]any{"name": "acme", "rate_limit": 12.5, "nested": map[string]any{"ok": true, "list": []any{"a", 1.0}}}},
		{Time: base.Add(time.Second), Actor: "cli:root", Action: "admin.create", Target: "bob"},
		{Time: base.Add(2 * time.Second), Actor: "alice", Action: "token.issue", Tenant: "globex", Target: "tok1", Detail: map[string]any{}},
		{Time: base.Add(3 * time.Second), Actor: "system", Action: "token.expire", Tenant: "acme", Target: "tok2"},
		{Actor: "alice", Action: "tenant.disable", Tenant: "acme"}, // Time set by the store
	}
	var last int64
	for i := range events {
		require.NoError(t, Write(s).Audit().Append(ctx, &events[i]))
		require.Greater(t, events[i].Seq, last)
		last = events[i].Seq
	}
	require.False(t, events[4].Time.IsZero())

	seqs := func(es []store.AuditEvent) []int64 {
		out := make([]int64, 0, len(es))
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	seqOf := func(is ...int) []int64 {
		out := make([]int64, 0, len(is))
		for _, i := range is {
			out = append(out, events[i].Seq)
		}
		return out
	}
	all, err := s.Audit().List(ctx, store.AuditQuery{})
	require.NoError(t, err)
	require.Equal(t, seqOf(0, 1, 2, 3, 4), seqs(all))
	for i, got := range all {
		want := events[i]
		require.Equal(t, want.Actor, got.Actor)
		require.Equal(t, want.Action, got.Action)
		require.Equal(t, want.Tenant, got.Tenant)
		require.Equal(t, want.Target, got.Target)
		require.True(t, want.Time.Equal(got.Time), "time %s, want %s", got.Time, want.Time)
		if len(want.Detail) == 0 {
			require.Empty(t, got.Detail)
		} else {
			require.Equal(t, want.Detail, got.Detail)
		}
	}

	for _, tc := range []struct {
		name string
		q    store.AuditQuery
		want []int64
	}{
		{"after", store.AuditQuery{After: events[1].Seq}, seqOf(2, 3, 4)},
		{"limit", store.AuditQuery{Limit: 2}, seqOf(0, 1)},
		{"after and limit", store.AuditQuery{After: events[0].Seq, Limit: 2}, seqOf(1, 2)},
		{"tenant", store.AuditQuery{Tenant: "acme"}, seqOf(0, 3, 4)},
		{"tenant after", store.AuditQuery{Tenant: "acme", After: events[0].Seq, Limit: 1}, seqOf(3)},
		{"other tenant", store.AuditQuery{Tenant: "globex"}, seqOf(2)},
		{"unknown tenant", store.AuditQuery{Tenant: "initech"}, nil},
		{"after the last", store.AuditQuery{After: last}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Audit().List(ctx, tc.q)
			require.NoError(t, err)
			require.Equal(t, tc.want, nilIfEmpty(seqs(got)))
		})
	}

	// Limit 0 means 100.
	for i := range 100 {
		require.NoError(t, Write(s).Audit().Append(ctx, &store.AuditEvent{Time: base, Actor: "system", Action: fmt.Sprint("bulk.", i)}))
	}
	got, err := s.Audit().List(ctx, store.AuditQuery{})
	require.NoError(t, err)
	require.Len(t, got, 100)
	require.Equal(t, events[0].Seq, got[0].Seq)
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func testSettings(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.Settings().Get(ctx, "base_url")
	require.ErrorIs(t, err, store.ErrNotFound)
	for _, tc := range []struct{ key, value string }{
		{"base_url", "https://roster.example"},
		{"other", "x"},
		{"base_url", "https://roster.example.com:8443/"}, // overwrites
		{"empty", ""},
	} {
		require.NoError(t, Write(s).Settings().Set(ctx, tc.key, tc.value))
		got, err := s.Settings().Get(ctx, tc.key)
		require.NoError(t, err)
		require.Equal(t, tc.value, got)
	}
	got, err := s.Settings().Get(ctx, "other")
	require.NoError(t, err)
	require.Equal(t, "x", got)
	_, err = s.Settings().Get(ctx, "Base_URL")
	require.ErrorIs(t, err, store.ErrNotFound)
}
