package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rosterhq/roster/internal/store"
)

// Statements of the provisioning job store.
const (
	jobCols      = "name, document, status, revision, needs_initial, created, updated"
	insertJobSQL = "INSERT INTO jobs (" + jobCols + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
	// updateJobSQL changes the row only if its revision is the one before
	// the new one, so a concurrent update is detected, not overwritten.
	updateJobSQL = "UPDATE jobs SET document = ?2, status = ?3, revision = ?4, needs_initial = ?5, updated = ?6 " +
		"WHERE name = ?1 AND revision = ?4 - 1"
	deleteJobSQL = "DELETE FROM jobs WHERE name = ?1"
	jobSQL       = "SELECT " + jobCols + " FROM jobs WHERE name = ?1"
	jobListSQL   = "SELECT " + jobCols + " FROM jobs ORDER BY name"
)

// Jobs returns the provisioning job store.
func (s *Store) Jobs() store.JobStore { return jobs{s} }

// jobs implements store.JobStore.
type jobs struct{ s *Store }

// Get returns the job with the given name.
func (js jobs) Get(ctx context.Context, name string) (store.Job, error) {
	return get(ctx, js.s, js.s.rs.job, "get job", name, scanJob)
}

// List returns every job, ordered by name.
func (js jobs) List(ctx context.Context) ([]store.Job, error) {
	return list(ctx, js.s, js.s.rs.jobList, "list jobs", scanJob)
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
	return jw.w.exec(ctx, "create job "+j.Name, jw.w.s.ws.insertJob, j.Name, string(j.Document), j.Status,
		j.Revision, j.NeedsInitial, formatTime(j.Created), formatTime(j.Updated))
}

// Get returns the job as the transaction sees it.
func (jw jobWriter) Get(ctx context.Context, name string) (store.Job, error) {
	return writerGet(ctx, jw.w, jw.w.s.ws.job, "get job", name, scanJob)
}

// Update replaces the job if its stored revision is j.Revision-1.
func (jw jobWriter) Update(ctx context.Context, j store.Job) error {
	const op = "update job"
	if err := j.PrepareUpdate(time.Now()); err != nil {
		return err
	}
	err := jw.w.execOne(ctx, op, jw.w.s.ws.updateJob, j.Name, string(j.Document), j.Status, j.Revision,
		j.NeedsInitial, formatTime(j.Updated))
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
	return jw.w.execOne(ctx, "delete job", jw.w.s.ws.deleteJob, name)
}

func scanJob(row rowScanner) (store.Job, error) {
	var (
		j                store.Job
		doc              string
		created, updated string
	)
	if err := row.Scan(&j.Name, &doc, &j.Status, &j.Revision, &j.NeedsInitial, &created, &updated); err != nil {
		return j, err
	}
	j.Document = []byte(doc)
	var err error
	if j.Created, err = parseTime(created); err != nil {
		return j, err
	}
	j.Updated, err = parseTime(updated)
	return j, err
}
