// Package storetest is the conformance suite every store.Store backend runs,
// in the manner of dex's storage/conformance and river's driver test suite:
// a backend's test calls RunTests with a constructor of fresh, empty stores,
// and the suite proves the behaviour package store documents, including a
// differential test of SQL filtering against filter.Eval.
//
// Extend this suite rather than writing backend-specific tests, so that the
// backends stay equivalent.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
)

// RunTests runs the conformance suite. newStore must return a new, empty
// store for every call and arrange for it to be closed when the test ends;
// each subtest gets its own and runs in parallel with the others.
func RunTests(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"ResourceCRUD", testResourceCRUD},
		{"TenantIsolation", testTenantIsolation},
		{"UniquenessPerTenant", testUniquenessPerTenant},
		{"OptimisticConcurrency", testOptimisticConcurrency},
		{"WriteRollback", testWriteRollback},
		{"FilterMatchesEvaluator", testFilterMatchesEvaluator},
		{"SortAndPaginate", testSortAndPaginate},
		{"Members", testMembers},
		{"Tenants", testTenants},
		{"Tokens", testTokens},
		{"Counts", testCounts},
		{"TenantSettings", testTenantSettings},
		{"IdPIssuerUnique", testIdPIssuerUnique},
		{"TenantDelete", testTenantDelete},
		{"TokensDeleteExpired", testTokensDeleteExpired},
		{"OAuthClients", testOAuthClients},
		{"Admins", testAdmins},
		{"AdminSessions", testAdminSessions},
		{"Audit", testAudit},
		{"Settings", testSettings},
		{"TokenLookup", testTokenLookup},
		{"CredentialsVersion", testCredentialsVersion},
		{"Leases", testLeases},
		{"Maintain", testMaintain},
		{"RecordInSameTx", testRecordInSameTx},
		{"EventCursors", testEventCursors},
		{"Emit", testEmit},
		{"ChangeLimits", testChangeLimits},
		{"EventsConcurrentWriters", testEventsConcurrentWriters},
		{"HistoryFilters", testHistoryFilters},
		{"HistoryRoundTrip", testHistoryRoundTrip},
		{"ChangesTenantIsolation", testChangesTenantIsolation},
		{"ChangesPurge", testChangesPurge},
		{"ChangesTenantDelete", testChangesTenantDelete},
		{"Webhooks", testWebhooks},
		{"Jobs", testJobs},
		{"ProvisionState", testProvisionState},
		{"ProvisionLinks", testProvisionLinks},
		{"ProvisionLinksStop", testProvisionLinksStop},
		{"ProvisionCycles", testProvisionCycles},
		{"ProvisionLogs", testProvisionLogs},
		{"ProvisionLogsDefaultLimit", testProvisionLogsDefaultLimit},
		{"ProvisionPurge", testProvisionPurge},
		{"ProvisionDeleteJob", testProvisionDeleteJob},
		{"ProvisionEscrow", testProvisionEscrow},
		{"PushRecords", testPushRecords},
		{"ProvisionInWrite", testProvisionInWrite},
		{"ProvisionTotals", testProvisionTotals},
		{"ClearMembers", testClearMembers},
		{"WriterReadsOwnWrites", testWriterReadsOwnWrites},
		{"ControlPlaneWithAudit", testControlPlaneWithAudit},
		{"WebhookRedeliveries", testWebhookRedeliveries},
		{"NoLostUpdates", testNoLostUpdates},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

// errBoom is returned by write functions that must roll back.
var errBoom = errors.New("boom")

// base is the time the suite's resources are created around. Times carry
// microseconds, the precision every backend must keep.
var base = time.Date(2024, 3, 10, 9, 30, 0, 123456000, time.UTC)

// newTenant creates a tenant and returns its id.
func newTenant(t *testing.T, s store.Store, name string) string {
	t.Helper()
	tn := store.Tenant{ID: "tenant-" + name, Name: name, Created: base}
	require.NoError(t, Write(s).Tenants().Create(context.Background(), tn))
	return tn.ID
}

