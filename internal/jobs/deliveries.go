package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Delivery states.
const (
	StatePending   = "pending"
	StateDelivered = "delivered"
	StateDead      = "dead"
)

// Delivery is one event's delivery to one webhook endpoint.
type Delivery struct {
	ID         int64
	Endpoint   string
	Tenant     string
	Lane       int
	EventID    string
	EventType  string
	State      string // StatePending, StateDelivered or StateDead
	Attempts   int
	LastStatus int    // HTTP status of the last attempt; 0 if it got none
	LastError  string // why the last attempt failed; "" if it did not
	Created    time.Time
	Delivered  *time.Time
}

// DeliveryQuery selects deliveries, oldest first. Every field is optional.
type DeliveryQuery struct {
	Tenant   string
	Endpoint string
	State    string
	After    int64 // deliveries with ID > After (the paging cursor)
	Limit    int   // 0 means 100, capped at 1000
}

// NewDelivery is a pending delivery to insert: an outbox event for an
// endpoint's lane, with the JSON the request will carry.
type NewDelivery struct {
	Endpoint    string
	Tenant      string
	Lane        int
	EventID     string
	EventType   string
	EventCursor string
	EventTime   time.Time
	Payload     []byte
}

// BatchItem is a pending delivery as a lane's job sends it.
type BatchItem struct {
	ID       int64
	Payload  string
	Attempts int
}

// Lane is a lane's row: the river job that serves it (0 for none) and,
// after a failed attempt, the last delivery of the batch its retry resends
// (0 for none).
type Lane struct {
	Endpoint string
	Lane     int
	JobID    int64
	BatchEnd int64
}

// DeadFilter selects dead deliveries to redeliver: those of Tenant ("" for
// any) and Endpoint ("" for any) and, when IDs is not empty, of IDs.
type DeadFilter struct {
	Tenant   string
	Endpoint string
	IDs      []int64
}

// ErrCursorMoved is returned by AdvanceCursor when the cursor is no longer
// the one the caller read: another dispatcher moved it.
var ErrCursorMoved = errors.New("webhook cursor moved by another dispatcher")

// MaxErrorText is the most bytes of an error text a delivery keeps.
const MaxErrorText = 512

// DeliveryStore is the storage of webhook delivery in the jobs database:
// the deliveries themselves (webhook_deliveries), each endpoint's dispatch
// cursor into the outbox (webhook_cursors) and each lane's job
// (webhook_lanes). It is a thin translation to SQL: the policy (which
// lane, when a batch is dead, when a lane needs a job) is the webhook
// package's. Methods that take a *sql.Tx run in the caller's transaction
// of the same jobs database, so that what they write commits or rolls back
// with the river job inserted or completed there. Its behaviour on both
// dialects is pinned by jobstest.
type DeliveryStore struct {
	db *sql.DB
	d  Dialect
}

// Cursor returns the endpoint's dispatch cursor, and whether it has one.
func (s *DeliveryStore) Cursor(ctx context.Context, endpoint string) (string, bool, error) {
	var cur string
	err := s.db.QueryRowContext(ctx, s.d.Rebind("SELECT cursor FROM webhook_cursors WHERE endpoint_id = ?"), endpoint).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read webhook cursor of %s: %w", endpoint, err)
	}
	return cur, true, nil
}

