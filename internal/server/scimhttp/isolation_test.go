package scimhttp_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/tenant"
)

// TestTenantIsolationMatrix replays every way a client of tenant B could
// reach tenant A's data — A's URL with B's token, A's ids, filters,
// .search and Bulk through B's URL, and the shared URL — and checks the
// status codes documented in docs/security.md, that no response carries a
// byte of A's data that the client did not send itself, and that A's resources are unchanged afterwards.
func TestTenantIsolationMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // tenant "default" is A
	ctx := context.Background()
	_, err := e.tenants.Create(ctx, "beta", "test")
	require.NoError(t, err)
	iss, err := e.tenants.IssueToken(ctx, "beta", tenant.TokenRequest{Label: "test", CreatedBy: "test"})
	require.NoError(t, err)
	tokenB := iss.Plaintext

	// A's resources, with markers that must never appear in B's answers.
	r := e.do("POST", "/Users", `{"userName":"alpha-secret@example.com","externalId":"alpha-ext-77","emails":[{"value":"alpha-mail@example.com","type":"work"}]}`)
	require.Equal(t, 201, r.Status)
	e.vars["userA"] = r.JSON["id"].(string)
	r = e.do("POST", "/Groups", `{"displayName":"alpha-group","members":[{"value":"{{userA}}"}]}`)
	require.Equal(t, 201, r.Status)
	e.vars["groupA"] = r.JSON["id"].(string)
	// B's own user, so that B's lists are not trivially empty.
	r = e.do("POST", e.srv.URL+"/scim/v2/beta/Users", `{"userName":"beta-user@example.com"}`, "Authorization", "Bearer "+tokenB)
	require.Equal(t, 201, r.Status)
	e.vars["userB"] = r.JSON["id"].(string)
	r = e.do("POST", e.srv.URL+"/scim/v2/beta/Groups", `{"displayName":"beta-group"}`, "Authorization", "Bearer "+tokenB)
	require.Equal(t, 201, r.Status)
	e.vars["groupB"] = r.JSON["id"].(string)
	before := map[string]string{
		"/Users/{{userA}}":   e.do("GET", "/Users/{{userA}}", "").Header.Get("ETag"),
		"/Groups/{{groupA}}": e.do("GET", "/Groups/{{groupA}}", "").Header.Get("ETag"),
	}

	const bulk = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[%s]}`
	const patch = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[%s]}`
	f := func(s string) string { return url.QueryEscape(s) }
	aURL := e.srv.URL + "/scim/v2/default"
	bURL := e.srv.URL + "/scim/v2/beta"
	shared := e.srv.URL + "/scim/v2"
	cases := []struct {
		name   string
		method string
		url    string
		body   string
		status int
		// bulkStatus, when set, is the status every Bulk operation must get.
		bulkStatus string
		// total, when >= 0, is the totalResults a list must report.
		total int
	}{
		// B's token on A's Tenant URL: refused before anything is read.
		{"B token, A list", "GET", aURL + "/Users", "", 401, "", -1},
		{"B token, A user", "GET", aURL + "/Users/{{userA}}", "", 401, "", -1},
		{"B token, A create", "POST", aURL + "/Users", `{"userName":"intruder@example.com"}`, 401, "", -1},
		{"B token, A patch", "PATCH", aURL + "/Users/{{userA}}", strings.Replace(patch, "%s", `{"op":"replace","path":"active","value":false}`, 1), 401, "", -1},
		{"B token, A delete", "DELETE", aURL + "/Groups/{{groupA}}", "", 401, "", -1},
		{"B token, A search", "POST", aURL + "/.search", `{"filter":"userName sw \"alpha\""}`, 401, "", -1},
		{"B token, A bulk", "POST", aURL + "/Bulk", strings.Replace(bulk, "%s", `{"method":"DELETE","path":"/Users/{{userA}}"}`, 1), 401, "", -1},
		{"B token, A discovery", "GET", aURL + "/ServiceProviderConfig", "", 401, "", -1},
		{"B token, unknown tenant", "GET", e.srv.URL + "/scim/v2/nosuch/Users", "", 401, "", -1},

		// A's ids through B's own URL: as if they did not exist.
		{"A user id via B", "GET", bURL + "/Users/{{userA}}", "", 404, "", -1},
		{"A group id via B", "GET", bURL + "/Groups/{{groupA}}", "", 404, "", -1},
		{"A user id as group via B", "GET", bURL + "/Groups/{{userA}}", "", 404, "", -1},
		{"replace A user via B", "PUT", bURL + "/Users/{{userA}}", `{"userName":"stolen@example.com"}`, 404, "", -1},
		{"patch A user via B", "PATCH", bURL + "/Users/{{userA}}", strings.Replace(patch, "%s", `{"op":"replace","path":"active","value":false}`, 1), 404, "", -1},
		{"patch A group via B", "PATCH", bURL + "/Groups/{{groupA}}", strings.Replace(patch, "%s", `{"op":"remove","path":"members"}`, 1), 404, "", -1},
		{"delete A user via B", "DELETE", bURL + "/Users/{{userA}}", "", 404, "", -1},
		{"delete A group via B", "DELETE", bURL + "/Groups/{{groupA}}", "", 404, "", -1},
		{"B group adds A user", "PATCH", bURL + "/Groups/{{groupB}}", strings.Replace(patch, "%s", `{"op":"add","path":"members","value":[{"value":"{{userA}}"}]}`, 1), 400, "", -1},
		{"B creates group with A user", "POST", bURL + "/Groups", `{"displayName":"x","members":[{"value":"{{userA}}"}]}`, 400, "", -1},
		{"B group gets A group as member", "PATCH", bURL + "/Groups/{{groupB}}", strings.Replace(patch, "%s", `{"op":"add","path":"members","value":[{"value":"{{groupA}}"}]}`, 1), 400, "", -1},

		// Filters and searches through B's URL find nothing of A's.
		{"filter A userName", "GET", bURL + "/Users?filter=" + f(`userName eq "alpha-secret@example.com"`), "", 200, "", 0},
		{"filter A id", "GET", bURL + "/Users?filter=" + f(`id eq "{{userA}}"`), "", 200, "", 0},
		{"filter A externalId", "GET", bURL + "/Users?filter=" + f(`externalId eq "alpha-ext-77"`), "", 200, "", 0},
		{"filter A email", "GET", bURL + "/Users?filter=" + f(`emails[value co "alpha"]`), "", 200, "", 0},
		{"filter A group", "GET", bURL + "/Groups?filter=" + f(`displayName sw "alpha"`), "", 200, "", 0},
		{"filter A membership", "GET", bURL + "/Groups?filter=" + f(`members.value eq "{{userA}}"`), "", 200, "", 0},
		{"list B users", "GET", bURL + "/Users", "", 200, "", 1},
		{"list B groups", "GET", bURL + "/Groups", "", 200, "", 1},
		{"search B users", "POST", bURL + "/Users/.search", `{"filter":"userName pr"}`, 200, "", 1},
		{"root search B", "POST", bURL + "/.search", `{"filter":"id pr"}`, 200, "", 2},

		// Bulk through B's URL cannot touch A's resources.
		{"bulk patch A", "POST", bURL + "/Bulk", strings.Replace(bulk, "%s", `{"method":"PATCH","path":"/Users/{{userA}}","data":`+strings.Replace(patch, "%s", `{"op":"add","path":"title","value":"x"}`, 1)+`}`, 1), 200, "404", -1},
		{"bulk put A", "POST", bURL + "/Bulk", strings.Replace(bulk, "%s", `{"method":"PUT","path":"/Users/{{userA}}","data":{"userName":"stolen@example.com"}}`, 1), 200, "404", -1},
		{"bulk delete A", "POST", bURL + "/Bulk", strings.Replace(bulk, "%s", `{"method":"DELETE","path":"/Groups/{{groupA}}"}`, 1), 200, "404", -1},
		{"bulk group with A user", "POST", bURL + "/Bulk", strings.Replace(bulk, "%s", `{"method":"POST","path":"/Groups","bulkId":"g","data":{"displayName":"x","members":[{"value":"{{userA}}"}]}}`, 1), 200, "400", -1},

		// The shared URL: B's token names tenant B and nothing else.
		{"shared list", "GET", shared + "/Users", "", 200, "", 1},
		{"shared A user", "GET", shared + "/Users/{{userA}}", "", 404, "", -1},
		{"shared filter A", "GET", shared + "/Users?filter=" + f(`userName eq "alpha-secret@example.com"`), "", 200, "", 0},
		{"shared root search", "POST", shared + "/.search", `{"filter":"id pr"}`, 200, "", 2},
		{"shared delete A", "DELETE", shared + "/Users/{{userA}}", "", 404, "", -1},
		{"shared bulk delete A", "POST", shared + "/Bulk", strings.Replace(bulk, "%s", `{"method":"DELETE","path":"/Users/{{userA}}"}`, 1), 200, "404", -1},
	}
	markers := []string{"alpha-secret", "alpha-ext-77", "alpha-mail", "alpha-group", e.vars["userA"], e.vars["groupA"], "/scim/v2/default"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(c.method, c.url, c.body, "Authorization", "Bearer "+tokenB)
			require.Equal(t, c.status, r.Status, "%s %s: %s", c.method, c.url, r.Body)
			if c.status >= 400 {
				requireSCIMError(t, r, c.status)
			}
			if c.total >= 0 {
				require.Equal(t, c.total, total(r), "%s", r.Body)
			}
			if c.bulkStatus != "" {
				ops := r.JSON["Operations"].([]any)
				require.NotEmpty(t, ops)
				for _, op := range ops {
					require.Equal(t, c.bulkStatus, path(op, "status"), "%s", r.Body)
				}
			}
			body, sent := string(r.Body), e.expand(c.url+c.body)
			for _, m := range markers {
				if strings.Contains(sent, m) {
					continue // echoing what the client sent reveals nothing
				}
				require.NotContains(t, body, m, "tenant A's data leaked into %s %s", c.method, c.url)
			}
		})
	}

	// A's resources are exactly as they were, and the intruder's create
	// was not written.
	for p, etag := range before {
		require.Equal(t, etag, e.do("GET", p, "").Header.Get("ETag"), "%s changed", p)
	}
	require.Equal(t, 1, total(e.do("GET", "/Users", "")))
	require.Equal(t, []any{map[string]any{"value": e.vars["userA"], "display": "alpha-secret@example.com", "type": "User",
		"$ref": aURL + "/Users/" + e.vars["userA"]}}, e.do("GET", "/Groups/{{groupA}}", "").JSON["members"])
}
