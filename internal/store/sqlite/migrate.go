package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"math"
	"time"

	"github.com/rosterhq/roster/internal/store/migration"
)

// migrationFS holds the schema migrations, named NNNN_name.up.sql and
// applied in the order of NNNN.
//
//go:embed migrations/*.up.sql
var migrationFS embed.FS

// migrations returns the embedded migrations in order.
func migrations() ([]migration.Migration, error) { return migration.Load(migrationFS) }

// latestMigration is the schema version this build migrates to.
func latestMigration() int { return migration.Latest(migrationFS) }

// migrate applies the migrations that schema_migrations does not list, each
// in its own IMMEDIATE transaction together with its schema_migrations row,
// so that a failed migration leaves nothing behind and two processes opening
// the same file cannot both apply one. Running it again is a no-op.
func migrate(ctx context.Context, conn *sql.Conn) error { return migrateTo(ctx, conn, math.MaxInt) }

// migrateTo is migrate up to and including version last.
func migrateTo(ctx context.Context, conn *sql.Conn, last int) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name    TEXT NOT NULL,
		applied TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		if m.Version > last {
			break
		}
		if err := apply(ctx, conn, m); err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// apply runs one migration with foreign keys off, as SQLite's procedure for
// rebuilding a table requires (dropping a table that others refer to would
// otherwise fail or cascade), and checks them before it commits. The pragma
// is a no-op inside a transaction, hence around it.
func apply(ctx context.Context, conn *sql.Conn, m migration.Migration) (err error) {
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return err
	}
	defer func() {
		if _, ferr := conn.ExecContext(context.Background(), "PRAGMA foreign_keys = ON"); ferr != nil && err == nil {
			err = ferr
		}
	}()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?1", m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		_, err := conn.ExecContext(ctx, "COMMIT")
		return err
	}
	if _, err := conn.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if step := dataSteps[m.Version]; step != nil {
		if err := step(ctx, conn); err != nil {
			return err
		}
	}
	if err := foreignKeyCheck(ctx, conn); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied) VALUES (?1, ?2, ?3)",
		m.Version, m.Name, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}

// foreignKeyCheck fails if any row refers to a missing one.
func foreignKeyCheck(ctx context.Context, conn *sql.Conn) error {
	rows, err := conn.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		var (
			table, parent string
			rowid         sql.NullInt64
			fk            int
		)
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return err
		}
		return fmt.Errorf("foreign key check: a row of %s refers to a missing row of %s", table, parent)
	}
	return rows.Err()
}
