package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/rosterhq/roster/internal/store"
)

// The records pushed to jobs of source type push (migration 0011). One
// connection writes, so a job's next seq is its highest plus one without a
// race, and seq order is commit order.

const (
	pushRecordCols = "job, anchor, seq, data, deleted, updated"

	pushRecordsSQL = "SELECT " + pushRecordCols + " FROM provision_records WHERE job = ?1 AND seq > ?2 ORDER BY seq"
	pushRecordSQL  = "SELECT " + pushRecordCols + " FROM provision_records WHERE job = ?1 AND anchor = ?2"
	pushLastSeqSQL = "SELECT COALESCE(MAX(seq), 0) FROM provision_records WHERE job = ?1"
	putPushSQL     = "INSERT INTO provision_records (" + pushRecordCols + ") VALUES (?1, ?2, ?3, ?4, 0, ?5) " +
		"ON CONFLICT (job, anchor) DO UPDATE SET seq = excluded.seq, data = excluded.data, deleted = 0, " +
		"updated = excluded.updated"
	pushLiveUpToSQL = "SELECT anchor FROM provision_records WHERE job = ?1 AND deleted = 0 AND seq <= ?2 ORDER BY seq"
	markPushDeleted = "UPDATE provision_records SET deleted = 1, seq = ?3, updated = ?4 WHERE job = ?1 AND anchor = ?2"
	pushTokenSQL    = "SELECT job, id, hash, created FROM provision_push_tokens WHERE job = ?1"
	putPushTokenSQL = "INSERT INTO provision_push_tokens (job, id, hash, created) VALUES (?1, ?2, ?3, ?4) " +
		"ON CONFLICT (job) DO UPDATE SET id = excluded.id, hash = excluded.hash, created = excluded.created"
)

// Push returns the store of pushed records.
func (s *Store) Push() store.PushStore { return pushStore{s} }

type pushStore struct{ s *Store }

// Records streams a job's records above a seq from the read pool.
func (p pushStore) Records(ctx context.Context, job string, after int64, fn func(store.PushRecord) error) error {
	const op = "list pushed records"
	if p.s.closed.Load() {
		return store.ErrUnavailable
	}
	rows, err := p.s.rdb.QueryContext(ctx, pushRecordsSQL, job, after)
	return eachRow(p.s, op, rows, err, scanPushRecord, fn)
}

// Record reads one record.
func (p pushStore) Record(ctx context.Context, job, anchor string) (store.PushRecord, error) {
	const op = "get pushed record"
	if p.s.closed.Load() {
		return store.PushRecord{}, store.ErrUnavailable
	}
	r, err := scanPushRecord(p.s.rdb.QueryRowContext(ctx, pushRecordSQL, job, anchor))
	if err != nil {
		return store.PushRecord{}, p.s.notFound(op+" of job "+job, anchor, err)
	}
	return r, nil
}

// LastSeq returns a job's highest seq.
func (p pushStore) LastSeq(ctx context.Context, job string) (int64, error) {
	if p.s.closed.Load() {
		return 0, store.ErrUnavailable
	}
	var n int64
	err := p.s.rdb.QueryRowContext(ctx, pushLastSeqSQL, job).Scan(&n)
	return n, p.s.fail("last pushed seq of job "+job, err)
}

// Token reads a job's push token.
func (p pushStore) Token(ctx context.Context, job string) (store.PushToken, error) {
	if p.s.closed.Load() {
		return store.PushToken{}, store.ErrUnavailable
	}
	var (
		t       store.PushToken
		created string
	)
	err := p.s.rdb.QueryRowContext(ctx, pushTokenSQL, job).Scan(&t.Job, &t.ID, &t.Hash, &created)
	if err != nil {
		return store.PushToken{}, p.s.notFound("get push token of job", job, err)
	}
	if t.Created, err = parseTime(created); err != nil {
		return store.PushToken{}, fmt.Errorf("get push token of job %s: %w", job, err)
	}
	return t, nil
}

// Push returns the writer of pushed records.
func (w *writer) Push() store.PushWriter { return pushWriter{w} }

