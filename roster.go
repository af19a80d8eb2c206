// Package roster embeds Roster's SCIM 2.0 service provider in a Go app.
//
// A SaaS app mounts the SCIM handler in its own http.Server, keeps Roster's
// tables in its own database (a SQLite file or a PostgreSQL schema), and
// subscribes to the changes identity providers make, so that it can keep its
// own user and role tables in step:
//
//	r, err := roster.Open(ctx, roster.Options{Database: "app.db", Prefix: "/scim/v2"})
//	...
//	mux.Handle("/scim/v2/", r.Handler())
//	go r.Subscribe(ctx, "employees", func(ctx context.Context, e roster.Event) error {
//		// upsert or delete the app's own row for e.ResourceID
//	})
//
// Everything `roster serve` does is available: per-tenant Tenant URLs and
// tokens, revision history, webhooks and the pull feed (through Roster's
// admin API or CLI on the same database). examples/employees is a complete
// app.
package roster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/app"
	"github.com/rosterhq/roster/internal/feed"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/postgres"
	"github.com/rosterhq/roster/internal/tenant"
	"github.com/rosterhq/roster/internal/webhook"
)

// Options configure an embedded Roster.
type Options struct {
	// Database is a SQLite file path (it may be the app's own database
	// file: Roster's tables live beside the app's) or a postgres:// URL.
	Database string
	// Schema, for PostgreSQL, is the schema Roster keeps its tables in,
	// created if missing, so they stay apart from the app's; "" uses the
	// URL's search_path.
	Schema string
	// Prefix is the path the SCIM handler is mounted at, such as
	// "/scim/v2"; each tenant's Tenant URL is BaseURL + Prefix + "/" + name.
	Prefix string
	// BaseURL is the app's public URL, for Tenant URLs and meta.location;
	// "" derives it from each request.
	BaseURL string
	// Logger receives Roster's logs; nil discards them.
	Logger *slog.Logger
	// HistoryRetention and EventRetention are how long revision history
	// and change events are kept; 0 means the defaults of `roster serve`.
	HistoryRetention, EventRetention time.Duration
	// WebhookAllowPrivate lets webhooks be delivered to loopback and
	// private addresses, as `roster serve --webhook-allow-private` does;
	// by default only public addresses are (docs/security.md).
	WebhookAllowPrivate bool
}

// Roster is an embedded SCIM service provider.
type Roster struct {
	app    *app.Roster
	store  store.Store
	opts   Options
	cancel context.CancelFunc
	done   chan struct{}
}

// Open opens (and migrates) Roster's tables in the database and starts its
// background work: purging past retention, webhook delivery.
func Open(ctx context.Context, opts Options) (*Roster, error) {
	if opts.Database == "" {
		return nil, errors.New("roster: Options.Database is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HistoryRetention == 0 {
		opts.HistoryRetention = app.DefaultHistoryRetention
	}
	if opts.EventRetention == 0 {
		opts.EventRetention = app.DefaultEventRetention
	}
	var st store.Store
	var err error
	if opts.Schema != "" && (strings.HasPrefix(opts.Database, "postgres://") || strings.HasPrefix(opts.Database, "postgresql://")) {
		st, err = postgres.Open(ctx, opts.Database, postgres.WithSchema(opts.Schema))
	} else {
		st, err = app.OpenStore(ctx, opts.Database)
	}
	if err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	a, err := app.New(ctx, app.Config{
		DB: opts.Database, BaseURL: opts.BaseURL, Prefix: opts.Prefix, Logger: opts.Logger,
		ClientAuthFailures: app.DefaultClientAuthFailures, TenantAuthFailures: app.DefaultTenantAuthFailures,
		TenantConcurrency: app.DefaultTenantConcurrency, TenantListConcurrency: app.DefaultTenantListConcurrency(),
		QueryBudget:      app.DefaultQueryBudget,
		HistoryRetention: opts.HistoryRetention, EventRetention: opts.EventRetention,
		Webhook: webhook.Config{AllowPrivate: opts.WebhookAllowPrivate},
	}, st)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("roster: %w", err)
	}
	// Background work outlives the ctx Open was called with; Close ends it.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &Roster{app: a, store: st, opts: opts, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		a.Run(runCtx)
	}()
	return r, nil
}

// Close stops Roster's background work and closes its database
// connections. Requests still in the handler fail; stop the http.Server
// first.
func (r *Roster) Close() error {
	r.cancel()
	<-r.done
	r.app.Close()
	return r.store.Close()
}

// Handler serves the SCIM endpoints under Options.Prefix: mount it at that
// prefix (with a trailing slash) in the app's mux. It also answers /healthz
// and /readyz if mounted at the root.
func (r *Roster) Handler() http.Handler { return r.app.Handler }

