package ldapsource

import (
	"context"
	"fmt"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/rosterhq/roster/internal/provision/source"
)

// generalized is how a time is written in a modifyTimestamp filter
// (GeneralizedTime, RFC 4517 §3.3.13, in UTC). Parsing with it also accepts
// AD's fractional form (20261207181104.0Z).
const generalized = "20060102150405Z"

// state is a decoded watermark: a source.Window read by modifyTimestamp.
type state struct{ source.Window }

// parseWatermark decodes a watermark; the empty string is the zero state.
func parseWatermark(w string) (state, error) {
	win, err := source.ParseWindow("ldap source", w)
	return state{win}, err
}

// admit records an entry a delta read and reports whether it is news (see
// source.Window.Admit), the entryCSN as its version. An entry without a
// readable modifyTimestamp is always news and not remembered, since the
// window cannot place it.
func (st *state) admit(anchor, version, modified string) bool {
	t, err := time.Parse(generalized, modified)
	if err != nil {
		return true
	}
	return st.Admit(anchor, version, t)
}

// from is the lower bound of the next delta's filter: modifyTimestamp has
// whole seconds.
func (st state) from(overlap time.Duration) time.Time { return st.From(overlap, time.Second) }

// prune forgets what the next delta cannot read again (source.Window.Prune).
func (st *state) prune(overlap time.Duration, max int) { st.Prune(overlap, time.Second, max) }

// changesByTimestamp reports the users or groups modified since the
// watermark by searching (&(filter)(modifyTimestamp>=T−overlap)); see the
// package documentation for the rule. An empty watermark reports every
// object. Deletes are never reported: a deleted entry matches no search,
// so the engine finds them with List and source.Missing.
func (s *Source) changesByTimestamp(ctx context.Context, kind source.Kind, watermark string, fn func(source.Object) error) (string, error) {
	f, err := s.filter(kind)
	if err != nil {
		return "", err
	}
	st, err := parseWatermark(watermark)
	if err != nil {
		return "", err
	}
	st.Keep = s.o.Overlap + time.Second
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
