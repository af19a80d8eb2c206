package validate

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// oktaSource cites Okta's "SCIM 2.0 Protocol Reference" (the SCIM 2.0
// guide) and, where it says so, its Runscope SPEC test.
func oktaSource(section string) string { return "Okta SCIM 2.0 guide: " + section }

// oktaChecks replays Okta's SCIM 2.0 client: paging on every list, PUT for
// profile updates, path-less PATCH for (de)activation and group rename.
func oktaChecks() []Check {
	return []Check{
		{ID: "okta-test-credentials", Name: "Test API credentials: GET /Users?startIndex=1&count=2 with integer paging fields",
			Source: oktaSource("Test API credentials (SPEC test)"), Required: true, Run: oktaTestCredentials},
		{ID: "okta-user-not-found", Name: "Does the user exist: filter with startIndex=1&count=100 returns 0",
			Source: oktaSource("Determine if the user already exists"), Required: true, Run: oktaUserNotFound},
		{ID: "okta-create-user", Name: "Create the user (with password; password never returned)",
			Source: oktaSource("Create the user"), Required: true, Run: oktaCreateUser},
		{ID: "okta-create-duplicate", Name: "Creating the same user again is 409",
			Source: oktaSource("Create the user (duplicate, SPEC test)"), Required: true, Run: oktaCreateDuplicate},
		{ID: "okta-username-case", Name: "Username case sensitivity check: uppercase userName eq finds the user",
			Source: oktaSource("SPEC test: Username Case Sensitivity Check") + "; RFC 7643 §4.1.1", Required: true, Run: oktaUserNameCase},
		{ID: "okta-get-user", Name: "Retrieve a specific user",
			Source: oktaSource("Retrieve a specific user"), Required: true, Run: oktaGetUser},
		{ID: "okta-get-unknown-user", Name: "Unknown user id is 404 with a SCIM error",
			Source: oktaSource("SPEC test: Check status 404") + "; RFC 7644 §3.12", Required: true, Run: oktaGetUnknown},
		{ID: "okta-put-user", Name: "Update a specific user with PUT (full replace)",
			Source: oktaSource("Update a specific user (PUT)"), Required: true, Run: oktaPutUser},
		{ID: "okta-deactivate-user", Name: `Deactivate: PATCH {"op":"replace","value":{"active":false}} without path`,
			Source: oktaSource("Update a specific user (PATCH)"), Required: true, Run: oktaActive(false)},
		{ID: "okta-reactivate-user", Name: `Reactivate: PATCH {"op":"replace","value":{"active":true}} without path`,
			Source: oktaSource("Update a specific user (PATCH)"), Required: true, Run: oktaActive(true)},
		{ID: "okta-create-group", Name: "Push a group: create with empty members",
			Source: oktaSource("Create a group"), Required: true, Run: oktaCreateGroup},
		{ID: "okta-group-members", Name: "Update group membership: add, then remove by members[value eq] and add in one PATCH",
			Source: oktaSource("Update a specific group membership"), Required: true, Run: oktaGroupMembers},
		{ID: "okta-group-rename-patch", Name: `Rename a group: PATCH without path, value with id and displayName`,
			Source: oktaSource("Update a specific group name"), Required: true, Run: oktaRenameGroup},
		{ID: "okta-group-put", Name: "Replace a group with PUT (displayName and members)",
			Source: oktaSource("Update a specific group (PUT, App Integration Wizard apps)"), Required: true, Run: oktaPutGroup},
		{ID: "okta-group-paging", Name: "Import groups: page /Groups with startIndex and count",
			Source: oktaSource("Retrieve groups (import)") + "; RFC 7644 §3.4.2.4", Required: true, Run: oktaGroupPaging},
		{ID: "okta-delete-group", Name: "Delete a group",
			Source: oktaSource("Delete a specific group"), Required: true, Run: oktaDeleteGroup},
	}
}

func oktaTestCredentials(ctx context.Context, r *run) error {
	res, err := r.fetch(ctx, "/Users?startIndex=1&count=2")
	if err != nil {
		return err
	}
	for _, f := range []string{"totalResults", "itemsPerPage", "startIndex"} {
		if _, ok := integer(res.JSON[f]); !ok {
			return fmt.Errorf("%s is %v, want an integer", f, jsonish(res.JSON[f]))
		}
	}
	if n := len(list(res)); n > 2 {
		return fmt.Errorf("count=2 returned %d resources", n)
	}
	return nil
}

func (r *run) oktaUser(id string) map[string]any {
	m := map[string]any{
		"schemas":     []string{userURN},
		"userName":    r.vars["oktaUserName"],
		"name":        map[string]any{"givenName": "Test", "familyName": "User"},
		"emails":      []any{map[string]any{"primary": true, "value": r.vars["oktaUserName"], "type": "work"}},
		"displayName": "Test User",
		"locale":      "en-US",
		"externalId":  r.vars["oktaExternalId"],
		"groups":      []any{},
		"active":      true,
	}
	if id == "" {
		m["password"] = "1mz050nq-" + guid()[:8]
	} else {
		m["id"] = id
		m["meta"] = map[string]any{"resourceType": "User"}
	}
	return m
}

