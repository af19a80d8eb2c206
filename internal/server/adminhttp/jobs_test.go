package adminhttp_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/store"
)

// rawCall sends a request and returns the answer's status, headers and
// body as they are.
func (e *env) rawCall(method, path, auth, contentType, body string, header map[string]string) (int, http.Header, string) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return res.StatusCode, res.Header, string(b)
}

// jobEnv has two tenants, src and dst, each with a SCIM token, so that a
// job can read from one and write to the other over Roster's own SCIM
// endpoints.
type jobEnv struct {
	*env
	root            string
	srcTok, dstTok  string
	srcURL, dstURL  string
	closedTargetURL string
}

func newJobEnv(t *testing.T) *jobEnv {
	e := newEnv(t)
	je := &jobEnv{env: e, root: e.login("root")}
	tok := func(tenant string) string {
		require.Equal(t, 201, e.call("POST", "/admin/api/tenants", je.root, `{"name":"`+tenant+`"}`).status)
		r := e.call("POST", "/admin/api/tenants/"+tenant+"/tokens", je.root, `{"label":"job"}`)
		require.Equal(t, 201, r.status, "%v", r.json)
		return r.json["token"].(string)
	}
	je.srcTok, je.dstTok = tok("src"), tok("dst")
	je.srcURL, je.dstURL = e.srv.URL+"/scim/v2/src", e.srv.URL+"/scim/v2/dst"
	closed := httptest.NewServer(http.NotFoundHandler())
	je.closedTargetURL = closed.URL + "/scim/v2"
	closed.Close()
	return je
}

// doc returns a job document reading src and writing to target, with
// extra top-level keys.
func (je *jobEnv) doc(target string, extra map[string]any) string {
	d := map[string]any{
		"source": map[string]any{"type": "scim", "url": je.srcURL, "token": je.srcTok},
		"target": map[string]any{"url": target, "token": je.dstTok},
		"scope":  "all",
	}
	for k, v := range extra {
		d[k] = v
	}
	b, err := json.Marshal(d)
	require.NoError(je.t, err)
	return string(b)
}

