package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"

	"github.com/rosterhq/roster/internal/store"
)

// UserAgent is the User-Agent of every delivery request.
const UserAgent = "Roster-Webhooks/1"

// laneWorker works a lane's job: it delivers the lane's oldest pending
// deliveries as one request and, once they are delivered or dead, chains
// the lane's next job in the same transaction that completes this one.
type laneWorker struct {
	river.WorkerDefaults[laneArgs]
	s *Service
}

// Timeout bounds a job a little beyond its request.
func (w *laneWorker) Timeout(*river.Job[laneArgs]) time.Duration { return w.s.jobTimeout }

// batchItem is one delivery of a batch.
type batchItem struct {
	id       int64
	payload  string
	attempts int
}

// Work delivers one batch of the lane.
func (w *laneWorker) Work(ctx context.Context, job *river.Job[laneArgs]) error {
	s := w.s
	ep, err := s.store.Webhooks().Get(ctx, job.Args.Endpoint)
	if errors.Is(err, store.ErrNotFound) {
		// The endpoint is gone: its pending deliveries can never be made.
		return s.finish(ctx, job, outcome{state: stateDead, errText: "endpoint deleted", wholeLane: true})
	}
	if err != nil {
		return fmt.Errorf("get endpoint: %w", err)
	}
	if ep.Disabled {
		// Leave the lane without a job; the repair gives it one when the
		// endpoint is enabled again.
		return s.finish(ctx, job, outcome{})
	}
	batch, owner, err := s.loadBatch(ctx, job)
	if err != nil {
		return err
	}
	if !owner {
		// The lane was given another job (this one was thought lost):
		// that job delivers, this one ends.
		return nil
	}
	if len(batch) == 0 {
		return s.finish(ctx, job, outcome{chain: true})
	}
	msgID, body := message(ep.ID, batch)
	status, errText := s.post(ctx, ep, msgID, body)
	if ctx.Err() != nil {
		// The client is stopping (or, unlikely, the job outlived its
		// timeout): river makes the job available again, and the batch is
		// sent again by whoever runs it next.
		return ctx.Err()
	}
	if errText == "" {
		return s.finish(ctx, job, outcome{batch: batch, state: stateDelivered, status: status, chain: true})
	}
	maxAttempts := ep.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	// A batch's attempt is the job's, or more if the head delivery was
	// already tried by a job that was lost.
	attempt := max(job.Attempt, batch[0].attempts+1)
	if attempt >= maxAttempts {
		s.log.Warn("webhook batch dead after its last attempt", "endpoint", ep.ID, "lane", job.Args.Lane,
			"deliveries", len(batch), "attempts", attempt, "status", status, "err", errText)
		return s.finish(ctx, job, outcome{batch: batch, state: stateDead, status: status, errText: errText, chain: true})
	}
	if err := s.recordFailure(ctx, job, batch, status, errText); err != nil {
		return err
	}
	return fmt.Errorf("deliver to endpoint %s: %s", ep.ID, errText)
}

const (
	stateDelivered = "delivered"
	stateDead      = "dead"
)

// loadBatch reads the lane's oldest pending deliveries, at most MaxBatch;
// after a failed attempt, only those of that attempt's batch (up to the
// lane's batch_end), so that a retry resends the same message. It reports
// whether the job is still the lane's.
func (s *Service) loadBatch(ctx context.Context, job *river.Job[laneArgs]) ([]batchItem, bool, error) {
	var (
		jobID    sql.NullInt64
		batchEnd int64
	)
	err := s.jobs.db.QueryRowContext(ctx, s.jobs.rebind(
		"SELECT job_id, batch_end FROM webhook_lanes WHERE endpoint_id = ? AND lane = ?"),
		job.Args.Endpoint, job.Args.Lane).Scan(&jobID, &batchEnd)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (!jobID.Valid || jobID.Int64 != job.ID)) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read lane: %w", err)
	}
	const q = "SELECT id, payload, attempts FROM webhook_deliveries WHERE endpoint_id = ? AND lane = ? AND state = 'pending'"
	var batch []batchItem
	if batchEnd > 0 {
		if batch, err = s.queryBatch(ctx, q+" AND id <= ? ORDER BY id LIMIT ?", job.Args.Endpoint, job.Args.Lane, batchEnd, s.cfg.MaxBatch); err != nil || len(batch) > 0 {
			return batch, true, err
		}
	}
	batch, err = s.queryBatch(ctx, q+" ORDER BY id LIMIT ?", job.Args.Endpoint, job.Args.Lane, s.cfg.MaxBatch)
	return batch, true, err
}

