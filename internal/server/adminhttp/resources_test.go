package adminhttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/tenant"
)

// directoryBundle is a tenant "acme" with users and groups, reachable both
// over SCIM (with a token) and over the admin API (as root).
type directoryBundle struct {
	*env
	root      string            // admin session token
	scimToken string            // the tenant's SCIM token
	ids       map[string]string // resource ids by userName or displayName
}

func setupDirectory(t *testing.T) *directoryBundle {
	t.Helper()
	ctx := context.Background()
	e := newEnv(t)
	_, err := e.roster.Tenants.Create(ctx, "acme", "test")
	require.NoError(t, err)
	iss, err := e.roster.Tenants.IssueToken(ctx, "acme", tenant.TokenRequest{Label: "test", CreatedBy: "test"})
	require.NoError(t, err)
	return &directoryBundle{env: e, root: e.login("root"), scimToken: iss.Plaintext, ids: map[string]string{}}
}

// scim sends a SCIM request to acme's Tenant URL and decodes the answer.
func (b *directoryBundle) scim(t *testing.T, method, path, body string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+"/scim/v2/acme"+b.expand(path), strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+b.scimToken)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Less(t, res.StatusCode, 300, "%s %s: %s", method, path, raw)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
	}
	return out
}

// create creates a resource over SCIM and remembers its id under name.
func (b *directoryBundle) create(t *testing.T, endpoint, name, body string) {
	t.Helper()
	r := b.scim(t, "POST", endpoint, b.expand(body))
	b.ids[name] = r["id"].(string)
}

// expand replaces {name} with the id of the resource created as name.
func (b *directoryBundle) expand(s string) string {
	for name, id := range b.ids {
		s = strings.ReplaceAll(s, "{"+name+"}", id)
	}
	return s
}

// admin reads the admin API as root, at a path under
// /admin/api/tenants, and returns the raw answer too.
func (b *directoryBundle) admin(t *testing.T, path string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("GET", b.srv.URL+"/admin/api/tenants"+b.expand(path), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+b.root)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, "application/json", res.Header.Get("Content-Type"), "%s", raw)
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
	return res, out
}

// TestAdminAPIShowsResourcesAsSCIM shows that the admin API's users carry
// their groups and its groups their members, and that every resource
// object (one, or in a page of a list) is the very object SCIM answers for
// the same parameters; only the list envelope differs.
func TestAdminAPIShowsResourcesAsSCIM(t *testing.T) {
	t.Parallel()
	b := setupDirectory(t)
	b.create(t, "/Users", "alice", `{"userName":"alice@example.com","name":{"givenName":"Alice"},"password":"Secret-123-abc"}`)
	b.create(t, "/Users", "bob", `{"userName":"bob@example.com"}`)
	b.create(t, "/Users", "carol", `{"userName":"carol@example.com"}`)
	b.create(t, "/Groups", "guides", `{"displayName":"Guides","members":[{"value":"{alice}"},{"value":"{bob}"}]}`)
	b.create(t, "/Groups", "leads", `{"displayName":"Leads","members":[{"value":"{alice}"},{"value":"{guides}"}]}`)
	tenantURL := b.srv.URL + "/scim/v2/acme"

	cases := []struct {
		name  string
		admin string // under /admin/api/tenants/acme
		scim  string // under the Tenant URL, the same request in SCIM
		check func(t *testing.T, got map[string]any)
	}{
		{"UserWithGroups", "/users/{alice}", "/Users/{alice}", func(t *testing.T, got map[string]any) {
			require.Equal(t, "alice@example.com", got["userName"])
			require.NotContains(t, got, "password")
			require.Equal(t, tenantURL+"/Users/"+b.ids["alice"], got["meta"].(map[string]any)["location"])
			require.ElementsMatch(t, []any{
				map[string]any{"value": b.ids["guides"], "display": "Guides", "type": "direct", "$ref": tenantURL + "/Groups/" + b.ids["guides"]},
				map[string]any{"value": b.ids["leads"], "display": "Leads", "type": "direct", "$ref": tenantURL + "/Groups/" + b.ids["leads"]},
			}, got["groups"])
		}},
		{"UserInNoGroup", "/users/{carol}", "/Users/{carol}", func(t *testing.T, got map[string]any) {
			require.NotContains(t, got, "groups")
		}},
		{"GroupWithMembers", "/groups/{leads}", "/Groups/{leads}", func(t *testing.T, got map[string]any) {
			require.ElementsMatch(t, []any{
				map[string]any{"value": b.ids["alice"], "display": "alice@example.com", "type": "User", "$ref": tenantURL + "/Users/" + b.ids["alice"]},
				map[string]any{"value": b.ids["guides"], "display": "Guides", "type": "Group", "$ref": tenantURL + "/Groups/" + b.ids["guides"]},
			}, got["members"])
		}},
		{"ExcludedMembers", "/groups/{guides}?excludedAttributes=members", "/Groups/{guides}?excludedAttributes=members", func(t *testing.T, got map[string]any) {
			require.NotContains(t, got, "members")
			require.Equal(t, "Guides", got["displayName"])
		}},
		{"Attributes", "/users/{bob}?attributes=userName,groups.display", "/Users/{bob}?attributes=userName,groups.display", func(t *testing.T, got map[string]any) {
			require.Equal(t, []any{map[string]any{"display": "Guides"}}, got["groups"])
			require.NotContains(t, got, "meta")
		}},
		{"UsersPaged", "/users?sortBy=userName&startIndex=2&count=1", "/Users?sortBy=userName&startIndex=2&count=1", func(t *testing.T, got map[string]any) {
			require.EqualValues(t, 3, got["total"])
			require.EqualValues(t, 2, got["start_index"])
			list := got["resources"].([]any)
			require.Len(t, list, 1)
			bob := list[0].(map[string]any)
			require.Equal(t, "bob@example.com", bob["userName"])
			require.Len(t, bob["groups"], 1, "a page's users carry their groups")
		}},
		{"GroupsPaged", "/groups?sortBy=displayName&count=1", "/Groups?sortBy=displayName&count=1", func(t *testing.T, got map[string]any) {
			require.EqualValues(t, 2, got["total"])
			list := got["resources"].([]any)
			require.Len(t, list, 1)
			require.Len(t, list[0].(map[string]any)["members"], 2, "a page's groups carry their members")
		}},
		{"Filtered", `/users?filter=userName%20sw%20%22c%22`, `/Users?filter=userName%20sw%20%22c%22`, func(t *testing.T, got map[string]any) {
			require.EqualValues(t, 1, got["total"])
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res, got := b.admin(t, "/acme"+c.admin)
			require.Equal(t, http.StatusOK, res.StatusCode, "%v", got)
			c.check(t, got)
			want := b.scim(t, "GET", c.scim, "")
			if list, ok := got["resources"]; ok {
				require.Equal(t, want["Resources"], list, "the resources of a page are SCIM's")
				require.Equal(t, want["totalResults"], got["total"])
				require.Equal(t, want["startIndex"], got["start_index"])
				return
			}
			require.Equal(t, want, got, "a resource is SCIM's")
		})
	}
}

