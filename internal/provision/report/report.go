// Package report reads what the provisioning engine kept of a job (its
// state, cycles, per-object log and links) and gives it the one shape the
// CLI and the admin API show, in JSON and in CSV.
package report

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/store"
)

// Log is a provisioning log entry as Roster exports it.
type Log struct {
	Seq          int64           `json:"seq"`
	Time         time.Time       `json:"time"`
	Cycle        string          `json:"cycle"`
	Change       string          `json:"changeId"`
	Kind         string          `json:"kind"`
	SourceAnchor string          `json:"sourceAnchor"`
	SourceName   string          `json:"sourceName,omitempty"`
	TargetID     string          `json:"targetId,omitempty"`
	Action       string          `json:"action"`
	Status       string          `json:"status"`
	Steps        json.RawMessage `json:"steps,omitempty"`
	Modified     json.RawMessage `json:"modifiedProperties,omitempty"`
	ErrorCode    string          `json:"errorCode,omitempty"`
	Reason       string          `json:"reason,omitempty"`
	DurationMS   float64         `json:"durationMs"`
}

// LogOf returns the view of a log entry.
func LogOf(l store.ProvisionLog) Log {
	return Log{Seq: l.Seq, Time: l.Time, Cycle: l.Cycle, Change: l.Change, Kind: l.Kind, SourceAnchor: l.SourceAnchor,
		SourceName: l.SourceName, TargetID: l.TargetID, Action: l.Action, Status: l.Status, Steps: l.Steps,
		Modified: l.Modified, ErrorCode: l.ErrorCode, Reason: l.Reason, DurationMS: float64(l.Duration.Microseconds()) / 1000}
}

// csvHeader names the CSV export's columns.
var csvHeader = []string{"seq", "time", "cycle", "changeId", "kind", "sourceAnchor", "sourceName", "targetId",
	"action", "status", "errorCode", "reason", "durationMs", "steps", "modifiedProperties"}

// csvRow returns the CSV export's row of a log entry; steps and modified
// properties are JSON cells.
func (v Log) csvRow() []string {
	return []string{strconv.FormatInt(v.Seq, 10), v.Time.Format(time.RFC3339Nano), v.Cycle, v.Change, v.Kind,
		v.SourceAnchor, v.SourceName, v.TargetID, v.Action, v.Status, v.ErrorCode, v.Reason,
		strconv.FormatFloat(v.DurationMS, 'f', 3, 64), string(v.Steps), string(v.Modified)}
}

// csvPage is how many entries WriteLogsCSV reads at a time.
const csvPage = 1000

