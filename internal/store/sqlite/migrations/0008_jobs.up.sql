-- Provisioning jobs: stored, audited configuration. The document is the
-- job's JSON as the provisioning job service validated it; the store does
-- not interpret it, so the document can grow without a migration. The
-- revision is compared on update so that two concurrent applies cannot
-- both win.
CREATE TABLE jobs (
    name          TEXT PRIMARY KEY,
    document      TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'Off',
    revision      INTEGER NOT NULL,
    needs_initial INTEGER NOT NULL DEFAULT 0,
    created       TEXT NOT NULL,
    updated       TEXT NOT NULL
);
