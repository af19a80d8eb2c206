package loadgen

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUserJSONMatchesNewUser keeps the hand-encoded create body in step
// with the structured one the read scenarios query by.
func TestUserJSONMatchesNewUser(t *testing.T) {
	t.Parallel()
	want, err := json.Marshal(newUser("ab12", 7))
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(userJSON("ab12", 7)))
}
