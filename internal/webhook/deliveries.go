package webhook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Delivery states.
const (
	StatePending   = "pending"
	StateDelivered = stateDelivered
	StateDead      = stateDead
)

// Delivery is one event's delivery to one endpoint.
type Delivery struct {
	ID         int64
	Endpoint   string
	Tenant     string
	Lane       int
	EventID    string
	EventType  string
	State      string // StatePending, StateDelivered or StateDead
	Attempts   int
	LastStatus int    // HTTP status of the last attempt; 0 if it got none
	LastError  string // why the last attempt failed; "" if it did not
	Created    time.Time
	Delivered  *time.Time
}

// DeliveryQuery selects deliveries, oldest first. Every field is optional.
type DeliveryQuery struct {
	Tenant   string
	Endpoint string
	State    string
	After    int64 // deliveries with ID > After (the paging cursor)
	Limit    int   // 0 means 100, capped at 1000
}

// Deliveries lists deliveries. It works without Start.
func (s *Service) Deliveries(ctx context.Context, q DeliveryQuery) ([]Delivery, error) {
	var (
		where []string
		args  []any
	)
	for _, c := range []struct {
		col, val string
	}{{"tenant", q.Tenant}, {"endpoint_id", q.Endpoint}, {"state", q.State}} {
		if c.val != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	where = append(where, "id > ?")
	args = append(args, q.After)
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, min(limit, 1000))
	rows, err := s.jobs.db.QueryContext(ctx, s.jobs.rebind(`SELECT id, endpoint_id, tenant, lane, event_id, event_type,
		state, attempts, last_status, last_error, created, delivered_at
		FROM webhook_deliveries WHERE `+strings.Join(where, " AND ")+" ORDER BY id LIMIT ?"), args...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	var ds []Delivery
	for rows.Next() {
		var (
			d         Delivery
			created   int64
			delivered sql.NullInt64
		)
		if err := rows.Scan(&d.ID, &d.Endpoint, &d.Tenant, &d.Lane, &d.EventID, &d.EventType,
			&d.State, &d.Attempts, &d.LastStatus, &d.LastError, &created, &delivered); err != nil {
			return nil, fmt.Errorf("list deliveries: %w", err)
		}
		d.Created = time.UnixMicro(created).UTC()
		if delivered.Valid {
			t := time.UnixMicro(delivered.Int64).UTC()
			d.Delivered = &t
		}
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return ds, nil
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
	var (
		where = []string{"state = 'dead'"}
		args  []any
	)
	if tenant != "" {
		where = append(where, "tenant = ?")
		args = append(args, tenant)
	}
	if endpoint != "" {
		where = append(where, "endpoint_id = ?")
		args = append(args, endpoint)
	}
	if len(ids) > 0 {
		if len(ids) > 1000 {
			return 0, errors.New("webhook: redeliver at most 1000 ids at a time")
		}
		where = append(where, "id IN (?"+strings.Repeat(", ?", len(ids)-1)+")")
		for _, id := range ids {
			args = append(args, id)
		}
	}
	cond := strings.Join(where, " AND ")
	var n int
	err := s.jobs.tx(ctx, func(tx *sql.Tx) error {
		type laneKey struct {
			endpoint string
			lane     int
		}
		var lanes []laneKey
		rows, err := tx.QueryContext(ctx, s.jobs.rebind("SELECT DISTINCT endpoint_id, lane FROM webhook_deliveries WHERE "+cond), args...)
		if err != nil {
			return fmt.Errorf("find dead deliveries: %w", err)
		}
		for rows.Next() {
			var l laneKey
			if err := rows.Scan(&l.endpoint, &l.lane); err != nil {
				rows.Close()
				return fmt.Errorf("find dead deliveries: %w", err)
			}
			lanes = append(lanes, l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("find dead deliveries: %w", err)
		}
		// Lanes first, in order, as every transaction takes them.
		slices.SortFunc(lanes, func(a, b laneKey) int {
			if c := strings.Compare(a.endpoint, b.endpoint); c != 0 {
				return c
			}
			return a.lane - b.lane
		})
		for _, l := range lanes {
			if _, err := s.ensureLaneJob(ctx, tx, l.endpoint, l.lane, true); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, s.jobs.rebind("UPDATE webhook_deliveries SET state = 'pending', attempts = 0 WHERE "+cond), args...)
		if err != nil {
			return fmt.Errorf("redeliver: %w", err)
		}
		affected, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("redeliver: %w", err)
		}
		n = int(affected)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
