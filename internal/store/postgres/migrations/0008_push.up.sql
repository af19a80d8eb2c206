-- Records pushed to jobs of source type push; see the SQLite migration of
-- the same name. seq is per job, given in Go as the job's highest seq plus
-- one by a writer holding the job's transaction advisory lock, so that seq
-- order is commit order.
CREATE TABLE provision_records (
    job     text COLLATE "C" NOT NULL,
    anchor  text COLLATE "C" NOT NULL,
    seq     bigint NOT NULL,
    data    jsonb NOT NULL,
    deleted boolean NOT NULL,
    updated timestamptz NOT NULL,
    PRIMARY KEY (job, anchor)
);
CREATE UNIQUE INDEX provision_records_seq ON provision_records (job, seq);

CREATE TABLE provision_push_tokens (
    job     text COLLATE "C" PRIMARY KEY,
    id      text NOT NULL,
    hash    bytea NOT NULL,
    created timestamptz NOT NULL
);
