// Package app wires Roster together: configuration to store, services and
// HTTP server, and the start and graceful stop of all of them. It holds no
// logic of its own.
package app

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rosterhq/roster/internal/admin"
	"github.com/rosterhq/roster/internal/audit"
	"github.com/rosterhq/roster/internal/background"
	"github.com/rosterhq/roster/internal/directory"
	"github.com/rosterhq/roster/internal/feed"
	"github.com/rosterhq/roster/internal/jobs"
	"github.com/rosterhq/roster/internal/provision/engine"
	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/notify/delivery"
	"github.com/rosterhq/roster/internal/provision/push"
	"github.com/rosterhq/roster/internal/provision/report"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/server"
	"github.com/rosterhq/roster/internal/server/adminhttp"
	"github.com/rosterhq/roster/internal/server/guard"
	"github.com/rosterhq/roster/internal/server/oauthhttp"
	"github.com/rosterhq/roster/internal/server/pushhttp"
	"github.com/rosterhq/roster/internal/server/scimhttp"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/postgres"
	"github.com/rosterhq/roster/internal/store/sqlite"
	"github.com/rosterhq/roster/internal/tenant"
	"github.com/rosterhq/roster/internal/webhook"
)

// Defaults for `roster serve`.
const (
	DefaultAddr          = "127.0.0.1:8080"
	DefaultDB            = "roster.db"
	DefaultPrefix        = "/scim/v2"
	DefaultTenant        = "default"
	BootstrapTokenEnvVar = "ROSTER_BOOTSTRAP_TOKEN"
)

// Config is what `roster serve` is started with.
type Config struct {
	Addr    string // listen address
	DB      string // "roster.db", "sqlite:path" or "postgres://…"
	BaseURL string // public base URL; "" means derived from each request
	Prefix  string // SCIM path prefix
	// BootstrapToken, when set, becomes the default tenant's first token
	// instead of a random one.
	BootstrapToken string
	// TLSCert and TLSKey, both set, make Roster serve HTTPS itself.
	TLSCert, TLSKey string
	// TrustedProxies are the reverse proxies (CIDRs or addresses) whose
	// X-Forwarded-For, -Proto and -Host headers are believed.
	TrustedProxies []string
	// RateLimit is each tenant's default limit of SCIM requests per second;
	// 0 means none. A tenant's own setting overrides it.
	RateLimit float64
	// ClientAuthFailures and TenantAuthFailures are how many failed
	// authentications per minute a client address, or a tenant, may cause
	// before getting 429; 0 means no limit.
	ClientAuthFailures, TenantAuthFailures float64
	// MaxConns and MaxConnsPerClient bound the connections the server
	// holds open, in all and per client address (an IPv6 /64; trusted
	// proxies exempt); 0 means no limit. A connection over either is closed
	// at once.
	MaxConns, MaxConnsPerClient int
	// BodyTimeout is how long the body of a request to an endpoint anyone
	// may call (admin sign-in, OAuth token) may take to arrive; 0 means
	// guard.DefaultBodyTimeout.
	BodyTimeout time.Duration
	// TenantConcurrency is how many SCIM requests of one tenant may run at
	// once on this node, and TenantListConcurrency how many of those may be
	// lists or searches; one more waits up to a second for a slot, then
	// gets 429. 0 means no limit.
	TenantConcurrency, TenantListConcurrency int
	// ConcurrencyWait is how long a request over its tenant's concurrency
	// limit waits for a slot; 0 means TenantConcurrencyWait.
	ConcurrencyWait time.Duration
	// QueryBudget bounds the time of one list or search query; past it the
	// request gets 400 tooMany. 0 means no bound.
	QueryBudget time.Duration
	// ShutdownTimeout bounds how long in-flight requests may take to finish.
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	// Out receives the start-up banner with the Tenant URL and token.
	Out io.Writer
	// DebugAddr, when set, serves Go's profiling endpoints (/debug/pprof/)
	// on a separate listener, never on the public one.
	DebugAddr string
	// MetricsAddr, when set, serves Prometheus metrics at /metrics on a
	// separate listener, never on the public one.
	MetricsAddr string
	// HistoryRetention and EventRetention are how long revision history
	// (and the provisioning log) and outbox events are kept; 0 keeps them
	// forever.
	HistoryRetention, EventRetention time.Duration
	// Webhook tunes webhook delivery; zero values take the package's
	// defaults. Store and Logger are filled in by New.
	Webhook webhook.Config
	// ProvisioningCycles bounds the provisioning cycles this node runs at
	// once; 0 means 2.
	ProvisioningCycles int
	// SMTP is the server provisioning jobs' notices are e-mailed through;
	// an empty Addr means they are not e-mailed (tenant events still go).
	SMTP delivery.SMTPConfig
}

