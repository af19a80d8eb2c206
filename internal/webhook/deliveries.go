package webhook

import (
	"context"
	"database/sql"
	"errors"

	"github.com/rosterhq/roster/internal/jobs"
)

// Delivery states.
const (
	StatePending   = jobs.StatePending
	StateDelivered = jobs.StateDelivered
	StateDead      = jobs.StateDead
)

// Delivery is one event's delivery to one endpoint.
type Delivery = jobs.Delivery

// DeliveryQuery selects deliveries, oldest first. Every field is optional.
type DeliveryQuery = jobs.DeliveryQuery

// Deliveries lists deliveries. It works without Start.
func (s *Service) Deliveries(ctx context.Context, q DeliveryQuery) ([]Delivery, error) {
	return s.deliveries.List(ctx, q)
}

// Redeliver puts dead deliveries back to pending with their attempts reset:
// those of the tenant ("" for any) and endpoint, or, when ids is not empty,
// those of ids among them. In the same transaction it makes sure each lane
// concerned has a live job, so whichever process runs the workers on this
// jobs database (a running `roster serve`, when called from the CLI) sends
// them, ahead of the lane's other pending deliveries. It works without
// Start and returns how many deliveries it put back.
//
// A redelivered event comes after later events of its resource that were
// already delivered: order holds among pending deliveries only.
func (s *Service) Redeliver(ctx context.Context, tenant string, endpoint string, ids []int64) (int, error) {
	if endpoint == "" && len(ids) == 0 {
		return 0, errors.New("webhook: redeliver needs an endpoint or delivery ids")
	}
	if len(ids) > 1000 {
		return 0, errors.New("webhook: redeliver at most 1000 ids at a time")
	}
	f := jobs.DeadFilter{Tenant: tenant, Endpoint: endpoint, IDs: ids}
	var n int
	err := s.host.Tx(ctx, func(tx *sql.Tx) error {
		// Lanes first, in order, as every transaction takes them.
		lanes, err := s.deliveries.DeadLanes(ctx, tx, f)
		if err != nil {
			return err
		}
		for _, l := range lanes {
			if _, err := s.ensureLaneJob(ctx, tx, l.Endpoint, l.Lane, true); err != nil {
				return err
			}
		}
		n, err = s.deliveries.Requeue(ctx, tx, f)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
