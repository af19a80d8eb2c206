package storetest

import (
	"context"
	"time"

	"github.com/rosterhq/roster/internal/store"
)

// Write returns a store.Writer whose every call runs in a Write of its
// own, for tests that set up rows without a service: Write(st).Tokens().
// Create(ctx, tok) is st.Write with one Create in it. Tenants().Delete also
// waits for the tenant's rows to be purged, as a test expects of a delete.
// Runtime code never does this: a change and its audit row must share one
// transaction.
func Write(st store.Store) store.Writer { return autocommit{st} }

type autocommit struct{ st store.Store }

// do runs fn in a Write of its own.
func (a autocommit) do(ctx context.Context, fn func(w store.Writer) error) error {
	return a.st.Write(ctx, fn)
}

// get runs a read in a Write of its own.
func get[T any](ctx context.Context, a autocommit, fn func(w store.Writer) (T, error)) (T, error) {
	var v T
	err := a.do(ctx, func(w store.Writer) error {
		var err error
		v, err = fn(w)
		return err
	})
	return v, err
}

func (a autocommit) Get(ctx context.Context, tenant, typ, id string) (store.Resource, error) {
	return get(ctx, a, func(w store.Writer) (store.Resource, error) { return w.Get(ctx, tenant, typ, id) })
}

func (a autocommit) Create(ctx context.Context, r store.Resource) error {
	return a.do(ctx, func(w store.Writer) error { return w.Create(ctx, r) })
}

func (a autocommit) Update(ctx context.Context, r store.Resource) error {
	return a.do(ctx, func(w store.Writer) error { return w.Update(ctx, r) })
}

func (a autocommit) Delete(ctx context.Context, tenant, typ, id string) error {
	return a.do(ctx, func(w store.Writer) error { return w.Delete(ctx, tenant, typ, id) })
}

func (a autocommit) AddMembers(ctx context.Context, tenant, groupID string, ids []string) ([]string, error) {
	return get(ctx, a, func(w store.Writer) ([]string, error) { return w.AddMembers(ctx, tenant, groupID, ids) })
}

func (a autocommit) RemoveMembers(ctx context.Context, tenant, groupID string, ids []string) ([]string, error) {
	return get(ctx, a, func(w store.Writer) ([]string, error) { return w.RemoveMembers(ctx, tenant, groupID, ids) })
}

func (a autocommit) ClearMembers(ctx context.Context, tenant, groupID string) ([]string, error) {
	return get(ctx, a, func(w store.Writer) ([]string, error) { return w.ClearMembers(ctx, tenant, groupID) })
}

func (a autocommit) Members(ctx context.Context, tenant, groupID string, fn func(store.Member) error) error {
	return a.do(ctx, func(w store.Writer) error { return w.Members(ctx, tenant, groupID, fn) })
}

func (a autocommit) Record(ctx context.Context, c *store.Change) error {
	return a.do(ctx, func(w store.Writer) error { return w.Record(ctx, c) })
}

func (a autocommit) Emit(ctx context.Context, tenant string, events []store.Event) error {
	return a.do(ctx, func(w store.Writer) error { return w.Emit(ctx, tenant, events) })
}

func (a autocommit) Tenants() store.TenantWriter           { return autoTenants{a} }
func (a autocommit) Tokens() store.TokenWriter             { return autoTokens{a} }
func (a autocommit) OAuthClients() store.OAuthClientWriter { return autoClients{a} }
func (a autocommit) Admins() store.AdminWriter             { return autoAdmins{a} }
func (a autocommit) Webhooks() store.WebhookWriter         { return autoWebhooks{a} }
func (a autocommit) Jobs() store.JobWriter                 { return autoJobs{a} }
func (a autocommit) Provisioning() store.ProvisionWriter   { return autoProvision{a} }
func (a autocommit) Push() store.PushWriter                { return autoPush{a} }
func (a autocommit) Settings() store.SettingsWriter        { return autoSettings{a} }
func (a autocommit) Audit() store.AuditWriter              { return autoAudit{a} }

type autoTenants struct{ a autocommit }

func (t autoTenants) Create(ctx context.Context, tn store.Tenant) error {
	return t.a.do(ctx, func(w store.Writer) error { return w.Tenants().Create(ctx, tn) })
}

func (t autoTenants) Get(ctx context.Context, id string) (store.Tenant, error) {
	return get(ctx, t.a, func(w store.Writer) (store.Tenant, error) { return w.Tenants().Get(ctx, id) })
}

func (t autoTenants) GetByName(ctx context.Context, name string) (store.Tenant, error) {
	return get(ctx, t.a, func(w store.Writer) (store.Tenant, error) { return w.Tenants().GetByName(ctx, name) })
}

