package validate

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

const (
	userURN       = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupURN      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	listURN       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	errorURN      = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// entraSource cites Microsoft's "Tutorial: Develop and plan provisioning for
// a SCIM endpoint in Microsoft Entra ID", section "SCIM protocol requests
// and responses".
func entraSource(section string) string { return "Microsoft Entra SCIM tutorial: " + section }

// entraChecks replays the requests of the Entra provisioning service's
// default job, in its dialect: capitalised ops, booleans as strings,
// value-filtered paths, enterprise extension paths, manager as a plain id.
func entraChecks() []Check {
	return []Check{
		{ID: "entra-test-connection", Name: "Test Connection: filter on a random GUID returns an empty ListResponse",
			Source: entraSource("Test Connection / Get User by query - Zero results"), Required: true, Run: entraTestConnection},
		{ID: "entra-create-user", Name: "Create User with the enterprise extension",
			Source: entraSource("Create User"), Required: true, Run: entraCreateUser},
		{ID: "entra-get-user", Name: "Get User by id",
			Source: entraSource("Get User"), Required: true, Run: entraGetUser},
		{ID: "entra-query-username", Name: "Get User by query: userName eq",
			Source: entraSource("Get User by query"), Required: true, Run: entraQuery("userName", false)},
		{ID: "entra-query-username-case", Name: "Get User by query: userName eq matches case-insensitively",
			Source: entraSource("Get User by query") + "; RFC 7643 §4.1.1 (userName caseExact false)", Required: true, Run: entraQuery("userName", true)},
		{ID: "entra-query-externalid", Name: "Get User by query: externalId eq",
			Source: entraSource("Get User by query"), Required: true, Run: entraQuery("externalId", false)},
		{ID: "entra-query-work-email", Name: `Get User by query: emails[type eq "work"].value eq`,
			Source: entraSource("Get User by query (matching on email)"), Run: entraQuery("email", false)},
		{ID: "entra-patch-multivalued", Name: `Update User [Multi-valued]: Replace emails[type eq "work"].value and name.familyName`,
			Source: entraSource("Update User [Multi-valued properties]"), Required: true, Run: entraPatchMultiValued},
		{ID: "entra-patch-username", Name: "Update User [Single-valued]: Replace userName",
			Source: entraSource("Update User [Single-valued properties]"), Required: true, Run: entraPatchUserName},
		{ID: "entra-patch-enterprise", Name: "Add enterprise department and manager (plain id value)",
			Source: entraSource("Update User [Single-valued properties]; manager reference"), Required: true, Run: entraPatchEnterprise},
		{ID: "entra-remove-manager", Name: "Remove manager",
			Source: entraSource("Update User [Remove manager]"), Required: true, Run: entraRemoveManager},
		{ID: "entra-disable-user", Name: `Disable User: Replace active "False" (string); still readable and found`,
			Source: entraSource("Disable User") + `; Known issues: "value":"False"`, Required: true, Run: entraActive("False", false)},
		{ID: "entra-enable-user", Name: `Re-enable User: Replace active "True" (string)`,
			Source: entraSource("Disable User") + `; Known issues: "value":"True"`, Required: true, Run: entraActive("True", true)},
		{ID: "entra-delete-user", Name: "Delete User, then GET is 404 with a SCIM error",
			Source: entraSource("Delete User"), Required: true, Run: entraDelete("entraUser", "/Users")},
		{ID: "entra-create-group", Name: "Create Group (with Microsoft's ADSCIM schema URI)",
			Source: entraSource("Create Group"), Required: true, Run: entraCreateGroup},
		{ID: "entra-get-group", Name: "Get Group with excludedAttributes=members",
			Source: entraSource("Get Group"), Required: true, Run: entraGetGroup},
		{ID: "entra-query-group", Name: "Get Group by displayName with excludedAttributes=members",
			Source: entraSource("Get Group by displayName"), Required: true, Run: entraQueryGroup},
		{ID: "entra-group-add-members", Name: "Update Group [Add Members]: Add with value arrays, in batches",
			Source: entraSource("Update Group [Add Members]"), Required: true, Run: entraAddMembers},
		{ID: "entra-group-add-existing", Name: "Adding an existing member succeeds",
			Source: "Microsoft Q&A 471809 (Entra retries a 409 on every cycle)", Run: entraAddExisting},
		{ID: "entra-group-remove-member-value", Name: "Update Group [Remove Members]: Remove with a value array",
			Source: entraSource("Update Group [Remove Members]"), Required: true, Run: entraRemoveMemberByValue},
		{ID: "entra-group-remove-member-path", Name: `Remove member with path members[value eq "id"]`,
			Source: "Microsoft Entra SCIM known issues: Remove group member (aadOptscim062020)", Required: true, Run: entraRemoveMemberByPath},
		{ID: "entra-group-replace-displayname", Name: "Update Group [Non-member attributes]: Replace displayName",
			Source: entraSource("Update Group [Non-member attributes]"), Required: true, Run: entraReplaceDisplayName},
		{ID: "entra-delete-group", Name: "Delete Group, then GET is 404",
			Source: entraSource("Delete Group"), Required: true, Run: entraDelete("entraGroup", "/Groups")},
		{ID: "entra-schemas", Name: "Schema discovery: GET /Schemas is a ListResponse",
			Source: entraSource("Schema discovery"), Run: entraSchemas},
	}
}

func entraTestConnection(ctx context.Context, r *run) error {
	res, err := r.fetch(ctx, "/Users"+filterQuery(fmt.Sprintf("userName eq %q", guid())))
	if err != nil {
		return err
	}
	if !slices.Contains(schemas(res.JSON), listURN) {
		return fmt.Errorf("schemas %v lacks %s", res.JSON["schemas"], listURN)
	}
	return wantTotal(res, 0)
}

func schemas(doc map[string]any) []string {
	var out []string
	raw, _ := doc["schemas"].([]any)
	for _, s := range raw {
		out = append(out, str(s))
	}
	return out
}

func entraCreateUser(ctx context.Context, r *run) error {
	userName := r.name("entra-" + guid() + "@contoso.com")
	externalID, email := guid(), r.name("entra-mail-"+guid()[:8]+"@contoso.com")
	body := map[string]any{
		"schemas":    []string{userURN, enterpriseURN},
		"externalId": externalID,
		"userName":   userName,
		"active":     true,
		"emails":     []any{map[string]any{"primary": true, "type": "work", "value": email}},
		"meta":       map[string]any{"resourceType": "User"},
		"name":       map[string]any{"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
		"roles":      []any{},
	}
	res, id, err := r.create(ctx, "/Users", body)
	if err != nil {
		return err
	}
	r.vars["entraUser"], r.vars["entraUserName"], r.vars["entraExternalId"], r.vars["entraEmail"] = id, userName, externalID, email
	if !strings.EqualFold(str(res.JSON["userName"]), userName) {
		return fmt.Errorf("userName is %q, want %q", res.JSON["userName"], userName)
	}
	return wantEqual(res.JSON, "active", true)
}

func entraGetUser(ctx context.Context, r *run) error {
	v, err := r.need("entraUser", "entraEmail")
	if err != nil {
		return err
	}
	res, err := r.fetch(ctx, "/Users/"+v[0])
	if err != nil {
		return err
	}
	if err := wantEqual(res.JSON, "id", v[0]); err != nil {
		return err
	}
	return wantEqual(res.JSON, "emails.0.value", v[1])
}

// entraQuery finds the Entra user by a matching attribute.
func entraQuery(attr string, upper bool) func(context.Context, *run) error {
	return func(ctx context.Context, r *run) error {
		v, err := r.need("entraUser", "entraUserName", "entraExternalId", "entraEmail")
		if err != nil {
			return err
		}
		var filter string
		switch attr {
		case "userName":
			name := v[1]
			if upper {
				name = strings.ToUpper(name)
			}
			filter = fmt.Sprintf("userName eq %q", name)
		case "externalId":
			filter = fmt.Sprintf("externalId eq %q", v[2])
		case "email":
			filter = fmt.Sprintf(`emails[type eq "work"].value eq %q`, v[3])
		}
		res, err := r.fetch(ctx, "/Users"+filterQuery(filter))
		if err != nil {
			return err
		}
		if err := wantTotal(res, 1); err != nil {
			return err
		}
		return wantEqual(list(res)[0], "id", v[0])
	}
}

// user GETs a user so a check sees the stored state, whatever the PATCH
// answered (RFC 7644 §3.5.2 allows 204).
func (r *run) user(ctx context.Context, id string) (map[string]any, error) {
	res, err := r.fetch(ctx, "/Users/"+id)
	if err != nil {
		return nil, err
	}
	return res.JSON, nil
}

func entraPatchMultiValued(ctx context.Context, r *run) error {
	v, err := r.need("entraUser")
	if err != nil {
		return err
	}
	email := r.name("updated-" + guid()[:8] + "@contoso.com")
	u, err := r.patchUser(ctx, v[0],
		op("Replace", `emails[type eq "work"].value`, email),
		op("Replace", "name.familyName", "updatedFamilyName"))
	if err != nil {
		return err
	}
	r.vars["entraEmail"] = email
	if err := wantAfterPatch(u, "emails.0.value", email, "emails.0.type", "work",
		"name.familyName", "updatedFamilyName", "name.givenName", "givenName"); err != nil {
		return err
	}
	if n := len(u["emails"].([]any)); n != 1 {
		return fmt.Errorf("after the PATCH the user has %d emails, want 1", n)
	}
	return nil
}

func entraPatchUserName(ctx context.Context, r *run) error {
	v, err := r.need("entraUser")
	if err != nil {
		return err
	}
	userName := r.name("renamed-" + guid() + "@contoso.com")
	u, err := r.patchUser(ctx, v[0], op("Replace", "userName", userName))
	if err != nil {
		return err
	}
	if err := wantAfterPatch(u, "userName", userName); err != nil {
		return err
	}
	r.vars["entraUserName"] = userName
	return nil
}

func entraPatchEnterprise(ctx context.Context, r *run) error {
	v, err := r.need("entraUser")
	if err != nil {
		return err
	}
	_, mgr, err := r.create(ctx, "/Users", map[string]any{
		"schemas": []string{userURN}, "userName": r.name("entra-manager-" + guid() + "@contoso.com"), "active": true,
	})
	if err != nil {
		return fmt.Errorf("create the manager: %w", err)
	}
	r.vars["entraManager"] = mgr
	u, err := r.patchUser(ctx, v[0],
		op("Add", enterpriseURN+":department", "Sales"),
		op("Add", enterpriseURN+":manager", mgr))
	if err != nil {
		return err
	}
	return wantAfterPatch(u, enterpriseURN+".department", "Sales", enterpriseURN+".manager.value", mgr)
}

func entraRemoveManager(ctx context.Context, r *run) error {
	v, err := r.need("entraUser", "entraManager")
	if err != nil {
		return err
	}
	u, err := r.patchUser(ctx, v[0], op("Remove", enterpriseURN+":manager", nil))
	if err != nil {
		return err
	}
	if m := get(u, enterpriseURN+".manager"); m != nil {
		return fmt.Errorf("after the PATCH the manager is still %v", m)
	}
	return wantEqual(u, enterpriseURN+".department", "Sales")
}

// entraActive sends Entra's default-job active PATCH with a string value.
func entraActive(value string, want bool) func(context.Context, *run) error {
	return func(ctx context.Context, r *run) error {
		v, err := r.need("entraUser", "entraUserName")
		if err != nil {
			return err
		}
		u, err := r.patchUser(ctx, v[0], op("Replace", "active", value))
		if err != nil {
			return err
		}
		if err := wantAfterPatch(u, "active", want); err != nil {
			return err
		}
		// A disabled user must still be found by its matching attribute.
		res, err := r.fetch(ctx, "/Users"+filterQuery(fmt.Sprintf("userName eq %q", v[1])))
		if err != nil {
			return err
		}
		return wantTotal(res, 1)
	}
}

// entraDelete deletes the resource an earlier check saved under key, as
// Entra deletes: 204, then 404 on a read.
func entraDelete(key, endpoint string) func(context.Context, *run) error {
	return func(ctx context.Context, r *run) error {
		v, err := r.need(key)
		if err != nil {
			return err
		}
		res, err := r.remove(ctx, endpoint+"/"+v[0])
		if err != nil {
			return err
		}
		if err := expect(res, http.StatusNoContent); err != nil {
			return err
		}
		return wantNotFound(ctx, r, endpoint+"/"+v[0])
	}
}

// wantNotFound GETs path and requires a 404 SCIM error (RFC 7644 §3.12).
func wantNotFound(ctx context.Context, r *run, path string) error {
	res, err := r.c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if err := expect(res, http.StatusNotFound); err != nil {
		return err
	}
	return scimError(res)
}

// scimError checks an error body: the Error schema and status as a string
// (RFC 7644 §3.12).
func scimError(res *response) error {
	if !slices.Contains(schemas(res.JSON), errorURN) {
		return fmt.Errorf("error body lacks schemas [%q] (RFC 7644 §3.12)", errorURN)
	}
	if got := res.JSON["status"]; got != fmt.Sprint(res.Status) {
		return fmt.Errorf("error body status is %s, want the string %q (RFC 7644 §3.12)", jsonish(got), fmt.Sprint(res.Status))
	}
	return nil
}

func entraCreateGroup(ctx context.Context, r *run) error {
	name := r.name("entra-group-" + guid()[:8])
	res, id, err := r.create(ctx, "/Groups", map[string]any{
		"schemas":     []string{groupURN, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"},
		"externalId":  guid(),
		"displayName": name,
		"meta":        map[string]any{"resourceType": "Group"},
	})
	if err != nil {
		return err
	}
	r.vars["entraGroup"], r.vars["entraGroupName"] = id, name
	return wantEqual(res.JSON, "displayName", name)
}

func entraGetGroup(ctx context.Context, r *run) error {
	v, err := r.need("entraGroup")
	if err != nil {
		return err
	}
	res, err := r.fetch(ctx, "/Groups/"+v[0]+"?excludedAttributes=members")
	if err != nil {
		return err
	}
	if _, ok := res.JSON["members"]; ok {
		return fmt.Errorf("members returned despite excludedAttributes=members (RFC 7644 §3.4.2.5)")
	}
	return wantEqual(res.JSON, "id", v[0])
}

func entraQueryGroup(ctx context.Context, r *run) error {
	v, err := r.need("entraGroup", "entraGroupName")
	if err != nil {
		return err
	}
	res, err := r.fetch(ctx, "/Groups"+filterQuery(fmt.Sprintf("displayName eq %q", v[1]), "excludedAttributes=members"))
	if err != nil {
		return err
	}
	if err := wantTotal(res, 1); err != nil {
		return err
	}
	if _, ok := list(res)[0]["members"]; ok {
		return fmt.Errorf("members returned despite excludedAttributes=members")
	}
	return wantEqual(list(res)[0], "id", v[0])
}

// members GETs a group and returns its member ids.
func (r *run) members(ctx context.Context, group string) ([]string, map[string]any, error) {
	res, err := r.fetch(ctx, "/Groups/"+group)
	if err != nil {
		return nil, nil, err
	}
	var out []string
	raw, _ := res.JSON["members"].([]any)
	for _, m := range raw {
		out = append(out, str(get(m, "value")))
	}
	slices.Sort(out)
	return out, res.JSON, nil
}

// wantMembers compares a group's members with want.
func (r *run) wantMembers(ctx context.Context, group string, want ...string) error {
	got, _, err := r.members(ctx, group)
	if err != nil {
		return err
	}
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("group members are %v, want %v", got, want)
	}
	return nil
}

func memberValues(ids ...string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = map[string]any{"$ref": nil, "value": id}
	}
	return out
}

func entraAddMembers(ctx context.Context, r *run) error {
	v, err := r.need("entraGroup")
	if err != nil {
		return err
	}
	var users []string
	for i := range 3 {
		_, id, err := r.create(ctx, "/Users", map[string]any{
			"schemas": []string{userURN}, "userName": r.name(fmt.Sprintf("entra-member%d-%s@contoso.com", i, guid()[:8])), "active": true,
		})
		if err != nil {
			return fmt.Errorf("create member %d: %w", i, err)
		}
		users = append(users, id)
	}
	r.vars["entraMember0"], r.vars["entraMember1"], r.vars["entraMember2"] = users[0], users[1], users[2]
	// Entra batches memberships: several values in one op, several requests.
	for _, batch := range [][]string{users[:2], users[2:]} {
		if _, err := r.send(ctx, http.MethodPatch, "/Groups/"+v[0], patchOp(op("Add", "members", memberValues(batch...)))); err != nil {
			return err
		}
	}
	return r.wantMembers(ctx, v[0], users...)
}

func entraAddExisting(ctx context.Context, r *run) error {
	v, err := r.need("entraGroup", "entraMember0", "entraMember1", "entraMember2")
	if err != nil {
		return err
	}
	if _, err := r.send(ctx, http.MethodPatch, "/Groups/"+v[0], patchOp(op("Add", "members", memberValues(v[1])))); err != nil {
		return err
	}
	return r.wantMembers(ctx, v[0], v[1:]...)
}

func entraRemoveMemberByValue(ctx context.Context, r *run) error {
	v, err := r.need("entraGroup", "entraMember0", "entraMember1", "entraMember2")
	if err != nil {
		return err
	}
	if _, err := r.send(ctx, http.MethodPatch, "/Groups/"+v[0], patchOp(op("Remove", "members", memberValues(v[1])))); err != nil {
		return err
	}
	return r.wantMembers(ctx, v[0], v[2], v[3])
}

func entraRemoveMemberByPath(ctx context.Context, r *run) error {
	v, err := r.need("entraGroup", "entraMember1", "entraMember2")
	if err != nil {
		return err
	}
	if _, err := r.send(ctx, http.MethodPatch, "/Groups/"+v[0], patchOp(op("Remove", fmt.Sprintf("members[value eq %q]", v[1]), nil))); err != nil {
		return err
	}
	return r.wantMembers(ctx, v[0], v[2])
}

func entraReplaceDisplayName(ctx context.Context, r *run) error {
	v, err := r.need("entraGroup")
	if err != nil {
		return err
	}
	name := r.name("entra-renamed-" + guid()[:8])
	if _, err := r.send(ctx, http.MethodPatch, "/Groups/"+v[0], patchOp(op("Replace", "displayName", name))); err != nil {
		return err
	}
	res, err := r.fetch(ctx, "/Groups/"+v[0]+"?excludedAttributes=members")
	if err != nil {
		return err
	}
	return wantEqual(res.JSON, "displayName", name)
}

func entraSchemas(ctx context.Context, r *run) error {
	res, err := r.fetch(ctx, "/Schemas")
	if err != nil {
		return err
	}
	if !slices.Contains(schemas(res.JSON), listURN) {
		return fmt.Errorf("schemas %v lacks %s", res.JSON["schemas"], listURN)
	}
	if len(list(res)) == 0 {
		return fmt.Errorf("no schemas listed")
	}
	return nil
}
