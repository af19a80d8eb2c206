package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/store"
)

// The provisioning engine's state (migration 0009). Links and log entries
// are written many hundred at a time, with multi-row statements of at most
// provisionChunk rows, each prepared once on the write connection.

// provisionChunk is the most rows one INSERT writes: 100 log entries bind
// 1,600 parameters, well under SQLite's limit of 32,766, and the statement
// for a full chunk is prepared once and reused.
const provisionChunk = 100

const (
	linkCols  = "job, kind, source_anchor, target_id, display, state, hash, created, updated"
	stateCols = "job, watermarks, next_run, cycle, updated, quarantine, notified, totals"
	cycleCols = "id, job, initial, dry_run, started, ended, status, stats, error"
	logCols   = "seq, job, cycle, change, time, kind, source_anchor, source_name, target_id, action, status, " +
		"steps, modified, error_code, reason, duration"
	// logInsertCols are the columns AppendLogs writes, in its order.
	logInsertCols = "job, cycle, change, time, kind, source_anchor, source_name, source_name_fold, target_id, " +
		"action, status, steps, modified, error_code, reason, duration"

	provisionStateSQL = "SELECT " + stateCols + " FROM provision_state WHERE job = ?1"
	putStateSQL       = "INSERT INTO provision_state (" + stateCols + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) " +
		"ON CONFLICT (job) DO UPDATE SET watermarks = excluded.watermarks, next_run = excluded.next_run, " +
		"cycle = excluded.cycle, updated = excluded.updated, quarantine = excluded.quarantine, notified = excluded.notified, " +
		"totals = excluded.totals"
	linkSQL         = "SELECT " + linkCols + " FROM provision_links WHERE job = ?1 AND kind = ?2 AND source_anchor = ?3"
	linkByTargetSQL = "SELECT " + linkCols + " FROM provision_links WHERE job = ?1 AND kind = ?2 AND target_id = ?3 " +
		"ORDER BY source_anchor LIMIT 1"
	linksSQL     = "SELECT " + linkCols + " FROM provision_links WHERE job = ?1 ORDER BY kind, source_anchor"
	linksKindSQL = "SELECT " + linkCols + " FROM provision_links WHERE job = ?1 AND kind = ?2 ORDER BY source_anchor"
	// putLinksConflict turns each row of a multi-row insert into a replace.
	putLinksConflict = " ON CONFLICT (job, kind, source_anchor) DO UPDATE SET target_id = excluded.target_id, " +
		"display = excluded.display, state = excluded.state, hash = excluded.hash, created = excluded.created, " +
		"updated = excluded.updated"
	deleteLinksSQL = "DELETE FROM provision_links WHERE job = ?1 AND kind = ?2 " +
		"AND source_anchor IN (SELECT value FROM json_each(?3))"
	cycleSQL    = "SELECT " + cycleCols + " FROM provision_cycles WHERE id = ?1"
	cyclesSQL   = "SELECT " + cycleCols + " FROM provision_cycles WHERE job = ?1 ORDER BY started DESC, id DESC LIMIT ?2"
	putCycleSQL = "INSERT INTO provision_cycles (" + cycleCols + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) " +
		"ON CONFLICT (id) DO UPDATE SET job = excluded.job, initial = excluded.initial, dry_run = excluded.dry_run, " +
		"started = excluded.started, ended = excluded.ended, status = excluded.status, stats = excluded.stats, " +
		"error = excluded.error"
	// purgeLogsSQL deletes the rows older than ?1 among the oldest ?2 by
	// seq, as retention of the history does: the engine stamps entries as
	// it appends them, so seq follows time, and a purge needs no index on
	// time to keep up on 100,000 appends per cycle.
	purgeLogsSQL = "DELETE FROM provision_logs WHERE seq IN " +
		"(SELECT seq FROM (SELECT seq, time FROM provision_logs ORDER BY seq LIMIT ?2) WHERE time < ?1)"
	purgeCyclesSQL = "DELETE FROM provision_cycles WHERE id IN " +
		"(SELECT id FROM provision_cycles WHERE ended IS NOT NULL AND ended < ?1 ORDER BY ended LIMIT ?2)"
)

// deleteProvisionJobSQL removes everything the engine kept for job ?1.
var deleteProvisionJobSQL = [...]string{
	"DELETE FROM provision_links WHERE job = ?1",
	"DELETE FROM provision_state WHERE job = ?1",
	"DELETE FROM provision_cycles WHERE job = ?1",
	"DELETE FROM provision_logs WHERE job = ?1",
	"DELETE FROM provision_escrow WHERE job = ?1",
	"DELETE FROM provision_records WHERE job = ?1",
	"DELETE FROM provision_push_tokens WHERE job = ?1",
}

