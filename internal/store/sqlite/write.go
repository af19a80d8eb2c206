package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlfilter"
)

// Write runs fn in one write transaction on the write connection. If fn
// returns an error (or panics), nothing it wrote is kept and the error is
// returned unchanged (the panic continues in the caller). When Write returns
// nil the transaction has committed. fn must not call Write.
//
// With group commit (the default) fn runs on the writer goroutine, batched
// with other callers' functions inside one transaction; see the package
// documentation.
//
// A build older than the database's schema refuses writes with
// store.ErrSchemaAhead.
func (s *Store) Write(ctx context.Context, fn func(w store.Writer) error) error {
	if err := s.schema.Check(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(w *writer) error { return fn(w) })
}

// write runs fn in a write transaction, by group commit or directly.
func (s *Store) write(ctx context.Context, fn func(*writer) error) error {
	if s.closed.Load() {
		return store.ErrUnavailable
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var err error
	if s.cfg.groupCommit {
		err = s.submit(ctx, fn)
	} else {
		err = s.direct(ctx, fn)
	}
	if pe, ok := err.(*panicError); ok {
		panic(pe.val)
	}
	return err
}

// panicError carries a panic of a write function from the writer goroutine
// back to the caller's goroutine, where it panics again.
type panicError struct {
	val   any
	stack []byte
}

func (p *panicError) Error() string {
	return fmt.Sprintf("write function panicked: %v\n%s", p.val, p.stack)
}

// call runs fn, turning a panic into a *panicError.
func (s *Store) call(fn func(*writer) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{val: v, stack: debug.Stack()}
		}
	}()
	return fn(s.w)
}

// direct runs fn in a transaction of its own, in the caller's goroutine.
func (s *Store) direct(ctx context.Context, fn func(*writer) error) error {
	select {
	case s.wmu <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return store.ErrUnavailable
	}
	defer func() { <-s.wmu }()
	if s.closed.Load() {
		return store.ErrUnavailable
	}
	if _, err := s.ws.begin.Exec(); err != nil {
		return s.fail("begin transaction", err)
	}
	if err := s.call(fn); err != nil {
		s.rollbackTx()
		s.w.finish(false)
		return err
	}
	if _, err := s.ws.commit.Exec(); err != nil {
		s.rollbackTx()
		s.w.finish(false)
		return s.fail("commit", err)
	}
	s.w.finish(true)
	return nil
}

func (s *Store) rollbackTx() { _, _ = s.ws.rollback.Exec() }

// writeReq is one Write call waiting for the group commit goroutine.
type writeReq struct {
	ctx  context.Context
	fn   func(*writer) error
	done chan error
}

// submit hands fn to the group commit goroutine and waits for the outcome.
// Once handed over it waits even if ctx ends, because fn may already have
// run and be about to commit; the goroutine skips functions whose context
// has ended before they start.
func (s *Store) submit(ctx context.Context, fn func(*writer) error) error {
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return store.ErrUnavailable
	}
	return <-r.done
}

// commitLoop is the group commit goroutine.
func (s *Store) commitLoop() {
	defer close(s.stopped)
	batch := make([]*writeReq, 0, s.cfg.maxBatch)
	for {
		select {
		case r := <-s.reqs:
			batch = s.runBatch(r, batch[:0])
			clear(batch)
		case <-s.closing:
			return
		}
	}
}

