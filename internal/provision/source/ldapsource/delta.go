package ldapsource

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/rosterhq/roster/internal/provision/source"
)

// generalized is how a time is written in a modifyTimestamp filter
// (GeneralizedTime, RFC 4517 §3.3.13, in UTC). Parsing with it also accepts
// AD's fractional form (20261207181104.0Z).
const generalized = "20060102150405Z"

// state is a decoded watermark: the latest modifyTimestamp seen and the
// (anchor, modifyTimestamp, version) of the objects seen within the overlap
// window before it, so that re-reading the window reports only changes.
type state struct {
	Since time.Time
	Seen  map[string]seen
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
	Anchor   string `json:"a"`
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
		return st, fmt.Errorf("ldap source: watermark %.60q is not one this source wrote", w)
	}
	var err error
	if in.Since != "" {
		if st.Since, err = time.Parse(generalized, in.Since); err != nil {
			return st, fmt.Errorf("ldap source: watermark time: %w", err)
		}
	}
	for _, e := range in.Seen {
		t, err := time.Parse(generalized, e.Modified)
		if err != nil {
			return st, fmt.Errorf("ldap source: watermark entry %s: %w", e.Anchor, err)
		}
		st.Seen[e.Anchor] = seen{Version: e.Version, Modified: t}
	}
	return st, nil
}

// String encodes the state as a watermark, its entries sorted by anchor so
// that equal states give equal strings.
func (st state) String() string {
	out := wire{V: 1}
	if !st.Since.IsZero() {
		out.Since = st.Since.UTC().Format(generalized)
	}
	for a, s := range st.Seen {
		out.Seen = append(out.Seen, wireEntry{Anchor: a, Version: s.Version, Modified: s.Modified.UTC().Format(generalized)})
	}
	slices.SortFunc(out.Seen, func(a, b wireEntry) int { return cmp.Compare(a.Anchor, b.Anchor) })
	b, _ := json.Marshal(out) // strings and ints only: it cannot fail.
	return string(b)
}

// admit records an object read by a delta and reports whether it is news:
// false when the watermark holds the same anchor with the same
// modifyTimestamp and version (entryCSN), i.e. the overlap window read it
// again unchanged. An entry without a readable modifyTimestamp is always
// news and not remembered, since the window cannot place it.
func (st *state) admit(anchor, version, modified string) bool {
	t, err := time.Parse(generalized, modified)
	if err != nil {
		return true
	}
	if prev, ok := st.Seen[anchor]; ok && prev.Version == version && prev.Modified.Equal(t) {
		return false
	}
	st.Seen[anchor] = seen{Version: version, Modified: t}
	if t.After(st.Since) {
		st.Since = t
	}
	return true
}

// from is the lower bound of the next delta's filter.
func (st state) from(overlap time.Duration) time.Time {
	return st.Since.Add(-overlap).Truncate(time.Second)
}

// prune forgets the entries the next delta's window cannot read again and,
// past max entries, the oldest ones; a forgotten entry can only be
// reported again, never missed.
func (st *state) prune(overlap time.Duration, max int) {
	from := st.from(overlap)
	for a, s := range st.Seen {
		if s.Modified.Before(from) {
			delete(st.Seen, a)
		}
	}
	if len(st.Seen) <= max {
		return
	}
	type kv struct {
		a string
		t time.Time
	}
	all := make([]kv, 0, len(st.Seen))
	for a, s := range st.Seen {
		all = append(all, kv{a, s.Modified})
	}
	slices.SortFunc(all, func(x, y kv) int { return x.t.Compare(y.t) })
	for _, e := range all[:len(all)-max] {
		delete(st.Seen, e.a)
	}
}

// Changes reports the users or groups modified since the watermark
// (source.DeltaLister) by searching (&(filter)(modifyTimestamp>=T−overlap));
// see the package documentation for the rule. An empty watermark reports
// every object. Deletes are never reported: a deleted entry matches no
// search, so the engine finds them with List and source.Missing.
func (s *Source) Changes(ctx context.Context, kind source.Kind, watermark string, fn func(source.Object) error) (string, error) {
	f, err := s.filter(kind)
	if err != nil {
		return "", err
	}
	st, err := parseWatermark(watermark)
	if err != nil {
		return "", err
	}
	if !st.Since.IsZero() {
		f = fmt.Sprintf("(&%s(modifyTimestamp>=%s))", f, st.from(s.o.Overlap).UTC().Format(generalized))
	}
	keep := func(o source.Object, e *ldap.Entry) bool {
		return st.admit(o.Anchor, e.GetAttributeValue("entryCSN"), e.GetAttributeValue("modifyTimestamp"))
	}
	if err := s.walk(ctx, kind, f, keep, fn); err != nil {
		return "", err
	}
	st.prune(s.o.Overlap, s.o.MaxSeen)
	return st.String(), nil
}
