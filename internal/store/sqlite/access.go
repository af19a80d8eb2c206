package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rosterhq/roster/internal/store"
)

// oauthClients implements store.OAuthClientStore.
type oauthClients struct{ s *Store }

// Get returns the client with the given id.
func (o oauthClients) Get(ctx context.Context, id string) (store.OAuthClient, error) {
	return get(ctx, o.s, o.s.rs.client, "get oauth client", id, scanClient)
}

// List returns the clients of a tenant, oldest first.
func (o oauthClients) List(ctx context.Context, tenant string) ([]store.OAuthClient, error) {
	return list(ctx, o.s, o.s.rs.clientList, "list oauth clients", scanClient, tenant)
}

// oauthClientWriter implements store.OAuthClientWriter.
type oauthClientWriter struct{ w *writer }

// Create inserts a client. A duplicate id is store.ErrConflict; a tenant
// that does not exist is store.ErrNotFound.
func (o oauthClientWriter) Create(ctx context.Context, c store.OAuthClient) error {
	if err := c.Prepare(time.Now()); err != nil {
		return err
	}
	return o.w.exec(ctx, "create oauth client", o.w.s.ws.insertClient, c.ID, c.Tenant, nonNil(c.SecretHash), c.Label, c.CreatedBy,
		formatTime(c.Created), formatTime(c.Revoked))
}

// Get returns the client with the given id as the transaction sees it.
func (o oauthClientWriter) Get(ctx context.Context, id string) (store.OAuthClient, error) {
	return writerGet(ctx, o.w, o.w.s.ws.client, "get oauth client", id, scanClient)
}

// Revoke marks the client revoked at the given time.
func (o oauthClientWriter) Revoke(ctx context.Context, id string, at time.Time) error {
	return o.w.execOne(ctx, "revoke oauth client", o.w.s.ws.revokeClient, id, formatTime(at))
}

func scanClient(row rowScanner) (store.OAuthClient, error) {
	var (
		c       store.OAuthClient
		created string
		revoked sql.NullString
	)
	if err := row.Scan(&c.ID, &c.Tenant, &c.SecretHash, &c.Label, &c.CreatedBy, &created, &revoked); err != nil {
		return c, err
	}
	var err error
	if c.Created, err = parseTime(created); err != nil {
		return c, err
	}
	c.Revoked, err = parseTime(revoked.String)
	return c, err
}

// admins implements store.AdminStore.
type admins struct{ s *Store }

// Get returns the admin with the given id.
func (a admins) Get(ctx context.Context, id string) (store.Admin, error) {
	return get(ctx, a.s, a.s.rs.admin, "get admin", id, scanAdmin)
}

// GetByName returns the admin with the given name, compared
// case-sensitively.
func (a admins) GetByName(ctx context.Context, name string) (store.Admin, error) {
	return get(ctx, a.s, a.s.rs.adminBy, "get admin", name, scanAdmin)
}

// List returns every admin, by name.
func (a admins) List(ctx context.Context) ([]store.Admin, error) {
	return list(ctx, a.s, a.s.rs.adminList, "list admins", scanAdmin)
}

// adminWriter implements store.AdminWriter.
type adminWriter struct{ w *writer }

// Create inserts an admin; a duplicate id or name is store.ErrConflict.
func (a adminWriter) Create(ctx context.Context, ad store.Admin) error {
	if err := ad.Prepare(time.Now()); err != nil {
		return err
	}
	return a.w.exec(ctx, "create admin "+ad.Name, a.w.s.ws.insertAdmin, ad.ID, ad.Name, ad.PasswordHash, ad.Role, formatTime(ad.Created))
}

// GetByName returns the admin with the given name as the transaction sees it.
func (a adminWriter) GetByName(ctx context.Context, name string) (store.Admin, error) {
	return writerGet(ctx, a.w, a.w.s.ws.adminBy, "get admin", name, scanAdmin)
}

// Update replaces the admin's password hash and role.
func (a adminWriter) Update(ctx context.Context, ad store.Admin) error {
	return a.w.execOne(ctx, "update admin", a.w.s.ws.updateAdmin, ad.ID, ad.PasswordHash, ad.Role)
}

