package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/store"
)

// recorder writes links and log entries in batches: one transaction per
// batch of up to flushSize items or per FlushEvery, whichever comes first.
// A link is so on disk a fraction of a second after its create succeeded;
// one lost to a crash in between is found again by matching.
type recorder struct {
	st    store.Store
	every time.Duration
	// dry keeps links and state untouched; logs are still written.
	dry bool

	mu      sync.Mutex
	logs    []store.ProvisionLog
	puts    map[linkKey]store.Link
	deletes map[linkKey]struct{}
	err     error

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

type linkKey struct{ kind, anchor string }

const flushSize = 500

func newRecorder(st store.Store, every time.Duration, dry bool) *recorder {
	r := &recorder{st: st, every: every, dry: dry, puts: map[linkKey]store.Link{}, deletes: map[linkKey]struct{}{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go r.loop()
	return r
}

func (r *recorder) loop() {
	defer close(r.done)
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			r.flush()
			return
		case <-t.C:
		case <-r.kick:
		}
		r.flush()
	}
}

// log queues a log entry.
func (r *recorder) log(e store.ProvisionLog) {
	r.mu.Lock()
	r.logs = append(r.logs, e)
	n := len(r.logs) + len(r.puts)
	r.mu.Unlock()
	r.maybeKick(n)
}

// link queues a link to be created or replaced; it cancels a queued
// delete of the same link.
func (r *recorder) link(l store.Link) {
	if r.dry {
		return
	}
	k := linkKey{l.Kind, l.SourceAnchor}
	r.mu.Lock()
	delete(r.deletes, k)
	r.puts[k] = l
	n := len(r.logs) + len(r.puts)
	r.mu.Unlock()
	r.maybeKick(n)
}

// unlink queues a link's removal; it cancels a queued put of it.
func (r *recorder) unlink(kind, anchor string) {
	if r.dry {
		return
	}
	k := linkKey{kind, anchor}
	r.mu.Lock()
	delete(r.puts, k)
	r.deletes[k] = struct{}{}
	r.mu.Unlock()
}

func (r *recorder) maybeKick(n int) {
	if n >= flushSize {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

// flush writes what is queued, retrying a failed write a few times; a
// write that keeps failing is kept as the recorder's error, which fails
// the cycle at its end.
func (r *recorder) flush() {
	r.mu.Lock()
	logs, puts, deletes := r.logs, r.puts, r.deletes
	r.logs, r.puts, r.deletes = nil, map[linkKey]store.Link{}, map[linkKey]struct{}{}
	r.mu.Unlock()
	if len(logs) == 0 && len(puts) == 0 && len(deletes) == 0 {
		return
	}
	links := make([]store.Link, 0, len(puts))
	for _, l := range puts {
		links = append(links, l)
	}
	gone := map[string][]string{}
	for k := range deletes {
		gone[k.kind] = append(gone[k.kind], k.anchor)
	}
	job := ""
	if len(logs) > 0 {
		job = logs[0].Job
	} else if len(links) > 0 {
		job = links[0].Job
	}
	write := func(ctx context.Context) error {
		return r.st.Write(ctx, func(w store.Writer) error {
			p := w.Provisioning()
			if len(links) > 0 {
				if err := p.PutLinks(ctx, links); err != nil {
					return fmt.Errorf("write links: %w", err)
				}
			}
			for kind, anchors := range gone {
				if _, err := p.DeleteLinks(ctx, job, kind, anchors); err != nil {
					return fmt.Errorf("delete links: %w", err)
				}
			}
			if len(logs) > 0 {
				if err := p.AppendLogs(ctx, logs); err != nil {
					return fmt.Errorf("write logs: %w", err)
				}
			}
			return nil
		})
	}
	var err error
	for attempt := range 4 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 250 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = write(ctx)
		cancel()
		if err == nil {
			return
		}
	}
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
}

// close writes what is left and returns the first write error.
func (r *recorder) close() error {
	close(r.stop)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Log actions and statuses (store.ProvisionLog).
const (
	ActionCreate  = "Create"
	ActionUpdate  = "Update"
	ActionDisable = "Disable"
	ActionDelete  = "Delete"
	ActionOther   = "Other"

	StatusSuccess = "Success"
	StatusFailure = "Failure"
	StatusSkipped = "Skipped"
	StatusWarning = "Warning"
)

// Step is one step of an object's processing, as the log shows it.
type Step struct {
	Name   string `json:"step"`
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Modified is one property a change set, old → new.
type Modified struct {
	Name string `json:"name"`
	Old  any    `json:"old"`
	New  any    `json:"new"`
}

// entry builds one object's log entry.
type entry struct {
	started  time.Time
	e        store.ProvisionLog
	steps    []Step
	modified []Modified
}

func (c *cycle) newEntry(kind, anchor, name string) *entry {
	return &entry{started: c.e.cfg.Now(), e: store.ProvisionLog{Job: c.job.Name, Cycle: c.id, Kind: kind,
		SourceAnchor: anchor, SourceName: name, Action: ActionOther}}
}

func (en *entry) step(name, status, format string, args ...any) {
	en.steps = append(en.steps, Step{Name: name, Status: status, Detail: fmt.Sprintf(format, args...)})
}

// maxLoggedValue bounds one logged property value, so that a photo or a
// huge multi-valued attribute does not bloat the log.
const maxLoggedValue = 1024

func loggable(v any) any {
	if s, ok := v.(string); ok && len(s) > maxLoggedValue {
		return s[:maxLoggedValue] + "…"
	}
	if v == nil {
		return nil
	}
	if _, ok := v.(string); ok {
		return v
	}
	b, err := json.Marshal(v)
	if err == nil && len(b) > maxLoggedValue {
		return string(b[:maxLoggedValue]) + "…"
	}
	return v
}

// finish queues the entry with its outcome.
func (c *cycle) finish(en *entry, action, status, code, reason string) {
	en.e.Action, en.e.Status, en.e.ErrorCode, en.e.Reason = action, status, code, reason
	now := c.e.cfg.Now()
	en.e.Time, en.e.Duration = now.UTC(), now.Sub(en.started)
	en.e.Change = newChangeID()
	if b, err := json.Marshal(en.steps); err == nil {
		en.e.Steps = b
	}
	if len(en.modified) > 0 {
		for i := range en.modified {
			en.modified[i].Old, en.modified[i].New = loggable(en.modified[i].Old), loggable(en.modified[i].New)
		}
		if b, err := json.Marshal(en.modified); err == nil {
			en.e.Modified = b
		}
	}
	switch status {
	case StatusFailure:
		c.n.failed.Add(1)
		if en.e.Kind == string(source.Group) {
			c.failedGroups.Add(1)
		} else {
			c.failedUsers.Add(1)
		}
	case StatusSkipped:
		c.n.skipped.Add(1)
	case StatusWarning:
		c.n.warnings.Add(1)
	}
	c.rec.log(en.e)
}
