package scimhttp_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRootSearchProjection checks that POST /.search at the server root
// honours "attributes" and "excludedAttributes" per resource type, as
// RFC 7644 §3.4.3 Figure 4 asks: a name applies where the type has it.
func TestRootSearchProjection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.replay([]step{
		{name: "User", method: http.MethodPost, path: "/Users", status: http.StatusCreated,
			body: `{"userName":"root@example.com","displayName":"Root User","nickName":"R","emails":[{"value":"root@example.com"}]}`, save: map[string]string{"u": "id"}},
		{name: "Group", method: http.MethodPost, path: "/Groups", status: http.StatusCreated,
			body: `{"displayName":"Root Group","externalId":"g-ext","members":[{"value":"{{u}}"}]}`, save: map[string]string{"g": "id"}},
	})
	const search = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],`
	keys := func(m any) []string {
		var out []string
		for k := range m.(map[string]any) {
			out = append(out, k)
		}
		return out
	}
	tests := []struct {
		name  string
		body  string
		user  []string // keys of the user in the answer
		group []string // keys of the group in the answer
	}{
		{
			name:  "Figure4Attributes",
			body:  search + `"attributes":["displayName","userName"],"filter":"displayName sw \"Root\"","startIndex":1,"count":10}`,
			user:  []string{"id", "schemas", "displayName", "userName"},
			group: []string{"id", "schemas", "displayName"},
		},
		{
			name:  "AttributeOfOneTypeOnly",
			body:  search + `"attributes":["userName"]}`,
			user:  []string{"id", "schemas", "userName"},
			group: []string{"id", "schemas"},
		},
		{
			name:  "ExcludedAttributes",
			body:  search + `"excludedAttributes":["members","emails","meta","nickName"]}`,
			user:  []string{"id", "schemas", "userName", "displayName", "groups"},
			group: []string{"id", "schemas", "displayName", "externalId"},
		},
		{
			name:  "ExcludedCoreAttributeOfBoth",
			body:  search + `"excludedAttributes":["displayName","meta","groups","members"]}`,
			user:  []string{"id", "schemas", "userName", "nickName", "emails"},
			group: []string{"id", "schemas", "externalId"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := e.on(t).do(http.MethodPost, "/.search", tc.body)
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			require.Equal(t, 2, total(r), "%s", r.Body)
			for _, res := range resources(r) {
				switch res.(map[string]any)["id"] {
				case e.vars["u"]:
					require.ElementsMatch(t, tc.user, keys(res), "user: %s", r.Body)
				case e.vars["g"]:
					require.ElementsMatch(t, tc.group, keys(res), "group: %s", r.Body)
				default:
					t.Fatalf("unexpected resource in %s", r.Body)
				}
			}
		})
	}
	t.Run("NameNoTypeHas", func(t *testing.T) {
		t.Parallel()
		r := e.on(t).do(http.MethodPost, "/.search", search+`"attributes":["shoeSize"]}`)
		requireSCIMError(t, r, http.StatusBadRequest)
		require.Equal(t, "invalidValue", r.JSON["scimType"], "%s", r.Body)
	})
}
