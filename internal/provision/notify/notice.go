// Package notify tells people and apps when a provisioning job changes
// state: it enters quarantine, holds deletions, or recovers. The engine
// decides when (once per state change, never per cycle); this package
// decides how (e-mail to the job's notification addresses, and an event in
// a tenant's outbox, which its webhooks and feed deliver).
package notify

import (
	"context"
	"time"
)

// Kind is the state change a Notice reports.
type Kind string

// The state changes that are notified.
const (
	// Quarantined: the job entered quarantine, or its quarantine reason
	// changed.
	Quarantined Kind = "quarantined"
	// DeletesHeld: a cycle held disables and deletes beyond the job's
	// deletion threshold and the job stopped.
	DeletesHeld Kind = "deletesHeld"
	// Recovered: the job left quarantine after a cycle that succeeded.
	Recovered Kind = "recovered"
)

// Notice is one state change of one job.
type Notice struct {
	Job  string
	Kind Kind
	// Reason is the machine-readable cause, Entra's where it has one
	// (EncounteredQuarantineException, EncounteredEscrowProportionThreshold,
	// TargetUnreachable, DeletionThresholdExceeded); empty for Recovered.
	Reason string
	// Detail says in a sentence what happened and what to do.
	Detail string
	// Cycle is the cycle that caused the change.
	Cycle string
	Time  time.Time
	// Held counts the held disables and deletes (DeletesHeld).
	Held int
	// Since is when the quarantine began (Quarantined, Recovered).
	Since time.Time
}

// Notifier delivers notices. Notify returns once the notice is durably on
// its way (sent or queued); the engine records that it notified only then.
type Notifier interface {
	Notify(ctx context.Context, to Recipients, n Notice) error
}

// Recipients are who hears of a job's notices: the job document's
// notifications section.
type Recipients struct {
	// Emails get an e-mail per notice.
	Emails []string
	// Tenant, if set, gets each notice as an event in its outbox.
	Tenant string
}