// TestAdminAPIJobLifecycle applies, shows, lists, switches, runs, tests
// and deletes a job through the API, and checks that its secrets never
// come back and that every change is audited.
func TestAdminAPIJobLifecycle(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t)
	root := e.root
	noSecrets := func(body string) {
		t.Helper()
		require.NotContains(t, body, e.srcTok)
		require.NotContains(t, body, e.dstTok)
	}

	status, h, body := e.rawCall("PUT", "/admin/api/jobs/hr", root, "application/json", e.doc(e.dstURL, nil), nil)
	require.Equal(t, 201, status, body)
	require.Equal(t, "/admin/api/jobs/hr", h.Get("Location"))
	noSecrets(body)
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	require.Equal(t, "hr", v["name"])
	require.Equal(t, "Off", v["status"])
	require.EqualValues(t, 1, v["revision"])
	require.Equal(t, true, v["needsInitial"])
	require.Equal(t, job.Redacted, v["target"].(map[string]any)["token"])

	// The same document again changes nothing; a name equal to the path's
	// is accepted.
	r := e.call("PUT", "/admin/api/jobs/hr", root, e.doc(e.dstURL, map[string]any{"name": "hr"}))
	require.Equal(t, 200, r.status, "%v", r.json)
	require.EqualValues(t, 1, r.json["revision"])

	// The document as shown, secrets redacted, applied back with a change
	// keeps the stored secrets.
	status, _, body = e.rawCall("GET", "/admin/api/jobs/hr", root, "", "", nil)
	require.Equal(t, 200, status, body)
	noSecrets(body)
	var shown map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &shown))
	require.Contains(t, shown, "engine")
	for _, k := range []string{"status", "revision", "needsInitial", "created", "updated", "engine"} {
		delete(shown, k)
	}
	shown["schedule"] = map[string]any{"interval": "2h"}
	b, _ := json.Marshal(shown)
	r = e.call("PUT", "/admin/api/jobs/hr", root, string(b))
	require.Equal(t, 200, r.status, "%v", r.json)
	require.EqualValues(t, 2, r.json["revision"])
	stored, err := job.New(e.st).Get(context.Background(), "hr")
	require.NoError(t, err)
	require.Equal(t, e.srcTok, stored.Source.Token)
	require.Equal(t, e.dstTok, stored.Target.Token)
	require.Equal(t, 2*time.Hour, time.Duration(stored.Schedule.Interval))

	status, _, body = e.rawCall("GET", "/admin/api/jobs", root, "", "", nil)
	require.Equal(t, 200, status, body)
	noSecrets(body)
	require.Contains(t, body, `"name":"hr"`)

	r = e.call("POST", "/admin/api/jobs/hr/run", root, "")
	require.Equal(t, 409, r.status, "%v", r.json)
	require.Contains(t, r.json["message"], "start it")
	require.Contains(t, r.json["message"], "--once")

	status, _, body = e.rawCall("POST", "/admin/api/jobs/hr/test-connection", root, "", "", nil)
	require.Equal(t, 200, status, body)
	noSecrets(body)
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	require.Equal(t, true, v["source"].(map[string]any)["ok"], body)
	require.Equal(t, true, v["target"].(map[string]any)["ok"], body)

	// A failed test is an answer, not an error.
	r = e.call("PUT", "/admin/api/jobs/nowhere", root, e.doc(e.closedTargetURL, nil))
	require.Equal(t, 201, r.status, "%v", r.json)
	r = e.call("POST", "/admin/api/jobs/nowhere/test-connection", root, "")
	require.Equal(t, 200, r.status, "%v", r.json)
	require.Equal(t, false, r.json["target"].(map[string]any)["ok"], "%v", r.json)
	require.NotEmpty(t, r.json["target"].(map[string]any)["message"])

	for _, c := range []struct{ path, status string }{{"start", "On"}, {"pause", "Paused"}, {"stop", "Off"}, {"start", "On"}} {
		r = e.call("POST", "/admin/api/jobs/hr/"+c.path, root, "")
		require.Equal(t, 200, r.status, "%v", r.json)
		require.Equal(t, c.status, r.json["status"], c.path)
	}
	r = e.call("POST", "/admin/api/jobs/hr/run", root, "")
	require.Equal(t, 202, r.status, "%v", r.json)
	require.Contains(t, r.json["message"], "due now")

	// Nothing held: an empty list, and nothing to allow.
	r = e.call("GET", "/admin/api/jobs/hr/held", root, "")
	require.Equal(t, 200, r.status, "%v", r.json)
	require.Empty(t, r.json["held"])
	r = e.call("POST", "/admin/api/jobs/hr/allow-deletes", root, "")
	require.Equal(t, 409, r.status, "%v", r.json)
	require.Contains(t, r.json["message"], "holds no")

	// Escrow: empty; restart clears the engine's state and makes the job
	// initial, due now.
	r = e.call("GET", "/admin/api/jobs/hr/escrow", root, "")
	require.Equal(t, 200, r.status, "%v", r.json)
	require.Equal(t, []any{}, r.json["escrow"])
	r = e.call("POST", "/admin/api/jobs/hr/restart", root, "")
	require.Equal(t, 200, r.status, "%v", r.json)
	r = e.call("GET", "/admin/api/jobs/hr", root, "")
	require.Equal(t, 200, r.status, "%v", r.json)
	require.Equal(t, true, r.json["needsInitial"], "%v", r.json)

	// Provision on demand: one of user and group, an anchor the source has.
	r = e.call("POST", "/admin/api/jobs/hr/provision", root, `{}`)
	require.Equal(t, 400, r.status, "%v", r.json)
	r = e.call("POST", "/admin/api/jobs/hr/provision", root, `{"user":"a","group":"b"}`)
	require.Equal(t, 400, r.status, "%v", r.json)
	r = e.call("POST", "/admin/api/jobs/hr/provision", root, `{"user":"no-such-user"}`)
	require.Equal(t, 404, r.status, "%v", r.json)
	require.Contains(t, r.json["message"], "has no user no-such-user")

	for _, q := range []string{"", "?confirm=", "?confirm=other"} {
		r = e.call("DELETE", "/admin/api/jobs/hr"+q, root, "")
		require.Equal(t, 400, r.status, "%s: %v", q, r.json)
		require.Contains(t, r.json["message"], "?confirm=hr")
	}
	r = e.call("DELETE", "/admin/api/jobs/hr?confirm=hr", root, "")
	require.Equal(t, 204, r.status, "%v", r.json)
	require.Equal(t, 404, e.call("GET", "/admin/api/jobs/hr", root, "").status)
	require.Equal(t, 404, e.call("DELETE", "/admin/api/jobs/hr?confirm=hr", root, "").status)
	require.Equal(t, 404, e.call("DELETE", "/admin/api/jobs/hr", root, "").status)

	r = e.call("GET", "/admin/api/audit?limit=1000", root, "")
	require.Equal(t, 200, r.status)
	var actions []string
	for _, ev := range r.json["events"].([]any) {
		ev := ev.(map[string]any)
		if strings.HasPrefix(ev["action"].(string), "job.") && ev["target"] == "hr" {
			actions = append(actions, ev["action"].(string))
			require.Equal(t, "root", ev["actor"])
		}
	}
	require.Equal(t, []string{"job.create", "job.update", "job.status", "job.status", "job.status", "job.status", "job.restart", "job.delete"}, actions)
	status, _, body = e.rawCall("GET", "/admin/api/audit?limit=1000", root, "", "", nil)
	require.Equal(t, 200, status)
	noSecrets(body)
}

