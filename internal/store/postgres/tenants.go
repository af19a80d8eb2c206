package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster/internal/store"
)

const (
	tenantCols = "id, name, created, scim_disabled, settings::text"
	tokenCols  = "id, tenant_id, secret_hash, label, created, last_used, expires, revoked, created_by, client_id"
)

// tenants implements store.TenantStore.
type tenants struct{ s *Store }

// Get returns the tenant with the given id.
func (t tenants) Get(ctx context.Context, id string) (store.Tenant, error) {
	return get(ctx, t.s, "SELECT "+tenantCols+" FROM tenants WHERE id = $1", "get tenant", id, scanTenant)
}

// GetByName returns the tenant with the given name.
func (t tenants) GetByName(ctx context.Context, name string) (store.Tenant, error) {
	return get(ctx, t.s, "SELECT "+tenantCols+" FROM tenants WHERE name = $1", "get tenant", name, scanTenant)
}

// List returns every tenant, by name.
func (t tenants) List(ctx context.Context) ([]store.Tenant, error) {
	return list(ctx, t.s, "SELECT "+tenantCols+" FROM tenants ORDER BY name", "list tenants", scanTenant)
}

// PurgeDeleted removes the rows of deleted tenants (see purge.go) through
// the sweeper, so that it never races the sweeper's own run, and returns
// when none is left.
func (t tenants) PurgeDeleted(ctx context.Context) error {
	if t.s.closed.Load() {
		return store.ErrUnavailable
	}
	return t.s.sw.Run(ctx)
}

// tenantWriter implements store.TenantWriter.
type tenantWriter struct{ w *writer }

// Create inserts a tenant; a duplicate id or name is store.ErrConflict.
func (t tenantWriter) Create(ctx context.Context, tn store.Tenant) error {
	const op = "create tenant"
	if err := tn.Prepare(time.Now()); err != nil {
		return err
	}
	settings, err := encodeSettings(tn.Settings)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, tn.Name, err)
	}
	return t.w.exec(ctx, op+" "+tn.Name, `INSERT INTO tenants (id, name, created, scim_disabled, settings)
		VALUES ($1, $2, $3, $4, $5::jsonb)`, tn.ID, tn.Name, tn.Created, tn.SCIMDisabled, settings)
}

// Writer reads of control-plane rows lock them until the transaction ends,
// so that a read-modify-write (a service changing one setting and writing
// the settings back) never undoes a concurrent one under READ COMMITTED. A
// tenant row is locked FOR NO KEY UPDATE, which SCIM writes (FOR KEY SHARE
// of the same row) do not wait for.
const lockTenantRow = " FOR NO KEY UPDATE"

// Get returns the tenant with the given id as the transaction sees it,
// locking it.
func (t tenantWriter) Get(ctx context.Context, id string) (store.Tenant, error) {
	return writerGet(ctx, t.w, "SELECT "+tenantCols+" FROM tenants WHERE id = $1"+lockTenantRow, "get tenant", id, scanTenant)
}

// GetByName returns the tenant with the given name as the transaction sees
// it, locking it.
func (t tenantWriter) GetByName(ctx context.Context, name string) (store.Tenant, error) {
	return writerGet(ctx, t.w, "SELECT "+tenantCols+" FROM tenants WHERE name = $1"+lockTenantRow, "get tenant", name, scanTenant)
}

// List returns every tenant by name as the transaction sees them, locking
// them in that order, for a check across tenants that concurrent
// transactions must not both pass.
func (t tenantWriter) List(ctx context.Context) ([]store.Tenant, error) {
	const op = "list tenants"
	if err := t.w.begin(ctx); err != nil {
		return nil, t.w.s.fail(op, err)
	}
	rows, err := t.w.conn.Query(ctx, "SELECT "+tenantCols+" FROM tenants ORDER BY name"+lockTenantRow)
	if err != nil {
		return nil, t.w.s.fail(op, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Tenant, error) { return scanTenant(row) })
	return out, t.w.s.fail(op, err)
}

func scanTenant(row pgx.Row) (store.Tenant, error) {
	var (
		tn       store.Tenant
		created  time.Time
		settings string
	)
	if err := row.Scan(&tn.ID, &tn.Name, &created, &tn.SCIMDisabled, &settings); err != nil {
		return tn, err
	}
	tn.Created = created.UTC()
	if err := json.Unmarshal([]byte(settings), &tn.Settings); err != nil {
		return tn, fmt.Errorf("tenant %s: stored settings: %w", tn.ID, err)
	}
	return tn, nil
}

func encodeSettings(ts store.TenantSettings) (string, error) {
	b, err := json.Marshal(ts)
	if err != nil {
		return "", fmt.Errorf("encode settings: %w", err)
	}
	return string(b), nil
}

