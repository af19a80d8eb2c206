package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver for the jobs file
)

// DefaultCompletedJobRetention is how long river keeps completed jobs
// unless Config says otherwise. Webhook lanes complete a job per batch, so
// river's own default (a day) would keep hundreds of thousands of rows a
// day in the jobs file for nothing: no one looks at completed jobs.
const DefaultCompletedJobRetention = time.Hour

// Config configures a Host. The zero value is usable.
type Config struct {
	// Logger receives river's records of level Warn and above (river logs
	// every failed attempt at Info, which each package records in its own
	// tables already). Default: discard.
	Logger *slog.Logger
	// CompletedJobRetention is how long completed jobs are kept. Default
	// DefaultCompletedJobRetention.
	CompletedJobRetention time.Duration
	// RescueStuckJobsAfter is how long a job may be running before river's
	// rescuer (which looks every 30 seconds) takes it for abandoned and
	// retries it. It applies to every worker, so it must exceed the longest
	// Timeout of any of them; a package that needs abandoned jobs noticed
	// sooner does it itself (webhook's lane repair does). Default: river's,
	// an hour.
	RescueStuckJobsAfter time.Duration
}

// Host is the jobs host: the jobs database of one Roster process and the
// one river client that works it. Packages register their workers, queues
// and periodic jobs on it (AddWorker, AddQueue, AddPeriodicJob) before the
// client is built, which happens at the first Client or Start; they then
// use DB, Tx, Client and Dialect for their own tables and jobs.
type Host struct {
	db        *sql.DB
	driver    riverdriver.Driver[*sql.Tx]
	dialect   Dialect
	cfg       Config
	log       *slog.Logger
	delivery  *DeliveryStore
	closeOnce sync.Once

	// client is set once, under mu, and read without it: workers ask for
	// it while Stop waits for them.
	client atomic.Pointer[river.Client[*sql.Tx]]

	mu       sync.Mutex // guards the registrations, building and running
	workers  *river.Workers
	nWorkers int
	queues   map[string]river.QueueConfig
	periodic []*river.PeriodicJob
	running  bool
}