// Defaults of the abuse limits.
const (
	DefaultClientAuthFailures = 30  // per minute per client address
	DefaultTenantAuthFailures = 120 // per minute per tenant
	// DefaultMaxConns stays well under the file descriptors a process
	// usually has (Go raises the soft limit to the hard one, commonly
	// 65536 or more), leaving room for database connections and files.
	DefaultMaxConns = 10000
	// fdReserve is how many file descriptors --max-conns leaves for the
	// database (a PostgreSQL pool of up to 32, SQLite's files and WAL), the
	// jobs database, logs and the debug listener.
	fdReserve = 256
	// DefaultMaxConnsPerClient is generous because identity providers
	// share egress addresses between their customers; it still keeps one
	// address from holding more than a twentieth of DefaultMaxConns.
	DefaultMaxConnsPerClient = 512
	// DefaultTenantConcurrency bounds one tenant's requests in flight on a
	// node; it is generous, because writes queue for the one writer and
	// batch in its commits, and an identity provider's bulk load runs
	// many at once.
	DefaultTenantConcurrency = 16
	// DefaultQueryBudget is how long one list or search query may run.
	DefaultQueryBudget = directory.DefaultQueryBudget
	// TenantConcurrencyWait is how long a request over its tenant's
	// concurrency limit waits for a slot before it gets 429.
	TenantConcurrencyWait = time.Second
	// DefaultBodyTimeout is how long a sign-in or token request's body may
	// take to arrive.
	DefaultBodyTimeout = guard.DefaultBodyTimeout
)

// DefaultTenantListConcurrency returns how many lists and searches of one
// tenant may run at once on a node unless configured: half the cores the
// process may use, at least one. A filter no index helps holds a read
// connection and a core as long as it runs, so a tenant may take at most
// half of them and the other tenants keep the rest (the SQLite read pool
// has max(4, GOMAXPROCS) connections, the PostgreSQL pool max(8,
// 4×GOMAXPROCS)). On two cores, with two at once, another tenant's reads
// took 100 ms at the 99th percentile; with one, 35 ms
// (TestTenantFloodIsolation). Identity providers page through a list one
// page at a time, and their single lookups take a millisecond, so they
// rarely wait.
func DefaultTenantListConcurrency() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// OpenStore opens the store a --db value names.
func OpenStore(ctx context.Context, dsn string) (store.Store, error) {
	return openStore(ctx, dsn, slog.Default())
}

// openStore opens the store a --db value names; log receives the warnings
// of opening it (a SQLite file others could read).
func openStore(ctx context.Context, dsn string, log *slog.Logger) (store.Store, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL database: %w", err)
		}
		return st, nil
	case strings.HasPrefix(dsn, "sqlite://"):
		dsn = strings.TrimPrefix(dsn, "sqlite://")
	case strings.HasPrefix(dsn, "sqlite:"):
		dsn = strings.TrimPrefix(dsn, "sqlite:")
	}
	if dsn == "" {
		dsn = DefaultDB
	}
	st, err := sqlite.Open(ctx, dsn, sqlite.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("open SQLite database %s: %w", dsn, err)
	}
	return st, nil
}

// Roster is the assembled application over one store.
type Roster struct {
	Handler   http.Handler
	Tenants   *tenant.Service
	Admins    *admin.Service
	Directory *directory.Service
	// Feed reads change events: the admin API's pull feed and in-process
	// subscriptions.
	Feed *feed.Feed
	// Webhooks delivers events to the tenants' endpoints once Run starts it.
	Webhooks *webhook.Service
	// Provisioning runs the provisioning jobs' cycles on their schedules
	// once Run starts the jobs host.
	Provisioning *engine.Engine
	// Metrics holds the Prometheus collectors --metrics-addr serves.
	Metrics *prometheus.Registry
	// Notices delivers provisioning jobs' notices (e-mail and tenant
	// events) from the jobs host's queue; it is the engine's
	// notify.Notifier.
	Notices *delivery.Service

	cfg   Config
	store store.Store
	// jobs is the jobs host: the jobs database and the one river client.
	// Services register their workers on it in New (webhook delivery now,
	// the provisioning engine next), before Run starts it.
	jobs *jobs.Host
}