func (s *Service) queryBatch(ctx context.Context, q string, args ...any) ([]batchItem, error) {
	rows, err := s.jobs.db.QueryContext(ctx, s.jobs.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("read batch: %w", err)
	}
	defer rows.Close()
	var batch []batchItem
	for rows.Next() {
		var b batchItem
		if err := rows.Scan(&b.id, &b.payload, &b.attempts); err != nil {
			return nil, fmt.Errorf("read batch: %w", err)
		}
		batch = append(batch, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read batch: %w", err)
	}
	return batch, nil
}

// message returns a batch's webhook-id and body. The body is
// {"events":[…]} with each event as the outbox stored it. The id is
// "msg_<first delivery id>_<16 hex digits of a SHA-256 over the endpoint
// and the batch's delivery ids>": a function of what the message carries,
// so every retry of a batch has the same id (a receiver that dedupes by it
// ignores a batch it already processed) and a message with other contents
// has another id.
func message(endpoint string, batch []batchItem) (string, []byte) {
	h := sha256.New()
	h.Write([]byte(endpoint))
	n := len(`{"events":[]}`)
	for _, b := range batch {
		h.Write([]byte{0})
		h.Write(strconv.AppendInt(nil, b.id, 10))
		n += len(b.payload) + 1
	}
	body := make([]byte, 0, n)
	body = append(body, `{"events":[`...)
	for i, b := range batch {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, b.payload...)
	}
	body = append(body, "]}"...)
	return "msg_" + strconv.FormatInt(batch[0].id, 10) + "_" + hex.EncodeToString(h.Sum(nil)[:8]), body
}

// post sends one signed request and returns its status and, unless it
// succeeded (2xx), why not.
func (s *Service) post(ctx context.Context, ep store.WebhookEndpoint, msgID string, body []byte) (int, string) {
	now := time.Now()
	sig, err := Sign(ep.Secret, msgID, now, body)
	if err != nil {
		return 0, "sign: " + err.Error()
	}
	rctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "request: " + err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(HeaderID, msgID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, ""
	}
	msg := "HTTP " + strconv.Itoa(resp.StatusCode)
	if t := strings.TrimSpace(string(snippet)); t != "" {
		msg += ": " + t
	}
	return resp.StatusCode, msg
}

