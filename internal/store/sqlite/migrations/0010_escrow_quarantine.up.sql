-- The engine's escrow (objects whose provisioning failed, retried in later
-- cycles less and less often) and each job's quarantine and notification
-- state (store/provision.go).

CREATE TABLE provision_escrow (
    job           TEXT NOT NULL,
    kind          TEXT NOT NULL,
    source_anchor TEXT NOT NULL,
    display       TEXT NOT NULL,
    reference     INTEGER NOT NULL,
    failures      INTEGER NOT NULL,
    first_failed  TEXT NOT NULL,
    last_failed   TEXT NOT NULL,
    next_retry    TEXT NOT NULL,
    action        TEXT NOT NULL,
    error_code    TEXT NOT NULL,
    reason        TEXT NOT NULL,
    PRIMARY KEY (job, kind, source_anchor)
) WITHOUT ROWID;

-- quarantine is a JSON object, or '' when the job is not quarantined;
-- notified a JSON object of what was last notified by subject.
ALTER TABLE provision_state ADD COLUMN quarantine TEXT NOT NULL DEFAULT '';
ALTER TABLE provision_state ADD COLUMN notified TEXT NOT NULL DEFAULT '{}';
