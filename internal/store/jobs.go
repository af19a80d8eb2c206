package store

import (
	"context"
	"encoding/json"
	"time"
)

// Job is a stored provisioning job. The store keeps its document as opaque
// JSON: the provisioning job service owns the document's shape and its
// validation, so the schema does not change when the document grows.
type Job struct {
	// Name is unique per server.
	Name string
	// Document is the job's configuration as JSON, secrets included (they
	// are needed to connect); the service redacts them when showing it.
	Document json.RawMessage
	// Status is the job's switch, such as "Off", "On" or "Paused".
	Status string
	// Revision starts at 1 and grows by one on every update; Update
	// compares it to detect a concurrent change.
	Revision int64
	// NeedsInitial makes the job's next cycle an initial one.
	NeedsInitial bool
	Created      time.Time
	Updated      time.Time
}

// JobStore reads provisioning jobs.
type JobStore interface {
	// Get returns the job with the given name; ErrNotFound if there is none.
	Get(ctx context.Context, name string) (Job, error)
	// List returns every job, ordered by name.
	List(ctx context.Context) ([]Job, error)
}

// JobWriter changes provisioning jobs inside a Write.
type JobWriter interface {
	// Create inserts a job with Revision 1; ErrConflict on a duplicate name.
	Create(ctx context.Context, j Job) error
	// Get reads a job as the transaction sees it.
	Get(ctx context.Context, name string) (Job, error)
	// Update replaces a job's document, status, flag and Updated time and
	// sets its revision to j.Revision. It fails with ErrPrecondition unless
	// the stored revision is j.Revision-1, and with ErrNotFound if there is
	// no such job.
	Update(ctx context.Context, j Job) error
	// Delete removes a job; ErrNotFound if there is none.
	Delete(ctx context.Context, name string) error
}