// Delete removes the admin and its sessions.
func (a adminWriter) Delete(ctx context.Context, id string) error {
	if err := a.w.exec(ctx, "delete admin", a.w.s.ws.deleteAdminSessions, id); err != nil {
		return err
	}
	return a.w.execOne(ctx, "delete admin", a.w.s.ws.deleteAdmin, id)
}

// CreateSession inserts a session. A duplicate id is store.ErrConflict; an
// admin that does not exist is store.ErrNotFound.
func (a adminWriter) CreateSession(ctx context.Context, se store.AdminSession) error {
	if err := se.Prepare(time.Now()); err != nil {
		return err
	}
	return a.w.exec(ctx, "create admin session", a.w.s.ws.insertSession, se.ID, se.Admin, nonNil(se.SecretHash),
		formatTime(se.Created), formatTime(se.Expires))
}

// DeleteSessions ends the session with the given id (only if it is the
// admin's, when admin is set too), or every session of the admin when id is
// "". Ending sessions that do not exist is not an error, so that signing out
// twice is harmless.
func (a adminWriter) DeleteSessions(ctx context.Context, admin, id string) error {
	const op = "delete admin sessions"
	switch {
	case id != "":
		return a.w.exec(ctx, op, a.w.s.ws.deleteSession, admin, id)
	case admin != "":
		return a.w.exec(ctx, op, a.w.s.ws.deleteAdminSessions, admin)
	}
	return errors.New(op + ": need an admin or a session id")
}

// GetSession returns the session with the given id, expired or not.
func (a admins) GetSession(ctx context.Context, id string) (store.AdminSession, error) {
	return get(ctx, a.s, a.s.rs.session, "get admin session", id, scanSession)
}

// DeleteExpiredSessions removes the sessions that expired before the given time.
func (a admins) DeleteExpiredSessions(ctx context.Context, before time.Time) (int, error) {
	return a.s.deleteBefore(ctx, a.s.ws.deleteExpiredSessions, "delete expired sessions", before)
}

func scanAdmin(row rowScanner) (store.Admin, error) {
	var (
		ad      store.Admin
		created string
	)
	if err := row.Scan(&ad.ID, &ad.Name, &ad.PasswordHash, &ad.Role, &created); err != nil {
		return ad, err
	}
	var err error
	ad.Created, err = parseTime(created)
	return ad, err
}

func scanSession(row rowScanner) (store.AdminSession, error) {
	var (
		se      store.AdminSession
		created string
		expires sql.NullString
	)
	if err := row.Scan(&se.ID, &se.Admin, &se.SecretHash, &created, &expires); err != nil {
		return se, err
	}
	var err error
	if se.Created, err = parseTime(created); err != nil {
		return se, err
	}
	se.Expires, err = parseTime(expires.String)
	return se, err
}

// audit implements store.AuditStore.
type audit struct{ s *Store }

// auditWriter implements store.AuditWriter.
type auditWriter struct{ w *writer }

// Append records the event and sets its Seq, and its Time to now if zero.
// Detail is stored as JSON and comes back as encoding/json decodes it:
// numbers as float64, nil as nil.
func (a auditWriter) Append(ctx context.Context, e *store.AuditEvent) error {
	const op = "append audit event"
	if err := e.Prepare(time.Now()); err != nil {
		return err
	}
	detail, err := json.Marshal(e.Detail)
	if err != nil {
		return fmt.Errorf("%s: detail: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var seq int64
	err = a.w.s.ws.insertAudit.QueryRow(formatTime(e.Time), e.Actor, e.Action, e.Tenant, e.Target, string(detail)).Scan(&seq)
	if err != nil {
		return a.w.s.fail(op, err)
	}
	e.Seq = seq
	return nil
}

// List returns the events after q.After, oldest first, through the
// (tenant, seq) index when q.Tenant is set.
func (a audit) List(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	const op = "list audit events"
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	if q.Tenant != "" {
		return list(ctx, a.s, a.s.rs.auditTenant, op, scanAudit, q.Tenant, q.After, limit)
	}
	return list(ctx, a.s, a.s.rs.audit, op, scanAudit, q.After, limit)
}

func scanAudit(row rowScanner) (store.AuditEvent, error) {
	var (
		e          store.AuditEvent
		at, detail string
	)
	if err := row.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Tenant, &e.Target, &detail); err != nil {
		return e, err
	}
	var err error
	if e.Time, err = parseTime(at); err != nil {
		return e, err
	}
	if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
		return e, fmt.Errorf("audit event %d: stored detail: %w", e.Seq, err)
	}
	return e, nil
}

