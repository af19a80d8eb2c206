-- The jobs-side schema as the webhook package created it before the jobs
-- host (commit 51a90b6, internal/webhook/jobs.go: postgresMigrations[0] and
-- migrateOwn), after river's own migrations. TestUpgradeFromWebhookMigrations
-- opens a database in this state.
CREATE TABLE IF NOT EXISTS webhook_migrations (
	version integer PRIMARY KEY,
	applied bigint NOT NULL
);
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
CREATE TABLE webhook_cursors (
	endpoint_id text   PRIMARY KEY,
	cursor      text   NOT NULL,
	updated     bigint NOT NULL
);
CREATE TABLE webhook_lanes (
	endpoint_id text    NOT NULL,
	lane        integer NOT NULL,
	job_id      bigint,
	batch_end   bigint  NOT NULL DEFAULT 0,
	PRIMARY KEY (endpoint_id, lane)
);
INSERT INTO webhook_migrations (version, applied) VALUES (1, 1764676800000000);