// Provisioning returns the store of the provisioning engine's state.
func (s *Store) Provisioning() store.ProvisionStore { return provisioning{s} }

// provisioning implements store.ProvisionStore on the read pool.
type provisioning struct{ s *Store }

// State returns a job's state, or a zero one with Job set.
func (p provisioning) State(ctx context.Context, job string) (store.ProvisionState, error) {
	if p.s.closed.Load() {
		return store.ProvisionState{}, store.ErrUnavailable
	}
	return scanStateRow(p.s, job, p.s.rs.provisionState.QueryRowContext(ctx, job))
}

// Link returns the link of a source object.
func (p provisioning) Link(ctx context.Context, job, kind, sourceAnchor string) (store.Link, error) {
	return p.one(ctx, p.s.rs.link, "get link", job, kind, sourceAnchor)
}

// LinkByTarget returns the link to a target object.
func (p provisioning) LinkByTarget(ctx context.Context, job, kind, targetID string) (store.Link, error) {
	return p.one(ctx, p.s.rs.linkByTarget, "get link by target", job, kind, targetID)
}

func (p provisioning) one(ctx context.Context, st *sql.Stmt, op, job, kind, id string) (store.Link, error) {
	if p.s.closed.Load() {
		return store.Link{}, store.ErrUnavailable
	}
	l, err := scanLink(st.QueryRowContext(ctx, job, kind, id))
	if err != nil {
		return store.Link{}, p.s.notFound(op+" of job "+job, kind+" "+id, err)
	}
	return l, nil
}

// Links calls fn for each link of a job (and kind), as the rows arrive.
func (p provisioning) Links(ctx context.Context, job, kind string, fn func(store.Link) error) error {
	const op = "list links"
	if p.s.closed.Load() {
		return store.ErrUnavailable
	}
	var (
		rows *sql.Rows
		err  error
	)
	if kind == "" {
		rows, err = p.s.rs.links.QueryContext(ctx, job)
	} else {
		rows, err = p.s.rs.linksKind.QueryContext(ctx, job, kind)
	}
	return eachRow(p.s, op, rows, err, scanLink, fn)
}

