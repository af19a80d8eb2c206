// Package audit records who changed which tenant's credentials and settings,
// and which admins, in the store's audit log, and reads the log back.
//
// A service records an action with Record inside the store.Write that makes
// the change, so that the change, its audit row and its history entry
// commit together or not at all: a crash, or a failed write of either,
// leaves neither.
package audit

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/store"
)

// Action is one change to the control plane, as the audit log records it.
type Action struct {
	Actor  string // admin name, "cli:<user>" or "system"
	Action string // such as "token.issue", "tenant.disable"
	// Tenant is the tenant the action changed, nil for server-wide actions
	// (admins).
	Tenant *store.Tenant
	Target string // such as a token id or an admin name
	Detail map[string]any
}

// Record appends the audit event of a inside w's transaction.
//
// An action on a tenant's credentials, settings or webhooks is also entered
// in that tenant's revision history, so that the history shows every
// change to the tenant, not only those its SCIM clients made. (The tenant's
// creation and deletion stay in the audit log only: before the one and
// after the other there is no history to enter them in.)
func Record(ctx context.Context, w store.Writer, now time.Time, a Action) error {
	now = now.UTC()
	e := &store.AuditEvent{Time: now, Actor: a.Actor, Action: a.Action, Target: a.Target, Detail: a.Detail}
	if a.Tenant != nil {
		e.Tenant = a.Tenant.Name
	}
	if err := w.Audit().Append(ctx, e); err != nil {
		return fmt.Errorf("record %s in the audit log: %w", a.Action, err)
	}
	if a.Tenant == nil || a.Action == "tenant.create" || a.Action == "tenant.delete" {
		return nil
	}
	t := a.Tenant
	c := &store.Change{
		Tenant: t.ID, Time: now, ResourceType: resourceTypeOf(a.Action), ResourceID: a.Target,
		Operation: a.Action, Actor: a.Actor, Attributes: attributes(a.Detail),
	}
	if c.ResourceType == "Tenant" || c.ResourceID == "" {
		// Settings, and minted JWTs (which have no id of their own), are
		// entered as changes to the tenant.
		c.ResourceID, c.ResourceName = t.ID, t.Name
	}
	if err := w.Record(ctx, c); err != nil {
		return fmt.Errorf("record %s in the history of tenant %q: %w", a.Action, t.Name, err)
	}
	return nil
}

// resourceTypeOf names what an action changed, for the history's
// resourceType: "token.issue" changed a Token.
func resourceTypeOf(action string) string {
	if action == "jwt.mint" {
		return "Token"
	}
	kind, _, _ := strings.Cut(action, ".")
	switch kind {
	case "token":
		return "Token"
	case "oauth_client":
		return "OAuthClient"
	case "webhook":
		return "Webhook"
	}
	return "Tenant"
}

// attributes lists an action's details as the values they were set to.
func attributes(detail map[string]any) []store.AttrChange {
	keys := make([]string, 0, len(detail))
	for k := range detail {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]store.AttrChange, 0, len(keys))
	for _, k := range keys {
		out = append(out, store.AttrChange{Path: k, After: detail[k]})
	}
	return out
}

// Log reads the audit log and the tenants' revision history.
type Log struct{ store store.Store }

// New returns a Log over st.
func New(st store.Store) *Log { return &Log{store: st} }

// List returns audit events after a cursor, oldest first.
func (l *Log) List(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	return l.store.Audit().List(ctx, q)
}

// History returns a tenant's revision history entries, oldest first.
func (l *Log) History(ctx context.Context, q store.HistoryQuery) ([]store.Change, error) {
	return l.store.History().List(ctx, q)
}
