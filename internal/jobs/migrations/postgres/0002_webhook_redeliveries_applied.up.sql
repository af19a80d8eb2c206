-- The redelivery requests (webhook_redeliveries) carried out here, each
-- with how many deliveries it put back: see the SQLite migration of the
-- same name.
CREATE TABLE webhook_redeliveries_applied (
	id          text    PRIMARY KEY,
	redelivered integer NOT NULL DEFAULT 0,
	applied     bigint  NOT NULL
);
CREATE INDEX webhook_redeliveries_applied_at ON webhook_redeliveries_applied (applied);
