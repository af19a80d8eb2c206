package job_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/backendtest"
)

const doc = `
name: hr
source: {type: ldap, url: 'ldaps://ldap.example.com', bindDN: 'cn=roster', bindPassword: '${PW}', baseDN: 'dc=example'}
target: {url: 'https://app.example.com/scim/v2', token: '${TOKEN}'}
`

func parse(t *testing.T, extra string) job.Job {
	t.Helper()
	j, err := job.Parse([]byte(doc+extra), func(k string) (string, bool) {
		return map[string]string{"PW": "pw-very-secret", "TOKEN": "tok-very-secret"}[k], true
	})
	require.NoError(t, err)
	return j
}

func auditRows(t *testing.T, st store.Store) []store.AuditEvent {
	t.Helper()
	evs, err := st.Audit().List(context.Background(), store.AuditQuery{})
	require.NoError(t, err)
	return evs
}

// requireNoSecrets fails if a secret of the test document appears in v,
// encoded as JSON.
func requireNoSecrets(t *testing.T, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	require.NotContains(t, string(b), "pw-very-secret")
	require.NotContains(t, string(b), "tok-very-secret")
}

func TestApply(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		svc := job.New(st)

		created, j, err := svc.Apply(ctx, parse(t, ""), "cli:alice")
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, job.StatusOff, j.Status)
		require.Equal(t, int64(1), j.Revision)
		require.True(t, j.NeedsInitial, "the first cycle is initial")
		require.Equal(t, "pw-very-secret", j.Source.BindPassword, "stored as given, to connect with")
		evs := auditRows(t, st)
		require.Len(t, evs, 1)
		require.Equal(t, "job.create", evs[0].Action)
		require.Equal(t, "hr", evs[0].Target)
		require.Equal(t, "cli:alice", evs[0].Actor)

		// The engine clears the flag after its initial cycle; simulate it.
		require.NoError(t, st.Write(ctx, func(w store.Writer) error {
			sj, err := w.Jobs().Get(ctx, "hr")
			if err != nil {
				return err
			}
			sj.NeedsInitial, sj.Revision = false, sj.Revision+1
			return w.Jobs().Update(ctx, sj)
		}))

		// The same document again changes and records nothing.
		created, j, err = svc.Apply(ctx, parse(t, ""), "cli:alice")
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, int64(2), j.Revision)
		require.Len(t, auditRows(t, st), 1)

		// A schedule change is an update, not a reason for an initial cycle.
		created, j, err = svc.Apply(ctx, parse(t, "schedule: {interval: 2h}\n"), "cli:bob")
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, int64(3), j.Revision)
		require.False(t, j.NeedsInitial)
		require.Equal(t, 2*time.Hour, time.Duration(j.Schedule.Interval))
		evs = auditRows(t, st)
		require.Len(t, evs, 2)
		require.Equal(t, "job.update", evs[1].Action)
		require.Equal(t, []any{"schedule"}, evs[1].Detail["changed"])

		// A changed secret is recorded as a changed key, never as a value.
		rotated := parse(t, "schedule: {interval: 2h}\n")
		rotated.Target.Token = "tok-very-secret-2"
		_, j, err = svc.Apply(ctx, rotated, "cli:bob")
		require.NoError(t, err)
		require.False(t, j.NeedsInitial)
		evs = auditRows(t, st)
		require.Equal(t, []any{"target"}, evs[len(evs)-1].Detail["changed"])

		// Scoping and mapping changes make the next cycle initial.
		for _, extra := range []string{
			"schedule: {interval: 2h}\nscope: all\n",
			"schedule: {interval: 2h}\nscope: all\nmappings:\n  groups:\n    - {target: displayName, source: cn, matching: true}\n",
			"schedule: {interval: 2h}\nscope: all\nassignments: [{group: staff}]\n",
		} {
			require.NoError(t, st.Write(ctx, func(w store.Writer) error {
				sj, err := w.Jobs().Get(ctx, "hr")
				if err != nil {
					return err
				}
				sj.NeedsInitial, sj.Revision = false, sj.Revision+1
				return w.Jobs().Update(ctx, sj)
			}))
			next := parse(t, extra)
			next.Target.Token = "tok-very-secret-2"
			_, j, err = svc.Apply(ctx, next, "cli:bob")
			require.NoError(t, err)
			require.True(t, j.NeedsInitial, "after %q", extra)
		}

		all := auditRows(t, st)
		for _, ev := range all {
			requireNoSecrets(t, ev)
			require.NotContains(t, mustJSON(t, ev), "tok-very-secret-2")
		}

		list, err := svc.List(ctx)
		require.NoError(t, err)
		require.Len(t, list, 1)
		requireNoSecrets(t, list[0].Redacted())

		require.NoError(t, svc.Delete(ctx, "hr", "cli:carol"))
		_, err = svc.Get(ctx, "hr")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.ErrorIs(t, svc.Delete(ctx, "hr", "cli:carol"), store.ErrNotFound)
		evs = auditRows(t, st)
		require.Equal(t, "job.delete", evs[len(evs)-1].Action)
		require.Len(t, evs, len(all)+1, "a failed delete records nothing")
	})
}

