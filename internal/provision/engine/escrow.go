package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/store"
)

// Escrow (Entra's name): an object whose provisioning failed is kept in
// the job's escrow and retried by later cycles, less and less often, even
// if the source does not change it, until it succeeds or its escrow
// expires. The kind's watermark moves on past it, so that one object that
// keeps failing does not make every cycle read the same window again. A
// source that cannot read one object by its anchor (no source.Getter)
// cannot be retried that way: there the watermark stays where it was, and
// the next cycle reads the window again.

// DefaultEscrowBackoff is how long after its n-th consecutive failure an
// object in escrow waits before a cycle retries it (the last figure
// repeats): the next cycle first, then Entra's +6 h, +12 h and daily.
var DefaultEscrowBackoff = []time.Duration{0, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}

// DefaultEscrowExpiry is how long an object stays in escrow, failing,
// before the engine gives up retrying it unasked (Entra's 28 days); a
// change at the source, or a full read, evaluates it again.
const DefaultEscrowExpiry = 28 * 24 * time.Hour

// escrowed is an object in escrow as a cycle keeps it.
type escrowed struct {
	e store.Escrow
	// seen: the cycle evaluated the object; failed: it failed this cycle
	// (e then holds the new failure).
	seen, failed bool
}

// loadEscrow reads the job's escrow into memory.
func (c *cycle) loadEscrow(ctx context.Context) error {
	return c.e.st.Provisioning().Escrows(ctx, c.job.Name, func(e store.Escrow) error {
		m := c.escrow[source.Kind(e.Kind)]
		if m == nil {
			return nil
		}
		m[keyOf(e.SourceAnchor)] = &escrowed{e: e}
		c.escrowN.Add(1)
		return nil
	})
}

// keepsEscrow reports whether the cycle keeps the job's escrow: it writes
// what it did, and the source can read one object again.
func (c *cycle) keepsEscrow() bool {
	if c.dry || c.opts.onDemand != nil {
		return false
	}
	_, ok := c.src.(source.Getter)
	return ok
}

// evaluated marks an object in escrow as evaluated by the cycle.
func (c *cycle) evaluated(kind source.Kind, anchor string) {
	if c.escrowN.Load() == 0 {
		return
	}
	c.mu.Lock()
	if x := c.escrow[kind][keyOf(anchor)]; x != nil {
		x.seen = true
	}
	c.mu.Unlock()
}

// escrowFailure puts an object that failed into escrow, or counts one
// more failure of an object already there, and schedules its retry.
func (c *cycle) escrowFailure(en *entry) {
	var down *targetDown
	if !c.keepsEscrow() || en.e.ErrorCode == "Canceled" || errors.As(context.Cause(c.ctx), &down) {
		// A request the cycle's own end cut off did not fail, and when
		// the target refused the job as a whole no object is to blame.
		return
	}
	kind, anchor := source.Kind(en.e.Kind), en.e.SourceAnchor
	now := c.e.cfg.Now().UTC()
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.escrow[kind]
	if m == nil {
		return
	}
	k := keyOf(anchor)
	x := m[k]
	if x == nil {
		x = &escrowed{e: store.Escrow{Job: c.job.Name, Kind: string(kind), SourceAnchor: anchor, FirstFailed: now}}
		m[k] = x
		c.escrowN.Add(1)
	}
	if x.failed {
		// Counted once per cycle, however many of its steps failed; a
		// failure of the object itself outweighs one of its references.
		x.e.Reference = x.e.Reference && en.reference
	} else {
		x.e.Failures++
		x.e.Reference = en.reference
	}
	x.seen, x.failed = true, true
	x.e.Display = en.e.SourceName
	x.e.LastFailed, x.e.Action, x.e.ErrorCode, x.e.Reason = now, en.e.Action, en.e.ErrorCode, en.e.Reason
	x.e.NextRetry = now.Add(backoff(c.e.cfg.EscrowBackoff, x.e.Failures))
}

