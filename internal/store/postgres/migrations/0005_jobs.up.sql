-- Provisioning jobs: stored, audited configuration. See the SQLite
-- migration of the same name: the document is opaque to the store, and the
-- revision is compared on update.
CREATE TABLE jobs (
    name          text COLLATE "C" PRIMARY KEY,
    document      jsonb NOT NULL,
    status        text NOT NULL DEFAULT 'Off',
    revision      bigint NOT NULL,
    needs_initial boolean NOT NULL DEFAULT false,
    created       timestamptz NOT NULL,
    updated       timestamptz NOT NULL
);
