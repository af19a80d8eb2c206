// Package audit records who changed which tenant's credentials and settings,
// and which admins, in the store's audit log.
package audit

import (
	"context"
	"fmt"
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
func (l *Log) Record(ctx context.Context, actor, action, tenant, target string, detail map[string]any) error {
	e := &store.AuditEvent{Time: l.now().UTC(), Actor: actor, Action: action, Tenant: tenant, Target: target, Detail: detail}
	if err := l.store.Audit().Append(ctx, e); err != nil {
		return fmt.Errorf("record %s in the audit log: %w", action, err)
	}
	return nil
}

// List returns events after a cursor, oldest first.
func (l *Log) List(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	return l.store.Audit().List(ctx, q)
}