// backoff is the wait after the n-th failure (n from 1) by the schedule,
// whose last figure repeats.
func backoff(schedule []time.Duration, n int) time.Duration {
	if len(schedule) == 0 {
		return 0
	}
	return schedule[min(max(n, 1), len(schedule))-1]
}

// retryEscrow evaluates again the objects of kind in escrow that the
// cycle has not seen and whose retry is due, reading each from the
// source by its anchor.
func (c *cycle) retryEscrow(ctx context.Context, kind source.Kind) error {
	g, ok := c.src.(source.Getter)
	if !ok || !c.keepsEscrow() || c.escrowN.Load() == 0 {
		return nil
	}
	now := c.e.cfg.Now()
	var due []string
	c.mu.Lock()
	for k, x := range c.escrow[kind] {
		if !x.seen && !x.e.NextRetry.After(now) {
			due = append(due, k.String())
		}
	}
	c.mu.Unlock()
	if len(due) == 0 {
		return nil
	}
	work := c.user
	if kind == source.Group {
		work = c.group
	}
	p := newPool(ctx, c.workers(), c.counted(work))
	for _, anchor := range due {
		o, err := g.Get(ctx, kind, anchor)
		switch {
		case errors.Is(err, source.ErrNotFound):
			if _, linked := c.getLink(kind, anchor); !linked {
				// Gone from the source before it was ever provisioned:
				// nothing left to retry.
				c.evaluated(kind, anchor)
				continue
			}
			o = source.Object{Anchor: anchor, Kind: kind, Deleted: true}
		case err != nil:
			if ctx.Err() != nil {
				break
			}
			c.warn("retry %s %s from escrow: read it from the source: %v", kind, anchor, err)
			continue
		default:
			c.n.read.Add(1)
		}
		if err := p.add(o); err != nil {
			break
		}
	}
	return p.wait()
}

// settleEscrow returns the escrow entries to write (new failures) and the
// anchors to remove by kind (objects that succeeded, objects a complete
// read no longer found, and expired entries), and logs the expiries.
func (c *cycle) settleEscrow(complete map[source.Kind]bool) (put []store.Escrow, drop map[source.Kind][]string) {
	drop = map[source.Kind][]string{}
	if !c.keepsEscrow() {
		return nil, drop
	}
	expiry := c.e.cfg.EscrowExpiry
	var expired []store.Escrow
	c.mu.Lock()
	for kind, m := range c.escrow {
		for k, x := range m {
			switch {
			case x.failed && x.e.LastFailed.Sub(x.e.FirstFailed) >= expiry:
				drop[kind] = append(drop[kind], k.String())
				expired = append(expired, x.e)
			case x.failed:
				put = append(put, x.e)
			case x.seen, complete[kind]:
				// Evaluated without failing, or absent from a complete
				// read of the source.
				drop[kind] = append(drop[kind], k.String())
			}
		}
	}
	c.mu.Unlock()
	for _, x := range expired {
		en := c.newEntry(x.Kind, x.SourceAnchor, x.Display)
		en.step("Escrow", StatusWarning, "failed %d times since %s", x.Failures, x.FirstFailed.Format(time.RFC3339))
		c.finish(en, x.Action, StatusWarning, "EscrowExpired",
			fmt.Sprintf("no longer retried unless the source changes it: it kept failing for %s (last: %s)", expiry, x.Reason))
	}
	return put, drop
}

// escrowFigures counts the objects in escrow after the cycle: those that
// failed to be written, and those whose references failed.
func (c *cycle) escrowFigures(drop map[source.Kind][]string) (failures, references int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	dropped := map[source.Kind]map[string]bool{}
	for kind, as := range drop {
		dropped[kind] = map[string]bool{}
		for _, a := range as {
			dropped[kind][a] = true
		}
	}
	for kind, m := range c.escrow {
		for k, x := range m {
			if dropped[kind][k.String()] {
				continue
			}
			if x.e.Reference {
				references++
			} else {
				failures++
			}
		}
	}
	return failures, references
}
