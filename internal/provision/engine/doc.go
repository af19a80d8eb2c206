// Package engine runs provisioning cycles: it reads a job's source, decides
// which objects are in scope, maps their attributes, matches them with the
// target's objects and creates, updates, disables or deletes them there,
// logging each object's outcome, as the Entra provisioning service does.
//
// # A cycle
//
// A cycle is initial when the job was just created or its mappings or
// scoping changed (job.Job.NeedsInitial), when it has no watermark yet, or
// when asked; otherwise it is incremental and reads only what changed
// since the source's watermark. In order:
//
//  1. In "assigned" scope, the source's groups are listed to learn who is
//     assigned and with which roles. When that set changed since the last
//     cycle, users are read in full this cycle (a user assigned by a group
//     change may not have changed at the source).
//  2. Users: every user (initial) or every changed user (incremental) is
//     scoped, mapped, matched and written, by a pool of workers; one
//     worker owns each anchor, so two changes of one object are applied in
//     order.
//  3. The sweep: a linked user that left the assignments is deprovisioned;
//     after a complete full read, a linked user the source no longer has
//     was deleted there and is deleted in the target if the job allows it.
//  4. References (manager) that named users created later in the cycle are
//     written.
//  5. Groups are listed, scoped, mapped and matched; their members are the
//     linked members' target ids, added and removed in chunks.
//  6. The watermarks move forward only when the cycle succeeded, so a cycle
//     that failed or was killed (even by SIGKILL) is read again in full
//     from where the last good one ended.
//
// # No duplicate creates
//
// A link (source anchor → target id) is recorded as soon as a create
// succeeds (within a fraction of a second, batched with the logs). An
// object without a link is matched before it is created: by its matching
// attributes in precedence order, against an index of the target built by
// one paged listing in initial cycles, or by a filter query otherwise. So a
// create whose link was lost to a crash is found by matching, not created
// again.
//
// # Logs
//
// Each object a cycle acts on, fails on or skips gets one log entry with
// the steps Import → Scope → Match → Action and their outcome, the
// properties modified (old → new) and the error, stored with the job's
// cycles (store.ProvisionLog). Unchanged objects are counted, not logged.
package engine
