package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/store"
)

// The provisioning engine's state (migration 0006). Links and log entries
// are written many hundred at a time, each batch in one statement over
// arrays (unnest), whatever its size.

const (
	linkCols  = "job, kind, source_anchor, target_id, display, state, hash, created, updated"
	stateCols = "job, watermarks, next_run, cycle, updated, quarantine, notified, totals"
	cycleCols = "id, job, initial, dry_run, started, ended, status, stats, error"
	logCols   = "seq, job, cycle, change, time, kind, source_anchor, source_name, target_id, action, status, " +
		"steps, modified, error_code, reason, duration"

	provisionStateSQL = "SELECT " + stateCols + " FROM provision_state WHERE job = $1"
	putStateSQL       = "INSERT INTO provision_state (" + stateCols + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8::json) " +
		"ON CONFLICT (job) DO UPDATE SET watermarks = excluded.watermarks, next_run = excluded.next_run, " +
		"cycle = excluded.cycle, updated = excluded.updated, quarantine = excluded.quarantine, notified = excluded.notified, " +
		"totals = excluded.totals"
	linksSQL = "SELECT " + linkCols + " FROM provision_links WHERE job = $1 ORDER BY kind, source_anchor"
	// putLinksSQL upserts the links of nine parallel arrays; PrepareLinks
	// has removed duplicate keys, which ON CONFLICT may not meet twice.
	putLinksSQL = "INSERT INTO provision_links (" + linkCols + ") " +
		"SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], " +
		"$8::timestamptz[], $9::timestamptz[]) " +
		"ON CONFLICT (job, kind, source_anchor) DO UPDATE SET target_id = excluded.target_id, " +
		"display = excluded.display, state = excluded.state, hash = excluded.hash, created = excluded.created, " +
		"updated = excluded.updated"
	putCycleSQL = "INSERT INTO provision_cycles (" + cycleCols + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8::json, $9) " +
		"ON CONFLICT (id) DO UPDATE SET job = excluded.job, initial = excluded.initial, dry_run = excluded.dry_run, " +
		"started = excluded.started, ended = excluded.ended, status = excluded.status, stats = excluded.stats, " +
		"error = excluded.error"
	// appendLogsSQL inserts the entries of sixteen parallel arrays in their
	// order, so that the identity gives them increasing seqs.
	appendLogsSQL = `INSERT INTO provision_logs (job, cycle, change, time, kind, source_anchor, source_name,
		source_name_fold, target_id, action, status, steps, modified, error_code, reason, duration)
	SELECT l.job, l.cycle, l.change, l.time, l.kind, l.source_anchor, l.source_name, l.source_name_fold, l.target_id,
		l.action, l.status, l.steps::json, l.modified::json, l.error_code, l.reason, l.duration
	FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[],
		$9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::bigint[])
		WITH ORDINALITY AS l(job, cycle, change, time, kind, source_anchor, source_name, source_name_fold, target_id,
			action, status, steps, modified, error_code, reason, duration, n)
	ORDER BY l.n
	RETURNING seq`
	// purgeLogsSQL deletes the rows older than $1 among the oldest $2 by
	// seq, which follows time (the engine stamps entries as it appends
	// them): no index on time to keep up on 100,000 appends per cycle.
	purgeLogsSQL = `DELETE FROM provision_logs WHERE seq IN
		(SELECT seq FROM (SELECT seq, time FROM provision_logs ORDER BY seq LIMIT $2) o WHERE time < $1)`
	purgeCyclesSQL = `DELETE FROM provision_cycles WHERE id IN
		(SELECT id FROM provision_cycles WHERE ended IS NOT NULL AND ended < $1 ORDER BY ended LIMIT $2)`
	// deleteProvisionJobSQL removes everything the engine kept for job $1
	// in one round trip.
	deleteProvisionJobSQL = `WITH l AS (DELETE FROM provision_links WHERE job = $1),
		s AS (DELETE FROM provision_state WHERE job = $1),
		c AS (DELETE FROM provision_cycles WHERE job = $1),
		e AS (DELETE FROM provision_escrow WHERE job = $1),
		r AS (DELETE FROM provision_records WHERE job = $1),
		t AS (DELETE FROM provision_push_tokens WHERE job = $1)
	DELETE FROM provision_logs WHERE job = $1`
)

// provisionNow is now as timestamptz keeps it, to the microsecond.
func provisionNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Provisioning returns the store of the provisioning engine's state.
func (s *Store) Provisioning() store.ProvisionStore { return provisioning{s} }

