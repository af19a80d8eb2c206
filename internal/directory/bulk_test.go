package directory_test

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/store/storetest"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/directory"
	"github.com/rosterhq/roster/internal/scim/bulk"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

// panicky is a real store whose writers panic when asked to create the
// user "boom", as a bug in a backend would.
type panicky struct{ store.Store }

func (p panicky) Write(ctx context.Context, fn func(w store.Writer) error) error {
	return p.Store.Write(ctx, func(w store.Writer) error { return fn(panicWriter{w}) })
}

type panicWriter struct{ store.Writer }

func (w panicWriter) Create(ctx context.Context, r store.Resource) error {
	if r.Attrs["userName"] == "boom" {
		panic("injected panic")
	}
	return w.Writer.Create(ctx, r)
}

// bulkBundle is a directory service over a fresh SQLite store with one
// tenant; failRecord makes every change fail with errInjected.
type bulkBundle struct {
	dir        *directory.Service
	st         store.Store
	tenant     string
	failRecord *failingRecord
}

func setupBulk(t *testing.T) *bulkBundle {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, storetest.Write(st).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme", Created: time.Now()}))
	fr := &failingRecord{Store: panicky{st}}
	return &bulkBundle{dir: directory.New(fr, schema.Default()), st: st, tenant: "t1", failRecord: fr}
}

// run parses a bulk request as the HTTP layer does and runs it.
func (b *bulkBundle) run(t *testing.T, body string) []directory.BulkResult {
	t.Helper()
	req, err := bulk.Parse([]byte(body), 1000)
	require.NoError(t, err)
	return b.dir.Bulk(context.Background(), b.tenant, req)
}

// user creates a user outside the bulk request and returns its id.
func (b *bulkBundle) user(t *testing.T, userName string) string {
	t.Helper()
	res, err := b.dir.Create(context.Background(), b.tenant, b.dir.Registry().User(), map[string]any{"userName": userName})
	require.NoError(t, err)
	return res.ID
}

func statuses(results []directory.BulkResult) []int {
	out := make([]int, len(results))
	for i, r := range results {
		out[i] = r.Status
	}
	return out
}

// requireSCIMError checks that a result failed with the given SCIM error.
func requireSCIMError(t *testing.T, r directory.BulkResult, status int, typ scimerr.Type) {
	t.Helper()
	se := scimerr.As(r.Err)
	require.NotNil(t, se, "%v", r.Err)
	require.Equal(t, status, se.Status)
	require.Equal(t, status, r.Status)
	require.Equal(t, typ, se.ScimType)
	require.Nil(t, r.Type, "a failed operation names no resource")
	require.Empty(t, r.ID)
}

