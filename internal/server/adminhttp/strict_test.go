package adminhttp_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAdminAPIBodiesDecodedStrictly: an admin API body with invalid UTF-8
// or two keys differing only in case is refused with 400 and changes
// nothing, as SCIM bodies are (docs/scim-bodies.md): encoding/json would
// store U+FFFD for the one and take either key of the other.
func TestAdminAPIBodiesDecodedStrictly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.login("root")
	for name, body := range map[string]string{
		"NotUTF8":      "{\"name\":\"ac\xffme\"}",
		"KeysInCase":   `{"name":"acme","NAME":"evil"}`,
		"SameKeyTwice": `{"name":"acme","name":"evil"}`,
	} {
		t.Run(name, func(t *testing.T) {
			r := e.call("POST", "/admin/api/tenants", tok, body)
			require.Equal(t, 400, r.status, "%v", r.json)
		})
	}
	r := e.call("GET", "/admin/api/tenants", tok, "")
	require.Equal(t, 200, r.status)
	for _, tn := range r.json["tenants"].([]any) {
		require.NotContains(t, []string{"acme", "evil"}, tn.(map[string]any)["name"], "nothing was created")
	}
}
