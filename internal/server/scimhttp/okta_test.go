package scimhttp_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOktaLifecycle replays the request sequence of Okta's SCIM 2.0 client
// (Okta's "SCIM 2.0 Protocol Reference" and its SPEC test): paging on every
// list, PUT for profile updates, path-less PATCH for deactivation and group
// rename, mixed member operations.
func TestOktaLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const user = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"test.user@okta.local",
		"name":{"givenName":"Test","familyName":"User"},"emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],
		"displayName":"Test User","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7","groups":[],"password":"1mz050nq","active":true}`
	e.replay([]step{
		{
			name: "TestAPICredentials", method: http.MethodGet, path: "/Users?startIndex=1&count=2", status: http.StatusOK,
			check: func(t *testing.T, r resp) {
				require.IsType(t, float64(0), r.JSON["totalResults"])
				require.IsType(t, float64(0), r.JSON["itemsPerPage"])
				require.IsType(t, float64(0), r.JSON["startIndex"])
			},
		},
		{
			name: "UserDoesNotExist", method: http.MethodGet, status: http.StatusOK,
			path:  "/Users?filter=" + q(`userName eq "test.user@okta.local"`) + "&startIndex=1&count=100",
			check: func(t *testing.T, r resp) { require.Equal(t, 0, total(r)) },
		},
		{
			name: "CreateUser", method: http.MethodPost, path: "/Users", body: user, status: http.StatusCreated,
			save: map[string]string{"user": "id"},
			check: func(t *testing.T, r resp) {
				require.NotContains(t, r.JSON, "password", "password is writeOnly and never returned")
				require.Equal(t, true, r.JSON["active"])
				require.Equal(t, "Test", path(r.JSON, "name.givenName"))
				require.Equal(t, "test.user@okta.local", r.JSON["userName"])
				require.Contains(t, r.JSON["schemas"], "urn:ietf:params:scim:schemas:core:2.0:User")
			},
		},
		{name: "CreateDuplicate", method: http.MethodPost, path: "/Users", body: user, status: http.StatusConflict,
			check: func(t *testing.T, r resp) { require.Equal(t, "uniqueness", r.JSON["scimType"]) }},
		{
			name: "UsernameCaseSensitivityCheck", method: http.MethodGet, status: http.StatusOK,
			path:  "/Users?filter=" + q(`userName eq "TEST.USER@OKTA.LOCAL"`) + "&startIndex=1&count=100",
			check: func(t *testing.T, r resp) { require.Equal(t, 1, total(r)) },
		},
		{name: "UnknownUser", method: http.MethodGet, path: "/Users/010101", status: http.StatusNotFound},
		{
			name: "UpdateProfileWithPut", method: http.MethodPut, path: "/Users/{{user}}", status: http.StatusOK,
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"{{user}}","userName":"test.user@okta.local",
				"name":{"givenName":"Another","familyName":"User"},"emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],
				"displayName":"Another User","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7","groups":[],"active":true,
				"meta":{"resourceType":"User"}}`,
			check: func(t *testing.T, r resp) {
				require.Equal(t, "Another", path(r.JSON, "name.givenName"))
				require.Equal(t, true, r.JSON["active"])
				require.Equal(t, `W/"2"`, r.Header.Get("ETag"))
			},
		},
		{
			name: "Deactivate", method: http.MethodPatch, path: "/Users/{{user}}", status: http.StatusOK,
			body:  `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`,
			check: func(t *testing.T, r resp) { require.Equal(t, false, r.JSON["active"]) },
		},
		{
			name: "Reactivate", method: http.MethodPatch, path: "/Users/{{user}}", status: http.StatusOK,
			body:  `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":true}}]}`,
			check: func(t *testing.T, r resp) { require.Equal(t, true, r.JSON["active"]) },
		},
		{
			name: "SecondUser", method: http.MethodPost, path: "/Users", status: http.StatusCreated,
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"second@okta.local","active":true}`,
			save: map[string]string{"user2": "id"},
		},
		{
			name: "PushGroup", method: http.MethodPost, path: "/Groups", status: http.StatusCreated,
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Test SCIMv2","members":[]}`,
			save: map[string]string{"group": "id"},
		},
		{
			name: "RenameGroup", method: http.MethodPatch, path: "/Groups/{{group}}", status: http.StatusNoContent,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"id":"{{group}}","displayName":"Renamed SCIMv2"}}]}`,
		},
		{
			name: "MixedMembership", method: http.MethodPatch, path: "/Groups/{{group}}", status: http.StatusNoContent,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
				{"op":"remove","path":"members[value eq \"{{user2}}\"]"},
				{"op":"add","path":"members","value":[{"value":"{{user}}","display":"test.user@okta.local"}]}]}`,
		},
		{
			name: "GetGroupWithMembers", method: http.MethodGet, path: "/Groups/{{group}}", status: http.StatusOK,
			check: func(t *testing.T, r resp) {
				require.Equal(t, "Renamed SCIMv2", r.JSON["displayName"])
				require.Equal(t, e.vars["user"], path(r.JSON, "members.0.value"))
				require.Equal(t, "Another User", path(r.JSON, "members.0.display"), "display is the member's displayName")
				require.Len(t, r.JSON["members"], 1)
			},
		},
		{
			name: "ReplaceAllMembers", method: http.MethodPatch, path: "/Groups/{{group}}", status: http.StatusNoContent,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
				{"op":"replace","path":"members","value":[{"value":"{{user2}}"}]}]}`,
		},
		{
			name: "ListGroups", method: http.MethodGet, path: "/Groups?startIndex=1&count=100", status: http.StatusOK,
			check: func(t *testing.T, r resp) {
				require.Equal(t, 1, total(r))
				require.Equal(t, e.vars["user2"], path(r.JSON, "Resources.0.members.0.value"))
			},
		},
		{
			name: "PutGroup", method: http.MethodPut, path: "/Groups/{{group}}", status: http.StatusOK,
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"{{group}}","displayName":"Put Group","members":[{"value":"{{user}}"},{"value":"{{user2}}"}]}`,
			check: func(t *testing.T, r resp) {
				require.Equal(t, "Put Group", r.JSON["displayName"])
				require.Len(t, r.JSON["members"], 2)
			},
		},
		{name: "DeleteGroup", method: http.MethodDelete, path: "/Groups/{{group}}", status: http.StatusNoContent},
	})
}

