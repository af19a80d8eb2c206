package adminhttp

import (
	"errors"
	"net/http"
	"time"

	"github.com/rosterhq/roster/internal/feed"
	"github.com/rosterhq/roster/internal/store"
)

// MaxWait bounds a long-polling event read, below the server's write
// timeout and the idle timeouts of common proxies.
const MaxWait = 60 * time.Second

// history serves a tenant's revision history, oldest first, with filters
// and a cursor.
func (h *Handler) history(w http.ResponseWriter, c *call) error {
	t, err := h.tenants.Get(c.Context(), c.PathValue("tenant"))
	if err != nil {
		return err
	}
	q := c.URL.Query()
	hq := store.HistoryQuery{
		Tenant:       t.ID,
		ResourceType: q.Get("resourceType"),
		ResourceID:   q.Get("resourceId"),
		UserName:     q.Get("userName"),
		Actor:        q.Get("actor"),
	}
	after, err := intParam(q.Get("after"), 0)
	if err != nil {
		return err
	}
	hq.After = int64(after)
	if hq.Limit, err = intParam(q.Get("limit"), 0); err != nil {
		return err
	}
	if hq.Since, err = timeParam("since", q.Get("since")); err != nil {
		return err
	}
	if hq.Until, err = timeParam("until", q.Get("until")); err != nil {
		return err
	}
	entries, err := h.audit.History(c.Context(), hq)
	if err != nil {
		return err
	}
	next := hq.After
	if len(entries) > 0 {
		next = entries[len(entries)-1].Seq
	}
	if entries == nil {
		entries = []store.Change{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"entries": entries, "next": next})
}

// eventView is an event as the pull feed shows it, with its cursor.
type eventView struct {
	store.Event
	Cursor string `json:"cursor"`
}

// events serves a tenant's change events after a cursor, long-polling up
// to ?wait= (at most MaxWait) when there are none yet. A reader keeps
// "next" and sends it as ?after= to read on, after any crash on either side.
func (h *Handler) events(w http.ResponseWriter, c *call) error {
	t, err := h.tenants.Get(c.Context(), c.PathValue("tenant"))
	if err != nil {
		return err
	}
	q := c.URL.Query()
	limit, err := intParam(q.Get("limit"), 0)
	if err != nil {
		return err
	}
	var wait time.Duration
	if s := q.Get("wait"); s != "" {
		if wait, err = time.ParseDuration(s); err != nil || wait < 0 {
			return badRequest(`wait must be a duration such as "30s", got %q`, s)
		}
		wait = min(wait, MaxWait)
	}
	evs, next, err := h.feed.Read(c.Context(), store.EventQuery{Tenant: t.ID, After: q.Get("after"), Limit: limit}, wait)
	switch {
	case errors.Is(err, store.ErrInvalidCursor):
		return badRequest("after %q is not a cursor this server returned", q.Get("after"))
	case errors.Is(err, feed.ErrExpired):
		return &apiError{http.StatusGone, "expired", "events after this cursor are past retention; list the tenant's resources to resynchronise, then read on from the start"}
	case err != nil:
		return err
	}
	out := make([]eventView, len(evs))
	for i, e := range evs {
		out[i] = eventView{Event: e, Cursor: e.Cursor}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"events": out, "next": next})
}

func timeParam(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, badRequest("%s must be an RFC 3339 time such as 2026-12-01T00:00:00Z, got %q", name, s)
	}
	return t, nil
}
