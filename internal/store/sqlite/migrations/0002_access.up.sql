-- Tenant settings and deletion, token issuers, OAuth clients, admins and
-- their sessions, the audit log and server-wide settings.

-- Tenants can now be deleted, and another process sharing the file may still
-- map a deleted tenant's id to its key, so a key must never be handed out
-- again: AUTOINCREMENT, which needs the table rebuilt. The keys are copied,
-- because the resource tables refer to them. (migrate runs every migration
-- with foreign keys off and checks them before it commits.)
CREATE TABLE tenants_new (
    key           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL UNIQUE,
    created       TEXT NOT NULL,
    scim_disabled INTEGER NOT NULL DEFAULT 0,
    settings      TEXT NOT NULL DEFAULT '{}' -- store.TenantSettings as JSON
);

INSERT INTO tenants_new (key, id, name, created, scim_disabled)
    SELECT key, id, name, created, scim_disabled FROM tenants ORDER BY key;

DROP TABLE tenants;
ALTER TABLE tenants_new RENAME TO tenants;

ALTER TABLE tokens ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN client_id TEXT NOT NULL DEFAULT '';

-- Access tokens issued to OAuth clients expire within the hour; removing
-- them reads only the expired ones.
CREATE INDEX tokens_expires ON tokens (expires) WHERE expires IS NOT NULL;

CREATE TABLE oauth_clients (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    secret_hash BLOB NOT NULL,
    label       TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL DEFAULT '',
    created     TEXT NOT NULL,
    revoked     TEXT
) WITHOUT ROWID;

CREATE INDEX oauth_clients_tenant ON oauth_clients (tenant_id, created);

CREATE TABLE admins (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE, -- BINARY collation: case-sensitive
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created       TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE admin_sessions (
    id          TEXT PRIMARY KEY,
    admin_id    TEXT NOT NULL REFERENCES admins (id),
    secret_hash BLOB NOT NULL,
    created     TEXT NOT NULL,
    expires     TEXT
) WITHOUT ROWID;

CREATE INDEX admin_sessions_admin ON admin_sessions (admin_id);

-- tenant is the tenant's name, not its key: events outlive the tenant.
CREATE TABLE audit_events (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    time   TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    tenant TEXT NOT NULL DEFAULT '',
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT 'null' -- JSON
);

CREATE INDEX audit_events_tenant ON audit_events (tenant, seq);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
