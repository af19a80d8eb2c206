-- A request to send a webhook endpoint's dead deliveries again, written in
-- the transaction of its audit row; the webhook service carries it out in
-- the jobs tables afterwards, exactly once (it records the request's id in
-- the same jobs transaction), and then deletes it; a request a crash left
-- behind is carried out by the webhook dispatcher. See the SQLite migration
-- of the same name. Requests go with their endpoint.
CREATE TABLE webhook_redeliveries (
    id           text COLLATE "C" PRIMARY KEY,
    endpoint_id  text COLLATE "C" NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    tenant_id    text COLLATE "C" NOT NULL,
    delivery_ids bigint[] NOT NULL DEFAULT '{}', -- empty means every dead delivery of the endpoint
    requested    timestamptz NOT NULL
);

CREATE INDEX webhook_redeliveries_requested ON webhook_redeliveries (requested, id);
CREATE INDEX webhook_redeliveries_endpoint ON webhook_redeliveries (endpoint_id);
