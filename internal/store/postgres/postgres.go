package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/rerun"
)

// Option configures Open.
type Option func(*config)

type config struct {
	schema         string
	maxConns       int32
	connectTimeout time.Duration
	retries        int
	countShards    int
	purgeRows      int
	purgeHook      func(key int64) error // for tests: called before each purge batch
}

// WithSchema makes the store keep its tables in the given schema, which Open
// creates if it does not exist: it becomes the connections' search_path.
// Without it the DSN's search_path (by default "$user", public) applies.
func WithSchema(name string) Option { return func(c *config) { c.schema = name } }

// WithMaxConns bounds the connection pool. The default is the larger of 8
// and 4×GOMAXPROCS, capped at 32: PostgreSQL runs a process per connection,
// and more connections than the server has cores buy little.
func WithMaxConns(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxConns = int32(n)
		}
	}
}

// WithConnectTimeout bounds how long opening a connection may take before
// the store reports store.ErrUnavailable. The default is 5s.
func WithConnectTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.connectTimeout = d
		}
	}
}

// Store is a Roster database on PostgreSQL. It is safe for concurrent use,
// and several Stores, in one process or on several nodes, may share a
// database and schema.
type Store struct {
	cfg  config
	pool *pgxpool.Pool

	keyMu sync.RWMutex
	keys  map[string]int64 // tenant id → tenants.key; keys are never reused

	// eventKey is the second key of the first shard of the advisory lock
	// that writers of events hold (see events.List): from a hash of the
	// schema's name, so that stores in other schemas of the database do not
	// hold back this one's readers.
	eventKey int32

	sw *rerun.Runner // finishes tenant deletions left unfinished
	// analyzer runs Maintain as soon as analyzeEvery resources have been
	// created through this Store since it last ran, instead of waiting for
	// the periodic run: a first provisioning cycle fills empty tables in
	// seconds, and until they are analyzed their lookups are planned as
	// scans (docs/benchmarks.md, peer comparison).
	analyzer *rerun.Runner
	created  atomic.Int64
	// schema refuses writes once a node with a newer build has migrated
	// the database past this one.
	schema *store.SchemaGuard
	closed atomic.Bool
	once   sync.Once
}

// schemaCheckEvery is how often a store rereads the schema version before a
// write.
const schemaCheckEvery = 5 * time.Second

var _ store.Store = (*Store)(nil)

// Open connects to the database dsn (a PostgreSQL URL or key=value string,
// as pgx parses it), applies the pending migrations under an advisory lock,
// and starts finishing any tenant deletion left unfinished. An unreachable
// server is store.ErrUnavailable.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg := config{
		maxConns:       int32(min(32, max(8, 4*runtime.GOMAXPROCS(0)))),
		connectTimeout: 5 * time.Second,
		retries:        4,
		countShards:    defaultCountShards,
		purgeRows:      defaultPurgeRows,
	}
	for _, o := range opts {
		o(&cfg)
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	pc.MaxConns = cfg.maxConns
	pc.MaxConnLifetime = time.Hour
	pc.MaxConnIdleTime = 5 * time.Minute
	pc.HealthCheckPeriod = 30 * time.Second
	pc.ConnConfig.ConnectTimeout = cfg.connectTimeout
	rp := pc.ConnConfig.RuntimeParams
	if rp["application_name"] == "" {
		rp["application_name"] = "roster"
	}
	if cfg.schema != "" {
		rp["search_path"] = pgx.Identifier{cfg.schema}.Sanitize()
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	s := &Store{cfg: cfg, pool: pool, keys: map[string]int64{}}
	if err := migrate(ctx, pool, cfg.schema); err != nil {
		pool.Close()
		return nil, s.fail("open postgres", err)
	}
	var sch string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&sch); err != nil {
		pool.Close()
		return nil, s.fail("open postgres", err)
	}
	s.eventKey = schemaKey(sch)
	s.schema = store.NewSchemaGuard(latestMigration(), schemaCheckEvery, func(ctx context.Context) (int, error) {
		var v int
		err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v)
		return v, err
	})
	s.sw = rerun.New(s.sweepRound)
	s.sw.Trigger()
	s.analyzer = rerun.New(s.Maintain)
	return s, nil
}

// Pool returns the connection pool, for tools and tests that need SQL of
// their own (EXPLAIN, bulk loads).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// MigrationsCurrent reports whether the database has every migration this
// build embeds, for a readiness probe: false while another node is still
// migrating, or when the binary is newer than the schema.
func (s *Store) MigrationsCurrent(ctx context.Context) (bool, error) {
	if s.closed.Load() {
		return false, store.ErrUnavailable
	}
	ok, err := migrationsCurrent(ctx, s.pool)
	if err != nil {
		return false, s.fail("check migrations", err)
	}
	return ok, nil
}

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

// Resources returns the resource reader.
func (s *Store) Resources() store.ResourceReader { return reader{s} }

// Ping reports whether the database answers and has the schema this build
// expects: the latest migration applied, and none newer (another node with
// a newer build migrated it).
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrUnavailable
	}
	var version int
	if err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&version); err != nil {
		return s.fail("ping", err)
	}
	if latest := latestMigration(); version != latest {
		return fmt.Errorf("ping: database schema is at version %d, this build expects %d", version, latest)
	}
	return nil
}

// Close stops the background purge, waits for the connections in use to
// be released, and closes the pool. Later calls fail with
// store.ErrUnavailable.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		s.sw.Stop()
		s.analyzer.Stop()
		s.pool.Close()
	})
	return nil
}

// cachedKey returns the cached key of a tenant id.
func (s *Store) cachedKey(id string) (int64, bool) {
	s.keyMu.RLock()
	defer s.keyMu.RUnlock()
	k, ok := s.keys[id]
	return k, ok
}

func (s *Store) cacheKey(id string, key int64) {
	s.keyMu.Lock()
	s.keys[id] = key
	s.keyMu.Unlock()
}

func (s *Store) forgetKey(id string) {
	s.keyMu.Lock()
	delete(s.keys, id)
	s.keyMu.Unlock()
}

// tenantKey returns a tenant's key, from the cache or the database; ok is
// false if there is no such tenant. A cached key may belong to a tenant
// deleted since, possibly by another node: statements that use it check that
// the tenant still has it (see reader.Query).
func (s *Store) tenantKey(ctx context.Context, id string) (key int64, ok bool, err error) {
	if k, ok := s.cachedKey(id); ok {
		return k, true, nil
	}
	err = s.pool.QueryRow(ctx, "SELECT key FROM tenants WHERE id = $1", id).Scan(&key)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	s.cacheKey(id, key)
	return key, true, nil
}