// Close stops the background work of the services, ends long polls and
// closes the jobs database. Run must have returned.
func (r *Roster) Close() {
	r.Feed.Close()
	r.Tenants.Close()
	if err := r.jobs.Close(); err != nil {
		r.cfg.Logger.Warn("close the jobs database", "err", err)
	}
}

// StatisticsEvery is how often one node refreshes the planner's statistics
// of tables that changed by a tenth since their last analysis. A first
// provisioning cycle fills a fresh database in minutes; with statistics a
// minute old, PostgreSQL planned its lookups for empty tables and answered
// them 5-10 times slower (docs/benchmarks.md, peer comparison). A round with
// nothing to analyze costs a lease write and one catalog query.
const StatisticsEvery = 10 * time.Second

// Retention defaults: how long history entries and outbox events are kept.
const (
	DefaultHistoryRetention = 365 * 24 * time.Hour
	DefaultEventRetention   = 30 * 24 * time.Hour
)

// Run does the periodic work of a node until ctx ends: purging expired
// credentials and old history and events, and keeping planner statistics
// fresh. Each task runs on one node at a time however many share the
// database.
func (r *Roster) Run(ctx context.Context) {
	log := r.cfg.Logger
	// The jobs host first, so that webhook lanes are worked as soon as the
	// dispatcher fills them; it stops after the dispatcher, letting
	// deliveries in flight finish.
	if err := r.jobs.Start(ctx); err != nil {
		log.Error("background jobs did not start; webhook deliveries wait in the jobs database until they do", "err", err)
	} else {
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := r.jobs.Stop(sctx); err != nil {
				log.Warn("stop background jobs", "err", err)
			}
		}()
	}
	if err := r.Webhooks.Start(ctx); err != nil {
		log.Error("webhook delivery did not start; events stay in the outbox until it does", "err", err)
	} else {
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := r.Webhooks.Stop(sctx); err != nil {
				log.Warn("stop webhook delivery", "err", err)
			}
		}()
		// Dispatch as soon as a change commits on this node.
		go func() {
			for {
				select {
				case <-r.Directory.Committed():
					r.Webhooks.Notify()
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	background.NewRunner(r.store.Leases(), log).Run(ctx,
		background.Task{Name: "purge-expired-credentials", Every: time.Hour, Run: func(ctx context.Context) error {
			tokens, err := r.Tenants.PurgeExpired(ctx)
			if err != nil {
				return err
			}
			sessions, err := r.Admins.PurgeExpired(ctx)
			if tokens+sessions > 0 {
				log.Info("purged expired credentials", "tokens", tokens, "admin_sessions", sessions)
			}
			return err
		}},
		background.Task{Name: "purge-history-and-events", Every: time.Hour, Run: r.purgeOld},
		// A deleted tenant's rows are removed right after its deletion;
		// this finishes a removal that failed, on whichever node runs it.
		background.Task{Name: "purge-deleted-tenants", Every: 10 * time.Minute, Run: r.store.Tenants().PurgeDeleted},
		background.Task{Name: "database-statistics", Every: StatisticsEvery, Run: r.store.Maintain},
	)
}

// purgeOld deletes history, events and the provisioning log (with its
// ended cycles) past retention, in batches so that SCIM writes run between
// them. The provisioning log is kept as long as the history: both answer
// "what changed, and why".
func (r *Roster) purgeOld(ctx context.Context) error {
	now := time.Now()
	const batch = 5000
	purgeProvisioningLog := func(ctx context.Context, before time.Time, limit int) (int, error) {
		n, err := r.store.Provisioning().PurgeLogs(ctx, before, limit)
		return int(n), err
	}
	for _, p := range []struct {
		what   string
		keep   time.Duration
		delete func(context.Context, time.Time, int) (int, error)
	}{
		{"history", r.cfg.HistoryRetention, r.store.History().Purge},
		{"events", r.cfg.EventRetention, r.store.Events().Purge},
		{"provisioning log", r.cfg.HistoryRetention, purgeProvisioningLog},
	} {
		if p.keep <= 0 {
			continue
		}
		total := 0
		for {
			n, err := p.delete(ctx, now.Add(-p.keep), batch)
			total += n
			if err != nil {
				return fmt.Errorf("purge %s: %w", p.what, err)
			}
			if n < batch {
				break
			}
		}
		if total > 0 {
			r.cfg.Logger.Info("purged entries past retention", "what", p.what, "count", total, "retention", p.keep)
		}
	}
	return nil
}

// New assembles Roster's services and HTTP surface over st, opening the
// jobs host that goes with it (see jobs.Open) and registering webhook
// delivery on it.
func New(ctx context.Context, cfg Config, st store.Store) (*Roster, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	proxies, err := guard.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	prefix := NormalizePrefix(cfg.Prefix)
	base := strings.TrimRight(cfg.BaseURL, "/")
	tenants := tenant.New(st)
	admins := admin.New(st)
	dir := directory.New(st, schema.Default())
	dir.SetQueryBudget(cfg.QueryBudget)
	clientFailures := guard.NewFailureLimiter(cfg.ClientAuthFailures, max(1, int(cfg.ClientAuthFailures)))

	scimBase := ""
	if base != "" {
		scimBase = base + prefix
	}
	concurrencyWait := cmp.Or(cfg.ConcurrencyWait, TenantConcurrencyWait)
	scim := scimhttp.New(scimhttp.Config{
		BaseURL: scimBase, Prefix: prefix, Logger: cfg.Logger,
		ClientFailures: clientFailures,
		TenantFailures: guard.NewFailureLimiter(cfg.TenantAuthFailures, max(1, int(cfg.TenantAuthFailures))),
		Requests:       guard.NewRateLimiter(), RequestRate: cfg.RateLimit,
		Concurrent:     guard.NewConcurrency(cfg.TenantConcurrency, concurrencyWait),
		ListConcurrent: guard.NewConcurrency(cfg.TenantListConcurrency, concurrencyWait),
	}, dir, tenants)
	host, err := jobs.Open(ctx, st, jobs.Config{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	wcfg := cfg.Webhook
	wcfg.Store, wcfg.Logger = st, cfg.Logger
	hooks, err := webhook.New(host, wcfg)
	if err != nil {
		host.Close()
		return nil, err
	}
	var mailer *delivery.Mailer
	if cfg.SMTP.Addr != "" {
		if mailer, err = delivery.NewMailer(cfg.SMTP); err != nil {
			host.Close()
			return nil, err
		}
	}
	notices, err := delivery.New(host, delivery.Config{Store: st, Mailer: mailer, Logger: cfg.Logger})
	if err != nil {
		host.Close()
		return nil, err
	}
	metrics := newMetricsRegistry()
	prov := engine.New(engine.Config{Store: st, Logger: cfg.Logger, Metrics: metrics, Notifier: notices})
	if err := prov.Register(host, cfg.ProvisioningCycles); err != nil {
		host.Close()
		return nil, err
	}
	events := feed.New(st, dir.Committed, 0)
	pushes := push.New(st)
	adminAPI := adminhttp.New(adminhttp.Config{
		URLs: tenant.URLs{Base: base, Prefix: prefix}, Logger: cfg.Logger, Failures: clientFailures,
		Feed: events, Webhooks: hooks, Endpoints: webhook.NewEndpoints(st, cfg.Webhook.AllowPrivate), Audit: audit.New(st),
		LoginBodyTimeout: cfg.BodyTimeout,
		Jobs:             job.New(st), Engine: prov, Reports: report.New(st), Push: pushes,
	}, tenants, admins, dir)
	h := server.New(server.Config{
		Prefix: prefix, SCIM: scim, Admin: adminAPI,
		OAuth: oauthhttp.New(tenants, clientFailures, cfg.Logger, cfg.BodyTimeout),
		Push:  pushhttp.New(pushhttp.Config{Push: pushes, Trigger: prov.Trigger, Logger: cfg.Logger, Failures: clientFailures}),
		Store: st, Logger: cfg.Logger, Proxies: proxies,
	})
	return &Roster{
		Handler: h, Tenants: tenants, Admins: admins, Directory: dir, Feed: events, Webhooks: hooks,
		Provisioning: prov, Metrics: metrics, Notices: notices, cfg: cfg, store: st, jobs: host,
	}, nil
}

// NormalizePrefix returns a path prefix with one leading slash and none
// trailing, such as "/scim/v2".
func NormalizePrefix(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		p = strings.Trim(DefaultPrefix, "/")
	}
	return "/" + p
}

// DefaultURLs are where `roster serve` is reached with its defaults: what
// the CLI prints Tenant URLs with until a server has recorded its own.
func DefaultURLs() tenant.URLs {
	return tenant.URLs{Base: "http://" + DefaultAddr, Prefix: DefaultPrefix}
}

// Serve runs Roster until ctx is cancelled, then stops accepting requests and
// lets in-flight ones finish.
func Serve(ctx context.Context, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	st, err := openStore(ctx, cfg.DB, cfg.Logger)
	if err != nil {
		return err
	}
	defer st.Close()
	roster, err := New(ctx, cfg, st)
	if err != nil {
		return err
	}
	defer roster.Close()

	var tlsConfig *tls.Config
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	proxies, err := guard.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return fmt.Errorf("trusted proxies: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	// A limit above the descriptors the process may hold would let clients
	// take the last of them (the database and log files need theirs), so
	// it is lowered to leave fdReserve free.
	if files := fileLimit(); files > 0 && cfg.MaxConns > files-fdReserve {
		lowered := max(files-fdReserve, files/2)
		cfg.Logger.Warn("CONN-0001 --max-conns lowered to leave file descriptors for the database and logs",
			"max_conns", cfg.MaxConns, "lowered_to", lowered, "open_files_limit", files)
		cfg.MaxConns = lowered
	}
	// Counted below TLS, so a client that never finishes its handshake
	// holds a slot like any other.
	ln = guard.LimitListener(ln, guard.ConnLimits{
		Max: cfg.MaxConns, PerClient: cfg.MaxConnsPerClient, Proxies: proxies, Logger: cfg.Logger,
	})
	urls := tenant.URLs{Base: strings.TrimRight(cfg.BaseURL, "/"), Prefix: NormalizePrefix(cfg.Prefix)}
	if urls.Base == "" {
		scheme := "http"
		if tlsConfig != nil {
			scheme = "https"
		}
		urls.Base = scheme + "://" + ln.Addr().String()
	}
	if err := roster.Tenants.RecordURLs(ctx, urls, "system"); err != nil {
		ln.Close()
		return err
	}
	t, issued, err := roster.Tenants.Bootstrap(ctx, DefaultTenant, cfg.BootstrapToken)
	if err != nil {
		ln.Close()
		return fmt.Errorf("bootstrap tenant %q: %w", DefaultTenant, err)
	}
	srv := &http.Server{
		Handler:           roster.Handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // bounds slow uploads of a request body
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}

	fmt.Fprintf(cfg.Out, "Roster is serving SCIM 2.0 at %s (database %s)\n", urls.Base, cfg.DB)
	fmt.Fprintf(cfg.Out, "Tenant URL: %s\n", urls.TenantURL(t.Name))
	if issued != nil {
		fmt.Fprintf(cfg.Out, "Secret Token: %s\n", issued.Plaintext)
		fmt.Fprintln(cfg.Out, "(The token is shown only now; Roster keeps just its hash.)")
	} else {
		fmt.Fprintf(cfg.Out, "Secret Token: issued on first start; run `roster token issue %s --db %s` for a new one\n", t.Name, cfg.DB)
	}

	if cfg.DebugAddr != "" {
		dbg := http.NewServeMux()
		dbg.HandleFunc("/debug/pprof/", pprof.Index)
		dbg.HandleFunc("/debug/pprof/profile", pprof.Profile)
		dbg.HandleFunc("/debug/pprof/trace", pprof.Trace)
		go func() {
			err := http.ListenAndServe(cfg.DebugAddr, dbg)
			cfg.Logger.Warn("debug listener stopped", "err", err)
		}()
	}
	if cfg.MetricsAddr != "" {
		addr, stopMetrics, err := serveMetrics(cfg.MetricsAddr, roster.Metrics, cfg.Logger)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopMetrics()
		fmt.Fprintf(cfg.Out, "Metrics: http://%s/metrics\n", addr)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		roster.Run(runCtx)
	}()
	// Background work (webhook delivery among it) stops before the
	// deferred Close closes what it uses.
	defer func() {
		stopRun()
		<-runDone
	}()
	srv.RegisterOnShutdown(roster.Feed.Close)

	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	cfg.Logger.Info("shutting down; finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
