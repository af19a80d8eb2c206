package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster/internal/store"
)

// The records pushed to jobs of source type push (migration 0008). A
// writer takes the job's transaction-scoped advisory lock before it reads
// the job's highest seq, so two transactions never draw the same seqs and
// one that draws higher seqs commits after the other: a reader that has
// seen seq n has seen every seq below it.

const (
	pushRecordCols = "job, anchor, seq, data, deleted, updated"

	pushLockSQL    = "SELECT pg_advisory_xact_lock(hashtext('roster.push/' || $1))"
	pushLastSeqSQL = "SELECT COALESCE(MAX(seq), 0) FROM provision_records WHERE job = $1"
	// putPushSQL writes the records of arrays $2 (anchors) and $3 (data),
	// the i-th taking seq $4 + i.
	putPushSQL = `INSERT INTO provision_records (` + pushRecordCols + `)
	SELECT $1, a.anchor, $4 + a.n, a.data::jsonb, false, now()
	FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS a(anchor, data, n)
	ON CONFLICT (job, anchor) DO UPDATE SET seq = excluded.seq, data = excluded.data, deleted = false,
		updated = excluded.updated
	RETURNING updated`
	// markPushDeletedSQL marks the live records up to seq $2 deleted, in
	// seq order, with seqs after $3.
	markPushDeletedSQL = `UPDATE provision_records r SET deleted = true, seq = $3 + d.n, updated = now()
	FROM (SELECT anchor, row_number() OVER (ORDER BY seq) AS n FROM provision_records
		WHERE job = $1 AND NOT deleted AND seq <= $2) d
	WHERE r.job = $1 AND r.anchor = d.anchor`
	putPushTokenSQL = `INSERT INTO provision_push_tokens (job, id, hash, created) VALUES ($1, $2, $3, $4)
	ON CONFLICT (job) DO UPDATE SET id = excluded.id, hash = excluded.hash, created = excluded.created`
)

// Push returns the store of pushed records.
func (s *Store) Push() store.PushStore { return pushStore{s} }

type pushStore struct{ s *Store }

// Records streams a job's records above a seq.
func (p pushStore) Records(ctx context.Context, job string, after int64, fn func(store.PushRecord) error) error {
	const op = "list pushed records"
	if p.s.closed.Load() {
		return store.ErrUnavailable
	}
	rows, err := p.s.pool.Query(ctx, "SELECT "+pushRecordCols+" FROM provision_records WHERE job = $1 AND seq > $2 ORDER BY seq", job, after)
	if err != nil {
		return p.s.fail(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanPushRecord(rows)
		if err != nil {
			return p.s.fail(op, err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return p.s.fail(op, rows.Err())
}

// Record reads one record.
func (p pushStore) Record(ctx context.Context, job, anchor string) (store.PushRecord, error) {
	if p.s.closed.Load() {
		return store.PushRecord{}, store.ErrUnavailable
	}
	r, err := scanPushRecord(p.s.pool.QueryRow(ctx, "SELECT "+pushRecordCols+" FROM provision_records WHERE job = $1 AND anchor = $2", job, anchor))
	if err != nil {
		return store.PushRecord{}, p.s.notFound("get pushed record of job "+job, anchor, err)
	}
	return r, nil
}

// LastSeq returns a job's highest seq.
func (p pushStore) LastSeq(ctx context.Context, job string) (int64, error) {
	if p.s.closed.Load() {
		return 0, store.ErrUnavailable
	}
	var n int64
	err := p.s.pool.QueryRow(ctx, pushLastSeqSQL, job).Scan(&n)
	return n, p.s.fail("last pushed seq of job "+job, err)
}

// Token reads a job's push token.
func (p pushStore) Token(ctx context.Context, job string) (store.PushToken, error) {
	if p.s.closed.Load() {
		return store.PushToken{}, store.ErrUnavailable
	}
	var t store.PushToken
	err := p.s.pool.QueryRow(ctx, "SELECT job, id, hash, created FROM provision_push_tokens WHERE job = $1", job).
		Scan(&t.Job, &t.ID, &t.Hash, &t.Created)
	if err != nil {
		return store.PushToken{}, p.s.notFound("get push token of job", job, err)
	}
	return t, nil
}

// Push returns the writer of pushed records.
func (w *writer) Push() store.PushWriter { return pushWriter{w} }

type pushWriter struct{ w *writer }

// lock takes the job's push lock for the transaction and returns the job's
// highest seq.
func (pw pushWriter) lock(ctx context.Context, job string) (int64, error) {
	if err := pw.w.begin(ctx); err != nil {
		return 0, err
	}
	if _, err := pw.w.conn.Exec(ctx, pushLockSQL, job); err != nil {
		return 0, err
	}
	var n int64
	err := pw.w.conn.QueryRow(ctx, pushLastSeqSQL, job).Scan(&n)
	return n, err
}

// PutRecords writes records with the job's next seqs.
func (pw pushWriter) PutRecords(ctx context.Context, job string, recs []store.PushRecord) error {
	op := "put pushed records of job " + job
	if len(recs) == 0 {
		return nil
	}
	anchors, data := make([]string, len(recs)), make([]string, len(recs))
	for i, r := range recs {
		if r.Job != job {
			return fmt.Errorf("%s: a record of job %q", op, r.Job)
		}
		anchors[i], data[i] = r.Anchor, string(r.Data)
	}
	last, err := pw.lock(ctx, job)
	if err != nil {
		return pw.w.s.fail(op, err)
	}
	rows, err := pw.w.conn.Query(ctx, putPushSQL, job, anchors, data, last)
	if err != nil {
		return pw.w.s.fail(op, err)
	}
	updated, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return pw.w.s.fail(op, err)
	}
	if len(updated) != len(recs) {
		// Two records with one anchor in a call would conflict within the
		// statement; the push service removes such duplicates before.
		return fmt.Errorf("%s: %d rows written for %d records", op, len(updated), len(recs))
	}
	for i := range recs {
		recs[i].Seq, recs[i].Deleted, recs[i].Updated = last+int64(i)+1, false, updated[0].UTC()
	}
	return nil
}

// DeleteRecordsUpTo marks the job's live records up to a seq deleted.
func (pw pushWriter) DeleteRecordsUpTo(ctx context.Context, job string, upTo int64) (int, error) {
	op := "mark pushed records deleted of job " + job
	last, err := pw.lock(ctx, job)
	if err != nil {
		return 0, pw.w.s.fail(op, err)
	}
	tag, err := pw.w.conn.Exec(ctx, markPushDeletedSQL, job, upTo, last)
	if err != nil {
		return 0, pw.w.s.fail(op, err)
	}
	return int(tag.RowsAffected()), nil
}

// PutToken writes a job's push token.
func (pw pushWriter) PutToken(ctx context.Context, t store.PushToken) error {
	return pw.w.exec(ctx, "put push token of job "+t.Job, putPushTokenSQL, t.Job, t.ID, t.Hash, t.Created)
}

func scanPushRecord(row pgx.Row) (store.PushRecord, error) {
	var (
		r    store.PushRecord
		data string
	)
	if err := row.Scan(&r.Job, &r.Anchor, &r.Seq, &data, &r.Deleted, &r.Updated); err != nil {
		return store.PushRecord{}, err
	}
	r.Data, r.Updated = []byte(data), r.Updated.UTC()
	return r, nil
}
