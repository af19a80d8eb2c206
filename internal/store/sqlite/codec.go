package sqlite

import (
	"fmt"
	"time"

	"github.com/rosterhq/roster/internal/store/sqlfilter"
)

// formatTime returns t as stored; the zero time is stored as NULL.
func formatTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return sqlfilter.FormatTime(t)
}

// parseTime reads a stored time; NULL and "" are the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(sqlfilter.TimeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t, nil
}
