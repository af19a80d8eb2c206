-- The webhook delivery tables (internal/webhook). Times are unix
-- microseconds, as in the SQLite version.
--
-- webhook_deliveries is the delivery log and queue: one row per event and
-- endpoint, pending until delivered or dead. The partial index on pending
-- rows serves the workers' "oldest pending of a lane" and the repair's
-- "does this lane have work" as index seeks.
CREATE TABLE webhook_deliveries (
	id           bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	endpoint_id  text    NOT NULL,
	tenant       text    NOT NULL,
	lane         integer NOT NULL,
	event_id     text    NOT NULL,
	event_type   text    NOT NULL,
	event_cursor text    NOT NULL,
	event_time   bigint  NOT NULL,
	payload      text    NOT NULL,
	state        text    NOT NULL DEFAULT 'pending',
	attempts     integer NOT NULL DEFAULT 0,
	last_status  integer NOT NULL DEFAULT 0,
	last_error   text    NOT NULL DEFAULT '',
	created      bigint  NOT NULL,
	delivered_at bigint
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, lane, id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant, id);
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created) WHERE state = 'delivered';

-- webhook_cursors holds each endpoint's dispatch cursor into the outbox.
CREATE TABLE webhook_cursors (
	endpoint_id text   PRIMARY KEY,
	cursor      text   NOT NULL,
	updated     bigint NOT NULL
);

-- webhook_lanes records each lane's river job (at most one) and, after a
-- failed attempt, the last delivery of the batch its retry resends.
CREATE TABLE webhook_lanes (
	endpoint_id text    NOT NULL,
	lane        integer NOT NULL,
	job_id      bigint,
	batch_end   bigint  NOT NULL DEFAULT 0,
	PRIMARY KEY (endpoint_id, lane)
);