// Deleting a job removes the engine's state of it in the same
// transaction, and only of it; a failed delete keeps it.
// TestApplyNotificationTenant checks that a job may name only a tenant
// that exists for its notices, and that changing its notifications is a
// recorded change that does not make the next cycle initial.
func TestApplyNotificationTenant(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		svc := job.New(st)
		_, _, err := svc.Apply(ctx, parse(t, "notifications: {tenant: acme}\n"), "cli:alice")
		require.ErrorIs(t, err, job.ErrInvalid)
		require.ErrorContains(t, err, `notifications.tenant "acme": no such tenant`)
		_, err = st.Jobs().Get(ctx, "hr")
		require.ErrorIs(t, err, store.ErrNotFound, "nothing is stored")

		require.NoError(t, st.Write(ctx, func(w store.Writer) error {
			return w.Tenants().Create(ctx, store.Tenant{ID: "t-acme", Name: "acme", Created: time.Now()})
		}))
		_, j, err := svc.Apply(ctx, parse(t, "notifications: {tenant: acme, emails: [ops@example.com]}\n"), "cli:alice")
		require.NoError(t, err)
		require.Equal(t, "acme", j.Notifications.Recipients().Tenant)
		require.NoError(t, svc.InitialDone(ctx, j))

		_, j, err = svc.Apply(ctx, parse(t, "notifications: {tenant: acme, emails: [ops@example.com, lead@example.com]}\n"), "cli:alice")
		require.NoError(t, err)
		require.Equal(t, []string{"ops@example.com", "lead@example.com"}, j.Notifications.Recipients().Emails)
		require.False(t, j.NeedsInitial, "who hears of notices does not change what is provisioned")
		rows := auditRows(t, st)
		require.Equal(t, "job.update", rows[len(rows)-1].Action)
		require.Equal(t, []any{"notifications"}, rows[len(rows)-1].Detail["changed"])
	})
}

func TestDeleteRemovesEngineState(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		svc := job.New(st)
		_, _, err := svc.Apply(ctx, parse(t, ""), "cli:alice")
		require.NoError(t, err)
		for _, name := range []string{"hr", "crm"} {
			require.NoError(t, st.Write(ctx, func(w store.Writer) error {
				p := w.Provisioning()
				if err := p.PutState(ctx, store.ProvisionState{Job: name, Cycle: "c1"}); err != nil {
					return err
				}
				if err := p.PutCycle(ctx, store.ProvisionCycle{ID: name + "-c1", Job: name, Status: "Succeeded"}); err != nil {
					return err
				}
				if err := p.AppendLogs(ctx, []store.ProvisionLog{{Job: name, Cycle: name + "-c1", Action: "Create"}}); err != nil {
					return err
				}
				return p.PutLinks(ctx, []store.Link{
					{Job: name, Kind: "user", SourceAnchor: "a1", TargetID: "t1"},
					{Job: name, Kind: "group", SourceAnchor: "g1", TargetID: "t2"},
				})
			}))
		}
		linkCount := func(name string) int {
			n := 0
			require.NoError(t, st.Provisioning().Links(ctx, name, "", func(store.Link) error { n++; return nil }))
			return n
		}

		require.ErrorIs(t, job.New(failingAudit{st}).Delete(ctx, "hr", "cli:alice"), errAudit)
		require.Equal(t, 2, linkCount("hr"), "a failed delete keeps the links")

		require.NoError(t, svc.Delete(ctx, "hr", "cli:carol"))
		require.Zero(t, linkCount("hr"), "links are gone with the job")
		_, err = st.Provisioning().Link(ctx, "hr", "user", "a1")
		require.ErrorIs(t, err, store.ErrNotFound)
		state, err := st.Provisioning().State(ctx, "hr")
		require.NoError(t, err)
		require.Equal(t, store.ProvisionState{Job: "hr"}, state)
		_, err = st.Provisioning().Cycle(ctx, "hr-c1")
		require.ErrorIs(t, err, store.ErrNotFound)
		logs, err := st.Provisioning().Logs(ctx, store.ProvisionLogQuery{Job: "hr"})
		require.NoError(t, err)
		require.Empty(t, logs)

		require.Equal(t, 2, linkCount("crm"), "another job's links stay")
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// failingAudit is a store whose audit rows cannot be written, to show that
// a job is written in the transaction of its audit row.
type failingAudit struct{ store.Store }

func (f failingAudit) Write(ctx context.Context, fn func(store.Writer) error) error {
	return f.Store.Write(ctx, func(w store.Writer) error { return fn(failingWriter{w}) })
}

type failingWriter struct{ store.Writer }

func (w failingWriter) Audit() store.AuditWriter { return failingAuditWriter{w.Writer.Audit()} }

type failingAuditWriter struct{ store.AuditWriter }

var errAudit = errors.New("audit unavailable")

func (failingAuditWriter) Append(context.Context, *store.AuditEvent) error { return errAudit }

func TestApplyAndAuditCommitTogether(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		_, _, err := job.New(failingAudit{st}).Apply(ctx, parse(t, ""), "cli:alice")
		require.ErrorIs(t, err, errAudit)
		_, err = st.Jobs().Get(ctx, "hr")
		require.ErrorIs(t, err, store.ErrNotFound, "no job without its audit row")

		_, _, err = job.New(st).Apply(ctx, parse(t, ""), "cli:alice")
		require.NoError(t, err)
		_, _, err = job.New(failingAudit{st}).Apply(ctx, parse(t, "scope: all\n"), "cli:alice")
		require.ErrorIs(t, err, errAudit)
		j, err := job.New(st).Get(ctx, "hr")
		require.NoError(t, err)
		require.Equal(t, job.ScopeAssigned, j.Scope, "no update without its audit row")
		require.ErrorIs(t, job.New(failingAudit{st}).Delete(ctx, "hr", "cli:alice"), errAudit)
		_, err = st.Jobs().Get(ctx, "hr")
		require.NoError(t, err, "no delete without its audit row")
	})
}

