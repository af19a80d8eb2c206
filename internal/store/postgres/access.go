package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster/internal/store"
)

const (
	clientCols  = "id, tenant_id, secret_hash, label, created_by, created, revoked"
	adminCols   = "id, name, password_hash, role, created"
	sessionCols = "id, admin_id, secret_hash, created, expires"
	auditCols   = "seq, time, actor, action, tenant, target, detail::text"
)

// oauthClients implements store.OAuthClientStore.
type oauthClients struct{ s *Store }

// Get returns the client with the given id.
func (o oauthClients) Get(ctx context.Context, id string) (store.OAuthClient, error) {
	return get(ctx, o.s, "SELECT "+clientCols+" FROM oauth_clients WHERE id = $1", "get oauth client", id, scanClient)
}

// List returns the clients of a tenant, oldest first.
func (o oauthClients) List(ctx context.Context, tenant string) ([]store.OAuthClient, error) {
	return list(ctx, o.s, "SELECT "+clientCols+" FROM oauth_clients WHERE tenant_id = $1 ORDER BY created, id",
		"list oauth clients", scanClient, tenant)
}

// oauthClientWriter implements store.OAuthClientWriter.
type oauthClientWriter struct{ w *writer }

// Create inserts a client. A duplicate id is store.ErrConflict; a tenant
// that does not exist is store.ErrNotFound.
func (o oauthClientWriter) Create(ctx context.Context, c store.OAuthClient) error {
	if err := c.Prepare(time.Now()); err != nil {
		return err
	}
	return o.w.exec(ctx, "create oauth client", `INSERT INTO oauth_clients
		(id, tenant_id, secret_hash, label, created_by, created, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		c.ID, c.Tenant, nonNil(c.SecretHash), c.Label, c.CreatedBy, c.Created, nullTime(c.Revoked))
}

// Get returns the client with the given id as the transaction sees it.
func (o oauthClientWriter) Get(ctx context.Context, id string) (store.OAuthClient, error) {
	return writerGet(ctx, o.w, "SELECT "+clientCols+" FROM oauth_clients WHERE id = $1 FOR UPDATE", "get oauth client", id, scanClient)
}

// Revoke marks the client revoked at the given time.
func (o oauthClientWriter) Revoke(ctx context.Context, id string, at time.Time) error {
	return o.w.execOne(ctx, "revoke oauth client", "UPDATE oauth_clients SET revoked = $2 WHERE id = $1", id, nullTime(at))
}

func scanClient(row pgx.Row) (store.OAuthClient, error) {
	var (
		c       store.OAuthClient
		created time.Time
		revoked *time.Time
	)
	if err := row.Scan(&c.ID, &c.Tenant, &c.SecretHash, &c.Label, &c.CreatedBy, &created, &revoked); err != nil {
		return c, err
	}
	c.Created, c.Revoked = created.UTC(), utc(revoked)
	return c, nil
}

// admins implements store.AdminStore.
type admins struct{ s *Store }

// Get returns the admin with the given id.
func (a admins) Get(ctx context.Context, id string) (store.Admin, error) {
	return get(ctx, a.s, "SELECT "+adminCols+" FROM admins WHERE id = $1", "get admin", id, scanAdmin)
}

// GetByName returns the admin with the given name, compared
// case-sensitively.
func (a admins) GetByName(ctx context.Context, name string) (store.Admin, error) {
	return get(ctx, a.s, "SELECT "+adminCols+" FROM admins WHERE name = $1", "get admin", name, scanAdmin)
}

// List returns every admin, by name.
func (a admins) List(ctx context.Context) ([]store.Admin, error) {
	return list(ctx, a.s, "SELECT "+adminCols+" FROM admins ORDER BY name", "list admins", scanAdmin)
}

// GetSession returns the session with the given id, expired or not.
func (a admins) GetSession(ctx context.Context, id string) (store.AdminSession, error) {
	return get(ctx, a.s, "SELECT "+sessionCols+" FROM admin_sessions WHERE id = $1", "get admin session", id, scanSession)
}

// DeleteExpiredSessions removes the sessions that expired before the given time.
func (a admins) DeleteExpiredSessions(ctx context.Context, before time.Time) (int, error) {
	return a.s.deleteBefore(ctx, "delete expired sessions", "DELETE FROM admin_sessions WHERE expires < $1", before)
}

// adminWriter implements store.AdminWriter.
type adminWriter struct{ w *writer }

// Create inserts an admin; a duplicate id or name is store.ErrConflict.
func (a adminWriter) Create(ctx context.Context, ad store.Admin) error {
	if err := ad.Prepare(time.Now()); err != nil {
		return err
	}
	return a.w.exec(ctx, "create admin "+ad.Name,
		"INSERT INTO admins (id, name, password_hash, role, created) VALUES ($1, $2, $3, $4, $5)",
		ad.ID, ad.Name, ad.PasswordHash, ad.Role, ad.Created)
}

// GetByName returns the admin with the given name as the transaction sees it.
func (a adminWriter) GetByName(ctx context.Context, name string) (store.Admin, error) {
	return writerGet(ctx, a.w, "SELECT "+adminCols+" FROM admins WHERE name = $1 FOR UPDATE", "get admin", name, scanAdmin)
}

// Update replaces the admin's password hash and role.
func (a adminWriter) Update(ctx context.Context, ad store.Admin) error {
	return a.w.execOne(ctx, "update admin", "UPDATE admins SET password_hash = $2, role = $3 WHERE id = $1", ad.ID, ad.PasswordHash, ad.Role)
}

// Delete removes the admin and its sessions, in one statement.
func (a adminWriter) Delete(ctx context.Context, id string) error {
	return a.w.execOne(ctx, "delete admin", `WITH s AS (DELETE FROM admin_sessions WHERE admin_id = $1)
		DELETE FROM admins WHERE id = $1`, id)
}

// CreateSession inserts a session. A duplicate id is store.ErrConflict; an
// admin that does not exist is store.ErrNotFound.
func (a adminWriter) CreateSession(ctx context.Context, se store.AdminSession) error {
	if err := se.Prepare(time.Now()); err != nil {
		return err
	}
	return a.w.exec(ctx, "create admin session",
		"INSERT INTO admin_sessions (id, admin_id, secret_hash, created, expires) VALUES ($1, $2, $3, $4, $5)",
		se.ID, se.Admin, nonNil(se.SecretHash), se.Created, nullTime(se.Expires))
}

// DeleteSessions ends the session with the given id (only if it is the
// admin's, when admin is set too), or every session of the admin when id is
// "". Ending sessions that do not exist is not an error, so that signing out
// twice is harmless.
func (a adminWriter) DeleteSessions(ctx context.Context, admin, id string) error {
	const op = "delete admin sessions"
	switch {
	case id != "":
		return a.w.exec(ctx, op, "DELETE FROM admin_sessions WHERE id = $2 AND ($1 = '' OR admin_id = $1)", admin, id)
	case admin != "":
		return a.w.exec(ctx, op, "DELETE FROM admin_sessions WHERE admin_id = $1", admin)
	}
	return errors.New(op + ": need an admin or a session id")
}

func scanAdmin(row pgx.Row) (store.Admin, error) {
	var (
		ad      store.Admin
		created time.Time
	)
	if err := row.Scan(&ad.ID, &ad.Name, &ad.PasswordHash, &ad.Role, &created); err != nil {
		return ad, err
	}
	ad.Created = created.UTC()
	return ad, nil
}

func scanSession(row pgx.Row) (store.AdminSession, error) {
	var (
		se      store.AdminSession
		created time.Time
		expires *time.Time
	)
	if err := row.Scan(&se.ID, &se.Admin, &se.SecretHash, &created, &expires); err != nil {
		return se, err
	}
	se.Created, se.Expires = created.UTC(), utc(expires)
	return se, nil
}

// audit implements store.AuditStore.
type audit struct{ s *Store }

// List returns the events after q.After, oldest first, through the
// (tenant, seq) index when q.Tenant is set.
func (a audit) List(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	const op = "list audit events"
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	if q.Tenant != "" {
		return list(ctx, a.s, "SELECT "+auditCols+" FROM audit_events WHERE tenant = $1 AND seq > $2 ORDER BY seq LIMIT $3",
			op, scanAudit, q.Tenant, q.After, limit)
	}
	return list(ctx, a.s, "SELECT "+auditCols+" FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2", op, scanAudit, q.After, limit)
}

// auditWriter implements store.AuditWriter.
type auditWriter struct{ w *writer }

// Append records the event and sets its Seq, and its Time to now (to the
// microsecond, as timestamptz keeps it) if zero. Detail is stored as jsonb
// and comes back as encoding/json decodes it: numbers as float64, nil as
// nil.
//
// Seq comes from a sequence, so with concurrent appends an event may commit
// after one with a higher Seq: a reader tailing the log by Seq can miss it.
func (a auditWriter) Append(ctx context.Context, e *store.AuditEvent) error {
	const op = "append audit event"
	if err := e.Prepare(time.Now().UTC().Truncate(time.Microsecond)); err != nil {
		return err
	}
	detail, err := json.Marshal(e.Detail)
	if err != nil {
		return fmt.Errorf("%s: detail: %w", op, err)
	}
	if err := a.w.begin(ctx); err != nil {
		return a.w.s.fail(op, err)
	}
	err = a.w.conn.QueryRow(ctx, `INSERT INTO audit_events (time, actor, action, tenant, target, detail)
		VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING seq`, e.Time, e.Actor, e.Action, e.Tenant, e.Target, string(detail)).Scan(&e.Seq)
	return a.w.s.fail(op, err)
}

func scanAudit(row pgx.Row) (store.AuditEvent, error) {
	var (
		e      store.AuditEvent
		at     time.Time
		detail string
	)
	if err := row.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Tenant, &e.Target, &detail); err != nil {
		return e, err
	}
	e.Time = at.UTC()
	if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
		return e, fmt.Errorf("audit event %d: stored detail: %w", e.Seq, err)
	}
	return e, nil
}

// settings implements store.SettingsStore.
type settings struct{ s *Store }

// Get returns the value of a setting, or store.ErrNotFound if it is unset.
func (st settings) Get(ctx context.Context, key string) (string, error) {
	return get(ctx, st.s, "SELECT value FROM settings WHERE key = $1", "get setting", key, func(row pgx.Row) (string, error) {
		var v string
		err := row.Scan(&v)
		return v, err
	})
}

// settingsWriter implements store.SettingsWriter.
type settingsWriter struct{ w *writer }

// Get returns the value of a setting as the transaction sees it, locking
// it; store.ErrNotFound if it is unset.
func (st settingsWriter) Get(ctx context.Context, key string) (string, error) {
	return writerGet(ctx, st.w, "SELECT value FROM settings WHERE key = $1 FOR UPDATE", "get setting", key, func(row pgx.Row) (string, error) {
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
	return st.w.exec(ctx, "set setting "+key,
		"INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value)
}

// exec runs a statement in the writer's transaction, however many rows it
// changes.
func (w *writer) exec(ctx context.Context, op, sql string, args ...any) error {
	if err := w.begin(ctx); err != nil {
		return w.s.fail(op, err)
	}
	_, err := w.conn.Exec(ctx, sql, args...)
	return w.s.fail(op, err)
}

// execOne runs a statement whose first argument is the id of the one row it
// changes, in the writer's transaction; no row changed is
// store.ErrNotFound.
func (w *writer) execOne(ctx context.Context, op, sql, id string, args ...any) error {
	if err := w.begin(ctx); err != nil {
		return w.s.fail(op, err)
	}
	tag, err := w.conn.Exec(ctx, sql, append([]any{id}, args...)...)
	if err != nil {
		return w.s.fail(op, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s %s: %w", op, id, store.ErrNotFound)
	}
	return nil
}

// writerGet reads one row by key in the writer's transaction, seeing its
// writes; no row is store.ErrNotFound.
func writerGet[T any](ctx context.Context, w *writer, sql, op, key string, scan func(pgx.Row) (T, error)) (T, error) {
	var zero T
	if err := w.begin(ctx); err != nil {
		return zero, w.s.fail(op, err)
	}
	v, err := scan(w.conn.QueryRow(ctx, sql, key))
	if err != nil {
		return zero, w.s.notFound(op, key, err)
	}
	return v, nil
}

// exec runs a statement whose first argument is the id of the one row it
// changes; no row changed is store.ErrNotFound.
func (s *Store) exec(ctx context.Context, sql, op, id string, args ...any) error {
	if s.closed.Load() {
		return store.ErrUnavailable
	}
	tag, err := s.pool.Exec(ctx, sql, append([]any{id}, args...)...)
	if err != nil {
		return s.fail(op, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s %s: %w", op, id, store.ErrNotFound)
	}
	return nil
}

// execAny runs a statement however many rows it changes.
func (s *Store) execAny(ctx context.Context, op, sql string, args ...any) error {
	if s.closed.Load() {
		return store.ErrUnavailable
	}
	_, err := s.pool.Exec(ctx, sql, args...)
	return s.fail(op, err)
}

// get reads one row by key; no row is store.ErrNotFound.
func get[T any](ctx context.Context, s *Store, sql, op, key string, scan func(pgx.Row) (T, error)) (T, error) {
	var zero T
	if s.closed.Load() {
		return zero, store.ErrUnavailable
	}
	v, err := scan(s.pool.QueryRow(ctx, sql, key))
	if err != nil {
		return zero, s.notFound(op, key, err)
	}
	return v, nil
}

// list reads every row a query returns.
func list[T any](ctx context.Context, s *Store, sql, op string, scan func(pgx.Row) (T, error), args ...any) ([]T, error) {
	if s.closed.Load() {
		return nil, store.ErrUnavailable
	}
	rows, err := s.pool.Query(ctx, sql, args...)
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
