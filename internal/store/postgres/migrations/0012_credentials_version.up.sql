-- credentials_version holds one number that changes whenever a row that
-- decides who is let in changes; see the SQLite migration of the same name.
-- Statement triggers change it once per statement (deleting a thousand
-- expired tokens changes it once), in the transaction of the change, on
-- whichever node or process makes it. random() has 52 random bits here:
-- the chance that a change gives back the number before it is negligible.
CREATE TABLE credentials_version (
    id integer PRIMARY KEY CHECK (id = 1),
    v  bigint NOT NULL
);
INSERT INTO credentials_version (id, v) VALUES (1, floor(random() * 4503599627370496)::bigint);

-- search_path is fixed to the schema the function is made in, so that a
-- change made on a connection with another search_path still changes this
-- schema's number.
CREATE FUNCTION roster_credentials_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE credentials_version SET v = floor(random() * 4503599627370496)::bigint WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER tokens_credentials
AFTER INSERT OR DELETE OR TRUNCATE
    OR UPDATE OF id, tenant_id, secret_hash, label, created, expires, revoked, created_by, client_id
ON tokens FOR EACH STATEMENT EXECUTE FUNCTION roster_credentials_changed();
CREATE TRIGGER oauth_clients_credentials
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
ON oauth_clients FOR EACH STATEMENT EXECUTE FUNCTION roster_credentials_changed();
CREATE TRIGGER tenants_credentials
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
ON tenants FOR EACH STATEMENT EXECUTE FUNCTION roster_credentials_changed();