const bulkHead = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],`

// TestBulk runs bulk requests through the directory service on a real
// store: bulkId references resolved in dependency order, the failOnErrors
// budget, path checks, and failures (a panic included) confined to their
// operation.
func TestBulk(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(t *testing.T, b *bulkBundle) string // returns the request body
		check func(t *testing.T, b *bulkBundle, results []directory.BulkResult)
	}{
		{
			name: "ForwardReferences",
			setup: func(*testing.T, *bulkBundle) string {
				return bulkHead + `"Operations":[
					{"method":"POST","path":"/Groups","bulkId":"g","data":{"displayName":"Guides","members":[{"type":"User","value":"bulkId:u"}]}},
					{"method":"POST","path":"/Users","bulkId":"u","data":{"userName":"alice"}},
					{"method":"PATCH","path":"/Users/bulkId:u","data":{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"title","value":"Guide"}]}}]}`
			},
			check: func(t *testing.T, b *bulkBundle, results []directory.BulkResult) {
				require.Equal(t, []int{201, 201, 200}, statuses(results), "in request order")
				g, u, p := results[0], results[1], results[2]
				require.Equal(t, "g", g.BulkID)
				require.Equal(t, schema.GroupResource, g.Type.Name)
				require.Equal(t, schema.UserResource, u.Type.Name)
				require.Equal(t, u.ID, p.ID, "the PATCH reached the user its bulkId named")
				require.EqualValues(t, 1, u.Version)
				require.EqualValues(t, 2, p.Version)
				var members []string
				require.NoError(t, b.st.Resources().Members(context.Background(), b.tenant, g.ID, func(m store.Member) error {
					members = append(members, m.Value)
					return nil
				}))
				require.Equal(t, []string{u.ID}, members, "the group's member is the user created after it")
			},
		},
		{
			name: "FailOnErrorsStops",
			setup: func(t *testing.T, b *bulkBundle) string {
				b.user(t, "alice")
				return bulkHead + `"failOnErrors":1,"Operations":[
					{"method":"POST","path":"/Users","bulkId":"a","data":{"userName":"alice"}},
					{"method":"POST","path":"/Users","bulkId":"b","data":{"userName":"bob"}}]}`
			},
			check: func(t *testing.T, b *bulkBundle, results []directory.BulkResult) {
				require.Len(t, results, 1, "the rest is skipped after the first failure")
				requireSCIMError(t, results[0], http.StatusConflict, scimerr.TypeUniqueness)
				page, err := b.st.Resources().Query(context.Background(), b.tenant, b.dir.Registry().User(), store.Query{StartIndex: 1, Count: 10})
				require.NoError(t, err)
				require.Equal(t, 1, page.Total, "bob was not created")
			},
		},
		{
			name: "WithoutBudgetEveryOperationRuns",
			setup: func(t *testing.T, b *bulkBundle) string {
				b.user(t, "alice")
				return bulkHead + `"Operations":[
					{"method":"POST","path":"/Users","bulkId":"a","data":{"userName":"alice"}},
					{"method":"DELETE","path":"/Users/nope"},
					{"method":"POST","path":"/Users","bulkId":"b","data":{"userName":"bob"}}]}`
			},
			check: func(t *testing.T, b *bulkBundle, results []directory.BulkResult) {
				require.Equal(t, []int{409, 404, 201}, statuses(results))
			},
		},
		{
			name: "PathsAndMethods",
			setup: func(t *testing.T, b *bulkBundle) string {
				id := b.user(t, "alice")
				return bulkHead + `"Operations":[
					{"method":"POST","path":"/Things","bulkId":"x","data":{}},
					{"method":"POST","path":"/Users/abc","bulkId":"y","data":{"userName":"y"}},
					{"method":"DELETE","path":"/Users"},
					{"method":"PUT","path":"/Users/` + id + `/extra","data":{"userName":"z"}},
					{"method":"PUT","path":"/users/` + id + `","version":"W/\"1\"","data":{"userName":"alice2"}},
					{"method":"DELETE","path":"/USERS/` + id + `","version":"W/\"1\""},
					{"method":"DELETE","path":"/Users/` + id + `","version":"W/\"2\""}]}`
			},
			check: func(t *testing.T, b *bulkBundle, results []directory.BulkResult) {
				require.Equal(t, []int{400, 400, 400, 400, 200, 412, 204}, statuses(results))
				for _, r := range results[:4] {
					requireSCIMError(t, r, http.StatusBadRequest, scimerr.TypeInvalidValue)
				}
				require.EqualValues(t, 2, results[4].Version, "endpoint names match case-insensitively")
				requireSCIMError(t, results[5], http.StatusPreconditionFailed, "")
				del := results[6]
				require.Equal(t, schema.UserResource, del.Type.Name)
				require.NotEmpty(t, del.ID)
				require.Zero(t, del.Version, "a deleted resource has no version")
			},
		},
		{
			name: "UnresolvableReferences",
			setup: func(*testing.T, *bulkBundle) string {
				return bulkHead + `"Operations":[
					{"method":"POST","path":"/Users","bulkId":"a","data":{"userName":"alice","nickName":"bulkId:b"}},
					{"method":"POST","path":"/Users","bulkId":"b","data":{"userName":"bob","nickName":"bulkId:a"}},
					{"method":"PATCH","path":"/Users/bulkId:nowhere","data":{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"title","value":"x"}]}}]}`
			},
			check: func(t *testing.T, b *bulkBundle, results []directory.BulkResult) {
				require.Equal(t, []int{400, 400, 400}, statuses(results), "a cycle and an undefined bulkId fail")
				for _, r := range results {
					requireSCIMError(t, r, http.StatusBadRequest, scimerr.TypeInvalidValue)
				}
			},
		},
		{
			name: "PanicFailsOnlyItsOperation",
			setup: func(*testing.T, *bulkBundle) string {
				return bulkHead + `"Operations":[
					{"method":"POST","path":"/Users","bulkId":"a","data":{"userName":"boom"}},
					{"method":"POST","path":"/Users","bulkId":"b","data":{"userName":"bob"}}]}`
			},
			check: func(t *testing.T, b *bulkBundle, results []directory.BulkResult) {
				require.Equal(t, []int{500, 201}, statuses(results))
				var pe *directory.PanicError
				require.ErrorAs(t, results[0].Err, &pe)
				require.Equal(t, "injected panic", pe.Value)
				require.NotEmpty(t, pe.Stack)
				require.Equal(t, "a", results[0].BulkID)
			},
		},
		{
			name: "InternalErrorsAreNotSCIMErrors",
			setup: func(_ *testing.T, b *bulkBundle) string {
				b.failRecord.fail = true
				return bulkHead + `"failOnErrors":2,"Operations":[
					{"method":"POST","path":"/Users","bulkId":"a","data":{"userName":"alice"}},
					{"method":"POST","path":"/Users","bulkId":"b","data":{"userName":"bob"}},
					{"method":"POST","path":"/Users","bulkId":"c","data":{"userName":"carol"}}]}`
			},
			check: func(t *testing.T, b *bulkBundle, results []directory.BulkResult) {
				require.Equal(t, []int{500, 500}, statuses(results), "internal failures count against the budget")
				for _, r := range results {
					require.ErrorIs(t, r.Err, errInjected)
					require.Nil(t, scimerr.As(r.Err), "the HTTP layer hides its detail")
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setupBulk(t)
			body := c.setup(t, b)
			results := b.run(t, body)
			for _, r := range results {
				if r.Err == nil {
					require.NotNil(t, r.Type, "a successful operation names its resource")
				}
			}
			c.check(t, b, results)
		})
	}
}

// TestBulkRecordsOrigin shows that a bulk operation is recorded in history
// with the origin of the request that carried it, like a single request.
func TestBulkRecordsOrigin(t *testing.T) {
	t.Parallel()
	b := setupBulk(t)
	ctx := directory.WithOrigin(context.Background(), directory.Origin{Actor: "Okta", RequestID: "req-1"})
	req, err := bulk.Parse([]byte(bulkHead+`"Operations":[{"method":"POST","path":"/Users","bulkId":"a","data":{"userName":"alice"}}]}`), 10)
	require.NoError(t, err)
	results := b.dir.Bulk(ctx, b.tenant, req)
	require.Len(t, results, 1)
	require.NoError(t, results[0].Err)
	entries, err := b.st.History().List(context.Background(), store.HistoryQuery{Tenant: b.tenant})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "Okta", entries[0].Actor)
	require.Equal(t, "req-1", entries[0].RequestID)
}
