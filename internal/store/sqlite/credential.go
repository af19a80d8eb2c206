package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rosterhq/roster/internal/store"
)

// lookupQuery reads a token, its tenant, its OAuth client's state and the
// credentials version with primary-key probes, so that authenticating a
// request costs one statement, and the version is that of the rows read.
const lookupQuery = `SELECT
	t.id, t.tenant_id, t.secret_hash, t.label, t.created, t.last_used, t.expires, t.revoked, t.created_by, t.client_id,
	n.id, n.name, n.created, n.scim_disabled, n.settings,
	t.client_id <> '' AND (c.id IS NULL OR c.revoked IS NOT NULL),
	(SELECT v FROM credentials_version WHERE id = 1)
FROM tokens t
JOIN tenants n ON n.id = t.tenant_id
LEFT JOIN oauth_clients c ON c.id = t.client_id
WHERE t.id = ?1`

// Lookup reads a token with its tenant in one query.
func (t tokens) Lookup(ctx context.Context, id string) (store.Credential, error) {
	const op = "look up token"
	if t.s.closed.Load() {
		return store.Credential{}, store.ErrUnavailable
	}
	st, err := t.s.stmt(ctx, lookupQuery)
	if err != nil {
		return store.Credential{}, t.s.fail(op, err)
	}
	var row *sql.Row
	if st != nil {
		row = st.QueryRowContext(ctx, id)
	} else {
		row = t.s.rdb.QueryRowContext(ctx, lookupQuery, id)
	}
	var (
		c                                store.Credential
		created, tenantCreated, settings string
		lastUsed, expires, revoked       sql.NullString
	)
	err = row.Scan(&c.Token.ID, &c.Token.Tenant, &c.Token.SecretHash, &c.Token.Label, &created, &lastUsed, &expires, &revoked,
		&c.Token.CreatedBy, &c.Token.ClientID,
		&c.Tenant.ID, &c.Tenant.Name, &tenantCreated, &c.Tenant.SCIMDisabled, &settings,
		&c.ClientRevoked, &c.Version)
	if err != nil {
		return store.Credential{}, t.s.notFound(op, id, err)
	}
	for _, f := range []struct {
		dst *time.Time
		src string
	}{
		{&c.Token.Created, created}, {&c.Token.LastUsed, lastUsed.String}, {&c.Token.Expires, expires.String},
		{&c.Token.Revoked, revoked.String}, {&c.Tenant.Created, tenantCreated},
	} {
		if *f.dst, err = parseTime(f.src); err != nil {
			return store.Credential{}, fmt.Errorf("%s %s: %w", op, id, err)
		}
	}
	if err := json.Unmarshal([]byte(settings), &c.Tenant.Settings); err != nil {
		return store.Credential{}, fmt.Errorf("%s %s: tenant settings: %w", op, id, err)
	}
	return c, nil
}

// CredentialsVersion reads the credentials version (migration 0015): one
// row by primary key on the read pool, which sees every commit made before
// it starts, by this process or any other.
func (t tokens) CredentialsVersion(ctx context.Context) (int64, error) {
	if t.s.closed.Load() {
		return 0, store.ErrUnavailable
	}
	var v int64
	if err := t.s.rs.credentialsVersion.QueryRowContext(ctx).Scan(&v); err != nil {
		return 0, t.s.fail("read credentials version", err)
	}
	return v, nil
}