// TestAdminAPIJobDocumentErrors: every refused document gets 400 naming
// what to fix, and no job is created.
func TestAdminAPIJobDocumentErrors(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t)
	redacted := strings.Replace(e.doc(e.dstURL, nil), e.dstTok, job.Redacted, 1)
	cases := []struct {
		name, contentType, body string
		status                  int
		msg                     string
	}{
		{"NameDiffers", "application/json", e.doc(e.dstURL, map[string]any{"name": "other"}), 400, "name"},
		{"NameNotString", "application/json", e.doc(e.dstURL, map[string]any{"name": 3}), 400, "name"},
		{"BadScope", "application/json", e.doc(e.dstURL, map[string]any{"scope": "some"}), 400, "scope"},
		{"UnknownKey", "application/json", e.doc(e.dstURL, map[string]any{"shedule": map[string]any{}}), 400, "shedule"},
		{"ShortInterval", "application/json", e.doc(e.dstURL, map[string]any{"schedule": map[string]any{"interval": "1s"}}), 400, "schedule.interval"},
		{"EnvironmentVariable", "application/json", strings.Replace(e.doc(e.dstURL, nil), e.srcTok, "${SRC_TOKEN}", 1), 400, "source.token: ${SRC_TOKEN} is expanded only by `roster job apply`"},
		{"UnwritableTarget", "application/json", e.doc(e.dstURL, map[string]any{"mappings": map[string]any{"users": []any{
			map[string]any{"target": "userName", "source": "userName", "matching": true},
			map[string]any{"target": "id", "source": "id"}}}}), 400, "mappings.users[1]"},
		{"RedactedSecretOfNewJob", "application/json", redacted, 400, "target.token"},
		{"NotAnObject", "application/json", `["source"]`, 400, "JSON object"},
		{"Null", "application/json", `null`, 400, "JSON object"},
		{"YAML", "application/json", "source:\n  type: scim\n", 400, "invalid JSON"},
		{"TrailingData", "application/json", e.doc(e.dstURL, nil) + `{}`, 400, "after the JSON value"},
		{"DuplicateKeyByCase", "application/json", `{"scope":"all","Scope":"all"}`, 400, ""},
		{"TextPlain", "text/plain", e.doc(e.dstURL, nil), 415, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := e.rawCall("PUT", "/admin/api/jobs/bad", e.root, c.contentType, c.body, nil)
			require.Equal(t, c.status, status, body)
			var v map[string]string
			require.NoError(t, json.Unmarshal([]byte(body), &v), body)
			require.NotEmpty(t, v["error"])
			require.Contains(t, v["message"], c.msg)
			require.NotContains(t, body, e.dstTok)
		})
	}
	require.Equal(t, 404, e.call("GET", "/admin/api/jobs/bad", e.root, "").status)
}

