package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster/internal/store"
)

const jobCols = "name, document, status, revision, needs_initial, created, updated"

// Jobs returns the provisioning job store.
func (s *Store) Jobs() store.JobStore { return jobs{s} }

// jobs implements store.JobStore.
type jobs struct{ s *Store }

// Get returns the job with the given name.
func (js jobs) Get(ctx context.Context, name string) (store.Job, error) {
	return get(ctx, js.s, "SELECT "+jobCols+" FROM jobs WHERE name = $1", "get job", name, scanJob)
}

// List returns every job, ordered by name.
func (js jobs) List(ctx context.Context) ([]store.Job, error) {
	return list(ctx, js.s, "SELECT "+jobCols+" FROM jobs ORDER BY name", "list jobs", scanJob)
}

// Jobs returns the writer of provisioning jobs.
func (w *writer) Jobs() store.JobWriter { return jobWriter{w} }

// jobWriter implements store.JobWriter.
type jobWriter struct{ w *writer }

// Create inserts a job with revision 1; a duplicate name is
// store.ErrConflict.
func (jw jobWriter) Create(ctx context.Context, j store.Job) error {
	if err := j.Prepare(time.Now()); err != nil {
		return err
	}
	return jw.w.exec(ctx, "create job "+j.Name, "INSERT INTO jobs ("+jobCols+") VALUES ($1, $2, $3, $4, $5, $6, $7)",
		j.Name, string(j.Document), j.Status, j.Revision, j.NeedsInitial, j.Created, j.Updated)
}

// Get returns the job as the transaction sees it, locking its row.
func (jw jobWriter) Get(ctx context.Context, name string) (store.Job, error) {
	return writerGet(ctx, jw.w, "SELECT "+jobCols+" FROM jobs WHERE name = $1 FOR UPDATE", "get job", name, scanJob)
}

// Update replaces the job if its stored revision is j.Revision-1; the
// condition is in the UPDATE itself, so a concurrent update is detected,
// not overwritten.
func (jw jobWriter) Update(ctx context.Context, j store.Job) error {
	const op = "update job"
	if err := j.PrepareUpdate(time.Now()); err != nil {
		return err
	}
	err := jw.w.execOne(ctx, op, `UPDATE jobs SET document = $2, status = $3, revision = $4, needs_initial = $5, updated = $6
		WHERE name = $1 AND revision = $4 - 1`, j.Name, string(j.Document), j.Status, j.Revision, j.NeedsInitial, j.Updated)
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// No row changed: the job is gone, or another write moved its revision.
	if _, gerr := jw.Get(ctx, j.Name); gerr != nil {
		return gerr
	}
	return fmt.Errorf("%s %s: %w", op, j.Name, store.ErrPrecondition)
}

// Delete removes the job.
func (jw jobWriter) Delete(ctx context.Context, name string) error {
	return jw.w.execOne(ctx, "delete job", "DELETE FROM jobs WHERE name = $1", name)
}

func scanJob(row pgx.Row) (store.Job, error) {
	var (
		j                store.Job
		doc              []byte
		created, updated time.Time
	)
	if err := row.Scan(&j.Name, &doc, &j.Status, &j.Revision, &j.NeedsInitial, &created, &updated); err != nil {
		return j, err
	}
	j.Document, j.Created, j.Updated = doc, created.UTC(), updated.UTC()
	return j, nil
}
