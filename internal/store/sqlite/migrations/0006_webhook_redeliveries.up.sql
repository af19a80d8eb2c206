-- A request to send a webhook endpoint's dead deliveries again, written in
-- the transaction of its audit row. The deliveries live in the jobs
-- database (another file), so the webhook service carries the request out
-- there afterwards, exactly once (it records the request's id in the same
-- jobs transaction), and then deletes it here; a request a crash left
-- behind is carried out by the webhook dispatcher. Requests go with their
-- endpoint.
CREATE TABLE webhook_redeliveries (
    id           TEXT PRIMARY KEY,
    endpoint_id  TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    tenant_id    TEXT NOT NULL,
    delivery_ids TEXT NOT NULL DEFAULT '[]', -- JSON array; empty means every dead delivery of the endpoint
    requested    TEXT NOT NULL
);

CREATE INDEX webhook_redeliveries_requested ON webhook_redeliveries (requested, id);
CREATE INDEX webhook_redeliveries_endpoint ON webhook_redeliveries (endpoint_id);
