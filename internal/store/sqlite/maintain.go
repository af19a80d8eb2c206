package sqlite

import "context"

// Maintain runs PRAGMA optimize over every table (mask 0x10002: analyze
// where it may help, looking at all tables rather than only those this
// connection queried), as SQLite's documentation recommends doing
// periodically in long-lived processes. It goes through the write
// connection because it may write the statistics tables.
func (s *Store) Maintain(ctx context.Context) error {
	return s.write(ctx, func(w *writer) error {
		_, err := w.s.wconn.ExecContext(ctx, "PRAGMA optimize=0x10002")
		return w.s.fail("optimize", err)
	})
}
