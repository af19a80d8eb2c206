package sqlfilter

import (
	"fmt"
	"time"

	"github.com/rosterhq/roster/internal/store"
)

// Row is a row being scanned, as database/sql and pgx both give it.
type Row interface{ Scan(dest ...any) error }

// ScanResource reads a resource of the given tenant and type from its id,
// attributes (text in the shared JSON codec), created and modified times
// (TimeLayout text) and version, in that order.
// Both backends store resources alike, so they read them with this one
// function.
func ScanResource(row Row, tenant, typ string) (store.Resource, error) {
	var (
		r                        = store.Resource{Tenant: tenant, Type: typ}
		attrs, created, modified string
	)
	if err := row.Scan(&r.ID, &attrs, &created, &modified, &r.Version); err != nil {
		return r, err
	}
	var err error
	if r.Attrs, err = DecodeAttrs(attrs); err != nil {
		return r, err
	}
	if r.Created, err = ParseTime(created); err != nil {
		return r, err
	}
	if r.Modified, err = ParseTime(modified); err != nil {
		return r, err
	}
	return r, nil
}

// ParseTime reads a time stored as TimeLayout text; "" (a NULL read as
// text) is the zero time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t, nil
}