// runBatch runs first and then every request already waiting, up to
// maxBatch, in one transaction, and answers them after the commit. The first
// function needs no savepoint: if it fails, the whole transaction is rolled
// back. The others each run after SAVEPOINT w; a failure rolls back to it.
func (s *Store) runBatch(first *writeReq, batch []*writeReq) []*writeReq {
	if err := first.ctx.Err(); err != nil {
		first.done <- err
		return batch
	}
	if _, err := s.ws.begin.Exec(); err != nil {
		first.done <- s.fail("begin transaction", err)
		return batch
	}
	if err := s.call(first.fn); err != nil {
		s.rollbackTx()
		s.w.finish(false)
		first.done <- err
		return batch
	}
	batch = append(batch, first)
	// abort fails the whole batch after the transaction broke.
	abort := func(err error) []*writeReq {
		s.rollbackTx()
		s.w.finish(false)
		for _, b := range batch {
			b.done <- err
		}
		return batch
	}
more:
	for len(batch) < s.cfg.maxBatch {
		var r *writeReq
		select {
		case r = <-s.reqs:
		default:
			break more
		}
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		if _, err := s.ws.savepoint.Exec(); err != nil {
			err = s.fail("savepoint", err)
			r.done <- err
			return abort(err)
		}
		hooks := len(s.w.committed)
		if err := s.call(r.fn); err != nil {
			// What r.fn asked to run after the commit goes with its
			// changes.
			s.w.committed = s.w.committed[:hooks]
			if _, rerr := s.ws.rollbackTo.Exec(); rerr != nil {
				// The statement that failed took the transaction with it.
				r.done <- err
				return abort(s.fail("write batch", errors.Join(err, rerr)))
			}
			if _, rerr := s.ws.release.Exec(); rerr != nil {
				r.done <- err
				return abort(s.fail("release savepoint", rerr))
			}
			r.done <- err
			continue
		}
		if _, err := s.ws.release.Exec(); err != nil {
			err = s.fail("release savepoint", err)
			r.done <- err
			return abort(err)
		}
		batch = append(batch, r)
	}
	_, err := s.ws.commit.Exec()
	if err != nil {
		s.rollbackTx()
		err = s.fail("commit", err)
	}
	s.w.finish(err == nil)
	for _, b := range batch {
		b.done <- err
	}
	return batch
}

// writer implements store.Writer on the write connection. Its statements run
// without the caller's context, because an interrupted statement would roll
// back the whole (possibly shared) transaction; each method checks the
// context before it starts instead.
type writer struct {
	s *Store
	// committed holds what to do once the transaction commits, such as
	// forgetting a deleted tenant's cached key; with group commit, a
	// function rolled back to its savepoint takes its own out again.
	committed []func()
	// multi holds the multi-row inserts of the provisioning store, by
	// shape (see multiRow).
	multi map[multiRowKey]*sql.Stmt
}

var _ store.Writer = (*writer)(nil)

// afterCommit runs fn once the transaction has committed.
func (w *writer) afterCommit(fn func()) { w.committed = append(w.committed, fn) }

// finish runs the after-commit functions if the transaction committed and
// forgets them either way.
func (w *writer) finish(committed bool) {
	fns := w.committed
	w.committed = nil
	if committed {
		for _, fn := range fns {
			fn()
		}
	}
}

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