// TestOktaImportPaging pages through users the way Okta imports them and
// requires every user exactly once, in a stable order.
func TestOktaImportPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 250
	for i := range n {
		r := e.do(http.MethodPost, "/Users", fmt.Sprintf(`{"userName":"user%03d@okta.local","active":%v}`, i, i%7 != 0))
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	}
	seen := map[string]bool{}
	var order []string
	for start := 1; ; start += 100 {
		r := e.do(http.MethodGet, fmt.Sprintf("/Users?startIndex=%d&count=100", start), "")
		require.Equal(t, http.StatusOK, r.Status)
		require.Equal(t, n, total(r))
		require.EqualValues(t, start, r.JSON["startIndex"])
		page := resources(r)
		require.EqualValues(t, len(page), r.JSON["itemsPerPage"])
		for _, u := range page {
			id := u.(map[string]any)["id"].(string)
			require.False(t, seen[id], "user %s seen twice", id)
			seen[id] = true
			order = append(order, id)
		}
		if len(page) < 100 {
			break
		}
	}
	require.Len(t, seen, n)
	// A second pass gives the same order.
	r := e.do(http.MethodGet, "/Users?startIndex=101&count=5", "")
	for i, u := range resources(r) {
		require.Equal(t, order[100+i], u.(map[string]any)["id"])
	}
	// count=0 returns only the total.
	r = e.do(http.MethodGet, "/Users?count=0", "")
	require.Equal(t, n, total(r))
	require.Empty(t, resources(r))
	// Sorted listing.
	r = e.do(http.MethodGet, "/Users?sortBy=userName&sortOrder=descending&count=3", "")
	require.Equal(t, "user249@okta.local", path(r.JSON, "Resources.0.userName"))
	require.Equal(t, "user248@okta.local", path(r.JSON, "Resources.1.userName"))
}
