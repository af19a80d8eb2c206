package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rosterhq/roster/internal/store"
)

// lookupSQL reads a token, its tenant, its OAuth client's state and the
// credentials version with primary-key probes, so that authenticating a
// request costs one statement, and (one statement, one snapshot) the
// version is that of the rows read.
const lookupSQL = `SELECT
	t.id, t.tenant_id, t.secret_hash, t.label, t.created, t.last_used, t.expires, t.revoked, t.created_by, t.client_id,
	n.id, n.name, n.created, n.scim_disabled, n.settings::text,
	t.client_id <> '' AND (c.id IS NULL OR c.revoked IS NOT NULL),
	(SELECT v FROM credentials_version WHERE id = 1)
FROM tokens t
JOIN tenants n ON n.id = t.tenant_id
LEFT JOIN oauth_clients c ON c.id = t.client_id
WHERE t.id = $1`

// Lookup reads a token with its tenant in one query.
func (t tokens) Lookup(ctx context.Context, id string) (store.Credential, error) {
	const op = "look up token"
	if t.s.closed.Load() {
		return store.Credential{}, store.ErrUnavailable
	}
	var (
		c                          store.Credential
		created, tenantCreated     time.Time
		lastUsed, expires, revoked *time.Time
		settings                   string
	)
	err := t.s.pool.QueryRow(ctx, lookupSQL, id).Scan(
		&c.Token.ID, &c.Token.Tenant, &c.Token.SecretHash, &c.Token.Label, &created, &lastUsed, &expires, &revoked,
		&c.Token.CreatedBy, &c.Token.ClientID,
		&c.Tenant.ID, &c.Tenant.Name, &tenantCreated, &c.Tenant.SCIMDisabled, &settings,
		&c.ClientRevoked, &c.Version)
	if err != nil {
		return store.Credential{}, t.s.notFound(op, id, err)
	}
	c.Token.Created, c.Token.LastUsed, c.Token.Expires, c.Token.Revoked = created.UTC(), utc(lastUsed), utc(expires), utc(revoked)
	c.Tenant.Created = tenantCreated.UTC()
	if err := json.Unmarshal([]byte(settings), &c.Tenant.Settings); err != nil {
		return store.Credential{}, fmt.Errorf("%s %s: tenant settings: %w", op, id, err)
	}
	return c, nil
}

// CredentialsVersion reads the credentials version (migration 0012): one
// row by primary key, committed by any node.
func (t tokens) CredentialsVersion(ctx context.Context) (int64, error) {
	if t.s.closed.Load() {
		return 0, store.ErrUnavailable
	}
	var v int64
	if err := t.s.pool.QueryRow(ctx, "SELECT v FROM credentials_version WHERE id = 1").Scan(&v); err != nil {
		return 0, t.s.fail("read credentials version", err)
	}
	return v, nil
}
