package engine

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rosterhq/roster/internal/provision/report"
	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/store"
)

// A running cycle's progress (issue 14, point 6): the engine writes the
// cycle's row, still Running, with its counts and a report.Progress about
// once a second, so that the CLI and the admin API of every node see it;
// and it adds each ended cycle to the job's statistics to date in the
// transaction that records the cycle's end.

// Phases of a cycle, as report.Progress names them.
const (
	phaseStarting       = "starting"
	phaseUsers          = "users"
	phaseReferences     = "references"
	phaseGroups         = "groups"
	phaseDeprovisioning = "deprovisioning"
)

// ProgressEvery is how often a running cycle's progress is written.
const ProgressEvery = time.Second

// rateWindow is how many of the last progress samples the rate spans.
const rateWindow = 10

// tracker follows a cycle's progress; its zero value is ready.
type tracker struct {
	phase atomic.Pointer[string]
	// full is set when the cycle reads the users in full.
	full atomic.Bool
	// done counts the objects the workers have finished with.
	done atomic.Int64
	// samples are the last (time, done) pairs, for the rate.
	samples []sample
}

type sample struct {
	at   time.Time
	done int64
}

// setPhase records the cycle's step; phases calls it at each. The atomic
// store also publishes what the cycle wrote before it (linkedAtStart) to
// the goroutine that reads the phase.
func (c *cycle) setPhase(phase string, full bool) {
	if full {
		c.track.full.Store(true)
	}
	c.track.phase.Store(&phase)
}

// counted wraps a worker's function so that each object it finishes
// counts as processed.
func (c *cycle) counted(fn func(context.Context, source.Object) error) func(context.Context, source.Object) error {
	return func(ctx context.Context, o source.Object) error {
		defer c.track.done.Add(1)
		return fn(ctx, o)
	}
}

// progressNow computes the cycle's progress at now, adding a rate sample.
// It is called from one goroutine at a time.
func (c *cycle) progressNow(now time.Time) report.Progress {
	phase := phaseStarting
	if p := c.track.phase.Load(); p != nil {
		phase = *p
	}
	done, read := c.track.done.Load(), c.n.read.Load()
	p := report.Progress{Phase: phase, Processed: done, ElapsedSeconds: now.Sub(c.started).Seconds(), Updated: now.UTC()}
	// The estimate: a full read should read about what the last one read,
	// and at least the objects linked at the start; an incremental read
	// has as much to do as its delta has returned so far.
	p.Total, p.EstimatedFrom = read, "read"
	if phase != phaseStarting && c.track.full.Load() {
		last := report.TotalsOf(c.state.Totals).LastFullRead
		switch {
		case last >= int64(c.linkedAtStart) && last > read:
			p.Total, p.EstimatedFrom = last, "lastFullRead"
		case int64(c.linkedAtStart) > read:
			p.Total, p.EstimatedFrom = int64(c.linkedAtStart), "links"
		}
	}
	if p.Total == 0 {
		p.EstimatedFrom = ""
	}
	c.track.samples = append(c.track.samples, sample{now, done})
	if len(c.track.samples) > rateWindow {
		c.track.samples = c.track.samples[len(c.track.samples)-rateWindow:]
	}
	first := c.track.samples[0]
	if len(c.track.samples) == 1 {
		first = sample{c.started, 0}
	}
	if secs := now.Sub(first.at).Seconds(); secs > 0 {
		p.RatePerSecond = float64(done-first.done) / secs
	}
	if p.RatePerSecond > 0 && p.Total > done {
		eta := float64(p.Total-done) / p.RatePerSecond
		p.ETASeconds = &eta
	}
	return p
}

// runningRecord is the cycle's row while it runs, with its progress.
func (c *cycle) runningRecord(p report.Progress) store.ProvisionCycle {
	stats, _ := json.Marshal(struct {
		Stats
		Progress report.Progress `json:"progress"`
	}{c.n.snapshot(), p})
	return store.ProvisionCycle{ID: c.id, Job: c.job.Name, Initial: c.initial, DryRun: c.dry, Started: c.started,
		Status: CycleRunning, Stats: stats}
}

// trackProgress writes the cycle's progress every ProgressEvery until
// stopped, and keeps the engine's gauges current. A write that fails is
// logged and the cycle goes on: progress is for people watching.
func (c *cycle) trackProgress(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			p := c.progressNow(c.e.cfg.Now())
			c.e.metrics.progress(c.job.Name, c.dry, p)
			rec := c.runningRecord(p)
			err := c.e.st.Write(ctx, func(w store.Writer) error { return w.Provisioning().PutCycle(ctx, rec) })
			if err != nil && ctx.Err() == nil {
				c.e.log.Warn("provisioning: write the cycle's progress", "job", c.job.Name, "cycle", c.id, "err", err)
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		c.e.metrics.progressEnded(c.job.Name, c.dry)
	}
}

// addTotals returns the job's statistics to date with the ended cycle rec
// added: its status and counts, and whether the job is now steady. The
// end-of-cycle write calls it on the state it read in its transaction.
func (c *cycle) addTotals(prev json.RawMessage, rec store.ProvisionCycle) json.RawMessage {
	steady := !c.initial && rec.Status == CycleSucceeded && c.n.failed.Load() == 0 && c.held == ""
	t := addTotals(prev, rec, c.n.snapshot(), steady, c.track.full.Load())
	c.steady.Store(!report.TotalsOf(t).SteadySince.IsZero())
	return t
}

// addTotals adds an ended cycle to a job's statistics to date. steady
// reports that the cycle was a steady one (see report.State.SteadyState);
// fullRead that it read the source in full.
func addTotals(prev json.RawMessage, rec store.ProvisionCycle, s Stats, steady, fullRead bool) json.RawMessage {
	t := report.TotalsOf(prev)
	t.Cycles++
	t.Read += s.Read
	t.Created += s.Created
	t.Updated += s.Updated
	t.Linked += s.Linked
	t.Disabled += s.Disabled
	t.Deleted += s.Deleted
	t.Unchanged += s.Unchanged
	t.Skipped += s.Skipped
	t.Failed += s.Failed
	switch rec.Status {
	case CycleSucceeded:
		t.Succeeded++
		t.LastSucceeded = rec.Ended.UTC()
		t.LastDurationMS = float64(rec.Ended.Sub(rec.Started).Microseconds()) / 1000
		if fullRead {
			t.LastFullRead = s.Read
		}
	default:
		t.FailedCycles++
	}
	switch {
	case !steady:
		t.SteadySince = time.Time{}
	case t.SteadySince.IsZero():
		t.SteadySince = rec.Ended.UTC()
	}
	b, _ := json.Marshal(t)
	return b
}
