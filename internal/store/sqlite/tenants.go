package sqlite

import (
	"context"
	"database/sql"
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
	var key int64
	err := t.s.write(ctx, func(w *writer) error {
		err := w.s.ws.insertTenant.QueryRow(tn.ID, tn.Name, formatTime(tn.Created), tn.SCIMDisabled).Scan(&key)
		return w.s.fail("create tenant "+tn.Name, err)
	})
	if err != nil {
		return err
	}
	t.s.cacheTenant(tn.ID, key)
	return nil
}

// Get returns the tenant with the given id.
func (t tenants) Get(ctx context.Context, id string) (store.Tenant, error) {
	return t.one(ctx, t.s.rs.tenant, "get tenant", id)
}

// GetByName returns the tenant with the given name.
func (t tenants) GetByName(ctx context.Context, name string) (store.Tenant, error) {
	return t.one(ctx, t.s.rs.tenantBy, "get tenant", name)
}

func (t tenants) one(ctx context.Context, st *sql.Stmt, op, arg string) (store.Tenant, error) {
	if t.s.closed.Load() {
		return store.Tenant{}, store.ErrUnavailable
	}
	tn, err := scanTenant(st.QueryRowContext(ctx, arg))
	if err != nil {
		return store.Tenant{}, t.s.notFound(op, arg, err)
	}
	return tn, nil
}

// List returns every tenant, by name.
func (t tenants) List(ctx context.Context) ([]store.Tenant, error) {
	const op = "list tenants"
	if t.s.closed.Load() {
		return nil, store.ErrUnavailable
	}
	rows, err := t.s.rs.tenantList.QueryContext(ctx)
	if err != nil {
		return nil, t.s.fail(op, err)
	}
	defer rows.Close()
	var out []store.Tenant
	for rows.Next() {
		tn, err := scanTenant(rows)
		if err != nil {
			return nil, t.s.fail(op, err)
		}
		out = append(out, tn)
	}
	if err := rows.Err(); err != nil {
		return nil, t.s.fail(op, err)
	}
	return out, nil
}

func scanTenant(row rowScanner) (store.Tenant, error) {
	var (
		tn      store.Tenant
		created string
	)
	if err := row.Scan(&tn.ID, &tn.Name, &created, &tn.SCIMDisabled); err != nil {
		return tn, err
	}
	var err error
	tn.Created, err = parseTime(created)
	return tn, err
}

// SetSCIMDisabled switches the tenant's SCIM endpoint off or on.
func (t tenants) SetSCIMDisabled(ctx context.Context, id string, disabled bool) error {
	const op = "set tenant SCIM switch"
	return t.s.write(ctx, func(w *writer) error {
		res, err := w.s.ws.setSCIMDisabled.Exec(id, disabled)
		if err != nil {
			return w.s.fail(op, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%s %s: %w", op, id, store.ErrNotFound)
		}
		return nil
	})
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
	hash := tok.SecretHash
	if hash == nil {
		hash = []byte{}
	}
	return t.s.write(ctx, func(w *writer) error {
		_, err := w.s.ws.insertToken.Exec(tok.ID, tok.Tenant, hash, tok.Label, formatTime(tok.Created),
			formatTime(tok.LastUsed), formatTime(tok.Expires), formatTime(tok.Revoked))
		return w.s.fail("create token", err)
	})
}

// Get returns the token with the given id.
func (t tokens) Get(ctx context.Context, id string) (store.Token, error) {
	if t.s.closed.Load() {
		return store.Token{}, store.ErrUnavailable
	}
	tok, err := scanToken(t.s.rs.token.QueryRowContext(ctx, id))
	if err != nil {
		return store.Token{}, t.s.notFound("get token", id, err)
	}
	return tok, nil
}

// List returns the tokens of a tenant, oldest first.
func (t tokens) List(ctx context.Context, tenant string) ([]store.Token, error) {
	const op = "list tokens"
	if t.s.closed.Load() {
		return nil, store.ErrUnavailable
	}
	rows, err := t.s.rs.tokenList.QueryContext(ctx, tenant)
	if err != nil {
		return nil, t.s.fail(op, err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		tok, err := scanToken(rows)
		if err != nil {
			return nil, t.s.fail(op, err)
		}
		out = append(out, tok)
	}
	if err := rows.Err(); err != nil {
		return nil, t.s.fail(op, err)
	}
	return out, nil
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
	return t.s.write(ctx, func(w *writer) error {
		res, err := st.Exec(id, formatTime(at))
		if err != nil {
			return w.s.fail(op, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%s %s: %w", op, id, store.ErrNotFound)
		}
		return nil
	})
}

func scanToken(row rowScanner) (store.Token, error) {
	var (
		tok                        store.Token
		created                    string
		lastUsed, expires, revoked sql.NullString
	)
	if err := row.Scan(&tok.ID, &tok.Tenant, &tok.SecretHash, &tok.Label, &created, &lastUsed, &expires, &revoked); err != nil {
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