// SQLitePath returns the jobs file that belongs to Roster's SQLite file
// dbPath: roster.db → roster.jobs.db (a name without an extension gets
// ".jobs.db" appended).
func SQLitePath(dbPath string) string {
	ext := filepath.Ext(dbPath)
	if ext == "" || strings.ContainsAny(ext, `/\`) {
		return dbPath + ".jobs.db"
	}
	return strings.TrimSuffix(dbPath, ext) + ".jobs" + ext
}

// Open opens the jobs database that goes with st and brings its schema up
// to date: the file SQLitePath(st.Path()) beside a SQLite store, the store's
// own database and schema (through its pool) for a PostgreSQL store.
func Open(ctx context.Context, st store.Store, cfg Config) (*Host, error) {
	switch s := st.(type) {
	case interface{ Pool() *pgxpool.Pool }:
		return OpenPostgres(ctx, s.Pool(), cfg)
	case interface{ Path() string }:
		return OpenSQLite(ctx, SQLitePath(s.Path()), cfg)
	}
	return nil, fmt.Errorf("jobs: no jobs database for a %T", st)
}

// sqliteBusyTimeout is how long a jobs-file connection waits for another
// process's lock (the CLI's Redeliver while the server runs).
const sqliteBusyTimeout = 10 * time.Second

// OpenSQLite opens (creating it if needed) the jobs file at path and brings
// its schema up to date. It is a separate file from Roster's database
// because river polls its tables with write transactions many times a
// second, which on a shared file would queue behind, and in front of, every
// SCIM write (measured: Roster's writer p99 went from 0.34 ms to 57 ms).
// The file runs in WAL mode with busy_timeout, IMMEDIATE transactions (so
// that a transaction that will write takes the lock at BEGIN instead of
// failing later with SQLITE_BUSY) and one open connection, as river's
// SQLite driver requires. Like Roster's database, the file and its -wal
// and -shm are readable by their owner only (sqlite.SecureFiles): its
// deliveries carry the events' personal data.
func OpenSQLite(ctx context.Context, path string, cfg Config) (*Host, error) {
	narrowed, err := sqlite.SecureFiles(path)
	if cfg.Logger != nil {
		for _, name := range narrowed {
			cfg.Logger.Warn("JOBS-0600 jobs database file was readable by other users; it holds queued events: keep it "+fmt.Sprintf("%#o", sqlite.FileMode), "file", name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open jobs database %s: %w", path, err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(sqliteBusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open jobs database %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	h := newHost(db, riversqlite.New(db), Dialect{}, cfg)
	if err := h.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open jobs database %s: %w", path, err)
	}
	return h, nil
}

// OpenPostgres opens the jobs database in the database and schema of pool
// (whose connections' search_path names Roster's schema) and brings its
// schema up to date. River's LISTEN connection is taken from pool while
// the host runs; Close leaves pool open.
func OpenPostgres(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Host, error) {
	db := stdlib.OpenDBFromPool(pool)
	h := newHost(db, riverdatabasesql.NewWithPgxListener(db, pool), Dialect{postgres: true}, cfg)
	if err := h.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open jobs database: %w", err)
	}
	return h, nil
}

func newHost(db *sql.DB, driver riverdriver.Driver[*sql.Tx], d Dialect, cfg Config) *Host {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CompletedJobRetention <= 0 {
		cfg.CompletedJobRetention = DefaultCompletedJobRetention
	}
	return &Host{
		db: db, driver: driver, dialect: d, cfg: cfg, log: cfg.Logger,
		delivery: &DeliveryStore{db: db, d: d},
		workers:  river.NewWorkers(),
		queues:   map[string]river.QueueConfig{},
	}
}

// Close closes the jobs database (on PostgreSQL, only the database/sql
// handle over the pool). Stop the host first.
func (h *Host) Close() error {
	var err error
	h.closeOnce.Do(func() { err = h.db.Close() })
	if err != nil {
		return fmt.Errorf("close jobs database: %w", err)
	}
	return nil
}

// DB returns the jobs database. Its transactions are the ones river's
// InsertTx, JobGetTx and JobCompleteTx take.
func (h *Host) DB() *sql.DB { return h.db }

// Dialect returns the SQL dialect of the jobs database.
func (h *Host) Dialect() Dialect { return h.dialect }

// Deliveries returns the storage of webhook deliveries, cursors and lanes.
func (h *Host) Deliveries() *DeliveryStore { return h.delivery }

// Tx runs fn in a transaction of the jobs database and commits it if fn
// returns nil. On SQLite the transaction is IMMEDIATE: it holds the file's
// write lock from its start.
func (h *Host) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := h.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin jobs transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit jobs transaction: %w", err)
	}
	return nil
}

// errBuilt is returned by registrations that come after the river client
// was built: river fixes its workers and queues then.
var errBuilt = errors.New("the river client is already built (register before the first Client or Start)")

// AddWorker registers w for its job kind on h. Register every worker, and
// its queue (AddQueue), before the host's first Client or Start. The worker
// sets what is its own: Timeout (river's default is a minute) and
// NextRetry (river's default is its exponential policy); a job's
// MaxAttempts and queue come from its args' InsertOpts or the InsertTx call.
func AddWorker[T river.JobArgs](h *Host, w river.Worker[T]) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var args T
	if h.client.Load() != nil {
		return fmt.Errorf("jobs: add worker %q: %w", args.Kind(), errBuilt)
	}
	if err := river.AddWorkerSafely(h.workers, w); err != nil {
		return fmt.Errorf("jobs: add worker %q: %w", args.Kind(), err)
	}
	h.nWorkers++
	return nil
}

// AddQueue registers a queue that this process works, with its own
// concurrency (MaxWorkers) and fetch timing: FetchCooldown is the least
// time between two fetches (and so the pause between a job and one it
// chains), FetchPollInterval how often the queue looks for jobs that no
// notification announced (every new job on SQLite, where river only
// polls). Zero durations take river's defaults (100ms, or the poll
// interval if that is shorter, and 1s).
func (h *Host) AddQueue(name string, q river.QueueConfig) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.client.Load() != nil {
		return fmt.Errorf("jobs: add queue %q: %w", name, errBuilt)
	}
	if _, dup := h.queues[name]; dup {
		return fmt.Errorf("jobs: add queue %q: already added", name)
	}
	h.queues[name] = q
	return nil
}

// AddPeriodicJob registers a job that river's leader (one node among all
// sharing the jobs database) inserts on a schedule. Its kind needs a
// worker and its queue a queue on the nodes that should work it.
func (h *Host) AddPeriodicJob(j *river.PeriodicJob) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.client.Load() != nil {
		return fmt.Errorf("jobs: add periodic job: %w", errBuilt)
	}
	h.periodic = append(h.periodic, j)
	return nil
}

// Client returns the host's river client, building it on first use from
// what was registered until then. It inserts, reads and lists jobs whether
// or not the host was started, so a process that never calls Start (the
// CLI) can still queue work for the nodes that run.
func (h *Host) Client() (*river.Client[*sql.Tx], error) {
	if c := h.client.Load(); c != nil {
		return c, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.buildLocked()
}

func (h *Host) buildLocked() (*river.Client[*sql.Tx], error) {
	if c := h.client.Load(); c != nil {
		return c, nil
	}
	cfg := &river.Config{
		Logger:                      slog.New(minLevel{h.log.Handler(), slog.LevelWarn}).With("component", "river"),
		CompletedJobRetentionPeriod: h.cfg.CompletedJobRetention,
		RescueStuckJobsAfter:        h.cfg.RescueStuckJobsAfter,
		PeriodicJobs:                h.periodic,
	}
	if h.nWorkers > 0 {
		cfg.Workers = h.workers
	}
	if len(h.queues) > 0 {
		// A queue's unset fetch timings are river's defaults, filled in
		// here because the client's own timings, the defaults river would
		// use, are set below for another purpose.
		cfg.Queues = make(map[string]river.QueueConfig, len(h.queues))
		cooldown := river.FetchCooldownDefault
		for name, q := range h.queues {
			if q.FetchCooldown <= 0 {
				q.FetchCooldown = river.FetchCooldownDefault
				if q.FetchPollInterval > 0 {
					// River refuses a cooldown longer than the poll.
					q.FetchCooldown = min(q.FetchCooldown, q.FetchPollInterval)
				}
			}
			if q.FetchPollInterval <= 0 {
				q.FetchPollInterval = max(river.FetchPollIntervalDefault, q.FetchCooldown)
			}
			cfg.Queues[name] = q
			cooldown = min(cooldown, q.FetchCooldown)
		}
		// The client's cooldown also paces the notifications of new jobs
		// on PostgreSQL: the shortest any queue asked for, so that no queue
		// waits on another's pace.
		cfg.FetchCooldown = cooldown
		cfg.FetchPollInterval = river.FetchPollIntervalDefault
	}
	client, err := river.NewClient(h.driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: river client: %w", err)
	}
	h.client.Store(client)
	return client, nil
}

// Start builds the river client if needed and starts it: its queues'
// workers, and on the elected leader its maintenance and periodic jobs.
// A host with no worker registered has nothing to run and starts nothing.
// The client runs until Stop; ctx bounds only the start.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.running {
		return errors.New("jobs: host already started")
	}
	client, err := h.buildLocked()
	if err != nil {
		return err
	}
	if h.nWorkers == 0 || len(h.queues) == 0 {
		return nil
	}
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: start river: %w", err)
	}
	h.running = true
	return nil
}

// Stop stops fetching jobs and waits for running ones to finish, each
// within its worker's Timeout. If ctx ends first, their contexts are
// cancelled and they are retried later, here or on another node. What is
// still queued stays in the jobs database for the next Start.
func (h *Host) Stop(ctx context.Context) error {
	h.mu.Lock()
	running := h.running
	h.running = false
	h.mu.Unlock()
	if !running {
		return nil
	}
	client := h.client.Load()
	if err := client.Stop(ctx); err != nil {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if herr := client.StopAndCancel(hctx); herr != nil {
			return fmt.Errorf("jobs: stop river: %w", errors.Join(err, herr))
		}
		return fmt.Errorf("jobs: stop river: %w", err)
	}
	return nil
}

// minLevel drops records below a level.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.level}
}
