package directory

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEventDataEncode pins the event payload to what json.Marshal wrote
// before it was encoded by hand: the outbox format does not change.
func TestEventDataEncode(t *testing.T) {
	t.Parallel()
	doc := map[string]any{
		"id": "u1", "schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": "a<b>&c", "name": map[string]any{"givenName": "Zoë"}, "n": json.Number("1.5"),
		"emails": []any{map[string]any{"value": "x@y", "primary": true}},
	}
	for _, d := range []eventData{
		{Resource: doc},
		{Resource: doc, ChangedAttributes: []string{"userName", "name.givenName"}},
		{Resource: doc, Members: []string{"m1", "m2"}},
		{Resource: doc, ChangedAttributes: []string{}, Members: []string{}},
		{},
	} {
		want, err := json.Marshal(d)
		require.NoError(t, err)
		got, err := d.encode()
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
	}
}