func (t autoTenants) SetSCIMDisabled(ctx context.Context, id string, disabled bool) error {
	return t.a.do(ctx, func(w store.Writer) error { return w.Tenants().SetSCIMDisabled(ctx, id, disabled) })
}

func (t autoTenants) SetSettings(ctx context.Context, id string, s store.TenantSettings) error {
	return t.a.do(ctx, func(w store.Writer) error { return w.Tenants().SetSettings(ctx, id, s) })
}

// Delete deletes the tenant and waits until its rows are purged.
func (t autoTenants) Delete(ctx context.Context, id string) error {
	if err := t.a.do(ctx, func(w store.Writer) error { return w.Tenants().Delete(ctx, id) }); err != nil {
		return err
	}
	return t.a.st.Tenants().PurgeDeleted(ctx)
}

type autoTokens struct{ a autocommit }

func (t autoTokens) Create(ctx context.Context, tok store.Token) error {
	return t.a.do(ctx, func(w store.Writer) error { return w.Tokens().Create(ctx, tok) })
}

func (t autoTokens) Get(ctx context.Context, id string) (store.Token, error) {
	return get(ctx, t.a, func(w store.Writer) (store.Token, error) { return w.Tokens().Get(ctx, id) })
}

func (t autoTokens) Revoke(ctx context.Context, id string, at time.Time) error {
	return t.a.do(ctx, func(w store.Writer) error { return w.Tokens().Revoke(ctx, id, at) })
}

type autoClients struct{ a autocommit }

func (c autoClients) Create(ctx context.Context, cl store.OAuthClient) error {
	return c.a.do(ctx, func(w store.Writer) error { return w.OAuthClients().Create(ctx, cl) })
}

func (c autoClients) Get(ctx context.Context, id string) (store.OAuthClient, error) {
	return get(ctx, c.a, func(w store.Writer) (store.OAuthClient, error) { return w.OAuthClients().Get(ctx, id) })
}

func (c autoClients) Revoke(ctx context.Context, id string, at time.Time) error {
	return c.a.do(ctx, func(w store.Writer) error { return w.OAuthClients().Revoke(ctx, id, at) })
}

type autoAdmins struct{ a autocommit }

func (d autoAdmins) Create(ctx context.Context, ad store.Admin) error {
	return d.a.do(ctx, func(w store.Writer) error { return w.Admins().Create(ctx, ad) })
}

func (d autoAdmins) GetByName(ctx context.Context, name string) (store.Admin, error) {
	return get(ctx, d.a, func(w store.Writer) (store.Admin, error) { return w.Admins().GetByName(ctx, name) })
}

func (d autoAdmins) Update(ctx context.Context, ad store.Admin) error {
	return d.a.do(ctx, func(w store.Writer) error { return w.Admins().Update(ctx, ad) })
}

func (d autoAdmins) Delete(ctx context.Context, id string) error {
	return d.a.do(ctx, func(w store.Writer) error { return w.Admins().Delete(ctx, id) })
}

func (d autoAdmins) CreateSession(ctx context.Context, s store.AdminSession) error {
	return d.a.do(ctx, func(w store.Writer) error { return w.Admins().CreateSession(ctx, s) })
}

func (d autoAdmins) DeleteSessions(ctx context.Context, admin, id string) error {
	return d.a.do(ctx, func(w store.Writer) error { return w.Admins().DeleteSessions(ctx, admin, id) })
}

type autoWebhooks struct{ a autocommit }

func (h autoWebhooks) Create(ctx context.Context, e store.WebhookEndpoint) error {
	return h.a.do(ctx, func(w store.Writer) error { return w.Webhooks().Create(ctx, e) })
}

func (h autoWebhooks) Get(ctx context.Context, id string) (store.WebhookEndpoint, error) {
	return get(ctx, h.a, func(w store.Writer) (store.WebhookEndpoint, error) { return w.Webhooks().Get(ctx, id) })
}

func (h autoWebhooks) Update(ctx context.Context, e store.WebhookEndpoint) error {
	return h.a.do(ctx, func(w store.Writer) error { return w.Webhooks().Update(ctx, e) })
}

func (h autoWebhooks) Delete(ctx context.Context, id string) error {
	return h.a.do(ctx, func(w store.Writer) error { return w.Webhooks().Delete(ctx, id) })
}

type autoSettings struct{ a autocommit }

func (s autoSettings) Set(ctx context.Context, key, value string) error {
	return s.a.do(ctx, func(w store.Writer) error { return w.Settings().Set(ctx, key, value) })
}

type autoAudit struct{ a autocommit }

func (au autoAudit) Append(ctx context.Context, e *store.AuditEvent) error {
	return au.a.do(ctx, func(w store.Writer) error { return w.Audit().Append(ctx, e) })
}

