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
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/rosterhq/roster/internal/jobs"
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
				if err := s.carryOutPending(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("webhook redelivery requests left behind could not be carried out", "err", err)
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
	cur, known, err := s.deliveries.Cursor(ctx, ep.ID)
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
	ds := make([]jobs.NewDelivery, 0, len(events))
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
		ds = append(ds, jobs.NewDelivery{
			Endpoint: ep.ID, Tenant: ep.Tenant, Lane: laneOf(ev, s.cfg.Lanes),
			EventID: ev.ID, EventType: ev.Type, EventCursor: ev.Cursor, EventTime: ev.Time,
			Payload: payload,
		})
	}
	err = s.host.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.deliveries.AdvanceCursor(ctx, tx, ep.ID, cur, known, next); err != nil {
			return err
		}
		if err := s.deliveries.Insert(ctx, tx, ds); err != nil {
			return err
		}
		lanes := make([]int, 0, len(ds))
		for _, d := range ds {
			lanes = append(lanes, d.Lane)
		}
		slices.Sort(lanes)
		for _, lane := range slices.Compact(lanes) {
			if _, err := s.ensureLaneJob(ctx, tx, ep.ID, lane, false); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, jobs.ErrCursorMoved) {
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
	l, _, err := s.deliveries.LockLane(ctx, tx, endpoint, lane, true)
	if err != nil {
		return false, err
	}
	if l.JobID != 0 {
		if !check {
			return false, nil
		}
		client, err := s.host.Client()
		if err != nil {
			return false, err
		}
		job, err := client.JobGetTx(ctx, tx, l.JobID)
		if err != nil && !errors.Is(err, river.ErrNotFound) {
			return false, fmt.Errorf("get job of webhook lane %s/%d: %w", endpoint, lane, err)
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
	client, err := s.host.Client()
	if err != nil {
		return err
	}
	res, err := client.InsertTx(ctx, tx, laneArgs{Endpoint: endpoint, Lane: lane}, nil)
	if err != nil {
		return fmt.Errorf("insert job of webhook lane %s/%d: %w", endpoint, lane, err)
	}
	return s.deliveries.SetLaneJob(ctx, tx, endpoint, lane, res.Job.ID)
}

// jobLive reports whether a lane's job will still run: it is not finalised,
// and if running, its process has not been silent for longer than a job
// may run (after a crash it stays "running" until river's rescuer, which
// looks only every 30 seconds and only after the jobs host's
// RescueStuckJobsAfter, retries it; when it then runs, it finds the lane no
// longer its own and ends).
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
	withWork, err := s.deliveries.LanesWithWork(ctx)
	if err != nil {
		return err
	}
	var (
		lanes []jobs.Lane
		ids   []int64
	)
	for _, l := range withWork {
		if !enabled[l.Endpoint] {
			continue
		}
		lanes = append(lanes, l)
		if l.JobID != 0 {
			ids = append(ids, l.JobID)
		}
	}
	live := make(map[int64]bool, len(ids))
	if len(ids) > 0 {
		client, err := s.host.Client()
		if err != nil {
			return err
		}
		for len(ids) > 0 {
			chunk := ids[:min(len(ids), 500)]
			ids = ids[len(chunk):]
			res, err := client.JobList(ctx, river.NewJobListParams().IDs(chunk...).First(len(chunk)))
			if err != nil {
				return fmt.Errorf("list webhook lane jobs: %w", err)
			}
			for _, j := range res.Jobs {
				live[j.ID] = s.jobLive(j)
			}
		}
	}
	var errs []error
	for _, l := range lanes {
		if l.JobID != 0 && live[l.JobID] {
			continue
		}
		err := s.host.Tx(ctx, func(tx *sql.Tx) error {
			inserted, err := s.ensureLaneJob(ctx, tx, l.Endpoint, l.Lane, true)
			if inserted {
				s.log.Info("webhook lane had no live job; gave it a new one", "endpoint", l.Endpoint, "lane", l.Lane)
			}
			return err
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// purge deletes delivered deliveries older than the retention, and the
// claims of redelivery requests carried out as long ago, a batch at a time.
func (s *Service) purge(ctx context.Context) error {
	const batch = 1000
	before := time.Now().Add(-s.cfg.Retention)
	for _, purge := range []func(context.Context, time.Time, int) (int, error){s.deliveries.Purge, s.deliveries.PurgeRedeliveries} {
		for range 100 {
			n, err := purge(ctx, before, batch)
			if err != nil {
				return err
			}
			if n < batch {
				break
			}
		}
	}
	return nil
}
