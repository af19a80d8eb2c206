package store

import (
	"encoding/json"
	"time"
)

// Limits of the provisioning store's reads and purges.
const (
	provisionLogsDefaultLimit = 1000
	// ProvisionLogsMaxLimit caps ProvisionLogQuery.Limit, so that one page
	// of the log stays a page.
	ProvisionLogsMaxLimit  = 10_000
	provisionCyclesDefault = 100
	provisionPurgeDefault  = 10_000
)

// EffectiveLimit is q.Limit with its default and cap applied.
func (q ProvisionLogQuery) EffectiveLimit() int {
	return clampLimit(q.Limit, provisionLogsDefaultLimit, ProvisionLogsMaxLimit)
}

// CyclesLimit is the limit of ProvisionStore.Cycles with its default
// applied.
func CyclesLimit(limit int) int {
	if limit <= 0 {
		return provisionCyclesDefault
	}
	return limit
}

// PurgeLimit is the limit of ProvisionStore.PurgeLogs with its default
// applied.
func PurgeLimit(limit int) int {
	if limit <= 0 {
		return provisionPurgeDefault
	}
	return limit
}

// Prepare checks a job's state before it is stored and sets a zero Updated
// to now.
func (s *ProvisionState) Prepare(now time.Time) error {
	if s.Job == "" {
		return errMissing("put provisioning state", "state needs a job")
	}
	s.Updated = orNow(s.Updated, now)
	return nil
}

// PrepareEscrows checks escrow entries before they are stored and returns
// them with a zero LastFailed set to now, and a zero FirstFailed or
// NextRetry to LastFailed (retried by the next cycle); of entries with the same key the last wins. The caller's
// slice is left as it is.
func PrepareEscrows(es []Escrow, now time.Time) ([]Escrow, error) {
	out := make([]Escrow, 0, len(es))
	type key struct{ job, kind, anchor string }
	at := make(map[key]int, len(es))
	for _, e := range es {
		if e.Job == "" || e.Kind == "" || e.SourceAnchor == "" {
			return nil, errMissing("put escrow", "an escrow entry needs a job, a kind and a source anchor")
		}
		if e.Failures < 1 {
			return nil, errMissing("put escrow", "an escrow entry counts at least one failure")
		}
		e.LastFailed = orNow(e.LastFailed, now)
		e.FirstFailed = orNow(e.FirstFailed, e.LastFailed)
		e.NextRetry = orNow(e.NextRetry, e.LastFailed)
		k := key{e.Job, e.Kind, e.SourceAnchor}
		if i, dup := at[k]; dup {
			out[i] = e
			continue
		}
		at[k] = len(out)
		out = append(out, e)
	}
	return out, nil
}

// PrepareLinks checks links before they are stored and returns them with
// a zero Updated set to now and a zero Created to Updated. Of links with
// the same key the last wins, as if they were written one after the other;
// one multi-row upsert may not touch a row twice on every backend. The
// caller's slice is left as it is.
func PrepareLinks(links []Link, now time.Time) ([]Link, error) {
	out := make([]Link, 0, len(links))
	type key struct{ job, kind, anchor string }
	at := make(map[key]int, len(links))
	for _, l := range links {
		if l.Job == "" || l.Kind == "" || l.SourceAnchor == "" {
			return nil, errMissing("put links", "a link needs a job, a kind and a source anchor")
		}
		l.Updated = orNow(l.Updated, now)
		l.Created = orNow(l.Created, l.Updated)
		k := key{l.Job, l.Kind, l.SourceAnchor}
		if i, dup := at[k]; dup {
			out[i] = l
			continue
		}
		at[k] = len(out)
		out = append(out, l)
	}
	return out, nil
}

// Prepare checks a cycle before it is stored and sets a zero Started to
// now.
func (c *ProvisionCycle) Prepare(now time.Time) error {
	if c.ID == "" || c.Job == "" {
		return errMissing("put cycle", "a cycle needs an id and a job")
	}
	if len(c.Stats) > 0 && !json.Valid(c.Stats) {
		return errMissing("put cycle "+c.ID, "stats are not JSON")
	}
	c.Started = orNow(c.Started, now)
	return nil
}

// Prepare checks a log entry before it is appended and sets a zero Time to
// now.
func (l *ProvisionLog) Prepare(now time.Time) error {
	if l.Job == "" {
		return errMissing("append provisioning log", "an entry needs a job")
	}
	if len(l.Steps) > 0 && !json.Valid(l.Steps) || len(l.Modified) > 0 && !json.Valid(l.Modified) {
		return errMissing("append provisioning log", "steps and modified properties must be JSON")
	}
	l.Time = orNow(l.Time, now)
	return nil
}
