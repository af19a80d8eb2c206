// Package sqlite is Roster's storage backend on SQLite, through the pure-Go
// driver modernc.org/sqlite (no cgo). It implements store.Store and is proven
// by the conformance suite in store/storetest.
//
// # Connections
//
// Following pocketbase, a database has two pools: a write pool with exactly
// one connection, through which every write goes, and a read pool with
// several. Each connection runs, in order, PRAGMA busy_timeout,
// journal_mode=WAL, synchronous=NORMAL (FULL with WithSynchronousFull) and
// foreign_keys=ON. In WAL mode readers never block the writer nor the writer
// readers.
//
// Durability: with synchronous=NORMAL a committed transaction has been
// written to the WAL file before Write returns, so it survives a crash of the
// process; a power loss or OS crash can lose the last transactions before
// the next checkpoint (the database stays consistent). WithSynchronousFull
// syncs the WAL on every commit, which survives power loss at the cost of an
// fsync per commit (per batch with group commit).
//
// # Writes and group commit
//
// Store.Write runs its function in an IMMEDIATE transaction on the write
// connection. By default concurrent Write calls are batched by one writer
// goroutine ("group commit"): it runs the waiting functions one after another
// in a single transaction, each after a SAVEPOINT so that a function that
// fails rolls back only its own changes, commits once, and only then returns
// to each caller. This amortises the commit (and with synchronous=FULL the
// fsync) over the batch; see the package benchmarks. WithGroupCommit(false)
// runs each Write in its own transaction instead. Either way a function must
// not call Write itself, and it should do nothing slow: it holds the only
// write connection.
//
// # Deleting a tenant
//
// Tenants.Delete removes the tenant row, its tokens, OAuth clients and
// webhook endpoints in one transaction, which hides the tenant from every
// reader and process at once, and then deletes the rows left under its key
// (resources and their side tables, history, events) in batches of a few
// thousand, one write transaction each, so that a tenant of a million users never
// holds the write lock for more than some tens of milliseconds. The key is
// recorded in tenant_deletions until the last batch; a deletion a crash
// interrupted is finished in the background after the next Open. See
// purge.go.
//
// # Schema
//
// Migrations are embedded (migrations/NNNN_name.up.sql) and applied at Open
// in transactions recorded in schema_migrations. The tables follow the layout
// package store/sqlfilter documents, with these choices:
//
//   - resources.seq is the rowid: creation order, the paging tie-breaker, and
//     the key every side table uses instead of the 36-byte id. Tenants get an
//     integer key (tenants.key) for the same reason, AUTOINCREMENT so that
//     the key of a deleted tenant is never given to another.
//   - Folded userName, displayName and externalId are columns with (partial)
//     indexes, so eq and sw on them are index seeks; userName is UNIQUE per
//     tenant and type, which enforces RFC 7643 §4.1.1's case-insensitive
//     uniqueness inside the write transaction.
//   - resource_values holds one row per element of every multi-valued complex
//     attribute, indexed on (tenant, attr, value_fold).
//   - memberships (group_seq, member_seq) is a WITHOUT ROWID table with an
//     index on member_seq: adding a member is one index insertion, and
//     neither reading a group nor changing its members touches the others.
//   - resource_counts keeps the number of resources per tenant and type,
//     updated in the same transaction as the change, so an unfiltered list's
//     totalResults costs one row read.
//   - history (the revision history) and events (the outbox) get their rows
//     from Writer.Record, in the transaction of the change, and with group
//     commit inside its savepoint. Their seq is AUTOINCREMENT, never handed
//     out twice; an event's cursor is its seq in decimal, which is commit
//     order because there is one writer. See changes.go.
//   - credentials_version is one row that triggers on tokens, oauth_clients
//     and tenants set to a new random value in the transaction of every
//     change (a token's last use aside), whichever process makes it; the
//     tenant service caches token checks while it stays the same (migration
//     0015, TokenStore.CredentialsVersion).
//
// Timestamps are stored as UTC text in sqlfilter.TimeLayout (nanosecond
// precision, sortable as text), so Resource.Created and Modified round-trip
// exactly.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/rerun"
)