// Members streams the members of a group as the transaction sees them, in
// the order of their creation. fn must not call the writer: the members'
// cursor is open on its connection.
func (w *writer) Members(ctx context.Context, tenant, groupID string, fn func(store.Member) error) error {
	const op = "list members"
	_, seq, err := w.group(ctx, op, tenant, groupID)
	if err != nil {
		return err
	}
	rows, err := w.s.ws.members.Query(seq)
	if err != nil {
		return w.s.fail(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var m store.Member
		if err := rows.Scan(&m.Value, &m.Type, &m.Display); err != nil {
			return w.s.fail(op, err)
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return w.s.fail(op, err)
	}
	return nil
}

// tenant returns the tenant key, or store.ErrNotFound.
func (w *writer) tenant(ctx context.Context, op, tenant string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	k, ok, err := w.s.tenantKey(tenant, w.s.ws.tenantKey)
	if err != nil {
		return 0, w.s.fail(op, err)
	}
	if !ok {
		return 0, fmt.Errorf("%s: tenant %q: %w", op, tenant, store.ErrNotFound)
	}
	return k, nil
}

func opName(verb, typ string) string { return verb + " " + strings.ToLower(typ) }

// Get reads a resource inside the transaction. The transaction holds the
// database's write lock, so the resource cannot change until it ends.
func (w *writer) Get(ctx context.Context, tenant, typ, id string) (store.Resource, error) {
	op := opName("get", typ)
	k, err := w.tenant(ctx, op, tenant)
	if err != nil {
		return store.Resource{}, err
	}
	r, err := scanResource(w.s.ws.getResource.QueryRow(k, id, typ), tenant, typ)
	if err != nil {
		return r, w.s.notFound(op, id, err)
	}
	return r, nil
}

// Create inserts a resource with Version 1, its resource_values rows, and
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
	attrs, err := sqlfilter.EncodeAttrs(r.Attrs)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if r.Created.IsZero() {
		r.Created = time.Now()
	}
	if r.Modified.IsZero() {
		r.Modified = r.Created
	}
	c := columnsOf(r.Type, r.Attrs)
	res, err := w.s.ws.insertResource.Exec(k, r.Type, r.ID, c.userName, c.externalID, c.displayName, c.display,
		attrs, sqlfilter.FormatTime(r.Created), sqlfilter.FormatTime(r.Modified))
	if err != nil {
		return w.s.fail(op, err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return w.s.fail(op, err)
	}
	if err := w.insertValues(k, seq, r.Attrs); err != nil {
		return w.s.fail(op, err)
	}
	if _, err := w.s.ws.addCount.Exec(k, r.Type, 1); err != nil {
		return w.s.fail(op, err)
	}
	return nil
}

// Update replaces a resource's attributes, Modified and Version, provided
// the stored version is r.Version-1, and rewrites its resource_values rows.
func (w *writer) Update(ctx context.Context, r store.Resource) error {
	op := opName("update", r.Type)
	k, err := w.tenant(ctx, op, r.Tenant)
	if err != nil {
		return err
	}
	attrs, err := sqlfilter.EncodeAttrs(r.Attrs)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if r.Modified.IsZero() {
		r.Modified = time.Now()
	}
	c := columnsOf(r.Type, r.Attrs)
	var seq int64
	err = w.s.ws.updateResource.QueryRow(k, r.ID, r.Type, c.userName, c.externalID, c.displayName, c.display,
		attrs, sqlfilter.FormatTime(r.Modified), r.Version).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		var v int64
		err := w.s.ws.versionOf.QueryRow(k, r.ID, r.Type).Scan(&v)
		if err != nil {
			return w.s.notFound(op, r.ID, err)
		}
		return fmt.Errorf("%s %s: stored version is %d, the write is based on %d: %w",
			op, r.ID, v, r.Version-1, store.ErrPrecondition)
	}
	if err != nil {
		return w.s.fail(op, err)
	}
	if _, err := w.s.ws.deleteValues.Exec(seq); err != nil {
		return w.s.fail(op, err)
	}
	if err := w.insertValues(k, seq, r.Attrs); err != nil {
		return w.s.fail(op, err)
	}
	return nil
}

// Delete removes a resource, its resource_values rows and every membership
// it takes part in, and uncounts it.
func (w *writer) Delete(ctx context.Context, tenant, typ, id string) error {
	op := opName("delete", typ)
	k, err := w.tenant(ctx, op, tenant)
	if err != nil {
		return err
	}
	var seq int64
	if err := w.s.ws.deleteResource.QueryRow(k, id, typ).Scan(&seq); err != nil {
		return w.s.notFound(op, id, err)
	}
	for _, st := range []*sql.Stmt{w.s.ws.deleteValues, w.s.ws.deleteGroupMembers, w.s.ws.deleteMember} {
		if _, err := st.Exec(seq); err != nil {
			return w.s.fail(op, err)
		}
	}
	if _, err := w.s.ws.addCount.Exec(k, typ, -1); err != nil {
		return w.s.fail(op, err)
	}
	return nil
}

// group returns the tenant key and seq of a group, or store.ErrNotFound.
func (w *writer) group(ctx context.Context, op, tenant, groupID string) (k, seq int64, err error) {
	if k, err = w.tenant(ctx, op, tenant); err != nil {
		return 0, 0, err
	}
	var typ string
	err = w.s.ws.lookup.QueryRow(k, groupID).Scan(&seq, &typ)
	if err == nil && typ != schema.GroupResource {
		err = sql.ErrNoRows
	}
	if err != nil {
		return 0, 0, w.s.notFound(op, groupID, err)
	}
	return k, seq, nil
}

// AddMembers inserts one membership row per id that is not a member yet: a
// single INSERT ... SELECT through the (tenant, id) index, plus a lookup
// only when nothing was inserted, to tell an existing member from an unknown
// id. The group's other members are never read.
func (w *writer) AddMembers(ctx context.Context, tenant, groupID string, ids []string) ([]string, error) {
	const op = "add members"
	k, gseq, err := w.group(ctx, op, tenant, groupID)
	if err != nil {
		return nil, err
	}
	added := make([]string, 0, len(ids))
	for _, id := range ids {
		res, err := w.s.ws.addMember.Exec(gseq, k, id)
		if err != nil {
			return nil, w.s.fail(op, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			added = append(added, id)
			continue
		}
		var seq int64
		var typ string
		if err := w.s.ws.lookup.QueryRow(k, id).Scan(&seq, &typ); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil, &store.MemberError{ID: id}
			}
			return nil, w.s.fail(op, err)
		}
	}
	return added, nil
}