// provisioning implements store.ProvisionStore.
type provisioning struct{ s *Store }

// State returns a job's state, or a zero one with Job set.
func (p provisioning) State(ctx context.Context, job string) (store.ProvisionState, error) {
	if p.s.closed.Load() {
		return store.ProvisionState{}, store.ErrUnavailable
	}
	return scanState(p.s, job, p.s.pool.QueryRow(ctx, provisionStateSQL, job))
}

// Link returns the link of a source object.
func (p provisioning) Link(ctx context.Context, job, kind, sourceAnchor string) (store.Link, error) {
	return p.one(ctx, "get link", "source_anchor", job, kind, sourceAnchor)
}

// LinkByTarget returns the link to a target object.
func (p provisioning) LinkByTarget(ctx context.Context, job, kind, targetID string) (store.Link, error) {
	return p.one(ctx, "get link by target", "target_id", job, kind, targetID)
}

func (p provisioning) one(ctx context.Context, op, col, job, kind, id string) (store.Link, error) {
	if p.s.closed.Load() {
		return store.Link{}, store.ErrUnavailable
	}
	l, err := scanLink(p.s.pool.QueryRow(ctx, "SELECT "+linkCols+" FROM provision_links WHERE job = $1 AND kind = $2 AND "+
		col+" = $3 ORDER BY source_anchor LIMIT 1", job, kind, id))
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
		rows pgx.Rows
		err  error
	)
	if kind == "" {
		rows, err = p.s.pool.Query(ctx, linksSQL, job)
	} else {
		rows, err = p.s.pool.Query(ctx, "SELECT "+linkCols+" FROM provision_links WHERE job = $1 AND kind = $2 "+
			"ORDER BY source_anchor", job, kind)
	}
	if err != nil {
		return p.s.fail(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return p.s.fail(op, err)
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	return p.s.fail(op, rows.Err())
}

// Cycle returns one cycle.
func (p provisioning) Cycle(ctx context.Context, id string) (store.ProvisionCycle, error) {
	return get(ctx, p.s, "SELECT "+cycleCols+" FROM provision_cycles WHERE id = $1", "get cycle", id, scanCycle)
}

// Cycles returns a job's latest cycles, newest first.
func (p provisioning) Cycles(ctx context.Context, job string, limit int) ([]store.ProvisionCycle, error) {
	return list(ctx, p.s, "SELECT "+cycleCols+" FROM provision_cycles WHERE job = $1 ORDER BY started DESC, id DESC LIMIT $2",
		"list cycles of job "+job, scanCycle, job, store.CyclesLimit(limit))
}

// Logs returns the log entries q selects, in seq order.
func (p provisioning) Logs(ctx context.Context, q store.ProvisionLogQuery) ([]store.ProvisionLog, error) {
	query, args := provisionLogsSQL(q)
	return list(ctx, p.s, query, "list provisioning log", scanLog, args...)
}

// provisionLogsSQL builds the query of q. An Object compares three columns,
// each the second of an index that starts with the job.
func provisionLogsSQL(q store.ProvisionLogQuery) (string, []any) {
	var b strings.Builder
	args := []any{q.Job}
	b.WriteString("SELECT " + logCols + " FROM provision_logs WHERE job = $1")
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
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
		b.WriteString(" AND time >= " + arg(q.Since))
	}
	if !q.Until.IsZero() {
		b.WriteString(" AND time < " + arg(q.Until))
	}
	if q.After > 0 {
		b.WriteString(" AND seq > " + arg(q.After))
	}
	b.WriteString(" ORDER BY seq LIMIT " + arg(q.EffectiveLimit()))
	return b.String(), args
}

// PurgeLogs deletes up to limit log entries, and then ended cycles, older
// than before. Each DELETE commits on its own: retention has nothing to
// keep consistent between them.
func (p provisioning) PurgeLogs(ctx context.Context, before time.Time, limit int) (int64, error) {
	const op = "purge provisioning log"
	if p.s.closed.Load() {
		return 0, store.ErrUnavailable
	}
	limit = store.PurgeLimit(limit)
	tag, err := p.s.pool.Exec(ctx, purgeLogsSQL, before, limit)
	if err != nil {
		return 0, p.s.fail(op, err)
	}
	n := tag.RowsAffected()
	if n >= int64(limit) {
		return n, nil
	}
	if tag, err = p.s.pool.Exec(ctx, purgeCyclesSQL, before, int64(limit)-n); err != nil {
		return n, p.s.fail(op, err)
	}
	return n + tag.RowsAffected(), nil
}

