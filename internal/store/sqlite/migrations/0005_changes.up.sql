-- The revision history of SCIM resources, the transactional outbox of change
-- events, and webhook endpoints. Writer.Record appends a history row and the
-- change's events in the transaction of the change itself.
--
-- history and events are scoped by the tenant's key, like the resource
-- tables, and removed in batches after the tenant row when a tenant is
-- deleted (purge.go); webhook_endpoints, a few rows a tenant, refer to the
-- tenant's id like tokens and go with the tenant row.
--
-- Both seq columns are AUTOINCREMENT so that a seq is never handed out again,
-- even once retention has purged every row: readers page the history by seq
-- and follow the outbox by a cursor that is the decimal seq, which is in
-- commit order because SQLite has a single writer.

CREATE TABLE history (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant          INTEGER NOT NULL, -- tenants.key
    time            TEXT NOT NULL,
    resource_type   TEXT NOT NULL,
    resource_id     TEXT NOT NULL,
    name            TEXT NOT NULL DEFAULT '',
    name_fold       TEXT NOT NULL DEFAULT '', -- filter.Fold(name), for the UserName filter
    operation       TEXT NOT NULL,
    version         INTEGER NOT NULL,
    actor           TEXT NOT NULL,
    actor_label     TEXT NOT NULL DEFAULT '',
    credential      TEXT NOT NULL DEFAULT '',
    request_id      TEXT NOT NULL DEFAULT '',
    client_addr     TEXT NOT NULL DEFAULT '',
    attributes      TEXT, -- JSON array of store.AttrChange; NULL for none
    members_added   TEXT, -- JSON array of ids; NULL for none
    members_removed TEXT, -- JSON array of ids; NULL for none
    event_types     TEXT  -- JSON array of event types; NULL for none
);

CREATE INDEX history_tenant ON history (tenant, seq);
-- A resource's history. Ids are unique in a tenant whatever the type
-- (resources_id), so the type is checked on the rows, and the index serves
-- a query by id alone.
CREATE INDEX history_resource ON history (tenant, resource_id, seq);
-- The UserName filter finds the ids of the users that ever had the name,
-- from the index alone. Groups' entries, which the filter never selects,
-- are left out of it.
CREATE INDEX history_name ON history (tenant, name_fold, resource_id) WHERE resource_type = 'User';

CREATE TABLE events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant        INTEGER NOT NULL, -- tenants.key
    id            TEXT NOT NULL,
    type          TEXT NOT NULL,
    time          TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    data          TEXT NOT NULL -- JSON
);

CREATE INDEX events_tenant ON events (tenant, seq);

CREATE TABLE webhook_endpoints (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    url          TEXT NOT NULL,
    secret       TEXT NOT NULL,
    event_types  TEXT NOT NULL DEFAULT '[]', -- JSON array; empty for every type
    max_attempts INTEGER NOT NULL,
    disabled     INTEGER NOT NULL DEFAULT 0,
    created      TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, created);

-- The purge horizon: the newest event position retention deleted, so that
-- a feed reader behind it learns it missed events (store.EventStore.Oldest).
CREATE TABLE events_purged (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    seq  INTEGER NOT NULL
);
