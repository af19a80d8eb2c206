-- credentials_version holds one number that changes whenever a row that
-- decides who is let in changes: a token, an OAuth client or a tenant (its
-- SCIM switch, its settings, its name, its deletion). The tenant service
-- caches successful token authentications together with the number they
-- were checked at, and reads it again on every request: a different number
-- means "check again" (issue 15).
--
-- Triggers change it, so that every writer does, whatever the process (a
-- server, the CLI, another node) and whatever the code path, in the
-- transaction of the change. The new value is random rather than the old
-- one plus one, so that a database restored from a backup can never come
-- back to a number a cache holds for another state. A token's last use
-- (last_used, written outside any change) is the one column left out: it
-- decides nothing, and it is written once a minute per token in use.
CREATE TABLE credentials_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    v  INTEGER NOT NULL
);
INSERT INTO credentials_version (id, v) VALUES (1, random());

CREATE TRIGGER tokens_insert_credentials AFTER INSERT ON tokens
BEGIN UPDATE credentials_version SET v = random() WHERE id = 1; END;
CREATE TRIGGER tokens_update_credentials
AFTER UPDATE OF id, tenant_id, secret_hash, label, created, expires, revoked, created_by, client_id ON tokens
BEGIN UPDATE credentials_version SET v = random() WHERE id = 1; END;
CREATE TRIGGER tokens_delete_credentials AFTER DELETE ON tokens
BEGIN UPDATE credentials_version SET v = random() WHERE id = 1; END;

CREATE TRIGGER oauth_clients_insert_credentials AFTER INSERT ON oauth_clients
BEGIN UPDATE credentials_version SET v = random() WHERE id = 1; END;
CREATE TRIGGER oauth_clients_update_credentials AFTER UPDATE ON oauth_clients
BEGIN UPDATE credentials_version SET v = random() WHERE id = 1; END;
CREATE TRIGGER oauth_clients_delete_credentials AFTER DELETE ON oauth_clients
BEGIN UPDATE credentials_version SET v = random() WHERE id = 1; END;

CREATE TRIGGER tenants_insert_credentials AFTER INSERT ON tenants
BEGIN UPDATE credentials_version SET v = random() WHERE id = 1; END;
CREATE TRIGGER tenants_update_credentials AFTER UPDATE ON tenants
BEGIN UPDATE credentials_version SET v = random() WHERE id = 1; END;
CREATE TRIGGER tenants_delete_credentials AFTER DELETE ON tenants
BEGIN UPDATE credentials_version SET v = random() WHERE id = 1; END;