// settings implements store.SettingsStore.
type settings struct{ s *Store }

// Get returns the value of a setting, or store.ErrNotFound if it is unset.
func (st settings) Get(ctx context.Context, key string) (string, error) {
	return get(ctx, st.s, st.s.rs.setting, "get setting", key, func(row rowScanner) (string, error) {
		var v string
		err := row.Scan(&v)
		return v, err
	})
}

// settingsWriter implements store.SettingsWriter.
type settingsWriter struct{ w *writer }

// Get returns the value of a setting as the transaction sees it;
// store.ErrNotFound if it is unset.
func (st settingsWriter) Get(ctx context.Context, key string) (string, error) {
	return writerGet(ctx, st.w, st.w.s.ws.setting, "get setting", key, func(row rowScanner) (string, error) {
		var v string
		err := row.Scan(&v)
		return v, err
	})
}

// Set stores the value of a setting, replacing any earlier one.
func (st settingsWriter) Set(ctx context.Context, key, value string) error {
	if key == "" {
		return errors.New("set setting: no key")
	}
	return st.w.exec(ctx, "set setting "+key, st.w.s.ws.setSetting, key, value)
}

// exec runs a statement whose first argument is the id of the one row it
// changes, in a write; no row changed is store.ErrNotFound.
func (s *Store) exec(ctx context.Context, st *sql.Stmt, op, id string, args ...any) error {
	return s.write(ctx, func(w *writer) error {
		res, err := st.Exec(append([]any{id}, args...)...)
		if err != nil {
			return w.s.fail(op, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%s %s: %w", op, id, store.ErrNotFound)
		}
		return nil
	})
}

// exec runs a statement in the writer's transaction, however many rows it
// changes.
func (w *writer) exec(ctx context.Context, op string, st *sql.Stmt, args ...any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err := st.Exec(args...)
	return w.s.fail(op, err)
}

// execOne runs a statement whose first argument is the id of the one row it
// changes, in the writer's transaction; no row changed is store.ErrNotFound.
func (w *writer) execOne(ctx context.Context, op string, st *sql.Stmt, id string, args ...any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	res, err := st.Exec(append([]any{id}, args...)...)
	if err != nil {
		return w.s.fail(op, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s %s: %w", op, id, store.ErrNotFound)
	}
	return nil
}

// writerGet reads one row by key in the writer's transaction, seeing its
// writes; no row is store.ErrNotFound.
func writerGet[T any](ctx context.Context, w *writer, st *sql.Stmt, op, key string, scan func(rowScanner) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	v, err := scan(st.QueryRow(key))
	if err != nil {
		return zero, w.s.notFound(op, key, err)
	}
	return v, nil
}

// get reads one row by key on the read pool; no row is store.ErrNotFound.
func get[T any](ctx context.Context, s *Store, st *sql.Stmt, op, key string, scan func(rowScanner) (T, error)) (T, error) {
	var zero T
	if s.closed.Load() {
		return zero, store.ErrUnavailable
	}
	v, err := scan(st.QueryRowContext(ctx, key))
	if err != nil {
		return zero, s.notFound(op, key, err)
	}
	return v, nil
}

// list reads every row a query returns on the read pool.
func list[T any](ctx context.Context, s *Store, st *sql.Stmt, op string, scan func(rowScanner) (T, error), args ...any) ([]T, error) {
	if s.closed.Load() {
		return nil, store.ErrUnavailable
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, s.fail(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(op, err)
	}
	return out, nil
}

// nonNil keeps a nil hash from becoming NULL in a NOT NULL column.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
