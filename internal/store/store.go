// Package store defines Roster's storage interface: tenants, tokens, SCIM
// resources and group memberships, every row scoped by its tenant. Backends
// (store/sqlite, later store/postgres) implement it and prove it with the
// shared conformance suite in store/storetest.
//
// A resource in another tenant is reported exactly like a missing one, with
// ErrNotFound, so no caller can learn that it exists.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/schema"
)

// Sentinel errors every backend returns, wrapped with context.
var (
	// ErrNotFound means the tenant, token, resource or member does not exist
	// (or belongs to another tenant).
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness rule rejected the write: a userName
	// already taken in the tenant (compared case-insensitively), or a
	// duplicate tenant name or id.
	ErrConflict = errors.New("conflict")
	// ErrPrecondition means the resource's version is not the one the write
	// was based on.
	ErrPrecondition = errors.New("version mismatch")
	// ErrUnavailable means the database cannot be reached or is shutting down.
	ErrUnavailable = errors.New("store unavailable")
)

// MemberError reports a member id that names no User or Group of the tenant.
type MemberError struct{ ID string }

func (e *MemberError) Error() string { return "member " + e.ID + " does not exist" }

// Is makes errors.Is(err, ErrNotFound) true for a MemberError.
func (e *MemberError) Is(target error) bool { return target == ErrNotFound }

// Resource is a stored SCIM resource.
//
// Attrs holds the resource's attributes in Roster's normalized form (see
// package scim/resource): canonical attribute names, extension attributes
// nested under their schema URN, strings, bools, int64, float64, []any and
// map[string]any values. It never holds id, meta, schemas, a group's members
// (stored as memberships) or a user's groups (derived from memberships).
type Resource struct {
	Tenant   string
	Type     string // schema.UserResource or schema.GroupResource
	ID       string
	Attrs    map[string]any
	Created  time.Time
	Modified time.Time
	Version  int64 // starts at 1 and grows by one on every change
}

// Member is one member of a group, or one group of a user.
type Member struct {
	Value   string // the member's (or group's) id
	Type    string // schema.UserResource or schema.GroupResource
	Display string // userName or displayName of the member, derived when read
}

// Query selects, sorts and pages resources of one type, per RFC 7644 §3.4.2.
type Query struct {
	Filter     filter.Expr      // nil selects every resource; validated by the caller
	SortBy     *filter.AttrPath // nil keeps creation order
	Descending bool
	StartIndex int // 1-based; values below 1 mean 1
	Count      int // page size; 0 returns only the total
}

// Page is one page of a query's results.
type Page struct {
	Total     int        // resources matching the filter, across all pages
	Resources []Resource // at most Query.Count, in order
}

// Store is implemented by every backend. Reads run on their own; all writes
// to resources and memberships go through Write so that a change and its
// side effects commit together or not at all.
type Store interface {
	Tenants() TenantStore
	Tokens() TokenStore
	OAuthClients() OAuthClientStore
	Admins() AdminStore
	Audit() AuditStore
	Settings() SettingsStore
	Leases() LeaseStore
	History() HistoryStore
	Events() EventStore
	Webhooks() WebhookStore
	Jobs() JobStore
	Provisioning() ProvisionStore
	// Push holds the records pushed to jobs of source type push.
	Push() PushStore
	Resources() ResourceReader
	// Write runs fn in one write transaction. If fn returns an error, nothing
	// it wrote is kept and the error is returned unchanged. When Write
	// returns nil the change is durable against a crash of the process.
	Write(ctx context.Context, fn func(w Writer) error) error
	// Ping reports whether the database answers and its schema is the one
	// this build expects.
	Ping(ctx context.Context) error
	// Maintain keeps the query planner's statistics fresh, for databases
	// where nothing else does; it is cheap when there is nothing to do and
	// is run periodically by one node.
	Maintain(ctx context.Context) error
	Close() error
}

