package webhook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver for the jobs file
)

// Jobs is the database that holds the delivery queue: river's tables and
// the webhook_deliveries, webhook_cursors and webhook_lanes tables. On
// SQLite it is a file of its own beside Roster's (see SQLiteJobsPath); on
// PostgreSQL it is Roster's own database and schema, reached through its
// pool. Both are used through database/sql, so that one code path (river's
// Client[*sql.Tx]) serves both.
type Jobs struct {
	db       *sql.DB
	driver   riverdriver.Driver[*sql.Tx]
	postgres bool
}

// SQLiteJobsPath returns the jobs file that belongs to Roster's SQLite file
// dbPath: roster.db → roster.jobs.db (a name without an extension gets
// ".jobs.db" appended).
func SQLiteJobsPath(dbPath string) string {
	ext := filepath.Ext(dbPath)
	if ext == "" || strings.ContainsAny(ext, `/\`) {
		return dbPath + ".jobs.db"
	}
	return strings.TrimSuffix(dbPath, ext) + ".jobs" + ext
}

// sqliteBusyTimeout is how long a jobs-file connection waits for another
// process's lock (the CLI's Redeliver while the server runs).
const sqliteBusyTimeout = 10 * time.Second

// OpenSQLiteJobs opens (creating it if needed) the jobs file at path and
// brings its schema up to date. It is a separate file from Roster's
// database because river polls its tables with write transactions many
// times a second, which on a shared file would queue behind, and in front
// of, every SCIM write (measured: Roster's writer p99 went from 0.34 ms to
// 57 ms). The file runs in WAL mode with busy_timeout, IMMEDIATE
// transactions (so that a transaction that will write takes the lock at
// BEGIN instead of failing later with SQLITE_BUSY) and one open
// connection, as river's SQLite driver requires.
func OpenSQLiteJobs(ctx context.Context, path string) (*Jobs, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(sqliteBusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open webhook jobs %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	j := &Jobs{db: db, driver: riversqlite.New(db)}
	if err := j.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open webhook jobs %s: %w", path, err)
	}
	return j, nil
}

// OpenPostgresJobs opens the delivery queue in the database and schema of
// pool (whose connections' search_path names Roster's schema) and brings its
// schema up to date, under an advisory lock so that nodes starting together
// migrate once. River's LISTEN connection is taken from pool for as long as
// a Service runs; closing the returned Jobs leaves pool open.
func OpenPostgresJobs(ctx context.Context, pool *pgxpool.Pool) (*Jobs, error) {
	db := stdlib.OpenDBFromPool(pool)
	j := &Jobs{db: db, driver: riverdatabasesql.NewWithPgxListener(db, pool), postgres: true}
	if err := j.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open webhook jobs: %w", err)
	}
	return j, nil
}

// Close closes the jobs database (on PostgreSQL, only the database/sql
// handle over the pool). Stop every Service using it first.
func (j *Jobs) Close() error { return j.db.Close() }

// migrateLockKey serialises the webhook migrations on PostgreSQL; it
// differs from the store's own migration lock.
const migrateLockKey int64 = 0x526f737465725768 // "RosterWh"

// migrate applies river's migrations, each in its own transaction as
// rivermigrate prefers, and then ours in one transaction. On PostgreSQL all
// of it runs while a transaction holds an advisory lock, so that of several
// nodes starting at once one migrates and the others then find nothing to
// do. On SQLite our transaction is IMMEDIATE, so it is serialised with other
// processes by the file's write lock; river's migrations are retried if
// another process applied the same one meanwhile.
func (j *Jobs) migrate(ctx context.Context) error {
	migrator, err := rivermigrate.New(j.driver, &rivermigrate.Config{Logger: discardLogger()})
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	var lock *sql.Tx
	if j.postgres {
		if lock, err = j.db.BeginTx(ctx, nil); err != nil {
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
		if j.postgres || attempt == 5 {
			return fmt.Errorf("river migrations: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
	if lock != nil {
		if err := j.migrateOwn(ctx, lock); err != nil {
			return err
		}
		if err := lock.Commit(); err != nil {
			return fmt.Errorf("commit migrations: %w", err)
		}
		return nil
	}
	return j.tx(ctx, func(tx *sql.Tx) error { return j.migrateOwn(ctx, tx) })
}

// migrateOwn applies the webhook tables' migrations that
// webhook_migrations does not list.
func (j *Jobs) migrateOwn(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS webhook_migrations (
		version integer PRIMARY KEY,
		applied bigint NOT NULL
	)`); err != nil {
		return fmt.Errorf("create webhook_migrations: %w", err)
	}
	ms := sqliteMigrations
	if j.postgres {
		ms = postgresMigrations
	}
	for i, m := range ms {
		version := i + 1
		var one int
		err := tx.QueryRowContext(ctx, j.rebind("SELECT 1 FROM webhook_migrations WHERE version = ?"), version).Scan(&one)
		if err == nil {
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read webhook_migrations: %w", err)
		}
		for _, stmt := range strings.Split(m, ";\n") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("webhook migration %d: %w", version, err)
			}
		}
		if _, err := tx.ExecContext(ctx, j.rebind("INSERT INTO webhook_migrations (version, applied) VALUES (?, ?)"), version, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("record webhook migration %d: %w", version, err)
		}
	}
	return nil
}

