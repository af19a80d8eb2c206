package jobs_test

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/store/pgtest"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/jobs"
	"github.com/rosterhq/roster/internal/jobs/jobstest"
)

// backend opens jobs hosts on one kind of database.
type backend struct {
	name string
	// newDB returns a way to open a host on a database of the test's own
	// (every call of open reaches the same database, as the nodes of one
	// deployment do) and the raw handle to set that database up with
	// before the first open.
	newDB func(t *testing.T) (open func() (*jobs.Host, error), raw *sql.DB, d string)
}

func backends() []backend {
	return []backend{{"SQLite", sqliteDB}, {"Postgres", postgresDB}}
}

func sqliteDB(t *testing.T) (func() (*jobs.Host, error), *sql.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "roster.jobs.db")
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	require.NoError(t, err)
	t.Cleanup(func() { raw.Close() })
	return func() (*jobs.Host, error) {
		return jobs.OpenSQLite(context.Background(), path, jobs.Config{Logger: testLogger(t)})
	}, raw, "sqlite"
}

// postgresDB gives the test a fresh schema, dropped when it ends, and opens
// hosts through pools whose search_path names it, as Roster's store does.
// It skips the test unless ROSTER_TEST_PG_DSN names a server.
func postgresDB(t *testing.T) (func() (*jobs.Host, error), *sql.DB, string) {
	t.Helper()
	dsn, name := pgtest.ServerDSN(t), pgtest.Schema(t)
	ctx := context.Background()
	newPool := func() *pgxpool.Pool {
		cfg, err := pgxpool.ParseConfig(dsn)
		require.NoError(t, err)
		cfg.ConnConfig.RuntimeParams["search_path"] = name
		cfg.MaxConns = 6
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		return pool
	}
	raw := stdlib.OpenDBFromPool(newPool())
	t.Cleanup(func() { raw.Close() })
	var mu sync.Mutex
	return func() (*jobs.Host, error) {
		mu.Lock()
		pool := newPool() // a node of its own
		mu.Unlock()
		return jobs.OpenPostgres(ctx, pool, jobs.Config{Logger: testLogger(t)})
	}, raw, "postgres"
}

// testLogger logs river's warnings and errors to the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// TestConformance runs the jobs host's conformance suite on every backend.
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			jobstest.RunTests(t, func(t *testing.T) *jobs.Host {
				open, _, _ := be.newDB(t)
				h, err := open()
				require.NoError(t, err)
				t.Cleanup(func() { require.NoError(t, h.Close()) })
				return h
			})
		})
	}
}

func TestSQLitePath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"roster.db":          "roster.jobs.db",
		"/var/lib/roster.db": "/var/lib/roster.jobs.db",
		"data/roster":        "data/roster.jobs.db",
		"./x.sqlite3":        "./x.jobs.sqlite3",
		"dir.d/roster":       "dir.d/roster.jobs.db",
	} {
		require.Equal(t, want, jobs.SQLitePath(in), in)
	}
}

// TestConcurrentOpen opens a fresh jobs database from several goroutines
// at once, as nodes starting together do: one migrates, the others wait or
// find the migrations done, and each migration is applied once.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			open, raw, _ := be.newDB(t)
			const n = 4
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					h, err := open()
					if err == nil {
						err = h.Close()
					}
					errs[i] = err
				})
			}
			wg.Wait()
			for _, err := range errs {
				require.NoError(t, err)
			}
			var rows, versions int
			require.NoError(t, raw.QueryRow("SELECT count(*), count(DISTINCT version) FROM jobs_migrations").Scan(&rows, &versions))
			require.Equal(t, versions, rows, "each migration recorded once")
		})
	}
}

// TestReopen: opening a migrated jobs database again applies nothing and
// keeps what it holds.
func TestReopen(t *testing.T) {
	t.Parallel()
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			open, raw, _ := be.newDB(t)
			h, err := open()
			require.NoError(t, err)
			require.NoError(t, h.Tx(ctx, func(tx *sql.Tx) error {
				return h.Deliveries().AdvanceCursor(ctx, tx, "ep", "", false, "c1")
			}))
			require.NoError(t, h.Close())
			var applied int64
			require.NoError(t, raw.QueryRow("SELECT max(applied) FROM jobs_migrations").Scan(&applied))

			h, err = open()
			require.NoError(t, err)
			defer h.Close()
			cur, known, err := h.Deliveries().Cursor(ctx, "ep")
			require.NoError(t, err)
			require.True(t, known)
			require.Equal(t, "c1", cur)
			var again int64
			require.NoError(t, raw.QueryRow("SELECT max(applied) FROM jobs_migrations").Scan(&again))
			require.Equal(t, applied, again, "nothing applied again")
		})
	}
}

