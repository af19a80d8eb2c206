package adminhttp_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// userSchema is a user object mapping as Entra's schema editor shows it,
// with a scoping clause.
const userSchema = `{"synchronizationRules":[{"name":"USER_TO_USER","objectMappings":[{
  "enabled":true,"flowTypes":"Add, Update","sourceObjectName":"User","targetObjectName":"User",
  "attributeMappings":[
    {"defaultValue":null,"exportMissingReferences":false,"flowBehavior":"FlowWhenChanged","flowType":"Always","matchingPriority":1,
     "source":{"expression":"[userName]","name":"userName","parameters":[],"type":"Attribute"},"targetAttributeName":"userName"},
    {"defaultValue":"unknown","exportMissingReferences":false,"flowBehavior":"FlowWhenChanged","flowType":"ObjectAddOnly","matchingPriority":0,
     "source":{"expression":"ToLower([displayName], )","name":"ToLower","type":"Function",
       "parameters":[{"key":"source","value":{"expression":"[displayName]","name":"displayName","parameters":[],"type":"Attribute"}}]},
     "targetAttributeName":"displayName"}],
  "scope":{"groups":[{"clauses":[{"operatorName":"NOT_EQUALS","sourceOperandName":"title","targetOperand":{"values":["Contractor"]}}]}]}}]}]}`

// TestAdminAPIJobSchema exports a job's schema, imports one (dry run
// first), and checks secrets, audit and refusals.
func TestAdminAPIJobSchema(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t)
	require.Equal(t, 201, e.call("PUT", "/admin/api/jobs/hr", e.root, e.doc(e.dstURL, nil)).status)

	status, _, body := e.rawCall("GET", "/admin/api/jobs/hr/schema", e.root, "", "", nil)
	require.Equal(t, 200, status, body)
	require.NotContains(t, body, e.srcTok)
	require.NotContains(t, body, e.dstTok)
	require.NotContains(t, body, e.srcURL)
	var exported map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &exported))
	oms := exported["synchronizationRules"].([]any)[0].(map[string]any)["objectMappings"].([]any)
	require.Len(t, oms, 2)
	require.Equal(t, "User", oms[0].(map[string]any)["sourceObjectName"])
	require.Equal(t, "Add, Update, Delete", oms[0].(map[string]any)["flowTypes"])

	// A dry run answers the job as it would be and changes nothing.
	r := e.call("PUT", "/admin/api/jobs/hr/schema?dryRun=true", e.root, userSchema)
	require.Equal(t, 200, r.status, "%v", r.json)
	require.Equal(t, false, r.json["applied"])
	require.Contains(t, r.json["changes"], "mappings.users: changed displayName")
	require.Contains(t, r.json["changes"], "actions: create true → true, update true → true, delete true → false")
	r = e.call("GET", "/admin/api/jobs/hr", e.root, "")
	require.EqualValues(t, 1, r.json["revision"])

	status, _, body = e.rawCall("PUT", "/admin/api/jobs/hr/schema", e.root, "application/json", userSchema, nil)
	require.Equal(t, 200, status, body)
	require.NotContains(t, body, e.srcTok)
	require.NotContains(t, body, e.dstTok)
	var imported struct {
		Applied bool `json:"applied"`
		Job     struct {
			Revision int64 `json:"revision"`
			Actions  struct {
				Delete bool `json:"delete"`
			} `json:"actions"`
			Mappings struct {
				Users []struct {
					Target, Kind, Expression, Default, Flow string
				} `json:"users"`
			} `json:"mappings"`
			ScopingFilters struct {
				Users []struct {
					Clauses []struct{ Attribute, Operator, Value string } `json:"clauses"`
				} `json:"users"`
			} `json:"scopingFilters"`
		} `json:"job"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &imported))
	require.True(t, imported.Applied)
	require.EqualValues(t, 2, imported.Job.Revision)
	require.False(t, imported.Job.Actions.Delete)
	require.Equal(t, "ToLower([displayName], )", imported.Job.Mappings.Users[1].Expression)
	require.Equal(t, "unknown", imported.Job.Mappings.Users[1].Default)
	require.Equal(t, "ObjectAddOnly", imported.Job.Mappings.Users[1].Flow)
	require.Equal(t, "NOT EQUALS", imported.Job.ScopingFilters.Users[0].Clauses[0].Operator)

	// The import is audited as a change of the job, and the job still
	// runs against its stored secrets: test-connection succeeds.
	status, _, body = e.rawCall("GET", "/admin/api/audit?limit=50", e.root, "", "", nil)
	require.Equal(t, 200, status, body)
	require.Contains(t, body, `"job.update"`)
	require.Contains(t, body, `"mappings"`)
	r = e.call("POST", "/admin/api/jobs/hr/test-connection", e.root, "")
	require.Equal(t, 200, r.status, "%v", r.json)

	// The export says what was imported.
	_, _, body = e.rawCall("GET", "/admin/api/jobs/hr/schema", e.root, "", "", nil)
	require.Contains(t, body, `"flowTypes":"Add, Update"`)
	require.Contains(t, body, `"operatorName":"NOT_EQUALS"`)

	for _, c := range []struct {
		name, path, body string
		status           int
		msg              string
	}{
		{"NotJSON", "/admin/api/jobs/hr/schema", `{"synchronizationRules":`, 400, "invalid"},
		{"NoRules", "/admin/api/jobs/hr/schema", `{"directories":[]}`, 400, "synchronizationRules"},
		{"Unmodelled", "/admin/api/jobs/hr/schema", strings.Replace(userSchema, `"flowType":"ObjectAddOnly"`, `"flowType":"AttributeAddOnly"`, 1), 400,
			`attributeMappings[1] (target \"displayName\")`},
		{"ReadOnlyTarget", "/admin/api/jobs/hr/schema", strings.Replace(userSchema, `"targetAttributeName":"displayName"`, `"targetAttributeName":"id"`, 1), 400, "read-only"},
		{"BadDryRun", "/admin/api/jobs/hr/schema?dryRun=maybe", userSchema, 400, "dryRun"},
		{"UnknownJob", "/admin/api/jobs/nope/schema", userSchema, 404, "no job named nope"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := e.rawCall("PUT", c.path, e.root, "application/json", c.body, nil)
			require.Equal(t, c.status, status, body)
			require.Contains(t, body, c.msg)
		})
	}
	r = e.call("GET", "/admin/api/jobs/hr", e.root, "")
	require.EqualValues(t, 2, r.json["revision"], "a refused import changed the job")
}