// The migrations of the webhook tables, one string per version, statements
// separated by ";\n". Times are unix microseconds in both dialects.
//
// webhook_deliveries is the delivery log and queue: one row per event and
// endpoint, pending until delivered or dead. The partial index on pending
// rows serves the workers' "oldest pending of a lane" and the repair's
// "does this lane have work" as index seeks.
var sqliteMigrations = []string{`
CREATE TABLE webhook_deliveries (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	endpoint_id  TEXT    NOT NULL,
	tenant       TEXT    NOT NULL,
	lane         INTEGER NOT NULL,
	event_id     TEXT    NOT NULL,
	event_type   TEXT    NOT NULL,
	event_cursor TEXT    NOT NULL,
	event_time   INTEGER NOT NULL,
	payload      TEXT    NOT NULL,
	state        TEXT    NOT NULL DEFAULT 'pending',
	attempts     INTEGER NOT NULL DEFAULT 0,
	last_status  INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT    NOT NULL DEFAULT '',
	created      INTEGER NOT NULL,
	delivered_at INTEGER
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, lane, id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant, id);
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created) WHERE state = 'delivered';
CREATE TABLE webhook_cursors (
	endpoint_id TEXT    PRIMARY KEY,
	cursor      TEXT    NOT NULL,
	updated     INTEGER NOT NULL
);
CREATE TABLE webhook_lanes (
	endpoint_id TEXT    NOT NULL,
	lane        INTEGER NOT NULL,
	job_id      INTEGER,
	batch_end   INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (endpoint_id, lane)
)`}

var postgresMigrations = []string{`
CREATE TABLE webhook_deliveries (
	id           bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	endpoint_id  text    NOT NULL,
	tenant       text    NOT NULL,
	lane         integer NOT NULL,
	event_id     text    NOT NULL,
	event_type   text    NOT NULL,
	event_cursor text    NOT NULL,
	event_time   bigint  NOT NULL,
	payload      text    NOT NULL,
	state        text    NOT NULL DEFAULT 'pending',
	attempts     integer NOT NULL DEFAULT 0,
	last_status  integer NOT NULL DEFAULT 0,
	last_error   text    NOT NULL DEFAULT '',
	created      bigint  NOT NULL,
	delivered_at bigint
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, lane, id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant, id);
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created) WHERE state = 'delivered';
CREATE TABLE webhook_cursors (
	endpoint_id text   PRIMARY KEY,
	cursor      text   NOT NULL,
	updated     bigint NOT NULL
);
CREATE TABLE webhook_lanes (
	endpoint_id text    NOT NULL,
	lane        integer NOT NULL,
	job_id      bigint,
	batch_end   bigint  NOT NULL DEFAULT 0,
	PRIMARY KEY (endpoint_id, lane)
)`}

// rebind turns the ? placeholders of a query into PostgreSQL's $1, $2, …
// The queries of this package contain no ? in literals.
func (j *Jobs) rebind(q string) string {
	if !j.postgres {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// forUpdate is the row-lock clause of a SELECT: on PostgreSQL it makes the
// lane row a mutex between the dispatcher, the repair and the workers; on
// SQLite the IMMEDIATE transaction already holds the file's write lock.
func (j *Jobs) forUpdate() string {
	if j.postgres {
		return " FOR UPDATE"
	}
	return ""
}
