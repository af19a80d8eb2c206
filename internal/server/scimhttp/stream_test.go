package scimhttp_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/directory"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/server/scimhttp"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/tenant"
)

// outage is a real store whose reads of users' groups and of groups'
// members fail as if the database went away, while failing is set. Writes
// go through the real store, so a change made while failing commits and
// only the reads that render the answer fail.
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

func (r outageReader) Members(ctx context.Context, tenant, groupID string, fn func(store.Member) error) error {
	if r.failing.Load() {
		return store.ErrUnavailable
	}
	return r.ResourceReader.Members(ctx, tenant, groupID, fn)
}

func (r outageReader) GroupsOf(ctx context.Context, tenant string, memberIDs []string) (map[string][]store.Member, error) {
	if r.failing.Load() {
		return nil, store.ErrUnavailable
	}
	return r.ResourceReader.GroupsOf(ctx, tenant, memberIDs)
}

// newOutageEnv is a SCIM endpoint on a store that fails reads on demand
// (see outage), with a log of what the handler reports to the operator.
func newOutageEnv(t *testing.T) (*env, *atomic.Bool, *syncBuffer) {
	t.Helper()
	ctx := context.Background()
	failing := new(atomic.Bool)
	st := openStore(t)
	tenants := tenant.New(st)
	_, issued, err := tenants.Bootstrap(ctx, "default", "")
	require.NoError(t, err)
	dir := directory.New(outage{Store: st, failing: failing}, schema.Default())
	logs := new(syncBuffer)
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, t.Output()), nil))
	srv := httptest.NewServer(scimhttp.New(scimhttp.Config{Prefix: "/scim/v2", Logger: log}, dir, tenants))
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, st: st, tenants: tenants, tenantURL: srv.URL + "/scim/v2/default", token: issued.Plaintext, vars: map[string]string{}}
	return e, failing, logs
}

// syncBuffer is a bytes.Buffer that the server's goroutines may write
// while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestReadFailsBeforeBody shows that a read failing before any of the
// answer is sent (the groups of a user or of a page of users, a group's
// members) is answered with a SCIM error, not with a 200 and a truncated
// body.
func TestReadFailsBeforeBody(t *testing.T) {
	t.Parallel()
	e, failing, _ := newOutageEnv(t)
	r := e.do("POST", "/Users", `{"userName":"alice@example.com"}`)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	id := r.JSON["id"].(string)
	r = e.do("POST", "/Groups", `{"displayName":"Staff","members":[{"value":"`+id+`"}]}`)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	group := r.JSON["id"].(string)
	failing.Store(true)
	for _, c := range []struct{ name, method, path, body string }{
		{"Get", "GET", "/Users/" + id, ""},
		{"GetGroup", "GET", "/Groups/" + group, ""},
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

// TestRenderFailsAfterCommit shows that a create, replace or patch whose
// answer cannot be rendered (the user's groups or the group's members
// cannot be read once the change has committed) is still answered with its
// success status, Location and ETag: an error would make the client retry a
// change already made, and a retried POST gets 409 for ever. The cut-short
// body is logged for the operator.
func TestRenderFailsAfterCommit(t *testing.T) {
	t.Parallel()
	e, failing, logs := newOutageEnv(t)
	r := e.do("POST", "/Users", `{"userName":"alice@example.com"}`)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	user := r.JSON["id"].(string)
	failing.Store(true)

	var group string
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		etag                     string
	}{
		{"CreateGroup", "POST", "/Groups", `{"displayName":"Staff","members":[{"value":"` + user + `"}]}`, http.StatusCreated, `W/"1"`},
		{"ReplaceUser", "PUT", "/Users/" + user, `{"userName":"alice@example.com","displayName":"Alice"}`, http.StatusOK, `W/"2"`},
		{"PatchUser", "PATCH", "/Users/" + user, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"CEO"}]}`, http.StatusOK, `W/"3"`},
		{"PatchGroup", "PATCH", "/Groups/{{group}}?attributes=members", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"All staff"}]}`, http.StatusOK, `W/"2"`},
		{"ReplaceGroup", "PUT", "/Groups/{{group}}", `{"displayName":"Everyone","members":[{"value":"` + user + `"}]}`, http.StatusOK, `W/"3"`},
	} {
		r := e.do(c.method, c.path, c.body)
		require.Equal(t, c.status, r.Status, "%s: %s", c.name, r.Body)
		require.Equal(t, c.etag, r.Header.Get("ETag"), "%s", c.name)
		require.NotEqual(t, schema.ErrorURN, path(r.JSON, "schemas.0"), "%s: %s", c.name, r.Body)
		if c.method == "POST" {
			loc := r.Header.Get("Location")
			require.Regexp(t, `^`+regexp.QuoteMeta(e.tenantURL)+`/Groups/[0-9a-f-]{36}$`, loc)
			group = loc[len(e.tenantURL+"/Groups/"):]
			e.vars["group"] = group
		}
	}
	require.Contains(t, logs.String(), "SCIM-0504")

	// /Bulk answers each operation with its location and version only, so
	// nothing is read after an operation commits.
	r = e.do("POST", "/Bulk", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[`+
		`{"method":"POST","path":"/Groups","bulkId":"g","data":{"displayName":"Bulk","members":[{"value":"`+user+`"}]}}]}`)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "201", path(r.JSON, "Operations.0.status"), "%s", r.Body)

	// Every change committed, as its answer said.
	failing.Store(false)
	r = e.do("GET", "/Users/"+user, "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, `W/"3"`, r.Header.Get("ETag"))
	require.Equal(t, "CEO", r.JSON["title"])
	require.Equal(t, "Alice", r.JSON["displayName"])
	r = e.do("GET", "/Groups/"+group, "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, `W/"3"`, r.Header.Get("ETag"))
	require.Equal(t, "Everyone", r.JSON["displayName"])
	require.Equal(t, user, path(r.JSON, "members.0.value"))
}
