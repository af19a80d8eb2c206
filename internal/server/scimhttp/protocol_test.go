package scimhttp_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const patchOp = `"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`

// TestWhatClientsTripOver covers the behaviours other SCIM servers got wrong
// in their bug trackers (IDP-NOTES §3.2).
func TestWhatClientsTripOver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.replay([]step{
		{name: "EmptyGroupList", method: http.MethodGet, path: "/Groups", status: http.StatusOK,
			check: func(t *testing.T, r resp) {
				require.Equal(t, 0, total(r))
				require.Equal(t, []any{}, r.JSON["Resources"])
			}},
		{name: "Create", method: http.MethodPost, path: "/Users", status: http.StatusCreated,
			body: `{"userName":"reuse@example.com"}`, save: map[string]string{"u": "id"}},
		{name: "LowercasePath", method: http.MethodGet, path: "/users/{{u}}", status: http.StatusOK},
		{name: "TrailingSlashWithFilter", method: http.MethodGet, path: "/Users/?filter=" + q(`userName eq "reuse@example.com"`), status: http.StatusOK,
			check: func(t *testing.T, r resp) { require.Equal(t, 1, total(r)) }},
		{name: "UpperCaseEndpoint", method: http.MethodGet, path: "/USERS?count=1", status: http.StatusOK},
		{name: "CaseVariantClash", method: http.MethodPost, path: "/Users", status: http.StatusConflict,
			body:  `{"userName":"REUSE@example.com"}`,
			check: func(t *testing.T, r resp) { require.Equal(t, "uniqueness", r.JSON["scimType"]) }},
		{name: "Delete", method: http.MethodDelete, path: "/Users/{{u}}", status: http.StatusNoContent},
		{name: "UserNameFreedByDelete", method: http.MethodPost, path: "/Users", status: http.StatusCreated,
			body: `{"userName":"reuse@example.com"}`, save: map[string]string{"u": "id"}},
		{name: "Other", method: http.MethodPost, path: "/Users", status: http.StatusCreated,
			body: `{"userName":"other@example.com"}`, save: map[string]string{"o": "id"}},
		{name: "RenameIntoClash", method: http.MethodPatch, path: "/Users/{{o}}", status: http.StatusConflict,
			body: `{` + patchOp + `,"Operations":[{"op":"replace","path":"userName","value":"Reuse@Example.com"}]}`},
		{name: "ManagerComplex", method: http.MethodPatch, path: "/Users/{{o}}", status: http.StatusOK,
			body: `{` + patchOp + `,"Operations":[{"op":"Add","path":"manager","value":[{"$ref":"http://x/Users/{{u}}","value":"{{u}}"}]}]}`,
			check: func(t *testing.T, r resp) {
				require.Equal(t, e.vars["u"], path(r.JSON, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager.value"))
			}},
		{name: "FindByManager", method: http.MethodGet, status: http.StatusOK,
			path:  "/Users?filter=" + q(`id eq "{{o}}" and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "{{u}}"`),
			check: func(t *testing.T, r resp) { require.Equal(t, 1, total(r)) }},
		{name: "ManagerRemoveByFilter", method: http.MethodPatch, path: "/Users/{{o}}", status: http.StatusOK,
			body: `{` + patchOp + `,"Operations":[{"op":"remove","path":"manager[value eq \"{{u}}\"]"}]}`,
			check: func(t *testing.T, r resp) {
				require.NotContains(t, r.JSON, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
			}},
		{name: "FilteredReplaceCreatesElement", method: http.MethodPatch, path: "/Users/{{o}}", status: http.StatusOK,
			body: `{` + patchOp + `,"Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"w@example.com"},
				{"op":"Add","path":"emails[type eq \"other\"].Value","value":"o@example.com"}]}`,
			check: func(t *testing.T, r resp) { require.Len(t, r.JSON["emails"], 2) }},
		{name: "AtomicPatchRejected", method: http.MethodPatch, path: "/Users/{{o}}", status: http.StatusBadRequest,
			body:  `{` + patchOp + `,"Operations":[{"op":"replace","path":"displayName","value":"Changed"},{"op":"replace","path":"shoeSize","value":1}]}`,
			check: func(t *testing.T, r resp) { require.Equal(t, "invalidPath", r.JSON["scimType"]) }},
		{name: "NothingChanged", method: http.MethodGet, path: "/Users/{{o}}", status: http.StatusOK,
			check: func(t *testing.T, r resp) {
				require.NotContains(t, r.JSON, "displayName")
				require.Equal(t, `W/"4"`, path(r.JSON, "meta.version"))
			}},
		{name: "NoOpPatchKeepsVersion", method: http.MethodPatch, path: "/Users/{{o}}", status: http.StatusOK,
			body:  `{` + patchOp + `,"Operations":[{"op":"replace","path":"userName","value":"other@example.com"}]}`,
			check: func(t *testing.T, r resp) { require.Equal(t, `W/"4"`, path(r.JSON, "meta.version")) }},
	})

	// A request without a User-Agent is served (Entra omits it).
	req, err := http.NewRequest(http.MethodGet, e.tenantURL+"/Users?filter="+q(`userName eq "x"`), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header["User-Agent"] = nil
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
}

// TestErrors checks that every kind of bad request gets the right status and
// a SCIM error body, and changes nothing.
func TestErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(http.MethodPost, "/Users", `{"userName":"bjensen","name":{"givenName":"B"}}`)
	require.Equal(t, http.StatusCreated, r.Status)
	e.vars["u"] = r.JSON["id"].(string)

	tests := []struct {
		name     string
		method   string
		path     string
		body     string
		headers  []string
		status   int
		scimType string
	}{
		{"NoToken", "GET", "/Users", "", []string{"Authorization", ""}, 401, ""},
		{"WrongToken", "GET", "/Users", "", []string{"Authorization", "Bearer roster_0000000000000000_nope"}, 401, ""},
		{"BasicAuth", "GET", "/Users", "", []string{"Authorization", "Basic dXNlcjpwYXNz"}, 401, ""},
		{"UnknownTenant", "GET", "{{base}}/scim/v2/nobody/Users", "", nil, 401, ""},
		{"BadFilter", "GET", "/Users?filter=" + q(`userName eq`), "", nil, 400, "invalidFilter"},
		{"UnknownFilterAttribute", "GET", "/Users?filter=" + q(`shoeSize eq 1`), "", nil, 400, "invalidFilter"},
		{"BadJSON", "POST", "/Users", `{"userName":`, nil, 400, "invalidSyntax"},
		{"MissingUserName", "POST", "/Users", `{"displayName":"x"}`, nil, 400, "invalidValue"},
		{"WrongType", "POST", "/Users", `{"userName":"a","active":"maybe"}`, nil, 400, "invalidValue"},
		{"UnknownAttribute", "POST", "/Users", `{"userName":"a","shoeSize":44}`, nil, 400, "invalidValue"},
		{"TwoPrimaries", "POST", "/Users", `{"userName":"a","emails":[{"value":"a","primary":true},{"value":"b","primary":true}]}`, nil, 400, "invalidValue"},
		{"EmptyBody", "POST", "/Users", ``, nil, 400, "invalidSyntax"},
		{"UnknownMember", "POST", "/Groups", `{"displayName":"g","members":[{"value":"nope"}]}`, nil, 400, "invalidValue"},
		{"PatchNotPatchOp", "PATCH", "/Users/{{u}}", `{"Operations":[{"op":"add","path":"nickName","value":"x"}]}`, nil, 400, ""},
		{"PatchBadPath", "PATCH", "/Users/{{u}}", `{` + patchOp + `,"Operations":[{"op":"add","path":"emails[type eq","value":"x"}]}`, nil, 400, "invalidPath"},
		{"PatchReadOnly", "PATCH", "/Users/{{u}}", `{` + patchOp + `,"Operations":[{"op":"replace","path":"id","value":"x"}]}`, nil, 400, "mutability"},
		{"PatchRemoveNoPath", "PATCH", "/Users/{{u}}", `{` + patchOp + `,"Operations":[{"op":"remove"}]}`, nil, 400, "noTarget"},
		{"PatchRemoveUserName", "PATCH", "/Users/{{u}}", `{` + patchOp + `,"Operations":[{"op":"remove","path":"userName"}]}`, nil, 400, "invalidValue"},
		{"PatchBadOp", "PATCH", "/Users/{{u}}", `{` + patchOp + `,"Operations":[{"op":"move","path":"userName"}]}`, nil, 400, ""},
		{"UnknownID", "GET", "/Users/00000000-0000-0000-0000-000000000000", "", nil, 404, ""},
		{"UnknownEndpoint", "GET", "/Widgets", "", nil, 404, ""},
		{"WrongMethod", "PUT", "/Users", `{"userName":"a"}`, nil, 405, ""},
		{"IfMatchMismatch", "PATCH", "/Users/{{u}}", `{` + patchOp + `,"Operations":[{"op":"add","path":"nickName","value":"x"}]}`, []string{"If-Match", `W/"99"`}, 412, ""},
		{"IfMatchDelete", "DELETE", "/Users/{{u}}", "", []string{"If-Match", `W/"99"`}, 412, ""},
		{"TooLarge", "POST", "/Users", `{"userName":"a","nickName":"` + strings.Repeat("x", 2<<20) + `"}`, nil, 413, ""},
		{"Me", "GET", "/Me", "", nil, 501, ""},
		{"BadStartIndex", "GET", "/Users?startIndex=abc", "", nil, 400, "invalidValue"},
		{"BadSortOrder", "GET", "/Users?sortOrder=sideways", "", nil, 400, "invalidValue"},
		{"BadProjection", "GET", "/Users?attributes=shoeSize", "", nil, 400, "invalidValue"},
	}
	e.vars["base"] = e.srv.URL
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := *e
			e.t = t
			r := e.do(tc.method, tc.path, tc.body, tc.headers...)
			require.Equal(t, tc.status, r.Status, "%s", r.Body)
			requireSCIMError(t, r, tc.status)
			if tc.scimType != "" {
				require.Equal(t, tc.scimType, r.JSON["scimType"], "%s", r.Body)
			}
			if tc.status == 401 {
				require.Contains(t, r.Header.Get("WWW-Authenticate"), "Bearer")
			}
		})
	}
	// None of the rejected requests changed the user.
	r = e.do(http.MethodGet, "/Users/{{u}}", "")
	require.Equal(t, `W/"1"`, r.Header.Get("ETag"))
	require.Equal(t, "bjensen", r.JSON["userName"])
	r = e.do(http.MethodGet, "/Users?count=0", "")
	require.Equal(t, 1, total(r))
	r = e.do(http.MethodGet, "/Groups?count=0", "")
	require.Equal(t, 0, total(r))
}

