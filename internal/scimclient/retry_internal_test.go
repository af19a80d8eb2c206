package scimclient

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBackoff requires each wait to double, to keep at least half of its
// nominal value and to stop growing at MaxDelay.
func TestBackoff(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}.withDefaults()
	for _, tc := range []struct {
		attempt int
		nominal time.Duration
	}{{1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {4, 800 * time.Millisecond}, {5, time.Second}, {60, time.Second}} {
		for range 50 {
			d := p.backoff(tc.attempt)
			require.LessOrEqual(t, d, tc.nominal, "attempt %d", tc.attempt)
			require.GreaterOrEqual(t, d, tc.nominal/2, "attempt %d", tc.attempt)
		}
	}
}
