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

// tenants implements store.TenantStore.
type tenants struct{ s *Store }

// Create inserts a tenant; a duplicate id or name is store.ErrConflict. A
// zero Created is set to now.
func (t tenants) Create(ctx context.Context, tn store.Tenant) error {
	if tn.ID == "" || tn.Name == "" {
		return errors.New("create tenant: tenant needs an id and a name")
	}
	if tn.Created.IsZero() {
		tn.Created = time.Now()
	}
	settings, err := encodeSettings(tn.Settings)
	if err != nil {
		return fmt.Errorf("create tenant %s: %w", tn.Name, err)
	}
	gen := t.s.tenantGeneration()
	var key int64
	err = t.s.write(ctx, func(w *writer) error {
		err := w.s.ws.insertTenant.QueryRow(tn.ID, tn.Name, formatTime(tn.Created), tn.SCIMDisabled, settings).Scan(&key)
		return w.s.fail("create tenant "+tn.Name, err)
	})
	if err != nil {
		return err
	}
	t.s.cacheTenant(tn.ID, key, gen)
	return nil
}

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
func (t tenants) SetSCIMDisabled(ctx context.Context, id string, disabled bool) error {
	return t.s.exec(ctx, t.s.ws.setSCIMDisabled, "set tenant SCIM switch", id, disabled)
}

// SetSettings replaces the tenant's settings.
func (t tenants) SetSettings(ctx context.Context, id string, ts store.TenantSettings) error {
	const op = "set tenant settings"
	settings, err := encodeSettings(ts)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, id, err)
	}
	return t.s.exec(ctx, t.s.ws.setSettings, op, id, settings)
}

// Delete removes the tenant, its tokens, OAuth clients, resources, their
// values and memberships, and its counts. The tenant, its tokens and clients
// go in one transaction, and from then on the tenant is gone for every
// reader; the rest is deleted in batches of a few thousand rows, one write
// transaction each, so that other tenants' writes, of this process and of
// others sharing the file, run in between (see purge.go). Delete returns
// once all of it is gone. If ctx ends or a batch fails first, it returns the
// error and the store finishes the job in the background, or the next Open
// does.
func (t tenants) Delete(ctx context.Context, id string) error {
	const op = "delete tenant"
	var key int64
	err := t.s.write(ctx, func(w *writer) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		key, err = w.unlinkTenant(op, id)
		return err
	})
	if err != nil {
		return err
	}
	// unlinkTenant forgot the key before the commit; forget it after too,
	// outdating lookups that read the tenant in between.
	t.s.forgetTenant(id)
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
	return t.s.write(ctx, func(w *writer) error {
		_, err := w.s.ws.insertToken.Exec(tok.ID, tok.Tenant, nonNil(tok.SecretHash), tok.Label, formatTime(tok.Created),
			formatTime(tok.LastUsed), formatTime(tok.Expires), formatTime(tok.Revoked), tok.CreatedBy, tok.ClientID)
		return w.s.fail("create token", err)
	})
}

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
	return t.update(ctx, t.s.ws.touchToken, "touch token", id, at)
}

// Revoke marks the token revoked at the given time.
func (t tokens) Revoke(ctx context.Context, id string, at time.Time) error {
	return t.update(ctx, t.s.ws.revokeToken, "revoke token", id, at)
}

func (t tokens) update(ctx context.Context, st *sql.Stmt, op, id string, at time.Time) error {
	return t.s.exec(ctx, st, op, id, formatTime(at))
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
