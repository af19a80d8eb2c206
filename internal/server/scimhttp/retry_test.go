package scimhttp_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRetriedCreateIsNotDuplicated: a create whose answer the client lost
// (on PostgreSQL a connection dropped after the commit answers 503 for a
// write that happened, docs/security.md) is safe to retry. The retried POST
// is refused with 409 uniqueness rather than creating a second user, and
// the lookup by userName that Entra ID and Okta make before creating finds
// the one user (issue 12, item 19). Runs on PostgreSQL with
// ROSTER_TEST_SCIM_BACKEND=postgres.
func TestRetriedCreateIsNotDuplicated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Retry.Me@example.com","externalId":"r-1","active":true}`
	first := e.do("POST", "/Users", body)
	require.Equal(t, 201, first.Status)

	// The client did not get that answer and sends the create again, with
	// the userName in another case, as some clients normalise it.
	again := e.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"retry.me@EXAMPLE.com","externalId":"r-1","active":true}`)
	require.Equal(t, 409, again.Status)
	require.Equal(t, "uniqueness", again.JSON["scimType"])

	found := e.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "retry.me@example.com"`), "")
	require.Equal(t, 200, found.Status)
	require.EqualValues(t, 1, found.JSON["totalResults"], "one user, found by its userName")
	list := found.JSON["Resources"].([]any)
	require.Equal(t, first.JSON["id"], list[0].(map[string]any)["id"])
}