// Tenant is a customer organisation with its own Tenant URL and tokens.
type Tenant struct {
	ID        string
	Name      string
	TenantURL string // when Options.BaseURL is set; otherwise only the path
}

func (r *Roster) tenantOf(t store.Tenant) Tenant {
	urls := tenant.URLs{Base: r.opts.BaseURL, Prefix: app.NormalizePrefix(r.opts.Prefix)}
	return Tenant{ID: t.ID, Name: t.Name, TenantURL: urls.TenantURL(t.Name)}
}

// actor is who the embedded API acts as in Roster's audit log.
const actor = "embedded"

// Errors the tenant methods return, wrapped.
var (
	ErrNotFound = store.ErrNotFound // no such tenant
	ErrExists   = store.ErrConflict // a tenant of that name exists
)

// CreateTenant creates a tenant; ErrExists if the name is taken.
func (r *Roster) CreateTenant(ctx context.Context, name string) (Tenant, error) {
	t, err := r.app.Tenants.Create(ctx, name, actor)
	if err != nil {
		return Tenant{}, fmt.Errorf("roster: %w", err)
	}
	return r.tenantOf(t), nil
}

// Tenant returns a tenant by name; ErrNotFound if there is none.
func (r *Roster) Tenant(ctx context.Context, name string) (Tenant, error) {
	t, err := r.app.Tenants.Get(ctx, name)
	if err != nil {
		return Tenant{}, fmt.Errorf("roster: %w", err)
	}
	return r.tenantOf(t), nil
}

// IssueToken issues a bearer token for a tenant's identity provider: the
// Secret Token an admin pastes into Entra ID or Okta. The token is returned
// only now; Roster keeps its hash.
func (r *Roster) IssueToken(ctx context.Context, tenantName, label string) (string, error) {
	is, err := r.app.Tenants.IssueToken(ctx, tenantName, tenant.TokenRequest{Label: label, CreatedBy: actor})
	if err != nil {
		return "", fmt.Errorf("roster: %w", err)
	}
	return is.Plaintext, nil
}

// Event is a change an identity provider made, as a subscriber sees it.
type Event struct {
	ID           string // unique; a subscriber may see an event again after a crash
	Type         string // such as "user.created"; see the constants
	TenantID     string
	Time         time.Time
	ResourceType string // "User" or "Group"
	ResourceID   string
	// Resource is the SCIM resource after the change (before it, for a
	// delete), as the SCIM API returns it. A group's members are not in
	// it: Members lists those a membership event added or removed.
	Resource          map[string]any
	Members           []string
	ChangedAttributes []string
}

// Event types.
const (
	UserCreated         = store.UserCreated
	UserUpdated         = store.UserUpdated
	UserDeactivated     = store.UserDeactivated
	UserReactivated     = store.UserReactivated
	UserDeleted         = store.UserDeleted
	GroupCreated        = store.GroupCreated
	GroupUpdated        = store.GroupUpdated
	GroupDeleted        = store.GroupDeleted
	GroupMembersAdded   = store.GroupMembersAdded
	GroupMembersRemoved = store.GroupMembersRemoved
)

// Subscribe calls fn for every change event of every tenant, in commit
// order, until ctx ends (returning nil) or fn returns an error (returning
// it). The subscription is durable: its position is kept under name in
// Roster's tables, so after a restart it resumes where it left off and
// hands on everything committed meanwhile. A crash may hand the last few
// events again, so fn should be idempotent (upserts keyed by ResourceID
// are). Changes made through this process wake the subscription at once;
// those of other processes on the same database within half a second.
func (r *Roster) Subscribe(ctx context.Context, name string, fn func(context.Context, Event) error) error {
	return r.app.Feed.Subscribe(ctx, feed.Subscription{Name: name}, func(ctx context.Context, e store.Event) error {
		ev, err := publicEvent(e)
		if err != nil {
			return err
		}
		return fn(ctx, ev)
	}, r.opts.Logger)
}

func publicEvent(e store.Event) (Event, error) {
	var data struct {
		Resource          map[string]any `json:"resource"`
		Members           []string       `json:"members"`
		ChangedAttributes []string       `json:"changedAttributes"`
	}
	if err := json.Unmarshal(e.Data, &data); err != nil {
		return Event{}, fmt.Errorf("roster: decode event %s: %w", e.ID, err)
	}
	return Event{
		ID: e.ID, Type: e.Type, TenantID: e.Tenant, Time: e.Time,
		ResourceType: e.ResourceType, ResourceID: e.ResourceID,
		Resource: data.Resource, Members: data.Members, ChangedAttributes: data.ChangedAttributes,
	}, nil
}
