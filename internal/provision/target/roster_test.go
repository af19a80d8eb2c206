package target_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/app/apptest"
	"github.com/rosterhq/roster/internal/provision/target"
	"github.com/rosterhq/roster/internal/scimclient"
)

// backends are the stores Roster runs on as the target; PostgreSQL skips
// unless ROSTER_TEST_PG_DSN is set.
var backends = apptest.Backends

// roster is a real Roster on a fresh store, reached over HTTP.
type roster struct {
	base   string // the server's root URL
	tenant string // the Tenant URL
	token  string
}

func setupRoster(t *testing.T, backend string) *roster {
	t.Helper()
	srv := apptest.Start(t, backend, nil)
	return &roster{base: srv.URL, tenant: srv.TenantURL, token: srv.Token}
}

// exchanges counts captured attempts by method and path.
type exchanges struct {
	mu  sync.Mutex
	all []scimclient.Exchange
}

func (x *exchanges) capture(e scimclient.Exchange) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.all = append(x.all, e)
}

// count returns how many attempts had the method and a URL containing
// part.
func (x *exchanges) count(method, part string) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for _, e := range x.all {
		if e.Method == method && strings.Contains(e.URL, part) {
			n++
		}
	}
	return n
}

func (r *roster) target(t *testing.T, o target.Options) *target.Target {
	t.Helper()
	o.URL = r.tenant
	if o.Token == "" && o.TokenSource == nil {
		o.Token = r.token
	}
	tg, err := target.New(o)
	require.NoError(t, err)
	return tg
}

func user(name string) map[string]any {
	return map[string]any{
		"schemas":  []any{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": name, "active": true, "externalId": "ext-" + name,
		"name":   map[string]any{"givenName": "Ann", "familyName": "Lee"},
		"emails": []any{map[string]any{"value": name, "type": "work", "primary": true}},
	}
}

func createUsers(t *testing.T, tg *target.Target, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		id, err := tg.Create(context.Background(), scimclient.Users, user(fmt.Sprintf("user%03d@example.com", i)))
		require.NoError(t, err)
		ids[i] = id
	}
	return ids
}

// TestUserLifecycle creates, finds, reads, updates (PATCH and PUT) and
// deletes a user in a real Roster, in each dialect's PATCH shape.
func TestUserLifecycle(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		for _, d := range []scimclient.Dialect{scimclient.RFC, scimclient.Entra, scimclient.EntraSCIM062020, scimclient.Okta} {
			t.Run(backend+"/"+d.Name, func(t *testing.T) {
				t.Parallel()
				r := setupRoster(t, backend)
				ctx := context.Background()
				tg := r.target(t, target.Options{Dialect: d})
				require.NoError(t, tg.Test(ctx, ""))
				require.NoError(t, tg.Test(ctx, "externalId"))

				id, err := tg.Create(ctx, scimclient.Users, user("ann@example.com"))
				require.NoError(t, err)
				require.NotEmpty(t, id)

				found, err := tg.Find(ctx, scimclient.Users, `userName eq "ANN@example.com"`)
				require.NoError(t, err)
				require.Len(t, found, 1)
				require.Equal(t, id, found[0]["id"])
				none, err := tg.Find(ctx, scimclient.Users, `userName eq "nobody@example.com"`)
				require.NoError(t, err)
				require.Empty(t, none)

				ops := []scimclient.Op{
					scimclient.Replace("title", "Engineer"),
					scimclient.Replace("active", false),
					scimclient.Replace(`emails[type eq "work"].value`, "ann.lee@example.com"),
				}
				require.NoError(t, tg.Update(ctx, scimclient.Users, id, nil, ops))
				got, err := tg.Get(ctx, scimclient.Users, id)
				require.NoError(t, err)
				require.Equal(t, "Engineer", got["title"])
				require.Equal(t, false, got["active"])
				require.Equal(t, "ann.lee@example.com", got["emails"].([]any)[0].(map[string]any)["value"])

				// PUT replaces the whole user: the title is gone.
				put := r.target(t, target.Options{Dialect: d, UpdateWithPUT: true})
				desired := user("ann@example.com")
				desired["displayName"] = "Ann Lee"
				require.NoError(t, put.Update(ctx, scimclient.Users, id, desired, nil))
				got, err = tg.Get(ctx, scimclient.Users, id)
				require.NoError(t, err)
				require.Equal(t, "Ann Lee", got["displayName"])
				require.Nil(t, got["title"])
				require.Equal(t, true, got["active"])

				require.NoError(t, tg.Delete(ctx, scimclient.Users, id))
				_, err = tg.Get(ctx, scimclient.Users, id)
				require.True(t, scimclient.IsNotFound(err), "%v", err)
				require.NoError(t, tg.Delete(ctx, scimclient.Users, id), "a 404 counts as deleted")
			})
		}
	}
}