// recordFailure records a failed attempt on the batch's deliveries and
// remembers the batch's extent, so that the retry resends the same batch;
// a job that is no longer its lane's records nothing.
func (s *Service) recordFailure(ctx context.Context, job *river.Job[laneArgs], batch []batchItem, status int, errText string) error {
	return s.jobs.tx(ctx, func(tx *sql.Tx) error {
		// The lane's row first, as every other transaction takes it.
		res, err := tx.ExecContext(ctx, s.jobs.rebind(
			"UPDATE webhook_lanes SET batch_end = ? WHERE endpoint_id = ? AND lane = ? AND job_id = ?"),
			batch[len(batch)-1].id, job.Args.Endpoint, job.Args.Lane, job.ID)
		if err != nil {
			return fmt.Errorf("record batch: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return s.updateBatch(ctx, tx, batch, "", status, errText)
	})
}

// outcome is how a job ends.
type outcome struct {
	batch     []batchItem
	state     string // the batch's new state; "" marks nothing
	status    int
	errText   string
	wholeLane bool // mark every pending delivery of the lane, not the batch
	chain     bool // give the lane its next job if it has more pending
}

// finish ends the job in one transaction: it marks the batch delivered or
// dead and, if the job is still the lane's, gives the lane its next job
// when it has more pending deliveries (and o.chain) or else leaves it
// without one; then it completes the job in the same transaction, so that
// no crash can complete a job without chaining the next one, nor chain one
// twice.
//
// A dead batch ends its job the same way, completed rather than discarded
// or cancelled: the dead letter is the deliveries' state, and the lane
// goes on with its next deliveries.
func (s *Service) finish(ctx context.Context, job *river.Job[laneArgs], o outcome) error {
	return s.jobs.tx(ctx, func(tx *sql.Tx) error {
		var jobID sql.NullInt64
		err := tx.QueryRowContext(ctx, s.jobs.rebind(
			"SELECT job_id FROM webhook_lanes WHERE endpoint_id = ? AND lane = ?"+s.jobs.forUpdate()),
			job.Args.Endpoint, job.Args.Lane).Scan(&jobID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("lock lane: %w", err)
		}
		owner := err == nil && jobID.Valid && jobID.Int64 == job.ID
		switch {
		case o.wholeLane && owner:
			if _, err := tx.ExecContext(ctx, s.jobs.rebind(
				"UPDATE webhook_deliveries SET state = ?, last_error = ? WHERE endpoint_id = ? AND lane = ? AND state = 'pending'"),
				o.state, o.errText, job.Args.Endpoint, job.Args.Lane); err != nil {
				return fmt.Errorf("update deliveries: %w", err)
			}
		case o.state != "":
			if err := s.updateBatch(ctx, tx, o.batch, o.state, o.status, o.errText); err != nil {
				return err
			}
		}
		if owner {
			var more int
			err := tx.QueryRowContext(ctx, s.jobs.rebind(
				"SELECT 1 FROM webhook_deliveries WHERE endpoint_id = ? AND lane = ? AND state = 'pending' LIMIT 1"),
				job.Args.Endpoint, job.Args.Lane).Scan(&more)
			switch {
			case err == nil && o.chain:
				if _, err := tx.ExecContext(ctx, s.jobs.rebind(
					"UPDATE webhook_lanes SET batch_end = 0 WHERE endpoint_id = ? AND lane = ?"),
					job.Args.Endpoint, job.Args.Lane); err != nil {
					return fmt.Errorf("update lane: %w", err)
				}
				if err := s.insertLaneJob(ctx, tx, job.Args.Endpoint, job.Args.Lane); err != nil {
					return err
				}
			case err == nil || errors.Is(err, sql.ErrNoRows):
				if _, err := tx.ExecContext(ctx, s.jobs.rebind(
					"UPDATE webhook_lanes SET job_id = NULL, batch_end = 0 WHERE endpoint_id = ? AND lane = ?"),
					job.Args.Endpoint, job.Args.Lane); err != nil {
					return fmt.Errorf("update lane: %w", err)
				}
			default:
				return fmt.Errorf("look for more deliveries: %w", err)
			}
		}
		if _, err := river.JobCompleteTx[riverdriver.Driver[*sql.Tx]](ctx, tx, job); err != nil {
			return fmt.Errorf("complete job: %w", err)
		}
		return nil
	})
}

// updateBatch records an attempt on a batch's deliveries that are still
// pending: state "" leaves them pending (a failed attempt).
func (s *Service) updateBatch(ctx context.Context, tx *sql.Tx, batch []batchItem, state string, status int, errText string) error {
	if len(batch) == 0 {
		return nil
	}
	var q strings.Builder
	args := make([]any, 0, 4+len(batch))
	q.WriteString("UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = ?, last_error = ?")
	args = append(args, status, cleanText(errText))
	if state != "" {
		q.WriteString(", state = ?")
		args = append(args, state)
	}
	if state == stateDelivered {
		q.WriteString(", delivered_at = ?")
		args = append(args, time.Now().UnixMicro())
	}
	q.WriteString(" WHERE state = 'pending' AND id IN (")
	for i, b := range batch {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("?")
		args = append(args, b.id)
	}
	q.WriteString(")")
	if _, err := tx.ExecContext(ctx, s.jobs.rebind(q.String()), args...); err != nil {
		return fmt.Errorf("update deliveries: %w", err)
	}
	return nil
}

// cleanText makes an error text safe to store: valid UTF-8 without NULs
// (PostgreSQL's text refuses both), at most 512 bytes.
func cleanText(s string) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) > 512 {
		s = s[:512]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}
