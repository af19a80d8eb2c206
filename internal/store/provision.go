package store

import (
	"context"
	"encoding/json"
	"time"
)

// The provisioning engine's state: links between source and target
// objects, each job's cycle state, its cycles and its provisioning log.
// The engine owns these rows; they are bookkeeping of what it did, not
// changes an admin makes, so they carry no audit row (a job's own changes,
// and deleting a link by hand, are audited by their services).

// Link connects one source object of a job to the target object it was
// provisioned to or matched with (Entra's object connection).
type Link struct {
	Job string
	// Kind is "user" or "group".
	Kind string
	// SourceAnchor is the source's immutable id of the object.
	SourceAnchor string
	// TargetID is the target's id of the object.
	TargetID string
	// Display names the object for people (a userName or displayName).
	Display string
	// State is what the engine last made of the target object: "active",
	// or "disabled" when it deprovisioned it by disabling.
	State string
	// Hash fingerprints the attributes last written, so that a cycle can
	// tell an unchanged object without reading the target.
	Hash    string
	Created time.Time
	Updated time.Time
}

// ProvisionState is a job's engine state between cycles.
type ProvisionState struct {
	Job string
	// Watermarks are the sources' opaque delta watermarks by object kind
	// ("user", "group"); a kind without one is read in full.
	Watermarks map[string]string
	// NextRun is when the next scheduled cycle is due; zero means at once.
	NextRun time.Time
	// Cycle is the id of the cycle running or last run, or empty.
	Cycle string
	// Quarantine is set while the job is quarantined: nil otherwise.
	Quarantine *Quarantine
	// Notified records what the job's notifications last said, by subject
	// ("quarantine": the reason notified; "held": set once a hold of
	// deletions was notified), so that each state change is notified once
	// however many cycles see it.
	Notified map[string]string
	Updated  time.Time
	// Totals are the job's statistics to date, as JSON in the engine's
	// shape (cumulative counts, the last successful cycle); empty until
	// its first cycle ends.
	Totals json.RawMessage
}

// Quarantine is why and since when a job is quarantined: its cycles failed
// as a whole (credentials refused, the target unreachable) or too many of
// its objects failed, so it runs less often until a cycle succeeds.
type Quarantine struct {
	// Reason is the machine-readable cause, Entra's where it has one.
	Reason string `json:"reason"`
	// Detail says what happened in a sentence.
	Detail string    `json:"detail"`
	Since  time.Time `json:"since"`
	// Runs counts the cycles that ran while quarantined: each one waits
	// longer before the next.
	Runs int `json:"runs"`
}

// Escrow is an object of a job whose provisioning failed: the engine
// retries it in later cycles, less and less often, until it succeeds or
// the escrow expires (Entra's escrow).
type Escrow struct {
	Job          string
	Kind         string // "user" or "group"
	SourceAnchor string
	// Display names the object for people.
	Display string
	// Reference marks the failure to write a reference (a manager, a
	// group's members) rather than the object: Entra's quarantine
	// thresholds count those apart.
	Reference bool
	// Failures counts the consecutive failed attempts.
	Failures    int
	FirstFailed time.Time
	LastFailed  time.Time
	// NextRetry is when a cycle next retries the object even if the source
	// did not change it.
	NextRetry time.Time
	// Action, ErrorCode and Reason are the last failure's, as logged.
	Action    string
	ErrorCode string
	Reason    string
}

// ProvisionCycle is one run of a job.
type ProvisionCycle struct {
	ID  string
	Job string
	// Initial reports a full cycle (every object evaluated), as opposed to
	// an incremental one from the watermarks.
	Initial bool
	DryRun  bool
	Started time.Time
	// Ended is zero while the cycle runs (or if its process died).
	Ended time.Time
	// Status is "Running", "Succeeded", "Failed" or "Interrupted".
	Status string
	// Stats counts the cycle's outcomes, as JSON (the engine's shape).
	Stats json.RawMessage
	// Error says why a cycle failed.
	Error string
}

// ProvisionLog is one entry of a job's provisioning log: what a cycle did
// with one object.
type ProvisionLog struct {
	// Seq orders the log; set by the store.
	Seq    int64
	Job    string
	Cycle  string
	Change string // the change's own id
	Time   time.Time
	Kind   string // "user" or "group"
	// SourceAnchor, SourceName and TargetID identify the object.
	SourceAnchor string
	SourceName   string
	TargetID     string
	// Action is "Create", "Update", "Disable", "Delete" or "Other".
	Action string
	// Status is "Success", "Failure", "Skipped" or "Warning".
	Status string
	// Steps and Modified are JSON in the engine's shape: the steps
	// (Import, Scope, Match, Action) with their outcome, and the modified
	// properties with their old and new values.
	Steps    json.RawMessage
	Modified json.RawMessage
	// ErrorCode and Reason explain a failure, a skip or a warning.
	ErrorCode string
	Reason    string
	Duration  time.Duration
}

// ProvisionLogQuery selects log entries of one job. Empty fields match
// everything; Object matches the source anchor, source name or target id
// exactly (the name without regard to case).
type ProvisionLogQuery struct {
	Job    string
	Cycle  string
	Status string
	Action string
	Object string
	// Since and Until bound Time (Until exclusive); zero means unbounded.
	Since, Until time.Time
	// After returns entries with Seq greater than it, for paging.
	After int64
	// Limit bounds the entries returned; 0 means 1,000.
	Limit int
}

