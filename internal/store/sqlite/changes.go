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
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlfilter"
)

// The revision history and the event outbox (migration 0005). An event's
// cursor is its seq in decimal: SQLite has one writer, so transactions
// commit in the order they assign seqs, and a reader that has seen seq n has
// seen every event with a smaller one. AUTOINCREMENT keeps a seq from being
// handed out again after retention purged every row.

const (
	insertHistorySQL = `INSERT INTO history (tenant, time, resource_type, resource_id, name, name_fold, operation, version,
		actor, actor_label, credential, request_id, client_addr, attributes, members_added, members_removed, event_types)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)`
	insertEventSQL = `INSERT INTO events (tenant, id, type, time, resource_type, resource_id, data)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`
	// Retention deletes the oldest rows first, through the time indexes.
	// Retention deletes the oldest rows by seq, which follows time, among
	// the first ?2: no index on time to keep up on every write, and a purge
	// reads at most ?2 rows however many are retained.
	purgeHistorySQL = "DELETE FROM history WHERE seq IN (SELECT seq FROM (SELECT seq, time FROM history ORDER BY seq LIMIT ?2) WHERE time < ?1)"
	purgeEventsSQL  = "DELETE FROM events WHERE seq IN (SELECT seq FROM (SELECT seq, time FROM events ORDER BY seq LIMIT ?2) WHERE time < ?1)"

	historyCols = `h.seq, h.time, h.resource_type, h.resource_id, h.name, h.operation, h.version, h.actor, h.actor_label,
		h.credential, h.request_id, h.client_addr, h.attributes, h.members_added, h.members_removed, h.event_types`
	eventCols = "e.seq, e.id, e.type, e.time, e.resource_type, e.resource_id, e.data"

	// eventsSQL reads every live tenant's events: those of a deleted
	// tenant whose rows are still being purged have no tenant to join.
	eventsSQL = "SELECT " + eventCols + ", t.id FROM events e JOIN tenants t ON t.key = e.tenant WHERE e.seq > ?1 ORDER BY e.seq LIMIT ?2"
	// eventsTenantSQL reads one tenant's events through events_tenant.
	eventsTenantSQL = "SELECT " + eventCols + ", '' FROM events e WHERE e.tenant = ?1 AND e.seq > ?2 ORDER BY e.seq LIMIT ?3"
	// lastEventSQL returns the largest seq ever given to an event, 0 if none.
	lastEventSQL = "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)"
	// oldestEventSQL returns the purge horizon; no row before any purge.
	oldestEventSQL = "SELECT seq FROM events_purged"
	// purgedNewestSQL is the newest position purgeEventsSQL deletes.
	purgedNewestSQL     = "SELECT max(seq) FROM (SELECT seq, time FROM events ORDER BY seq LIMIT ?2) WHERE time < ?1"
	movePurgeHorizonSQL = "INSERT INTO events_purged (only, seq) VALUES (1, ?1) ON CONFLICT (only) DO UPDATE SET seq = max(seq, excluded.seq)"

	// clearGroupSQL deletes the members of group ?1 and returns their ids.
	clearGroupSQL = "DELETE FROM memberships WHERE group_seq = ?1 RETURNING (SELECT id FROM resources WHERE seq = member_seq)"
)

