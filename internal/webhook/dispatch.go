package webhook

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/rosterhq/roster/internal/store"
)

// dispatchLoop runs the dispatcher until ctx ends: while this node holds
// the dispatcher's lease it moves events from the outbox into the lanes,
// at each Notify and every PollInterval, and periodically repairs lanes
// and purges old deliveries.
func (s *Service) dispatchLoop(ctx context.Context) {
	tick := time.NewTicker(s.cfg.PollInterval)
	defer tick.Stop()
	var (
		heldUntil  time.Time // the lease is ours until then
		lastAsk    time.Time
		lastRepair time.Time
		lastPurge  = time.Now() // the first purge waits a period
		lastRound  time.Time
		more       bool // the last round left a full page behind
	)
	for {
		// Under a stream of changes, gather them for Linger between
		// rounds: each round costs the same jobs-database transactions and
		// river jobs whether it moves one event or a hundred, so this is
		// what keeps delivery from taking CPU from the SCIM writes.
		if wait := s.cfg.Linger - time.Since(lastRound); wait > 0 && !more {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		lastRound = time.Now()
		now := time.Now()
		if now.Sub(lastAsk) >= leaseTTL/3 {
			lastAsk = now
			held, err := s.store.Leases().Acquire(ctx, leaseName, s.cfg.Holder, leaseTTL)
			switch {
			case err != nil:
				if ctx.Err() != nil {
					return
				}
				s.log.Warn("webhook dispatcher: cannot take its lease", "err", err)
				heldUntil = time.Time{}
			case held:
				heldUntil = now.Add(leaseTTL)
			default:
				heldUntil = time.Time{}
			}
		}
		more = false
		// Work only while the lease has a third of its time left, so that a
		// round never outlasts it.
		if time.Until(heldUntil) > leaseTTL/3 {
			var err error
			more, err = s.dispatchRound(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("webhook dispatch failed", "err", err)
			}
			if time.Since(lastRepair) >= repairEvery {
				lastRepair = time.Now()
				if err := s.repair(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("webhook lane repair failed", "err", err)
				}
			}
			if time.Since(lastPurge) >= purgeEvery {
				lastPurge = time.Now()
				if err := s.purge(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("webhook delivery purge failed", "err", err)
				}
			}
		}
		if more {
			if ctx.Err() != nil {
				return
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-s.notify:
		case <-tick.C:
		}
	}
}

// dispatchRound dispatches new events to every enabled endpoint, and
// reports whether some endpoint has more waiting.
func (s *Service) dispatchRound(ctx context.Context) (more bool, err error) {
	eps, err := s.store.Webhooks().List(ctx, "")
	if err != nil {
		return false, fmt.Errorf("list webhook endpoints: %w", err)
	}
	var errs []error
	for _, ep := range eps {
		if ep.Disabled {
			continue
		}
		m, err := s.dispatchEndpoint(ctx, ep)
		if err != nil {
			errs = append(errs, fmt.Errorf("endpoint %s: %w", ep.ID, err))
		}
		more = more || m
	}
	return more, errors.Join(errs...)
}

// dispatchEndpoint moves one page of the outbox, after the endpoint's
// cursor, into the endpoint's lanes. In one jobs-database transaction it
// advances the cursor (compare-and-swap, so that two dispatchers never both
// dispatch a page), inserts a delivery per event the endpoint subscribes
// to, and gives each lane that got work and has no job a river job. A crash
// at any point therefore neither loses nor duplicates a delivery.
func (s *Service) dispatchEndpoint(ctx context.Context, ep store.WebhookEndpoint) (more bool, err error) {
	cur, known, err := s.cursor(ctx, ep.ID)
	if err != nil {
		return false, err
	}
	events, next, err := s.store.Events().List(ctx, store.EventQuery{Tenant: ep.Tenant, After: cur, Limit: dispatchPage})
	if err != nil {
		return false, fmt.Errorf("read events: %w", err)
	}
	if known && next == cur {
		return false, nil
	}
	var types map[string]bool
	if len(ep.EventTypes) > 0 {
		types = make(map[string]bool, len(ep.EventTypes))
		for _, t := range ep.EventTypes {
			types[t] = true
		}
	}
	ds := make([]newDelivery, 0, len(events))
	for _, ev := range events {
		// An endpoint gets the events from its creation on, and those of
		// the types it subscribes to.
		if ev.Time.Before(ep.Created) || (types != nil && !types[ev.Type]) {
			continue
		}
		payload, err := encodeEvent(ev)
		if err != nil {
			return false, fmt.Errorf("encode event %s: %w", ev.ID, err)
		}
		ds = append(ds, newDelivery{ev: ev, lane: laneOf(ev, s.cfg.Lanes), payload: payload})
	}
	err = s.jobs.tx(ctx, func(tx *sql.Tx) error {
		now := time.Now().UnixMicro()
		var res sql.Result
		if known {
			res, err = tx.ExecContext(ctx, s.jobs.rebind(
				"UPDATE webhook_cursors SET cursor = ?, updated = ? WHERE endpoint_id = ? AND cursor = ?"),
				next, now, ep.ID, cur)
		} else {
			res, err = tx.ExecContext(ctx, s.jobs.rebind(
				"INSERT INTO webhook_cursors (endpoint_id, cursor, updated) VALUES (?, ?, ?) ON CONFLICT (endpoint_id) DO NOTHING"),
				ep.ID, next, now)
		}
		if err != nil {
			return fmt.Errorf("advance cursor: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errCursorMoved
		}
		if err := s.insertDeliveries(ctx, tx, ep, ds, now); err != nil {
			return err
		}
		lanes := make([]int, 0, len(ds))
		for _, d := range ds {
			lanes = append(lanes, d.lane)
		}
		slices.Sort(lanes)
		for _, lane := range slices.Compact(lanes) {
			if _, err := s.ensureLaneJob(ctx, tx, ep.ID, lane, false); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errCursorMoved) {
		// Another dispatcher moved the cursor; read on from there next time.
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return len(events) == dispatchPage, nil
}

// encodeEvent is json.Marshal(ev) without re-reading ev.Data: the outbox
// holds it as JSON already, and validating and compacting a whole resource
// per event was a tenth of delivery's CPU.
func encodeEvent(ev store.Event) ([]byte, error) {
	data := ev.Data
	ev.Data = nil
	head, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	// head ends with "data":null}; splice the stored JSON in its place.
	const tail = `null}`
	if len(data) == 0 {
		return head, nil
	}
	if !bytes.HasSuffix(head, []byte(tail)) {
		ev.Data = data
		return json.Marshal(ev)
	}
	out := make([]byte, 0, len(head)-len(tail)+len(data)+1)
	out = append(out, head[:len(head)-len(tail)]...)
	out = append(out, data...)
	return append(out, '}'), nil
}

var errCursorMoved = errors.New("cursor moved by another dispatcher")

type newDelivery struct {
	ev      store.Event
	lane    int
	payload []byte
}

// cursor returns the endpoint's dispatch cursor, and whether it has one.
func (s *Service) cursor(ctx context.Context, endpoint string) (string, bool, error) {
	var cur string
	err := s.jobs.db.QueryRowContext(ctx, s.jobs.rebind("SELECT cursor FROM webhook_cursors WHERE endpoint_id = ?"), endpoint).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read cursor: %w", err)
	}
	return cur, true, nil
}

// insertDeliveries inserts pending deliveries, several rows a statement.
func (s *Service) insertDeliveries(ctx context.Context, tx *sql.Tx, ep store.WebhookEndpoint, ds []newDelivery, now int64) error {
	const cols, perStmt = 9, 50
	for len(ds) > 0 {
		chunk := ds[:min(len(ds), perStmt)]
		ds = ds[len(chunk):]
		var q strings.Builder
		q.WriteString("INSERT INTO webhook_deliveries (endpoint_id, tenant, lane, event_id, event_type, event_cursor, event_time, payload, created) VALUES ")
		args := make([]any, 0, cols*len(chunk))
		for i, d := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, ep.ID, ep.Tenant, d.lane, d.ev.ID, d.ev.Type, d.ev.Cursor, d.ev.Time.UnixMicro(), string(d.payload), now)
		}
		if _, err := tx.ExecContext(ctx, s.jobs.rebind(q.String()), args...); err != nil {
			return fmt.Errorf("insert deliveries: %w", err)
		}
	}
	return nil
}

// laneOf is the lane of an event: a hash of its resource, so that the
// events of one resource are delivered in order, one after another.
func laneOf(ev store.Event, lanes int) int {
	h := fnv.New32a()
	h.Write([]byte(ev.ResourceType))
	h.Write([]byte{0})
	h.Write([]byte(ev.ResourceID))
	return int(h.Sum32() % uint32(lanes))
}

// ensureLaneJob makes sure the lane has a job, inside tx, and reports
// whether it inserted one. The lane's row is locked first, which orders it
// against a worker finishing the lane's job (which decides, under the same
// lock, whether to chain a next job). With check, a recorded job is looked
// up and replaced if it is gone, finalised, or has been running for longer
// than a live job can (its process died); otherwise a recorded job is
// trusted.
func (s *Service) ensureLaneJob(ctx context.Context, tx *sql.Tx, endpoint string, lane int, check bool) (bool, error) {
	if _, err := tx.ExecContext(ctx, s.jobs.rebind(
		"INSERT INTO webhook_lanes (endpoint_id, lane) VALUES (?, ?) ON CONFLICT (endpoint_id, lane) DO NOTHING"),
		endpoint, lane); err != nil {
		return false, fmt.Errorf("insert lane: %w", err)
	}
	var jobID sql.NullInt64
	if err := tx.QueryRowContext(ctx, s.jobs.rebind(
		"SELECT job_id FROM webhook_lanes WHERE endpoint_id = ? AND lane = ?"+s.jobs.forUpdate()),
		endpoint, lane).Scan(&jobID); err != nil {
		return false, fmt.Errorf("lock lane: %w", err)
	}
	if jobID.Valid {
		if !check {
			return false, nil
		}
		job, err := s.client.JobGetTx(ctx, tx, jobID.Int64)
		if err != nil && !errors.Is(err, river.ErrNotFound) {
			return false, fmt.Errorf("get lane job: %w", err)
		}
		if err == nil && s.jobLive(job) {
			return false, nil
		}
	}
	if err := s.insertLaneJob(ctx, tx, endpoint, lane); err != nil {
		return false, err
	}
	return true, nil
}

// insertLaneJob inserts the lane's next job in tx and records it as the
// lane's job.
func (s *Service) insertLaneJob(ctx context.Context, tx *sql.Tx, endpoint string, lane int) error {
	res, err := s.client.InsertTx(ctx, tx, laneArgs{Endpoint: endpoint, Lane: lane}, &river.InsertOpts{Queue: queueName})
	if err != nil {
		return fmt.Errorf("insert lane job: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.jobs.rebind(
		"UPDATE webhook_lanes SET job_id = ? WHERE endpoint_id = ? AND lane = ?"),
		res.Job.ID, endpoint, lane); err != nil {
		return fmt.Errorf("record lane job: %w", err)
	}
	return nil
}

// jobLive reports whether a lane's job will still run: it is not finalised,
// and if running, its process has not been silent for longer than a job
// may run (after a crash it stays "running" until river's rescuer, which
// looks only every 30 seconds, retries it; when it then runs, it finds the
// lane no longer its own and ends).
func (s *Service) jobLive(job *rivertype.JobRow) bool {
	switch job.State {
	case rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
		return false
	case rivertype.JobStateRunning:
		return job.AttemptedAt == nil || time.Since(*job.AttemptedAt) < s.rescueAfter
	}
	return true
}

// repair gives a new job to each lane of an enabled endpoint that has
// pending deliveries but no live job: its job was lost (deleted by
// retention, discarded by river) or abandoned by a process that died, or
// the endpoint was disabled and enabled again. Lanes whose recorded job is
// live cost one indexed query in all.
func (s *Service) repair(ctx context.Context) error {
	eps, err := s.store.Webhooks().List(ctx, "")
	if err != nil {
		return fmt.Errorf("list webhook endpoints: %w", err)
	}
	enabled := make(map[string]bool, len(eps))
	for _, ep := range eps {
		enabled[ep.ID] = !ep.Disabled
	}
	rows, err := s.jobs.db.QueryContext(ctx, `SELECT l.endpoint_id, l.lane, l.job_id FROM webhook_lanes l
		WHERE EXISTS (SELECT 1 FROM webhook_deliveries d
			WHERE d.endpoint_id = l.endpoint_id AND d.lane = l.lane AND d.state = 'pending')`)
	if err != nil {
		return fmt.Errorf("find lanes with work: %w", err)
	}
	type laneRef struct {
		endpoint string
		lane     int
		job      sql.NullInt64
	}
	var lanes []laneRef
	var ids []int64
	for rows.Next() {
		var l laneRef
		if err := rows.Scan(&l.endpoint, &l.lane, &l.job); err != nil {
			rows.Close()
			return fmt.Errorf("find lanes with work: %w", err)
		}
		if !enabled[l.endpoint] {
			continue
		}
		lanes = append(lanes, l)
		if l.job.Valid {
			ids = append(ids, l.job.Int64)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find lanes with work: %w", err)
	}
	live := make(map[int64]bool, len(ids))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		res, err := s.client.JobList(ctx, river.NewJobListParams().IDs(chunk...).First(len(chunk)))
		if err != nil {
			return fmt.Errorf("list lane jobs: %w", err)
		}
		for _, j := range res.Jobs {
			live[j.ID] = s.jobLive(j)
		}
	}
	var errs []error
	for _, l := range lanes {
		if l.job.Valid && live[l.job.Int64] {
			continue
		}
		err := s.jobs.tx(ctx, func(tx *sql.Tx) error {
			inserted, err := s.ensureLaneJob(ctx, tx, l.endpoint, l.lane, true)
			if inserted {
				s.log.Info("webhook lane had no live job; gave it a new one", "endpoint", l.endpoint, "lane", l.lane)
			}
			return err
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// purge deletes delivered deliveries older than the retention, a batch at
// a time.
func (s *Service) purge(ctx context.Context) error {
	before := time.Now().Add(-s.cfg.Retention).UnixMicro()
	for range 100 {
		res, err := s.jobs.db.ExecContext(ctx, s.jobs.rebind(`DELETE FROM webhook_deliveries WHERE id IN (
			SELECT id FROM webhook_deliveries WHERE state = 'delivered' AND created < ? LIMIT 1000)`), before)
		if err != nil {
			return fmt.Errorf("purge deliveries: %w", err)
		}
		if n, _ := res.RowsAffected(); n < 1000 {
			return nil
		}
	}
	return nil
}

// tx runs fn in a transaction of the jobs database.
func (j *Jobs) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