// RemoveMembers deletes the membership rows of the given ids.
func (w *writer) RemoveMembers(ctx context.Context, tenant, groupID string, ids []string) ([]string, error) {
	const op = "remove members"
	k, gseq, err := w.group(ctx, op, tenant, groupID)
	if err != nil {
		return nil, err
	}
	removed := make([]string, 0, len(ids))
	for _, id := range ids {
		res, err := w.s.ws.removeMember.Exec(gseq, k, id)
		if err != nil {
			return nil, w.s.fail(op, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			removed = append(removed, id)
		}
	}
	return removed, nil
}

// insertValues writes the resource_values rows of attrs.
func (w *writer) insertValues(k, seq int64, attrs map[string]any) error {
	for _, e := range sqlfilter.Elements(attrs) {
		elem, err := sqlfilter.EncodeValue(e.Elem)
		if err != nil {
			return err
		}
		if _, err := w.s.ws.insertValue.Exec(seq, e.Attr, e.Index, k, e.ValueFold, e.TypeFold, e.Primary, e.Present, elem); err != nil {
			return err
		}
	}
	return nil
}

// columns are the indexed columns derived from a resource's attributes.
type columns struct {
	userName, externalID, displayName any // NULL (nil) when absent
	display                           string
}

// columnsOf derives the indexed columns: folded userName (users only),
// externalId, folded displayName, and the display name memberships show:
// displayName, or for a user without one, userName.
func columnsOf(typ string, attrs map[string]any) columns {
	var c columns
	userName, hasUserName := attrs["userName"].(string)
	if hasUserName && typ == schema.UserResource {
		c.userName = filter.Fold(userName)
	}
	if s, ok := attrs["externalId"].(string); ok {
		c.externalID = s
	}
	if s, ok := attrs["displayName"].(string); ok {
		c.displayName = filter.Fold(s)
		c.display = s
	}
	if c.display == "" && typ == schema.UserResource {
		c.display = userName
	}
	return c
}

// notFound maps sql.ErrNoRows to store.ErrNotFound.
func (s *Store) notFound(op, id string, err error) error {
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s %s: %w", op, id, store.ErrNotFound)
	}
	return s.fail(op, err)
}
