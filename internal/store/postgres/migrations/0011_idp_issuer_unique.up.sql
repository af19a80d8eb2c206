-- One identity-provider issuer is trusted by one tenant at most; see the
-- SQLite migration of the same name.
CREATE UNIQUE INDEX tenants_idp_issuer ON tenants ((settings -> 'idp' ->> 'iss'))
    WHERE settings -> 'idp' ->> 'iss' IS NOT NULL;
