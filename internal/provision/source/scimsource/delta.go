package scimsource

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/scimclient"
)

// filterTime is how a watermark's time is written into a filter: UTC with
// milliseconds, the resolution Roster and most servers give lastModified.
// Writing it cut to the millisecond only widens the window read.
const filterTime = "2006-01-02T15:04:05.000Z"

// state is a decoded watermark: the latest lastModified seen, and the
// (id, version) of the objects seen modified within the overlap window
// before it, so that re-reading the window reports only what changed.
type state struct {
	// Since is the latest meta.lastModified seen; zero before any.
	Since time.Time
	// Seen maps an id to the version and lastModified it was reported
	// with.
	Seen map[string]seen
}

type seen struct {
	Version  string
	Modified time.Time
}

// wire is the watermark's JSON form. V is its format version.
type wire struct {
	V     int         `json:"v"`
	Since string      `json:"since,omitempty"`
	Seen  []wireEntry `json:"seen,omitempty"`
}

type wireEntry struct {
	ID       string `json:"id"`
	Version  string `json:"ver,omitempty"`
	Modified string `json:"mod"`
}

// parseWatermark decodes a watermark; the empty string is the zero state.
func parseWatermark(w string) (state, error) {
	st := state{Seen: map[string]seen{}}
	if w == "" {
		return st, nil
	}
	var in wire
	if err := json.Unmarshal([]byte(w), &in); err != nil || in.V != 1 {
		return st, fmt.Errorf("scim source: watermark %.60q is not one this source wrote", w)
	}
	var err error
	if in.Since != "" {
		if st.Since, err = time.Parse(time.RFC3339Nano, in.Since); err != nil {
			return st, fmt.Errorf("scim source: watermark time: %w", err)
		}
	}
	for _, e := range in.Seen {
		t, err := time.Parse(time.RFC3339Nano, e.Modified)
		if err != nil {
			return st, fmt.Errorf("scim source: watermark entry %s: %w", e.ID, err)
		}
		st.Seen[e.ID] = seen{Version: e.Version, Modified: t}
	}
	return st, nil
}

// String encodes the state as a watermark, its entries sorted by id so
// that equal states give equal strings.
func (st state) String() string {
	out := wire{V: 1}
	if !st.Since.IsZero() {
		out.Since = st.Since.UTC().Format(time.RFC3339Nano)
	}
	for id, s := range st.Seen {
		out.Seen = append(out.Seen, wireEntry{ID: id, Version: s.Version, Modified: s.Modified.UTC().Format(time.RFC3339Nano)})
	}
	slices.SortFunc(out.Seen, func(a, b wireEntry) int { return cmp.Compare(a.ID, b.ID) })
	b, _ := json.Marshal(out) // strings and ints only: it cannot fail.
	return string(b)
}

// admit records an object read by a delta and reports whether it is news:
// false when the watermark already holds the same id at the same version
// and lastModified, i.e. the overlap window read it again unchanged. An
// object without a parseable lastModified is always news, and not
// remembered, since the window cannot place it.
func (st *state) admit(id string, m meta) bool {
	t, err := time.Parse(time.RFC3339Nano, m.LastModified)
	if err != nil {
		return true
	}
	if prev, ok := st.Seen[id]; ok && prev.Version == m.Version && prev.Modified.Equal(t) {
		return false
	}
	st.Seen[id] = seen{Version: m.Version, Modified: t}
	if t.After(st.Since) {
		st.Since = t
	}
	return true
}

// before reports whether a resource was last modified before t; one
// without a parseable lastModified is not, so that it is reported.
func before(m meta, t time.Time) bool {
	lm, err := time.Parse(time.RFC3339Nano, m.LastModified)
	return err == nil && lm.Before(t)
}

// from is the lower bound of the next delta's filter: Since less the
// overlap, cut to the millisecond as the filter writes it.
func (st state) from(overlap time.Duration) time.Time {
	return st.Since.Add(-overlap).Truncate(time.Millisecond)
}

// prune forgets the entries the next delta's window cannot read again
// (modified before from) and, past max entries, the oldest ones; a
// forgotten entry can only be reported again, never missed.
func (st *state) prune(overlap time.Duration, max int) {
	from := st.from(overlap)
	for id, s := range st.Seen {
		if s.Modified.Before(from) {
			delete(st.Seen, id)
		}
	}
	if len(st.Seen) <= max {
		return
	}
	type kv struct {
		id string
		t  time.Time
	}
	all := make([]kv, 0, len(st.Seen))
	for id, s := range st.Seen {
		all = append(all, kv{id, s.Modified})
	}
	slices.SortFunc(all, func(a, b kv) int { return a.t.Compare(b.t) })
	for _, e := range all[:len(all)-max] {
		delete(st.Seen, e.id)
	}
}

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