// Provisioning returns the writer of the provisioning engine's state.
func (w *writer) Provisioning() store.ProvisionWriter { return provisionWriter{w} }

// provisionWriter implements store.ProvisionWriter.
type provisionWriter struct{ w *writer }

// State returns a job's state as the transaction sees it, locking its row
// if it has one.
func (pw provisionWriter) State(ctx context.Context, job string) (store.ProvisionState, error) {
	if err := pw.w.begin(ctx); err != nil {
		return store.ProvisionState{}, pw.w.s.fail("get provisioning state", err)
	}
	return scanState(pw.w.s, job, pw.w.conn.QueryRow(ctx, provisionStateSQL+" FOR UPDATE", job))
}

// PutState creates or replaces a job's state.
func (pw provisionWriter) PutState(ctx context.Context, s store.ProvisionState) error {
	if err := s.Prepare(provisionNow()); err != nil {
		return err
	}
	marks := s.Watermarks
	if marks == nil {
		marks = map[string]string{}
	}
	var nextRun *time.Time
	if !s.NextRun.IsZero() {
		nextRun = &s.NextRun
	}
	notified := s.Notified
	if notified == nil {
		notified = map[string]string{}
	}
	return pw.w.exec(ctx, "put provisioning state of job "+s.Job, putStateSQL, s.Job, marks, nextRun, s.Cycle, s.Updated,
		s.Quarantine, notified, jsonText(s.Totals))
}

// PutLinks creates or replaces links in one statement.
func (pw provisionWriter) PutLinks(ctx context.Context, links []store.Link) error {
	links, err := store.PrepareLinks(links, provisionNow())
	if err != nil {
		return err
	}
	if len(links) == 0 {
		return nil
	}
	var (
		text             [7][]string
		created, updated = make([]time.Time, len(links)), make([]time.Time, len(links))
	)
	for i := range text {
		text[i] = make([]string, len(links))
	}
	for i, l := range links {
		for c, v := range [...]string{l.Job, l.Kind, l.SourceAnchor, l.TargetID, l.Display, l.State, l.Hash} {
			text[c][i] = v
		}
		created[i], updated[i] = l.Created, l.Updated
	}
	return pw.w.exec(ctx, "put links", putLinksSQL, text[0], text[1], text[2], text[3], text[4], text[5], text[6],
		created, updated)
}

// DeleteLinks removes a job's links of a kind by source anchor.
func (pw provisionWriter) DeleteLinks(ctx context.Context, job, kind string, anchors []string) (int, error) {
	const op = "delete links"
	if len(anchors) == 0 {
		return 0, ctx.Err()
	}
	if err := pw.w.begin(ctx); err != nil {
		return 0, pw.w.s.fail(op, err)
	}
	tag, err := pw.w.conn.Exec(ctx, "DELETE FROM provision_links WHERE job = $1 AND kind = $2 AND source_anchor = ANY($3::text[])",
		job, kind, anchors)
	if err != nil {
		return 0, pw.w.s.fail(op+" of job "+job, err)
	}
	return int(tag.RowsAffected()), nil
}

// PutCycle creates or replaces a cycle.
func (pw provisionWriter) PutCycle(ctx context.Context, c store.ProvisionCycle) error {
	if err := c.Prepare(provisionNow()); err != nil {
		return err
	}
	var ended *time.Time
	if !c.Ended.IsZero() {
		ended = &c.Ended
	}
	return pw.w.exec(ctx, "put cycle "+c.ID, putCycleSQL, c.ID, c.Job, c.Initial, c.DryRun, c.Started, ended, c.Status,
		jsonText(c.Stats), c.Error)
}

