package webhook

import (
	"context"
	"database/sql"

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

// requeue puts dead deliveries back to pending with their attempts reset,
// in tx: those of the tenant ("" for any) and endpoint, or, when ids is not
// empty, those of ids among them. It makes sure each lane concerned has a
// live job, so whichever process runs the workers on this jobs database (a
// running `roster serve`, when called from the CLI) sends them, ahead of
// the lane's other pending deliveries, and returns how many it put back.
//
// A redelivered event comes after later events of its resource that were
// already delivered: order holds among pending deliveries only.
func (s *Service) requeue(ctx context.Context, tx *sql.Tx, tenant string, endpoint string, ids []int64) (int, error) {
	f := jobs.DeadFilter{Tenant: tenant, Endpoint: endpoint, IDs: ids}
	// Lanes first, in order, as every transaction takes them.
	lanes, err := s.deliveries.DeadLanes(ctx, tx, f)
	if err != nil {
		return 0, err
	}
	for _, l := range lanes {
		if _, err := s.ensureLaneJob(ctx, tx, l.Endpoint, l.Lane, true); err != nil {
			return 0, err
		}
	}
	return s.deliveries.Requeue(ctx, tx, f)
}
