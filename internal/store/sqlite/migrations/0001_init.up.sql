-- Tenants, tokens, resources, their multi-valued elements, memberships and
-- per-type counters. See package documentation for the reasoning.

CREATE TABLE tenants (
    key           INTEGER PRIMARY KEY, -- internal key used by the resource tables
    id            TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL UNIQUE,
    created       TEXT NOT NULL,
    scim_disabled INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    secret_hash BLOB NOT NULL,
    label       TEXT NOT NULL DEFAULT '',
    created     TEXT NOT NULL,
    last_used   TEXT,
    expires     TEXT,
    revoked     TEXT
) WITHOUT ROWID;

CREATE INDEX tokens_tenant ON tokens (tenant_id, created);

CREATE TABLE resources (
    seq               INTEGER PRIMARY KEY, -- rowid: ascending in creation order
    tenant            INTEGER NOT NULL,    -- tenants.key
    type              TEXT NOT NULL,
    id                TEXT NOT NULL,
    user_name_fold    TEXT,
    external_id       TEXT,
    display_name_fold TEXT,
    display           TEXT NOT NULL DEFAULT '',
    attrs             TEXT NOT NULL,
    created           TEXT NOT NULL,
    modified          TEXT NOT NULL,
    version           INTEGER NOT NULL
);

CREATE UNIQUE INDEX resources_id ON resources (tenant, id);
CREATE UNIQUE INDEX resources_user_name ON resources (tenant, type, user_name_fold)
    WHERE user_name_fold IS NOT NULL;
CREATE INDEX resources_external_id ON resources (tenant, type, external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX resources_display_name ON resources (tenant, type, display_name_fold)
    WHERE display_name_fold IS NOT NULL;
CREATE INDEX resources_type ON resources (tenant, type, seq);

CREATE TABLE resource_values (
    resource_seq INTEGER NOT NULL,
    attr         TEXT NOT NULL,
    idx          INTEGER NOT NULL,
    tenant       INTEGER NOT NULL,
    value_fold   TEXT,
    type_fold    TEXT,
    is_primary   INTEGER,
    present      INTEGER NOT NULL,
    elem         TEXT NOT NULL,
    PRIMARY KEY (resource_seq, attr, idx)
) WITHOUT ROWID;

CREATE INDEX resource_values_value ON resource_values (tenant, attr, value_fold);

CREATE TABLE memberships (
    group_seq  INTEGER NOT NULL,
    member_seq INTEGER NOT NULL,
    PRIMARY KEY (group_seq, member_seq)
) WITHOUT ROWID;

CREATE INDEX memberships_member ON memberships (member_seq, group_seq);

CREATE TABLE resource_counts (
    tenant INTEGER NOT NULL,
    type   TEXT NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (tenant, type)
) WITHOUT ROWID;
