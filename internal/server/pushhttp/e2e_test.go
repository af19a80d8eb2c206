package pushhttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/app/apptest"
	"github.com/rosterhq/roster/internal/provision/engine"
	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/push"
	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/store"
)

// world is a Roster that hosts push jobs (their endpoint and engine) and
// another Roster whose default tenant is their target, both over HTTP.
type world struct {
	host, target *apptest.Server
	eng          *engine.Engine
	tokens       map[string]string // push token by job
}

func newWorld(t testing.TB, backend string, jobs ...string) *world {
	t.Helper()
	return newWorldWith(t, backend, "", jobs...)
}

// newWorldWith is newWorld with extra lines in each job's document.
func newWorldWith(t testing.TB, backend, extra string, jobs ...string) *world {
	t.Helper()
	w := &world{host: apptest.Start(t, backend, nil), target: apptest.Start(t, backend, nil), tokens: map[string]string{}}
	w.eng = engine.New(engine.Config{Store: w.host.Store})
	ctx := context.Background()
	for _, name := range jobs {
		doc := fmt.Sprintf("name: %s\nscope: all\nsource: {type: push}\ntarget: {url: %s, token: %s, concurrency: 32}\n%s",
			name, w.target.TenantURL, w.target.Token, extra)
		j, err := job.Parse([]byte(doc), func(string) (string, bool) { return "", false })
		require.NoError(t, err)
		_, _, err = job.New(w.host.Store).Apply(ctx, j, "test")
		require.NoError(t, err)
		w.tokens[name], err = push.New(w.host.Store).IssueToken(ctx, name, "test")
		require.NoError(t, err)
	}
	return w
}

// post sends a body to a job's endpoint with a token and returns the
// status, the decoded answer and the Location.
func (w *world) post(t testing.TB, path, token, contentType string, body []byte) (int, map[string]any, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, w.host.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out), "%s", b)
	return resp.StatusCode, out, resp.Header.Get("Location")
}

// uploadCSV maps a CSV file with the default column map and sends it to a
// job's endpoint in requests of 50, as `roster job upload --url` does.
func (w *world) uploadCSV(t testing.TB, name, file string) {
	t.Helper()
	recs, problems, err := push.ReadCSV(strings.NewReader(file), push.DefaultColumnMap())
	require.NoError(t, err)
	require.Empty(t, problems)
	for _, req := range push.Requests(recs) {
		body, err := json.Marshal(req)
		require.NoError(t, err)
		code, out, loc := w.post(t, "/provisioning/jobs/"+name+"/bulkUpload", w.tokens[name], "application/scim+json", body)
		require.Equal(t, http.StatusAccepted, code, "%v", out)
		require.Contains(t, loc, "/admin/api/jobs/"+name+"/logs?since=")
		require.EqualValues(t, 0, out["rejected"])
	}
}

func (w *world) run(t testing.TB, name string) engine.Report {
	t.Helper()
	rep, err := w.eng.Run(context.Background(), name, engine.RunOptions{})
	require.NoError(t, err)
	require.Zero(t, rep.Stats.Failed, "%+v", rep)
	return rep
}

// targetUsers returns the target's users by externalId.
func (w *world) targetUsers(t testing.TB) map[string]map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, w.target.TenantURL+"/Users?count=1000", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+w.target.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var list struct{ Resources []map[string]any }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	out := map[string]map[string]any{}
	for _, u := range list.Resources {
		out[u["externalId"].(string)] = u
	}
	return out
}

const workers = `EmployeeID,UserName,FirstName,LastName,Email,Department,Manager,Active
E1,alice@example.com,Alice,Archer,alice@example.com,Sales,,true
E2,bob@example.com,Bob,Baker,bob@example.com,Sales,E1,true
E3,carol@example.com,Carol,Cole,carol@example.com,Support,E1,yes
`

