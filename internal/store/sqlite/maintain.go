package sqlite

import (
	"context"
)

// Maintain runs PRAGMA optimize over every table (mask 0x10002: analyze
// where it may help, looking at all tables rather than only those this
// connection queried), as SQLite's documentation recommends doing
// periodically in long-lived processes. It goes through the write
// connection because it may write the statistics tables.
//
// It then drops the STAT4 samples ANALYZE collects: with samples for an
// index, SQLite re-plans every prepared statement whose bound values it
// could use on that index each time it runs (the token lookup of every
// request went from 6 to 14 µs), and Roster's equality probes gain nothing
// from samples. The per-index row estimates of sqlite_stat1 stay.
func (s *Store) Maintain(ctx context.Context) error {
	return s.write(ctx, func(w *writer) error {
		if _, err := w.s.wconn.ExecContext(ctx, "PRAGMA optimize=0x10002"); err != nil {
			return w.s.fail("optimize", err)
		}
		var stat4 int
		err := w.s.wconn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat4'").Scan(&stat4)
		if err != nil || stat4 == 0 {
			return w.s.fail("optimize", err)
		}
		var samples int
		if err := w.s.wconn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM sqlite_stat4)").Scan(&samples); err != nil {
			return w.s.fail("optimize", err)
		}
		if samples == 0 {
			return nil
		}
		// ANALYZE sqlite_schema reloads the statistics without re-reading
		// any table.
		for _, q := range []string{"DELETE FROM sqlite_stat4", "ANALYZE sqlite_schema"} {
			if _, err := w.s.wconn.ExecContext(ctx, q); err != nil {
				return w.s.fail("drop STAT4 samples", err)
			}
		}
		return nil
	})
}
