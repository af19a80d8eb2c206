package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Change is one change to a SCIM resource: its entry in the tenant's
// revision history and the events it emits to the app. Writer.Record stores
// both in the transaction of the change itself, so there is never a change
// without its history and events, nor history or events without a change.
type Change struct {
	Seq          int64     `json:"seq"` // assigned by the store, ascending
	Tenant       string    `json:"tenant"`
	Time         time.Time `json:"time"`
	ResourceType string    `json:"resourceType"` // schema.UserResource or schema.GroupResource
	ResourceID   string    `json:"resourceId"`
	// ResourceName is the user's userName or the group's displayName after
	// the change (before it, for a delete), so that history can be searched
	// by name even after a rename.
	ResourceName string `json:"resourceName,omitempty"`
	Operation    string `json:"operation"` // create, replace, patch or delete
	Version      int64  `json:"version"`   // the resource's version after the change; 0 after a delete
	// Actor is who made the change as the app's admins see it ("Scim System
	// User" by default for SCIM clients); ActorLabel names the credential
	// behind it, such as the token's label, and Credential its kind and id.
	Actor      string `json:"actor"`
	ActorLabel string `json:"actorLabel,omitempty"`
	Credential string `json:"credential,omitempty"`
	RequestID  string `json:"requestId,omitempty"`
	ClientAddr string `json:"clientAddress,omitempty"`
	// Attributes lists the attributes the change set, with their values
	// before and after; secrets are redacted by the caller.
	Attributes     []AttrChange `json:"attributes,omitempty"`
	MembersAdded   []string     `json:"membersAdded,omitempty"`
	MembersRemoved []string     `json:"membersRemoved,omitempty"`
	// Events are the events the change emits, in order; the store sets
	// their Tenant and Cursor. A history reader gets their types only.
	Events []Event `json:"-"`
	// EventTypes are the types of Events, as the history keeps them.
	EventTypes []string `json:"events,omitempty"`
}

// DefaultHistoryActor is the actor the revision history shows for changes
// made by a tenant's SCIM clients unless the tenant sets its own: the name
// apps that IdP admins know show (TerraTrue's admin guide calls it "Scim
// System User").
const DefaultHistoryActor = "Scim System User"

// AttrChange is one attribute a change set, by its path (such as "name",
// "emails" or "urn:…:enterprise:2.0:User:manager"). Before or After is nil
// when the attribute had or has no value.
type AttrChange struct {
	Path   string `json:"path"`
	Before any    `json:"before,omitempty"`
	After  any    `json:"after,omitempty"`
}

// Event is a change event in the transactional outbox: what the app (by
// webhook, pull feed or in-process subscription) learns of a change.
type Event struct {
	// Cursor is the event's position in the outbox, opaque to callers.
	// Reading after a cursor EventStore.List returned gives every event
	// committed later, in commit order, on every backend; resume only from
	// those (on PostgreSQL, one set by Record may be ahead of events of
	// transactions still open).
	Cursor       string    `json:"-"`
	ID           string    `json:"id"` // unique, a UUID
	Tenant       string    `json:"tenant"`
	Type         string    `json:"type"` // such as "user.created"
	Time         time.Time `json:"time"`
	ResourceType string    `json:"resourceType"`
	ResourceID   string    `json:"resourceId"`
	// Data is the event's body as JSON: the resource after the change and,
	// for membership events, the members added or removed.
	Data json.RawMessage `json:"data"`
}

// Event types.
const (
	UserCreated         = "user.created"
	UserUpdated         = "user.updated"
	UserDeactivated     = "user.deactivated"
	UserReactivated     = "user.reactivated"
	UserDeleted         = "user.deleted"
	GroupCreated        = "group.created"
	GroupUpdated        = "group.updated"
	GroupDeleted        = "group.deleted"
	GroupMembersAdded   = "group.members_added"
	GroupMembersRemoved = "group.members_removed"
	// The notices of a provisioning job (internal/provision/notify),
	// written to the tenant its notifications name; their resource is the
	// job (ResourceType ProvisioningJob, ResourceID its name).
	ProvisioningQuarantined = "provisioning.quarantined"
	ProvisioningDeletesHeld = "provisioning.deletes_held"
	ProvisioningRecovered   = "provisioning.recovered"
)

// Page sizes of history and event reads.
const (
	historyDefaultLimit = 100
	eventsDefaultLimit  = 100
	HistoryMaxLimit     = 1000
	EventsMaxLimit      = 1000
)

// ErrInvalidCursor means an event cursor is malformed or from another backend.
var ErrInvalidCursor = errors.New("invalid event cursor")

// EventTypes lists every event type, for validating subscriptions.
var EventTypes = []string{
	UserCreated, UserUpdated, UserDeactivated, UserReactivated, UserDeleted,
	GroupCreated, GroupUpdated, GroupDeleted, GroupMembersAdded, GroupMembersRemoved,
	ProvisioningQuarantined, ProvisioningDeletesHeld, ProvisioningRecovered,
}

