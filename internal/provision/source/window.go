package source

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Window is the watermark of a delta that reads by modification time with
// an overlap, as the SCIM source (meta.lastModified) and the LDAP source
// (modifyTimestamp) do: the latest modification time seen, and the anchor,
// version and modification time of every object seen within the overlap
// before it, so that re-reading the overlap reports only what changed.
// Reading from a little before the latest time seen catches changes that
// committed late or carry the same timestamp; remembering what the overlap
// held keeps them from being reported twice.
type Window struct {
	// Since is the latest modification time seen; zero before any.
	Since time.Time
	// Seen maps an anchor to what it was reported with.
	Seen map[string]WindowEntry
	// Keep, when set (to the overlap plus the timestamp's resolution),
	// lets Admit forget entries the next delta cannot read again as it
	// goes, so that a full read of a large directory does not hold one
	// entry per object until Prune.
	Keep time.Duration
	// pruneAt is the size of Seen at which Admit next drops old entries.
	pruneAt int
}

// WindowEntry is what an object was reported with.
type WindowEntry struct {
	Version  string
	Modified time.Time
}

// windowWire is a Window's JSON form. V is its format version.
type windowWire struct {
	V     int               `json:"v"`
	Since string            `json:"since,omitempty"`
	Seen  []windowWireEntry `json:"seen,omitempty"`
}

type windowWireEntry struct {
	Anchor   string `json:"a"`
	Version  string `json:"ver,omitempty"`
	Modified string `json:"mod"`
}

// ParseWindow decodes a watermark String wrote; the empty string is the
// zero Window. who names the source in errors.
func ParseWindow(who, w string) (Window, error) {
	st := Window{Seen: map[string]WindowEntry{}}
	if w == "" {
		return st, nil
	}
	var in windowWire
	if err := json.Unmarshal([]byte(w), &in); err != nil || in.V != 1 {
		return st, fmt.Errorf("%s: watermark %.60q is not one this source wrote", who, w)
	}
	var err error
	if in.Since != "" {
		if st.Since, err = time.Parse(time.RFC3339Nano, in.Since); err != nil {
			return st, fmt.Errorf("%s: watermark time: %w", who, err)
		}
	}
	for _, e := range in.Seen {
		t, err := time.Parse(time.RFC3339Nano, e.Modified)
		if err != nil {
			return st, fmt.Errorf("%s: watermark entry %s: %w", who, e.Anchor, err)
		}
		st.Seen[e.Anchor] = WindowEntry{Version: e.Version, Modified: t}
	}
	return st, nil
}

// String encodes the Window as a watermark, its entries sorted by anchor
// so that equal Windows give equal strings.
func (st Window) String() string {
	out := windowWire{V: 1}
	if !st.Since.IsZero() {
		out.Since = st.Since.UTC().Format(time.RFC3339Nano)
	}
	for a, s := range st.Seen {
		out.Seen = append(out.Seen, windowWireEntry{Anchor: a, Version: s.Version, Modified: s.Modified.UTC().Format(time.RFC3339Nano)})
	}
	slices.SortFunc(out.Seen, func(a, b windowWireEntry) int { return cmp.Compare(a.Anchor, b.Anchor) })
	b, _ := json.Marshal(out) // strings and ints only: it cannot fail.
	return string(b)
}

// Admit records an object a delta read and reports whether it is news:
// false when the Window already holds the same anchor with the same
// version and modification time, i.e. the overlap read it again unchanged.
func (st *Window) Admit(anchor, version string, modified time.Time) bool {
	if prev, ok := st.Seen[anchor]; ok && prev.Version == version && prev.Modified.Equal(modified) {
		return false
	}
	if modified.After(st.Since) {
		st.Since = modified
	}
	if st.Keep > 0 && modified.Before(st.Since.Add(-st.Keep)) {
		// Older than any later delta reads: nothing to remember. Since
		// only grows, this stays true until the watermark is written.
		delete(st.Seen, anchor)
		return true
	}
	st.Seen[anchor] = WindowEntry{Version: version, Modified: modified}
	if st.Keep > 0 && len(st.Seen) >= max(st.pruneAt, 4096) {
		from := st.Since.Add(-st.Keep)
		for a, e := range st.Seen {
			if e.Modified.Before(from) {
				delete(st.Seen, a)
			}
		}
		st.pruneAt = 2 * len(st.Seen)
	}
	return true
}

// From is the lower bound of the next delta's read: Since less the
// overlap, cut to the resolution the source's filter writes times in
// (cutting only widens the window read).
func (st Window) From(overlap, resolution time.Duration) time.Time {
	return st.Since.Add(-overlap).Truncate(resolution)
}

// Prune forgets the entries the next delta cannot read again (modified
// before From) and, past max entries, the oldest ones: a forgotten entry
// can only be reported again, never missed.
func (st *Window) Prune(overlap, resolution time.Duration, max int) {
	from := st.From(overlap, resolution)
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
