-- The provisioning engine's state (store/provision.go): links between
-- source and target objects, each job's state between cycles, its cycles
-- and its log. Rows are keyed by the job's name; the job service removes
-- them in the transaction that deletes the job (DeleteJob), so there is no
-- foreign key to check on the engine's bulk writes.

-- WITHOUT ROWID: the key is the lookup, so the rows live in its b-tree.
CREATE TABLE provision_links (
    job           TEXT NOT NULL,
    kind          TEXT NOT NULL,
    source_anchor TEXT NOT NULL,
    target_id     TEXT NOT NULL,
    display       TEXT NOT NULL,
    state         TEXT NOT NULL,
    hash          TEXT NOT NULL,
    created       TEXT NOT NULL,
    updated       TEXT NOT NULL,
    PRIMARY KEY (job, kind, source_anchor)
) WITHOUT ROWID;
CREATE INDEX provision_links_target ON provision_links (job, kind, target_id);

-- watermarks is a JSON object of the sources' watermarks by kind.
CREATE TABLE provision_state (
    job        TEXT PRIMARY KEY,
    watermarks TEXT NOT NULL,
    next_run   TEXT,
    cycle      TEXT NOT NULL,
    updated    TEXT NOT NULL
);

-- ended is NULL while the cycle runs; stats is the engine's JSON.
CREATE TABLE provision_cycles (
    id      TEXT PRIMARY KEY,
    job     TEXT NOT NULL,
    initial INTEGER NOT NULL,
    dry_run INTEGER NOT NULL,
    started TEXT NOT NULL,
    ended   TEXT,
    status  TEXT NOT NULL,
    stats   TEXT,
    error   TEXT NOT NULL
);
CREATE INDEX provision_cycles_job ON provision_cycles (job, started);
-- Retention removes ended cycles by their end.
CREATE INDEX provision_cycles_ended ON provision_cycles (ended) WHERE ended IS NOT NULL;

-- AUTOINCREMENT keeps a seq from being handed out again after retention
-- purged the newest rows, so a reader paging with After misses nothing.
-- Every index ends in seq (the rowid), so each filter reads in log order.
-- source_name_fold is source_name folded by filter.Fold, in Go.
CREATE TABLE provision_logs (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    job              TEXT NOT NULL,
    cycle            TEXT NOT NULL,
    change           TEXT NOT NULL,
    time             TEXT NOT NULL,
    kind             TEXT NOT NULL,
    source_anchor    TEXT NOT NULL,
    source_name      TEXT NOT NULL,
    source_name_fold TEXT NOT NULL,
    target_id        TEXT NOT NULL,
    action           TEXT NOT NULL,
    status           TEXT NOT NULL,
    steps            TEXT,
    modified         TEXT,
    error_code       TEXT NOT NULL,
    reason           TEXT NOT NULL,
    duration         INTEGER NOT NULL
);
CREATE INDEX provision_logs_job ON provision_logs (job);
CREATE INDEX provision_logs_cycle ON provision_logs (job, cycle);
-- Object lookups: the three columns an Object query compares, each with
-- the job, which SQLite's OR optimisation reads as a union of the three.
CREATE INDEX provision_logs_anchor ON provision_logs (job, source_anchor);
CREATE INDEX provision_logs_target ON provision_logs (job, target_id);
CREATE INDEX provision_logs_name ON provision_logs (job, source_name_fold);
