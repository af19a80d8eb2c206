// Package cli holds Roster's command-line interface. Commands are thin: they
// parse flags and call the services that the HTTP API uses too.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rosterhq/roster/internal/app"
	"github.com/rosterhq/roster/internal/provision/notify/delivery"
	"github.com/rosterhq/roster/internal/webhook"
)

// Version is set at build time with -ldflags "-X ...cli.Version=v1.2.3".
var Version = "dev"

// usageError marks errors in how a command was called; they exit with 2.
type usageError struct{ error }

// Execute runs the command line and returns the process exit code.
func Execute(args []string, stdout, stderr io.Writer) int {
	root := NewRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "roster:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// NewRoot returns the root command with every subcommand.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "roster",
		Short:         "Roster: an open-source SCIM 2.0 provisioning system",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(commandServe(), commandMigrate(), commandTenant(), commandToken(), commandOAuth(), commandAdmin(), commandAudit(), commandHistory(), commandEvents(), commandWebhook(), commandJob(),
		commandBench(), commandValidate(), commandVersion())
	root.AddCommand(commandExpr())
	return root
}

func commandVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "roster", Version)
		},
	}
}

func commandServe() *cobra.Command {
	var cfg app.Config
	var logLevel string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the SCIM 2.0 service provider",
		Long: `Run the SCIM 2.0 service provider on an embedded SQLite database.

On first start with an empty database Roster creates the tenant "default" and
prints its Tenant URL and Secret Token, the two values to paste into Microsoft
Entra ID's or Okta's provisioning settings. Set ROSTER_BOOTSTRAP_TOKEN to choose
that first token yourself (for automation).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return usageError{fmt.Errorf("--log-level: %w", err)}
			}
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			cfg.Out = cmd.OutOrStdout()
			cfg.BootstrapToken = os.Getenv(app.BootstrapTokenEnvVar)
			if err := smtpFromEnv(cmd.Flags(), &cfg.SMTP); err != nil {
				return usageError{err}
			}
			if os.Getenv("GOGC") == "" {
				// The heap is small and short-lived; collecting half as
				// often buys request throughput for little memory.
				debug.SetGCPercent(200)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return app.Serve(ctx, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", app.DefaultAddr, "address to listen on")
	f.StringVar(&cfg.DB, "db", app.DefaultDB, `database: a SQLite file path, "sqlite:PATH", or "postgres://USER@HOST/DB" for several nodes`)
	f.StringVar(&cfg.BaseURL, "base-url", "", "public base URL for Tenant URLs and meta.location, such as https://roster.example.com (default: from each request)")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "PEM certificate (chain) to serve HTTPS with")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "PEM private key of --tls-cert")
	f.StringSliceVar(&cfg.TrustedProxies, "trusted-proxy", nil, "reverse proxy (CIDR or address) whose X-Forwarded-* headers are believed; repeatable")
	f.Float64Var(&cfg.RateLimit, "rate-limit", 0, "default SCIM requests per second per tenant (0: no limit)")
	f.Float64Var(&cfg.ClientAuthFailures, "auth-failures-per-client", app.DefaultClientAuthFailures, "failed authentications per minute a client address may make before further failures, and its admin password attempts, get 429; valid credentials still pass (0: no limit)")
	f.Float64Var(&cfg.TenantAuthFailures, "auth-failures-per-tenant", app.DefaultTenantAuthFailures, "failed authentications per minute against one tenant before 429 (0: no limit)")
	f.IntVar(&cfg.MaxConns, "max-conns", app.DefaultMaxConns, "most connections open at once; more are closed at once (0: no limit)")
	f.IntVar(&cfg.MaxConnsPerClient, "max-conns-per-ip", app.DefaultMaxConnsPerClient, "most connections one client address (IPv6: /64) may hold open; trusted proxies exempt (0: no limit)")
	f.DurationVar(&cfg.BodyTimeout, "unauthenticated-body-timeout", app.DefaultBodyTimeout, "how long the body of an admin sign-in or OAuth token request may take to arrive")
	f.IntVar(&cfg.TenantConcurrency, "tenant-concurrency", app.DefaultTenantConcurrency, "SCIM requests of one tenant that may run at once on this node; more wait up to 1 s, then get 429 (0: no limit)")
	f.IntVar(&cfg.TenantListConcurrency, "tenant-list-concurrency", app.DefaultTenantListConcurrency(), "SCIM lists and searches of one tenant that may run at once on this node (default: half the cores); more wait up to 1 s, then get 429 (0: no limit)")
	f.DurationVar(&cfg.QueryBudget, "query-timeout", app.DefaultQueryBudget, "longest a list or search query may run before it is stopped and refused with 400 tooMany (0: no limit)")
	f.StringVar(&cfg.Prefix, "prefix", app.DefaultPrefix, "path prefix of the SCIM endpoints")
	f.StringVar(&cfg.DebugAddr, "debug-addr", "", "serve Go profiling endpoints (/debug/pprof/) on this address, e.g. 127.0.0.1:6060")
	f.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics at /metrics on this address, e.g. 127.0.0.1:9090 (default: off)")
	f.DurationVar(&cfg.HistoryRetention, "history-retention", app.DefaultHistoryRetention, "how long the revision history and provisioning log are kept (0: forever)")
	f.DurationVar(&cfg.EventRetention, "event-retention", app.DefaultEventRetention, "how long change events stay readable in the pull feed (0: forever)")
	f.DurationVar(&cfg.Webhook.Timeout, "webhook-timeout", webhook.DefaultTimeout, "how long a webhook request may take before it counts as failed")
	f.DurationVar(&cfg.Webhook.RetryBase, "webhook-retry-base", webhook.DefaultRetryBase, "first retry delay of a failed webhook delivery; doubles each attempt, with jitter")
	f.DurationVar(&cfg.Webhook.RetryMax, "webhook-retry-max", webhook.DefaultRetryMax, "longest retry delay of a webhook delivery")
	f.IntVar(&cfg.Webhook.MaxBatch, "webhook-max-batch", webhook.DefaultMaxBatch, "most events one webhook request carries (1: one event per request)")
	f.BoolVar(&cfg.Webhook.AllowPrivate, "webhook-allow-private", false, "let webhook endpoints be on loopback and private addresses (RFC 1918, RFC 4193, 100.64/10), for receivers on premises; link-local and other non-public addresses stay refused")
	smtpFlags(f, &cfg.SMTP)
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}

// smtpFlags defines the --smtp-* flags of roster serve on f, set into c.
func smtpFlags(f *pflag.FlagSet, c *delivery.SMTPConfig) {
	f.StringVar(&c.Addr, "smtp-addr", "", "SMTP server (host:port) that provisioning jobs' notices are e-mailed through (env ROSTER_SMTP_ADDR; default: no e-mail)")
	f.StringVar(&c.Username, "smtp-username", "", "SMTP AUTH PLAIN username (env ROSTER_SMTP_USERNAME)")
	f.StringVar(&c.Password, "smtp-password", "", "SMTP password; prefer the env ROSTER_SMTP_PASSWORD, which other users cannot read in the process list")
	f.StringVar(&c.From, "smtp-from", "", "sender address of notices (env ROSTER_SMTP_FROM; default roster-noreply@HOSTNAME)")
	f.StringVar(&c.TLS, "smtp-tls", delivery.TLSStartTLS, "SMTP transport security: starttls, tls (SMTPS) or none (never with credentials) (env ROSTER_SMTP_TLS)")
	f.StringVar(&c.CAFile, "smtp-ca-file", "", "PEM certificates to trust for the SMTP server besides the system's, for a lab CA (env ROSTER_SMTP_CA_FILE)")
}

// smtpEnv maps the --smtp-* flags to the environment variables that set
// them when the flag is not given.
var smtpEnv = []struct{ flag, env string }{
	{"smtp-addr", "ROSTER_SMTP_ADDR"},
	{"smtp-username", "ROSTER_SMTP_USERNAME"},
	{"smtp-password", "ROSTER_SMTP_PASSWORD"},
	{"smtp-from", "ROSTER_SMTP_FROM"},
	{"smtp-tls", "ROSTER_SMTP_TLS"},
	{"smtp-ca-file", "ROSTER_SMTP_CA_FILE"},
}

// smtpFromEnv fills the SMTP flags not given from their environment
// variables (read here rather than as flag defaults, so that --help never
// prints the password), then checks the result.
func smtpFromEnv(f *pflag.FlagSet, c *delivery.SMTPConfig) error {
	for _, m := range smtpEnv {
		if v, ok := os.LookupEnv(m.env); ok && !f.Changed(m.flag) {
			if err := f.Set(m.flag, v); err != nil {
				return fmt.Errorf("%s: %w", m.env, err)
			}
		}
	}
	if c.Addr == "" {
		for _, m := range smtpEnv[1:] {
			if m.flag != "smtp-tls" && f.Lookup(m.flag).Value.String() != "" {
				return fmt.Errorf("--%s needs --smtp-addr", m.flag)
			}
		}
		return nil
	}
	if _, err := delivery.NewMailer(*c); err != nil {
		return fmt.Errorf("--smtp-*: %w", err)
	}
	return nil
}
