package scimhttp_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/password"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
)

// storedPasswordOf returns the password the store holds for the user, ""
// if none.
func (e *env) storedPasswordOf(id string) string {
	e.t.Helper()
	ctx := context.Background()
	tn, err := e.tenants.Get(ctx, "default")
	require.NoError(e.t, err)
	u, err := e.st.Resources().Get(ctx, tn.ID, schema.UserResource, id)
	require.NoError(e.t, err)
	pw, _ := u.Attrs["password"].(string)
	return pw
}

// TestPasswordCannotBeProbed: no filter, sort order or search over HTTP
// can tell anything about a password: each is refused with 400
// invalidFilter, and changes nothing.
func TestPasswordCannotBeProbed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice","password":"Apple-Pie-42"}`)
	require.Equal(t, 201, r.Status, "%s", r.Body)
	id := r.JSON["id"].(string)
	require.NotContains(t, r.JSON, "password")

	q := url.QueryEscape
	for _, tc := range []struct {
		name, method, path, body string
	}{
		{"FilterSw", "GET", "/Users?filter=" + q(`password sw "A"`), ""},
		{"FilterEq", "GET", "/Users?filter=" + q(`password eq "Apple-Pie-42"`), ""},
		{"FilterPr", "GET", "/Users?filter=" + q(`password pr`), ""},
		{"FilterGt", "GET", "/Users?filter=" + q(`userName eq "alice" and password gt "A"`), ""},
		{"FilterQualified", "GET", "/Users?filter=" + q(`urn:ietf:params:scim:schemas:core:2.0:User:password co "e"`), ""},
		{"SortBy", "GET", "/Users?sortBy=password", ""},
		{"SortByDescending", "GET", "/Users?sortBy=Password&sortOrder=descending", ""},
		{"SearchFilter", "POST", "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"password sw \"A\""}`},
		{"SearchSortBy", "POST", "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"sortBy":"password"}`},
		{"RootSearch", "POST", "/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"password sw \"A\""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.body)
			require.Equal(t, 400, r.Status, "%s", r.Body)
			requireSCIMError(t, r, 400)
			require.Equal(t, "invalidFilter", r.JSON["scimType"], "%s", r.Body)
			require.NotContains(t, string(r.Body), "Apple")
		})
	}
	r = e.do("GET", "/Users/"+id+"?attributes=password", "")
	require.Equal(t, 200, r.Status)
	require.NotContains(t, r.JSON, "password", "never returned, even when asked for")
	require.NotContains(t, string(r.Body), "argon2")
	require.Equal(t, 200, e.do("GET", "/Users?filter="+q(`userName eq "alice"`), "").Status, "other filters still work")
}

// TestPasswordStoredHashed: every way of sending a password over HTTP
// stores its salted hash, never the clear text; with store_passwords
// "none" nothing is stored.
func TestPasswordStoredHashed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice","password":"Apple-Pie-42"}`)
	require.Equal(t, 201, r.Status, "%s", r.Body)
	alice := r.JSON["id"].(string)
	requireHash(t, e.storedPasswordOf(alice), "Apple-Pie-42")

	r = e.do("PATCH", "/Users/"+alice, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"password","value":"Banana-Split-7"}]}`)
	require.Contains(t, []int{200, 204}, r.Status, "%s", r.Body)
	require.NotContains(t, string(r.Body), "Banana")
	require.NotContains(t, string(r.Body), "argon2", "nor the stored form")
	requireHash(t, e.storedPasswordOf(alice), "Banana-Split-7")

	r = e.do("PUT", "/Users/"+alice, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice","title":"CEO"}`)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	require.NotContains(t, string(r.Body), "argon2")
	requireHash(t, e.storedPasswordOf(alice), "Banana-Split-7")

	r = e.do("POST", "/Bulk", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[
		{"method":"POST","path":"/Users","bulkId":"b1","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob","password":"Cherry-Tart-9"}}]}`)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	bob := strings.TrimPrefix(path(r.JSON, "Operations.0.location").(string), e.tenantURL+"/Users/")
	requireHash(t, e.storedPasswordOf(bob), "Cherry-Tart-9")

	_, err := e.tenants.SetStorePasswords(context.Background(), "default", store.StorePasswordsNone, "test")
	require.NoError(t, err)
	r = e.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"carol","password":"Date-Loaf-3"}`)
	require.Equal(t, 201, r.Status, "%s", r.Body)
	require.Empty(t, e.storedPasswordOf(r.JSON["id"].(string)))
	r = e.do("PATCH", "/Users/"+alice, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"password":"Elder-Flower-5"}}]}`)
	require.Contains(t, []int{200, 204}, r.Status, "%s", r.Body)
	require.Empty(t, e.storedPasswordOf(alice), "the password set after the switch is not kept, nor the stale one")
}

func requireHash(t *testing.T, stored, clear string) {
	t.Helper()
	require.NotContains(t, stored, clear)
	ok, err := password.Check(stored, clear)
	require.NoError(t, err, "stored form %q", stored)
	require.True(t, ok)
}
