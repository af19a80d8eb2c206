package webhook

import (
	"context"
	"time"

	"github.com/rosterhq/roster/internal/audit"
	"github.com/rosterhq/roster/internal/store"
)

// RedeliverAs puts dead deliveries of tenant t's endpoint (all, or those of
// ids) back in line, as Redeliver does, on behalf of actor, and records the
// request in the audit log and the tenant's history.
//
// The deliveries live in the jobs database, which on SQLite is another file
// than the audit log, so the two cannot share a transaction: the request is
// recorded first, then carried out. A crash between the two leaves a
// recorded request that was not carried out, never a redelivery nobody
// recorded; redelivering again is harmless.
func (s *Service) RedeliverAs(ctx context.Context, t store.Tenant, endpointID string, ids []int64, actor string) (int, error) {
	detail := map[string]any{}
	if len(ids) > 0 {
		detail["ids"] = ids
	}
	now := time.Now().UTC()
	err := s.store.Write(ctx, func(w store.Writer) error {
		ep, err := w.Webhooks().Get(ctx, endpointID)
		if _, err = ownEndpoint(t, endpointID, ep, err); err != nil {
			return err
		}
		return audit.Record(ctx, w, now, audit.Action{Actor: actor, Action: "webhook.redeliver", Tenant: &t, Target: endpointID, Detail: detail})
	})
	if err != nil {
		return 0, err
	}
	return s.Redeliver(ctx, t.ID, endpointID, ids)
}