// TestAdminAPIStreamsLargeGroup shows a group too large for one buffer
// streamed to the admin (no Content-Length: the body is sent as it is
// read from the store) with every member, as SCIM sends it.
func TestAdminAPIStreamsLargeGroup(t *testing.T) {
	t.Parallel()
	const n = 1500
	b := setupDirectory(t)
	ctx := context.Background()
	acme, err := b.roster.Tenants.Get(ctx, "acme")
	require.NoError(t, err)
	dir := b.roster.Directory
	members := make([]any, n)
	for i := range members {
		res, err := dir.Create(ctx, acme.ID, dir.Registry().User(), map[string]any{"userName": fmt.Sprintf("user%04d@example.com", i)})
		require.NoError(t, err)
		members[i] = map[string]any{"value": res.ID}
	}
	g, err := dir.Create(ctx, acme.ID, dir.Registry().Group(), map[string]any{"displayName": "Everyone", "members": members})
	require.NoError(t, err)
	b.ids["everyone"] = g.ID

	for _, c := range []struct{ name, admin, scim string }{
		{"One", "/groups/{everyone}", "/Groups/{everyone}"},
		{"List", "/groups", "/Groups"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res, got := b.admin(t, "/acme"+c.admin)
			require.Equal(t, http.StatusOK, res.StatusCode)
			require.EqualValues(t, -1, res.ContentLength, "streamed, not buffered whole")
			require.Equal(t, []string{"chunked"}, res.TransferEncoding)
			want := b.scim(t, "GET", c.scim, "")
			if list, ok := got["resources"]; ok {
				require.Len(t, list, 1)
				got = list.([]any)[0].(map[string]any)
				want = want["Resources"].([]any)[0].(map[string]any)
			}
			require.Len(t, got["members"], n)
			require.Equal(t, want, got)
		})
	}
}

// TestAdminAPIResourceErrors checks the answers to bad reads: they come
// before any of the body, so they are proper JSON errors.
func TestAdminAPIResourceErrors(t *testing.T) {
	t.Parallel()
	b := setupDirectory(t)
	cases := []struct {
		name, path string
		status     int
		code       string // "" checks only that there is one
	}{
		// The directory's not-found is a SCIM error, which the admin API
		// answers with code invalid_request; only the status is pinned.
		{"UnknownUser", "/acme/users/nope", 404, ""},
		{"UnknownGroup", "/acme/groups/nope", 404, ""},
		{"UnknownTenant", "/nope/users", 404, "not_found"},
		{"UnknownAttribute", "/acme/users?attributes=nope", 400, "invalid_request"},
		{"BadFilter", "/acme/groups?filter=displayName%20zz%20%22x%22", 400, "invalid_request"},
		{"BadCount", "/acme/users?count=many", 400, "invalid_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res, got := b.admin(t, c.path)
			require.Equal(t, c.status, res.StatusCode, "%v", got)
			require.NotEmpty(t, got["error"])
			require.NotEmpty(t, got["message"])
			if c.code != "" {
				require.Equal(t, c.code, got["error"])
			}
		})
	}
}