func TestVersions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(http.MethodPost, "/Users", `{"userName":"v@example.com"}`, "Content-Type", "application/json")
	require.Equal(t, http.StatusCreated, r.Status, "application/json requests are accepted")
	e.vars["u"] = r.JSON["id"].(string)
	etag := r.Header.Get("ETag")
	require.Equal(t, etag, path(r.JSON, "meta.version"))

	r = e.do(http.MethodGet, "/Users/{{u}}", "", "If-None-Match", etag)
	require.Equal(t, http.StatusNotModified, r.Status)
	require.Empty(t, r.Body)

	r = e.do(http.MethodPatch, "/Users/{{u}}", `{`+patchOp+`,"Operations":[{"op":"add","path":"title","value":"CEO"}]}`, "If-Match", etag)
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, `W/"2"`, r.Header.Get("ETag"))

	r = e.do(http.MethodGet, "/Users/{{u}}", "", "If-None-Match", etag)
	require.Equal(t, http.StatusOK, r.Status, "the old ETag no longer matches")

	r = e.do(http.MethodPut, "/Users/{{u}}", `{"userName":"v@example.com"}`, "If-Match", etag)
	require.Equal(t, http.StatusPreconditionFailed, r.Status)
	r = e.do(http.MethodPut, "/Users/{{u}}", `{"userName":"v@example.com"}`, "If-Match", `W/"2"`)
	require.Equal(t, http.StatusOK, r.Status)
	require.NotContains(t, r.JSON, "title", "PUT clears omitted attributes")
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(http.MethodGet, "/ServiceProviderConfig", "")
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, true, path(r.JSON, "patch.supported"))
	require.Equal(t, true, path(r.JSON, "bulk.supported"))
	require.EqualValues(t, 1000, path(r.JSON, "bulk.maxOperations"))
	require.EqualValues(t, 1000, path(r.JSON, "filter.maxResults"))
	require.Equal(t, true, path(r.JSON, "etag.supported"))
	require.Equal(t, "oauthbearertoken", path(r.JSON, "authenticationSchemes.0.type"))

	r = e.do(http.MethodGet, "/Schemas", "")
	require.Equal(t, 3, total(r))
	ids := []any{}
	for _, s := range resources(r) {
		ids = append(ids, s.(map[string]any)["id"])
	}
	require.ElementsMatch(t, []any{
		"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:core:2.0:Group",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
	}, ids)
	require.NotContains(t, string(r.Body), "null", "Entra rejects nulls in schema discovery")

	r = e.do(http.MethodGet, "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "")
	require.Equal(t, http.StatusOK, r.Status)
	attrs := map[string]bool{}
	for _, a := range r.JSON["attributes"].([]any) {
		attrs[a.(map[string]any)["name"].(string)] = true
	}
	for _, name := range []string{"userName", "name", "displayName", "nickName", "profileUrl", "title", "userType",
		"preferredLanguage", "locale", "timezone", "active", "password", "emails", "phoneNumbers", "ims", "photos",
		"addresses", "groups", "entitlements", "roles", "x509Certificates"} {
		require.True(t, attrs[name], "User schema lacks %s", name)
	}
	r = e.do(http.MethodGet, "/Schemas/urn:example:nope", "")
	require.Equal(t, http.StatusNotFound, r.Status)

	r = e.do(http.MethodGet, "/ResourceTypes", "")
	require.Equal(t, 2, total(r))
	r = e.do(http.MethodGet, "/ResourceTypes/User", "")
	require.Equal(t, "/Users", r.JSON["endpoint"])
	require.Equal(t, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", path(r.JSON, "schemaExtensions.0.schema"))
}

func TestSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, n := range []string{"ann", "bea", "cid"} {
		require.Equal(t, 201, e.do("POST", "/Users", `{"userName":"`+n+`","title":"Eng"}`).Status)
		require.Equal(t, 201, e.do("POST", "/Groups", `{"displayName":"`+n+`-group"}`).Status)
	}
	r := e.do("POST", "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
		"attributes":["userName"],"filter":"userName sw \"b\" or userName ew \"d\"","sortBy":"userName","startIndex":1,"count":10}`)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	require.Equal(t, 2, total(r))
	require.Equal(t, "bea", path(r.JSON, "Resources.0.userName"))
	require.NotContains(t, resources(r)[0], "title")

	r = e.do("POST", "/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"startIndex":2,"count":3}`)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	require.Equal(t, 6, total(r))
	require.Len(t, resources(r), 3)

	r = e.do("POST", "/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"displayName co \"group\""}`)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	require.Equal(t, 3, total(r))
}

func TestBulk(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", "/Bulk", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"failOnErrors":1,"Operations":[
		{"method":"POST","path":"/Groups","bulkId":"g","data":{"displayName":"Tour Guides","members":[{"type":"User","value":"bulkId:u"}]}},
		{"method":"POST","path":"/Users","bulkId":"u","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice"}},
		{"method":"PATCH","path":"/Users/bulkId:u","data":{`+patchOp+`,"Operations":[{"op":"add","path":"title","value":"Guide"}]}}
	]}`)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	ops := r.JSON["Operations"].([]any)
	require.Len(t, ops, 3)
	for _, op := range ops {
		require.Contains(t, []any{"200", "201"}, op.(map[string]any)["status"], "%s", r.Body)
	}
	loc := path(r.JSON, "Operations.0.location").(string)
	g := e.do("GET", loc, "")
	require.Len(t, g.JSON["members"], 1)

	r = e.do("POST", "/Bulk", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"failOnErrors":1,"Operations":[
		{"method":"POST","path":"/Users","bulkId":"a","data":{"userName":"alice"}},
		{"method":"POST","path":"/Users","bulkId":"b","data":{"userName":"bob"}}]}`)
	require.Equal(t, 200, r.Status)
	require.Len(t, r.JSON["Operations"], 1, "failOnErrors stops after the first failure")
	require.Equal(t, "409", path(r.JSON, "Operations.0.status"))
	require.Equal(t, "uniqueness", path(r.JSON, "Operations.0.response.scimType"))
	require.Equal(t, 0, total(e.do("GET", "/Users?filter="+q(`userName eq "bob"`), "")))

	var sb strings.Builder
	for i := range 1001 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"method":"DELETE","path":"/Users/x%d"}`, i)
	}
	r = e.do("POST", "/Bulk", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[`+sb.String()+`]}`)
	require.Equal(t, 413, r.Status)
}

// TestDisabledTenant shows the 403 a tenant gets while its SCIM endpoint is
// switched off (the TerraTrue "SCIM Configuration" toggle), and that nothing
// is written meanwhile.
func TestDisabledTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.tenants.SetSCIMEnabled(ctx, "default", false, "test")
	require.NoError(t, err)
	r := e.do("POST", "/Users", `{"userName":"blocked@example.com"}`)
	require.Equal(t, http.StatusForbidden, r.Status)
	requireSCIMError(t, r, http.StatusForbidden)
	require.Contains(t, r.JSON["detail"], "disabled")

	_, err = e.tenants.SetSCIMEnabled(ctx, "default", true, "test")
	require.NoError(t, err)
	r = e.do("GET", "/Users?filter="+q(`userName eq "blocked@example.com"`), "")
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, 0, total(r), "the refused create wrote nothing")
}
