package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rosterhq/roster/internal/store"
)

// tenants implements store.TenantStore.
type tenants struct{ s *Store }

// Get returns the tenant with the given id.
func (t tenants) Get(ctx context.Context, id string) (store.Tenant, error) {
	return get(ctx, t.s, t.s.rs.tenant, "get tenant", id, scanTenant)
}

// GetByName returns the tenant with the given name.
func (t tenants) GetByName(ctx context.Context, name string) (store.Tenant, error) {
	return get(ctx, t.s, t.s.rs.tenantBy, "get tenant", name, scanTenant)
}

// List returns every tenant, by name.
func (t tenants) List(ctx context.Context) ([]store.Tenant, error) {
	return list(ctx, t.s, t.s.rs.tenantList, "list tenants", scanTenant)
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
	if err := tn.Prepare(time.Now()); err != nil {
		return err
	}
	settings, err := encodeSettings(tn.Settings)
	if err != nil {
		return fmt.Errorf("create tenant %s: %w", tn.Name, err)
	}
	return t.w.exec(ctx, "create tenant "+tn.Name, t.w.s.ws.insertTenant, tn.ID, tn.Name, formatTime(tn.Created), tn.SCIMDisabled, settings)
}

// Get returns the tenant with the given id as the transaction sees it.
func (t tenantWriter) Get(ctx context.Context, id string) (store.Tenant, error) {
	return writerGet(ctx, t.w, t.w.s.ws.tenant, "get tenant", id, scanTenant)
}

// List returns every tenant by name as the transaction sees them.
func (t tenantWriter) List(ctx context.Context) ([]store.Tenant, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := t.w.s.ws.tenantList.Query()
	if err != nil {
		return nil, t.w.s.fail("list tenants", err)
	}
	defer rows.Close()
	var out []store.Tenant
	for rows.Next() {
		tn, err := scanTenant(rows)
		if err != nil {
			return nil, t.w.s.fail("list tenants", err)
		}
		out = append(out, tn)
	}
	return out, t.w.s.fail("list tenants", rows.Err())
}

// GetByName returns the tenant with the given name as the transaction sees it.
func (t tenantWriter) GetByName(ctx context.Context, name string) (store.Tenant, error) {
	return writerGet(ctx, t.w, t.w.s.ws.tenantBy, "get tenant", name, scanTenant)
}

func scanTenant(row rowScanner) (store.Tenant, error) {
	var (
		tn                store.Tenant
		created, settings string
	)
	if err := row.Scan(&tn.ID, &tn.Name, &created, &tn.SCIMDisabled, &settings); err != nil {
		return tn, err
	}
	var err error
	if tn.Created, err = parseTime(created); err != nil {
		return tn, err
	}
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
	return t.w.execOne(ctx, "set tenant SCIM switch", t.w.s.ws.setSCIMDisabled, id, disabled)
}

// SetSettings replaces the tenant's settings.
func (t tenantWriter) SetSettings(ctx context.Context, id string, ts store.TenantSettings) error {
	const op = "set tenant settings"
	settings, err := encodeSettings(ts)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, id, err)
	}
	return t.w.execOne(ctx, op, t.w.s.ws.setSettings, id, settings)
}

// Delete removes the tenant, its tokens, OAuth clients and webhook
// endpoints in the transaction, which hides the tenant from every reader
// at its commit; the rest of its rows are deleted after the commit, in
// batches of a few thousand rows, one write transaction each, so that other
// tenants' writes, of this process and of others sharing the file, run in
// between (see purge.go).
func (t tenantWriter) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := t.w.unlinkTenant("delete tenant", id); err != nil {
		return err
	}
	// unlinkTenant forgot the key before the commit; forget it after too,
	// outdating lookups that read the tenant in between, and start
	// removing its rows.
	t.w.afterCommit(func() {
		t.w.s.forgetTenant(id)
		t.w.s.sw.Trigger()
	})
	return nil
}

// tokens implements store.TokenStore.
type tokens struct{ s *Store }

// Get returns the token with the given id.
func (t tokens) Get(ctx context.Context, id string) (store.Token, error) {
	return get(ctx, t.s, t.s.rs.token, "get token", id, scanToken)
}

// List returns the tokens of a tenant, oldest first.
func (t tokens) List(ctx context.Context, tenant string) ([]store.Token, error) {
	return list(ctx, t.s, t.s.rs.tokenList, "list tokens", scanToken, tenant)
}

// Touch records that the token was used at the given time.
func (t tokens) Touch(ctx context.Context, id string, at time.Time) error {
	return t.s.exec(ctx, t.s.ws.touchToken, "touch token", id, formatTime(at))
}

// tokenWriter implements store.TokenWriter.
type tokenWriter struct{ w *writer }

// Create inserts a token. A duplicate id is store.ErrConflict; a tenant that
// does not exist is store.ErrNotFound.
func (t tokenWriter) Create(ctx context.Context, tok store.Token) error {
	if err := tok.Prepare(time.Now()); err != nil {
		return err
	}
	return t.w.exec(ctx, "create token", t.w.s.ws.insertToken, tok.ID, tok.Tenant, nonNil(tok.SecretHash), tok.Label, formatTime(tok.Created),
		formatTime(tok.LastUsed), formatTime(tok.Expires), formatTime(tok.Revoked), tok.CreatedBy, tok.ClientID)
}

// Get returns the token with the given id as the transaction sees it.
func (t tokenWriter) Get(ctx context.Context, id string) (store.Token, error) {
	return writerGet(ctx, t.w, t.w.s.ws.token, "get token", id, scanToken)
}

// Revoke marks the token revoked at the given time.
func (t tokenWriter) Revoke(ctx context.Context, id string, at time.Time) error {
	return t.w.execOne(ctx, "revoke token", t.w.s.ws.revokeToken, id, formatTime(at))
}

// DeleteExpired removes the tokens that expired before the given time.
func (t tokens) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	return t.s.deleteBefore(ctx, t.s.ws.deleteExpiredTokens, "delete expired tokens", before)
}

// deleteBefore runs a DELETE whose one argument is a time, in a write, and
// returns how many rows it removed.
func (s *Store) deleteBefore(ctx context.Context, st *sql.Stmt, op string, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(w *writer) error {
		res, err := st.Exec(formatTime(before))
		if err != nil {
			return w.s.fail(op, err)
		}
		n, err = res.RowsAffected()
		return w.s.fail(op, err)
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

func scanToken(row rowScanner) (store.Token, error) {
	var (
		tok                        store.Token
		created                    string
		lastUsed, expires, revoked sql.NullString
	)
	if err := row.Scan(&tok.ID, &tok.Tenant, &tok.SecretHash, &tok.Label, &created, &lastUsed, &expires, &revoked,
		&tok.CreatedBy, &tok.ClientID); err != nil {
		return tok, err
	}
	var err error
	for _, f := range []struct {
		dst *time.Time
		src string
	}{{&tok.Created, created}, {&tok.LastUsed, lastUsed.String}, {&tok.Expires, expires.String}, {&tok.Revoked, revoked.String}} {
		if *f.dst, err = parseTime(f.src); err != nil {
			return tok, err
		}
	}
	return tok, nil
}
