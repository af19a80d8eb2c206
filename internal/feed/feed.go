// Package feed reads the change events of the transactional outbox for
// apps that pull them: a long-polling read for the admin API's event feed,
// and durable in-process subscriptions for Go apps that embed Roster.
//
// A reader holds a cursor; reading after it returns every event committed
// later, in commit order, on either backend (see store.EventStore). A
// reader that crashes resumes from the last cursor it kept and sees what
// it missed, so delivery is at least once; events carry unique ids for
// readers that must act exactly once.
package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rosterhq/roster/internal/store"
)

// Feed reads events from a store.
type Feed struct {
	store store.Store
	// committed returns a channel closed at the next commit in this
	// process, to wake readers at once; commits by other processes on the
	// same database are found by polling every poll.
	committed func() <-chan struct{}
	poll      time.Duration
	closing   chan struct{}
	closeOnce sync.Once
}

// New returns a Feed over st. committed may be nil.
func New(st store.Store, committed func() <-chan struct{}, poll time.Duration) *Feed {
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	return &Feed{store: st, committed: committed, poll: poll, closing: make(chan struct{})}
}

// Close ends every wait in progress (they return an empty page), so that a
// server shutting down does not wait for long polls to time out.
func (f *Feed) Close() { f.closeOnce.Do(func() { close(f.closing) }) }

// ErrExpired means a cursor points before the oldest retained event: the
// reader fell behind retention and must resynchronise (for example by
// listing the tenant's resources) before reading on from "".
var ErrExpired = errors.New("cursor is older than the oldest retained event")

// Read returns the events after q.After, waiting up to wait for one to
// commit when there is none yet; it returns an empty page, with next equal
// to q.After, if none came. ctx ending ends the wait without error.
func (f *Feed) Read(ctx context.Context, q store.EventQuery, wait time.Duration) ([]store.Event, string, error) {
	deadline := time.Now().Add(wait)
	if q.After != "" {
		oldest, err := f.store.Events().Oldest(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("read events: %w", err)
		}
		if CursorLess(q.After, oldest) {
			return nil, "", ErrExpired
		}
	}
	for {
		var woken <-chan struct{}
		if f.committed != nil {
			// Taken before reading, so a commit between the read and the
			// wait is not missed.
			woken = f.committed()
		}
		evs, next, err := f.store.Events().List(ctx, q)
		if err != nil {
			if errors.Is(err, store.ErrInvalidCursor) {
				return nil, "", err
			}
			return nil, "", fmt.Errorf("read events: %w", err)
		}
		if len(evs) > 0 {
			return evs, next, nil
		}
		left := time.Until(deadline)
		if wait <= 0 || left <= 0 {
			return nil, f.skipAhead(ctx, q), nil
		}
		t := time.NewTimer(min(left, f.poll))
		select {
		case <-woken:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, q.After, nil
		case <-f.closing:
			t.Stop()
			return nil, q.After, nil
		}
		t.Stop()
	}
}

// skipAhead returns where a tenant's reader that found nothing after
// q.After may read on from: past other tenants' events committed since.
// Without it, the cursor of a quiet tenant's reader would stay where it
// is while retention purges past it, and its next read would fail with
// ErrExpired although it missed nothing. On any error it keeps q.After.
func (f *Feed) skipAhead(ctx context.Context, q store.EventQuery) string {
	if q.Tenant == "" || ctx.Err() != nil {
		return q.After
	}
	evs, next, err := f.store.Events().List(ctx, store.EventQuery{After: q.After, Limit: store.EventsMaxLimit})
	if err != nil {
		return q.After
	}
	// One of the tenant's own may have committed since its read: stop
	// just before it.
	last := q.After
	for _, e := range evs {
		if e.Tenant == q.Tenant {
			return last
		}
		last = e.Cursor
	}
	return next
}

