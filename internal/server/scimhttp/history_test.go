package scimhttp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// adminGet reads the admin API as a freshly created super admin.
func (e *env) adminGet(path string) map[string]any {
	e.t.Helper()
	const name, pw = "history-reader", "correct horse battery staple"
	if _, err := e.roster.Admins.Get(context.Background(), name); err != nil {
		_, err := e.roster.Admins.Create(context.Background(), name, pw, "super_admin", "test")
		require.NoError(e.t, err)
	}
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	require.NoError(e.t, err)
	req.SetBasicAuth(name, pw)
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	require.Equal(e.t, http.StatusOK, res.StatusCode, path)
	var out map[string]any
	require.NoError(e.t, json.NewDecoder(res.Body).Decode(&out))
	return out
}

// attrChange finds the change of one attribute in a history entry.
func attrChange(t *testing.T, entry map[string]any, attrPath string) map[string]any {
	t.Helper()
	list, _ := entry["attributes"].([]any)
	for _, a := range list {
		m := a.(map[string]any)
		if m["path"] == attrPath {
			return m
		}
	}
	t.Fatalf("entry %v has no change of %s", entry["operation"], attrPath)
	return nil
}

// TestEntraLifecycleHistory replays Entra's user lifecycle, then reads the
// revision history back through the admin API: every step is there, made
// by "Scim System User" through the bootstrap token, with the values before
// and after, the password redacted.
func TestEntraLifecycleHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	patch := func(ops string) string {
		return `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [` + ops + `]}`
	}
	e.replay([]step{
		{name: "Create", method: http.MethodPost, path: "/Users", status: http.StatusCreated, save: map[string]string{"user": "id"},
			body: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Test_User_ab64@testuser.com",
				"active": true, "password": "Hunter2-hunter2", "externalId": "0a21",
				"emails": [{"primary": true, "type": "work", "value": "Test_User_fd0e@testuser.com"}],
				"name": {"familyName": "familyName", "givenName": "givenName"}}`},
		{name: "UpdateMultiValued", method: http.MethodPatch, path: "/Users/{{user}}", status: http.StatusOK,
			body: patch(`{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
				{"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}`)},
		{name: "Rename", method: http.MethodPatch, path: "/Users/{{user}}", status: http.StatusOK,
			body: patch(`{"op": "Replace", "path": "userName", "value": "renamed@testuser.com"}`)},
		{name: "Department", method: http.MethodPatch, path: "/Users/{{user}}", status: http.StatusOK,
			body: patch(`{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales"}`)},
		{name: "NothingChanges", method: http.MethodPatch, path: "/Users/{{user}}", status: http.StatusOK,
			body: patch(`{"op": "Replace", "path": "active", "value": true}`)},
		{name: "Password", method: http.MethodPatch, path: "/Users/{{user}}", status: http.StatusOK,
			body: patch(`{"op": "Replace", "path": "password", "value": "Correct-Horse-1"}`)},
		{name: "Disable", method: http.MethodPatch, path: "/Users/{{user}}", status: http.StatusOK,
			body: patch(`{"op": "Replace", "path": "active", "value": "False"}`)},
		{name: "Reenable", method: http.MethodPatch, path: "/Users/{{user}}", status: http.StatusOK,
			body: patch(`{"op": "Replace", "path": "active", "value": "True"}`)},
		{name: "Delete", method: http.MethodDelete, path: "/Users/{{user}}", status: http.StatusNoContent},
	})
	id := e.vars["user"]

	// Found by the name it had first, though it was renamed.
	out := e.adminGet("/admin/api/tenants/default/history?userName=" + url.QueryEscape("TEST_USER_AB64@testuser.com"))
	entries := out["entries"].([]any)
	wantOps := []string{"create", "patch", "patch", "patch", "patch", "patch", "patch", "delete"}
	wantEvents := []string{"user.created", "user.updated", "user.updated", "user.updated", "user.updated", "user.deactivated", "user.reactivated", "user.deleted"}
	require.Len(t, entries, len(wantOps), "one entry per change; the PATCH that changed nothing has none")
	for i, raw := range entries {
		en := raw.(map[string]any)
		require.Equal(t, wantOps[i], en["operation"], "entry %d", i)
		require.Equal(t, []any{wantEvents[i]}, en["events"], "entry %d", i)
		require.Equal(t, "Scim System User", en["actor"])
		require.Equal(t, "bootstrap", en["actorLabel"])
		require.Contains(t, en["credential"], "token:")
		require.Equal(t, id, en["resourceId"])
		require.Equal(t, "User", en["resourceType"])
		require.NotEmpty(t, en["requestId"])
		require.Equal(t, "127.0.0.1", en["clientAddress"])
	}
	at := func(i int) map[string]any { return entries[i].(map[string]any) }

	created := at(0)
	require.Equal(t, "Test_User_ab64@testuser.com", attrChange(t, created, "userName")["after"])
	require.Equal(t, "[redacted]", attrChange(t, created, "password")["after"])
	require.Nil(t, attrChange(t, created, "userName")["before"])

	emails := attrChange(t, at(1), "emails")
	require.Equal(t, "Test_User_fd0e@testuser.com", emails["before"].([]any)[0].(map[string]any)["value"])
	require.Equal(t, "updatedEmail@microsoft.com", emails["after"].([]any)[0].(map[string]any)["value"])
	name := attrChange(t, at(1), "name")
	require.Equal(t, "familyName", name["before"].(map[string]any)["familyName"])
	require.Equal(t, "updatedFamilyName", name["after"].(map[string]any)["familyName"])

	rename := attrChange(t, at(2), "userName")
	require.Equal(t, "Test_User_ab64@testuser.com", rename["before"])
	require.Equal(t, "renamed@testuser.com", rename["after"])
	require.Equal(t, "renamed@testuser.com", at(2)["resourceName"])

	dept := attrChange(t, at(3), "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department")
	require.Nil(t, dept["before"])
	require.Equal(t, "Sales", dept["after"])

	pw := attrChange(t, at(4), "password")
	require.Equal(t, map[string]any{"path": "password", "before": "[redacted]", "after": "[redacted]"}, pw)

	require.Equal(t, true, attrChange(t, at(5), "active")["before"])
	require.Equal(t, false, attrChange(t, at(5), "active")["after"])
	require.Equal(t, true, attrChange(t, at(6), "active")["after"])

	// Paging and the other filters.
	page := e.adminGet("/admin/api/tenants/default/history?resourceId=" + id + "&limit=3")
	require.Len(t, page["entries"], 3)
	rest := e.adminGet("/admin/api/tenants/default/history?resourceId=" + id + "&after=" + jsonNumber(page["next"]))
	require.Len(t, rest["entries"], 5)
	require.Empty(t, e.adminGet("/admin/api/tenants/default/history?actor=someone+else")["entries"])
	require.Len(t, e.adminGet("/admin/api/tenants/default/history?actor=Scim+System+User")["entries"], 8)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	require.Empty(t, e.adminGet("/admin/api/tenants/default/history?since=" + future)["entries"])
	require.Len(t, e.adminGet("/admin/api/tenants/default/history?resourceType=User&until=" + future)["entries"], 8)

	// Changes to the tenant's credentials and settings are in its history
	// too: here the bootstrap token, issued before any SCIM request.
	all := e.adminGet("/admin/api/tenants/default/history")["entries"].([]any)
	first := all[0].(map[string]any)
	require.Equal(t, "token.issue", first["operation"])
	require.Equal(t, "Token", first["resourceType"])
	require.Equal(t, "system", first["actor"])
	require.Equal(t, "bootstrap", attrChange(t, first, "label")["after"])

	// The token's label and the tenant's actor name come through.
	_, err := e.tenants.SetHistoryActor(context.Background(), "default", "Entra provisioning", "test")
	require.NoError(t, err)
	settings := e.adminGet("/admin/api/tenants/default/history?resourceType=Tenant")["entries"].([]any)
	require.Len(t, settings, 1)
	require.Equal(t, "tenant.history_actor", settings[0].(map[string]any)["operation"])
	require.Equal(t, "Entra provisioning", attrChange(t, settings[0].(map[string]any), "history_actor")["after"])
	e.do(http.MethodPost, "/Users", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "second"}`)
	last := e.adminGet("/admin/api/tenants/default/history?userName=second")["entries"].([]any)
	require.Len(t, last, 1)
	require.Equal(t, "Entra provisioning", last[0].(map[string]any)["actor"])
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestGroupMembershipHistoryAndEvents checks that membership changes are
// recorded net (a PUT that keeps a member does not list it) and emitted as
// members_added and members_removed events, readable from the pull feed.
func TestGroupMembershipHistoryAndEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.replay([]step{
		{name: "A", method: http.MethodPost, path: "/Users", status: http.StatusCreated, save: map[string]string{"a": "id"},
			body: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a"}`},
		{name: "B", method: http.MethodPost, path: "/Users", status: http.StatusCreated, save: map[string]string{"b": "id"},
			body: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "b"}`},
		{name: "Group", method: http.MethodPost, path: "/Groups", status: http.StatusCreated, save: map[string]string{"g": "id"},
			body: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G", "members": [{"value": "{{a}}"}]}`},
		{name: "PutKeepsAAddsB", method: http.MethodPut, path: "/Groups/{{g}}", status: http.StatusOK,
			body: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G", "members": [{"value": "{{a}}"}, {"value": "{{b}}"}]}`},
		{name: "RemoveA", method: http.MethodPatch, path: "/Groups/{{g}}", status: http.StatusNoContent,
			body: `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "Remove", "path": "members[value eq \"{{a}}\"]"}]}`},
	})
	g, a, b := e.vars["g"], e.vars["a"], e.vars["b"]
	entries := e.adminGet("/admin/api/tenants/default/history?resourceType=Group")["entries"].([]any)
	require.Len(t, entries, 3)
	require.Equal(t, []any{a}, entries[0].(map[string]any)["membersAdded"])
	require.Equal(t, []any{b}, entries[1].(map[string]any)["membersAdded"])
	require.Nil(t, entries[1].(map[string]any)["membersRemoved"])
	require.Equal(t, []any{a}, entries[2].(map[string]any)["membersRemoved"])

	feed := e.adminGet("/admin/api/tenants/default/events")
	var types []string
	for _, raw := range feed["events"].([]any) {
		ev := raw.(map[string]any)
		types = append(types, ev["type"].(string))
		require.NotEmpty(t, ev["id"])
		require.NotEmpty(t, ev["cursor"])
		if ev["resourceId"] == g {
			require.Equal(t, "G", ev["data"].(map[string]any)["resource"].(map[string]any)["displayName"])
		}
	}
	require.Equal(t, []string{"user.created", "user.created", "group.created", "group.members_added", "group.members_added", "group.members_removed"}, types)

	// A long poll from the end waits for the next change and returns it.
	next := feed["next"].(string)
	got := make(chan map[string]any, 1)
	go func() { got <- e.adminGet("/admin/api/tenants/default/events?wait=20s&after=" + url.QueryEscape(next)) }()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	e.do(http.MethodDelete, "/Users/"+b, "")
	res := <-got
	require.Less(t, time.Since(start), 5*time.Second, "the long poll wakes at the commit")
	evs := res["events"].([]any)
	require.Len(t, evs, 1)
	require.Equal(t, "user.deleted", evs[0].(map[string]any)["type"])

	// Empty reads keep the cursor; a bad cursor is a 400.
	again := e.adminGet("/admin/api/tenants/default/events?after=" + url.QueryEscape(res["next"].(string)))
	require.Empty(t, again["events"])
	require.Equal(t, res["next"], again["next"])
}