// WriteLogsCSV pages through the log entries q selects (all of them if
// q.Limit is 0) and writes them as CSV, a header and one row per entry,
// flushing each page so that a long export streams.
func WriteLogsCSV(ctx context.Context, p store.ProvisionStore, q store.ProvisionLogQuery, out io.Writer) error {
	w := csv.NewWriter(out)
	_ = w.Write(csvHeader)
	limit := q.Limit
	for written := 0; limit <= 0 || written < limit; {
		page := q
		page.Limit = csvPage
		if limit > 0 {
			page.Limit = min(csvPage, limit-written)
		}
		entries, err := p.Logs(ctx, page)
		if err != nil {
			return err
		}
		for _, l := range entries {
			_ = w.Write(LogOf(l).csvRow())
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
		written += len(entries)
		if len(entries) < page.Limit {
			break
		}
		q.After = entries[len(entries)-1].Seq
	}
	w.Flush()
	return w.Error()
}

// Cycle is a cycle as Roster shows it.
type Cycle struct {
	ID      string          `json:"id"`
	Kind    string          `json:"kind"` // initial or incremental
	DryRun  bool            `json:"dryRun,omitempty"`
	Status  string          `json:"status"`
	Started time.Time       `json:"started"`
	Ended   time.Time       `json:"ended,omitzero"`
	Stats   json.RawMessage `json:"stats,omitempty"`
	Error   string          `json:"error,omitempty"`
	// Progress is a running cycle's progress, as last written.
	Progress *Progress `json:"progress,omitempty"`
}

// CycleOf returns the view of a cycle.
func CycleOf(c store.ProvisionCycle) Cycle {
	kind := "incremental"
	if c.Initial {
		kind = "initial"
	}
	v := Cycle{ID: c.ID, Kind: kind, DryRun: c.DryRun, Status: c.Status, Started: c.Started, Ended: c.Ended, Stats: c.Stats, Error: c.Error}
	if c.Status == "Running" {
		v.Progress = ProgressOf(c.Stats)
	}
	return v
}

// Link is a link as Roster shows it.
type Link struct {
	Kind         string    `json:"kind"`
	SourceAnchor string    `json:"sourceAnchor"`
	TargetID     string    `json:"targetId"`
	Display      string    `json:"displayName,omitempty"`
	State        string    `json:"state"`
	Updated      time.Time `json:"updated"`
}

// LinkOf returns the view of a link.
func LinkOf(l store.Link) Link {
	return Link{Kind: l.Kind, SourceAnchor: l.SourceAnchor, TargetID: l.TargetID, Display: l.Display, State: l.State, Updated: l.Updated}
}

// State is a job's engine state as Roster shows it.
type State struct {
	// NextRun is when the next scheduled cycle is due (if the job is On);
	// zero means at once.
	NextRun time.Time `json:"nextRun"`
	// LastCycle is the cycle running or last run, if any.
	LastCycle *Cycle `json:"lastCycle,omitempty"`
	// Progress is the running cycle's progress; absent when none runs.
	Progress *Progress `json:"progress,omitempty"`
	// Totals are the job's statistics to date.
	Totals Totals `json:"statisticsToDate"`
	// SteadyState reports that the job provisions by increments: it is On,
	// no initial cycle is pending, and its last ended cycle was an
	// incremental one that succeeded with no object failed and nothing
	// held (Totals.SteadySince says since when). A cycle running now does
	// not change it until it ends.
	SteadyState bool `json:"steadyState"`
	// Quarantine is set while the job is quarantined.
	Quarantine *Quarantine `json:"quarantine,omitempty"`
	// Escrow counts the job's objects in escrow: failed, to be retried.
	Escrow int `json:"escrow"`
}

// Quarantine is why and since when a job is quarantined.
type Quarantine struct {
	Reason string    `json:"reason"`
	Detail string    `json:"detail"`
	Since  time.Time `json:"since"`
	// Cycles counts the cycles run while quarantined.
	Cycles int `json:"cycles"`
}

// Escrow is an object in a job's escrow as Roster shows it.
type Escrow struct {
	Kind         string    `json:"kind"`
	SourceAnchor string    `json:"sourceAnchor"`
	Display      string    `json:"display"`
	Reference    bool      `json:"reference,omitempty"`
	Failures     int       `json:"failures"`
	FirstFailed  time.Time `json:"firstFailed"`
	LastFailed   time.Time `json:"lastFailed"`
	NextRetry    time.Time `json:"nextRetry"`
	Action       string    `json:"action"`
	ErrorCode    string    `json:"errorCode"`
	Reason       string    `json:"reason"`
}

// EscrowOf returns the view of an escrow entry.
func EscrowOf(e store.Escrow) Escrow {
	return Escrow{Kind: e.Kind, SourceAnchor: e.SourceAnchor, Display: e.Display, Reference: e.Reference,
		Failures: e.Failures, FirstFailed: e.FirstFailed, LastFailed: e.LastFailed, NextRetry: e.NextRetry,
		Action: e.Action, ErrorCode: e.ErrorCode, Reason: e.Reason}
}

// Escrow calls fn for each object in a job's escrow.
func (r *Reader) Escrow(ctx context.Context, name string, fn func(Escrow) error) error {
	if err := r.exists(ctx, name); err != nil {
		return err
	}
	return r.st.Provisioning().Escrows(ctx, name, func(e store.Escrow) error { return fn(EscrowOf(e)) })
}

// Reader reads the engine's records of jobs. Each method reports
// store.ErrNotFound for a job that does not exist, so that a deleted job's
// name reads as unknown rather than as empty.
type Reader struct {
	st   store.Store
	jobs *job.Service
}

// New returns a reader over st.
func New(st store.Store) *Reader { return &Reader{st: st, jobs: job.New(st)} }

func (r *Reader) exists(ctx context.Context, name string) error {
	if _, err := r.jobs.Get(ctx, name); err != nil {
		return fmt.Errorf("job %s: %w", name, err)
	}
	return nil
}

// State returns a job's engine state with its latest cycle.
func (r *Reader) State(ctx context.Context, name string) (State, error) {
	j, err := r.jobs.Get(ctx, name)
	if err != nil {
		return State{}, fmt.Errorf("job %s: %w", name, err)
	}
	p := r.st.Provisioning()
	st, err := p.State(ctx, name)
	if err != nil {
		return State{}, err
	}
	out := State{NextRun: st.NextRun, Totals: TotalsOf(st.Totals)}
	out.SteadyState = Steady(j, out.Totals)
	if q := st.Quarantine; q != nil {
		out.Quarantine = &Quarantine{Reason: q.Reason, Detail: q.Detail, Since: q.Since, Cycles: q.Runs}
	}
	if err := p.Escrows(ctx, name, func(store.Escrow) error { out.Escrow++; return nil }); err != nil {
		return State{}, err
	}
	if st.Cycle != "" {
		c, err := p.Cycle(ctx, st.Cycle)
		switch {
		case err == nil:
			v := CycleOf(c)
			out.LastCycle, out.Progress = &v, v.Progress
		case !errors.Is(err, store.ErrNotFound): // purged by retention: no last cycle
			return State{}, err
		}
	}
	return out, nil
}

// Cycles returns a job's latest cycles, newest first, at most limit (0
// means 100).
func (r *Reader) Cycles(ctx context.Context, name string, limit int) ([]Cycle, error) {
	if err := r.exists(ctx, name); err != nil {
		return nil, err
	}
	cs, err := r.st.Provisioning().Cycles(ctx, name, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Cycle, 0, len(cs))
	for _, c := range cs {
		out = append(out, CycleOf(c))
	}
	return out, nil
}

// Cycle returns one of a job's cycles; store.ErrNotFound if the job has
// no cycle of that id.
func (r *Reader) Cycle(ctx context.Context, name, id string) (Cycle, error) {
	if err := r.exists(ctx, name); err != nil {
		return Cycle{}, err
	}
	c, err := r.st.Provisioning().Cycle(ctx, id)
	if err == nil && c.Job != name {
		err = store.ErrNotFound
	}
	if err != nil {
		return Cycle{}, fmt.Errorf("job %s: cycle %s: %w", name, id, err)
	}
	return CycleOf(c), nil
}

// Logs returns the log entries of the job q.Job that q selects, in Seq
// order.
func (r *Reader) Logs(ctx context.Context, q store.ProvisionLogQuery) ([]Log, error) {
	if err := r.exists(ctx, q.Job); err != nil {
		return nil, err
	}
	entries, err := r.st.Provisioning().Logs(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]Log, 0, len(entries))
	for _, l := range entries {
		out = append(out, LogOf(l))
	}
	return out, nil
}