func oktaUserNotFound(ctx context.Context, r *run) error {
	r.vars["oktaUserName"] = r.name("okta-" + guid()[:8] + "@okta.local")
	r.vars["oktaExternalId"] = "00u" + strings.ReplaceAll(guid(), "-", "")[:17]
	res, err := r.fetch(ctx, "/Users"+filterQuery(fmt.Sprintf("userName eq %q", r.vars["oktaUserName"]), "startIndex=1", "count=100"))
	if err != nil {
		return err
	}
	return wantTotal(res, 0)
}

func oktaCreateUser(ctx context.Context, r *run) error {
	if _, err := r.need("oktaUserName"); err != nil {
		return err
	}
	res, id, err := r.create(ctx, "/Users", r.oktaUser(""))
	if err != nil {
		return err
	}
	r.vars["oktaUser"] = id
	if _, ok := res.JSON["password"]; ok {
		return fmt.Errorf("the response contains the password (RFC 7643 §4.1.1: returned never)")
	}
	for path, want := range map[string]any{"active": true, "name.givenName": "Test", "userName": r.vars["oktaUserName"]} {
		if err := wantEqual(res.JSON, path, want); err != nil {
			return err
		}
	}
	return nil
}

func oktaCreateDuplicate(ctx context.Context, r *run) error {
	if _, err := r.need("oktaUser"); err != nil {
		return err
	}
	res, err := r.c.do(ctx, http.MethodPost, "/Users", r.oktaUser(""))
	if err != nil {
		return err
	}
	if id := str(res.JSON["id"]); id != "" && res.Status < 300 {
		r.track("/Users/" + id)
	}
	if err := expect(res, http.StatusConflict); err != nil {
		return err
	}
	return scimError(res)
}

func oktaUserNameCase(ctx context.Context, r *run) error {
	v, err := r.need("oktaUser", "oktaUserName")
	if err != nil {
		return err
	}
	res, err := r.fetch(ctx, "/Users"+filterQuery(fmt.Sprintf("userName eq %q", strings.ToUpper(v[1])), "startIndex=1", "count=100"))
	if err != nil {
		return err
	}
	if err := wantTotal(res, 1); err != nil {
		return err
	}
	return wantEqual(list(res)[0], "id", v[0])
}

func oktaGetUser(ctx context.Context, r *run) error {
	v, err := r.need("oktaUser")
	if err != nil {
		return err
	}
	u, err := r.user(ctx, v[0])
	if err != nil {
		return err
	}
	for path, want := range map[string]any{"id": v[0], "name.familyName": "User", "emails.0.value": r.vars["oktaUserName"], "active": true} {
		if err := wantEqual(u, path, want); err != nil {
			return err
		}
	}
	return nil
}

func oktaGetUnknown(ctx context.Context, r *run) error {
	return wantNotFound(ctx, r, "/Users/"+guid())
}

func oktaPutUser(ctx context.Context, r *run) error {
	v, err := r.need("oktaUser")
	if err != nil {
		return err
	}
	u := r.oktaUser(v[0])
	u["name"] = map[string]any{"givenName": "Another", "familyName": "User"}
	u["displayName"] = "Another User"
	delete(u, "locale") // PUT replaces: an omitted attribute is cleared
	if _, err := r.send(ctx, http.MethodPut, "/Users/"+v[0], u, http.StatusOK); err != nil {
		return err
	}
	got, err := r.user(ctx, v[0])
	if err != nil {
		return err
	}
	for path, want := range map[string]any{"name.givenName": "Another", "displayName": "Another User", "active": true, "externalId": r.vars["oktaExternalId"]} {
		if err := wantEqual(got, path, want); err != nil {
			return fmt.Errorf("after the PUT, %w", err)
		}
	}
	if l, ok := got["locale"]; ok {
		return fmt.Errorf("after a PUT without locale, locale is still %v (RFC 7644 §3.5.1: PUT replaces)", jsonish(l))
	}
	return nil
}

func oktaActive(active bool) func(context.Context, *run) error {
	return func(ctx context.Context, r *run) error {
		v, err := r.need("oktaUser")
		if err != nil {
			return err
		}
		u, err := r.patchUser(ctx, v[0], op("replace", "", map[string]any{"active": active}))
		if err != nil {
			return err
		}
		return wantAfterPatch(u, "active", active, "name.givenName", "Another")
	}
}

func oktaCreateGroup(ctx context.Context, r *run) error {
	name := r.name("okta-group-" + guid()[:8])
	res, id, err := r.create(ctx, "/Groups", map[string]any{"schemas": []string{groupURN}, "displayName": name, "members": []any{}})
	if err != nil {
		return err
	}
	r.vars["oktaGroup"] = id
	return wantEqual(res.JSON, "displayName", name)
}