// SetSCIMDisabled switches the tenant's SCIM endpoint off or on.
func (t tenantWriter) SetSCIMDisabled(ctx context.Context, id string, disabled bool) error {
	return t.w.execOne(ctx, "set tenant SCIM switch", "UPDATE tenants SET scim_disabled = $2 WHERE id = $1", id, disabled)
}

// SetSettings replaces the tenant's settings.
func (t tenantWriter) SetSettings(ctx context.Context, id string, ts store.TenantSettings) error {
	const op = "set tenant settings"
	settings, err := encodeSettings(ts)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, id, err)
	}
	return t.w.execOne(ctx, op, "UPDATE tenants SET settings = $2::jsonb WHERE id = $1", id, settings)
}

// Delete unlinks the tenant in the transaction (see purge.go): its row,
// tokens, OAuth clients and webhook endpoints go, and its key is listed for
// the purge, which removes the rest of its rows after the commit, a batch
// per transaction.
func (t tenantWriter) Delete(ctx context.Context, id string) error {
	if err := t.w.unlinkTenant(ctx, "delete tenant", id); err != nil {
		return err
	}
	delete(t.w.keys, id)
	t.w.afterCommit(func() {
		t.w.s.forgetKey(id)
		t.w.s.sw.Trigger()
	})
	return nil
}

// tokens implements store.TokenStore.
type tokens struct{ s *Store }

// Get returns the token with the given id.
func (t tokens) Get(ctx context.Context, id string) (store.Token, error) {
	return get(ctx, t.s, "SELECT "+tokenCols+" FROM tokens WHERE id = $1", "get token", id, scanToken)
}

// List returns the tokens of a tenant, oldest first.
func (t tokens) List(ctx context.Context, tenant string) ([]store.Token, error) {
	return list(ctx, t.s, "SELECT "+tokenCols+" FROM tokens WHERE tenant_id = $1 ORDER BY created, id", "list tokens", scanToken, tenant)
}

// Touch records that the token was used at the given time.
func (t tokens) Touch(ctx context.Context, id string, at time.Time) error {
	return t.s.exec(ctx, "UPDATE tokens SET last_used = $2 WHERE id = $1", "touch token", id, nullTime(at))
}

// tokenWriter implements store.TokenWriter.
type tokenWriter struct{ w *writer }

// Create inserts a token. A duplicate id is store.ErrConflict; a tenant that
// does not exist is store.ErrNotFound.
func (t tokenWriter) Create(ctx context.Context, tok store.Token) error {
	if err := tok.Prepare(time.Now()); err != nil {
		return err
	}
	return t.w.exec(ctx, "create token", `INSERT INTO tokens
		(id, tenant_id, secret_hash, label, created, last_used, expires, revoked, created_by, client_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		tok.ID, tok.Tenant, nonNil(tok.SecretHash), tok.Label, tok.Created,
		nullTime(tok.LastUsed), nullTime(tok.Expires), nullTime(tok.Revoked), tok.CreatedBy, tok.ClientID)
}

// Get returns the token with the given id as the transaction sees it.
func (t tokenWriter) Get(ctx context.Context, id string) (store.Token, error) {
	return writerGet(ctx, t.w, "SELECT "+tokenCols+" FROM tokens WHERE id = $1 FOR UPDATE", "get token", id, scanToken)
}

// Revoke marks the token revoked at the given time.
func (t tokenWriter) Revoke(ctx context.Context, id string, at time.Time) error {
	return t.w.execOne(ctx, "revoke token", "UPDATE tokens SET revoked = $2 WHERE id = $1", id, nullTime(at))
}

// DeleteExpired removes the tokens that expired before the given time.
func (t tokens) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	return t.s.deleteBefore(ctx, "delete expired tokens", "DELETE FROM tokens WHERE expires < $1", before)
}

// deleteBefore runs a DELETE whose one argument is a time and returns how
// many rows it removed.
func (s *Store) deleteBefore(ctx context.Context, op, sql string, before time.Time) (int, error) {
	if s.closed.Load() {
		return 0, store.ErrUnavailable
	}
	tag, err := s.pool.Exec(ctx, sql, before)
	if err != nil {
		return 0, s.fail(op, err)
	}
	return int(tag.RowsAffected()), nil
}

func scanToken(row pgx.Row) (store.Token, error) {
	var (
		tok                        store.Token
		created                    time.Time
		lastUsed, expires, revoked *time.Time
	)
	if err := row.Scan(&tok.ID, &tok.Tenant, &tok.SecretHash, &tok.Label, &created, &lastUsed, &expires, &revoked,
		&tok.CreatedBy, &tok.ClientID); err != nil {
		return tok, err
	}
	tok.Created, tok.LastUsed, tok.Expires, tok.Revoked = created.UTC(), utc(lastUsed), utc(expires), utc(revoked)
	return tok, nil
}
