package webhook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/internal/audit"
	"github.com/rosterhq/roster/internal/store"
)

// MaxRedeliverIDs bounds the deliveries one redelivery request names.
const MaxRedeliverIDs = 1000

// Redeliver puts dead deliveries of tenant t's endpoint (all, or those of
// ids) back to pending with their attempts reset, on behalf of actor, and
// returns how many it put back. Whichever process runs the workers on the
// jobs database (a running `roster serve`, when called from the CLI) sends
// them, ahead of their lanes' other pending deliveries. It works without
// Start.
//
// The request is recorded in Roster's database in one transaction with its
// audit row and history entry, and then carried out in the jobs database
// (on SQLite another file) exactly once: the jobs transaction that puts the
// deliveries back also claims the request. A request a crash left recorded
// but not carried out is carried out by the dispatcher, on whichever node
// holds its lease. So a redelivery happens if and only if it is recorded.
//
// A redelivered event comes after later events of its resource that were
// already delivered: order holds among pending deliveries only.
func (s *Service) Redeliver(ctx context.Context, t store.Tenant, endpointID string, ids []int64, actor string) (int, error) {
	if len(ids) > MaxRedeliverIDs {
		return 0, fmt.Errorf("%w: redeliver at most %d deliveries at a time", ErrInvalid, MaxRedeliverIDs)
	}
	r := store.WebhookRedelivery{ID: uuid.NewString(), Tenant: t.ID, Endpoint: endpointID, Deliveries: ids, Requested: time.Now().UTC()}
	detail := map[string]any{}
	if len(ids) > 0 {
		detail["ids"] = ids
	}
	err := s.store.Write(ctx, func(w store.Writer) error {
		ep, err := w.Webhooks().Get(ctx, endpointID)
		if _, err = ownEndpoint(t, endpointID, ep, err); err != nil {
			return err
		}
		if err := w.Webhooks().RequestRedelivery(ctx, r); err != nil {
			return err
		}
		return audit.Record(ctx, w, r.Requested, audit.Action{Actor: actor, Action: "webhook.redeliver", Tenant: &t, Target: endpointID, Detail: detail})
	})
	if err != nil {
		return 0, err
	}
	n, err := s.carryOut(ctx, r)
	if err != nil {
		// The request is recorded: the dispatcher carries it out. Asking
		// again would record a second one.
		s.log.Warn("webhook redelivery recorded; carrying it out failed, the dispatcher will", "request", r.ID, "err", err)
		return 0, fmt.Errorf("%w (request %s): %w", ErrPending, r.ID, err)
	}
	return n, nil
}

// ErrPending means a redelivery is recorded but could not be carried out
// at once; the dispatcher of a running server carries it out within
// seconds, so it must not be requested again.
var ErrPending = errors.New("the redelivery is recorded and will be carried out shortly")

// carryOut carries out a recorded redelivery request once, whoever calls it
// how often, and then forgets the request in Roster's database.
func (s *Service) carryOut(ctx context.Context, r store.WebhookRedelivery) (int, error) {
	var n int
	err := s.host.Tx(ctx, func(tx *sql.Tx) error {
		first, done, err := s.deliveries.StartRedelivery(ctx, tx, r.ID, time.Now())
		if err != nil || !first {
			n = done
			return err
		}
		if n, err = s.requeue(ctx, tx, r.Tenant, r.Endpoint, r.Deliveries); err != nil {
			return err
		}
		return s.deliveries.FinishRedelivery(ctx, tx, r.ID, n)
	})
	if err != nil {
		return 0, fmt.Errorf("redeliver to webhook endpoint %s: %w", r.Endpoint, err)
	}
	// Were this lost, the dispatcher would find the request again and its
	// claim would make carrying it out a no-op.
	if err := s.store.Write(ctx, func(w store.Writer) error { return w.Webhooks().DoneRedelivery(ctx, r.ID) }); err != nil {
		s.log.Warn("webhook redelivery carried out, but its request stays; the dispatcher will forget it", "request", r.ID, "err", err)
	}
	return n, nil
}

// carryOutPending carries out the recorded redelivery requests that a
// process did not finish (it died between recording and carrying out), so
// that every recorded redelivery happens. Requests of the last few seconds
// are left to the process that recorded them.
func (s *Service) carryOutPending(ctx context.Context) error {
	rs, err := s.store.Webhooks().Redeliveries(ctx, 100)
	if err != nil {
		return fmt.Errorf("list webhook redelivery requests: %w", err)
	}
	var errs []error
	for _, r := range rs {
		if time.Since(r.Requested) < redeliveryGrace {
			break
		}
		n, err := s.carryOut(ctx, r)
		if err != nil {
			// The next round tries it again; the others go on.
			errs = append(errs, err)
			continue
		}
		s.log.Info("carried out a webhook redelivery request left behind", "request", r.ID, "endpoint", r.Endpoint, "redelivered", n)
	}
	return errors.Join(errs...)
}

// redeliveryGrace is how old a recorded redelivery request must be before
// the dispatcher carries it out instead of the process that recorded it.
const redeliveryGrace = 5 * time.Second