// seedRecords writes what the engine would have kept of a job: two
// cycles, n log entries, and links, one with a slash in its anchor.
func seedRecords(t *testing.T, st store.Store, name string, n int) (cycles [2]string) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	cycles = [2]string{name + "-c1", name + "-c2"}
	require.NoError(t, st.Write(ctx, func(w store.Writer) error {
		p := w.Provisioning()
		for i, id := range cycles {
			if err := p.PutCycle(ctx, store.ProvisionCycle{ID: id, Job: name, Initial: i == 0, Started: t0.Add(time.Duration(i) * time.Hour),
				Ended: t0.Add(time.Duration(i)*time.Hour + time.Minute), Status: "Succeeded", Stats: json.RawMessage(`{"read":2}`)}); err != nil {
				return err
			}
		}
		if err := p.PutState(ctx, store.ProvisionState{Job: name, NextRun: t0.Add(3 * time.Hour), Cycle: cycles[1], Updated: t0}); err != nil {
			return err
		}
		logs := make([]store.ProvisionLog, n)
		for i := range logs {
			status := "Success"
			if i%10 == 0 {
				status = "Failure"
			}
			logs[i] = store.ProvisionLog{Job: name, Cycle: cycles[i%2], Change: fmt.Sprintf("ch%d", i), Time: t0.Add(time.Duration(i) * time.Second),
				Kind: "user", SourceAnchor: fmt.Sprintf("a%d", i), SourceName: fmt.Sprintf("user%d, \"quoted\"", i), TargetID: fmt.Sprintf("t%d", i),
				Action: "Create", Status: status, Steps: json.RawMessage(`[{"name":"Import","status":"Success"}]`), Duration: 1500 * time.Microsecond}
		}
		if err := p.AppendLogs(ctx, logs); err != nil {
			return err
		}
		return p.PutLinks(ctx, []store.Link{
			{Job: name, Kind: "user", SourceAnchor: "u1", TargetID: "t1", Display: "ada", State: "active", Created: t0, Updated: t0},
			{Job: name, Kind: "user", SourceAnchor: "cn=x/y", TargetID: "t2", Display: "bob", State: "disabled", Created: t0, Updated: t0},
			{Job: name, Kind: "group", SourceAnchor: "g1", TargetID: "tg1", Display: "eng", State: "active", Created: t0, Updated: t0},
		})
	}))
	return cycles
}

