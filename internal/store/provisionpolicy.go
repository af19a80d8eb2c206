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

// objectKey is the key of a row kept per job, kind and source object.
type objectKey struct{ job, kind, anchor string }

// lastWins returns rows with one per key, the last of each in its first's
// place, as if they were written one after the other: one multi-row upsert
// may not touch a row twice on every backend. prepare checks and fills
// each row first. The caller's slice is left as it is.
func lastWins[T any](rows []T, key func(T) objectKey, prepare func(*T) error) ([]T, error) {
	out := make([]T, 0, len(rows))
	at := make(map[objectKey]int, len(rows))
	for _, r := range rows {
		if err := prepare(&r); err != nil {
			return nil, err
		}
		k := key(r)
		if i, dup := at[k]; dup {
			out[i] = r
			continue
		}
		at[k] = len(out)
		out = append(out, r)
	}
	return out, nil
}

// PrepareEscrows checks escrow entries before they are stored and returns
// them with a zero LastFailed set to now, and a zero FirstFailed or
// NextRetry to LastFailed (retried by the next cycle); of entries with the
// same key the last wins.
func PrepareEscrows(es []Escrow, now time.Time) ([]Escrow, error) {
	return lastWins(es, func(e Escrow) objectKey { return objectKey{e.Job, e.Kind, e.SourceAnchor} }, func(e *Escrow) error {
		if e.Job == "" || e.Kind == "" || e.SourceAnchor == "" {
			return errMissing("put escrow", "an escrow entry needs a job, a kind and a source anchor")
		}
		if e.Failures < 1 {
			return errMissing("put escrow", "an escrow entry counts at least one failure")
		}
		e.LastFailed = orNow(e.LastFailed, now)
		e.FirstFailed = orNow(e.FirstFailed, e.LastFailed)
		e.NextRetry = orNow(e.NextRetry, e.LastFailed)
		return nil
	})
}

// PrepareLinks checks links before they are stored and returns them with
// a zero Updated set to now and a zero Created to Updated; of links with
// the same key the last wins.
func PrepareLinks(links []Link, now time.Time) ([]Link, error) {
	return lastWins(links, func(l Link) objectKey { return objectKey{l.Job, l.Kind, l.SourceAnchor} }, func(l *Link) error {
		if l.Job == "" || l.Kind == "" || l.SourceAnchor == "" {
			return errMissing("put links", "a link needs a job, a kind and a source anchor")
		}
		l.Updated = orNow(l.Updated, now)
		l.Created = orNow(l.Created, l.Updated)
		return nil
	})
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
