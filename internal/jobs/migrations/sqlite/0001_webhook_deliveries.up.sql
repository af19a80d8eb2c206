-- The webhook delivery tables (internal/webhook). Times are unix
-- microseconds, as in the PostgreSQL version.
--
-- webhook_deliveries is the delivery log and queue: one row per event and
-- endpoint, pending until delivered or dead. The partial index on pending
-- rows serves the workers' "oldest pending of a lane" and the repair's
-- "does this lane have work" as index seeks.
CREATE TABLE webhook_deliveries (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	endpoint_id  TEXT    NOT NULL,
	tenant       TEXT    NOT NULL,
	lane         INTEGER NOT NULL,
	event_id     TEXT    NOT NULL,
	event_type   TEXT    NOT NULL,
	event_cursor TEXT    NOT NULL,
	event_time   INTEGER NOT NULL,
	payload      TEXT    NOT NULL,
	state        TEXT    NOT NULL DEFAULT 'pending',
	attempts     INTEGER NOT NULL DEFAULT 0,
	last_status  INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT    NOT NULL DEFAULT '',
	created      INTEGER NOT NULL,
	delivered_at INTEGER
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, lane, id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant, id);
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created) WHERE state = 'delivered';

-- webhook_cursors holds each endpoint's dispatch cursor into the outbox.
CREATE TABLE webhook_cursors (
	endpoint_id TEXT    PRIMARY KEY,
	cursor      TEXT    NOT NULL,
	updated     INTEGER NOT NULL
);

-- webhook_lanes records each lane's river job (at most one) and, after a
-- failed attempt, the last delivery of the batch its retry resends.
CREATE TABLE webhook_lanes (
	endpoint_id TEXT    NOT NULL,
	lane        INTEGER NOT NULL,
	job_id      INTEGER,
	batch_end   INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (endpoint_id, lane)
);