// user returns a User resource with Version 1 created at base+n seconds.
func user(tenant, id string, attrs map[string]any, n int) store.Resource {
	at := base.Add(time.Duration(n) * time.Second)
	return store.Resource{Tenant: tenant, Type: schema.UserResource, ID: id, Attrs: attrs, Created: at, Modified: at, Version: 1}
}

// group returns a Group resource with Version 1.
func group(tenant, id, displayName string, n int) store.Resource {
	r := user(tenant, id, map[string]any{"displayName": displayName}, n)
	r.Type = schema.GroupResource
	return r
}

// create creates r in its own write.
func create(s store.Store, r store.Resource) error {
	ctx := context.Background()
	return s.Write(ctx, func(w store.Writer) error { return w.Create(ctx, r) })
}

// mustCreate creates every resource, each in its own write.
func mustCreate(t *testing.T, s store.Store, rs ...store.Resource) {
	t.Helper()
	for _, r := range rs {
		require.NoError(t, create(s, r), "create %s %s", r.Type, r.ID)
	}
}

// update runs Get and Update of one resource in a write, letting change
// edit the attributes.
func update(s store.Store, tenant, typ, id string, change func(attrs map[string]any)) (store.Resource, error) {
	ctx := context.Background()
	var out store.Resource
	err := s.Write(ctx, func(w store.Writer) error {
		old, err := w.Get(ctx, tenant, typ, id)
		if err != nil {
			return err
		}
		out = old
		out.Attrs = maps.Clone(old.Attrs)
		change(out.Attrs)
		out.Version = old.Version + 1
		out.Modified = old.Modified.Add(time.Minute)
		return w.Update(ctx, out)
	})
	return out, err
}

func addMembers(s store.Store, tenant, groupID string, ids ...string) ([]string, error) {
	ctx := context.Background()
	var added []string
	err := s.Write(ctx, func(w store.Writer) error {
		var err error
		added, err = w.AddMembers(ctx, tenant, groupID, ids)
		return err
	})
	return added, err
}

// members returns a group's members as the stream delivers them.
func members(t *testing.T, s store.Store, tenant, groupID string) []store.Member {
	t.Helper()
	var out []store.Member
	require.NoError(t, s.Resources().Members(context.Background(), tenant, groupID, func(m store.Member) error {
		out = append(out, m)
		return nil
	}))
	return out
}

// queryIDs returns the ids a query selects, in order, and checks that the
// total agrees when the page holds them all.
func queryIDs(t *testing.T, s store.Store, tenant string, rt *schema.ResourceType, q store.Query) []string {
	t.Helper()
	page, err := s.Resources().Query(context.Background(), tenant, rt, q)
	require.NoError(t, err)
	ids := make([]string, 0, len(page.Resources))
	for _, r := range page.Resources {
		ids = append(ids, r.ID)
	}
	return ids
}

// total returns the total of an unfiltered query.
func total(t *testing.T, s store.Store, tenant string, rt *schema.ResourceType) int {
	t.Helper()
	page, err := s.Resources().Query(context.Background(), tenant, rt, store.Query{})
	require.NoError(t, err)
	require.Empty(t, page.Resources)
	return page.Total
}

// requireResource checks that got is want as stored: same attributes,
// timestamps to the microsecond, and version.
func requireResource(t *testing.T, want, got store.Resource) {
	t.Helper()
	require.Equal(t, want.Tenant, got.Tenant)
	require.Equal(t, want.Type, got.Type)
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, want.Attrs, got.Attrs)
	require.True(t, want.Created.Equal(got.Created), "created %s, want %s", got.Created, want.Created)
	require.True(t, want.Modified.Equal(got.Modified), "modified %s, want %s", got.Modified, want.Modified)
	require.Equal(t, want.Version, got.Version)
}

func userIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("user-%02d", i)
	}
	return ids
}
