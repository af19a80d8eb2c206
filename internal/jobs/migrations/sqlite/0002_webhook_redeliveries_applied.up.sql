-- The redelivery requests (webhook_redeliveries in Roster's database) that
-- were carried out here, each with how many deliveries it put back: a
-- request is carried out in the transaction that inserts its row, so never
-- twice, whoever tries again after a crash.
CREATE TABLE webhook_redeliveries_applied (
	id          TEXT    PRIMARY KEY,
	redelivered INTEGER NOT NULL DEFAULT 0,
	applied     INTEGER NOT NULL
);
CREATE INDEX webhook_redeliveries_applied_at ON webhook_redeliveries_applied (applied);