// AdvanceCursor moves the endpoint's cursor from from to to, in tx, if it
// is still from (or, with !known, if the endpoint has none yet); otherwise
// it returns ErrCursorMoved. The compare-and-swap is what lets only one of
// two dispatchers that read the same cursor dispatch the events after it.
func (s *DeliveryStore) AdvanceCursor(ctx context.Context, tx *sql.Tx, endpoint, from string, known bool, to string) error {
	now := time.Now().UnixMicro()
	var (
		res sql.Result
		err error
	)
	if known {
		res, err = tx.ExecContext(ctx, s.d.Rebind(
			"UPDATE webhook_cursors SET cursor = ?, updated = ? WHERE endpoint_id = ? AND cursor = ?"),
			to, now, endpoint, from)
	} else {
		res, err = tx.ExecContext(ctx, s.d.Rebind(
			"INSERT INTO webhook_cursors (endpoint_id, cursor, updated) VALUES (?, ?, ?) ON CONFLICT (endpoint_id) DO NOTHING"),
			endpoint, to, now)
	}
	if err != nil {
		return fmt.Errorf("advance webhook cursor of %s: %w", endpoint, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("advance webhook cursor of %s: %w", endpoint, err)
	}
	if n != 1 {
		return ErrCursorMoved
	}
	return nil
}

// Insert inserts pending deliveries in tx, several rows a statement, with
// ids increasing in the order of ds.
func (s *DeliveryStore) Insert(ctx context.Context, tx *sql.Tx, ds []NewDelivery) error {
	const cols, perStmt = 9, 50
	now := time.Now().UnixMicro()
	for len(ds) > 0 {
		chunk := ds[:min(len(ds), perStmt)]
		ds = ds[len(chunk):]
		var q strings.Builder
		q.WriteString("INSERT INTO webhook_deliveries (endpoint_id, tenant, lane, event_id, event_type, event_cursor, event_time, payload, created) VALUES ")
		args := make([]any, 0, cols*len(chunk))
		for i, d := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, d.Endpoint, d.Tenant, d.Lane, d.EventID, d.EventType, d.EventCursor,
				d.EventTime.UnixMicro(), string(d.Payload), now)
		}
		if _, err := tx.ExecContext(ctx, s.d.Rebind(q.String()), args...); err != nil {
			return fmt.Errorf("insert webhook deliveries: %w", err)
		}
	}
	return nil
}

// Lane reads the lane's row without locking it; found is false if the
// lane has none.
func (s *DeliveryStore) Lane(ctx context.Context, endpoint string, lane int) (l Lane, found bool, err error) {
	return s.readLane(ctx, s.db, endpoint, lane, "")
}

// LockLane reads the lane's row in tx and locks it until tx ends (on
// SQLite the IMMEDIATE transaction holds the file's lock already). With
// create, a missing row is inserted first, so the lane is always found.
// Every transaction that decides a lane's job takes this lock first, which
// is what orders the dispatcher, the repair, a finishing worker and
// Redeliver on a lane.
func (s *DeliveryStore) LockLane(ctx context.Context, tx *sql.Tx, endpoint string, lane int, create bool) (l Lane, found bool, err error) {
	if create {
		if _, err := tx.ExecContext(ctx, s.d.Rebind(
			"INSERT INTO webhook_lanes (endpoint_id, lane) VALUES (?, ?) ON CONFLICT (endpoint_id, lane) DO NOTHING"),
			endpoint, lane); err != nil {
			return Lane{}, false, fmt.Errorf("insert webhook lane %s/%d: %w", endpoint, lane, err)
		}
	}
	return s.readLane(ctx, tx, endpoint, lane, s.d.ForUpdate())
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *DeliveryStore) readLane(ctx context.Context, q queryRower, endpoint string, lane int, lock string) (Lane, bool, error) {
	l := Lane{Endpoint: endpoint, Lane: lane}
	var job sql.NullInt64
	err := q.QueryRowContext(ctx, s.d.Rebind(
		"SELECT job_id, batch_end FROM webhook_lanes WHERE endpoint_id = ? AND lane = ?"+lock),
		endpoint, lane).Scan(&job, &l.BatchEnd)
	if errors.Is(err, sql.ErrNoRows) {
		return l, false, nil
	}
	if err != nil {
		return l, false, fmt.Errorf("read webhook lane %s/%d: %w", endpoint, lane, err)
	}
	l.JobID = job.Int64
	return l, true, nil
}

// SetLaneJob records jobID as the lane's job, in tx. The lane's batch_end
// is kept: a job that replaces a lost one resends the lost one's batch.
func (s *DeliveryStore) SetLaneJob(ctx context.Context, tx *sql.Tx, endpoint string, lane int, jobID int64) error {
	if _, err := tx.ExecContext(ctx, s.d.Rebind(
		"UPDATE webhook_lanes SET job_id = ? WHERE endpoint_id = ? AND lane = ?"),
		jobID, endpoint, lane); err != nil {
		return fmt.Errorf("record job of webhook lane %s/%d: %w", endpoint, lane, err)
	}
	return nil
}

// ClearLaneBatch forgets the lane's batch_end, in tx: its next job sends
// the lane's oldest pending deliveries, whatever the last batch was.
func (s *DeliveryStore) ClearLaneBatch(ctx context.Context, tx *sql.Tx, endpoint string, lane int) error {
	if _, err := tx.ExecContext(ctx, s.d.Rebind(
		"UPDATE webhook_lanes SET batch_end = 0 WHERE endpoint_id = ? AND lane = ?"),
		endpoint, lane); err != nil {
		return fmt.Errorf("update webhook lane %s/%d: %w", endpoint, lane, err)
	}
	return nil
}

