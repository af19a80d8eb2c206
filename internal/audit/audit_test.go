package audit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/admin"
	"github.com/rosterhq/roster/internal/jobs"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/backendtest"
	"github.com/rosterhq/roster/internal/tenant"
	"github.com/rosterhq/roster/internal/webhook"
)

var errInjected = errors.New("injected failure between a change and its audit")

// failing is a real store whose writers fail, when armed, at the moment a
// change's audit row (or history entry) is appended: after the change
// itself was written in the transaction.
type failing struct {
	store.Store
	armed bool
}

func (f *failing) Write(ctx context.Context, fn func(w store.Writer) error) error {
	return f.Store.Write(ctx, func(w store.Writer) error { return fn(failWriter{w, f.armed}) })
}

type failWriter struct {
	store.Writer
	armed bool
}

func (w failWriter) Audit() store.AuditWriter { return failAudit{w.Writer.Audit(), w.armed} }

type failAudit struct {
	store.AuditWriter
	armed bool
}

func (a failAudit) Append(ctx context.Context, e *store.AuditEvent) error {
	if a.armed {
		return errInjected
	}
	return a.AuditWriter.Append(ctx, e)
}

// TestControlPlaneChangesCommitWithTheirAudit injects a failure between each
// kind of control-plane change and its audit row: the change is not stored
// either, and no audit row or history entry is. Without the failure, the
// change and its audit row both are.
func TestControlPlaneChangesCommitWithTheirAudit(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, testControlPlane)
}

