package postgres

import (
	"context"
	"time"

	"github.com/rosterhq/roster/internal/store"
)

// The engine's escrow (migration 0007), written in one statement over
// arrays as the links are.

const (
	escrowCols = "job, kind, source_anchor, display, reference, failures, first_failed, last_failed, next_retry, " +
		"action, error_code, reason"
	escrowsSQL    = "SELECT " + escrowCols + " FROM provision_escrow WHERE job = $1 ORDER BY kind, source_anchor"
	putEscrowsSQL = "INSERT INTO provision_escrow (" + escrowCols + ") " +
		"SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::integer[], " +
		"$7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::text[], $11::text[], $12::text[]) " +
		"ON CONFLICT (job, kind, source_anchor) DO UPDATE SET display = excluded.display, " +
		"reference = excluded.reference, failures = excluded.failures, first_failed = excluded.first_failed, " +
		"last_failed = excluded.last_failed, next_retry = excluded.next_retry, action = excluded.action, " +
		"error_code = excluded.error_code, reason = excluded.reason"
	deleteEscrowsSQL = "DELETE FROM provision_escrow WHERE job = $1 AND kind = $2 AND source_anchor = ANY($3::text[])"
	clearEscrowsSQL  = "DELETE FROM provision_escrow WHERE job = $1"
)

// Escrows calls fn for each escrow entry of a job, as the rows arrive.
func (p provisioning) Escrows(ctx context.Context, job string, fn func(store.Escrow) error) error {
	const op = "list escrow"
	if p.s.closed.Load() {
		return store.ErrUnavailable
	}
	rows, err := p.s.pool.Query(ctx, escrowsSQL, job)
	if err != nil {
		return p.s.fail(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var e store.Escrow
		if err := rows.Scan(&e.Job, &e.Kind, &e.SourceAnchor, &e.Display, &e.Reference, &e.Failures,
			&e.FirstFailed, &e.LastFailed, &e.NextRetry, &e.Action, &e.ErrorCode, &e.Reason); err != nil {
			return p.s.fail(op, err)
		}
		e.FirstFailed, e.LastFailed, e.NextRetry = e.FirstFailed.UTC(), e.LastFailed.UTC(), e.NextRetry.UTC()
		if err := fn(e); err != nil {
			return err
		}
	}
	return p.s.fail(op, rows.Err())
}

// PutEscrows creates or replaces escrow entries in one statement.
func (pw provisionWriter) PutEscrows(ctx context.Context, es []store.Escrow) error {
	es, err := store.PrepareEscrows(es, provisionNow())
	if err != nil {
		return err
	}
	if len(es) == 0 {
		return nil
	}
	var (
		text     [7][]string
		refs     = make([]bool, len(es))
		failures = make([]int32, len(es))
		times    [3][]time.Time
	)
	for i := range text {
		text[i] = make([]string, len(es))
	}
	for i := range times {
		times[i] = make([]time.Time, len(es))
	}
	for i, e := range es {
		for c, v := range [...]string{e.Job, e.Kind, e.SourceAnchor, e.Display, e.Action, e.ErrorCode, e.Reason} {
			text[c][i] = v
		}
		refs[i], failures[i] = e.Reference, int32(e.Failures)
		times[0][i], times[1][i], times[2][i] = e.FirstFailed, e.LastFailed, e.NextRetry
	}
	return pw.w.exec(ctx, "put escrow", putEscrowsSQL, text[0], text[1], text[2], text[3], refs, failures,
		times[0], times[1], times[2], text[4], text[5], text[6])
}

// DeleteEscrows removes a job's escrow entries of a kind by source anchor.
func (pw provisionWriter) DeleteEscrows(ctx context.Context, job, kind string, anchors []string) (int, error) {
	const op = "delete escrow"
	if len(anchors) == 0 {
		return 0, ctx.Err()
	}
	if err := pw.w.begin(ctx); err != nil {
		return 0, pw.w.s.fail(op, err)
	}
	tag, err := pw.w.conn.Exec(ctx, deleteEscrowsSQL, job, kind, anchors)
	if err != nil {
		return 0, pw.w.s.fail(op+" of job "+job, err)
	}
	return int(tag.RowsAffected()), nil
}

// ClearEscrows removes every escrow entry of a job.
func (pw provisionWriter) ClearEscrows(ctx context.Context, job string) error {
	return pw.w.exec(ctx, "clear escrow of job "+job, clearEscrowsSQL, job)
}