// TestAdminAPIJobRecords reads cycles, logs (in pages, filtered, and as a
// CSV export) and links back, and deletes a link.
func TestAdminAPIJobRecords(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t)
	root := e.root
	for _, name := range []string{"hr", "other"} {
		require.Equal(t, 201, e.call("PUT", "/admin/api/jobs/"+name, root, e.doc(e.dstURL, nil)).status)
	}
	const n = 250
	cycles := seedRecords(t, e.st, "hr", n)
	otherCycles := seedRecords(t, e.st, "other", 3)

	r := e.call("GET", "/admin/api/jobs/hr", root, "")
	require.Equal(t, 200, r.status)
	eng := r.json["engine"].(map[string]any)
	require.Equal(t, "2026-12-01T13:00:00Z", eng["nextRun"])
	require.Equal(t, cycles[1], eng["lastCycle"].(map[string]any)["id"])

	t.Run("Cycles", func(t *testing.T) {
		r := e.call("GET", "/admin/api/jobs/hr/cycles", root, "")
		require.Equal(t, 200, r.status, "%v", r.json)
		cs := r.json["cycles"].([]any)
		require.Len(t, cs, 2)
		require.Equal(t, cycles[1], cs[0].(map[string]any)["id"], "newest first")
		require.Equal(t, "initial", cs[1].(map[string]any)["kind"])
		r = e.call("GET", "/admin/api/jobs/hr/cycles/"+cycles[0], root, "")
		require.Equal(t, 200, r.status)
		require.Equal(t, map[string]any{"read": float64(2)}, r.json["stats"])
		require.Equal(t, 404, e.call("GET", "/admin/api/jobs/hr/cycles/"+otherCycles[0], root, "").status, "another job's cycle")
		r = e.call("GET", "/admin/api/jobs/hr/cycles/nope", root, "")
		require.Equal(t, 404, r.status)
		require.Equal(t, "job hr has no cycle nope", r.json["message"])
		r = e.call("GET", "/admin/api/jobs/nope/cycles/"+cycles[0], root, "")
		require.Equal(t, 404, r.status)
		require.Equal(t, "no job named nope", r.json["message"])
		require.Equal(t, 400, e.call("GET", "/admin/api/jobs/hr/cycles?limit=0", root, "").status)
	})

	t.Run("LogPages", func(t *testing.T) {
		seen, after := 0, float64(0)
		for page := 0; ; page++ {
			r := e.call("GET", fmt.Sprintf("/admin/api/jobs/hr/logs?limit=100&after=%d", int64(after)), root, "")
			require.Equal(t, 200, r.status, "%v", r.json)
			entries := r.json["entries"].([]any)
			if len(entries) == 0 {
				require.Equal(t, after, r.json["next"], "an empty page keeps the cursor")
				break
			}
			require.LessOrEqual(t, len(entries), 100)
			first := entries[0].(map[string]any)
			require.Greater(t, first["seq"], after)
			require.Equal(t, "hr", strings.SplitN(first["cycle"].(string), "-", 2)[0])
			require.EqualValues(t, 1.5, first["durationMs"])
			seen += len(entries)
			after = r.json["next"].(float64)
			require.Less(t, page, 10)
		}
		require.Equal(t, n, seen)
	})

	t.Run("LogFilters", func(t *testing.T) {
		for _, c := range []struct {
			query string
			want  int
		}{
			{"status=Failure", 25},
			{"cycle=" + cycles[0], 125},
			{"cycle=" + cycles[0] + "&status=Failure", 25},
			{"object=a7", 1},
			{"action=Delete", 0},
			{"since=2026-12-01T10:01:00Z&until=2026-12-01T10:02:00Z", 60},
			{"", 100}, // the default page
		} {
			q := c.query
			if q != "" {
				q += "&limit=1000"
			}
			r := e.call("GET", "/admin/api/jobs/hr/logs?"+q, root, "")
			require.Equal(t, 200, r.status, "%s: %v", c.query, r.json)
			require.Equal(t, c.want, len(r.json["entries"].([]any)), c.query)
		}
		for _, q := range []string{"limit=1001", "limit=-1", "after=x", "since=yesterday", "format=xml"} {
			r := e.call("GET", "/admin/api/jobs/hr/logs?"+q, root, "")
			require.Equal(t, 400, r.status, q)
			require.Equal(t, "invalid_request", r.json["error"], q)
		}
	})

	t.Run("CSV", func(t *testing.T) {
		for _, c := range []struct {
			name, query string
			header      map[string]string
			rows        int
		}{
			{"FormatParameter", "format=csv", nil, n},
			{"AcceptHeader", "", map[string]string{"Accept": "text/csv"}, n},
			{"AcceptList", "status=Failure", map[string]string{"Accept": "application/json;q=0.5, text/csv"}, 25},
			{"Limit", "format=csv&limit=7", nil, 7},
			{"FormatJSONWins", "format=json", map[string]string{"Accept": "text/csv"}, -1},
		} {
			t.Run(c.name, func(t *testing.T) {
				status, h, body := e.rawCall("GET", "/admin/api/jobs/hr/logs?"+c.query, root, "", "", c.header)
				require.Equal(t, 200, status, body)
				if c.rows < 0 {
					require.Equal(t, "application/json", h.Get("Content-Type"))
					return
				}
				require.Equal(t, "text/csv; charset=utf-8", h.Get("Content-Type"))
				recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
				require.NoError(t, err)
				require.Len(t, recs, c.rows+1)
				require.Equal(t, []string{"seq", "time", "cycle", "changeId", "kind", "sourceAnchor", "sourceName", "targetId",
					"action", "status", "errorCode", "reason", "durationMs", "steps", "modifiedProperties"}, recs[0])
				require.Equal(t, `user0, "quoted"`, recs[1][6])
				require.Equal(t, "1.500", recs[1][12])
				require.JSONEq(t, `[{"name":"Import","status":"Success"}]`, recs[1][13])
			})
		}
		status, h, body := e.rawCall("GET", "/admin/api/jobs/nope/logs?format=csv", root, "", "", nil)
		require.Equal(t, 404, status, body)
		require.Equal(t, "application/json", h.Get("Content-Type"))
	})

	t.Run("Links", func(t *testing.T) {
		for _, c := range []struct {
			query string
			want  []string // source anchors
		}{
			{"", []string{"g1", "cn=x/y", "u1"}},
			{"kind=user", []string{"cn=x/y", "u1"}},
			{"kind=group", []string{"g1"}},
			{"anchor=u1", []string{"u1"}},
			{"target=t2", []string{"cn=x/y"}},
			{"kind=group&anchor=g1", []string{"g1"}},
			{"anchor=missing", []string{}},
		} {
			r := e.call("GET", "/admin/api/jobs/hr/links?"+c.query, root, "")
			require.Equal(t, 200, r.status, "%s: %v", c.query, r.json)
			got := []string{}
			for _, l := range r.json["links"].([]any) {
				got = append(got, l.(map[string]any)["sourceAnchor"].(string))
			}
			require.ElementsMatch(t, c.want, got, c.query)
		}
		require.Equal(t, 400, e.call("GET", "/admin/api/jobs/hr/links?kind=robot", root, "").status)
		require.Equal(t, 400, e.call("GET", "/admin/api/jobs/hr/links?anchor=u1&target=t1", root, "").status)
		require.Equal(t, 404, e.call("GET", "/admin/api/jobs/nope/links?anchor=u1", root, "").status)
	})

	t.Run("DeleteLink", func(t *testing.T) {
		require.Equal(t, 200, e.call("POST", "/admin/api/jobs/other/start", root, "").status)
		r := e.call("DELETE", "/admin/api/jobs/other/links/user/u1", root, "")
		require.Equal(t, 409, r.status, "%v", r.json)
		require.Equal(t, "conflict", r.json["error"])
		require.Contains(t, r.json["message"], "pause or stop it")
		require.Equal(t, 200, e.call("POST", "/admin/api/jobs/other/pause", root, "").status)
		require.Equal(t, 204, e.call("DELETE", "/admin/api/jobs/other/links/user/u1", root, "").status)
		r = e.call("DELETE", "/admin/api/jobs/other/links/user/u1", root, "")
		require.Equal(t, 404, r.status)
		require.Equal(t, "job other has no link of user u1", r.json["message"])
		require.Equal(t, 204, e.call("DELETE", "/admin/api/jobs/other/links/user/cn=x/y", root, "").status, "an anchor with a slash")
		require.Equal(t, 204, e.call("DELETE", "/admin/api/jobs/other/links/group/g1", root, "").status)
		require.Equal(t, 400, e.call("DELETE", "/admin/api/jobs/other/links/robot/g1", root, "").status)
		require.Equal(t, 404, e.call("DELETE", "/admin/api/jobs/nope/links/user/u1", root, "").status)
		r = e.call("GET", "/admin/api/jobs/other/links", root, "")
		require.Empty(t, r.json["links"])
	})
}

