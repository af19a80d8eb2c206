package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster/internal/store"
)

// staleTablesSQL finds Roster's tables changed by more than a tenth since
// their statistics were last gathered (with a floor, so small tables are
// left alone). Autovacuum does this when it is on; some servers run with it
// off, and then a growing table keeps the planner's empty-table estimates,
// which turn index lookups into scans.
const staleTablesSQL = `SELECT relname FROM pg_stat_user_tables
WHERE schemaname = current_schema() AND n_mod_since_analyze > 1000 + n_live_tup / 10`

// Maintain analyzes the tables whose statistics are stale.
func (s *Store) Maintain(ctx context.Context) error {
	const op = "maintain statistics"
	if s.closed.Load() {
		return store.ErrUnavailable
	}
	rows, err := s.pool.Query(ctx, staleTablesSQL)
	if err != nil {
		return s.fail(op, err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return s.fail(op, err)
	}
	for _, t := range tables {
		if _, err := s.pool.Exec(ctx, "ANALYZE "+pgx.Identifier{t}.Sanitize()); err != nil {
			return s.fail(op+" of "+t, err)
		}
	}
	return nil
}