// TestPushEndToEnd sends a CSV file through the inbound endpoint over
// HTTP, runs the job's cycles and reads the target Roster: records create
// users, a termination (Active=false) disables, a record missing from a
// later upload deletes nothing, and an authoritative upload's sweep
// deprovisions the one it left out.
func TestPushEndToEnd(t *testing.T) {
	for _, backend := range apptest.Backends {
		t.Run(backend, func(t *testing.T) {
			w := newWorld(t, backend, "hr")
			w.uploadCSV(t, "hr", workers)
			st, err := w.host.Store.Provisioning().State(context.Background(), "hr")
			require.NoError(t, err)
			require.True(t, st.NextRun.IsZero(), "the upload made the job due")

			rep := w.run(t, "hr")
			require.EqualValues(t, 3, rep.Stats.Created, "%+v", rep)
			users := w.targetUsers(t)
			require.Len(t, users, 3)
			require.Equal(t, "bob@example.com", users["E2"]["userName"])
			require.Equal(t, true, users["E2"]["active"])
			ent := users["E2"][push.EnterpriseSchema].(map[string]any)
			require.Equal(t, "Sales", ent["department"])
			require.Equal(t, users["E1"]["id"], ent["manager"].(map[string]any)["value"], "manager by the manager's externalId")

			// A termination, and a file without alice and carol.
			w.uploadCSV(t, "hr", "EmployeeID,UserName,Active\nE2,bob@example.com,false\n")
			rep = w.run(t, "hr")
			require.EqualValues(t, 1, rep.Stats.Updated, "%+v", rep)
			require.Zero(t, rep.Stats.Disabled+rep.Stats.Deleted, "absence deletes nothing: %+v", rep)
			users = w.targetUsers(t)
			require.Len(t, users, 3)
			require.Equal(t, false, users["E2"]["active"])
			require.Equal(t, true, users["E1"]["active"])
			require.Equal(t, true, users["E3"]["active"])

			// An authoritative upload of alice and bob: carol is swept.
			code, mark, _ := w.getMark(t, "hr")
			require.Equal(t, http.StatusOK, code)
			w.uploadCSV(t, "hr", "EmployeeID,UserName,Active\nE1,alice@example.com,true\nE2,bob@example.com,false\n")
			body, _ := json.Marshal(map[string]any{"mark": mark})
			code, out, _ := w.post(t, "/provisioning/jobs/hr/bulkUpload/sweep", w.tokens["hr"], "application/json", body)
			require.Equal(t, http.StatusOK, code, "%v", out)
			require.EqualValues(t, 1, out["deleted"])
			rep = w.run(t, "hr")
			// A swept record is an object deleted at the source: the job's
			// actions.delete deletes it, counted against the deletion
			// threshold.
			require.EqualValues(t, 1, rep.Stats.Deleted, "%+v", rep)
			users = w.targetUsers(t)
			require.NotContains(t, users, "E3", "carol deprovisioned")
			require.Len(t, users, 2)
			require.Equal(t, true, users["E1"]["active"])
		})
	}
}

