package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

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
	// reference marks the entry of a reference written after its object
	// (a manager): its failure is a reference failure (escrow.go).
	reference bool
	started   time.Time
	e         store.ProvisionLog
	steps     []Step
	modified  []Modified
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
	en.e.Steps = appendSteps(nil, en.steps)
	if len(en.modified) > 0 {
		for i := range en.modified {
			en.modified[i].Old, en.modified[i].New = loggable(en.modified[i].Old), loggable(en.modified[i].New)
		}
		en.e.Modified = appendModified(nil, en.modified)
	}
	switch status {
	case StatusFailure:
		c.escrowFailure(en)
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
	c.e.metrics.object(c.job.Name, c.dry, action, status)
	c.rec.log(en.e)
}

// appendSteps and appendModified write a log entry's steps and modified
// properties as JSON by hand: encoding/json's reflection over two small
// slices per object was a tenth of an initial cycle's own CPU.
func appendSteps(b []byte, steps []Step) []byte {
	b = append(b, '[')
	for i, st := range steps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"step":`...)
		b = appendJSONString(b, st.Name)
		b = append(b, `,"status":`...)
		b = appendJSONString(b, st.Status)
		if st.Detail != "" {
			b = append(b, `,"detail":`...)
			b = appendJSONString(b, st.Detail)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendModified(b []byte, ms []Modified) []byte {
	b = append(b, '[')
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, m.Name)
		b = append(b, `,"old":`...)
		b = appendJSONValue(b, m.Old)
		b = append(b, `,"new":`...)
		b = appendJSONValue(b, m.New)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendJSONValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendJSONString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	}
	j, err := json.Marshal(v)
	if err != nil {
		return appendJSONString(b, fmt.Sprint(v))
	}
	return append(b, j...)
}

// appendJSONString appends s as a JSON string (RFC 8259 §7): quotes,
// backslashes and control characters escaped, invalid UTF-8 replaced.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