// TestAdminAPIJobSchemaGuards: reading the schema is for every role,
// importing one for super_admin only, and the import refuses what a page
// on another site could make a browser send.
func TestAdminAPIJobSchemaGuards(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t)
	require.Equal(t, 201, e.call("PUT", "/admin/api/jobs/hr", e.root, e.doc(e.dstURL, nil)).status)
	for _, admin := range []string{"ada", "reader"} {
		tok := e.login(admin)
		status, _, body := e.rawCall("GET", "/admin/api/jobs/hr/schema", tok, "", "", nil)
		require.Equal(t, 200, status, "%s: %s", admin, body)
		status, _, body = e.rawCall("PUT", "/admin/api/jobs/hr/schema", tok, "application/json", userSchema, nil)
		require.Equal(t, 403, status, "%s: %s", admin, body)
	}
	cross := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
	for _, c := range []struct {
		name, contentType string
		header            map[string]string
		status            int
	}{
		{"CrossSite", "application/json", cross, 403},
		{"TextPlain", "text/plain", nil, 415},
		{"Form", "application/x-www-form-urlencoded", nil, 415},
	} {
		status, _, body := e.rawCall("PUT", "/admin/api/jobs/hr/schema", e.root, c.contentType, userSchema, c.header)
		require.Equal(t, c.status, status, "%s: %s", c.name, body)
	}
	r := e.call("GET", "/admin/api/jobs/hr", e.root, "")
	require.EqualValues(t, 1, r.json["revision"], "a refused import changed the job")
}