// TestAdminAPIJobUnknown: every job route answers 404 for a job that does
// not exist.
func TestAdminAPIJobUnknown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.login("root")
	for _, c := range []struct{ method, path string }{
		{"GET", "/admin/api/jobs/nope"},
		{"DELETE", "/admin/api/jobs/nope"},
		{"POST", "/admin/api/jobs/nope/start"},
		{"POST", "/admin/api/jobs/nope/stop"},
		{"POST", "/admin/api/jobs/nope/pause"},
		{"POST", "/admin/api/jobs/nope/run"},
		{"POST", "/admin/api/jobs/nope/test-connection"},
		{"GET", "/admin/api/jobs/nope/progress"},
		{"GET", "/admin/api/jobs/nope/cycles"},
		{"GET", "/admin/api/jobs/nope/cycles/c1"},
		{"GET", "/admin/api/jobs/nope/logs"},
		{"GET", "/admin/api/jobs/nope/links"},
		{"DELETE", "/admin/api/jobs/nope/links/user/u1"},
		{"GET", "/admin/api/jobs/nope/held"},
		{"POST", "/admin/api/jobs/nope/allow-deletes"},
		{"POST", "/admin/api/jobs/nope/restart"},
		{"GET", "/admin/api/jobs/nope/escrow"},
	} {
		r := e.call(c.method, c.path, root, "")
		require.Equal(t, 404, r.status, "%s %s: %v", c.method, c.path, r.json)
		require.Equal(t, "not_found", r.json["error"], "%s %s", c.method, c.path)
	}
	r := e.call("GET", "/admin/api/jobs", root, "")
	require.Equal(t, 200, r.status)
	require.Equal(t, []any{}, r.json["jobs"])
}

