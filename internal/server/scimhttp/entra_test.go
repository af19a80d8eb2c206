package scimhttp_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// q escapes a filter for a query string.
func q(filter string) string { return url.QueryEscape(filter) }

// TestEntraUserLifecycle replays, request by request, the user operations of
// Microsoft's "Tutorial: Develop and plan provisioning for a SCIM endpoint in
// Microsoft Entra ID" (section "SCIM protocol requests and responses", User
// Operations), in the default job's dialect.
func TestEntraUserLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.replay([]step{
		{
			name: "TestConnection", method: http.MethodGet,
			path:   "/Users?filter=" + q(`userName eq "ae9e5c6a-1c04-4b5c-9d72-6d6ce0b0b51b"`),
			status: http.StatusOK,
			check: func(t *testing.T, r resp) {
				require.Equal(t, []any{"urn:ietf:params:scim:api:messages:2.0:ListResponse"}, r.JSON["schemas"])
				require.Equal(t, 0, total(r))
				require.Equal(t, []any{}, r.JSON["Resources"])
			},
		},
		{
			name: "CreateUser", method: http.MethodPost, path: "/Users", status: http.StatusCreated,
			body: `{
				"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
				"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
				"userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
				"active": true,
				"emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
				"meta": {"resourceType": "User"},
				"name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
				"roles": []
			}`,
			save: map[string]string{"user": "id"},
			check: func(t *testing.T, r resp) {
				require.NotEmpty(t, r.JSON["id"])
				require.Equal(t, "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1", r.JSON["userName"])
				require.Equal(t, true, r.JSON["active"])
				require.Equal(t, "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", r.JSON["externalId"])
				require.Equal(t, "givenName", path(r.JSON, "name.givenName"))
				require.Equal(t, "User", path(r.JSON, "meta.resourceType"))
				require.NotEmpty(t, path(r.JSON, "meta.created"))
				require.Equal(t, r.Header.Get("Location"), path(r.JSON, "meta.location"))
				require.Equal(t, `W/"1"`, r.Header.Get("ETag"))
			},
		},
		{
			name: "GetUser", method: http.MethodGet, path: "/Users/{{user}}", status: http.StatusOK,
			check: func(t *testing.T, r resp) {
				require.Equal(t, "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com", path(r.JSON, "emails.0.value"))
			},
		},
		{
			name: "GetUserByQuery", method: http.MethodGet, status: http.StatusOK,
			path: "/Users?filter=" + q(`userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"`),
			check: func(t *testing.T, r resp) {
				require.Equal(t, 1, total(r))
				require.EqualValues(t, 1, r.JSON["startIndex"])
				require.EqualValues(t, 1, r.JSON["itemsPerPage"])
				require.Equal(t, "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1", path(r.JSON, "Resources.0.userName"))
			},
		},
		{
			name: "GetUserByQueryCaseInsensitive", method: http.MethodGet, status: http.StatusOK,
			path:  "/Users?filter=" + q(`userName eq "TEST_USER_AB6490EE-1E48-479E-A20B-2D77186B5DD1"`),
			check: func(t *testing.T, r resp) { require.Equal(t, 1, total(r)) },
		},
		{
			name: "GetUserByExternalIdUnquoted", method: http.MethodGet, status: http.StatusOK,
			path:  "/Users?filter=" + q(`externalId eq 0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef`),
			check: func(t *testing.T, r resp) { require.Equal(t, 1, total(r)) },
		},
		{
			name: "GetUserByWorkEmail", method: http.MethodGet, status: http.StatusOK,
			path:  "/Users?filter=" + q(`emails[type eq "work"].value eq "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"`),
			check: func(t *testing.T, r resp) { require.Equal(t, 1, total(r)) },
		},
		{
			name: "GetUserByQueryZeroResults", method: http.MethodGet, status: http.StatusOK,
			path:  "/Users?filter=" + q(`userName eq "non-existent user"`),
			check: func(t *testing.T, r resp) { require.Equal(t, 0, total(r)); require.Empty(t, resources(r)) },
		},
		{
			name: "UpdateUserMultiValued", method: http.MethodPatch, path: "/Users/{{user}}", status: http.StatusOK,
			body: `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
				{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
				{"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}]}`,
			check: func(t *testing.T, r resp) {
				require.Equal(t, "updatedEmail@microsoft.com", path(r.JSON, "emails.0.value"))
				require.Equal(t, "work", path(r.JSON, "emails.0.type"))
				require.Len(t, r.JSON["emails"], 1)
				require.Equal(t, "updatedFamilyName", path(r.JSON, "name.familyName"))
				require.Equal(t, "givenName", path(r.JSON, "name.givenName"))
				require.Equal(t, `W/"2"`, path(r.JSON, "meta.version"))
			},
		},
		{
			name: "UpdateUserSingleValued", method: http.MethodPatch, path: "/Users/{{user}}", status: http.StatusOK,
			body: `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
				{"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}]}`,
			check: func(t *testing.T, r resp) {
				require.Equal(t, "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com", r.JSON["userName"])
			},
		},
		{
			name: "UpdateEnterpriseAttributesAndManager", method: http.MethodPatch, path: "/Users/{{user}}", status: http.StatusOK,
			body: `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
				{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales"},
				{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "{{user}}"},
				{"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
				{"op": "Replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"}]}`,
			check: func(t *testing.T, r resp) {
				ext := r.JSON["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)
				require.Equal(t, "Sales", ext["department"])
				require.NotEmpty(t, path(ext, "manager.value"))
				require.Equal(t, "+1 555 0100", path(r.JSON, "phoneNumbers.0.value"))
				require.Equal(t, "mobile", path(r.JSON, "phoneNumbers.0.type"))
				require.Equal(t, "1 Main St", path(r.JSON, "addresses.0.streetAddress"))
			},
		},
		{
			name: "RemoveManager", method: http.MethodPatch, path: "/Users/{{user}}", status: http.StatusOK,
			body: `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
				{"op": "Remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]}`,
			check: func(t *testing.T, r resp) {
				require.Nil(t, path(r.JSON, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager"))
			},
		},
		{
			name: "DisableUser", method: http.MethodPatch, path: "/Users/{{user}}", status: http.StatusOK,
			body: `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
				{"op": "Replace", "path": "active", "value": "False"}]}`,
			check: func(t *testing.T, r resp) { require.Equal(t, false, r.JSON["active"]) },
		},
		{
			name: "DisabledUserStillReadable", method: http.MethodGet, path: "/Users/{{user}}", status: http.StatusOK,
			check: func(t *testing.T, r resp) { require.Equal(t, false, r.JSON["active"]) },
		},
		{
			name: "DisabledUserStillFound", method: http.MethodGet, status: http.StatusOK,
			path:  "/Users?filter=" + q(`userName eq "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"`),
			check: func(t *testing.T, r resp) { require.Equal(t, 1, total(r)) },
		},
		{name: "DeleteUser", method: http.MethodDelete, path: "/Users/{{user}}", status: http.StatusNoContent},
		{name: "DeletedUserGone", method: http.MethodGet, path: "/Users/{{user}}", status: http.StatusNotFound},
		{name: "DeleteAgain", method: http.MethodDelete, path: "/Users/{{user}}", status: http.StatusNotFound},
	})
}

// TestEntraFlaggedDialect replays the PATCH forms Entra sends with the
// aadOptscim062020 flag (Microsoft's "Known issues and resolutions with SCIM
// 2.0 protocol compliance"), including the flag in the Tenant URL.
func TestEntraFlaggedDialect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.replay([]step{
		{
			name: "CreateUser", method: http.MethodPost, path: "/Users?aadOptscim062020", status: http.StatusCreated,
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Kkom@contoso.com","active":true,
				"emails":[{"primary":true,"type":"work","value":"Kkom@contoso.com"}]}`,
			save: map[string]string{"user": "id"},
		},
		{
			name: "ReplaceManyAttributes", method: http.MethodPatch, path: "/Users/{{user}}?aadOptscim062020", status: http.StatusOK,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
				{"op":"replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@contoso.com"},
				{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua",
					"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}]}`,
			check: func(t *testing.T, r resp) {
				require.Equal(t, "Bjfe", r.JSON["displayName"])
				require.Equal(t, "Kkom", path(r.JSON, "name.givenName"))
				require.Equal(t, "Unua", path(r.JSON, "name.familyName"))
				require.Equal(t, "Aklq", path(r.JSON, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.employeeNumber"))
				require.Equal(t, "updatedEmail@contoso.com", path(r.JSON, "emails.0.value"))
				require.NotContains(t, r.JSON, "name.givenName")
			},
		},
		{
			name: "DisableWithBoolean", method: http.MethodPatch, path: "/Users/{{user}}?aadOptscim062020", status: http.StatusOK,
			body:  `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`,
			check: func(t *testing.T, r resp) { require.Equal(t, false, r.JSON["active"]) },
		},
		{
			name: "AddNickName", method: http.MethodPatch, path: "/Users/{{user}}?aadOptscim062020", status: http.StatusOK,
			body:  `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"nickName","value":"Babs"}]}`,
			check: func(t *testing.T, r resp) { require.Equal(t, "Babs", r.JSON["nickName"]) },
		},
		{
			name: "CreateGroup", method: http.MethodPost, path: "/Groups?aadOptscim062020", status: http.StatusCreated,
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Flagged"}`,
			save: map[string]string{"group": "id"},
		},
		{
			name: "AddMember", method: http.MethodPatch, path: "/Groups/{{group}}?aadOptscim062020", status: http.StatusNoContent,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"{{user}}"}]}]}`,
		},
		{
			name: "RemoveMemberByFilter", method: http.MethodPatch, path: "/Groups/{{group}}?aadOptscim062020", status: http.StatusNoContent,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"{{user}}\"]"}]}`,
		},
		{
			name: "GroupEmpty", method: http.MethodGet, path: "/Groups/{{group}}", status: http.StatusOK,
			check: func(t *testing.T, r resp) { require.NotContains(t, r.JSON, "members") },
		},
	})
}

