package report

import (
	"encoding/json"
	"time"

	"github.com/rosterhq/roster/internal/provision/job"
)

// Progress is a running cycle's progress. The engine writes it into the
// running cycle's stats (key "progress") about once a second, so that
// every process reading the store sees it.
type Progress struct {
	// Phase is the cycle's step: "starting", "users", "references",
	// "groups" or "deprovisioning".
	Phase string `json:"phase"`
	// Processed counts the objects read from the source that the cycle
	// has finished with.
	Processed int64 `json:"processed"`
	// Total estimates the objects the cycle will process; 0 when nothing
	// gives an estimate (the first full read of a job without links).
	Total int64 `json:"total"`
	// EstimatedFrom says where Total comes from: "lastFullRead" (the
	// objects the job's last full read read), "links" (the job's linked
	// objects at the start), or "read" (what the source has returned so
	// far: an incremental cycle's delta, or a full read beyond the other
	// two).
	EstimatedFrom string `json:"estimatedFrom,omitempty"`
	// RatePerSecond is the objects processed per second over the last ten
	// seconds.
	RatePerSecond float64 `json:"ratePerSecond"`
	// ETASeconds is how long the rest should take at that rate; absent
	// when Total is unknown or the rate is zero.
	ETASeconds *float64 `json:"etaSeconds,omitempty"`
	// ElapsedSeconds is how long the cycle has run.
	ElapsedSeconds float64   `json:"elapsedSeconds"`
	Updated        time.Time `json:"updated"`
}

// Percent is Processed of Total, 0 to 100, or -1 when Total is unknown.
func (p Progress) Percent() float64 {
	if p.Total <= 0 {
		return -1
	}
	return min(100, 100*float64(p.Processed)/float64(p.Total))
}

// Totals are a job's statistics to date: what its cycles did, added up
// as each ended (dry runs and provisioning on demand do not count).
type Totals struct {
	// Cycles counts the cycles that ended; Succeeded and FailedCycles
	// split them by status.
	Cycles       int64 `json:"cycles"`
	Succeeded    int64 `json:"succeeded"`
	FailedCycles int64 `json:"failedCycles"`
	// The per-object counts, added up over those cycles.
	Read      int64 `json:"read"`
	Created   int64 `json:"created"`
	Updated   int64 `json:"updated"`
	Linked    int64 `json:"linked"`
	Disabled  int64 `json:"disabled"`
	Deleted   int64 `json:"deleted"`
	Unchanged int64 `json:"unchanged"`
	Skipped   int64 `json:"skipped"`
	Failed    int64 `json:"failed"`
	// LastSucceeded is when the last cycle that succeeded ended, and
	// LastDurationMS how long it took.
	LastSucceeded  time.Time `json:"lastSucceeded,omitzero"`
	LastDurationMS float64   `json:"lastDurationMs,omitempty"`
	// LastFullRead counts the objects the last successful cycle that read
	// the source in full read: the next full read's estimated total.
	LastFullRead int64 `json:"lastFullRead,omitempty"`
	// SteadySince is when the job's cycles last became steady (see
	// State.SteadyState); zero while they are not.
	SteadySince time.Time `json:"steadySince,omitzero"`
}

// TotalsOf decodes a job's stored statistics to date; none (or a shape
// it cannot read) is the zero Totals.
func TotalsOf(raw json.RawMessage) Totals {
	var t Totals
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &t)
	}
	return t
}

// ProgressOf returns the progress a running cycle's stats carry, or nil.
func ProgressOf(stats json.RawMessage) *Progress {
	if len(stats) == 0 {
		return nil
	}
	var s struct {
		Progress *Progress `json:"progress"`
	}
	if json.Unmarshal(stats, &s) != nil {
		return nil
	}
	return s.Progress
}

// Steady reports whether a job is in steady state: it is On, no initial
// cycle is pending, and its cycles last ended steady (Totals.SteadySince,
// which the engine sets when an incremental cycle succeeds with no object
// failed and nothing held, and clears when any other cycle ends).
func Steady(j job.Job, t Totals) bool {
	return j.Status == job.StatusOn && !j.NeedsInitial && !t.SteadySince.IsZero()
}
