-- The provisioning engine's state (store/provision.go); see the SQLite
-- migration of the same name. Rows are keyed by the job's name and removed
-- by the job service with the job, so there is no foreign key to check on
-- the engine's bulk writes. Keys are text COLLATE "C": compared and
-- ordered byte by byte, as in SQLite.
CREATE TABLE provision_links (
    job           text COLLATE "C" NOT NULL,
    kind          text COLLATE "C" NOT NULL,
    source_anchor text COLLATE "C" NOT NULL,
    target_id     text COLLATE "C" NOT NULL,
    display       text NOT NULL,
    state         text NOT NULL,
    hash          text NOT NULL,
    created       timestamptz NOT NULL,
    updated       timestamptz NOT NULL,
    PRIMARY KEY (job, kind, source_anchor)
);
CREATE INDEX provision_links_target ON provision_links (job, kind, target_id);

CREATE TABLE provision_state (
    job        text COLLATE "C" PRIMARY KEY,
    watermarks jsonb NOT NULL,
    next_run   timestamptz,
    cycle      text NOT NULL,
    updated    timestamptz NOT NULL
);

-- ended is NULL while the cycle runs.
CREATE TABLE provision_cycles (
    id      text COLLATE "C" PRIMARY KEY,
    job     text COLLATE "C" NOT NULL,
    initial boolean NOT NULL,
    dry_run boolean NOT NULL,
    started timestamptz NOT NULL,
    ended   timestamptz,
    status  text NOT NULL,
    stats   json,
    error   text NOT NULL
);
CREATE INDEX provision_cycles_job ON provision_cycles (job, started);
CREATE INDEX provision_cycles_ended ON provision_cycles (ended) WHERE ended IS NOT NULL;

-- steps and modified (and a cycle's stats) are json, not jsonb, so that
-- they come back as the engine wrote them and cost no conversion on
-- 100,000 appends per cycle.
-- source_name_fold is source_name folded by filter.Fold, in Go.
CREATE TABLE provision_logs (
    seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job              text COLLATE "C" NOT NULL,
    cycle            text COLLATE "C" NOT NULL,
    change           text NOT NULL,
    time             timestamptz NOT NULL,
    kind             text NOT NULL,
    source_anchor    text COLLATE "C" NOT NULL,
    source_name      text NOT NULL,
    source_name_fold text COLLATE "C" NOT NULL,
    target_id        text COLLATE "C" NOT NULL,
    action           text NOT NULL,
    status           text NOT NULL,
    steps            json,
    modified         json,
    error_code       text NOT NULL,
    reason           text NOT NULL,
    duration         bigint NOT NULL
);
CREATE INDEX provision_logs_job ON provision_logs (job, seq);
CREATE INDEX provision_logs_cycle ON provision_logs (job, cycle, seq);
-- Object lookups, read as a BitmapOr of the three.
CREATE INDEX provision_logs_anchor ON provision_logs (job, source_anchor, seq);
CREATE INDEX provision_logs_target ON provision_logs (job, target_id, seq);
CREATE INDEX provision_logs_name ON provision_logs (job, source_name_fold, seq);
