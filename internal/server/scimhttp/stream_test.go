package scimhttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/directory"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/server/scimhttp"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/tenant"
)

// outage is a real store whose reads of users' groups fail as if the
// database went away, while failing is set.
type outage struct {
	store.Store
	failing *atomic.Bool
}

func (o outage) Resources() store.ResourceReader {
	return outageReader{ResourceReader: o.Store.Resources(), failing: o.failing}
}

type outageReader struct {
	store.ResourceReader
	failing *atomic.Bool
}

func (r outageReader) Groups(ctx context.Context, tenant, memberID string) ([]store.Member, error) {
	if r.failing.Load() {
		return nil, store.ErrUnavailable
	}
	return r.ResourceReader.Groups(ctx, tenant, memberID)
}

func (r outageReader) GroupsOf(ctx context.Context, tenant string, memberIDs []string) (map[string][]store.Member, error) {
	if r.failing.Load() {
		return nil, store.ErrUnavailable
	}
	return r.ResourceReader.GroupsOf(ctx, tenant, memberIDs)
}

// TestReadFailsBeforeBody shows that a read failing before any of the
// answer is sent (the groups of a user, or of a page of users) is answered
// with a SCIM error, not with a 200 and a truncated body.
func TestReadFailsBeforeBody(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	failing := new(atomic.Bool)
	st := openStore(t)
	tenants := tenant.New(st)
	_, issued, err := tenants.Bootstrap(ctx, "default", "")
	require.NoError(t, err)
	dir := directory.New(outage{Store: st, failing: failing}, schema.Default())
	srv := httptest.NewServer(scimhttp.New(scimhttp.Config{Prefix: "/scim/v2"}, dir, tenants))
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, st: st, tenants: tenants, tenantURL: srv.URL + "/scim/v2/default", token: issued.Plaintext, vars: map[string]string{}}
	r := e.do("POST", "/Users", `{"userName":"alice@example.com"}`)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	id := r.JSON["id"].(string)
	failing.Store(true)
	for _, c := range []struct{ name, method, path, body string }{
		{"Get", "GET", "/Users/" + id, ""},
		{"List", "GET", "/Users", ""},
		{"Search", "POST", "/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(c.method, c.path, c.body)
			require.Equal(t, http.StatusServiceUnavailable, r.Status, "%s", r.Body)
			requireSCIMError(t, r, http.StatusServiceUnavailable)
			require.Empty(t, r.Header.Get("ETag"), "an error has no entity tag")
		})
	}
	failing.Store(false)
	r = e.do("GET", "/Users/"+id, "")
	require.Equal(t, http.StatusOK, r.Status)
}