// HistoryQuery selects history entries, oldest first. Every field but
// Tenant is optional.
type HistoryQuery struct {
	Tenant       string // tenant id; required
	ResourceType string
	ResourceID   string
	// UserName selects the history of the users that had this userName at
	// any time (compared case-insensitively), including entries from before
	// a rename.
	UserName string
	Actor    string    // exact actor, such as "Scim System User"
	Since    time.Time // entries at or after; zero for no bound
	Until    time.Time // entries before; zero for no bound
	After    int64     // entries with Seq > After (the paging cursor)
	Limit    int       // at most this many; 0 means 100, capped at 1000
}

// EffectiveLimit is q.Limit with its default and cap applied.
func (q HistoryQuery) EffectiveLimit() int {
	return clampLimit(q.Limit, historyDefaultLimit, HistoryMaxLimit)
}

// EventQuery selects outbox events in commit order.
type EventQuery struct {
	Tenant string // tenant id; "" reads every tenant's events
	After  string // a Cursor, or "" for the oldest retained event
	Limit  int    // at most this many; 0 means 100, capped at 1000
}

// EffectiveLimit is q.Limit with its default and cap applied.
func (q EventQuery) EffectiveLimit() int {
	return clampLimit(q.Limit, eventsDefaultLimit, EventsMaxLimit)
}

func clampLimit(n, def, maxN int) int {
	if n <= 0 {
		return def
	}
	return min(n, maxN)
}

// HistoryStore reads the revision history that Writer.Record writes.
type HistoryStore interface {
	List(ctx context.Context, q HistoryQuery) ([]Change, error)
	// Purge deletes history entries older than before, at most limit of
	// them, and returns how many it deleted.
	Purge(ctx context.Context, before time.Time, limit int) (int, error)
}

// EventStore reads the outbox that Writer.Record writes.
type EventStore interface {
	// List returns events after q.After in commit order, and the cursor to
	// read on from (q.After when there are none). An event becomes readable
	// once every transaction that began before it has ended, so a reader
	// that follows the cursor never skips one. A cursor that names no
	// position this backend wrote fails with ErrInvalidCursor.
	List(ctx context.Context, q EventQuery) (events []Event, next string, err error)
	// Purge deletes events older than before, at most limit of them, and
	// returns how many it deleted.
	Purge(ctx context.Context, before time.Time, limit int) (int, error)
	// Oldest returns the purge horizon: the cursor of the newest event
	// Purge has deleted ("" if it never deleted one), kept in the same
	// transaction as the purge. A reader whose cursor is before it has
	// missed events. Events deleted with their tenant do not move it.
	Oldest(ctx context.Context) (string, error)
}

// WebhookEndpoint is a tenant's webhook: where its events are delivered.
type WebhookEndpoint struct {
	ID     string `json:"id"`
	Tenant string `json:"tenant"`
	URL    string `json:"url"`
	// Secret signs each delivery (Standard Webhooks, HMAC-SHA256); Roster
	// must keep it to sign with.
	Secret      string    `json:"-"`
	EventTypes  []string  `json:"eventTypes,omitempty"` // empty means every type
	MaxAttempts int       `json:"maxAttempts"`          // attempts before a delivery is dead-lettered
	Disabled    bool      `json:"disabled,omitempty"`
	Created     time.Time `json:"created"`
}

// WebhookRedelivery is a request to send an endpoint's dead deliveries
// again, kept until the webhook service has carried it out in the jobs
// database. It is written in the transaction of its audit row, so a
// redelivery happens if and only if it is recorded.
type WebhookRedelivery struct {
	ID       string
	Tenant   string // tenant id
	Endpoint string // endpoint id
	// Deliveries are the ids of the deliveries to send again; empty means
	// every dead delivery of the endpoint.
	Deliveries []int64
	Requested  time.Time
}

// WebhookStore reads webhook endpoints and pending redelivery requests.
type WebhookStore interface {
	Get(ctx context.Context, id string) (WebhookEndpoint, error)
	// List returns a tenant's endpoints, or every tenant's for "", oldest first.
	List(ctx context.Context, tenant string) ([]WebhookEndpoint, error)
	// Redeliveries returns up to limit pending redelivery requests, oldest
	// first.
	Redeliveries(ctx context.Context, limit int) ([]WebhookRedelivery, error)
}

// WebhookWriter changes webhook endpoints inside a Write.
type WebhookWriter interface {
	Create(ctx context.Context, e WebhookEndpoint) error // ErrConflict on a duplicate id
	Get(ctx context.Context, id string) (WebhookEndpoint, error)
	// Update replaces an endpoint's URL, secret, event types, attempts and
	// switch; its tenant and creation time stay.
	Update(ctx context.Context, e WebhookEndpoint) error
	Delete(ctx context.Context, id string) error
	// RequestRedelivery records a redelivery request. ErrNotFound if its
	// endpoint does not exist.
	RequestRedelivery(ctx context.Context, r WebhookRedelivery) error
	// DoneRedelivery deletes a request once it is carried out; deleting
	// one that is gone is not an error.
	DoneRedelivery(ctx context.Context, id string) error
}
