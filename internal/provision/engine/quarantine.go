package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/notify"
	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/scimclient"
	"github.com/rosterhq/roster/internal/store"
)

// Quarantine (Entra's, IDP-NOTES §1.7): a job whose cycles fail as a whole
// (the target refuses the credentials, cannot be reached, does not speak
// SCIM) or whose objects fail in large numbers is quarantined: it runs
// less and less often, shows why, and leaves quarantine with the first
// cycle that succeeds, or when an admin restarts it.

// Quarantine reasons: Entra's where it has one.
const (
	// ReasonCredentials: the target refused the job's credentials, or did
	// not answer as a SCIM service (Entra's EncounteredQuarantineException).
	ReasonCredentials = "EncounteredQuarantineException"
	// ReasonEscrow: too many of the job's objects failed (Entra's
	// EncounteredEscrowProportionThreshold).
	ReasonEscrow = "EncounteredEscrowProportionThreshold"
	// ReasonUnreachable: the target could not be reached for a whole
	// cycle (no connection, timeouts, server errors).
	ReasonUnreachable = "TargetUnreachable"
)

// EscrowThresholds are the escrow figures past which a job is quarantined.
// DefaultEscrowThresholds are Entra's.
type EscrowThresholds struct {
	// MinFailures: nothing is judged below this many objects in escrow.
	MinFailures int
	// Proportion: quarantine when more than this share of the job's
	// objects fail (reference failures not counted).
	Proportion float64
	// MaxFailures: quarantine past this many failed objects (reference
	// failures not counted).
	MaxFailures int
	// MaxTotal: quarantine past this many failures, references included.
	MaxTotal int
}

// DefaultEscrowThresholds are Entra's: judged from 5,000 failures;
// quarantined past 40 % of events failing, 40,000 failures, or 60,000
// failures counting reference failures.
var DefaultEscrowThresholds = EscrowThresholds{MinFailures: 5000, Proportion: 0.4, MaxFailures: 40000, MaxTotal: 60000}

// Exceeded reports whether failures (objects that failed), references
// (objects whose references failed) and ok (objects in step) pass the
// thresholds, and says how.
func (t EscrowThresholds) Exceeded(failures, references, ok int) (bool, string) {
	total := failures + references
	switch {
	case total < t.MinFailures:
		return false, ""
	case total > t.MaxTotal:
		return true, fmt.Sprintf("%d objects are failing (%d of them references), more than %d", total, references, t.MaxTotal)
	case failures > t.MaxFailures:
		return true, fmt.Sprintf("%d objects are failing, more than %d", failures, t.MaxFailures)
	case failures+ok > 0 && float64(failures) > t.Proportion*float64(failures+ok):
		return true, fmt.Sprintf("%d of %d objects are failing, more than %g %%", failures, failures+ok, t.Proportion*100)
	}
	return false, ""
}

// DefaultQuarantineBackoff is how long a quarantined job waits before its
// next cycle, after its first, second, … cycle in quarantine (the last
// figure repeats): Entra's +6 h, +12 h, then daily.
var DefaultQuarantineBackoff = []time.Duration{6 * time.Hour, 12 * time.Hour, 24 * time.Hour}

// DefaultQuarantineLimit is how long a job may stay quarantined before the
// engine turns it off (Entra's four weeks).
const DefaultQuarantineLimit = 28 * 24 * time.Hour

// targetDown is a cycle stopped by its target as a whole.
type targetDown struct {
	reason string
	err    error
}

func (e *targetDown) Error() string { return e.err.Error() }
func (e *targetDown) Unwrap() error { return e.err }

// downReason classifies a failed connection test of the target.
func downReason(err error) string {
	var te *source.TestError
	if errors.As(err, &te) {
		switch te.Cause {
		case source.CauseCredentials, source.CauseAddress, source.CauseProtocol:
			return ReasonCredentials
		}
	}
	return ReasonUnreachable
}

// refused stops the cycle when the target refuses the job's credentials
// in the middle of it: every request after would fail the same way.
func (c *cycle) refused(err error) {
	if c.cancel == nil || scimclient.StatusOf(err) != 401 {
		return
	}
	c.cancel(&targetDown{reason: ReasonCredentials,
		err: fmt.Errorf("target: the target refused the job's credentials (401) during the cycle: %w", err)})
}

