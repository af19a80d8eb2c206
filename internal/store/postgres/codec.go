package postgres

import (
	"time"

	"github.com/rosterhq/roster/internal/store/sqlfilter"
)

// parseTime reads a resource timestamp stored as sqlfilter.TimeLayout text.
func parseTime(s string) (time.Time, error) { return sqlfilter.ParseTime(s) }

// nullTime returns t for a timestamptz column: NULL for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// utc turns a timestamptz read as *time.Time into UTC, the zero time for
// NULL.
func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// nonNil keeps a nil hash from becoming NULL in a NOT NULL column.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
