package filter

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPresent(t *testing.T) {
	t.Parallel()
	for v, want := range map[any]bool{"": false, "x": true, int64(0): true, false: true} {
		require.Equal(t, want, Present(v), "%v", v)
	}
	require.False(t, Present(nil))
	require.False(t, Present([]any{"", map[string]any{"a": ""}}))
	require.True(t, Present([]any{"", map[string]any{"a": false}}))
}