func (h autoWebhooks) RequestRedelivery(ctx context.Context, r store.WebhookRedelivery) error {
	return h.a.do(ctx, func(w store.Writer) error { return w.Webhooks().RequestRedelivery(ctx, r) })
}

func (h autoWebhooks) DoneRedelivery(ctx context.Context, id string) error {
	return h.a.do(ctx, func(w store.Writer) error { return w.Webhooks().DoneRedelivery(ctx, id) })
}

func (t autoTenants) List(ctx context.Context) ([]store.Tenant, error) {
	return get(ctx, t.a, func(w store.Writer) ([]store.Tenant, error) { return w.Tenants().List(ctx) })
}

func (s autoSettings) Get(ctx context.Context, key string) (string, error) {
	return get(ctx, s.a, func(w store.Writer) (string, error) { return w.Settings().Get(ctx, key) })
}

type autoJobs struct{ a autocommit }

func (j autoJobs) Create(ctx context.Context, job store.Job) error {
	return j.a.do(ctx, func(w store.Writer) error { return w.Jobs().Create(ctx, job) })
}

func (j autoJobs) Get(ctx context.Context, name string) (store.Job, error) {
	return get(ctx, j.a, func(w store.Writer) (store.Job, error) { return w.Jobs().Get(ctx, name) })
}

func (j autoJobs) Update(ctx context.Context, job store.Job) error {
	return j.a.do(ctx, func(w store.Writer) error { return w.Jobs().Update(ctx, job) })
}

func (j autoJobs) Delete(ctx context.Context, name string) error {
	return j.a.do(ctx, func(w store.Writer) error { return w.Jobs().Delete(ctx, name) })
}

type autoProvision struct{ a autocommit }

func (p autoProvision) State(ctx context.Context, job string) (store.ProvisionState, error) {
	return get(ctx, p.a, func(w store.Writer) (store.ProvisionState, error) { return w.Provisioning().State(ctx, job) })
}

func (p autoProvision) PutState(ctx context.Context, st store.ProvisionState) error {
	return p.a.do(ctx, func(w store.Writer) error { return w.Provisioning().PutState(ctx, st) })
}

func (p autoProvision) PutLinks(ctx context.Context, links []store.Link) error {
	return p.a.do(ctx, func(w store.Writer) error { return w.Provisioning().PutLinks(ctx, links) })
}

func (p autoProvision) DeleteLinks(ctx context.Context, job, kind string, anchors []string) (int, error) {
	return get(ctx, p.a, func(w store.Writer) (int, error) { return w.Provisioning().DeleteLinks(ctx, job, kind, anchors) })
}

func (p autoProvision) PutCycle(ctx context.Context, c store.ProvisionCycle) error {
	return p.a.do(ctx, func(w store.Writer) error { return w.Provisioning().PutCycle(ctx, c) })
}

// AppendLogs sets the Seq of the caller's entries, as a Writer does.
func (p autoProvision) AppendLogs(ctx context.Context, logs []store.ProvisionLog) error {
	return p.a.do(ctx, func(w store.Writer) error { return w.Provisioning().AppendLogs(ctx, logs) })
}

func (p autoProvision) DeleteJob(ctx context.Context, job string) error {
	return p.a.do(ctx, func(w store.Writer) error { return w.Provisioning().DeleteJob(ctx, job) })
}

func (p autoProvision) PutEscrows(ctx context.Context, es []store.Escrow) error {
	return p.a.do(ctx, func(w store.Writer) error { return w.Provisioning().PutEscrows(ctx, es) })
}

func (p autoProvision) DeleteEscrows(ctx context.Context, job, kind string, anchors []string) (int, error) {
	return get(ctx, p.a, func(w store.Writer) (int, error) { return w.Provisioning().DeleteEscrows(ctx, job, kind, anchors) })
}

func (p autoProvision) ClearEscrows(ctx context.Context, job string) error {
	return p.a.do(ctx, func(w store.Writer) error { return w.Provisioning().ClearEscrows(ctx, job) })
}

type autoPush struct{ a autocommit }

func (p autoPush) PutRecords(ctx context.Context, job string, recs []store.PushRecord) error {
	return p.a.do(ctx, func(w store.Writer) error { return w.Push().PutRecords(ctx, job, recs) })
}

func (p autoPush) DeleteRecordsUpTo(ctx context.Context, job string, upTo int64) (int, error) {
	return get(ctx, p.a, func(w store.Writer) (int, error) { return w.Push().DeleteRecordsUpTo(ctx, job, upTo) })
}

func (p autoPush) PutToken(ctx context.Context, t store.PushToken) error {
	return p.a.do(ctx, func(w store.Writer) error { return w.Push().PutToken(ctx, t) })
}