// Option configures Open.
type Option func(*config)

type config struct {
	syncFull    bool
	readers     int
	busyTimeout time.Duration
	groupCommit bool
	maxBatch    int
	purgeRows   int                   // rows a purge batch deletes
	purgeHook   func(key int64) error // for tests: called before each purge batch
	logger      *slog.Logger
}

// WithLogger sets where Open reports database files whose mode it had to
// narrow (see SecureFiles). The default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithSynchronousFull makes every commit durable against power loss and OS
// crashes (PRAGMA synchronous=FULL), at the cost of an fsync per commit. The
// default, synchronous=NORMAL, survives a crash of the process.
func WithSynchronousFull() Option { return func(c *config) { c.syncFull = true } }

// WithReaders sets the number of connections in the read pool. The default
// is the larger of 4 and GOMAXPROCS.
func WithReaders(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.readers = n
		}
	}
}

// WithBusyTimeout sets how long a connection waits for a lock held by
// another process before failing (PRAGMA busy_timeout). The default is 5s.
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.busyTimeout = d
		}
	}
}

// WithGroupCommit switches group commit (see the package documentation) on
// or off. It is on by default.
func WithGroupCommit(on bool) Option { return func(c *config) { c.groupCommit = on } }

// WithMaxBatch bounds how many Write calls group commit runs in one
// transaction. The default is 128.
func WithMaxBatch(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxBatch = n
		}
	}
}