// TestMembersInChunks adds and removes 250 members with MembersPerPatch
// 100: three PATCHes each way, in every dialect's member shape.
func TestMembersInChunks(t *testing.T) {
	t.Parallel()
	for _, d := range []scimclient.Dialect{scimclient.RFC, scimclient.Entra, scimclient.EntraSCIM062020} {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			r := setupRoster(t, "sqlite")
			ctx := context.Background()
			var x exchanges
			tg := r.target(t, target.Options{Dialect: d, MembersPerPatch: 100, Capture: x.capture})
			ids := createUsers(t, tg, 250)
			gid, err := tg.Create(ctx, scimclient.Groups, map[string]any{
				"schemas":     []any{"urn:ietf:params:scim:schemas:core:2.0:Group"},
				"displayName": "Staff",
			})
			require.NoError(t, err)

			require.NoError(t, tg.AddMembers(ctx, gid, ids))
			require.Equal(t, 3, x.count(http.MethodPatch, "/Groups/"+gid))
			got, err := tg.MemberIDs(ctx, gid)
			require.NoError(t, err)
			require.ElementsMatch(t, ids, got)

			require.NoError(t, tg.RemoveMembers(ctx, gid, ids[:210]))
			require.Equal(t, 6, x.count(http.MethodPatch, "/Groups/"+gid))
			got, err = tg.MemberIDs(ctx, gid)
			require.NoError(t, err)
			require.ElementsMatch(t, ids[210:], got)

			require.NoError(t, tg.AddMembers(ctx, gid, nil))
			require.Equal(t, 6, x.count(http.MethodPatch, "/Groups/"+gid), "nothing to add sends nothing")
		})
	}
}

// TestEach pages through 250 users 100 at a time: three pages, each user
// once, with only the attributes asked for.
func TestEach(t *testing.T) {
	t.Parallel()
	r := setupRoster(t, "sqlite")
	ctx := context.Background()
	var x exchanges
	tg := r.target(t, target.Options{Capture: x.capture})
	ids := createUsers(t, tg, 250)
	seen := map[string]bool{}
	require.NoError(t, tg.Each(ctx, scimclient.Users, []string{"userName"}, func(u map[string]any) error {
		id := u["id"].(string)
		require.False(t, seen[id], "listed twice: %s", id)
		seen[id] = true
		require.NotEmpty(t, u["userName"])
		require.Nil(t, u["emails"], "only the attributes asked for")
		return nil
	}))
	require.Len(t, seen, len(ids))
	require.Equal(t, 3, x.count(http.MethodGet, "/Users?"))
	require.Equal(t, 1, x.count(http.MethodGet, "count=100&startIndex=201"))

	stop := fmt.Errorf("stop")
	require.ErrorIs(t, tg.Each(ctx, scimclient.Users, nil, func(map[string]any) error { return stop }), stop)
}

// TestSchemaWarningsOnRoster: Roster advertises every standard path and
// the enterprise extension; a custom URN and unknown attributes are
// warned about, once each.
func TestSchemaWarningsOnRoster(t *testing.T) {
	t.Parallel()
	r := setupRoster(t, "sqlite")
	tg := r.target(t, target.Options{})
	ctx := context.Background()
	warnings, err := tg.SchemaWarnings(ctx, "User", []string{
		"userName", "active", "displayName", "title", "externalId", "id",
		`emails[type eq "work"].value`, "name.givenName", "name.familyName",
		`addresses[type eq "work"].streetAddress`, `phoneNumbers[type eq "mobile"].value`,
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
		"employeeNumber",
	})
	require.NoError(t, err)
	require.Empty(t, warnings)

	warnings, err = tg.SchemaWarnings(ctx, "User", []string{
		"userName", "urn:example:custom:foo", "favouriteColour", "name.nickname",
		"urn:ietf:params:scim:schemas:core:2.0:Group:displayName",
	})
	require.NoError(t, err)
	require.Len(t, warnings, 4, "%q", warnings)
	require.Contains(t, warnings[0], "urn:example:custom:foo")
	require.Contains(t, warnings[0], "no schema urn:example:custom")
	require.Contains(t, warnings[1], "favouriteColour")
	require.Contains(t, warnings[2], "sub-attribute nickname")
	require.Contains(t, warnings[3], "not an extension")

	warnings, err = tg.SchemaWarnings(ctx, "Group", []string{"displayName", "members", "externalId", "userName"})
	require.NoError(t, err)
	require.Len(t, warnings, 1, "%q", warnings)
	require.Contains(t, warnings[0], "userName")
}
