package webhook

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
)

// TestEncodeEvent checks the hand-spliced event JSON against encoding/json.
func TestEncodeEvent(t *testing.T) {
	for _, data := range []string{`{"resource":{"id":"1","name":{"givenName":"Ada \"the\" first"}}}`, `{}`, ``} {
		ev := store.Event{ID: "e1", Tenant: "t\"1", Type: store.UserCreated, Time: time.Date(2026, 12, 2, 1, 2, 3, 4000, time.UTC),
			ResourceType: "User", ResourceID: "u<1>", Data: json.RawMessage(data)}
		got, err := encodeEvent(ev)
		require.NoError(t, err)
		if data == "" {
			ev.Data = nil
		}
		want, err := json.Marshal(ev)
		require.NoError(t, err)
		require.JSONEq(t, string(want), string(got), "data %q", data)
	}
}
