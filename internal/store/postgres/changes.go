package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlfilter"
)

// History returns the revision history.
func (s *Store) History() store.HistoryStore { return history{s} }

// Events returns the event outbox.
func (s *Store) Events() store.EventStore { return events{s} }

// recordSQL inserts a change's history row ($1-$9) and its events (the
// arrays $11-$16, in order, for tenant id $10) in one statement. It returns
// one row with the history seq and a NULL txid, and one per event with its
// txid and seq. Events take their seq in the order of the arrays, as the
// identity is drawn for each row as it is inserted.
const recordSQL = `WITH h AS (
	INSERT INTO history (tenant, time, resource_type, resource_id, name_fold, operation, version, actor, detail)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::json)
	RETURNING seq
), e AS (
	INSERT INTO events (tenant, tenant_id, id, type, time, resource_type, resource_id, data)
	SELECT $1, $10, e.id, e.type, e.time, e.resource_type, e.resource_id, e.data::json
	FROM unnest($11::text[], $12::text[], $13::timestamptz[], $14::text[], $15::text[], $16::text[])
		WITH ORDINALITY AS e(id, type, time, resource_type, resource_id, data, n)
	ORDER BY e.n
	RETURNING txid, seq
)
SELECT NULL::xid8, seq FROM h
UNION ALL
SELECT txid, seq FROM e`

// Record checks the change, fills in its defaults (see recordArgs) and
// locks its tenant, which must exist, and queues recordSQL to be sent with
// the COMMIT (see writer.commit): writing the history and events costs no
// round trip of its own. c.Seq and the events' cursors are set when Write
// commits; if it does not, nothing of the change is kept.
func (w *writer) Record(ctx context.Context, c *store.Change) error {
	const op = "record change"
	// timestamptz keeps microseconds: default to a time it gives back.
	if err := c.Prepare(time.Now().UTC().Truncate(time.Microsecond)); err != nil {
		return err
	}
	k, err := w.tenant(ctx, op, c.Tenant)
	if err != nil {
		return err
	}
	args, err := recordArgs(k, c)
	if err != nil {
		return fmt.Errorf("%s %s %s: %w", op, c.Operation, c.ResourceID, err)
	}
	w.records = append(w.records, &pendingRecord{c: c, args: args})
	return nil
}

// pendingRecord is a change Record queued for the commit, and what the
// commit assigned it.
type pendingRecord struct {
	c       *store.Change
	args    []any
	seq     int64
	cursors []string
}

// recordArgs returns the arguments of recordSQL for tenant key k and a
// change that Prepare filled in. Event data is never null.
func recordArgs(k int64, c *store.Change) ([]any, error) {
	n := len(c.Events)
	var (
		ids    = make([]string, n)
		types  = make([]string, n)
		times  = make([]time.Time, n)
		rtypes = make([]string, n)
		rids   = make([]string, n)
		data   = make([]string, n)
	)
	for i, e := range c.Events {
		d := string(e.Data)
		if len(e.Data) == 0 {
			d = "null"
		}
		ids[i], types[i], times[i], rtypes[i], rids[i], data[i] = e.ID, e.Type, e.Time, e.ResourceType, e.ResourceID, d
	}
	detail, err := encodeDetail(c)
	if err != nil {
		return nil, err
	}
	return []any{k, c.Time, c.ResourceType, c.ResourceID, filter.Fold(c.ResourceName), c.Operation, c.Version, c.Actor, detail,
		c.Tenant, ids, types, times, rtypes, rids, data}, nil
}

