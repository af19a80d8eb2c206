-- Named leases that let one of several processes on the database run a
-- piece of background work at a time.
CREATE TABLE leases (
    name    TEXT PRIMARY KEY,
    holder  TEXT NOT NULL,
    expires TEXT NOT NULL
) WITHOUT ROWID;