// Handler handles one event of a subscription. Returning an error stops
// the subscription; the event is handed again when it resumes.
type Handler func(ctx context.Context, e store.Event) error

// Subscription describes a durable subscription.
type Subscription struct {
	// Name identifies the subscription; its cursor is kept in the store
	// under this name, so a restarted process resumes where it left off.
	Name string
	// Tenant limits the subscription to one tenant's events (by id); ""
	// subscribes to every tenant's.
	Tenant string
	// Batch is how many events are read at a time; 0 means 100.
	Batch int
}

// settingsKey is where a subscription's cursor is kept.
func settingsKey(name string) string { return "feed.cursor." + name }

// Cursor returns a subscription's kept cursor, "" before its first event.
func (f *Feed) Cursor(ctx context.Context, name string) (string, error) {
	c, err := f.store.Settings().Get(ctx, settingsKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return c, err
}

// Subscribe calls fn for each event of the subscription, in commit order,
// until ctx ends (returning nil) or fn fails (returning its error). After
// each event fn handled, the cursor is kept, so that events are handed at
// least once across crashes and restarts; fn should be idempotent, or
// record event ids it has handled.
func (f *Feed) Subscribe(ctx context.Context, sub Subscription, fn Handler, log *slog.Logger) error {
	if sub.Name == "" {
		return errors.New("subscribe: a subscription needs a name")
	}
	cursor, err := f.Cursor(ctx, sub.Name)
	if err != nil {
		return fmt.Errorf("subscribe %s: read cursor: %w", sub.Name, err)
	}
	for ctx.Err() == nil && !f.closed() {
		evs, next, err := f.Read(ctx, store.EventQuery{Tenant: sub.Tenant, After: cursor, Limit: sub.Batch}, time.Minute)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, store.ErrUnavailable) {
				// The database is away for a moment; try again.
				if log != nil {
					log.Warn("subscription cannot read events; retrying", "subscription", sub.Name, "err", err)
				}
				if !sleep(ctx, time.Second) {
					return nil
				}
				continue
			}
			return fmt.Errorf("subscribe %s: %w", sub.Name, err)
		}
		// The cursor is kept once per batch, not per event: a crash hands
		// at most one batch again, and a busy feed costs one write per
		// batch.
		handled := cursor
		for _, e := range evs {
			if err := fn(ctx, e); err != nil {
				if handled != cursor {
					_ = f.keep(ctx, sub.Name, handled)
				}
				return fmt.Errorf("subscription %s: event %s (%s): %w", sub.Name, e.ID, e.Type, err)
			}
			handled = e.Cursor
		}
		if len(evs) == 0 {
			handled = next
		}
		if handled != cursor {
			if err := f.keep(ctx, sub.Name, handled); err != nil {
				return err
			}
			cursor = handled
		}
	}
	return nil
}

func (f *Feed) closed() bool {
	select {
	case <-f.closing:
		return true
	default:
		return false
	}
}

func (f *Feed) keep(ctx context.Context, name, cursor string) error {
	// Kept even when ctx has just ended, so that an event handled is not
	// handed again needlessly.
	ctx = context.WithoutCancel(ctx)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// A subscription's cursor is its own bookkeeping, not a change anyone
	// audits.
	err := f.store.Write(ctx, func(w store.Writer) error { return w.Settings().Set(ctx, settingsKey(name), cursor) })
	if err != nil {
		return fmt.Errorf("subscription %s: keep cursor: %w", name, err)
	}
	return nil
}

// CursorLess reports whether cursor a is before b. Cursors are opaque to
// readers but every backend writes them as dot-separated decimal integers
// compared left to right (SQLite "seq", PostgreSQL "txid.seq"); anything
// else compares as not less.
func CursorLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	if len(as) != len(bs) {
		return false
	}
	for i := range as {
		x, err1 := strconv.ParseUint(as[i], 10, 64)
		y, err2 := strconv.ParseUint(bs[i], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if x != y {
			return x < y
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
