-- A job's statistics to date (issue 14): the engine's JSON of cumulative
-- counts per action, the last successful cycle's end and duration. NULL
-- until the job's first cycle ends; written in the transaction that
-- records the cycle's end, so that it never counts a cycle twice.
ALTER TABLE provision_state ADD COLUMN totals TEXT;
