package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlfilter"
)

// defaultCountShards is the number of rows resource_counts keeps per tenant
// and type (see migration 0001).
const defaultCountShards = 16

// Write runs fn in one READ COMMITTED transaction of its own and commits it.
// If fn returns an error (or panics), the transaction is rolled back and the
// error returned unchanged (the panic continues). A transaction that
// PostgreSQL aborts as a deadlock victim or a serialization failure is run
// again, fn included, a few times. When Write returns nil the transaction
// has committed (synchronous_commit decides how durably; the default, on,
// waits for the WAL flush).
//
// A userName or id clash in Create leaves the transaction usable; after
// any other error from the database PostgreSQL has aborted the transaction,
// and Write fails even if fn goes on and returns nil.
//
// A build older than the database's schema refuses writes with
// store.ErrSchemaAhead.
func (s *Store) Write(ctx context.Context, fn func(w store.Writer) error) error {
	if err := s.schema.Check(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(w *writer) error { return fn(w) })
}

func (s *Store) write(ctx context.Context, fn func(*writer) error) error {
	for attempt := 0; ; attempt++ {
		if s.closed.Load() {
			return store.ErrUnavailable
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.writeOnce(ctx, fn)
		if err == nil || !retryable(err) || attempt >= s.cfg.retries {
			return err
		}
		// Back off a little, more each time, with jitter: the other
		// transaction of the deadlock is finishing.
		d := time.Duration(1<<attempt) * time.Millisecond
		t := time.NewTimer(d + rand.N(d))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

// writeOnce runs fn in a transaction on a connection of its own. The
// transaction begins with the first statement fn runs, in the same round
// trip, and commits together with the write of the counts: a Create is
// three round trips (BEGIN and the tenant lock, the insert, the counts and
// COMMIT).
func (s *Store) writeOnce(ctx context.Context, fn func(*writer) error) (err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return s.fail("begin transaction", err)
	}
	w := &writer{s: s, conn: conn}
	done := false
	defer func() {
		if !done {
			// fn panicked: roll back, even if ctx has ended, and go on
			// panicking.
			w.rollback(ctx)
		}
		// The pool drops a connection left inside a transaction.
		conn.Release()
	}()
	err = fn(w)
	done = true
	if err != nil {
		w.rollback(ctx)
		return err
	}
	return w.commit(ctx)
}

// errRolledBack reports a transaction that PostgreSQL rolled back at
// COMMIT, because a statement in it had failed.
var errRolledBack = errors.New("the transaction was aborted by an earlier error and rolled back")

// commit writes the changes Record queued and the counts, and commits, in
// one round trip.
func (w *writer) commit(ctx context.Context) error {
	if !w.begun {
		return nil
	}
	b := &pgx.Batch{}
	for _, r := range w.records {
		b.Queue(recordSQL, r.args...)
	}
	flush := w.queueCounts(b)
	b.Queue("COMMIT")
	br := w.conn.SendBatch(ctx, b)
	var (
		err error
		tag pgconn.CommandTag
	)
	for _, r := range w.records {
		if err != nil {
			break
		}
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			err = r.scan(rows)
		}
	}
	if flush && err == nil {
		_, err = br.Exec()
	}
	if err == nil {
		tag, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && tag.String() != "COMMIT" {
		err = errRolledBack
	}
	if err != nil {
		w.rollback(ctx)
		return w.s.fail("commit", err)
	}
	w.begun = false
	for _, r := range w.records {
		r.apply()
	}
	w.s.noteCreated(w.counts)
	for _, fn := range w.committed {
		fn()
	}
	return nil
}

// analyzeEvery is how many creates through a Store trigger a check for
// stale statistics (Maintain analyzes only tables changed by a tenth).
const analyzeEvery = 2000

// noteCreated counts the resources a committed write created and triggers
// Maintain every analyzeEvery of them.
func (s *Store) noteCreated(counts map[countKey]int64) {
	var n int64
	for _, d := range counts {
		n += max(d, 0)
	}
	if n == 0 {
		return
	}
	if total := s.created.Add(n); total/analyzeEvery != (total-n)/analyzeEvery {
		s.analyzer.Trigger()
	}
}

// rollback ends the transaction, if one began, even if ctx has ended; if it
// cannot, it closes the connection, which rolls back on the server.
func (w *writer) rollback(ctx context.Context) {
	if !w.begun {
		return
	}
	w.begun = false
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := w.conn.Exec(ctx, "ROLLBACK"); err != nil {
		_ = w.conn.Conn().Close(ctx)
	}
}

// writer implements store.Writer on one transaction.
type writer struct {
	s       *Store
	conn    *pgxpool.Conn
	begun   bool               // BEGIN has been sent
	keys    map[string]int64   // tenants locked by this transaction
	counts  map[countKey]int64 // changes to resource_counts, written at the end
	order   []countKey         // keys of counts, in first-use order
	records []*pendingRecord   // changes Record queued for the commit
	// committed holds what to do once the transaction commits, such as
	// forgetting a deleted tenant's cached key.
	committed []func()
}

// afterCommit runs fn once the transaction has committed.
func (w *writer) afterCommit(fn func()) { w.committed = append(w.committed, fn) }

// Tenants returns the writer of tenants.
func (w *writer) Tenants() store.TenantWriter { return tenantWriter{w} }

// Tokens returns the writer of tokens.
func (w *writer) Tokens() store.TokenWriter { return tokenWriter{w} }

// OAuthClients returns the writer of OAuth clients.
func (w *writer) OAuthClients() store.OAuthClientWriter { return oauthClientWriter{w} }

// Admins returns the writer of admins and sessions.
func (w *writer) Admins() store.AdminWriter { return adminWriter{w} }

// Webhooks returns the writer of webhook endpoints.
func (w *writer) Webhooks() store.WebhookWriter { return webhookWriter{w} }

// Settings returns the writer of server-wide settings.
func (w *writer) Settings() store.SettingsWriter { return settingsWriter{w} }

// Audit returns the writer of the audit log.
func (w *writer) Audit() store.AuditWriter { return auditWriter{w} }

type countKey struct {
	tenant int64
	typ    string
}

var _ store.Writer = (*writer)(nil)

// begin starts the transaction unless it has begun.
func (w *writer) begin(ctx context.Context) error {
	if w.begun {
		return nil
	}
	if _, err := w.conn.Exec(ctx, "BEGIN"); err != nil {
		return err
	}
	w.begun = true
	return nil
}

// lockTenantSQL reads a tenant's key and locks its row FOR KEY SHARE until
// the transaction ends. Many transactions hold that lock at once, but
// deleting the tenant waits for all of them, so no write can add rows under
// the key of a tenant already deleted.
//
// It first takes, shared, a shard of the advisory lock ($2, $3) that marks
// the transaction as one that may write events (see events.List): the
// function scan runs before the row is locked, which is what gives the
// transaction its id, so every transaction id that may write events
// belongs to a holder of that lock.
const lockTenantSQL = "SELECT t.key FROM pg_advisory_xact_lock_shared($2, $3) l, tenants t WHERE t.id = $1 FOR KEY SHARE OF t"

// eventLockShard returns the second key of a shard of the event writer
// lock, picked at random.
func (s *Store) eventLockShard() int32 { return s.eventKey + int32(rand.IntN(eventLockShards)) }

// tenant returns the key of a tenant and locks it (lockTenantSQL); every
// writer method calls it first, so it also begins the transaction, in the
// same round trip. A tenant that does not exist is store.ErrNotFound.
func (w *writer) tenant(ctx context.Context, op, tenant string) (int64, error) {
	if k, ok := w.keys[tenant]; ok {
		return k, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var k int64
	var err error
	if w.begun {
		err = w.conn.QueryRow(ctx, lockTenantSQL, tenant, eventWriterLock, w.s.eventLockShard()).Scan(&k)
	} else {
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		b.Queue(lockTenantSQL, tenant, eventWriterLock, w.s.eventLockShard())
		br := w.conn.SendBatch(ctx, b)
		if _, err = br.Exec(); err == nil {
			w.begun = true
			err = br.QueryRow().Scan(&k)
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("%s: tenant %q: %w", op, tenant, store.ErrNotFound)
	}
	if err != nil {
		return 0, w.s.fail(op, err)
	}
	if w.keys == nil {
		w.keys = map[string]int64{}
	}
	w.keys[tenant] = k
	return k, nil
}

// count records a change of the number of resources of a tenant and type.
func (w *writer) count(k int64, typ string, delta int64) {
	if w.counts == nil {
		w.counts = map[countKey]int64{}
	}
	ck := countKey{k, typ}
	if _, ok := w.counts[ck]; !ok {
		w.order = append(w.order, ck)
	}
	w.counts[ck] += delta
}

// queueCounts queues the statement that adds the transaction's changes to
// one shard of resource_counts, picked at random, in key order, so that
// transactions lock counter rows in the same order and hold them only for
// the commit. It reports whether there was anything to queue.
func (w *writer) queueCounts(b *pgx.Batch) bool {
	var (
		tenants []int64
		types   []string
		deltas  []int64
	)
	for _, ck := range w.order {
		if d := w.counts[ck]; d != 0 {
			tenants, types, deltas = append(tenants, ck.tenant), append(types, ck.typ), append(deltas, d)
		}
	}
	if len(tenants) == 0 {
		return false
	}
	b.Queue(`INSERT INTO resource_counts (tenant, type, shard, n)
		SELECT c.tenant, c.type, $4, c.n FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS c(tenant, type, n)
		ORDER BY c.tenant, c.type
		ON CONFLICT (tenant, type, shard) DO UPDATE SET n = resource_counts.n + excluded.n`,
		tenants, types, deltas, int16(rand.IntN(w.s.cfg.countShards)))
	return true
}

func opName(verb, typ string) string { return verb + " " + strings.ToLower(typ) }

// Get reads a resource and locks it FOR NO KEY UPDATE: another transaction's
// Get or Update of it waits until this one ends, while adding it to a group
// (a KEY SHARE lock) does not.
func (w *writer) Get(ctx context.Context, tenant, typ, id string) (store.Resource, error) {
	op := opName("get", typ)
	k, err := w.tenant(ctx, op, tenant)
	if err != nil {
		return store.Resource{}, err
	}
	r, err := scanResource(w.conn.QueryRow(ctx, "SELECT "+resourceCols+
		" FROM resources r WHERE r.tenant = $1 AND r.id = $2 AND r.type = $3 FOR NO KEY UPDATE", k, id, typ), tenant, typ)
	if err != nil {
		return r, w.s.notFound(op, id, err)
	}
	return r, nil
}

// valuesSQL inserts the resource_values rows of resource u.seq from the
// arrays $11-$17 (see elementArrays); it is a CTE of the statements that
// write a resource.
const valuesSQL = `INSERT INTO resource_values (resource_seq, attr, idx, tenant, value_fold, type_fold, is_primary, present, elem)
	SELECT u.seq, e.attr, e.idx, $1, e.value_fold, e.type_fold, e.is_primary, e.present, e.elem::jsonb
	FROM u, unnest($11::text[], $12::int[], $13::text[], $14::text[], $15::bool[], $16::bool[], $17::text[])
		AS e(attr, idx, value_fold, type_fold, is_primary, present, elem)`

// createSQL inserts a resource and its resource_values rows. A clash with
// the id or the userName of another resource inserts nothing and returns no
// row; it does not abort the transaction. Of concurrent inserts of one
// userName, the later ones wait for the first to commit or roll back.
const createSQL = `WITH u AS (
	INSERT INTO resources (tenant, type, id, user_name_fold, external_id, display_name_fold, display, attrs, created, modified, version)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1)
	ON CONFLICT DO NOTHING
	RETURNING seq
), v AS (` + valuesSQL + `)
SELECT seq FROM u`

// updateSQL replaces a resource's columns and resource_values rows if its
// version is $10-1. The DELETE and INSERT of resource_values see the table as
// it was before the statement, so the new rows are not deleted.
const updateSQL = `WITH u AS (
	UPDATE resources SET user_name_fold = $4, external_id = $5, display_name_fold = $6, display = $7, attrs = $8,
		modified = $9, version = $10
	WHERE tenant = $1 AND type = $2 AND id = $3 AND version = $10 - 1
	RETURNING seq
), d AS (
	DELETE FROM resource_values v USING u WHERE v.resource_seq = u.seq
), v AS (` + valuesSQL + `)
SELECT seq FROM u`

// Create inserts a resource with Version 1 and its resource_values rows, and
// counts it. A zero Created is set to now, a zero Modified to Created.
func (w *writer) Create(ctx context.Context, r store.Resource) error {
	op := opName("create", r.Type)
	if r.ID == "" || r.Type == "" {
		return fmt.Errorf("%s: resource needs an id and a type", op)
	}
	k, err := w.tenant(ctx, op, r.Tenant)
	if err != nil {
		return err
	}
	args, err := resourceArgs(k, r, time.Now())
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	var seq int64
	err = w.conn.QueryRow(ctx, createSQL, args...).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s %s: the id or userName is taken: %w", op, r.ID, store.ErrConflict)
	}
	if err != nil {
		return w.s.fail(op, err)
	}
	w.count(k, r.Type, 1)
	return nil
}

// resourceArgs returns the arguments $1-$17 of createSQL and updateSQL.
func resourceArgs(k int64, r store.Resource, now time.Time) ([]any, error) {
	attrs, err := sqlfilter.EncodeAttrs(r.Attrs)
	if err != nil {
		return nil, err
	}
	if r.Created.IsZero() {
		r.Created = now
	}
	if r.Modified.IsZero() {
		r.Modified = r.Created
	}
	c := columnsOf(r.Type, r.Attrs)
	args := []any{k, r.Type, r.ID, c.userName, c.externalID, c.displayName, c.display, attrs,
		sqlfilter.FormatTime(r.Created), sqlfilter.FormatTime(r.Modified)}
	return elementArrays(args, r.Attrs)
}

// elementArrays appends the resource_values rows of attrs as seven arrays,
// one per column, to args.
func elementArrays(args []any, attrs map[string]any) ([]any, error) {
	els := sqlfilter.Elements(attrs)
	var (
		names   = make([]string, len(els))
		idx     = make([]int32, len(els))
		values  = make([]*string, len(els))
		types   = make([]*string, len(els))
		primary = make([]*bool, len(els))
		present = make([]bool, len(els))
		elems   = make([]string, len(els))
	)
	for i, e := range els {
		elem, err := sqlfilter.EncodeValue(e.Elem)
		if err != nil {
			return nil, err
		}
		names[i], idx[i], present[i], elems[i] = e.Attr, int32(e.Index), e.Present, elem
		if s, ok := e.ValueFold.(string); ok {
			values[i] = &s
		}
		if s, ok := e.TypeFold.(string); ok {
			types[i] = &s
		}
		if b, ok := e.Primary.(bool); ok {
			primary[i] = &b
		}
	}
	return append(args, names, idx, values, types, primary, present, elems), nil
}

// Update replaces a resource's attributes, Modified and Version, provided
// the stored version is r.Version-1, and its resource_values rows.
func (w *writer) Update(ctx context.Context, r store.Resource) error {
	op := opName("update", r.Type)
	k, err := w.tenant(ctx, op, r.Tenant)
	if err != nil {
		return err
	}
	if r.Modified.IsZero() {
		r.Modified = time.Now()
	}
	args, err := resourceArgs(k, r, r.Modified)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	// createSQL's $9 (created) is not used here; $10 is the version.
	args[8], args[9] = args[9], r.Version
	var seq int64
	err = w.conn.QueryRow(ctx, updateSQL, args...).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		var v int64
		err := w.conn.QueryRow(ctx, "SELECT version FROM resources WHERE tenant = $1 AND id = $2 AND type = $3", k, r.ID, r.Type).Scan(&v)
		if err != nil {
			return w.s.notFound(op, r.ID, err)
		}
		return fmt.Errorf("%s %s: stored version is %d, the write is based on %d: %w",
			op, r.ID, v, r.Version-1, store.ErrPrecondition)
	}
	return w.s.fail(op, err)
}

// deleteSQL deletes a resource and its resource_values rows; the foreign
// keys of memberships delete those it takes part in.
const deleteSQL = `WITH d AS (
	DELETE FROM resources WHERE tenant = $1 AND id = $2 AND type = $3 RETURNING seq
), v AS (
	DELETE FROM resource_values v USING d WHERE v.resource_seq = d.seq
)
SELECT seq FROM d`

// Delete removes a resource, its resource_values rows and every membership
// it takes part in, and uncounts it.
func (w *writer) Delete(ctx context.Context, tenant, typ, id string) error {
	op := opName("delete", typ)
	k, err := w.tenant(ctx, op, tenant)
	if err != nil {
		return err
	}
	var seq int64
	if err := w.conn.QueryRow(ctx, deleteSQL, k, id, typ).Scan(&seq); err != nil {
		return w.s.notFound(op, id, err)
	}
	w.count(k, typ, -1)
	return nil
}

// addMembersSQL adds the members $3 (of which $4 are distinct) to group $2
// of tenant $1, in one statement: it looks the group and the members up
// through the (tenant, id) index and inserts a membership row for each
// member, ignoring those that exist, in the order of their seq so that
// concurrent adds to one group take their locks in the same order. It
// inserts nothing unless every id names a resource of the tenant. It returns
// a row with the group's seq (NULL if there is no such group) and no id, and
// one per member found with its id and whether it was added. The group's
// other members are never read.
const addMembersSQL = `WITH g AS (
	SELECT seq FROM resources WHERE tenant = $1 AND id = $2 AND type = '` + schema.GroupResource + `'
), m AS (
	SELECT seq, id FROM resources WHERE tenant = $1 AND id = ANY($3::text[])
), i AS (
	INSERT INTO memberships (group_seq, member_seq)
	SELECT g.seq, m.seq FROM g, m WHERE (SELECT count(*) FROM m) = $4 ORDER BY m.seq
	ON CONFLICT DO NOTHING
	RETURNING member_seq
)
SELECT (SELECT seq FROM g), NULL, FALSE
UNION ALL
SELECT NULL, m.id, i.member_seq IS NOT NULL FROM m LEFT JOIN i ON i.member_seq = m.seq`

// AddMembers adds members to a group with addMembersSQL and returns those it
// added, in the order given.
func (w *writer) AddMembers(ctx context.Context, tenant, groupID string, ids []string) ([]string, error) {
	const op = "add members"
	k, err := w.tenant(ctx, op, tenant)
	if err != nil {
		return nil, err
	}
	distinct := uniq(ids)
	rows, err := w.conn.Query(ctx, addMembersSQL, k, groupID, distinct, len(distinct))
	if err != nil {
		return nil, w.s.fail(op, err)
	}
	var (
		group   *int64
		found   = make(map[string]bool, len(distinct))
		isAdded = make(map[string]bool, len(distinct))
	)
	for rows.Next() {
		var (
			g     *int64
			id    *string
			added bool
		)
		if err := rows.Scan(&g, &id, &added); err != nil {
			rows.Close()
			return nil, w.s.fail(op, err)
		}
		if id == nil {
			group = g
			continue
		}
		found[*id] = true
		isAdded[*id] = added
	}
	if err := rows.Err(); err != nil {
		return nil, w.s.fail(op, err)
	}
	if group == nil {
		return nil, fmt.Errorf("%s: group %s: %w", op, groupID, store.ErrNotFound)
	}
	added := make([]string, 0, len(distinct))
	for _, id := range distinct {
		if !found[id] {
			return nil, &store.MemberError{ID: id}
		}
		if isAdded[id] {
			added = append(added, id)
		}
	}
	return added, nil
}

// removeMembersSQL deletes the memberships of the members $3 in group $2 of
// tenant $1. One row holds the group's seq (NULL if there is no such group)
// and no id, the others the ids removed.
const removeMembersSQL = `WITH g AS (
	SELECT seq FROM resources WHERE tenant = $1 AND id = $2 AND type = '` + schema.GroupResource + `'
), d AS (
	DELETE FROM memberships m USING g, resources x
	WHERE m.group_seq = g.seq AND m.member_seq = x.seq AND x.tenant = $1 AND x.id = ANY($3::text[])
	RETURNING x.id
)
SELECT (SELECT seq FROM g), NULL
UNION ALL
SELECT NULL, id FROM d`

// RemoveMembers deletes the membership rows of the given ids and returns
// those it removed, in the order given.
func (w *writer) RemoveMembers(ctx context.Context, tenant, groupID string, ids []string) ([]string, error) {
	const op = "remove members"
	k, err := w.tenant(ctx, op, tenant)
	if err != nil {
		return nil, err
	}
	distinct := uniq(ids)
	rows, err := w.conn.Query(ctx, removeMembersSQL, k, groupID, distinct)
	if err != nil {
		return nil, w.s.fail(op, err)
	}
	var (
		group *int64
		gone  = map[string]bool{}
	)
	for rows.Next() {
		var (
			g  *int64
			id *string
		)
		if err := rows.Scan(&g, &id); err != nil {
			rows.Close()
			return nil, w.s.fail(op, err)
		}
		if id == nil {
			group = g
			continue
		}
		gone[*id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, w.s.fail(op, err)
	}
	if group == nil {
		return nil, fmt.Errorf("%s: group %s: %w", op, groupID, store.ErrNotFound)
	}
	removed := make([]string, 0, len(gone))
	for _, id := range distinct {
		if gone[id] {
			removed = append(removed, id)
		}
	}
	return removed, nil
}

// clearMembersOfSQL deletes every membership of group $2 of tenant $1. One
// row holds the group's seq (NULL if there is no such group) and no id, the
// others the seq and id of each member removed.
const clearMembersOfSQL = `WITH g AS (
	SELECT seq FROM resources WHERE tenant = $1 AND id = $2 AND type = '` + schema.GroupResource + `'
), d AS (
	DELETE FROM memberships m USING g, resources x WHERE m.group_seq = g.seq AND x.seq = m.member_seq
	RETURNING m.member_seq, x.id
)
SELECT (SELECT seq FROM g), NULL
UNION ALL
SELECT member_seq, id FROM d`

// ClearMembers deletes every membership row of the group and returns the
// ids of the members it removed, in the order of their creation.
func (w *writer) ClearMembers(ctx context.Context, tenant, groupID string) ([]string, error) {
	const op = "clear members"
	k, err := w.tenant(ctx, op, tenant)
	if err != nil {
		return nil, err
	}
	rows, err := w.conn.Query(ctx, clearMembersOfSQL, k, groupID)
	if err != nil {
		return nil, w.s.fail(op, err)
	}
	type member struct {
		seq int64
		id  string
	}
	var (
		group   *int64
		removed []member
	)
	for rows.Next() {
		var (
			seq *int64
			id  *string
		)
		if err := rows.Scan(&seq, &id); err != nil {
			rows.Close()
			return nil, w.s.fail(op, err)
		}
		if id == nil {
			group = seq
			continue
		}
		removed = append(removed, member{*seq, *id})
	}
	if err := rows.Err(); err != nil {
		return nil, w.s.fail(op, err)
	}
	if group == nil {
		return nil, fmt.Errorf("%s: group %s: %w", op, groupID, store.ErrNotFound)
	}
	slices.SortFunc(removed, func(a, b member) int { return cmp.Compare(a.seq, b.seq) })
	ids := make([]string, len(removed))
	for i, m := range removed {
		ids[i] = m.id
	}
	return ids, nil
}

// Members streams the members of a group as the transaction sees them, in
// the order of their creation. fn must not call the writer: the members'
// rows are being read from its connection.
func (w *writer) Members(ctx context.Context, tenant, groupID string, fn func(store.Member) error) error {
	const op = "list members"
	k, err := w.tenant(ctx, op, tenant)
	if err != nil {
		return err
	}
	var seq int64
	err = w.conn.QueryRow(ctx, "SELECT seq FROM resources WHERE tenant = $1 AND id = $2 AND type = '"+schema.GroupResource+"'",
		k, groupID).Scan(&seq)
	if err != nil {
		return w.s.notFound(op, groupID, err)
	}
	rows, err := w.conn.Query(ctx, membersSQL, seq)
	if err != nil {
		return w.s.fail(op, err)
	}
	return streamMembers(rows, fn, func(err error) error { return w.s.fail(op, err) })
}

// uniq returns ids without repetitions, in their order.
func uniq(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return slices.Clip(out)
}

// columns are the indexed columns derived from a resource's attributes.
type columns struct {
	userName, externalID, displayName *string // NULL (nil) when absent
	display                           string
}

// columnsOf derives the indexed columns: folded userName (users only),
// externalId, folded displayName, and the display name memberships show:
// displayName, or for a user without one, userName.
func columnsOf(typ string, attrs map[string]any) columns {
	var c columns
	userName, hasUserName := attrs["userName"].(string)
	if hasUserName && typ == schema.UserResource {
		f := filter.Fold(userName)
		c.userName = &f
	}
	if s, ok := attrs["externalId"].(string); ok {
		c.externalID = &s
	}
	if s, ok := attrs["displayName"].(string); ok {
		f := filter.Fold(s)
		c.displayName = &f
		c.display = s
	}
	if c.display == "" && typ == schema.UserResource {
		c.display = userName
	}
	return c
}
