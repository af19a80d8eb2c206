-- Revision history, the transactional outbox of change events, and webhook
-- endpoints (see store/changes.go). History and events are kept under the
-- tenant's key, as resources are, so that deleting a tenant purges them in
-- batches (purge.go); webhook endpoints, like tokens, reference the tenant's
-- id and go with the tenant row.

-- One row per change to a resource, written by Writer.Record in the
-- transaction of the change. The columns are what history is filtered by;
-- the rest of store.Change is in detail.
CREATE TABLE history (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant        bigint NOT NULL, -- tenants.key
    time          timestamptz NOT NULL,
    resource_type text COLLATE "C" NOT NULL,
    resource_id   text COLLATE "C" NOT NULL,
    name_fold     text COLLATE "C" NOT NULL, -- filter.Fold of ResourceName
    operation     text COLLATE "C" NOT NULL,
    version       bigint NOT NULL,
    actor         text COLLATE "C" NOT NULL,
    detail        json NOT NULL -- the rest of store.Change, as written
);

CREATE INDEX history_tenant ON history (tenant, seq);
CREATE INDEX history_resource ON history (tenant, resource_type, resource_id, seq);
-- HistoryQuery.UserName: the users that ever had the name.
CREATE INDEX history_name ON history (tenant, name_fold);
-- Purge by age.
CREATE INDEX history_time ON history (time);

-- The outbox. An event's position is (txid, seq): txid is the id of the
-- transaction that wrote it, seq orders the events of one transaction.
-- Readers page by position, but only below a horizon under which no event
-- can appear any more: the lowest id of the transactions still able to
-- write events (see events.List in changes.go). Paging by seq alone could
-- skip an event, since seq is taken at insert, not at commit. tenant_id
-- is the tenant's id as events carry it.
CREATE TABLE events (
    txid          xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq           bigint GENERATED ALWAYS AS IDENTITY,
    tenant        bigint NOT NULL, -- tenants.key
    tenant_id     text COLLATE "C" NOT NULL,
    id            text COLLATE "C" NOT NULL,
    type          text COLLATE "C" NOT NULL,
    time          timestamptz NOT NULL,
    resource_type text COLLATE "C" NOT NULL,
    resource_id   text COLLATE "C" NOT NULL,
    data          json NOT NULL, -- kept byte for byte
    PRIMARY KEY (txid, seq)
);

CREATE INDEX events_tenant ON events (tenant, txid, seq);
CREATE INDEX events_time ON events (time);

-- The position of the newest event EventStore.Purge deleted (one row, once
-- it has deleted any): a reader whose cursor is before it missed events.
CREATE TABLE events_purged (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    txid xid8 NOT NULL,
    seq  bigint NOT NULL
);

CREATE TABLE webhook_endpoints (
    id           text COLLATE "C" PRIMARY KEY,
    tenant_id    text COLLATE "C" NOT NULL REFERENCES tenants (id),
    url          text NOT NULL,
    secret       text NOT NULL,
    event_types  text[] NOT NULL DEFAULT '{}', -- empty means every type
    max_attempts integer NOT NULL,
    disabled     boolean NOT NULL DEFAULT false,
    created      timestamptz NOT NULL
);

CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, created, id);
