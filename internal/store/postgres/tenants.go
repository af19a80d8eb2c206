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
	tenantCols = "id, name, created, scim_disabled, settings::text"
	tokenCols  = "id, tenant_id, secret_hash, label, created, last_used, expires, revoked, created_by, client_id"
)

// tenants implements store.TenantStore.
type tenants struct{ s *Store }

// Create inserts a tenant; a duplicate id or name is store.ErrConflict. A
// zero Created is set to now.
func (t tenants) Create(ctx context.Context, tn store.Tenant) error {
	const op = "create tenant"
	if tn.ID == "" || tn.Name == "" {
		return errors.New(op + ": tenant needs an id and a name")
	}
	if tn.Created.IsZero() {
		tn.Created = time.Now()
	}
	settings, err := encodeSettings(tn.Settings)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, tn.Name, err)
	}
	if t.s.closed.Load() {
		return store.ErrUnavailable
	}
	var key int64
	err = t.s.pool.QueryRow(ctx, `INSERT INTO tenants (id, name, created, scim_disabled, settings)
		VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING key`, tn.ID, tn.Name, tn.Created, tn.SCIMDisabled, settings).Scan(&key)
	if err != nil {
		return t.s.fail(op+" "+tn.Name, err)
	}
	t.s.cacheKey(tn.ID, key)
	return nil
}

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
func (t tenants) SetSCIMDisabled(ctx context.Context, id string, disabled bool) error {
	return t.s.exec(ctx, "UPDATE tenants SET scim_disabled = $2 WHERE id = $1", "set tenant SCIM switch", id, disabled)
}

// SetSettings replaces the tenant's settings.
func (t tenants) SetSettings(ctx context.Context, id string, ts store.TenantSettings) error {
	const op = "set tenant settings"
	settings, err := encodeSettings(ts)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, id, err)
	}
	return t.s.exec(ctx, "UPDATE tenants SET settings = $2::jsonb WHERE id = $1", op, id, settings)
}

// Delete removes the tenant, its tokens, OAuth clients, resources, their
// values and memberships, and its counts. The tenant, its tokens and clients
// go in one transaction, which waits for the writes in progress in the
// tenant; from its commit on the tenant is gone for every reader on every
// node. The rest is deleted in batches, one transaction each (see purge.go).
// Delete returns once all of it is gone. If ctx ends or a batch fails first,
// it returns the error and the store finishes the job in the background, or
// the next Open on any node does.
func (t tenants) Delete(ctx context.Context, id string) error {
	const op = "delete tenant"
	if t.s.closed.Load() {
		return store.ErrUnavailable
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	key, err := t.s.unlinkTenant(ctx, op, id)
	if err != nil {
		return err
	}
	t.s.forgetKey(id)
	if err := t.s.purge(ctx, key); err != nil {
		t.s.sw.Trigger()
		return fmt.Errorf("%s %s: the tenant is deleted, its data is still being removed: %w", op, id, err)
	}
	return nil
}

// tokens implements store.TokenStore.
type tokens struct{ s *Store }

// Create inserts a token. A duplicate id is store.ErrConflict; a tenant that
// does not exist is store.ErrNotFound. A zero Created is set to now.
func (t tokens) Create(ctx context.Context, tok store.Token) error {
	if tok.ID == "" {
		return errors.New("create token: token needs an id")
	}
	if tok.Created.IsZero() {
		tok.Created = time.Now()
	}
	return t.s.execAny(ctx, "create token", `INSERT INTO tokens
		(id, tenant_id, secret_hash, label, created, last_used, expires, revoked, created_by, client_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		tok.ID, tok.Tenant, nonNil(tok.SecretHash), tok.Label, tok.Created,
		nullTime(tok.LastUsed), nullTime(tok.Expires), nullTime(tok.Revoked), tok.CreatedBy, tok.ClientID)
}

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

// Revoke marks the token revoked at the given time.
func (t tokens) Revoke(ctx context.Context, id string, at time.Time) error {
	return t.s.exec(ctx, "UPDATE tokens SET revoked = $2 WHERE id = $1", "revoke token", id, nullTime(at))
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