// minUnreachable is how many objects must fail for want of the target,
// and none succeed, for a cycle that passed its connection test to count
// as one that could not reach the target: one lost answer in a small
// delta is the object's failure, not the job's.
const minUnreachable = 10

// unreachable reports whether the cycle failed every object it tried,
// enough of them, and every failure was the target's: no connection, a
// timeout or a 5xx.
func (c *cycle) unreachable(s Stats) bool {
	done := s.Created + s.Updated + s.Linked + s.Disabled + s.Deleted
	return done == 0 && s.Failed >= minUnreachable && c.downFailures.Load() == s.Failed
}

// isDown reports whether err is the target's as a whole rather than the
// object's: no answer, or a server error.
func isDown(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	s := scimclient.StatusOf(err)
	return s == 0 || s >= 500
}

// quarantineAfter decides the job's quarantine after a cycle: entered (or
// its reason changed), kept, or left. It returns the new quarantine (nil
// when not quarantined) and how long until the next cycle.
func (c *cycle) quarantineAfter(runErr error, s Stats, failures, references, ok int) (*store.Quarantine, time.Duration) {
	now := c.e.cfg.Now().UTC()
	interval := time.Duration(c.job.Schedule.Interval)
	prev := c.state.Quarantine
	reason, detail := "", ""
	var down *targetDown
	switch {
	case errors.As(runErr, &down) || errors.As(context.Cause(c.ctx), &down):
		reason, detail = down.reason, down.Error()
	case runErr != nil:
		// A failure of the source or of the engine's own storage says
		// nothing of the target: the quarantine stays as it was.
		if prev == nil {
			return nil, interval + jitter(interval)
		}
		q := *prev
		q.Runs++
		return &q, backoff(c.e.cfg.QuarantineBackoff, q.Runs)
	case c.unreachable(s):
		reason, detail = ReasonUnreachable, fmt.Sprintf("every one of the %d objects the cycle tried failed for want of the target (no answer, timeouts or server errors)", s.Failed)
	default:
		if over, why := c.e.cfg.EscrowThresholds.Exceeded(failures, references, ok); over {
			reason, detail = ReasonEscrow, why
		}
	}
	if reason == "" {
		return nil, interval + jitter(interval)
	}
	q := store.Quarantine{Reason: reason, Detail: detail, Since: now, Runs: 1}
	if prev != nil {
		q.Since, q.Runs = prev.Since, prev.Runs+1
	}
	return &q, backoff(c.e.cfg.QuarantineBackoff, q.Runs)
}

// notices returns what the cycle's outcome must notify, given what was
// notified before, and the record of what will have been notified.
func notices(st store.ProvisionState, heldNow int, job, cycle string, now time.Time) ([]notify.Notice, map[string]string) {
	done := map[string]string{}
	for k, v := range st.Notified {
		done[k] = v
	}
	var out []notify.Notice
	switch q := st.Quarantine; {
	case q != nil && done[noticeQuarantine] != q.Reason:
		out = append(out, notify.Notice{Job: job, Kind: notify.Quarantined, Reason: q.Reason, Detail: q.Detail,
			Cycle: cycle, Time: now, Since: q.Since})
		done[noticeQuarantine] = q.Reason
	case q == nil && done[noticeQuarantine] != "":
		out = append(out, notify.Notice{Job: job, Kind: notify.Recovered, Cycle: cycle, Time: now,
			Detail: fmt.Sprintf("a cycle succeeded: the job left quarantine (%s)", done[noticeQuarantine])})
		delete(done, noticeQuarantine)
	}
	switch {
	case heldNow > 0 && done[noticeHeld] == "":
		out = append(out, notify.Notice{Job: job, Kind: notify.DeletesHeld, Reason: "DeletionThresholdExceeded",
			Cycle: cycle, Time: now, Held: heldNow,
			Detail: fmt.Sprintf("%d disables and deletes are held and the job is paused; release them with roster job allow-deletes %s", heldNow, job)})
		done[noticeHeld] = cycle
	case heldNow == 0:
		delete(done, noticeHeld)
	}
	if len(done) == 0 {
		done = nil
	}
	return out, done
}