// TestUpgradeFromWebhookMigrations opens a jobs database in the state the
// webhook package left it before the jobs host (river's tables, the webhook
// tables, version 1 in webhook_migrations; testdata/webhook_v1_*.sql) with
// deliveries, a cursor and a lane in it: the host must take version 1 as
// applied, lose nothing, work on the data, and end with the same webhook
// tables a fresh database gets.
func TestUpgradeFromWebhookMigrations(t *testing.T) {
	t.Parallel()
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			open, raw, dialect := be.newDB(t)

			// River's migrations, as the old code ran them first.
			var err error
			if dialect == "postgres" {
				m, merr := rivermigrate.New(riverdatabasesql.New(raw), nil)
				require.NoError(t, merr)
				_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
			} else {
				m, merr := rivermigrate.New(riversqlite.New(raw), nil)
				require.NoError(t, merr)
				_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
			}
			require.NoError(t, err)
			old, err := os.ReadFile(filepath.Join("testdata", "webhook_v1_"+dialect+".sql"))
			require.NoError(t, err)
			_, err = raw.ExecContext(ctx, string(old))
			require.NoError(t, err)
			for _, q := range []string{
				`INSERT INTO webhook_deliveries (endpoint_id, tenant, lane, event_id, event_type, event_cursor, event_time, payload, state, attempts, last_status, last_error, created, delivered_at)
				 VALUES ('ep', 'acme', 1, 'ev1', 'user.created', 'c1', 1764676800000000, '{"id":"ev1"}', 'delivered', 1, 204, '', 1764676800000000, 1764676801000000)`,
				`INSERT INTO webhook_deliveries (endpoint_id, tenant, lane, event_id, event_type, event_cursor, event_time, payload, state, attempts, last_status, last_error, created)
				 VALUES ('ep', 'acme', 1, 'ev2', 'user.updated', 'c2', 1764676802000000, '{"id":"ev2"}', 'dead', 8, 503, 'HTTP 503', 1764676802000000)`,
				`INSERT INTO webhook_cursors (endpoint_id, cursor, updated) VALUES ('ep', 'c2', 1764676802000000)`,
				`INSERT INTO webhook_lanes (endpoint_id, lane, job_id, batch_end) VALUES ('ep', 1, NULL, 0)`,
			} {
				_, err := raw.ExecContext(ctx, q)
				require.NoError(t, err)
			}

			h, err := open()
			require.NoError(t, err, "the old database upgrades")
			defer h.Close()
			s := h.Deliveries()
			ds, err := s.List(ctx, jobs.DeliveryQuery{Endpoint: "ep"})
			require.NoError(t, err)
			require.Len(t, ds, 2)
			require.Equal(t, "ev1", ds[0].EventID)
			require.Equal(t, jobs.StateDelivered, ds[0].State)
			require.NotNil(t, ds[0].Delivered)
			require.Equal(t, time.UnixMicro(1764676801000000).UTC(), *ds[0].Delivered)
			require.Equal(t, jobs.StateDead, ds[1].State)
			require.Equal(t, 8, ds[1].Attempts)
			require.Equal(t, "HTTP 503", ds[1].LastError)
			cur, known, err := s.Cursor(ctx, "ep")
			require.NoError(t, err)
			require.True(t, known)
			require.Equal(t, "c2", cur)
			l, found, err := s.Lane(ctx, "ep", 1)
			require.NoError(t, err)
			require.True(t, found)
			require.Equal(t, jobs.Lane{Endpoint: "ep", Lane: 1}, l)

			// The upgraded tables take new rows, with ids after the old.
			require.NoError(t, h.Tx(ctx, func(tx *sql.Tx) error {
				if _, err := s.Requeue(ctx, tx, jobs.DeadFilter{Endpoint: "ep"}); err != nil {
					return err
				}
				return s.Insert(ctx, tx, []jobs.NewDelivery{{Endpoint: "ep", Tenant: "acme", Lane: 1, EventID: "ev3",
					EventType: "user.deleted", EventCursor: "c3", EventTime: time.Now(), Payload: []byte(`{}`)}})
			}))
			batch, err := s.Batch(ctx, "ep", 1, 0, 10)
			require.NoError(t, err)
			require.Len(t, batch, 2)
			require.Equal(t, ds[1].ID, batch[0].ID)
			require.Greater(t, batch[1].ID, ds[1].ID)

			var version int
			var name string
			require.NoError(t, raw.QueryRow("SELECT version, name FROM jobs_migrations WHERE version = 1").Scan(&version, &name))
			require.Equal(t, "webhook_deliveries", name)
			var legacy int
			require.NoError(t, raw.QueryRow("SELECT count(*) FROM webhook_migrations").Scan(&legacy))
			require.Equal(t, 1, legacy, "left for an older binary")

			// Same tables as a fresh database.
			freshOpen, freshRaw, _ := be.newDB(t)
			fresh, err := freshOpen()
			require.NoError(t, err)
			defer fresh.Close()
			require.Equal(t, webhookSchema(t, freshRaw, dialect), webhookSchema(t, raw, dialect))
		})
	}
}

// webhookSchema describes the webhook tables' columns and indexes.
func webhookSchema(t *testing.T, db *sql.DB, dialect string) []string {
	t.Helper()
	q := `SELECT type || ' ' || name || ': ' || sql FROM sqlite_master
		WHERE name IN ('webhook_deliveries', 'webhook_cursors', 'webhook_lanes')
		   OR tbl_name IN ('webhook_deliveries', 'webhook_cursors', 'webhook_lanes') AND type = 'index' AND sql IS NOT NULL
		ORDER BY type, name`
	if dialect == "postgres" {
		q = `SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') || ' ' || is_identity
			FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name IN ('webhook_deliveries', 'webhook_cursors', 'webhook_lanes')
			UNION ALL
			SELECT 'index ' || replace(indexdef, current_schema() || '.', '') FROM pg_indexes
			WHERE schemaname = current_schema() AND tablename IN ('webhook_deliveries', 'webhook_cursors', 'webhook_lanes')
			ORDER BY 1`
	}
	rows, err := db.Query(q)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, out)
	return out
}