// eachRow calls fn with each row of a query as scan reads it, and closes
// the rows; err is the query's own error.
func eachRow[T any](s *Store, op string, rows *sql.Rows, err error, scan func(rowScanner) (T, error), fn func(T) error) error {
	if err != nil {
		return s.fail(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return s.fail(op, err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return s.fail(op, rows.Err())
}

// Cycle returns one cycle.
func (p provisioning) Cycle(ctx context.Context, id string) (store.ProvisionCycle, error) {
	return get(ctx, p.s, p.s.rs.cycle, "get cycle", id, scanCycle)
}

// Cycles returns a job's latest cycles, newest first.
func (p provisioning) Cycles(ctx context.Context, job string, limit int) ([]store.ProvisionCycle, error) {
	return list(ctx, p.s, p.s.rs.cycles, "list cycles of job "+job, scanCycle, job, store.CyclesLimit(limit))
}

// Logs returns the log entries q selects, in seq order.
func (p provisioning) Logs(ctx context.Context, q store.ProvisionLogQuery) ([]store.ProvisionLog, error) {
	const op = "list provisioning log"
	if p.s.closed.Load() {
		return nil, store.ErrUnavailable
	}
	query, args := provisionLogsSQL(q)
	rows, err := p.s.query(ctx, query, args)
	if err != nil {
		return nil, p.s.fail(op, err)
	}
	defer rows.Close()
	var out []store.ProvisionLog
	for rows.Next() {
		l, err := scanLog(rows)
		if err != nil {
			return nil, p.s.fail(op, err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, p.s.fail(op, err)
	}
	return out, nil
}

// provisionLogsSQL builds the query of q. An Object compares three columns,
// each the second of an index that starts with the job.
func provisionLogsSQL(q store.ProvisionLogQuery) (string, []any) {
	var b strings.Builder
	args := []any{q.Job}
	b.WriteString("SELECT " + logCols + " FROM provision_logs WHERE job = ?1")
	arg := func(v any) string {
		args = append(args, v)
		return "?" + strconv.Itoa(len(args))
	}
	for _, c := range []struct{ col, v string }{{"cycle", q.Cycle}, {"status", q.Status}, {"action", q.Action}} {
		if c.v != "" {
			b.WriteString(" AND " + c.col + " = " + arg(c.v))
		}
	}
	if q.Object != "" {
		o := arg(q.Object)
		b.WriteString(" AND (source_anchor = " + o + " OR target_id = " + o + " OR source_name_fold = " + arg(filter.Fold(q.Object)) + ")")
	}
	if !q.Since.IsZero() {
		b.WriteString(" AND time >= " + arg(formatTime(q.Since)))
	}
	if !q.Until.IsZero() {
		b.WriteString(" AND time < " + arg(formatTime(q.Until)))
	}
	if q.After > 0 {
		b.WriteString(" AND seq > " + arg(q.After))
	}
	b.WriteString(" ORDER BY seq LIMIT " + arg(q.EffectiveLimit()))
	return b.String(), args
}

// PurgeLogs deletes up to limit log entries, and then ended cycles, older
// than before, in one write.
func (p provisioning) PurgeLogs(ctx context.Context, before time.Time, limit int) (int64, error) {
	const op = "purge provisioning log"
	limit = store.PurgeLimit(limit)
	cutoff := formatTime(before)
	var n int64
	err := p.s.write(ctx, func(w *writer) error {
		logs, err := rowsAffected(w.s.ws.purgeProvisionLogs.Exec(cutoff, limit))
		if err != nil {
			return w.s.fail(op, err)
		}
		var cycles int64
		if logs < int64(limit) {
			if cycles, err = rowsAffected(w.s.ws.purgeProvisionCycles.Exec(cutoff, int64(limit)-logs)); err != nil {
				return w.s.fail(op, err)
			}
		}
		n = logs + cycles
		return nil
	})
	return n, err
}

// Provisioning returns the writer of the provisioning engine's state.
func (w *writer) Provisioning() store.ProvisionWriter { return provisionWriter{w} }

// provisionWriter implements store.ProvisionWriter.
type provisionWriter struct{ w *writer }

// State returns a job's state as the transaction sees it. SQLite has one
// writer, which is lock enough.
func (pw provisionWriter) State(ctx context.Context, job string) (store.ProvisionState, error) {
	if err := ctx.Err(); err != nil {
		return store.ProvisionState{}, err
	}
	return scanStateRow(pw.w.s, job, pw.w.s.ws.provisionState.QueryRow(job))
}

// PutState creates or replaces a job's state.
func (pw provisionWriter) PutState(ctx context.Context, s store.ProvisionState) error {
	if err := s.Prepare(time.Now()); err != nil {
		return err
	}
	marks, err := watermarksJSON(s.Watermarks)
	if err != nil {
		return fmt.Errorf("put provisioning state of job %s: %w", s.Job, err)
	}
	notified, err := watermarksJSON(s.Notified)
	if err != nil {
		return fmt.Errorf("put provisioning state of job %s: %w", s.Job, err)
	}
	quarantine := ""
	if s.Quarantine != nil {
		b, err := json.Marshal(s.Quarantine)
		if err != nil {
			return fmt.Errorf("put provisioning state of job %s: %w", s.Job, err)
		}
		quarantine = string(b)
	}
	return pw.w.exec(ctx, "put provisioning state of job "+s.Job, pw.w.s.ws.putProvisionState,
		s.Job, marks, formatTime(s.NextRun), s.Cycle, formatTime(s.Updated), quarantine, notified, jsonText(s.Totals))
}

// PutLinks creates or replaces links, provisionChunk per statement.
func (pw provisionWriter) PutLinks(ctx context.Context, links []store.Link) error {
	const op = "put links"
	links, err := store.PrepareLinks(links, time.Now())
	if err != nil {
		return err
	}
	return putChunks(ctx, pw.w, op, "INSERT INTO provision_links ("+linkCols+") VALUES ", putLinksConflict, 9, links,
		func(args []any, l store.Link) []any {
			return append(args, l.Job, l.Kind, l.SourceAnchor, l.TargetID, l.Display, l.State, l.Hash,
				formatTime(l.Created), formatTime(l.Updated))
		})
}

// putChunks inserts rows of cols values each with multi-row statements of
// at most provisionChunk rows; row appends one row's values to args.
func putChunks[T any](ctx context.Context, w *writer, op, head, tail string, cols int, rows []T, row func(args []any, r T) []any) error {
	args := make([]any, 0, min(len(rows), provisionChunk)*cols)
	for chunk := range chunks(rows, provisionChunk) {
		if err := ctx.Err(); err != nil {
			return err
		}
		args = args[:0]
		for _, r := range chunk {
			args = row(args, r)
		}
		st, err := w.multiRow(head, tail, len(chunk), cols)
		if err != nil {
			return w.s.fail(op, err)
		}
		if _, err := st.Exec(args...); err != nil {
			return w.s.fail(op, err)
		}
	}
	return nil
}

// DeleteLinks removes a job's links of a kind by source anchor.
func (pw provisionWriter) DeleteLinks(ctx context.Context, job, kind string, anchors []string) (int, error) {
	const op = "delete links"
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
	n, err := rowsAffected(pw.w.s.ws.deleteLinks.Exec(job, kind, string(list)))
	return int(n), pw.w.s.fail(op+" of job "+job, err)
}

// PutCycle creates or replaces a cycle.
func (pw provisionWriter) PutCycle(ctx context.Context, c store.ProvisionCycle) error {
	if err := c.Prepare(time.Now()); err != nil {
		return err
	}
	return pw.w.exec(ctx, "put cycle "+c.ID, pw.w.s.ws.putCycle, c.ID, c.Job, c.Initial, c.DryRun,
		formatTime(c.Started), formatTime(c.Ended), c.Status, jsonText(c.Stats), c.Error)
}

// AppendLogs appends log entries, provisionChunk per statement, and sets
// their Seq. One connection writes, and AUTOINCREMENT gives each row of a
// multi-row insert the next seq in turn, so a chunk's seqs are the run
// that ends at the last inserted rowid.
func (pw provisionWriter) AppendLogs(ctx context.Context, logs []store.ProvisionLog) error {
	const op = "append provisioning log"
	now := time.Now()
	for i := range logs {
		if err := logs[i].Prepare(now); err != nil {
			return err
		}
	}
	const cols = 16
	args := make([]any, 0, min(len(logs), provisionChunk)*cols)
	seqs := make([]int64, 0, len(logs))
	for chunk := range chunks(logs, provisionChunk) {
		if err := ctx.Err(); err != nil {
			return err
		}
		args = args[:0]
		for _, l := range chunk {
			args = append(args, l.Job, l.Cycle, l.Change, formatTime(l.Time), l.Kind, l.SourceAnchor, l.SourceName,
				filter.Fold(l.SourceName), l.TargetID, l.Action, l.Status, jsonText(l.Steps), jsonText(l.Modified),
				l.ErrorCode, l.Reason, int64(l.Duration))
		}
		st, err := pw.w.multiRow("INSERT INTO provision_logs ("+logInsertCols+") VALUES ", "", len(chunk), cols)
		if err != nil {
			return pw.w.s.fail(op, err)
		}
		res, err := st.Exec(args...)
		if err != nil {
			return pw.w.s.fail(op, err)
		}
		last, err := res.LastInsertId()
		if err != nil {
			return pw.w.s.fail(op, err)
		}
		for i := range chunk {
			seqs = append(seqs, last-int64(len(chunk)-1-i))
		}
	}
	// Seqs are set only once every row is in, so that a failed call leaves
	// the caller's entries as they were.
	for i := range logs {
		logs[i].Seq = seqs[i]
	}
	return nil
}

// DeleteJob removes a job's state, links, cycles and log.
func (pw provisionWriter) DeleteJob(ctx context.Context, job string) error {
	for _, st := range pw.w.s.ws.deleteProvisionJob {
		if err := pw.w.exec(ctx, "delete provisioning state of job "+job, st, job); err != nil {
			return err
		}
	}
	return nil
}

// multiRow returns the statement that inserts rows rows of cols values,
// prepared on the write connection once per shape and kept: a full chunk
// is the usual shape, and there are at most provisionChunk others per
// table. Its parameters are anonymous (?, not ?NNN): the driver looks up
// each parameter's name as it binds it, and SQLite finds a numbered one by
// a linear search of the names, which made binding a chunk quadratic.
func (w *writer) multiRow(head, tail string, rows, cols int) (*sql.Stmt, error) {
	key := multiRowKey{head, rows}
	if st, ok := w.multi[key]; ok {
		return st, nil
	}
	var b strings.Builder
	b.Grow(len(head) + len(tail) + rows*cols*6)
	b.WriteString(head)
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
	b.WriteString(tail)
	st, err := w.s.wconn.PrepareContext(context.Background(), b.String())
	if err != nil {
		return nil, err
	}
	if w.multi == nil {
		w.multi = map[multiRowKey]*sql.Stmt{}
	}
	w.multi[key] = st
	return st, nil
}

// multiRowKey names a multi-row statement: its table's INSERT and its rows.
type multiRowKey struct {
	head string
	rows int
}

// chunks yields s in pieces of at most n.
func chunks[T any](s []T, n int) func(yield func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

// watermarksJSON encodes a state's watermarks (or notifications) as a JSON
// object.
func watermarksJSON(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// jsonText stores JSON as text, and none as NULL.
func jsonText(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// scanStateRow reads a state row; no row is the zero state of job.
func scanStateRow(s *Store, job string, row *sql.Row) (store.ProvisionState, error) {
	const op = "get provisioning state"
	var (
		st         store.ProvisionState
		marks      string
		nextRun    sql.NullString
		updated    string
		quarantine string
		notified   string
		totals     sql.NullString
	)
	err := row.Scan(&st.Job, &marks, &nextRun, &st.Cycle, &updated, &quarantine, &notified, &totals)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ProvisionState{Job: job}, nil
	}
	if err != nil {
		return store.ProvisionState{}, s.fail(op+" of job "+job, err)
	}
	if marks != "{}" {
		if err := json.Unmarshal([]byte(marks), &st.Watermarks); err != nil {
			return store.ProvisionState{}, fmt.Errorf("%s of job %s: watermarks: %w", op, job, err)
		}
	}
	if notified != "{}" {
		if err := json.Unmarshal([]byte(notified), &st.Notified); err != nil {
			return store.ProvisionState{}, fmt.Errorf("%s of job %s: notified: %w", op, job, err)
		}
	}
	if quarantine != "" {
		st.Quarantine = new(store.Quarantine)
		if err := json.Unmarshal([]byte(quarantine), st.Quarantine); err != nil {
			return store.ProvisionState{}, fmt.Errorf("%s of job %s: quarantine: %w", op, job, err)
		}
	}
	if st.NextRun, err = parseTime(nextRun.String); err != nil {
		return store.ProvisionState{}, fmt.Errorf("%s of job %s: %w", op, job, err)
	}
	if st.Updated, err = parseTime(updated); err != nil {
		return store.ProvisionState{}, fmt.Errorf("%s of job %s: %w", op, job, err)
	}
	if totals.Valid {
		st.Totals = json.RawMessage(totals.String)
	}
	return st, nil
}

func scanLink(row rowScanner) (store.Link, error) {
	var (
		l                store.Link
		created, updated string
	)
	if err := row.Scan(&l.Job, &l.Kind, &l.SourceAnchor, &l.TargetID, &l.Display, &l.State, &l.Hash,
		&created, &updated); err != nil {
		return l, err
	}
	var err error
	if l.Created, err = parseTime(created); err != nil {
		return l, err
	}
	l.Updated, err = parseTime(updated)
	return l, err
}

func scanCycle(row rowScanner) (store.ProvisionCycle, error) {
	var (
		c            store.ProvisionCycle
		started      string
		ended, stats sql.NullString
	)
	if err := row.Scan(&c.ID, &c.Job, &c.Initial, &c.DryRun, &started, &ended, &c.Status, &stats, &c.Error); err != nil {
		return c, err
	}
	if stats.Valid {
		c.Stats = json.RawMessage(stats.String)
	}
	var err error
	if c.Started, err = parseTime(started); err != nil {
		return c, err
	}
	c.Ended, err = parseTime(ended.String)
	return c, err
}

func scanLog(row rowScanner) (store.ProvisionLog, error) {
	var (
		l               store.ProvisionLog
		at              string
		steps, modified sql.NullString
		duration        int64
	)
	if err := row.Scan(&l.Seq, &l.Job, &l.Cycle, &l.Change, &at, &l.Kind, &l.SourceAnchor, &l.SourceName, &l.TargetID,
		&l.Action, &l.Status, &steps, &modified, &l.ErrorCode, &l.Reason, &duration); err != nil {
		return l, err
	}
	if steps.Valid {
		l.Steps = json.RawMessage(steps.String)
	}
	if modified.Valid {
		l.Modified = json.RawMessage(modified.String)
	}
	l.Duration = time.Duration(duration)
	var err error
	l.Time, err = parseTime(at)
	return l, err
}