type pushWriter struct{ w *writer }

// stmt returns a statement prepared once on the write connection, kept
// with the multi-row ones.
func (w *writer) stmt(query string) (*sql.Stmt, error) {
	key := multiRowKey{query, -1}
	if st, ok := w.multi[key]; ok {
		return st, nil
	}
	st, err := w.s.wconn.PrepareContext(context.Background(), query)
	if err != nil {
		return nil, err
	}
	if w.multi == nil {
		w.multi = map[multiRowKey]*sql.Stmt{}
	}
	w.multi[key] = st
	return st, nil
}

func (pw pushWriter) lastSeq(job string) (int64, error) {
	st, err := pw.w.stmt(pushLastSeqSQL)
	if err != nil {
		return 0, err
	}
	var n int64
	err = st.QueryRow(job).Scan(&n)
	return n, err
}

// PutRecords writes records with the job's next seqs.
func (pw pushWriter) PutRecords(ctx context.Context, job string, recs []store.PushRecord) error {
	op := "put pushed records of job " + job
	if err := ctx.Err(); err != nil {
		return err
	}
	last, err := pw.lastSeq(job)
	if err != nil {
		return pw.w.s.fail(op, err)
	}
	st, err := pw.w.stmt(putPushSQL)
	if err != nil {
		return pw.w.s.fail(op, err)
	}
	now := time.Now().UTC()
	for i := range recs {
		if recs[i].Job != job {
			return fmt.Errorf("%s: a record of job %q", op, recs[i].Job)
		}
		if _, err := st.Exec(job, recs[i].Anchor, last+int64(i)+1, string(recs[i].Data), formatTime(now)); err != nil {
			return pw.w.s.fail(op, err)
		}
	}
	for i := range recs {
		recs[i].Seq, recs[i].Deleted, recs[i].Updated = last+int64(i)+1, false, now
	}
	return nil
}

// DeleteRecordsUpTo marks the job's live records up to a seq deleted.
func (pw pushWriter) DeleteRecordsUpTo(ctx context.Context, job string, upTo int64) (int, error) {
	op := "mark pushed records deleted of job " + job
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	last, err := pw.lastSeq(job)
	if err != nil {
		return 0, pw.w.s.fail(op, err)
	}
	sel, err := pw.w.stmt(pushLiveUpToSQL)
	if err != nil {
		return 0, pw.w.s.fail(op, err)
	}
	rows, err := sel.Query(job, upTo)
	if err != nil {
		return 0, pw.w.s.fail(op, err)
	}
	var anchors []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			rows.Close()
			return 0, pw.w.s.fail(op, err)
		}
		anchors = append(anchors, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, pw.w.s.fail(op, err)
	}
	upd, err := pw.w.stmt(markPushDeleted)
	if err != nil {
		return 0, pw.w.s.fail(op, err)
	}
	now := formatTime(time.Now().UTC())
	for i, a := range anchors {
		if _, err := upd.Exec(job, a, last+int64(i)+1, now); err != nil {
			return 0, pw.w.s.fail(op, err)
		}
	}
	return len(anchors), nil
}

// PutToken writes a job's push token.
func (pw pushWriter) PutToken(ctx context.Context, t store.PushToken) error {
	op := "put push token of job " + t.Job
	if err := ctx.Err(); err != nil {
		return err
	}
	st, err := pw.w.stmt(putPushTokenSQL)
	if err != nil {
		return pw.w.s.fail(op, err)
	}
	_, err = st.Exec(t.Job, t.ID, t.Hash, formatTime(t.Created))
	return pw.w.s.fail(op, err)
}

func scanPushRecord(row rowScanner) (store.PushRecord, error) {
	var (
		r             store.PushRecord
		data, updated string
	)
	if err := row.Scan(&r.Job, &r.Anchor, &r.Seq, &data, &r.Deleted, &updated); err != nil {
		return store.PushRecord{}, err
	}
	r.Data = []byte(data)
	var err error
	r.Updated, err = parseTime(updated)
	return r, err
}
