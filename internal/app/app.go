// Package app wires Roster together: configuration to store, services and
// HTTP server, and the start and graceful stop of all of them. It holds no
// logic of its own.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/directory"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/server"
	"github.com/rosterhq/roster/internal/server/scimhttp"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"
	"github.com/rosterhq/roster/internal/tenant"
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
	DB      string // "roster.db", "sqlite:path"
	BaseURL string // public base URL; "" means http://<listen address>
	Prefix  string // SCIM path prefix
	// BootstrapToken, when set, becomes the default tenant's first token
	// instead of a random one.
	BootstrapToken string
	// ShutdownTimeout bounds how long in-flight requests may take to finish.
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	// Out receives the start-up banner with the Tenant URL and token.
	Out io.Writer
	// DebugAddr, when set, serves Go's profiling endpoints (/debug/pprof/)
	// on a separate listener, never on the public one.
	DebugAddr string
}

// OpenStore opens the store a --db value names.
func OpenStore(ctx context.Context, dsn string) (store.Store, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return nil, errors.New("PostgreSQL storage is not available yet; use a SQLite file")
	case strings.HasPrefix(dsn, "sqlite://"):
		dsn = strings.TrimPrefix(dsn, "sqlite://")
	case strings.HasPrefix(dsn, "sqlite:"):
		dsn = strings.TrimPrefix(dsn, "sqlite:")
	}
	if dsn == "" {
		dsn = DefaultDB
	}
	st, err := sqlite.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("open SQLite database %s: %w", dsn, err)
	}
	return st, nil
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
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	st, err := OpenStore(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer st.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	scimBase := base + "/" + strings.Trim(cfg.Prefix, "/")

	tenants := tenant.New(st)
	t, issued, err := tenants.Bootstrap(ctx, DefaultTenant, cfg.BootstrapToken)
	if err != nil {
		ln.Close()
		return fmt.Errorf("bootstrap tenant %q: %w", DefaultTenant, err)
	}
	dir := directory.New(st, schema.Default())
	scim := scimhttp.New(scimhttp.Config{BaseURL: scimBase, Prefix: cfg.Prefix, Logger: cfg.Logger}, dir, tenants)
	srv := &http.Server{
		Handler:           server.New(cfg.Prefix, scim, st, cfg.Logger),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}

	fmt.Fprintf(cfg.Out, "Roster is serving SCIM 2.0 at %s (database %s)\n", base, cfg.DB)
	fmt.Fprintf(cfg.Out, "Tenant URL: %s/%s\n", scimBase, t.Name)
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

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
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
