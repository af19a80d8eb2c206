// Package jobs is Roster's jobs host: the jobs database of a process and
// the one river client (github.com/riverqueue/river) that works it. The
// packages that run background jobs (webhook delivery now, the
// provisioning engine's cycles and schedules next) register on it rather
// than each setting up a database, migrations and a river client of its
// own.
//
// # Lifecycle
//
//	h, err := jobs.Open(ctx, st, jobs.Config{Logger: log}) // opens and migrates
//	svc, err := webhook.New(h, cfg)    // AddWorker, AddQueue (and AddPeriodicJob)
//	h.Start(ctx)                       // builds the river client, starts working
//	…
//	h.Stop(ctx); h.Close()
//
// Registration must come before the client is built, at the first Client or
// Start: river fixes its workers, queues and periodic jobs then. A process
// that only inserts or reads jobs (the CLI's `roster events redeliver`)
// opens the host, lets packages register, and uses Client without Start:
// the nodes that run pick the jobs up.
//
// What river configures per client is set once here (logging at Warn and
// above, completed-job retention, the stuck-job rescuer); what a package
// needs for itself it sets on its own workers and queues: a worker's
// Timeout and NextRetry, a queue's MaxWorkers, FetchCooldown and
// FetchPollInterval, a job's MaxAttempts in its InsertOpts.
//
// # The jobs database
//
// On PostgreSQL river's tables and Roster's jobs-side tables live in
// Roster's own database and schema, reached through the store's pgx pool
// (river's LISTEN connection included). On SQLite they live in a file of
// their own beside Roster's (roster.db → roster.jobs.db, see SQLitePath):
// river's fetches, its leader election and its maintenance write to its
// tables many times a second, and on the same file those writes would
// queue with every SCIM write behind SQLite's single writer (measured:
// Roster's writer p99 went from 0.34 ms to 57 ms; ADR 0003). Both are used
// through database/sql, so one code path (river.Client[*sql.Tx]) serves
// both, and a package's SQL differs only where Dialect says (placeholders,
// FOR UPDATE).
//
// # Migrations
//
// Open migrates river's tables with river's migrator and then Roster's
// jobs-side tables from the embedded files migrations/<dialect>/
// NNNN_name.up.sql, read by the one migration loader
// (internal/store/migration) and recorded in jobs_migrations. On
// PostgreSQL all of it runs under an advisory lock, on SQLite in an
// IMMEDIATE transaction, so that of several nodes starting together one
// migrates and the others find nothing to do. Version 1 is the webhook
// tables that the webhook package used to create itself and record in
// webhook_migrations; versions recorded there are honoured, so a jobs
// database created before the host upgrades in place.
//
// # Storage
//
// The SQL of the jobs-side tables lives here, one type per package that
// owns tables (DeliveryStore for webhook delivery), and its behaviour on
// both dialects is pinned by the conformance suite in jobstest, as the
// store's is by storetest.
package jobs
