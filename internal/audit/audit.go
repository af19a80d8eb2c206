// Package audit records who changed which tenant's credentials and settings,
// and which admins, in the store's audit log.
package audit

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/store"
)

// Log appends events to a store's audit log.
type Log struct {
	store store.Store
	now   func() time.Time
}

// New returns a Log over st; now is the clock (nil means time.Now).
func New(st store.Store, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{store: st, now: now}
}

// Record appends one event. An action whose record cannot be written is
// reported as failed, so that no change goes unrecorded silently.
//
// An action on a tenant's credentials, settings or webhooks is also entered
// in that tenant's revision history, so that the history shows every
// change to the tenant, not only those its SCIM clients made. (The tenant's
// creation and deletion stay in the audit log only: before the one and
// after the other there is no history to enter them in.)
func (l *Log) Record(ctx context.Context, actor, action, tenant, target string, detail map[string]any) error {
	now := l.now().UTC()
	e := &store.AuditEvent{Time: now, Actor: actor, Action: action, Tenant: tenant, Target: target, Detail: detail}
	if err := l.store.Audit().Append(ctx, e); err != nil {
		return fmt.Errorf("record %s in the audit log: %w", action, err)
	}
	if tenant == "" || action == "tenant.create" || action == "tenant.delete" {
		return nil
	}
	t, err := l.store.Tenants().GetByName(ctx, tenant)
	if err != nil {
		return fmt.Errorf("record %s in the history of tenant %q: %w", action, tenant, err)
	}
	c := &store.Change{
		Tenant: t.ID, Time: now, ResourceType: resourceTypeOf(action), ResourceID: target,
		Operation: action, Actor: actor, Attributes: attributes(detail),
	}
	if c.ResourceType == "Tenant" || c.ResourceID == "" {
		// Settings, and minted JWTs (which have no id of their own), are
		// entered as changes to the tenant.
		c.ResourceID, c.ResourceName = t.ID, t.Name
	}
	if err := l.store.Write(ctx, func(w store.Writer) error { return w.Record(ctx, c) }); err != nil {
		return fmt.Errorf("record %s in the history of tenant %q: %w", action, tenant, err)
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

// List returns events after a cursor, oldest first.
func (l *Log) List(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	return l.store.Audit().List(ctx, q)
}