// AppendLogs appends log entries in one statement and sets their Seq.
func (pw provisionWriter) AppendLogs(ctx context.Context, logs []store.ProvisionLog) error {
	const op = "append provisioning log"
	now := provisionNow()
	for i := range logs {
		if err := logs[i].Prepare(now); err != nil {
			return err
		}
	}
	if len(logs) == 0 {
		return nil
	}
	n := len(logs)
	var (
		text      [12][]string
		docs      [2][]*string
		times     = make([]time.Time, n)
		durations = make([]int64, n)
	)
	for i := range text {
		text[i] = make([]string, n)
	}
	for i := range docs {
		docs[i] = make([]*string, n)
	}
	for i, l := range logs {
		for c, v := range [...]string{l.Job, l.Cycle, l.Change, l.Kind, l.SourceAnchor, l.SourceName,
			filter.Fold(l.SourceName), l.TargetID, l.Action, l.Status, l.ErrorCode, l.Reason} {
			text[c][i] = v
		}
		docs[0][i], docs[1][i] = jsonText(l.Steps), jsonText(l.Modified)
		times[i], durations[i] = l.Time, int64(l.Duration)
	}
	if err := pw.w.begin(ctx); err != nil {
		return pw.w.s.fail(op, err)
	}
	rows, err := pw.w.conn.Query(ctx, appendLogsSQL, text[0], text[1], text[2], times, text[3], text[4], text[5],
		text[6], text[7], text[8], text[9], docs[0], docs[1], text[10], text[11], durations)
	if err != nil {
		return pw.w.s.fail(op, err)
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return pw.w.s.fail(op, err)
	}
	if len(seqs) != n {
		return fmt.Errorf("%s: %d rows inserted for %d entries", op, len(seqs), n)
	}
	// The identity is drawn row by row in the arrays' order, so the
	// smallest seq is the first entry's, whatever order RETURNING uses.
	slices.Sort(seqs)
	for i := range logs {
		logs[i].Seq = seqs[i]
	}
	return nil
}

// DeleteJob removes a job's state, links, cycles and log.
func (pw provisionWriter) DeleteJob(ctx context.Context, job string) error {
	return pw.w.exec(ctx, "delete provisioning state of job "+job, deleteProvisionJobSQL, job)
}

// jsonText passes JSON as text, and none as NULL.
func jsonText(b json.RawMessage) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}

// scanState reads a state row; no row is the zero state of job.
func scanState(s *Store, job string, row pgx.Row) (store.ProvisionState, error) {
	var (
		st      store.ProvisionState
		nextRun *time.Time
		totals  *string
	)
	err := row.Scan(&st.Job, &st.Watermarks, &nextRun, &st.Cycle, &st.Updated, &st.Quarantine, &st.Notified, &totals)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ProvisionState{Job: job}, nil
	}
	if err != nil {
		return store.ProvisionState{}, s.fail("get provisioning state of job "+job, err)
	}
	if len(st.Watermarks) == 0 {
		st.Watermarks = nil
	}
	if len(st.Notified) == 0 {
		st.Notified = nil
	}
	if st.Quarantine != nil {
		st.Quarantine.Since = st.Quarantine.Since.UTC()
	}
	if nextRun != nil {
		st.NextRun = nextRun.UTC()
	}
	st.Updated = st.Updated.UTC()
	if totals != nil {
		st.Totals = json.RawMessage(*totals)
	}
	return st, nil
}

func scanLink(row pgx.Row) (store.Link, error) {
	var l store.Link
	if err := row.Scan(&l.Job, &l.Kind, &l.SourceAnchor, &l.TargetID, &l.Display, &l.State, &l.Hash,
		&l.Created, &l.Updated); err != nil {
		return l, err
	}
	l.Created, l.Updated = l.Created.UTC(), l.Updated.UTC()
	return l, nil
}

func scanCycle(row pgx.Row) (store.ProvisionCycle, error) {
	var (
		c     store.ProvisionCycle
		ended *time.Time
		stats []byte
	)
	if err := row.Scan(&c.ID, &c.Job, &c.Initial, &c.DryRun, &c.Started, &ended, &c.Status, &stats, &c.Error); err != nil {
		return c, err
	}
	c.Started = c.Started.UTC()
	if ended != nil {
		c.Ended = ended.UTC()
	}
	if stats != nil {
		c.Stats = stats
	}
	return c, nil
}

func scanLog(row pgx.Row) (store.ProvisionLog, error) {
	var (
		l               store.ProvisionLog
		steps, modified []byte
		duration        int64
	)
	if err := row.Scan(&l.Seq, &l.Job, &l.Cycle, &l.Change, &l.Time, &l.Kind, &l.SourceAnchor, &l.SourceName, &l.TargetID,
		&l.Action, &l.Status, &steps, &modified, &l.ErrorCode, &l.Reason, &duration); err != nil {
		return l, err
	}
	l.Time = l.Time.UTC()
	if steps != nil {
		l.Steps = steps
	}
	if modified != nil {
		l.Modified = modified
	}
	l.Duration = time.Duration(duration)
	return l, nil
}
