// Package webhook delivers the events of Roster's transactional outbox
// (store.EventStore) to each tenant's webhook endpoints
// (store.WebhookStore): signed, in order per resource, at least once, with
// retries and a dead letter. Its jobs run on river
// (github.com/riverqueue/river) through the jobs host (internal/jobs),
// Roster's one river client and jobs database: New registers the lane
// worker and the webhook queue there.
//
// # Flow
//
//	SCIM write ──tx──▶ outbox (store.Events)
//	                      │  dispatcher: one node, under the store lease
//	                      ▼  "webhook-dispatcher"; woken by Notify, polls
//	            ┌─ jobs-database transaction ─────────────────────────┐
//	            │ webhook_cursors[endpoint] = next   (compare-and-swap) │
//	            │ webhook_deliveries += one pending row per event      │
//	            │ lane without a job → river job {endpoint, lane}      │
//	            └──────────────────────────────────────────────────────┘
//	                      │  the jobs host's river workers, on every node
//	                      ▼
//	  POST {"events":[…]} ── 2xx ──▶ one tx: batch delivered, lane's next
//	                                 job inserted, this job completed
//	                     └─ else ──▶ attempts recorded, river retries with
//	                                 backoff; at the last attempt the batch
//	                                 is dead and the lane goes on
//
// Nothing here runs inside a SCIM write: the write only commits its events
// to the outbox, and Notify (a non-blocking channel send) wakes the
// dispatcher after the commit.
//
// # Lanes and order
//
// Each endpoint has Config.Lanes lanes (default 4). An event goes to lane
// hash(resourceType, resourceId) mod Lanes, so all events of one resource
// share a lane. A lane has at most one river job at a time, recorded in
// webhook_lanes; the job sends the lane's oldest pending deliveries (at
// most MaxBatch) as one request and, when they are delivered or dead,
// inserts the lane's next job in the transaction that completes it.
// Deliveries of a lane are therefore sent strictly in outbox order, one
// request after another, and a failing resource holds up only its own lane:
// the endpoint's other lanes keep delivering.
//
// Every transaction that chooses a lane's job (the dispatcher, the repair,
// a worker finishing, Redeliver) first locks the lane's row, so they never
// both give a lane a job nor both leave it without one. A worker also checks
// at the start that it is still its lane's job and ends at once if not.
//
// # Guarantees
//
// At least once: a delivery is marked delivered only after a 2xx, in the
// transaction that completes its job. A crash before that commit sends the
// batch again. Receivers must dedupe: a message's webhook-id is derived
// from the deliveries it carries ("msg_<first delivery id>_<hash of the
// endpoint and delivery ids>"), so a retry of the same batch has the same
// id; the events inside also have unique ids.
//
// Dispatch is exactly once: the endpoint's cursor advances in the same
// transaction that inserts the deliveries, and only if no other dispatcher
// moved it meanwhile.
//
// Order: per resource, as above. Redeliver puts dead deliveries back ahead
// of their lane's pending ones, after later events of the resource that
// were already delivered.
//
// Dead letter: a batch that fails MaxAttempts times (the endpoint's, default
// 8; the attempt of a batch is the larger of its job's attempt and its
// first delivery's attempts plus one) is marked dead, and its job is
// completed, chaining the lane's next job as on success: a dead batch does
// not hold up its lane. Deliveries lists them with their last status and
// error; Redeliver sends them again.
//
// Retries back off exponentially: RetryBase·2^(attempt-1), at most RetryMax,
// ±25% at random. A job runs for at most Timeout (the request) plus a
// margin (JobTimeout). A job left "running" by a process that died
// (SIGKILL) is noticed by the dispatcher's repair, which runs every second
// on the lease holder: once the job has been running for longer than
// JobTimeout plus the margin again (20s with the default 10s Timeout, or
// 2s for a 1s Timeout), the lane gets a new job. River's own rescuer does
// it too, but much later: it looks only every 30 seconds, which river does
// not let a client configure, and only at jobs running for longer than the
// jobs host's RescueStuckJobsAfter, which is one setting for every worker
// of the host (an hour by default) and so must outlast the longest job of
// any. When it retries the old job, that job finds the lane no longer its
// own and ends. If the dead process also held the dispatcher's lease, the
// lease passes after at most 10s.
//
// # The jobs database
//
// The deliveries, cursors and lanes (webhook_deliveries, webhook_cursors,
// webhook_lanes) live in the jobs host's database beside river's tables:
// in Roster's own PostgreSQL database and schema, or on SQLite in the jobs
// file beside Roster's (roster.db → roster.jobs.db), so that river's
// polling writes do not queue with SCIM writes behind SQLite's single
// writer (measured: Roster's writer p99 went from 0.34 ms to 57 ms; see
// the jobs package). Their schema is the jobs host's migration 0001, and
// their SQL is jobs.DeliveryStore, whose behaviour on both dialects the
// jobs conformance suite (internal/jobs/jobstest) pins: this package holds
// the policy (lanes, batches, dead letter, repair) and reaches the tables
// only through it, in transactions of the jobs host (Host.Tx) that also
// insert and complete the lanes' river jobs.
//
// What is river's per-client configuration is the jobs host's; what
// delivery needs for itself is set on its own worker and queue: the lane
// worker's Timeout (JobTimeout above) and NextRetry (the backoff above),
// the jobs' MaxAttempts in their InsertOpts, and the queue's MaxWorkers
// (Config.Workers), fetch cooldown (10ms, the pause between two batches
// of a lane) and poll interval (following short retry backoffs).
//
// A node that delivers starts the jobs host and then the Service, and
// stops them the other way round; a process that only lists or
// redelivers (the CLI) starts neither.
//
// Delivered deliveries are deleted after Config.Retention (default 7 days);
// dead ones are kept.
package webhook