func (w *world) getMark(t testing.TB, name string) (int, int64, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, w.host.URL+"/provisioning/jobs/"+name+"/bulkUpload", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+w.tokens[name])
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var v struct {
		LastSeq int64 `json:"lastSeq"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	return resp.StatusCode, v.LastSeq, nil
}

// bulk builds a BulkRequest body of n records numbered from first.
func bulk(first, n int) []byte {
	ops := make([]map[string]any, n)
	for i := range ops {
		id := fmt.Sprintf("W%05d", first+i)
		ops[i] = map[string]any{"method": "POST", "bulkId": id, "path": "/Users", "data": map[string]any{
			"schemas": []string{push.UserSchema}, "externalId": id, "userName": strings.ToLower(id) + "@example.com", "active": true,
		}}
	}
	b, _ := json.Marshal(map[string]any{"schemas": []string{push.BulkRequestSchema}, "Operations": ops})
	return b
}

// TestPushEndpoint pins the endpoint's answers: the job's own token only,
// a request of the wrong shape refused whole with nothing kept, more than
// 50 records refused with 413, and an invalid record in a good request
// accepted with the others and logged as a Failure.
func TestPushEndpoint(t *testing.T) {
	w := newWorld(t, "sqlite", "hr", "crm")
	const path = "/provisioning/jobs/hr/bulkUpload"
	const scim = "application/scim+json"
	for _, tc := range []struct {
		name, path, token, contentType string
		body                           []byte
		want                           int
		scimType                       string
	}{
		{"NoToken", path, "", scim, bulk(1, 1), http.StatusUnauthorized, ""},
		{"WrongToken", path, "roster_pt_0000000000000000_x", scim, bulk(1, 1), http.StatusUnauthorized, ""},
		{"AnotherJobsToken", path, "crm", scim, bulk(1, 1), http.StatusUnauthorized, ""},
		{"UnknownJob", "/provisioning/jobs/nope/bulkUpload", "hr", scim, bulk(1, 1), http.StatusUnauthorized, ""},
		{"NotJSON", path, "hr", scim, []byte("{"), http.StatusBadRequest, "invalidSyntax"},
		{"NotABulkRequest", path, "hr", scim, []byte(`{"Operations":[]}`), http.StatusBadRequest, "invalidSyntax"},
		{"NoOperations", path, "hr", scim, []byte(`{"schemas":["` + push.BulkRequestSchema + `"],"Operations":[]}`), http.StatusBadRequest, "invalidSyntax"},
		{"WrongContentType", path, "hr", "text/plain", bulk(1, 1), http.StatusBadRequest, "invalidSyntax"},
		{"TooMany", path, "hr", scim, bulk(1, 51), http.StatusRequestEntityTooLarge, ""},
		{"TooBig", path, "hr", scim, bytes.Repeat([]byte(" "), push.MaxBodyBytes+1), http.StatusRequestEntityTooLarge, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := tc.token
			if tok, ok := w.tokens[token]; ok {
				token = tok
			}
			code, out, _ := w.post(t, tc.path, token, tc.contentType, tc.body)
			require.Equal(t, tc.want, code, "%v", out)
			require.Equal(t, []any{"urn:ietf:params:scim:api:messages:2.0:Error"}, out["schemas"])
			if tc.scimType != "" {
				require.Equal(t, tc.scimType, out["scimType"])
			}
			n, err := w.host.Store.Push().LastSeq(context.Background(), "hr")
			require.NoError(t, err)
			require.Zero(t, n, "a refused request keeps nothing")
		})
	}

	// One good record, one without an externalId, one with a bad active,
	// and two with the same externalId (the later one is kept).
	body := []byte(`{"schemas":["` + push.BulkRequestSchema + `"],"failOnErrors":1,"Operations":[
		{"method":"POST","bulkId":"a","path":"/Users","data":{"schemas":["` + push.UserSchema + `"],"externalId":"A","userName":"a@example.com"}},
		{"method":"POST","bulkId":"b","path":"/Users","data":{"schemas":["` + push.UserSchema + `"],"userName":"b@example.com"}},
		{"method":"POST","bulkId":"c","path":"/Users","data":{"schemas":["` + push.UserSchema + `"],"externalId":"C","active":"yes"}},
		{"method":"POST","bulkId":"d1","path":"/Users","data":{"schemas":["` + push.UserSchema + `"],"externalId":"D","userName":"old@example.com"}},
		{"method":"POST","bulkId":"d2","path":"/Users","data":{"schemas":["` + push.UserSchema + `"],"externalId":"D","userName":"d@example.com"}}]}`)
	code, out, _ := w.post(t, path, w.tokens["hr"], "application/json", body)
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	require.EqualValues(t, 2, out["accepted"])
	require.EqualValues(t, 3, out["rejected"])
	logs, err := w.host.Store.Provisioning().Logs(context.Background(), store.ProvisionLogQuery{Job: "hr", Status: "Failure"})
	require.NoError(t, err)
	require.Len(t, logs, 3)
	require.Equal(t, "b", logs[0].SourceName)
	require.Contains(t, logs[0].Reason, "externalId is required")
	require.Contains(t, logs[1].Reason, "active must be true or false")
	require.Contains(t, logs[2].Reason, "superseded")
	d, err := w.host.Store.Push().Record(context.Background(), "hr", "D")
	require.NoError(t, err)
	require.Contains(t, string(d.Data), "d@example.com")

	// Issuing the token again makes the first one stop working.
	old := w.tokens["hr"]
	fresh, err := push.New(w.host.Store).IssueToken(context.Background(), "hr", "test")
	require.NoError(t, err)
	code, _, _ = w.post(t, path, old, scim, bulk(1, 1))
	require.Equal(t, http.StatusUnauthorized, code)
	code, _, _ = w.post(t, path, fresh, scim, bulk(1, 1))
	require.Equal(t, http.StatusAccepted, code)
}

// TestAuthoritativeSweepWithinThreshold pins that the deletes an
// authoritative upload causes count against the job's deletion threshold:
// beyond it they are held, nothing is deleted, and the job is paused.
func TestAuthoritativeSweepWithinThreshold(t *testing.T) {
	w := newWorldWith(t, "sqlite", "deletionThreshold: {count: 1}\n", "hr")
	w.uploadCSV(t, "hr", workers)
	w.run(t, "hr")
	require.Len(t, w.targetUsers(t), 3)

	_, mark, _ := w.getMark(t, "hr")
	w.uploadCSV(t, "hr", "EmployeeID,UserName\nE1,alice@example.com\n")
	body, _ := json.Marshal(map[string]any{"mark": mark})
	code, out, _ := w.post(t, "/provisioning/jobs/hr/bulkUpload/sweep", w.tokens["hr"], "application/json", body)
	require.Equal(t, http.StatusOK, code, "%v", out)
	require.EqualValues(t, 2, out["deleted"])
	rep := w.run(t, "hr")
	require.Equal(t, 2, rep.Held, "%+v", rep)
	require.Zero(t, rep.Stats.Deleted)
	require.Len(t, w.targetUsers(t), 3, "nothing deleted beyond the threshold")
	j, err := job.New(w.host.Store).Get(context.Background(), "hr")
	require.NoError(t, err)
	require.Equal(t, job.StatusPaused, j.Status)
}

// TestPushProvisionOnDemand provisions one pushed record now, by its
// externalId, before any cycle ran; a record never pushed is not found.
func TestPushProvisionOnDemand(t *testing.T) {
	w := newWorld(t, "sqlite", "hr")
	w.uploadCSV(t, "hr", workers)
	rep, logs, err := w.eng.ProvisionOnDemand(context.Background(), "hr", source.User, "E2")
	require.NoError(t, err)
	require.EqualValues(t, 1, rep.Stats.Created, "%+v", rep)
	require.NotEmpty(t, logs)
	users := w.targetUsers(t)
	require.Len(t, users, 1)
	require.Equal(t, "bob@example.com", users["E2"]["userName"])
	_, _, err = w.eng.ProvisionOnDemand(context.Background(), "hr", source.User, "E9")
	require.ErrorIs(t, err, source.ErrNotFound)
}