// Record appends the change's history row and its events, inside the
// write's transaction (and savepoint, with group commit), so that they are
// kept exactly if the change is. It sets c.EventTypes from c.Events, a zero
// c.Time to now, an event's zero Time, empty ResourceType and ResourceID to
// the change's, and, once every row is written, c.Seq and each event's
// Tenant and Cursor.
func (w *writer) Record(ctx context.Context, c *store.Change) error {
	const op = "record change"
	// Check everything before writing anything, so that a failed Record
	// writes nothing even if the caller goes on with the write.
	if err := c.Prepare(time.Now()); err != nil {
		return err
	}
	k, err := w.tenant(ctx, op, c.Tenant)
	if err != nil {
		return err
	}
	var cols [4]any
	for i, v := range []any{c.Attributes, c.MembersAdded, c.MembersRemoved, c.EventTypes} {
		if cols[i], err = jsonColumn(v); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	at := sqlfilter.FormatTime(c.Time)
	res, err := w.s.ws.insertHistory.Exec(k, at, c.ResourceType, c.ResourceID, c.ResourceName, filter.Fold(c.ResourceName),
		c.Operation, c.Version, c.Actor, c.ActorLabel, c.Credential, c.RequestID, c.ClientAddr, cols[0], cols[1], cols[2], cols[3])
	if err != nil {
		return w.s.fail(op, err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return w.s.fail(op, err)
	}
	// Cursors are set only once every row is in, so that a failed Record
	// leaves none behind.
	var buf [8]int64
	cursors := buf[:0]
	for i := range c.Events {
		e := &c.Events[i]
		data := "null"
		if len(e.Data) > 0 {
			data = string(e.Data)
		}
		et := at
		if !e.Time.Equal(c.Time) {
			et = sqlfilter.FormatTime(e.Time)
		}
		res, err := w.s.ws.insertEvent.Exec(k, e.ID, e.Type, et, e.ResourceType, e.ResourceID, data)
		if err != nil {
			return w.s.fail(op, err)
		}
		es, err := res.LastInsertId()
		if err != nil {
			return w.s.fail(op, err)
		}
		cursors = append(cursors, es)
	}
	c.Seq = seq
	for i := range c.Events {
		c.Events[i].Cursor = strconv.FormatInt(cursors[i], 10)
	}
	return nil
}

// jsonColumn encodes a slice as JSON, or NULL when it is empty.
func jsonColumn(v any) (any, error) {
	switch x := v.(type) {
	case []store.AttrChange:
		if len(x) == 0 {
			return nil, nil
		}
	case []string:
		if len(x) == 0 {
			return nil, nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// ClearMembers deletes every membership row of the group and returns the
// ids of the members it removed.
func (w *writer) ClearMembers(ctx context.Context, tenant, groupID string) ([]string, error) {
	const op = "clear members"
	_, gseq, err := w.group(ctx, op, tenant, groupID)
	if err != nil {
		return nil, err
	}
	rows, err := w.s.ws.clearGroup.Query(gseq)
	if err != nil {
		return nil, w.s.fail(op, err)
	}
	defer rows.Close()
	var removed []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, w.s.fail(op, err)
		}
		removed = append(removed, id)
	}
	if err := rows.Err(); err != nil {
		return nil, w.s.fail(op, err)
	}
	return removed, nil
}

// History returns the revision history.
func (s *Store) History() store.HistoryStore { return historyStore{s} }

// Events returns the event outbox.
func (s *Store) Events() store.EventStore { return eventStore{s} }

// historyStore implements store.HistoryStore.
type historyStore struct{ s *Store }

// List returns the entries q selects, oldest first, with a query built
// from the filters set (historySQL).
func (h historyStore) List(ctx context.Context, q store.HistoryQuery) ([]store.Change, error) {
	const op = "list history"
	if q.Tenant == "" {
		return nil, errors.New(op + ": no tenant")
	}
	k, ok, err := reader(h).key(ctx, op, q.Tenant)
	if err != nil || !ok {
		return nil, err
	}
	query, args := historySQL(k, q)
	rows, err := h.s.query(ctx, query, args)
	if err != nil {
		return nil, h.s.fail(op, err)
	}
	defer rows.Close()
	var out []store.Change
	for rows.Next() {
		c, err := scanChange(rows)
		if err != nil {
			return nil, h.s.fail(op, err)
		}
		c.Tenant = q.Tenant
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, h.s.fail(op, err)
	}
	return out, nil
}

// historySQL builds the query of a history read for tenant key k. Each
// filter reaches its rows through an index: history_resource for a
// resource, history_name and then history_resource for a userName,
// history_tenant otherwise (TestChangePlans).
func historySQL(k int64, q store.HistoryQuery) (string, []any) {
	var b strings.Builder
	args := []any{k, q.After}
	// arg adds a condition on v, its placeholder written @.
	arg := func(cond string, v any) {
		args = append(args, v)
		b.WriteString(" AND ")
		b.WriteString(strings.ReplaceAll(cond, "@", "?"+strconv.Itoa(len(args))))
	}
	if q.UserName != "" {
		// The ids of the users that ever had the name, from history_name
		// alone, then their entries through history_resource: CROSS JOIN
		// keeps SQLite from walking the tenant's whole history in seq
		// order instead.
		args = append(args, filter.Fold(q.UserName))
		b.WriteString("WITH names(id) AS (SELECT DISTINCT resource_id FROM history" +
			" WHERE tenant = ?1 AND name_fold = ?3 AND resource_type = '" + schema.UserResource + "')" +
			" SELECT " + historyCols + " FROM names n CROSS JOIN history h" +
			" WHERE h.tenant = ?1 AND h.resource_id = n.id AND h.resource_type = '" + schema.UserResource + "' AND h.seq > ?2")
	} else {
		b.WriteString("SELECT " + historyCols + " FROM history h WHERE h.tenant = ?1 AND h.seq > ?2")
	}
	if q.ResourceType != "" {
		arg("h.resource_type = @", q.ResourceType)
	}
	if q.ResourceID != "" {
		arg("h.resource_id = @", q.ResourceID)
	}
	if q.Actor != "" {
		arg("h.actor = @", q.Actor)
	}
	if !q.Since.IsZero() {
		arg("h.time >= @", sqlfilter.FormatTime(q.Since))
	}
	if !q.Until.IsZero() {
		arg("h.time < @", sqlfilter.FormatTime(q.Until))
	}
	args = append(args, q.EffectiveLimit())
	b.WriteString(" ORDER BY h.seq LIMIT ?" + strconv.Itoa(len(args)))

	return b.String(), args
}

// query runs a dynamic query on the read pool, through the statement cache.
func (s *Store) query(ctx context.Context, query string, args []any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return s.rdb.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

func scanChange(row rowScanner) (store.Change, error) {
	var (
		c                            store.Change
		at                           string
		attrs, added, removed, types sql.NullString
	)
	if err := row.Scan(&c.Seq, &at, &c.ResourceType, &c.ResourceID, &c.ResourceName, &c.Operation, &c.Version,
		&c.Actor, &c.ActorLabel, &c.Credential, &c.RequestID, &c.ClientAddr, &attrs, &added, &removed, &types); err != nil {
		return c, err
	}
	var err error
	if c.Time, err = parseTime(at); err != nil {
		return c, err
	}
	for _, f := range []struct {
		src sql.NullString
		dst any
	}{{attrs, &c.Attributes}, {added, &c.MembersAdded}, {removed, &c.MembersRemoved}, {types, &c.EventTypes}} {
		if !f.src.Valid {
			continue
		}
		if err := json.Unmarshal([]byte(f.src.String), f.dst); err != nil {
			return c, fmt.Errorf("history entry %d: %w", c.Seq, err)
		}
	}
	return c, nil
}

// Purge deletes up to limit history entries older than before, oldest
// first, in one write.
func (h historyStore) Purge(ctx context.Context, before time.Time, limit int) (int, error) {
	return h.s.purgeOld(ctx, h.s.ws.purgeHistory, "purge history", before, limit)
}

// purgeOld runs a retention DELETE of at most limit rows older than before.
func (s *Store) purgeOld(ctx context.Context, st *sql.Stmt, op string, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("%s: limit %d is not positive", op, limit)
	}
	var n int64
	err := s.write(ctx, func(w *writer) error {
		var err error
		n, err = rowsAffected(st.Exec(sqlfilter.FormatTime(before), limit))
		return w.s.fail(op, err)
	})
	return int(n), err
}

// eventStore implements store.EventStore.
type eventStore struct{ s *Store }

// List returns the events after q.After in seq order, which is commit order.
func (e eventStore) List(ctx context.Context, q store.EventQuery) ([]store.Event, string, error) {
	const op = "list events"
	if e.s.closed.Load() {
		return nil, "", store.ErrUnavailable
	}
	after, err := parseCursor(q.After)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", op, err)
	}
	limit := q.EffectiveLimit()
	var rows *sql.Rows
	if q.Tenant == "" {
		rows, err = e.s.rs.events.QueryContext(ctx, after, limit)
	} else {
		k, ok, kerr := reader(e).key(ctx, op, q.Tenant)
		if kerr != nil {
			return nil, "", kerr
		}
		if !ok {
			return nil, q.After, e.checkCursor(ctx, op, after)
		}
		rows, err = e.s.rs.eventsTenant.QueryContext(ctx, k, after, limit)
	}
	if err != nil {
		return nil, "", e.s.fail(op, err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, "", e.s.fail(op, err)
		}
		if ev.Tenant == "" {
			ev.Tenant = q.Tenant
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, "", e.s.fail(op, err)
	}
	if len(out) == 0 {
		return nil, q.After, e.checkCursor(ctx, op, after)
	}
	return out, out[len(out)-1].Cursor, nil
}

// checkCursor fails with store.ErrInvalidCursor for a position past the
// last event ever written, such as a cursor from another database or from
// before the file was restored from a backup, which would otherwise skip
// every event up to it without a word.
func (e eventStore) checkCursor(ctx context.Context, op string, after int64) error {
	if after == 0 {
		return nil
	}
	var last int64
	if err := e.s.rs.lastEvent.QueryRowContext(ctx).Scan(&last); err != nil {
		return e.s.fail(op, err)
	}
	if after > last {
		return fmt.Errorf("%s: cursor %d is past the last event, %d: %w", op, after, last, store.ErrInvalidCursor)
	}
	return nil
}

// parseCursor reads a cursor: "" or a decimal seq.
func parseCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || s[0] == '+' {
		return 0, fmt.Errorf("cursor %q: %w", s, store.ErrInvalidCursor)
	}
	return n, nil
}

func scanEvent(row rowScanner) (store.Event, error) {
	var (
		e        store.Event
		seq      int64
		at, data string
	)
	if err := row.Scan(&seq, &e.ID, &e.Type, &at, &e.ResourceType, &e.ResourceID, &data, &e.Tenant); err != nil {
		return e, err
	}
	e.Cursor = strconv.FormatInt(seq, 10)
	e.Data = json.RawMessage(data)
	var err error
	e.Time, err = parseTime(at)
	return e, err
}

// Purge deletes up to limit events older than before, oldest first, in one
// write.
func (e eventStore) Purge(ctx context.Context, before time.Time, limit int) (int, error) {
	const op = "purge events"
	if limit <= 0 {
		return 0, fmt.Errorf("%s: limit %d is not positive", op, limit)
	}
	var n int64
	err := e.s.write(ctx, func(w *writer) error {
		// The purge horizon moves in the same transaction as the delete,
		// so a reader behind it knows it missed events.
		var newest sql.NullInt64
		cutoff := sqlfilter.FormatTime(before)
		if err := w.s.wconn.QueryRowContext(ctx, purgedNewestSQL, cutoff, limit).Scan(&newest); err != nil {
			return w.s.fail(op, err)
		}
		if !newest.Valid {
			return nil
		}
		var err error
		if n, err = rowsAffected(w.s.ws.purgeEvents.Exec(cutoff, limit)); err != nil {
			return w.s.fail(op, err)
		}
		_, err = w.s.wconn.ExecContext(ctx, movePurgeHorizonSQL, newest.Int64)
		return w.s.fail(op, err)
	})
	return int(n), err
}

// Oldest returns the purge horizon: the position of the newest event
// Purge deleted, "" if it never deleted one.
func (e eventStore) Oldest(ctx context.Context) (string, error) {
	if e.s.closed.Load() {
		return "", store.ErrUnavailable
	}
	var seq int64
	err := e.s.rs.oldestEvent.QueryRowContext(ctx).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", e.s.fail("event purge horizon", err)
	}
	return strconv.FormatInt(seq, 10), nil
}

// Emit appends events that no resource change caused to the tenant's
// outbox, inside the write's transaction, and sets their cursors once
// every row is in.
func (w *writer) Emit(ctx context.Context, tenant string, events []store.Event) error {
	const op = "emit events"
	if err := store.PrepareEmit(tenant, events, time.Now()); err != nil {
		return err
	}
	k, err := w.tenant(ctx, op, tenant)
	if err != nil {
		return err
	}
	cursors := make([]int64, 0, len(events))
	for _, e := range events {
		data := "null"
		if len(e.Data) > 0 {
			data = string(e.Data)
		}
		res, err := w.s.ws.insertEvent.Exec(k, e.ID, e.Type, sqlfilter.FormatTime(e.Time), e.ResourceType, e.ResourceID, data)
		if err != nil {
			return w.s.fail(op, err)
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return w.s.fail(op, err)
		}
		cursors = append(cursors, seq)
	}
	for i := range events {
		events[i].Cursor = strconv.FormatInt(cursors[i], 10)
	}
	return nil
}