// CheckJob reports store.ErrNotFound if there is no job of that name, so
// that a caller can answer before it starts streaming.
func (r *Reader) CheckJob(ctx context.Context, name string) error { return r.exists(ctx, name) }

// WriteLogsCSV writes the log entries of the job q.Job that q selects as
// CSV; see the package function.
func (r *Reader) WriteLogsCSV(ctx context.Context, q store.ProvisionLogQuery, out io.Writer) error {
	return WriteLogsCSV(ctx, r.st.Provisioning(), q, out)
}

// Links calls fn for each link of a job and kind ("" for every kind),
// ordered by kind and source anchor.
func (r *Reader) Links(ctx context.Context, name, kind string, fn func(Link) error) error {
	if err := r.exists(ctx, name); err != nil {
		return err
	}
	return r.st.Provisioning().Links(ctx, name, kind, func(l store.Link) error { return fn(LinkOf(l)) })
}

// Link returns the link of a source object, or with byTarget the link to a
// target object; store.ErrNotFound if there is none.
func (r *Reader) Link(ctx context.Context, name, kind, id string, byTarget bool) (Link, error) {
	if err := r.exists(ctx, name); err != nil {
		return Link{}, err
	}
	p := r.st.Provisioning()
	var l store.Link
	var err error
	if byTarget {
		l, err = p.LinkByTarget(ctx, name, kind, id)
	} else {
		l, err = p.Link(ctx, name, kind, id)
	}
	if err != nil {
		return Link{}, fmt.Errorf("job %s: link of %s %s: %w", name, kind, id, err)
	}
	return LinkOf(l), nil
}