// ResourceReader reads resources and memberships.
type ResourceReader interface {
	Get(ctx context.Context, tenant, typ, id string) (Resource, error)
	// Query answers a filter with indexed SQL; it never loads a tenant's
	// resources into memory to evaluate it.
	Query(ctx context.Context, tenant string, rt *schema.ResourceType, q Query) (Page, error)
	// Members calls fn for each member of the group, in a stable order,
	// reading them as a stream.
	Members(ctx context.Context, tenant, groupID string, fn func(Member) error) error
	// Groups returns the groups the resource is a direct member of.
	Groups(ctx context.Context, tenant, memberID string) ([]Member, error)
	// GroupsOf is Groups for many resources in one query, for rendering a
	// page of users; resources in no group are absent from the map.
	GroupsOf(ctx context.Context, tenant string, memberIDs []string) (map[string][]Member, error)
}

// Writer writes inside one transaction opened by Store.Write. Every change
// Roster makes, to SCIM resources and to the control plane (tenants,
// credentials, admins, webhooks, settings) alike, is made through a Writer
// by the service that owns it, together with its audit row and history
// entry, so that there is never a change without its record nor a record
// without its change. Reads through a Writer see the transaction's own
// writes.
type Writer interface {
	// Get reads a resource inside the transaction, locking it where the
	// backend supports row locks.
	Get(ctx context.Context, tenant, typ, id string) (Resource, error)
	// Create inserts a resource with Version 1. ErrConflict if its userName
	// clashes, case-insensitively, with another User of the tenant.
	Create(ctx context.Context, r Resource) error
	// Update replaces a resource's attributes, Modified and Version. It
	// fails with ErrPrecondition unless the stored version is r.Version-1,
	// and with ErrConflict on a userName clash.
	Update(ctx context.Context, r Resource) error
	// Delete removes a resource and every membership it takes part in.
	Delete(ctx context.Context, tenant, typ, id string) error
	// AddMembers adds members to a group, ignoring those already present,
	// and returns the ids it added. A member id that names no resource of the
	// tenant fails the call with a *MemberError. It neither reads nor
	// rewrites the group's other members.
	AddMembers(ctx context.Context, tenant, groupID string, ids []string) (added []string, err error)
	// RemoveMembers removes the given members, ignoring ids that are not
	// members, and returns the ids it removed.
	RemoveMembers(ctx context.Context, tenant, groupID string, ids []string) (removed []string, err error)
	// ClearMembers removes every member of a group and returns the ids it
	// removed.
	ClearMembers(ctx context.Context, tenant, groupID string) (removed []string, err error)
	// Members calls fn for each member of the group as this transaction
	// sees it (members it added are in, those it removed are out), in a
	// stable order. ErrNotFound if there is no such group.
	Members(ctx context.Context, tenant, groupID string, fn func(Member) error) error
	// Record appends the change's history entry and its events to the
	// transaction. c.Tenant is the tenant id; ErrNotFound if it names no
	// tenant. c.Seq and each event's Tenant and Cursor are set by the time
	// Write returns nil (a backend may send the rows with the commit).
	Record(ctx context.Context, c *Change) error
	// Emit appends events that no SCIM resource change caused (a
	// provisioning job's notices) to the outbox of one tenant, by id;
	// ErrNotFound if it names no tenant. They have no history entry.
	// Each event's Tenant, a missing ID and a zero Time are filled in;
	// its Type and ResourceType are required. The events' Cursors are set
	// by the time Write returns nil.
	Emit(ctx context.Context, tenant string, events []Event) error

	// The control plane, written by the services that own it.
	Tenants() TenantWriter
	Tokens() TokenWriter
	OAuthClients() OAuthClientWriter
	Admins() AdminWriter
	Webhooks() WebhookWriter
	Jobs() JobWriter
	Provisioning() ProvisionWriter
	Push() PushWriter
	Settings() SettingsWriter
	Audit() AuditWriter
}
