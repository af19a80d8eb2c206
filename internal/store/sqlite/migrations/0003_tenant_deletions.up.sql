-- Tenant deletions in progress. Deleting a tenant first removes its row,
-- tokens and OAuth clients and records its key here, in one transaction;
-- the rows left under the key (resources, resource_values, memberships,
-- resource_counts) are then removed in batches, and the row here with the
-- last batch. A deletion that a crash interrupted is finished after the
-- next open. id is '' for a key found with rows but no tenant.
CREATE TABLE tenant_deletions (
    key     INTEGER PRIMARY KEY, -- tenants.key of the deleted tenant
    id      TEXT NOT NULL,
    started TEXT NOT NULL
);