// ReleaseLane leaves the lane without a job and without a batch_end, in tx.
func (s *DeliveryStore) ReleaseLane(ctx context.Context, tx *sql.Tx, endpoint string, lane int) error {
	if _, err := tx.ExecContext(ctx, s.d.Rebind(
		"UPDATE webhook_lanes SET job_id = NULL, batch_end = 0 WHERE endpoint_id = ? AND lane = ?"),
		endpoint, lane); err != nil {
		return fmt.Errorf("release webhook lane %s/%d: %w", endpoint, lane, err)
	}
	return nil
}

// SetLaneBatchEnd records end as the last delivery of the lane's current
// batch, in tx, if jobID is still the lane's job, and reports whether it
// was.
func (s *DeliveryStore) SetLaneBatchEnd(ctx context.Context, tx *sql.Tx, endpoint string, lane int, jobID, end int64) (bool, error) {
	res, err := tx.ExecContext(ctx, s.d.Rebind(
		"UPDATE webhook_lanes SET batch_end = ? WHERE endpoint_id = ? AND lane = ? AND job_id = ?"),
		end, endpoint, lane, jobID)
	if err != nil {
		return false, fmt.Errorf("record batch of webhook lane %s/%d: %w", endpoint, lane, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record batch of webhook lane %s/%d: %w", endpoint, lane, err)
	}
	return n > 0, nil
}

// Batch returns the lane's oldest pending deliveries, at most limit, and
// with upTo > 0 only those with ids up to upTo.
func (s *DeliveryStore) Batch(ctx context.Context, endpoint string, lane int, upTo int64, limit int) ([]BatchItem, error) {
	q := "SELECT id, payload, attempts FROM webhook_deliveries WHERE endpoint_id = ? AND lane = ? AND state = 'pending'"
	args := []any{endpoint, lane}
	if upTo > 0 {
		q += " AND id <= ?"
		args = append(args, upTo)
	}
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, s.d.Rebind(q+" ORDER BY id LIMIT ?"), args...)
	if err != nil {
		return nil, fmt.Errorf("read batch of webhook lane %s/%d: %w", endpoint, lane, err)
	}
	defer rows.Close()
	var batch []BatchItem
	for rows.Next() {
		var b BatchItem
		if err := rows.Scan(&b.ID, &b.Payload, &b.Attempts); err != nil {
			return nil, fmt.Errorf("read batch of webhook lane %s/%d: %w", endpoint, lane, err)
		}
		batch = append(batch, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read batch of webhook lane %s/%d: %w", endpoint, lane, err)
	}
	return batch, nil
}

// HasPending reports, in tx, whether the lane has a pending delivery.
func (s *DeliveryStore) HasPending(ctx context.Context, tx *sql.Tx, endpoint string, lane int) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, s.d.Rebind(
		"SELECT 1 FROM webhook_deliveries WHERE endpoint_id = ? AND lane = ? AND state = 'pending' LIMIT 1"),
		endpoint, lane).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look for pending deliveries of webhook lane %s/%d: %w", endpoint, lane, err)
	}
	return true, nil
}

// RecordAttempt records an attempt on those deliveries of ids that are
// still pending, in tx: attempts + 1, the status and error text (made
// storable: valid UTF-8 without NULs, at most MaxErrorText bytes), and
// the new state, StateDelivered (with the time) or StateDead; "" leaves
// them pending (a failed attempt).
func (s *DeliveryStore) RecordAttempt(ctx context.Context, tx *sql.Tx, ids []int64, state string, status int, errText string) error {
	if len(ids) == 0 {
		return nil
	}
	var q strings.Builder
	args := make([]any, 0, 4+len(ids))
	q.WriteString("UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = ?, last_error = ?")
	args = append(args, status, cleanText(errText))
	if state != "" {
		q.WriteString(", state = ?")
		args = append(args, state)
	}
	if state == StateDelivered {
		q.WriteString(", delivered_at = ?")
		args = append(args, time.Now().UnixMicro())
	}
	q.WriteString(" WHERE state = 'pending' AND id IN (?" + strings.Repeat(", ?", len(ids)-1) + ")")
	for _, id := range ids {
		args = append(args, id)
	}
	if _, err := tx.ExecContext(ctx, s.d.Rebind(q.String()), args...); err != nil {
		return fmt.Errorf("update webhook deliveries: %w", err)
	}
	return nil
}

