-- The jobs-side schema as the webhook package created it before the jobs
-- host (commit 51a90b6, internal/webhook/jobs.go: sqliteMigrations[0] and
-- migrateOwn), after river's own migrations. TestUpgradeFromWebhookMigrations
-- opens a database in this state.
CREATE TABLE IF NOT EXISTS webhook_migrations (
	version integer PRIMARY KEY,
	applied bigint NOT NULL
);
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
CREATE TABLE webhook_cursors (
	endpoint_id TEXT    PRIMARY KEY,
	cursor      TEXT    NOT NULL,
	updated     INTEGER NOT NULL
);
CREATE TABLE webhook_lanes (
	endpoint_id TEXT    NOT NULL,
	lane        INTEGER NOT NULL,
	job_id      INTEGER,
	batch_end   INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (endpoint_id, lane)
);
INSERT INTO webhook_migrations (version, applied) VALUES (1, 1764676800000000);
