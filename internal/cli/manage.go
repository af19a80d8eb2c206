package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/internal/admin"
	"github.com/rosterhq/roster/internal/app"
	"github.com/rosterhq/roster/internal/audit"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/tenant"
	"github.com/rosterhq/roster/internal/webhook"
)

// manageFlags are the flags every management command shares: which
// database (the one `roster serve` uses, also while it runs), how to print,
// and the public URL for the Tenant URLs it prints.
type manageFlags struct {
	db      string
	output  string
	baseURL string
	prefix  string
}

func (f *manageFlags) register(cmd *cobra.Command) {
	p := cmd.PersistentFlags()
	p.StringVar(&f.db, "db", app.DefaultDB, "database the server uses")
	p.StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	p.StringVar(&f.baseURL, "base-url", "", "public base URL for printed Tenant URLs (default: the one `roster serve` last recorded)")
	p.StringVar(&f.prefix, "prefix", "", "SCIM path prefix for printed Tenant URLs (default: the one `roster serve` last recorded)")
}

// env is an open database with the services over it. Commands call the
// services; store is kept only to start more of them (the webhook jobs).
type env struct {
	ctx       context.Context
	store     store.Store
	tenants   *tenant.Service
	admins    *admin.Service
	endpoints *webhook.Endpoints
	log       *audit.Log
	urls      tenant.URLs
	out       io.Writer
	json      bool
}

// run opens the database, runs fn and closes it.
func (f *manageFlags) run(cmd *cobra.Command, fn func(e *env) error) error {
	if f.output != "text" && f.output != "json" {
		return usageError{fmt.Errorf("--output must be text or json, not %q", f.output)}
	}
	ctx := cmd.Context()
	st, err := app.OpenStore(ctx, f.db)
	if err != nil {
		return err
	}
	defer st.Close()
	tenants := tenant.New(st)
	defer tenants.Close()
	urls, err := tenants.RecordedURLs(ctx, app.DefaultURLs())
	if err != nil {
		return err
	}
	if f.baseURL != "" {
		urls.Base = trimSlash(f.baseURL)
	}
	if f.prefix != "" {
		urls.Prefix = app.NormalizePrefix(f.prefix)
	}
	return fn(&env{
		ctx: ctx, store: st, tenants: tenants, admins: admin.New(st),
		endpoints: webhook.NewEndpoints(st, false), log: audit.New(st), urls: urls,
		out: cmd.OutOrStdout(), json: f.output == "json",
	})
}

// print writes v as JSON, or calls text to write it for people.
func (e *env) print(v any, text func(w io.Writer)) error {
	if e.json {
		enc := json.NewEncoder(e.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(e.out, 0, 4, 2, ' ', 0)
	text(tw)
	return tw.Flush()
}

// actor names whoever runs the CLI in the audit log.
func actor() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return "cli:" + name
}

// notFoundHint turns a store.ErrNotFound into a message that says what to do.
func notFoundHint(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w (list them with `roster %s list`)", err, what)
	}
	return err
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
