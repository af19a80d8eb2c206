package sqlite

import (
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
func parseTime(s string) (time.Time, error) { return sqlfilter.ParseTime(s) }
