// Package postgres is Roster's storage backend on PostgreSQL (13 or later;
// CI runs 15), through pgx and its connection pool. It implements
// store.Store, is proven by the conformance suite in store/storetest, and is
// meant for several Roster nodes sharing one database.
//
// # Connections
//
// One pgxpool per Store, by default of max(8, 4×GOMAXPROCS) connections
// capped at 32 (WithMaxConns), with a 5 s connect timeout
// (WithConnectTimeout) so that a server that is down is reported quickly.
// Statements are prepared and cached per connection by pgx. WithSchema puts
// the tables in a schema of their own (it becomes the search_path); the
// tests give every store a fresh schema that way.
//
// Errors map to the store sentinels: a unique violation is
// store.ErrConflict, a foreign key naming a missing row store.ErrNotFound,
// and a refused or lost connection, a server shutting down, or no pooled
// connection within the caller's deadline store.ErrUnavailable.
//
// # Migrations
//
// Migrations are embedded (migrations/NNNN_name.up.sql) and applied by Open
// in one transaction that first takes an advisory transaction lock
// (pg_advisory_xact_lock), recorded in schema_migrations: of several nodes
// starting at once one migrates and the others wait and find nothing to do,
// and no failure can leave the lock held. MigrationsCurrent and Ping report
// whether the schema is the one this build expects.
//
// # Writes
//
// Store.Write runs its function in a READ COMMITTED transaction of its own;
// PostgreSQL locks rows, so writes of different resources run in parallel
// on every node, and there is no group commit as in the SQLite backend. A
// transaction aborted as a deadlock victim or a serialization failure is run
// again, function included, up to four more times. Consistency comes from
// locks and constraints rather than from a single writer:
//
//   - Every write locks its tenant's row FOR KEY SHARE, which many
//     transactions can hold at once but which makes deleting the tenant wait
//     for them; no write can add rows under the key of a deleted tenant.
//   - Writer.Get locks the resource FOR NO KEY UPDATE, so read-modify-write
//     cycles of one resource queue up, and Update also checks the version.
//   - userName is unique per tenant and type through a unique index on the
//     folded column, so of concurrent creates of one userName on any nodes
//     exactly one commits; Create uses INSERT ... ON CONFLICT DO NOTHING, so
//     that a clash is store.ErrConflict without aborting the transaction.
//   - A membership row has foreign keys to its group and its member, so
//     adding one and deleting either side exclude each other; AddMembers is
//     one INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING over the
//     (tenant, id) index, in seq order so that concurrent adds to one group
//     lock in the same order and lose nothing.
//   - resource_counts keeps the number of resources per tenant and type in
//     16 shards: a transaction adds its changes to one shard, picked at
//     random, at its end, so that concurrent creates in one tenant do not
//     queue for one row lock, and an unfiltered list's total is one index
//     range of at most 16 rows.
//
// Each writer method is one statement: Create, Update and Delete write the
// resource and its resource_values rows with data-modifying CTEs (the rows
// travel as arrays), AddMembers looks up and inserts in one. BEGIN goes in
// one round trip with the first statement (the tenant lock) and COMMIT in
// one with the counts and the history and events Record queued, so a Write
// of one Create and its Record is three round trips.
//
// # History and events
//
// Writer.Record checks a change and queues one statement that inserts its
// history row and, from arrays, its events; the statement goes with the
// COMMIT, and c.Seq and the events' cursors are set once Write has
// committed. History rows keep the columns their filters use ((tenant,
// seq), (tenant, resource_type, resource_id, seq), (tenant, folded name)
// and time are indexed) and the rest of the change as json, byte for byte
// as written, with attribute values in the codec of resources' attributes
// so that integers stay int64.
//
// An event's position, and its cursor "txid.seq", is the id of the
// transaction that wrote it (xid8, pg_current_xact_id) and a bigserial.
// EventStore.List reads events after the cursor in position order, up to a
// horizon below which no event can appear any more, so that a reader that
// follows the cursor never skips one, whatever order transactions commit
// in. The horizon is not the snapshot's xmin, which any long transaction
// anywhere in the cluster holds back (including one's own view of a write
// just committed, while another schema migrates): every write transaction
// takes, shared, one of 16 advisory locks keyed by the schema before it has
// an id (lockTenantSQL), and the horizon is the lowest id of the
// transactions holding one, read from pg_locks and pg_stat_activity by one
// statement before the events are read by the next. Such a lock costs no
// round trip and blocks nothing, as no one takes it exclusively. EventStore.Oldest is
// the position of the newest event Purge deleted, kept in events_purged.
//
// # Reads
//
// A query is one statement, so that the page and its total come from one
// snapshot (see querySQL). Filters and sorting are translated by
// sqlfilter.Postgres. The tenant's key is cached per process (keys come
// from an identity column and are never reused) and every query checks that
// the tenant still has it, so that a tenant deleted by another node is seen
// as gone at once. Members streams a group's members as pgx reads them.
//
// # Schema
//
// The tables follow the layout package store/sqlfilter documents, as in the
// SQLite backend, with PostgreSQL types:
//
//   - bigint identity keys (tenants.key, resources.seq, audit_events.seq,
//     history.seq, events.seq), jsonb for attributes, settings and audit
//     details, json for history details and event data, bytea for hashes,
//     timestamptz for the times of tenants, credentials, admins and audit
//     events (kept to the microsecond), and text in sqlfilter.TimeLayout for
//     resources.created and modified, which filters compare as that text
//     and which keep nanoseconds.
//   - Text that filters compare or sort is in the "C" collation, so that it
//     compares byte-wise as filter.Eval does, whatever the database's
//     default collation, and so that a plain btree index serves prefix
//     ranges.
//   - Indexes: (tenant, id) unique; (tenant, type, folded userName) unique;
//     (tenant, type, externalId) and (tenant, type, folded displayName)
//     partial; (tenant, type, seq) for listing; (tenant, attr, value_fold) on
//     resource_values for emails.value and the like; (member_seq, group_seq)
//     on memberships next to its primary key; and pg_trgm GIN indexes on the
//     folded userName and displayName, which answer co and ew (LIKE
//     '%…%'). The migration installs pg_trgm in the public schema if no DBA
//     installed it elsewhere, and names its operator class with its schema.
//   - resource_values has no unique key: Update deletes and inserts a
//     resource's rows in one statement, where a unique index would see both.
//
// Folded columns are folded in Go with filter.Fold. Filters also fold text
// extracted from JSON, in SQL, with roster_fold, which Open builds and
// checks against Go's Unicode tables (see fold.go); dateTime values compare
// through roster_time, a PL/pgSQL port of filter.ParseTime (migration 0001).
//
// # Deleting a tenant
//
// As in the SQLite backend, in two stages: one transaction removes the
// tenant row, its tokens, OAuth clients and webhook endpoints and records
// the key in tenant_deletions; then the rows under the key (resources,
// history, events) go a batch of about 10,000 per transaction, and a
// deletion that stops early is finished by a background sweeper on the
// next Open of any node. See purge.go.
package postgres
