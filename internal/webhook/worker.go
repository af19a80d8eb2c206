package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"

	"github.com/rosterhq/roster/internal/jobs"
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

// NextRetry backs a failed batch off by the Service's retry policy, which
// river then uses instead of its own.
func (w *laneWorker) NextRetry(job *river.Job[laneArgs]) time.Time {
	return w.s.retry.NextRetry(job.JobRow)
}

// batchItem is one delivery of a batch.
type batchItem = jobs.BatchItem

// Work delivers one batch of the lane.
func (w *laneWorker) Work(ctx context.Context, job *river.Job[laneArgs]) error {
	s := w.s
	ep, err := s.store.Webhooks().Get(ctx, job.Args.Endpoint)
	if errors.Is(err, store.ErrNotFound) {
		// The endpoint is gone: its pending deliveries can never be made.
		return s.finish(ctx, job, outcome{state: StateDead, errText: "endpoint deleted", wholeLane: true})
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
		return s.finish(ctx, job, outcome{batch: batch, state: StateDelivered, status: status, chain: true})
	}
	maxAttempts := ep.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	// A batch's attempt is the job's, or more if the head delivery was
	// already tried by a job that was lost.
	attempt := max(job.Attempt, batch[0].Attempts+1)
	if attempt >= maxAttempts {
		s.log.Warn("webhook batch dead after its last attempt", "endpoint", ep.ID, "lane", job.Args.Lane,
			"deliveries", len(batch), "attempts", attempt, "status", status, "err", errText)
		return s.finish(ctx, job, outcome{batch: batch, state: StateDead, status: status, errText: errText, chain: true})
	}
	if err := s.recordFailure(ctx, job, batch, status, errText); err != nil {
		return err
	}
	return fmt.Errorf("deliver to endpoint %s: %s", ep.ID, errText)
}

// loadBatch reads the lane's oldest pending deliveries, at most MaxBatch;
// after a failed attempt, only those of that attempt's batch (up to the
// lane's batch_end), so that a retry resends the same message. It reports
// whether the job is still the lane's.
func (s *Service) loadBatch(ctx context.Context, job *river.Job[laneArgs]) ([]batchItem, bool, error) {
	l, found, err := s.deliveries.Lane(ctx, job.Args.Endpoint, job.Args.Lane)
	if err != nil {
		return nil, false, err
	}
	if !found || l.JobID != job.ID {
		return nil, false, nil
	}
	if l.BatchEnd > 0 {
		batch, err := s.deliveries.Batch(ctx, job.Args.Endpoint, job.Args.Lane, l.BatchEnd, s.cfg.MaxBatch)
		if err != nil || len(batch) > 0 {
			return batch, true, err
		}
	}
	batch, err := s.deliveries.Batch(ctx, job.Args.Endpoint, job.Args.Lane, 0, s.cfg.MaxBatch)
	return batch, true, err
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
		h.Write(strconv.AppendInt(nil, b.ID, 10))
		n += len(b.Payload) + 1
	}
	body := make([]byte, 0, n)
	body = append(body, `{"events":[`...)
	for i, b := range batch {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, b.Payload...)
	}
	body = append(body, "]}"...)
	return "msg_" + strconv.FormatInt(batch[0].ID, 10) + "_" + hex.EncodeToString(h.Sum(nil)[:8]), body
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
		return 0, requestError(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, ""
	}
	// Only the status, with its standard text rather than the receiver's
	// reason phrase: admins read last_error, and a URL pointed at an
	// internal service must not make Roster a way to read its answers.
	msg := "HTTP " + strconv.Itoa(resp.StatusCode)
	if t := http.StatusText(resp.StatusCode); t != "" {
		msg += " " + t
	}
	return resp.StatusCode, msg
}

// requestError says why a request got no response, without quoting
// anything the receiver sent: Go's transport puts the first bytes of an
// answer that is not HTTP into its error ("malformed HTTP response …"), so
// a URL pointed at an internal service (an SSH or Redis port) would
// otherwise show its banner to whoever reads last_error. Errors of the
// connection itself (refused, unreachable, a refused destination, TLS
// certificate problems, timeouts) are kept as they are.
func requestError(err error) string {
	var (
		opErr   *net.OpError
		certErr *tls.CertificateVerificationError
		hostErr x509.HostnameError
		caErr   x509.UnknownAuthorityError
		recErr  tls.RecordHeaderError
		netErr  net.Error
	)
	switch {
	case errors.Is(err, ErrDestination):
		var ue *url.Error
		if errors.As(err, &ue) {
			return ue.Err.Error()
		}
		return err.Error()
	case errors.As(err, &opErr):
		return opErr.Error()
	case errors.As(err, &certErr):
		return certErr.Error()
	case errors.As(err, &hostErr):
		return hostErr.Error()
	case errors.As(err, &caErr):
		return caErr.Error()
	case errors.As(err, &recErr):
		return recErr.Msg
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timed out waiting for the response"
	}
	return "the receiver's answer was not a valid HTTP response"
}

// recordFailure records a failed attempt on the batch's deliveries and
// remembers the batch's extent, so that the retry resends the same batch;
// a job that is no longer its lane's records nothing.
func (s *Service) recordFailure(ctx context.Context, job *river.Job[laneArgs], batch []batchItem, status int, errText string) error {
	return s.host.Tx(ctx, func(tx *sql.Tx) error {
		// The lane's row first, as every other transaction takes it.
		owner, err := s.deliveries.SetLaneBatchEnd(ctx, tx, job.Args.Endpoint, job.Args.Lane, job.ID, batch[len(batch)-1].ID)
		if err != nil || !owner {
			return err
		}
		return s.deliveries.RecordAttempt(ctx, tx, batchIDs(batch), "", status, errText)
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
	return s.host.Tx(ctx, func(tx *sql.Tx) error {
		endpoint, lane := job.Args.Endpoint, job.Args.Lane
		l, found, err := s.deliveries.LockLane(ctx, tx, endpoint, lane, false)
		if err != nil {
			return err
		}
		owner := found && l.JobID == job.ID
		switch {
		case o.wholeLane && owner:
			if err := s.deliveries.EndLane(ctx, tx, endpoint, lane, o.state, o.errText); err != nil {
				return err
			}
		case o.state != "":
			if err := s.deliveries.RecordAttempt(ctx, tx, batchIDs(o.batch), o.state, o.status, o.errText); err != nil {
				return err
			}
		}
		if owner {
			more, err := s.deliveries.HasPending(ctx, tx, endpoint, lane)
			if err != nil {
				return err
			}
			if more && o.chain {
				if err := s.deliveries.ClearLaneBatch(ctx, tx, endpoint, lane); err != nil {
					return err
				}
				if err := s.insertLaneJob(ctx, tx, endpoint, lane); err != nil {
					return err
				}
			} else if err := s.deliveries.ReleaseLane(ctx, tx, endpoint, lane); err != nil {
				return err
			}
		}
		if _, err := river.JobCompleteTx[riverdriver.Driver[*sql.Tx]](ctx, tx, job); err != nil {
			return fmt.Errorf("complete job of webhook lane %s/%d: %w", endpoint, lane, err)
		}
		return nil
	})
}

// batchIDs returns the ids of a batch's deliveries.
func batchIDs(batch []batchItem) []int64 {
	ids := make([]int64, len(batch))
	for i, b := range batch {
		ids[i] = b.ID
	}
	return ids
}