// scan reads the rows of recordSQL into r.seq and r.cursors, and closes
// rows.
func (r *pendingRecord) scan(rows pgx.Rows) error {
	defer rows.Close()
	var (
		txid uint64
		seqs = make([]int64, 0, len(r.c.Events))
	)
	for rows.Next() {
		var (
			tx  *uint64
			seq int64
		)
		if err := rows.Scan(&tx, &seq); err != nil {
			return err
		}
		if tx == nil {
			r.seq = seq
			continue
		}
		txid = *tx
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(seqs) != len(r.c.Events) {
		return fmt.Errorf("record change: inserted %d of %d events", len(seqs), len(r.c.Events))
	}
	slices.Sort(seqs)
	r.cursors = make([]string, len(seqs))
	for i, seq := range seqs {
		r.cursors[i] = formatCursor(txid, seq)
	}
	return nil
}

// apply sets what the commit assigned on the change.
func (r *pendingRecord) apply() {
	r.c.Seq = r.seq
	for i, cur := range r.cursors {
		r.c.Events[i].Cursor = cur
	}
}

// detail is the part of a store.Change that history keeps as JSON, beside
// the columns it is filtered by. Attribute values are written by
// sqlfilter.EncodeValue, so that integers come back as int64 and decimals
// as float64, as resources' attributes do.
type detail struct {
	ResourceName   string       `json:"resourceName,omitempty"`
	ActorLabel     string       `json:"actorLabel,omitempty"`
	Credential     string       `json:"credential,omitempty"`
	RequestID      string       `json:"requestId,omitempty"`
	ClientAddr     string       `json:"clientAddress,omitempty"`
	Attributes     []attrDetail `json:"attributes,omitempty"`
	MembersAdded   []string     `json:"membersAdded,omitempty"`
	MembersRemoved []string     `json:"membersRemoved,omitempty"`
	EventTypes     []string     `json:"events,omitempty"`
}

type attrDetail struct {
	Path   string          `json:"path"`
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
}

func encodeDetail(c *store.Change) (string, error) {
	d := detail{
		ResourceName: c.ResourceName, ActorLabel: c.ActorLabel, Credential: c.Credential,
		RequestID: c.RequestID, ClientAddr: c.ClientAddr,
		MembersAdded: c.MembersAdded, MembersRemoved: c.MembersRemoved, EventTypes: c.EventTypes,
	}
	if len(c.Attributes) > 0 {
		d.Attributes = make([]attrDetail, len(c.Attributes))
	}
	for i, a := range c.Attributes {
		var err error
		d.Attributes[i].Path = a.Path
		if d.Attributes[i].Before, err = encodeAttrValue(a.Before); err != nil {
			return "", fmt.Errorf("attribute %s: %w", a.Path, err)
		}
		if d.Attributes[i].After, err = encodeAttrValue(a.After); err != nil {
			return "", fmt.Errorf("attribute %s: %w", a.Path, err)
		}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// encodeAttrValue encodes a value of normalized attributes as resources
// store them, or another value as encoding/json does; nil is omitted.
func encodeAttrValue(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	s, err := sqlfilter.EncodeValue(v)
	if err == nil {
		return json.RawMessage(s), nil
	}
	return json.Marshal(v)
}

// decodeAttrValue decodes what encodeAttrValue wrote.
func decodeAttrValue(raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	m, err := sqlfilter.DecodeAttrs(`{"v":` + string(raw) + `}`)
	if err != nil {
		return nil, err
	}
	return m["v"], nil
}

func decodeDetail(s string, c *store.Change) error {
	var d detail
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return err
	}
	c.ResourceName, c.ActorLabel, c.Credential, c.RequestID, c.ClientAddr = d.ResourceName, d.ActorLabel, d.Credential, d.RequestID, d.ClientAddr
	c.MembersAdded, c.MembersRemoved, c.EventTypes = d.MembersAdded, d.MembersRemoved, d.EventTypes
	if len(d.Attributes) > 0 {
		c.Attributes = make([]store.AttrChange, len(d.Attributes))
	}
	for i, a := range d.Attributes {
		var err error
		c.Attributes[i].Path = a.Path
		if c.Attributes[i].Before, err = decodeAttrValue(a.Before); err != nil {
			return err
		}
		if c.Attributes[i].After, err = decodeAttrValue(a.After); err != nil {
			return err
		}
	}
	return nil
}

// history implements store.HistoryStore.
type history struct{ s *Store }

const historyCols = "h.seq, h.time, h.resource_type, h.resource_id, h.operation, h.version, h.actor, h.detail::text"

// List returns the tenant's history entries that match q, oldest first. The
// tenant is resolved in the statement, so a deleted tenant has none. Every
// filter goes through an index: (tenant, seq) in general, (tenant,
// resource_type, resource_id, seq) for one resource, and for a userName
// (tenant, name_fold) to find the users that had it, then their entries.
func (h history) List(ctx context.Context, q store.HistoryQuery) ([]store.Change, error) {
	const op = "list history"
	if q.Tenant == "" {
		return nil, errors.New(op + ": no tenant")
	}
	a := sqlfilter.NewArgs(sqlfilter.Postgres{})
	tenant := "(SELECT key FROM tenants WHERE id = " + a.Add(q.Tenant) + ")"
	where := []string{"h.tenant = " + tenant}
	if q.After > 0 {
		where = append(where, "h.seq > "+a.Add(q.After))
	}
	if q.ResourceType != "" {
		where = append(where, "h.resource_type = "+a.Add(q.ResourceType))
	}
	if q.ResourceID != "" {
		where = append(where, "h.resource_id = "+a.Add(q.ResourceID))
	}
	if q.UserName != "" {
		where = append(where, "h.resource_type = '"+schema.UserResource+"'",
			"h.resource_id IN (SELECT n.resource_id FROM history n WHERE n.tenant = "+tenant+" AND n.name_fold = "+
				a.Add(filter.Fold(q.UserName))+" AND n.resource_type = '"+schema.UserResource+"')")
	}
	if q.Actor != "" {
		where = append(where, "h.actor = "+a.Add(q.Actor))
	}
	if !q.Since.IsZero() {
		where = append(where, "h.time >= "+a.Add(q.Since))
	}
	if !q.Until.IsZero() {
		where = append(where, "h.time < "+a.Add(q.Until))
	}
	sql := "SELECT " + historyCols + " FROM history h WHERE " + strings.Join(where, " AND ") +
		" ORDER BY h.seq LIMIT " + a.Add(q.EffectiveLimit())
	return list(ctx, h.s, sql, op, func(row pgx.Row) (store.Change, error) {
		c := store.Change{Tenant: q.Tenant}
		var (
			at time.Time
			d  string
		)
		if err := row.Scan(&c.Seq, &at, &c.ResourceType, &c.ResourceID, &c.Operation, &c.Version, &c.Actor, &d); err != nil {
			return c, err
		}
		c.Time = at.UTC()
		if err := decodeDetail(d, &c); err != nil {
			return c, fmt.Errorf("history entry %d: stored detail: %w", c.Seq, err)
		}
		return c, nil
	}, a.Values()...)
}

// Purge deletes up to limit history entries older than before, oldest
// first, through the index on time.
func (h history) Purge(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	if h.s.closed.Load() {
		return 0, store.ErrUnavailable
	}
	tag, err := h.s.pool.Exec(ctx, `DELETE FROM history WHERE seq IN
		(SELECT seq FROM history WHERE time < $1 ORDER BY time LIMIT $2)`, before, limit)
	if err != nil {
		return 0, h.s.fail("purge history", err)
	}
	return int(tag.RowsAffected()), nil
}

// events implements store.EventStore.
type events struct{ s *Store }

// formatCursor writes an event's position as its cursor: "txid.seq", the
// two as decimal numbers.
func formatCursor(txid uint64, seq int64) string {
	return strconv.FormatUint(txid, 10) + "." + strconv.FormatInt(seq, 10)
}

// parseCursor reads a cursor formatCursor wrote; "" is the position before
// every event. Anything else is store.ErrInvalidCursor.
func parseCursor(s string) (txid uint64, seq int64, err error) {
	if s == "" {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(s, ".")
	if ok && digits(a) && digits(b) {
		txid, err1 := strconv.ParseUint(a, 10, 64)
		seq, err2 := strconv.ParseInt(b, 10, 64)
		if err1 == nil && err2 == nil {
			return txid, seq, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: %q", store.ErrInvalidCursor, s)
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

const eventCols = "e.txid, e.seq, e.tenant_id, e.id, e.type, e.time, e.resource_type, e.resource_id, e.data::text"

// eventWriterLock is the first key of the advisory lock that every write
// transaction takes, shared, before it has a transaction id (see
// lockTenantSQL). The second is one of eventLockShards consecutive
// numbers from Store.eventKey, picked at random by each transaction, so
// that all writers do not queue for the one partition of the server's lock
// table that a single lock hashes to.
const eventWriterLock int32 = 0x52457674 // "REvt"

// eventLockShards is how many lock keys the writers spread over.
const eventLockShards = 16

// schemaKey hashes a schema's name into the first of its event writer lock
// shards. Two schemas that collide only make each other's readers wait a
// little longer.
func schemaKey(name string) int32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int32(h.Sum32()&0x07ffffff) * eventLockShards
}

// horizonSQL returns the xmax of the statement's snapshot, taken when the
// statement starts, and the (32-bit) transaction ids of the transactions
// that hold a shard of the event writer lock ($1, $2 to $3), read after it.
const horizonSQL = `SELECT pg_snapshot_xmax(pg_current_snapshot()), ARRAY(
	SELECT a.backend_xid::text::bigint
	FROM pg_locks l, pg_stat_get_activity(l.pid) a
	WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND l.classid::bigint = $1 AND l.objid::bigint BETWEEN $2 AND $3 AND l.objsubid = 2
		AND a.backend_xid IS NOT NULL)`

// horizon returns the lowest of xmax and the 64-bit forms of those xids
// (32-bit transaction ids of the same epoch or the one before) that are
// below it.
func horizon(xmax uint64, xids []int64) uint64 {
	h := xmax
	for _, x := range xids {
		back := uint32(xmax) - uint32(x) // how far x is below xmax, modulo 2^32
		if back > 0 && back <= 1<<31 && uint64(back) <= xmax {
			h = min(h, xmax-uint64(back))
		}
	}
	return h
}

// Statements of EventStore.List: the events after position ($1, $2) whose
// transaction id is below $4 (the horizon), in position order, at most $3.
// One tenant's go through the index (tenant, txid, seq); every tenant's
// through the primary key, leaving out those of tenants whose deletion is
// in progress (see purge.go), which are gone for every reader at once.
const (
	listEventsSQL = "SELECT " + eventCols + ` FROM events e
		WHERE (e.txid, e.seq) > ($1::xid8, $2::bigint) AND e.txid < $4::xid8
			AND NOT EXISTS (SELECT 1 FROM tenant_deletions d WHERE d.key = e.tenant)
		ORDER BY e.txid, e.seq LIMIT $3`
	listTenantEventsSQL = "SELECT " + eventCols + ` FROM events e
		WHERE e.tenant = (SELECT key FROM tenants WHERE id = $5)
			AND (e.txid, e.seq) > ($1::xid8, $2::bigint) AND e.txid < $4::xid8
		ORDER BY e.txid, e.seq LIMIT $3`
)

// List returns the events after q.After in position order, (txid, seq),
// up to a horizon below which no event can appear any more, so that a
// reader that follows the cursor never skips one; next is the last event's
// cursor, or q.After if there is none.
//
// A bigserial alone would not do: seq is taken at insert, and a
// transaction that took a lower one may commit after a reader has passed
// it. The horizon is found by one statement and the events read by the
// next, with a later snapshot. The first takes the xmax of its snapshot
// (every transaction id below it had been handed out when it began), then
// lowers it to the id of every transaction that holds a shard of the
// event writer lock. Every transaction that writes events takes that lock before it
// has an id (lockTenantSQL) and keeps it until it ends, so any transaction
// below the horizon that may write events had ended when the first
// statement read the locks, and the second sees all it committed; events
// written later have ids at or above the horizon. This is what
// pg_snapshot_xmin would give, but counting only the transactions of
// Roster's writers on this schema: a long transaction elsewhere in the
// cluster (another schema's, a migration, another application's) does not
// hold the feed back, and a reader sees its own write at once.
//
// A cursor that does not parse, or whose transaction id was not handed
// out yet (so it comes from another database), is store.ErrInvalidCursor.
func (ev events) List(ctx context.Context, q store.EventQuery) ([]store.Event, string, error) {
	const op = "list events"
	txid, seq, err := parseCursor(q.After)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", op, err)
	}
	if ev.s.closed.Load() {
		return nil, "", store.ErrUnavailable
	}
	var (
		xmax uint64
		xids []int64
	)
	key := int64(ev.s.eventKey)
	if err := ev.s.pool.QueryRow(ctx, horizonSQL, int64(eventWriterLock), key, key+eventLockShards-1).Scan(&xmax, &xids); err != nil {
		return nil, "", ev.s.fail(op, err)
	}
	if q.After != "" && txid >= xmax {
		return nil, "", fmt.Errorf("%s: %w: %q names a transaction this database has not run", op, store.ErrInvalidCursor, q.After)
	}
	sql, args := listEventsSQL, []any{txid, seq, q.EffectiveLimit(), horizon(xmax, xids)}
	if q.Tenant != "" {
		sql, args = listTenantEventsSQL, append(args, q.Tenant)
	}
	out, err := list(ctx, ev.s, sql, op, scanEvent, args...)
	if err != nil {
		return nil, "", err
	}
	if len(out) == 0 {
		return nil, q.After, nil
	}
	return out, out[len(out)-1].Cursor, nil
}

func scanEvent(row pgx.Row) (store.Event, error) {
	var (
		e    store.Event
		txid uint64
		seq  int64
		at   time.Time
		data string
	)
	if err := row.Scan(&txid, &seq, &e.Tenant, &e.ID, &e.Type, &at, &e.ResourceType, &e.ResourceID, &data); err != nil {
		return e, err
	}
	e.Cursor, e.Time, e.Data = formatCursor(txid, seq), at.UTC(), json.RawMessage(data)
	return e, nil
}

// purgeEventsSQL deletes up to $2 events older than $1, oldest first, and
// moves the mark in events_purged to the newest position it deleted.
const purgeEventsSQL = `WITH d AS (
	DELETE FROM events WHERE (txid, seq) IN
		(SELECT txid, seq FROM events WHERE time < $1 ORDER BY time LIMIT $2)
	RETURNING txid, seq
), m AS (
	INSERT INTO events_purged (txid, seq)
	SELECT txid, seq FROM d ORDER BY txid DESC, seq DESC LIMIT 1
	ON CONFLICT (one) DO UPDATE SET txid = excluded.txid, seq = excluded.seq
	WHERE (events_purged.txid, events_purged.seq) < (excluded.txid, excluded.seq)
)
SELECT count(*) FROM d`

// Purge deletes up to limit events older than before, oldest first, and
// remembers the newest position it deleted for Oldest.
func (ev events) Purge(ctx context.Context, before time.Time, limit int) (int, error) {
	const op = "purge events"
	if limit <= 0 {
		return 0, nil
	}
	if ev.s.closed.Load() {
		return 0, store.ErrUnavailable
	}
	var n int64
	if err := ev.s.pool.QueryRow(ctx, purgeEventsSQL, before, limit).Scan(&n); err != nil {
		return 0, ev.s.fail(op, err)
	}
	return int(n), nil
}

// Oldest returns the position of the newest event Purge has deleted, ""
// if it has deleted none: a reader whose cursor is before it missed at
// least that event, and one at or after it missed nothing. (Purge deletes
// by age, so this is just before the oldest retained event.)
func (ev events) Oldest(ctx context.Context) (string, error) {
	const op = "oldest event"
	if ev.s.closed.Load() {
		return "", store.ErrUnavailable
	}
	var (
		txid uint64
		seq  int64
	)
	err := ev.s.pool.QueryRow(ctx, "SELECT txid, seq FROM events_purged").Scan(&txid, &seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", ev.s.fail(op, err)
	}
	return formatCursor(txid, seq), nil
}

// emitSQL inserts events for tenant key $1 (id $2) from the arrays $3-$8,
// in their order, and returns each one's txid and seq.
const emitSQL = `INSERT INTO events (tenant, tenant_id, id, type, time, resource_type, resource_id, data)
	SELECT $1, $2, e.id, e.type, e.time, e.resource_type, e.resource_id, e.data::json
	FROM unnest($3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::text[])
		WITH ORDINALITY AS e(id, type, time, resource_type, resource_id, data, n)
	ORDER BY e.n
	RETURNING txid, seq`

// Emit appends events that no resource change caused to the tenant's
// outbox. It locks the tenant as Record does, which also takes the event
// writers' lock that keeps readers from skipping the events (see
// events.List), and inserts them at once: notices are rare, so they need
// not wait for the commit's batch.
func (w *writer) Emit(ctx context.Context, tenant string, events []store.Event) error {
	const op = "emit events"
	if err := store.PrepareEmit(tenant, events, time.Now().UTC().Truncate(time.Microsecond)); err != nil {
		return err
	}
	k, err := w.tenant(ctx, op, tenant)
	if err != nil {
		return err
	}
	if len(events) == 0 {
		return nil
	}
	n := len(events)
	var (
		ids    = make([]string, n)
		types  = make([]string, n)
		times  = make([]time.Time, n)
		rtypes = make([]string, n)
		rids   = make([]string, n)
		data   = make([]string, n)
	)
	for i, e := range events {
		d := string(e.Data)
		if len(e.Data) == 0 {
			d = "null"
		}
		ids[i], types[i], times[i], rtypes[i], rids[i], data[i] = e.ID, e.Type, e.Time, e.ResourceType, e.ResourceID, d
	}
	if err := w.begin(ctx); err != nil {
		return w.s.fail(op, err)
	}
	rows, err := w.conn.Query(ctx, emitSQL, k, tenant, ids, types, times, rtypes, rids, data)
	if err != nil {
		return w.s.fail(op, err)
	}
	type pos struct {
		txid uint64
		seq  int64
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pos, error) {
		var p pos
		err := r.Scan(&p.txid, &p.seq)
		return p, err
	})
	if err != nil {
		return w.s.fail(op, err)
	}
	if len(got) != n {
		return fmt.Errorf("%s: inserted %d of %d events", op, len(got), n)
	}
	// The identity is drawn in the arrays' order: the smallest seq is the
	// first event's, whatever order RETURNING uses.
	slices.SortFunc(got, func(a, b pos) int { return cmp.Compare(a.seq, b.seq) })
	for i := range events {
		events[i].Cursor = formatCursor(got[i].txid, got[i].seq)
	}
	return nil
}
