-- Records pushed to jobs of source type push (store/provision.go,
-- PushRecord): the HR system's latest record of each user, staged until
-- the job's cycles read it. seq is per job, given in Go by the one writer
-- as the job's highest seq plus one, so that seq order is commit order and
-- the push source can read a delta as seq > watermark. Removed with the
-- job by DeleteJob, like the engine's other rows.
CREATE TABLE provision_records (
    job     TEXT NOT NULL,
    anchor  TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    data    TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    updated TEXT NOT NULL,
    PRIMARY KEY (job, anchor)
) WITHOUT ROWID;
CREATE UNIQUE INDEX provision_records_seq ON provision_records (job, seq);

-- One push token per job; hash is the SHA-256 of the whole token.
CREATE TABLE provision_push_tokens (
    job     TEXT PRIMARY KEY,
    id      TEXT NOT NULL,
    hash    BLOB NOT NULL,
    created TEXT NOT NULL
);