// TestEntraGroupLifecycle replays the group operations of Microsoft's tutorial.
func TestEntraGroupLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var steps []step
	for i, n := range []string{"alice", "bob", "carol"} {
		steps = append(steps, step{
			name: "CreateUser" + n, method: http.MethodPost, path: "/Users", status: http.StatusCreated,
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + n + `@contoso.com","active":true}`,
			save: map[string]string{"u" + string(rune('1'+i)): "id"},
		})
	}
	steps = append(steps, []step{
		{
			name: "CreateGroup", method: http.MethodPost, path: "/Groups", status: http.StatusCreated,
			body: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
				"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "displayName", "meta": {"resourceType": "Group"}}`,
			save: map[string]string{"group": "id"},
			check: func(t *testing.T, r resp) {
				require.Equal(t, "displayName", r.JSON["displayName"])
				require.Equal(t, []any{"urn:ietf:params:scim:schemas:core:2.0:Group"}, r.JSON["schemas"])
				require.NotEmpty(t, r.Header.Get("Location"))
			},
		},
		{
			name: "GetGroup", method: http.MethodGet, path: "/Groups/{{group}}?excludedAttributes=members", status: http.StatusOK,
			check: func(t *testing.T, r resp) {
				require.Equal(t, "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", r.JSON["externalId"])
				require.NotContains(t, r.JSON, "members")
			},
		},
		{
			name: "GetGroupByDisplayName", method: http.MethodGet, status: http.StatusOK,
			path:  "/Groups?excludedAttributes=members&filter=" + q(`displayName eq "displayName"`),
			check: func(t *testing.T, r resp) { require.Equal(t, 1, total(r)) },
		},
		{
			name: "UpdateGroupNonMember", method: http.MethodPatch, path: "/Groups/{{group}}", status: http.StatusNoContent,
			body: `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
				{"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]}`,
		},
		{
			name: "AddMembers", method: http.MethodPatch, path: "/Groups/{{group}}", status: http.StatusNoContent,
			body: `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
				{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "{{u1}}"}, {"$ref": null, "value": "{{u2}}"}, {"$ref": null, "value": "{{u3}}"}]}]}`,
		},
		{
			name: "AddExistingMemberIsIdempotent", method: http.MethodPatch, path: "/Groups/{{group}}", status: http.StatusNoContent,
			body: `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
				{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "{{u1}}"}]}]}`,
		},
		{
			name: "RemoveMemberByValueArray", method: http.MethodPatch, path: "/Groups/{{group}}", status: http.StatusNoContent,
			body: `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
				{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "{{u1}}"}]}]}`,
		},
		{
			name: "OnlyThatMemberRemoved", method: http.MethodGet, path: "/Groups/{{group}}", status: http.StatusOK,
			check: func(t *testing.T, r resp) {
				require.Equal(t, "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName", r.JSON["displayName"])
				members := r.JSON["members"].([]any)
				require.Len(t, members, 2)
				var ids []any
				for _, m := range members {
					ids = append(ids, m.(map[string]any)["value"])
					require.Equal(t, "User", m.(map[string]any)["type"])
				}
				require.ElementsMatch(t, []any{e.vars["u2"], e.vars["u3"]}, ids)
			},
		},
		{
			name: "UserShowsGroup", method: http.MethodGet, path: "/Users/{{u2}}", status: http.StatusOK,
			check: func(t *testing.T, r resp) {
				require.Equal(t, e.vars["group"], path(r.JSON, "groups.0.value"))
				require.Equal(t, "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName", path(r.JSON, "groups.0.display"))
			},
		},
		{
			name: "ListShowsGroups", method: http.MethodGet, path: "/Users?sortBy=userName", status: http.StatusOK,
			check: func(t *testing.T, r resp) {
				require.Nil(t, path(r.JSON, "Resources.0.groups"), "alice was removed")
				require.Equal(t, e.vars["group"], path(r.JSON, "Resources.1.groups.0.value"))
				require.Equal(t, e.vars["group"], path(r.JSON, "Resources.2.groups.0.value"))
			},
		},
		{
			name: "FilterGroupsByMember", method: http.MethodGet, status: http.StatusOK,
			path:  "/Groups?excludedAttributes=members&filter=" + q(`members.value eq "{{u3}}"`),
			check: func(t *testing.T, r resp) { require.Equal(t, 1, total(r)) },
		},
		{name: "DeleteGroup", method: http.MethodDelete, path: "/Groups/{{group}}", status: http.StatusNoContent},
		{
			name: "UserLostGroup", method: http.MethodGet, path: "/Users/{{u2}}", status: http.StatusOK,
			check: func(t *testing.T, r resp) { require.NotContains(t, r.JSON, "groups") },
		},
	}...)
	e.replay(steps)
}