func TestSetStatus(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		svc := job.New(st)
		_, _, err := svc.Apply(ctx, parse(t, ""), "cli:alice")
		require.NoError(t, err)

		j, err := svc.SetStatus(ctx, "hr", job.StatusOn, "cli:alice")
		require.NoError(t, err)
		require.Equal(t, job.StatusOn, j.Status)
		before := len(auditRows(t, st))
		_, err = svc.SetStatus(ctx, "hr", job.StatusOn, "cli:alice")
		require.NoError(t, err)
		require.Len(t, auditRows(t, st), before, "the same status again records nothing")

		_, err = svc.SetStatus(ctx, "hr", "Running", "cli:alice")
		require.ErrorIs(t, err, job.ErrInvalid)
		_, err = svc.SetStatus(ctx, "nope", job.StatusOff, "cli:alice")
		require.ErrorIs(t, err, store.ErrNotFound)

		got, err := svc.Get(ctx, "hr")
		require.NoError(t, err)
		require.Equal(t, job.StatusOn, got.Status)
		var actions []string
		for _, r := range auditRows(t, st) {
			actions = append(actions, r.Action)
		}
		require.ElementsMatch(t, []string{"job.create", "job.status"}, actions)
	})
}

func TestInitialDone(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		svc := job.New(st)
		_, ran, err := svc.Apply(ctx, parse(t, ""), "cli:alice")
		require.NoError(t, err)
		require.True(t, ran.NeedsInitial)

		// A change of status while the cycle ran does not keep the flag.
		_, err = svc.SetStatus(ctx, "hr", job.StatusOn, "cli:alice")
		require.NoError(t, err)
		require.NoError(t, svc.InitialDone(ctx, ran))
		j, err := svc.Get(ctx, "hr")
		require.NoError(t, err)
		require.False(t, j.NeedsInitial)
		require.Equal(t, job.StatusOn, j.Status)

		// A mapping changed while an initial cycle ran: the flag stays.
		_, ran, err = svc.Apply(ctx, parse(t, "scope: all\n"), "cli:alice")
		require.NoError(t, err)
		require.True(t, ran.NeedsInitial)
		_, _, err = svc.Apply(ctx, parse(t, "scope: all\nmappings: {groups: [{target: displayName, source: cn, matching: true, precedence: 1}]}\n"), "cli:alice")
		require.NoError(t, err)
		require.NoError(t, svc.InitialDone(ctx, ran))
		j, err = svc.Get(ctx, "hr")
		require.NoError(t, err)
		require.True(t, j.NeedsInitial, "the newer mappings still need an initial cycle")
	})
}
