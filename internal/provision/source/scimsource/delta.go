package scimsource

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/scimclient"
)

// filterTime is how a watermark's time is written into a filter: UTC with
// milliseconds, the resolution Roster and most servers give lastModified.
// Writing it cut to the millisecond only widens the window read.
const filterTime = "2006-01-02T15:04:05.000Z"

// state is a decoded watermark: a source.Window read by meta.lastModified.
type state struct{ source.Window }

// parseWatermark decodes a watermark; the empty string is the zero state.
func parseWatermark(w string) (state, error) {
	win, err := source.ParseWindow("scim source", w)
	return state{win}, err
}

// admit records an object a delta read and reports whether it is news (see
// source.Window.Admit). An object without a parseable lastModified is
// always news, and not remembered, since the window cannot place it.
func (st *state) admit(id string, m meta) bool {
	t, err := time.Parse(time.RFC3339Nano, m.LastModified)
	if err != nil {
		return true
	}
	return st.Admit(id, m.Version, t)
}

// before reports whether a resource was last modified before t; one
// without a parseable lastModified is not, so that it is reported.
func before(m meta, t time.Time) bool {
	lm, err := time.Parse(time.RFC3339Nano, m.LastModified)
	return err == nil && lm.Before(t)
}

// from is the lower bound of the next delta's filter: Since less the
// overlap, cut to the millisecond as the filter writes it.
func (st state) from(overlap time.Duration) time.Time { return st.From(overlap, time.Millisecond) }

// prune forgets what the next delta cannot read again (source.Window.Prune).
func (st *state) prune(overlap time.Duration, max int) { st.Prune(overlap, time.Millisecond, max) }

// Changes reports the users or groups modified since the watermark
// (source.DeltaLister); see the package documentation for the rule. An
// empty watermark, or a server that cannot filter on meta.lastModified,
// reports every object. Deletes are never reported: SCIM has no way to
// list them.
func (s *Source) Changes(ctx context.Context, kind source.Kind, watermark string, fn func(source.Object) error) (string, error) {
	st, err := parseWatermark(watermark)
	if err != nil {
		return "", err
	}
	st.Keep = s.o.Overlap + time.Millisecond
	filter := ""
	from := st.from(s.o.Overlap)
	if !st.Since.IsZero() && s.canFilter(ctx) {
		filter = fmt.Sprintf("meta.lastModified ge %q", from.UTC().Format(filterTime))
	}
	keep := func(id string, m meta) bool {
		// Without the server's filter, the same rule is applied here, so
		// that a full read still reports only the changes.
		if !st.Since.IsZero() && before(m, from) {
			return false
		}
		return st.admit(id, m)
	}
	err = s.walk(ctx, kind, filter, keep, fn)
	if filter != "" && refusedFilter(err) {
		// The server said it filters but refuses this one: report
		// everything, which the contract allows, and remember not to
		// try again.
		s.mu.Lock()
		s.filters = false
		s.mu.Unlock()
		err = s.walk(ctx, kind, "", keep, fn)
	}
	if err != nil {
		return "", err
	}
	st.prune(s.o.Overlap, s.o.MaxSeen)
	return st.String(), nil
}

// refusedFilter reports an error that says the server will not run the
// filter: a 400 (invalidFilter or other), 403 or 501 to the filtered list
// itself, not to a group's member read made during the walk.
func refusedFilter(err error) bool {
	var re *scimclient.ResponseError
	if !errors.As(err, &re) || !strings.Contains(re.Path, "filter=") {
		return false
	}
	switch scimclient.StatusOf(err) {
	case http.StatusBadRequest, http.StatusForbidden, http.StatusNotImplemented:
		return true
	}
	return false
}

// canFilter reads /ServiceProviderConfig once and reports whether the
// server filters. Only an explicit filter.supported false disables the
// delta filter: many servers answer the configuration poorly or not at
// all, and a refused filter is caught when it is sent.
func (s *Source) canFilter(ctx context.Context) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.probed {
		return s.filters
	}
	res, err := s.client.Do(ctx, scimclient.Request{Method: http.MethodGet, Path: "/ServiceProviderConfig"})
	if err != nil {
		// A failed read decides nothing; try again next time.
		return s.filters
	}
	s.probed = true
	var spc struct {
		Filter *struct {
			Supported *bool `json:"supported"`
		} `json:"filter"`
	}
	if res.OK() && res.Decode(&spc) == nil && spc.Filter != nil && spc.Filter.Supported != nil && !*spc.Filter.Supported {
		s.filters = false
	}
	return s.filters
}