func testControlPlane(t *testing.T, raw store.Store) {
	ctx := context.Background()
	st := &failing{Store: raw}
	tenants := tenant.New(st)
	t.Cleanup(tenants.Close)
	admins := admin.New(st)
	endpoints := webhook.NewEndpoints(st, false)
	host, err := jobs.Open(ctx, raw, jobs.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { host.Close() })
	deliveries, err := webhook.New(host, webhook.Config{Store: st})
	require.NoError(t, err)

	// Fixtures, made without failures.
	acme, err := tenants.Create(ctx, "acme", "setup")
	require.NoError(t, err)
	tok, err := tenants.IssueToken(ctx, "acme", tenant.TokenRequest{Label: "kept", CreatedBy: "setup"})
	require.NoError(t, err)
	client, _, err := tenants.CreateOAuthClient(ctx, "acme", "kept", "setup")
	require.NoError(t, err)
	_, err = admins.Create(ctx, "root", "a long enough password 1", store.RoleAdmin, "setup")
	require.NoError(t, err)
	ep, err := endpoints.Create(ctx, acme, webhook.EndpointRequest{URL: "https://app.example.com/hooks"}, "setup")
	require.NoError(t, err)
	_, err = tenants.Create(ctx, "doomed", "setup")
	require.NoError(t, err)

	getTenant := func(name string) store.Tenant {
		tn, err := raw.Tenants().GetByName(ctx, name)
		require.NoError(t, err)
		return tn
	}
	yes := true
	cases := []struct {
		name   string
		change func() error
		// stored reports whether the change is in the store.
		stored func() bool
	}{
		{"TenantCreate", func() error { _, err := tenants.Create(ctx, "newco", "tester"); return err },
			func() bool { _, err := raw.Tenants().GetByName(ctx, "newco"); return err == nil }},
		{"TenantDisable", func() error { _, err := tenants.SetSCIMEnabled(ctx, "acme", false, "tester"); return err },
			func() bool { return getTenant("acme").SCIMDisabled }},
		{"TenantRateLimit", func() error { _, err := tenants.SetRateLimit(ctx, "acme", 42, "tester"); return err },
			func() bool { return getTenant("acme").Settings.RateLimit == 42 }},
		{"TenantHistoryActor", func() error { _, err := tenants.SetHistoryActor(ctx, "acme", "Provisioning", "tester"); return err },
			func() bool { return getTenant("acme").Settings.HistoryActor == "Provisioning" }},
		{"JWTConfigure", func() error {
			_, err := tenants.ConfigureJWT(ctx, "acme", store.JWTSettings{Algorithm: "HS256", Audience: "roster"}, "tester")
			return err
		}, func() bool { return getTenant("acme").Settings.JWT != nil }},
		{"IdPConfigure", func() error {
			_, err := tenants.ConfigureIdP(ctx, "acme", store.IdPSettings{Issuer: "https://idp.example.com", Audience: "roster",
				JWKSURL: "https://idp.example.com/keys"}, "tester")
			return err
		}, func() bool { return getTenant("acme").Settings.IdP != nil }},
		{"TenantStorePasswords", func() error {
			_, err := tenants.SetStorePasswords(ctx, "acme", store.StorePasswordsNone, "tester")
			return err
		}, func() bool { return getTenant("acme").Settings.StorePasswords == store.StorePasswordsNone }},
		{"JWTRevealSecret", func() error { _, err := tenants.RevealJWTSecret(ctx, "acme", "tester"); return err },
			nil}, // a reveal changes nothing; the audit count shows it
		{"JWTDisable", func() error { _, err := tenants.DisableJWT(ctx, "acme", "tester"); return err },
			func() bool { return getTenant("acme").Settings.JWT == nil }},
		{"IdPDisable", func() error { _, err := tenants.DisableIdP(ctx, "acme", "tester"); return err },
			func() bool { return getTenant("acme").Settings.IdP == nil }},
		{"TenantDelete", func() error { return tenants.Delete(ctx, "doomed", "doomed", "tester") },
			func() bool { _, err := raw.Tenants().GetByName(ctx, "doomed"); return err != nil }},
		{"TokenIssue", func() error {
			_, err := tenants.IssueToken(ctx, "acme", tenant.TokenRequest{Label: "new", CreatedBy: "tester"})
			return err
		}, func() bool {
			toks, err := tenants.ListTokens(ctx, "acme")
			require.NoError(t, err)
			return len(toks) == 2
		}},
		{"TokenRevoke", func() error { return tenants.RevokeToken(ctx, "acme", tok.Token.ID, "tester") },
			func() bool {
				got, err := raw.Tokens().Get(ctx, tok.Token.ID)
				require.NoError(t, err)
				return !got.Revoked.IsZero()
			}},
		{"OAuthClientCreate", func() error { _, _, err := tenants.CreateOAuthClient(ctx, "acme", "new", "tester"); return err },
			func() bool {
				cs, err := tenants.ListOAuthClients(ctx, "acme")
				require.NoError(t, err)
				return len(cs) == 2
			}},
		{"OAuthClientRevoke", func() error { return tenants.RevokeOAuthClient(ctx, "acme", client.ID, "tester") },
			func() bool {
				got, err := raw.OAuthClients().Get(ctx, client.ID)
				require.NoError(t, err)
				return !got.Revoked.IsZero()
			}},
		{"AdminCreate", func() error {
			_, err := admins.Create(ctx, "ops", "another long password 2", store.RoleReadOnly, "tester")
			return err
		}, func() bool { _, err := raw.Admins().GetByName(ctx, "ops"); return err == nil }},
		{"AdminChangePassword", func() error {
			return admins.ChangePassword(ctx, "ops", "another long password 2", "ops chose this password 4")
		}, func() bool {
			_, err := admins.CheckPassword(ctx, "ops", "ops chose this password 4")
			return err == nil
		}},
		{"AdminRole", func() error { return admins.SetRole(ctx, "root", store.RoleSuperAdmin, "tester") },
			func() bool {
				a, err := raw.Admins().GetByName(ctx, "root")
				require.NoError(t, err)
				return a.Role == store.RoleSuperAdmin
			}},
		{"AdminLogin", func() error { _, err := admins.Login(ctx, "root", "a long enough password 1"); return err },
			nil}, // a session is not listed; the audit count shows it
		{"AdminPassword", func() error { return admins.SetPassword(ctx, "root", "a changed password 3", "tester") },
			func() bool { _, err := admins.CheckPassword(ctx, "root", "a changed password 3"); return err == nil }},
		{"WebhookCreate", func() error {
			_, err := endpoints.Create(ctx, acme, webhook.EndpointRequest{URL: "https://other.example.com/hooks"}, "tester")
			return err
		}, func() bool {
			eps, err := endpoints.List(ctx, acme)
			require.NoError(t, err)
			return len(eps) == 2
		}},
		{"WebhookUpdate", func() error {
			_, err := endpoints.Update(ctx, acme, ep.ID, webhook.EndpointChange{Disabled: &yes}, "tester")
			return err
		}, func() bool {
			got, err := endpoints.Get(ctx, acme, ep.ID)
			require.NoError(t, err)
			return got.Disabled
		}},
		{"ServerURLs", func() error {
			return tenants.RecordURLs(ctx, tenant.URLs{Base: "https://roster.example.com", Prefix: "/scim/v2"}, "tester")
		}, func() bool {
			u, err := tenants.RecordedURLs(ctx, tenant.URLs{})
			require.NoError(t, err)
			return u.Base == "https://roster.example.com"
		}},
		{"AdminDelete", func() error { return admins.Delete(ctx, "root", "tester") },
			func() bool { _, err := raw.Admins().GetByName(ctx, "root"); return err != nil }},
		{"WebhookRedeliver", func() error { _, err := deliveries.Redeliver(ctx, acme, ep.ID, nil, "tester"); return err },
			func() bool {
				// Carried out at once, the request is forgotten; its
				// claim stays in the jobs database only if it ran.
				pending, err := raw.Webhooks().Redeliveries(ctx, 10)
				require.NoError(t, err)
				require.Empty(t, pending)
				return auditCount(t, raw) > 0 && lastAction(t, raw) == "webhook.redeliver"
			}},
		{"WebhookDelete", func() error { _, err := endpoints.Delete(ctx, acme, ep.ID, "tester"); return err },
			func() bool { _, err := endpoints.Get(ctx, acme, ep.ID); return err != nil }},
	}
	for _, tc := range cases {
		auditBefore := auditCount(t, raw)
		historyBefore := historyCount(t, raw, acme.ID)

		st.armed = true
		err := tc.change()
		st.armed = false
		require.ErrorIs(t, err, errInjected, tc.name)
		if tc.stored != nil {
			require.False(t, tc.stored(), "%s: the change was kept without its audit row", tc.name)
		}
		require.Equal(t, auditBefore, auditCount(t, raw), "%s: an audit row without its change", tc.name)
		require.Equal(t, historyBefore, historyCount(t, raw, acme.ID), "%s: a history entry without its change", tc.name)

		require.NoError(t, tc.change(), tc.name)
		if tc.stored != nil {
			require.True(t, tc.stored(), "%s: the change was not stored", tc.name)
		}
		require.Equal(t, auditBefore+1, auditCount(t, raw), "%s: the change was stored without its audit row", tc.name)
	}
}

func lastAction(t *testing.T, st store.Store) string {
	t.Helper()
	es, err := st.Audit().List(context.Background(), store.AuditQuery{Limit: 1000})
	require.NoError(t, err)
	return es[len(es)-1].Action
}

func auditCount(t *testing.T, st store.Store) int {
	t.Helper()
	es, err := st.Audit().List(context.Background(), store.AuditQuery{Limit: 1000})
	require.NoError(t, err)
	return len(es)
}

func historyCount(t *testing.T, st store.Store, tenantID string) int {
	t.Helper()
	hs, err := st.History().List(context.Background(), store.HistoryQuery{Tenant: tenantID, Limit: 1000})
	require.NoError(t, err)
	return len(hs)
}
