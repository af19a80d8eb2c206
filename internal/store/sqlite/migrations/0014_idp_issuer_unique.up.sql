-- One identity-provider issuer is trusted by one tenant at most: the shared
-- Tenant URL finds a tenant by the issuer of its JWT. The tenant service
-- checks it too, for a clear message; the index holds under concurrent
-- configuration as well (issue 12.20). Tenants without an IdP have no
-- issuer (NULL), which the index leaves out.
CREATE UNIQUE INDEX tenants_idp_issuer ON tenants (json_extract(settings, '$.idp.iss'))
    WHERE json_extract(settings, '$.idp.iss') IS NOT NULL;