// ProvisionStore reads the engine's state.
type ProvisionStore interface {
	// State returns a job's state; a zero state (Job set, nothing else) if
	// it has none yet.
	State(ctx context.Context, job string) (ProvisionState, error)
	// Link returns one link; ErrNotFound if there is none.
	Link(ctx context.Context, job, kind, sourceAnchor string) (Link, error)
	// LinkByTarget returns the link to a target object; ErrNotFound if
	// there is none.
	LinkByTarget(ctx context.Context, job, kind, targetID string) (Link, error)
	// Links calls fn for each link of a job and kind ("" for every kind),
	// ordered by kind and source anchor, reading them as a stream.
	Links(ctx context.Context, job, kind string, fn func(Link) error) error
	// Cycle returns one cycle; ErrNotFound if there is none.
	Cycle(ctx context.Context, id string) (ProvisionCycle, error)
	// Cycles returns a job's latest cycles, newest first, at most limit
	// (0 means 100).
	Cycles(ctx context.Context, job string, limit int) ([]ProvisionCycle, error)
	// Logs returns log entries in Seq order.
	Logs(ctx context.Context, q ProvisionLogQuery) ([]ProvisionLog, error)
	// Escrows calls fn for each escrow entry of a job, ordered by kind and
	// source anchor.
	Escrows(ctx context.Context, job string, fn func(Escrow) error) error
	// PurgeLogs deletes log entries, and ended cycles, older than before,
	// at most limit rows per call (0 means 10,000), and returns how many
	// it deleted; the retention sweeper calls it until it returns 0.
	PurgeLogs(ctx context.Context, before time.Time, limit int) (int64, error)
}

// ProvisionWriter writes the engine's state inside a Write.
type ProvisionWriter interface {
	// State reads a job's state as the transaction sees it, locking it
	// where the backend supports row locks.
	State(ctx context.Context, job string) (ProvisionState, error)
	// PutState creates or replaces a job's state.
	PutState(ctx context.Context, s ProvisionState) error
	// PutLinks creates or replaces links, keyed by (Job, Kind,
	// SourceAnchor).
	PutLinks(ctx context.Context, links []Link) error
	// DeleteLinks removes a job's links of a kind by source anchor,
	// ignoring anchors without one, and returns how many it removed.
	DeleteLinks(ctx context.Context, job, kind string, anchors []string) (int, error)
	// PutCycle creates or replaces a cycle, keyed by ID.
	PutCycle(ctx context.Context, c ProvisionCycle) error
	// AppendLogs appends log entries, setting their Seq.
	AppendLogs(ctx context.Context, logs []ProvisionLog) error
	// PutEscrows creates or replaces escrow entries, keyed by (Job, Kind,
	// SourceAnchor).
	PutEscrows(ctx context.Context, es []Escrow) error
	// DeleteEscrows removes a job's escrow entries of a kind by source
	// anchor, ignoring anchors without one, and returns how many it removed.
	DeleteEscrows(ctx context.Context, job, kind string, anchors []string) (int, error)
	// ClearEscrows removes every escrow entry of a job (a restart).
	ClearEscrows(ctx context.Context, job string) error
	// DeleteJob removes everything the engine kept for a job: its state,
	// links, escrow, cycles and logs, and the records pushed to it and its
	// push token. The job service calls it when a job is deleted.
	DeleteJob(ctx context.Context, job string) error
}

// PushRecord is one source record pushed to a job of source type "push"
// (an HR system's record sent to the inbound endpoint, or a CSV row): the
// staged state of one user as the HR system last sent it. The push source
// reads these rows; the engine never writes them.
type PushRecord struct {
	Job string
	// Anchor is the record's externalId, the source anchor.
	Anchor string
	// Seq orders a job's record writes: every write of a record gives it
	// the job's next Seq, so the push source reads a delta as the records
	// with a Seq above its watermark. Set by the store.
	Seq int64
	// Data is the record as a SCIM user document (JSON object).
	Data json.RawMessage
	// Deleted marks a record an authoritative upload left out: the push
	// source reports it deleted. Pushes never set it; they mark a record
	// inactive with active:false in Data instead.
	Deleted bool
	Updated time.Time
}

// PushToken is the credential an HR system presents to push records to
// one job. Only the SHA-256 of its secret is kept.
type PushToken struct {
	Job     string
	ID      string
	Hash    []byte
	Created time.Time
}

// PushStore reads the records pushed to jobs and their push tokens.
type PushStore interface {
	// Records calls fn for each record of a job with a Seq above after,
	// deleted ones included, in Seq order, reading them as a stream.
	Records(ctx context.Context, job string, after int64, fn func(PushRecord) error) error
	// Record returns one record by anchor; ErrNotFound if there is none.
	Record(ctx context.Context, job, anchor string) (PushRecord, error)
	// LastSeq returns the highest Seq of a job's records, 0 if none.
	LastSeq(ctx context.Context, job string) (int64, error)
	// Token returns a job's push token; ErrNotFound if none was issued.
	Token(ctx context.Context, job string) (PushToken, error)
}

// PushWriter writes pushed records and push tokens inside a Write. Writes
// of one job's records are serialised by the backend (SQLite's one
// writer, a PostgreSQL transaction lock per job), so Seq order is commit
// order and a reader that has seen Seq n has seen every Seq below it.
type PushWriter interface {
	// PutRecords creates or replaces records by (Job, Anchor), giving each
	// the job's next Seq in order and clearing Deleted; it sets their Seq.
	// All records belong to one job.
	PutRecords(ctx context.Context, job string, recs []PushRecord) error
	// DeleteRecordsUpTo marks deleted, with new Seqs, every record of a job
	// not already deleted whose Seq is at most upTo, and returns how many
	// it marked: an authoritative upload calls it with the Seq the job had
	// before the upload began, so every record the upload did not send is
	// marked.
	DeleteRecordsUpTo(ctx context.Context, job string, upTo int64) (int, error)
	// PutToken creates or replaces a job's push token.
	PutToken(ctx context.Context, t PushToken) error
}