// Store is a Roster database in one SQLite file. It is safe for concurrent
// use.
type Store struct {
	path string
	cfg  config

	wdb   *sql.DB   // write pool: one connection
	wconn *sql.Conn // that connection, held for the life of the Store
	ws    writeStmts
	w     *writer

	rdb *sql.DB // read pool
	rs  readStmts

	tenantMu   sync.RWMutex
	tenantKeys map[string]int64 // tenant id → tenants.key
	tenantGen  uint64           // incremented by every tenant deletion

	stmtMu    sync.Mutex
	stmtCache map[string]*sql.Stmt // dynamic query SQL → statement on rdb

	wmu     chan struct{}  // held by the transaction in progress (without group commit)
	reqs    chan *writeReq // to the group commit goroutine
	closing chan struct{}
	stopped chan struct{} // closed when the group commit goroutine has exited
	sw      *rerun.Runner // finishes tenant deletions left unfinished
	// schema refuses writes once another process has migrated the file
	// past this build.
	schema *store.SchemaGuard
	closed atomic.Bool
	once   sync.Once
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path, applies the
// pending migrations and prepares the statements. path is a file name; a
// "file:" URI is passed to SQLite as is. The file and its -wal and -shm
// are readable by their owner only (SecureFiles).
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg := config{
		readers:     max(4, runtime.GOMAXPROCS(0)),
		busyTimeout: 5 * time.Second,
		groupCommit: true,
		maxBatch:    128,
		purgeRows:   defaultPurgeRows,
		logger:      slog.Default(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	narrowed, err := SecureFiles(path)
	for _, name := range narrowed {
		cfg.logger.Warn("SQLITE-0600 database file was readable by other users; it holds secrets: keep it "+fmt.Sprintf("%#o", FileMode)+" and rotate them if others could read it",
			"file", name)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{
		path:       path,
		cfg:        cfg,
		tenantKeys: map[string]int64{},
		stmtCache:  map[string]*sql.Stmt{},
		wmu:        make(chan struct{}, 1),
		reqs:       make(chan *writeReq),
		closing:    make(chan struct{}),
		stopped:    make(chan struct{}),
	}
	if err := s.open(ctx); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s.w = &writer{s: s}
	s.schema = store.NewSchemaGuard(latestMigration(), schemaCheckEvery, func(ctx context.Context) (int, error) {
		var v int
		err := s.rs.ping.QueryRowContext(ctx).Scan(&v)
		return v, err
	})
	if cfg.groupCommit {
		go s.commitLoop()
	} else {
		close(s.stopped)
	}
	// Finish the tenant deletions a crash interrupted.
	s.sw = rerun.New(s.sweepRound)
	s.sw.Trigger()
	return s, nil
}

func (s *Store) open(ctx context.Context) error {
	s.wdb = sql.OpenDB(&connector{path: s.path, pragmas: s.cfg.pragmas(true)})
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	var err error
	if s.wconn, err = s.wdb.Conn(ctx); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if err := migrate(ctx, s.wconn); err != nil {
		return err
	}
	if err := s.ws.prepare(ctx, s.wconn); err != nil {
		return err
	}
	s.rdb = sql.OpenDB(&connector{path: s.path, pragmas: s.cfg.pragmas(false)})
	s.rdb.SetMaxOpenConns(s.cfg.readers)
	s.rdb.SetMaxIdleConns(s.cfg.readers)
	s.rdb.SetConnMaxLifetime(0)
	s.rdb.SetConnMaxIdleTime(0)
	return s.rs.prepare(ctx, s.rdb)
}

// schemaCheckEvery is how often a store rereads the schema version before a
// write, to refuse writes once a newer build has migrated the database.
const schemaCheckEvery = 5 * time.Second

// Tenants returns the tenant store.
func (s *Store) Tenants() store.TenantStore { return tenants{s} }

// Tokens returns the token store.
func (s *Store) Tokens() store.TokenStore { return tokens{s} }

// OAuthClients returns the OAuth client store.
func (s *Store) OAuthClients() store.OAuthClientStore { return oauthClients{s} }

// Admins returns the admin store.
func (s *Store) Admins() store.AdminStore { return admins{s} }

// Audit returns the audit log.
func (s *Store) Audit() store.AuditStore { return audit{s} }

// Settings returns the server-wide settings.
func (s *Store) Settings() store.SettingsStore { return settings{s} }

// Leases returns the lease store.
func (s *Store) Leases() store.LeaseStore { return leases{s} }

// Resources returns the resource reader.
func (s *Store) Resources() store.ResourceReader { return reader{s} }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrUnavailable
	}
	var version int
	if err := s.rs.ping.QueryRowContext(ctx).Scan(&version); err != nil {
		return s.fail("ping", err)
	}
	if latest := latestMigration(); version != latest {
		// Another process with a different build migrated the file.
		return fmt.Errorf("ping: database schema is at version %d, this build expects %d", version, latest)
	}
	return nil
}

// Close waits for the write in progress, then closes the database. Later
// calls fail with store.ErrUnavailable.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.closing)
		<-s.stopped
		s.sw.Stop()
		s.wmu <- struct{}{} // wait for a transaction without group commit
		for _, st := range s.w.multi {
			st.Close()
		}
		s.stmtMu.Lock()
		for _, st := range s.stmtCache {
			st.Close()
		}
		s.stmtCache = nil
		s.stmtMu.Unlock()
		err = s.closeDBs()
	})
	return err
}

func (s *Store) closeDBs() error {
	var errs []error
	if s.wconn != nil {
		// Checkpoint so that the WAL does not outlive the process.
		_, _ = s.wconn.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)")
		errs = append(errs, s.wconn.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	return errors.Join(errs...)
}

// stmt returns a prepared statement on the read pool for a dynamic query,
// cached by its text, or nil when the cache is full. Filters differ in their
// values, which are bound, far more than in their shape, so the cache stays
// small.
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	const maxCached = 512
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmtCache[query]; ok {
		return st, nil
	}
	if s.stmtCache == nil || len(s.stmtCache) >= maxCached {
		return nil, nil
	}
	st, err := s.rdb.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmtCache[query] = st
	return st, nil
}

// Path returns the database file's path, for files kept beside it (the
// webhook jobs database).
func (s *Store) Path() string { return s.path }