func oktaGroupMembers(ctx context.Context, r *run) error {
	v, err := r.need("oktaGroup", "oktaUser")
	if err != nil {
		return err
	}
	_, second, err := r.create(ctx, "/Users", map[string]any{
		"schemas": []string{userURN}, "userName": r.name("okta-second-" + guid()[:8] + "@okta.local"), "active": true,
	})
	if err != nil {
		return fmt.Errorf("create a second user: %w", err)
	}
	r.vars["oktaUser2"] = second
	if _, err := r.send(ctx, http.MethodPatch, "/Groups/"+v[0], patchOp(
		op("add", "members", []any{map[string]any{"value": second, "display": "second"}}))); err != nil {
		return err
	}
	if err := r.wantMembers(ctx, v[0], second); err != nil {
		return err
	}
	if _, err := r.send(ctx, http.MethodPatch, "/Groups/"+v[0], patchOp(
		op("remove", fmt.Sprintf("members[value eq %q]", second), nil),
		op("add", "members", []any{map[string]any{"value": v[1], "display": r.vars["oktaUserName"]}}))); err != nil {
		return err
	}
	return r.wantMembers(ctx, v[0], v[1])
}

func oktaRenameGroup(ctx context.Context, r *run) error {
	v, err := r.need("oktaGroup")
	if err != nil {
		return err
	}
	name := r.name("okta-renamed-" + guid()[:8])
	if _, err := r.send(ctx, http.MethodPatch, "/Groups/"+v[0], patchOp(op("replace", "", map[string]any{"id": v[0], "displayName": name}))); err != nil {
		return err
	}
	res, err := r.fetch(ctx, "/Groups/"+v[0])
	if err != nil {
		return err
	}
	return wantEqual(res.JSON, "displayName", name)
}

func oktaPutGroup(ctx context.Context, r *run) error {
	v, err := r.need("oktaGroup", "oktaUser", "oktaUser2")
	if err != nil {
		return err
	}
	name := r.name("okta-put-" + guid()[:8])
	if _, err := r.send(ctx, http.MethodPut, "/Groups/"+v[0], map[string]any{
		"schemas": []string{groupURN}, "id": v[0], "displayName": name,
		"members": []any{map[string]any{"value": v[1]}, map[string]any{"value": v[2]}},
	}, http.StatusOK); err != nil {
		return err
	}
	_, g, err := r.members(ctx, v[0])
	if err != nil {
		return err
	}
	if err := wantEqual(g, "displayName", name); err != nil {
		return fmt.Errorf("after the PUT, %w", err)
	}
	return r.wantMembers(ctx, v[0], v[1], v[2])
}

func oktaGroupPaging(ctx context.Context, r *run) error {
	mine := map[string]bool{}
	if id, ok := r.vars["oktaGroup"]; ok {
		mine[id] = true
	}
	for i := range 4 {
		_, id, err := r.create(ctx, "/Groups", map[string]any{"schemas": []string{groupURN}, "displayName": r.name(fmt.Sprintf("okta-page%d", i))})
		if err != nil {
			return fmt.Errorf("create group %d: %w", i, err)
		}
		mine[id] = true
	}
	const count, maxPages = 2, 500
	seen := map[string]bool{}
	totalSeen := -1
	for start, page := 1, 0; ; start, page = start+count, page+1 {
		if page == maxPages {
			return fmt.Errorf("more than %d pages of %d groups; stopped", maxPages, count)
		}
		res, err := r.fetch(ctx, fmt.Sprintf("/Groups?startIndex=%d&count=%d", start, count))
		if err != nil {
			return err
		}
		n, err := total(res)
		if err != nil {
			return err
		}
		if totalSeen == -1 {
			totalSeen = n
		}
		if got, _ := integer(res.JSON["startIndex"]); got != start {
			return fmt.Errorf("startIndex is %v, want %d", res.JSON["startIndex"], start)
		}
		items := list(res)
		if got, ok := integer(res.JSON["itemsPerPage"]); !ok || got != len(items) {
			return fmt.Errorf("itemsPerPage is %v for %d Resources", jsonish(res.JSON["itemsPerPage"]), len(items))
		}
		if len(items) > count {
			return fmt.Errorf("count=%d returned %d groups", count, len(items))
		}
		for _, g := range items {
			id := str(g["id"])
			if seen[id] {
				return fmt.Errorf("group %s returned on two pages", id)
			}
			seen[id] = true
		}
		if len(items) == 0 || start+len(items) > n {
			break
		}
	}
	for id := range mine {
		if !seen[id] {
			return fmt.Errorf("group %s never appeared while paging %d groups (totalResults %d)", id, len(seen), totalSeen)
		}
	}
	return nil
}

func oktaDeleteGroup(ctx context.Context, r *run) error {
	v, err := r.need("oktaGroup")
	if err != nil {
		return err
	}
	res, err := r.remove(ctx, "/Groups/"+v[0])
	if err != nil {
		return err
	}
	return expect(res, http.StatusNoContent)
}
