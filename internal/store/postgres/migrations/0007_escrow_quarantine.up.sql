-- The engine's escrow and each job's quarantine and notification state;
-- see the SQLite migration of the same name.

CREATE TABLE provision_escrow (
    job           text COLLATE "C" NOT NULL,
    kind          text COLLATE "C" NOT NULL,
    source_anchor text COLLATE "C" NOT NULL,
    display       text NOT NULL,
    reference     boolean NOT NULL,
    failures      integer NOT NULL,
    first_failed  timestamptz NOT NULL,
    last_failed   timestamptz NOT NULL,
    next_retry    timestamptz NOT NULL,
    action        text NOT NULL,
    error_code    text NOT NULL,
    reason        text NOT NULL,
    PRIMARY KEY (job, kind, source_anchor)
);

-- quarantine is NULL when the job is not quarantined.
ALTER TABLE provision_state ADD COLUMN quarantine jsonb;
ALTER TABLE provision_state ADD COLUMN notified jsonb NOT NULL DEFAULT '{}';