// EndLane puts every pending delivery of the lane in state with errText,
// in tx, without counting an attempt (the endpoint was deleted).
func (s *DeliveryStore) EndLane(ctx context.Context, tx *sql.Tx, endpoint string, lane int, state, errText string) error {
	if _, err := tx.ExecContext(ctx, s.d.Rebind(
		"UPDATE webhook_deliveries SET state = ?, last_error = ? WHERE endpoint_id = ? AND lane = ? AND state = 'pending'"),
		state, cleanText(errText), endpoint, lane); err != nil {
		return fmt.Errorf("update deliveries of webhook lane %s/%d: %w", endpoint, lane, err)
	}
	return nil
}

// List lists deliveries.
func (s *DeliveryStore) List(ctx context.Context, q DeliveryQuery) ([]Delivery, error) {
	var (
		where []string
		args  []any
	)
	for _, c := range []struct {
		col, val string
	}{{"tenant", q.Tenant}, {"endpoint_id", q.Endpoint}, {"state", q.State}} {
		if c.val != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	where = append(where, "id > ?")
	args = append(args, q.After)
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, min(limit, 1000))
	rows, err := s.db.QueryContext(ctx, s.d.Rebind(`SELECT id, endpoint_id, tenant, lane, event_id, event_type,
		state, attempts, last_status, last_error, created, delivered_at
		FROM webhook_deliveries WHERE `+strings.Join(where, " AND ")+" ORDER BY id LIMIT ?"), args...)
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	defer rows.Close()
	var ds []Delivery
	for rows.Next() {
		var (
			d         Delivery
			created   int64
			delivered sql.NullInt64
		)
		if err := rows.Scan(&d.ID, &d.Endpoint, &d.Tenant, &d.Lane, &d.EventID, &d.EventType,
			&d.State, &d.Attempts, &d.LastStatus, &d.LastError, &created, &delivered); err != nil {
			return nil, fmt.Errorf("list webhook deliveries: %w", err)
		}
		d.Created = time.UnixMicro(created).UTC()
		if delivered.Valid {
			t := time.UnixMicro(delivered.Int64).UTC()
			d.Delivered = &t
		}
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	return ds, nil
}

// where returns f's condition and arguments.
func (f DeadFilter) where() (string, []any) {
	var (
		where = []string{"state = 'dead'"}
		args  []any
	)
	if f.Tenant != "" {
		where = append(where, "tenant = ?")
		args = append(args, f.Tenant)
	}
	if f.Endpoint != "" {
		where = append(where, "endpoint_id = ?")
		args = append(args, f.Endpoint)
	}
	if len(f.IDs) > 0 {
		where = append(where, "id IN (?"+strings.Repeat(", ?", len(f.IDs)-1)+")")
		for _, id := range f.IDs {
			args = append(args, id)
		}
	}
	return strings.Join(where, " AND "), args
}

// DeadLanes returns the lanes (Endpoint and Lane only) that have dead
// deliveries f selects, in tx, ordered by endpoint and lane: the order in
// which every transaction that locks several lanes takes them.
func (s *DeliveryStore) DeadLanes(ctx context.Context, tx *sql.Tx, f DeadFilter) ([]Lane, error) {
	cond, args := f.where()
	rows, err := tx.QueryContext(ctx, s.d.Rebind(
		"SELECT DISTINCT endpoint_id, lane FROM webhook_deliveries WHERE "+cond+" ORDER BY endpoint_id, lane"), args...)
	if err != nil {
		return nil, fmt.Errorf("find dead webhook deliveries: %w", err)
	}
	defer rows.Close()
	var lanes []Lane
	for rows.Next() {
		var l Lane
		if err := rows.Scan(&l.Endpoint, &l.Lane); err != nil {
			return nil, fmt.Errorf("find dead webhook deliveries: %w", err)
		}
		lanes = append(lanes, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find dead webhook deliveries: %w", err)
	}
	return lanes, nil
}

// Requeue puts the dead deliveries f selects back to pending with their
// attempts reset, in tx, and returns how many.
func (s *DeliveryStore) Requeue(ctx context.Context, tx *sql.Tx, f DeadFilter) (int, error) {
	cond, args := f.where()
	res, err := tx.ExecContext(ctx, s.d.Rebind("UPDATE webhook_deliveries SET state = 'pending', attempts = 0 WHERE "+cond), args...)
	if err != nil {
		return 0, fmt.Errorf("requeue dead webhook deliveries: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("requeue dead webhook deliveries: %w", err)
	}
	return int(n), nil
}

// StartRedelivery claims redelivery request id for tx: the first claim
// inserts its row and reports first; a later one (the request was carried
// out already) reports how many deliveries it put back then.
func (s *DeliveryStore) StartRedelivery(ctx context.Context, tx *sql.Tx, id string, now time.Time) (first bool, redelivered int, err error) {
	res, err := tx.ExecContext(ctx, s.d.Rebind(
		"INSERT INTO webhook_redeliveries_applied (id, applied) VALUES (?, ?) ON CONFLICT (id) DO NOTHING"), id, now.UnixMicro())
	if err != nil {
		return false, 0, fmt.Errorf("claim webhook redelivery %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err == nil, 0, err
	}
	err = tx.QueryRowContext(ctx, s.d.Rebind("SELECT redelivered FROM webhook_redeliveries_applied WHERE id = ?"), id).Scan(&redelivered)
	if err != nil {
		return false, 0, fmt.Errorf("read webhook redelivery %s: %w", id, err)
	}
	return false, redelivered, nil
}

// FinishRedelivery records how many deliveries request id put back.
func (s *DeliveryStore) FinishRedelivery(ctx context.Context, tx *sql.Tx, id string, redelivered int) error {
	_, err := tx.ExecContext(ctx, s.d.Rebind("UPDATE webhook_redeliveries_applied SET redelivered = ? WHERE id = ?"), redelivered, id)
	if err != nil {
		return fmt.Errorf("record webhook redelivery %s: %w", id, err)
	}
	return nil
}

// PurgeRedeliveries forgets at most limit requests carried out before
// before (their requests are deleted from Roster's database right after)
// and returns how many.
func (s *DeliveryStore) PurgeRedeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := s.db.ExecContext(ctx, s.d.Rebind(`DELETE FROM webhook_redeliveries_applied WHERE id IN (
		SELECT id FROM webhook_redeliveries_applied WHERE applied < ? LIMIT ?)`), before.UnixMicro(), limit)
	if err != nil {
		return 0, fmt.Errorf("purge webhook redeliveries: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge webhook redeliveries: %w", err)
	}
	return int(n), nil
}

// LanesWithWork returns every lane that has a pending delivery, with its
// job: one indexed query however many lanes there are, for the repair that
// looks for lanes whose job was lost.
func (s *DeliveryStore) LanesWithWork(ctx context.Context) ([]Lane, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT l.endpoint_id, l.lane, l.job_id, l.batch_end FROM webhook_lanes l
		WHERE EXISTS (SELECT 1 FROM webhook_deliveries d
			WHERE d.endpoint_id = l.endpoint_id AND d.lane = l.lane AND d.state = 'pending')
		ORDER BY l.endpoint_id, l.lane`)
	if err != nil {
		return nil, fmt.Errorf("find webhook lanes with work: %w", err)
	}
	defer rows.Close()
	var lanes []Lane
	for rows.Next() {
		var (
			l   Lane
			job sql.NullInt64
		)
		if err := rows.Scan(&l.Endpoint, &l.Lane, &job, &l.BatchEnd); err != nil {
			return nil, fmt.Errorf("find webhook lanes with work: %w", err)
		}
		l.JobID = job.Int64
		lanes = append(lanes, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find webhook lanes with work: %w", err)
	}
	return lanes, nil
}

// Purge deletes at most limit delivered deliveries created before before,
// and returns how many it deleted. Pending and dead ones are kept.
func (s *DeliveryStore) Purge(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := s.db.ExecContext(ctx, s.d.Rebind(`DELETE FROM webhook_deliveries WHERE id IN (
		SELECT id FROM webhook_deliveries WHERE state = 'delivered' AND created < ? LIMIT ?)`), before.UnixMicro(), limit)
	if err != nil {
		return 0, fmt.Errorf("purge webhook deliveries: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge webhook deliveries: %w", err)
	}
	return int(n), nil
}

// cleanText makes an error text storable: valid UTF-8 without NULs
// (PostgreSQL's text refuses both), at most MaxErrorText bytes.
func cleanText(s string) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) > MaxErrorText {
		s = s[:MaxErrorText]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}