// TestAdminAPIJobPermissions: reading jobs is for every role, their logs
// for roles that read history, and changing or running them for
// super_admin only.
func TestAdminAPIJobPermissions(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t)
	require.Equal(t, 201, e.call("PUT", "/admin/api/jobs/hr", e.root, e.doc(e.dstURL, nil)).status)
	seedRecords(t, e.st, "hr", 3)
	tokens := map[string]string{"root": e.root, "ada": e.login("ada"), "reader": e.login("reader")}
	const read, history, manage = "read", "history", "manage"
	routes := []struct {
		method, path, body, need string
	}{
		{"GET", "/admin/api/jobs", "", read},
		{"GET", "/admin/api/jobs/hr", "", read},
		{"GET", "/admin/api/jobs/hr/progress", "", read},
		{"GET", "/admin/api/jobs/hr/cycles", "", read},
		{"GET", "/admin/api/jobs/hr/cycles/hr-c1", "", read},
		{"GET", "/admin/api/jobs/hr/links", "", read},
		{"GET", "/admin/api/jobs/hr/escrow", "", read},
		{"GET", "/admin/api/jobs/hr/logs", "", history},
		{"GET", "/admin/api/jobs/hr/logs?format=csv", "", history},
		{"PUT", "/admin/api/jobs/new", e.doc(e.dstURL, nil), manage},
		{"POST", "/admin/api/jobs/hr/start", "", manage},
		{"POST", "/admin/api/jobs/hr/run", "", manage},
		{"POST", "/admin/api/jobs/hr/pause", "", manage},
		{"POST", "/admin/api/jobs/hr/stop", "", manage},
		{"POST", "/admin/api/jobs/hr/test-connection", "", manage},
		{"POST", "/admin/api/jobs/hr/restart", "", manage},
		{"DELETE", "/admin/api/jobs/hr/links/user/u1", "", manage},
		{"DELETE", "/admin/api/jobs/new?confirm=new", "", manage},
	}
	allowed := map[string][]string{read: {"root", "ada", "reader"}, history: {"root", "ada"}, manage: {"root"}}
	// Refused requests first, so that the allowed ones find the job as
	// the table expects.
	for _, admin := range []string{"reader", "ada", "root"} {
		for _, rt := range routes {
			ok := false
			for _, a := range allowed[rt.need] {
				ok = ok || a == admin
			}
			ct := ""
			if rt.body != "" {
				ct = "application/json"
			}
			status, _, body := e.rawCall(rt.method, rt.path, tokens[admin], ct, rt.body, nil)
			if ok {
				require.Less(t, status, 300, "%s %s %s: %s", admin, rt.method, rt.path, body)
			} else {
				require.Equal(t, 403, status, "%s %s %s: %s", admin, rt.method, rt.path, body)
				require.Contains(t, body, `"forbidden"`)
			}
		}
	}
}

