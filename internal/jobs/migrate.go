package jobs

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river/rivermigrate"

	"github.com/rosterhq/roster/internal/store/migration"
)

// migrationFS holds the migrations of Roster's own tables in the jobs
// database, one directory per dialect (migrations/sqlite,
// migrations/postgres), files named NNNN_name.up.sql and applied in the
// order of NNNN. River's tables are migrated by river's own migrator
// first.
//
//go:embed migrations/sqlite/*.up.sql migrations/postgres/*.up.sql
var migrationFS embed.FS

// migrations returns the embedded migrations of dialect d, in order.
func migrations(d Dialect) ([]migration.Migration, error) {
	ms, err := migration.LoadDir(migrationFS, "migrations/"+d.Name())
	if err != nil {
		return nil, fmt.Errorf("load jobs migrations: %w", err)
	}
	return ms, nil
}

// migrateLockKey serialises the jobs database's migrations on PostgreSQL.
// It differs from the store's own migration lock, and is the key the
// webhook package used before the jobs host, so that an old and a new
// node starting together still migrate one after the other.
const migrateLockKey int64 = 0x526f737465725768 // "RosterWh"

// migrate applies river's migrations, each in its own transaction as
// rivermigrate prefers, and then Roster's, in one transaction. On
// PostgreSQL all of it runs while a transaction holds an advisory lock, so
// that of several nodes starting at once one migrates and the others then
// find nothing to do. On SQLite our transaction is IMMEDIATE, so it is
// serialised with other processes by the file's write lock; river's
// migrations are retried if another process applied the same one
// meanwhile.
func (h *Host) migrate(ctx context.Context) error {
	ms, err := migrations(h.dialect)
	if err != nil {
		return err
	}
	migrator, err := rivermigrate.New(h.driver, &rivermigrate.Config{Logger: slog.New(minLevel{h.log.Handler(), slog.LevelWarn})})
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	var lock *sql.Tx
	if h.dialect.postgres {
		if lock, err = h.db.BeginTx(ctx, nil); err != nil {
			return fmt.Errorf("begin migration: %w", err)
		}
		defer lock.Rollback() //nolint:errcheck // a no-op after Commit
		if _, err := lock.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey); err != nil {
			return fmt.Errorf("lock for migrations: %w", err)
		}
	}
	for attempt := 1; ; attempt++ {
		_, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
		if err == nil {
			break
		}
		if h.dialect.postgres || attempt == 5 {
			return fmt.Errorf("river migrations: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
	if lock != nil {
		if err := h.applyOwn(ctx, lock, ms); err != nil {
			return err
		}
		if err := lock.Commit(); err != nil {
			return fmt.Errorf("commit migrations: %w", err)
		}
		return nil
	}
	return h.Tx(ctx, func(tx *sql.Tx) error { return h.applyOwn(ctx, tx, ms) })
}

// applyOwn applies, in tx, the migrations of ms that jobs_migrations does
// not list, recording each there.
//
// Before the jobs host, the webhook package recorded its versions in
// webhook_migrations, whose version 1 is this directory's 0001 (the same
// three tables). Versions found there are copied into jobs_migrations
// first, so a jobs database created by an older Roster is upgraded rather
// than migrated again. webhook_migrations itself is left in place: an
// older binary started on the upgraded database still finds its version
// there and does not try to create the tables again.
func (h *Host) applyOwn(ctx context.Context, tx *sql.Tx, ms []migration.Migration) error {
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS jobs_migrations (
		version integer PRIMARY KEY,
		name    text    NOT NULL,
		applied bigint  NOT NULL
	)`); err != nil {
		return fmt.Errorf("create jobs_migrations: %w", err)
	}
	applied, err := h.appliedVersions(ctx, tx, "jobs_migrations")
	if err != nil {
		return err
	}
	legacy, err := h.legacyVersions(ctx, tx)
	if err != nil {
		return err
	}
	now := time.Now().UnixMicro()
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		if !legacy[m.Version] {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("jobs migration %04d_%s: %w", m.Version, m.Name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, h.dialect.Rebind(
			"INSERT INTO jobs_migrations (version, name, applied) VALUES (?, ?, ?)"),
			m.Version, m.Name, now); err != nil {
			return fmt.Errorf("record jobs migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// legacyVersions returns the versions webhook_migrations lists, none if
// the table does not exist.
func (h *Host) legacyVersions(ctx context.Context, tx *sql.Tx) (map[int]bool, error) {
	q := "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'webhook_migrations'"
	if h.dialect.postgres {
		q = "SELECT count(*) FROM (SELECT to_regclass('webhook_migrations') AS t) r WHERE t IS NOT NULL"
	}
	var n int
	if err := tx.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return nil, fmt.Errorf("look for webhook_migrations: %w", err)
	}
	if n == 0 {
		return map[int]bool{}, nil
	}
	return h.appliedVersions(ctx, tx, "webhook_migrations")
}

// appliedVersions returns the versions listed in table.
func (h *Host) appliedVersions(ctx context.Context, tx *sql.Tx, table string) (map[int]bool, error) {
	rows, err := tx.QueryContext(ctx, "SELECT version FROM "+table)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
		out[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	return out, nil
}