// Subjects of store.ProvisionState.Notified.
const (
	noticeQuarantine = "quarantine"
	noticeHeld       = "held"
)

// notify sends the cycle's notices and records them as sent. A notice
// that cannot be queued is tried again after the next cycle, which finds
// it still owed.
func (e *Engine) notify(ctx context.Context, jobName string, cycle string) {
	if e.cfg.Notifier == nil {
		return
	}
	j, err := e.jobs.Get(ctx, jobName)
	if err != nil {
		e.log.Warn("provisioning: notify: read the job", "job", jobName, "err", err)
		return
	}
	err = e.st.Write(ctx, func(w store.Writer) error {
		st, err := w.Provisioning().State(ctx, jobName)
		if err != nil {
			return err
		}
		held, err := parseHeld(st.Watermarks[heldKey])
		if err != nil {
			return err
		}
		ns, done := notices(st, len(held), jobName, cycle, e.cfg.Now().UTC())
		if len(ns) == 0 && maps.Equal(done, st.Notified) {
			return nil
		}
		for _, n := range ns {
			if err := e.cfg.Notifier.Notify(ctx, j.Notifications.Recipients(), n); err != nil {
				return fmt.Errorf("notify %s: %w", n.Kind, err)
			}
			e.log.Info("provisioning: notified", "job", jobName, "kind", n.Kind, "reason", n.Reason)
		}
		st.Notified = done
		return w.Provisioning().PutState(ctx, st)
	})
	if err != nil {
		e.log.Warn("provisioning: notify", "job", jobName, "err", err)
	}
}

// Restart clears what the engine keeps of a job between cycles — its
// watermarks, escrow, quarantine and held deletions — and makes its next
// cycle an initial one, due now (Entra's "Restart provisioning"). Links
// are kept, so provisioned objects are matched, not created again. It
// takes the job's lease: a running cycle must end first (ErrBusy).
func (e *Engine) Restart(ctx context.Context, name, actor string) error {
	held, err := e.st.Leases().Acquire(ctx, leaseName(name), e.cfg.Holder, e.cfg.LeaseTTL)
	if err != nil {
		return fmt.Errorf("job %s: take its lease: %w", name, err)
	}
	if !held {
		return fmt.Errorf("job %s: %w", name, ErrBusy)
	}
	defer func() {
		rctx, c := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer c()
		if err := e.st.Leases().Release(rctx, leaseName(name), e.cfg.Holder); err != nil {
			e.log.Warn("provisioning: release the job's lease", "job", name, "err", err)
		}
	}()
	return e.jobs.Restart(ctx, name, actor)
}

// inStep counts the job's objects in step after the cycle, for the escrow
// proportion: its links, less those failing.
func (c *cycle) inStep(failures int) int {
	c.mu.Lock()
	n := len(c.links[source.User]) + len(c.links[source.Group])
	c.mu.Unlock()
	return max(n-failures, 0)
}

// afterQuarantine logs a change of quarantine and turns off a job that
// stayed quarantined past the limit.
func (c *cycle) afterQuarantine(ctx context.Context, q *store.Quarantine, judged bool) {
	if !judged {
		return
	}
	prev := c.state.Quarantine
	switch {
	case q != nil && (prev == nil || prev.Reason != q.Reason):
		c.e.log.Warn("provisioning: job quarantined", "job", c.job.Name, "reason", q.Reason, "detail", q.Detail)
	case q == nil && prev != nil:
		c.e.log.Info("provisioning: job left quarantine", "job", c.job.Name, "since", prev.Since)
	}
	if q == nil || c.e.cfg.Now().Sub(q.Since) < c.e.cfg.QuarantineLimit {
		return
	}
	why := fmt.Sprintf("engine: quarantined since %s (%s): turned off after %s", q.Since.Format(time.RFC3339), q.Reason, c.e.cfg.QuarantineLimit)
	if _, err := c.e.jobs.SetStatus(ctx, c.job.Name, job.StatusOff, why); err != nil {
		c.e.log.Warn("provisioning: turn off a job quarantined too long", "job", c.job.Name, "err", err)
	}
}