// TestAdminAPIJobCrossSite: the job routes that change anything refuse
// what a page on another site could make a browser send, as the other
// write routes do.
func TestAdminAPIJobCrossSite(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t)
	require.Equal(t, 201, e.call("PUT", "/admin/api/jobs/hr", e.root, e.doc(e.dstURL, nil)).status)
	seedRecords(t, e.st, "hr", 1)
	cross := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
	for _, c := range []struct {
		name, method, path, contentType, body string
		header                                map[string]string
		status                                int
	}{
		{"PutCrossSite", "PUT", "/admin/api/jobs/hr", "application/json", e.doc(e.dstURL, nil), cross, 403},
		{"PutTextPlain", "PUT", "/admin/api/jobs/hr", "text/plain", e.doc(e.dstURL, nil), nil, 415},
		{"PutForm", "PUT", "/admin/api/jobs/hr", "application/x-www-form-urlencoded", e.doc(e.dstURL, nil), nil, 415},
		{"StartCrossSite", "POST", "/admin/api/jobs/hr/start", "", "", cross, 403},
		{"RunCrossSite", "POST", "/admin/api/jobs/hr/run", "", "", cross, 403},
		{"TestConnectionCrossSite", "POST", "/admin/api/jobs/hr/test-connection", "", "", cross, 403},
		{"DeleteLinkCrossSite", "DELETE", "/admin/api/jobs/hr/links/user/u1", "", "", cross, 403},
		{"DeleteCrossSite", "DELETE", "/admin/api/jobs/hr?confirm=hr", "", "", cross, 403},
		{"DeleteSameSite", "DELETE", "/admin/api/jobs/hr?confirm=hr", "", "", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"ReadCrossSite", "GET", "/admin/api/jobs/hr", "", "", cross, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := e.rawCall(c.method, c.path, e.root, c.contentType, c.body, c.header)
			require.Equal(t, c.status, status, body)
		})
	}
	r := e.call("GET", "/admin/api/jobs/hr", e.root, "")
	require.Equal(t, 200, r.status, "the job is still there")
	require.Equal(t, "Off", r.json["status"])
	require.EqualValues(t, 1, r.json["revision"])
	r = e.call("GET", "/admin/api/jobs/hr/links?anchor=u1", e.root, "")
	require.Len(t, r.json["links"], 1)
}

// TestAdminAPIPushToken issues a push job's token through the API and
// pushes with it to the endpoint on the same listener: a token issued
// again replaces the first, a job whose source is not push gets 409, and
// one that does not exist 404.
func TestAdminAPIPushToken(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t)
	doc := `{"source":{"type":"push"},"scope":"all","target":{"url":"` + e.dstURL + `","token":"` + e.dstTok + `"}}`
	require.Equal(t, 201, e.call("PUT", "/admin/api/jobs/hr", e.root, doc).status)
	require.Equal(t, 201, e.call("PUT", "/admin/api/jobs/pull", e.root, e.doc(e.dstURL, nil)).status)

	r := e.call("POST", "/admin/api/jobs/hr/push-token", e.root, "")
	require.Equal(t, 201, r.status, "%v", r.json)
	first := r.json["token"].(string)
	require.Equal(t, "/provisioning/jobs/hr/bulkUpload", r.json["endpoint"])
	r = e.call("POST", "/admin/api/jobs/hr/push-token", e.root, "")
	require.Equal(t, 201, r.status, "%v", r.json)
	second := r.json["token"].(string)
	require.NotEqual(t, first, second)

	body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[{"method":"POST","path":"/Users",` +
		`"data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"externalId":"e1","userName":"a"}}]}`
	status, _, out := e.rawCall("POST", "/provisioning/jobs/hr/bulkUpload", first, "application/scim+json", body, nil)
	require.Equal(t, 401, status, out)
	status, h, out := e.rawCall("POST", "/provisioning/jobs/hr/bulkUpload", second, "application/scim+json", body, nil)
	require.Equal(t, 202, status, out)
	require.True(t, strings.HasPrefix(h.Get("Location"), "/admin/api/jobs/hr/logs?since="), h.Get("Location"))
	status, _, out = e.rawCall("POST", "/provisioning/jobs/hr/bulkUpload", e.root, "application/scim+json", body, nil)
	require.Equal(t, 401, status, "an admin session is not a push token: %s", out)

	require.Equal(t, 409, e.call("POST", "/admin/api/jobs/pull/push-token", e.root, "").status)
	require.Equal(t, 404, e.call("POST", "/admin/api/jobs/nope/push-token", e.root, "").status)
}
