package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rosterhq/roster/internal/store"
)

// The engine's escrow (migration 0010): a few rows per failing object,
// written by the cycle at its end, read once at its start.

const (
	escrowCols     = "job, kind, source_anchor, display, reference, failures, first_failed, last_failed, next_retry, action, error_code, reason"
	escrowsSQL     = "SELECT " + escrowCols + " FROM provision_escrow WHERE job = ?1 ORDER BY kind, source_anchor"
	putEscrowsHead = "INSERT INTO provision_escrow (" + escrowCols + ") VALUES "
	putEscrowsTail = " ON CONFLICT (job, kind, source_anchor) DO UPDATE SET display = excluded.display, " +
		"reference = excluded.reference, failures = excluded.failures, first_failed = excluded.first_failed, " +
		"last_failed = excluded.last_failed, next_retry = excluded.next_retry, action = excluded.action, " +
		"error_code = excluded.error_code, reason = excluded.reason"
	deleteEscrowsSQL = "DELETE FROM provision_escrow WHERE job = ?1 AND kind = ?2 " +
		"AND source_anchor IN (SELECT value FROM json_each(?3))"
	clearEscrowsSQL = "DELETE FROM provision_escrow WHERE job = ?1"
)

// Escrows calls fn for each escrow entry of a job.
func (p provisioning) Escrows(ctx context.Context, job string, fn func(store.Escrow) error) error {
	const op = "list escrow"
	if p.s.closed.Load() {
		return store.ErrUnavailable
	}
	rows, err := p.s.rdb.QueryContext(ctx, escrowsSQL, job)
	return eachRow(p.s, op, rows, err, scanEscrow, fn)
}

func scanEscrow(row rowScanner) (store.Escrow, error) {
	var (
		e                 store.Escrow
		first, last, next string
	)
	if err := row.Scan(&e.Job, &e.Kind, &e.SourceAnchor, &e.Display, &e.Reference, &e.Failures,
		&first, &last, &next, &e.Action, &e.ErrorCode, &e.Reason); err != nil {
		return e, err
	}
	var err error
	for _, t := range []struct {
		dst *time.Time
		v   string
	}{{&e.FirstFailed, first}, {&e.LastFailed, last}, {&e.NextRetry, next}} {
		if *t.dst, err = parseTime(t.v); err != nil {
			return e, fmt.Errorf("escrow of job %s: %w", e.Job, err)
		}
	}
	return e, nil
}

// PutEscrows creates or replaces escrow entries, provisionChunk per
// statement.
func (pw provisionWriter) PutEscrows(ctx context.Context, es []store.Escrow) error {
	const op = "put escrow"
	es, err := store.PrepareEscrows(es, time.Now())
	if err != nil {
		return err
	}
	return putChunks(ctx, pw.w, op, putEscrowsHead, putEscrowsTail, 12, es, func(args []any, e store.Escrow) []any {
		return append(args, e.Job, e.Kind, e.SourceAnchor, e.Display, e.Reference, e.Failures,
			formatTime(e.FirstFailed), formatTime(e.LastFailed), formatTime(e.NextRetry), e.Action, e.ErrorCode, e.Reason)
	})
}

// DeleteEscrows removes a job's escrow entries of a kind by source anchor.
func (pw provisionWriter) DeleteEscrows(ctx context.Context, job, kind string, anchors []string) (int, error) {
	const op = "delete escrow"
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(anchors) == 0 {
		return 0, nil
	}
	list, err := json.Marshal(anchors)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	n, err := rowsAffected(pw.w.s.wconn.ExecContext(ctx, deleteEscrowsSQL, job, kind, string(list)))
	return int(n), pw.w.s.fail(op+" of job "+job, err)
}

// ClearEscrows removes every escrow entry of a job.
func (pw provisionWriter) ClearEscrows(ctx context.Context, job string) error {
	_, err := pw.w.s.wconn.ExecContext(ctx, clearEscrowsSQL, job)
	return pw.w.s.fail("clear escrow of job "+job, err)
}
