package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster/internal/scim/schema"
)

// A tenant is deleted in two stages, as in the SQLite backend, so that a
// tenant of a million users is never one transaction of millions of rows
// (which would hold its row locks, WAL and dead tuples all at once):
//
//  1. Unlink: one transaction locks the tenant row FOR UPDATE, which waits
//     for the writes in progress (each holds it FOR KEY SHARE) and keeps new
//     ones out, records the key in tenant_deletions and deletes the tenant's
//     tokens, OAuth clients, webhook endpoints and row. From the commit on,
//     the tenant is gone for every reader and node, and no write can add
//     rows under its key, which an identity column never hands out again.
//  2. Purge: the rows left under the key (resources, resource_values,
//     memberships, resource_counts, history, events) are deleted a batch per
//     transaction until none is left; the tenant_deletions row goes with the
//     last batch. Until then, readers of every tenant's events leave out
//     those under a key listed there.
//     PostgreSQL locks rows, not the database, so other tenants' writes run
//     alongside.
//
// Every purge is done by the sweeper, a goroutine that purges every key
// listed in tenant_deletions, one key after another even if one fails: the
// commit of a tenant's deletion starts it, and so do Open on any node (for
// a purge a crash cut short), TenantStore.PurgeDeleted (which waits for it)
// and the server's periodic maintenance (for a purge that failed). Purges
// of one key by several nodes take turns on an advisory lock.

// defaultPurgeRows is about how many rows a purge transaction deletes.
const defaultPurgeRows = 10000

// purgeRowsPerResource is about how many rows deleting a resource deletes.
const purgeRowsPerResource = 3

// purgeLockClass is the first key of the advisory lock a purge batch holds,
// the second being the tenant key.
const purgeLockClass int32 = 0x52505267 // "RPRg"

// unlinkTenant is the first stage of deleting tenant id, in the writer's
// transaction: see above.
func (w *writer) unlinkTenant(ctx context.Context, op, id string) error {
	if err := w.begin(ctx); err != nil {
		return w.s.fail(op, err)
	}
	var key int64
	if err := w.conn.QueryRow(ctx, "SELECT key FROM tenants WHERE id = $1 FOR UPDATE", id).Scan(&key); err != nil {
		return w.s.notFound(op, id, err)
	}
	b := &pgx.Batch{}
	b.Queue("INSERT INTO tenant_deletions (key, id, started) VALUES ($1, $2, now())", key, id)
	b.Queue("DELETE FROM tokens WHERE tenant_id = $1", id)
	b.Queue("DELETE FROM oauth_clients WHERE tenant_id = $1", id)
	b.Queue("DELETE FROM webhook_endpoints WHERE tenant_id = $1", id)
	b.Queue("DELETE FROM tenants WHERE key = $1", key)
	if err := w.conn.SendBatch(ctx, b).Close(); err != nil {
		return w.s.fail(op+" "+id, err)
	}
	return nil
}

// purge deletes the rows left under the key of a deleted tenant, a batch
// per transaction; it returns when none is left, or when ctx ends or the
// store closes.
func (s *Store) purge(ctx context.Context, key int64) error {
	op := fmt.Sprintf("remove rows of deleted tenant key %d", key)
	for {
		if s.cfg.purgeHook != nil {
			if err := s.cfg.purgeHook(key); err != nil {
				return err
			}
		}
		var done bool
		err := s.write(ctx, func(w *writer) error {
			var err error
			done, err = w.purgeBatch(ctx, key, s.cfg.purgeRows)
			return err
		})
		if err != nil {
			return s.fail(op, err)
		}
		if done {
			return nil
		}
	}
}

// Statements of a purge batch, for tenant key $1. Each reaches its rows
// through an index.
const (
	// firstGroupSQL returns the seq of the tenant's oldest group. Groups go
	// first, their members a chunk at a time: one group may have a million.
	firstGroupSQL = "SELECT seq FROM resources WHERE tenant = $1 AND type = '" + schema.GroupResource + "' ORDER BY seq LIMIT 1"
	// clearMembersSQL deletes up to $2 members of group $1.
	clearMembersSQL = `DELETE FROM memberships WHERE group_seq = $1 AND member_seq IN
		(SELECT member_seq FROM memberships WHERE group_seq = $1 ORDER BY member_seq LIMIT $2)`
	// firstTypeSQL returns a resource type of which the tenant has resources.
	firstTypeSQL = "SELECT type FROM resources WHERE tenant = $1 ORDER BY type LIMIT 1"
	// purgeRangeSQL deletes the tenant's oldest $3 resources of type $2 with
	// their values; the foreign keys of memberships remove those they take
	// part in.
	purgeRangeSQL = `WITH b AS (
		SELECT seq FROM resources WHERE tenant = $1 AND type = $2 ORDER BY seq LIMIT $3
	), v AS (
		DELETE FROM resource_values v USING b WHERE v.resource_seq = b.seq
	)
	DELETE FROM resources r USING b WHERE r.seq = b.seq`
	// purgeHistorySQL deletes the tenant's oldest $2 history entries.
	purgeHistorySQL = "DELETE FROM history WHERE seq IN (SELECT seq FROM history WHERE tenant = $1 ORDER BY seq LIMIT $2)"
	// purgeEventsOfSQL deletes the tenant's oldest $2 events.
	purgeEventsOfSQL = `DELETE FROM events WHERE (txid, seq) IN
		(SELECT txid, seq FROM events WHERE tenant = $1 ORDER BY txid, seq LIMIT $2)`
)

// purgeBatch deletes about budget rows under key k: chunks of the members
// of the oldest group, that group once it has none, then resources of one
// type at a time, oldest first, then history entries and events. done
// reports that nothing was left, in which case it also deleted k's counts
// and its tenant_deletions row.
func (w *writer) purgeBatch(ctx context.Context, k int64, budget int) (done bool, err error) {
	if err := w.begin(ctx); err != nil {
		return false, err
	}
	tx := w.conn
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", purgeLockClass, int32(k)); err != nil {
		return false, err
	}
	var live bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM tenants WHERE key = $1)", k).Scan(&live); err != nil {
		return false, err
	}
	if live {
		// Never the case: a key is listed only once its tenant is gone, and
		// never reused. Should it be, drop the listing, not the rows.
		_, err := tx.Exec(ctx, "DELETE FROM tenant_deletions WHERE key = $1", k)
		return err == nil, err
	}
	n := 0
	for n < budget {
		var g int64
		err := tx.QueryRow(ctx, firstGroupSQL, k).Scan(&g)
		if err == nil {
			limit := int64(budget - n)
			tag, err := tx.Exec(ctx, clearMembersSQL, g, limit)
			if err != nil {
				return false, err
			}
			n += int(tag.RowsAffected())
			if tag.RowsAffected() == limit {
				continue // the group may have more members
			}
			// The oldest group is g.
			tag, err = tx.Exec(ctx, purgeRangeSQL, k, schema.GroupResource, 1)
			if err != nil {
				return false, err
			}
			n += purgeRowsPerResource * int(tag.RowsAffected())
			continue
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return false, err
		}
		var typ string
		err = tx.QueryRow(ctx, firstTypeSQL, k).Scan(&typ)
		if errors.Is(err, pgx.ErrNoRows) {
			more := false
			for _, sql := range []string{purgeHistorySQL, purgeEventsOfSQL} {
				limit := int64(budget - n)
				tag, err := tx.Exec(ctx, sql, k, limit)
				if err != nil {
					return false, err
				}
				n += int(tag.RowsAffected())
				if tag.RowsAffected() == limit {
					more = true // there may be more, and the budget is spent
					break
				}
			}
			if more {
				continue
			}
			b := &pgx.Batch{}
			b.Queue("DELETE FROM resource_counts WHERE tenant = $1", k)
			b.Queue("DELETE FROM tenant_deletions WHERE key = $1", k)
			err := tx.SendBatch(ctx, b).Close()
			return err == nil, err
		}
		if err != nil {
			return false, err
		}
		tag, err := tx.Exec(ctx, purgeRangeSQL, k, typ, max(1, (budget-n)/purgeRowsPerResource))
		if err != nil {
			return false, err
		}
		n += purgeRowsPerResource * int(tag.RowsAffected())
	}
	return false, nil
}

// sweepRound finishes every deletion listed in tenant_deletions.
func (s *Store) sweepRound(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, "SELECT key FROM tenant_deletions ORDER BY key")
	if err != nil {
		return s.fail("list deleted tenant keys", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return s.fail("list deleted tenant keys", err)
	}
	// One key that fails must not keep the others' rows.
	var errs []error
	for _, k := range keys {
		if err := s.purge(ctx, k); err != nil {
			if ctx.Err() != nil {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
