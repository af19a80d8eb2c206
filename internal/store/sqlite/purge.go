package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
)

// A tenant is deleted in two stages, so that no tenant, however large, holds
// the database's only write lock for long:
//
//  1. Unlink: one transaction records the tenant's key in tenant_deletions
//     and deletes its tokens, its OAuth clients, its webhook endpoints and
//     its row. From the commit
//     on, the tenant is gone for every reader and every process: the rows
//     left under its key are reached only through the key, which
//     AUTOINCREMENT never hands out again.
//  2. Purge: those rows (resources, resource_values, memberships, history,
//     events, resource_counts) are deleted a batch per write transaction through the
//     ordinary write path, until none is left; the tenant_deletions row goes
//     with the last batch. Between batches the write lock is free: in this
//     process group commit runs the writes that queued up behind a batch, and
//     after each batch the purge pauses about as long as the batch took, so
//     that another process's busy handler, which polls, finds the lock free.
//
// Every purge is done by the sweeper, a goroutine that purges every key
// listed in tenant_deletions, one key after another even if one fails: the
// commit of a tenant's deletion starts it, and so do Open (for a purge a
// crash cut short), TenantStore.PurgeDeleted (which waits for it) and the
// server's periodic maintenance (for a purge that failed). It also lists
// there any key that has rows in
// resources, resource_counts, history or events but no tenant: another
// process that still had a deleted tenant's key cached may have written
// under it.

// Statements of a tenant deletion. Each reaches the rows it reads or deletes
// through an index, and none reads another tenant's rows
// (TestDeleteTenantPlans).
const (
	// recordDeletionSQL lists tenant ?1 as being deleted, at time ?2.
	recordDeletionSQL = "INSERT INTO tenant_deletions (key, id, started) SELECT key, id, ?2 FROM tenants WHERE key = ?1"
	// liveKeySQL counts the tenants with key ?1: a purge never runs on a
	// live tenant.
	liveKeySQL = "SELECT count(*) FROM tenants WHERE key = ?1"
	// firstGroupSQL returns the seq of tenant ?1's oldest group. Groups go
	// first, their members a chunk at a time: one group may have a million.
	firstGroupSQL = "SELECT seq FROM resources WHERE tenant = ?1 AND type = '" + schema.GroupResource + "' ORDER BY seq LIMIT 1"
	// clearMembersSQL deletes the first ?2 members of group ?1, or all of
	// them if it has fewer.
	clearMembersSQL = `DELETE FROM memberships WHERE group_seq = ?1 AND member_seq <= coalesce(
		(SELECT member_seq FROM memberships WHERE group_seq = ?1 ORDER BY member_seq LIMIT 1 OFFSET ?2 - 1),
		9223372036854775807)`
	// firstTypeSQL returns a resource type of which tenant ?1 has resources.
	firstTypeSQL = "SELECT type FROM resources WHERE tenant = ?1 ORDER BY type LIMIT 1"
	// batchEndSQL returns the seq of tenant ?1's ?3-th resource of type ?2;
	// no row if it has fewer.
	batchEndSQL = "SELECT seq FROM resources WHERE tenant = ?1 AND type = ?2 ORDER BY seq LIMIT 1 OFFSET ?3 - 1"
	// recordOrphanSQL lists key ?1 as being deleted, at time ?2, unless a
	// tenant has it.
	recordOrphanSQL = `INSERT OR IGNORE INTO tenant_deletions (key, id, started)
		SELECT ?1, '', ?2 WHERE NOT EXISTS (SELECT 1 FROM tenants WHERE key = ?1)`
	// pendingDeletionsSQL lists the deletions to finish.
	pendingDeletionsSQL = "SELECT key FROM tenant_deletions ORDER BY key"
	// orphanKeysSQL returns the keys that have rows in resources,
	// resource_counts, history or events but no tenant. It visits each
	// distinct key with one index seek (a loose index scan), not each row.
	orphanKeysSQL = `WITH RECURSIVE
		resource_keys(k) AS (
			SELECT min(tenant) FROM resources
			UNION ALL
			SELECT (SELECT min(tenant) FROM resources WHERE tenant > k) FROM resource_keys WHERE k IS NOT NULL),
		count_keys(k) AS (
			SELECT min(tenant) FROM resource_counts
			UNION ALL
			SELECT (SELECT min(tenant) FROM resource_counts WHERE tenant > k) FROM count_keys WHERE k IS NOT NULL),
		history_keys(k) AS (
			SELECT min(tenant) FROM history
			UNION ALL
			SELECT (SELECT min(tenant) FROM history WHERE tenant > k) FROM history_keys WHERE k IS NOT NULL),
		event_keys(k) AS (
			SELECT min(tenant) FROM events
			UNION ALL
			SELECT (SELECT min(tenant) FROM events WHERE tenant > k) FROM event_keys WHERE k IS NOT NULL)
		SELECT k FROM resource_keys WHERE k IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tenants WHERE key = k)
		UNION
		SELECT k FROM count_keys WHERE k IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tenants WHERE key = k)
		UNION
		SELECT k FROM history_keys WHERE k IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tenants WHERE key = k)
		UNION
		SELECT k FROM event_keys WHERE k IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tenants WHERE key = k)`
)

// unlinkTenantSQL is the rest of the first stage, for tenant ?1: tokens,
// OAuth clients and webhook endpoints refer to the tenant row, so it goes
// last.
var unlinkTenantSQL = [...]string{
	"DELETE FROM tokens WHERE tenant_id = (SELECT id FROM tenants WHERE key = ?1)",
	"DELETE FROM oauth_clients WHERE tenant_id = (SELECT id FROM tenants WHERE key = ?1)",
	"DELETE FROM webhook_endpoints WHERE tenant_id = (SELECT id FROM tenants WHERE key = ?1)",
	"DELETE FROM tenants WHERE key = ?1",
}

// purgeRangeSQL deletes tenant ?1's resources of type ?2 up to seq ?3 with
// their memberships and values. The members of a group in the range must
// have been cleared (clearMembersSQL), or the first statement deletes them
// all at once.
var purgeRangeSQL = [...]string{
	"DELETE FROM memberships WHERE group_seq IN (SELECT seq FROM resources WHERE tenant = ?1 AND type = ?2 AND seq <= ?3)",
	"DELETE FROM memberships WHERE member_seq IN (SELECT seq FROM resources WHERE tenant = ?1 AND type = ?2 AND seq <= ?3)",
	"DELETE FROM resource_values WHERE resource_seq IN (SELECT seq FROM resources WHERE tenant = ?1 AND type = ?2 AND seq <= ?3)",
	"DELETE FROM resources WHERE tenant = ?1 AND type = ?2 AND seq <= ?3",
}

// purgeChangesSQL deletes the oldest ?2 history entries of tenant ?1, or
// all of them if it has fewer, then the same of its events; they go once
// its resources are gone.
var purgeChangesSQL = [...]string{
	`DELETE FROM history WHERE tenant = ?1 AND seq <= coalesce(
		(SELECT seq FROM history WHERE tenant = ?1 ORDER BY seq LIMIT 1 OFFSET ?2 - 1),
		9223372036854775807)`,
	`DELETE FROM events WHERE tenant = ?1 AND seq <= coalesce(
		(SELECT seq FROM events WHERE tenant = ?1 ORDER BY seq LIMIT 1 OFFSET ?2 - 1),
		9223372036854775807)`,
}

// finishPurgeSQL ends the deletion of key ?1 once it has no resources
// left: its counts, then its tenant_deletions row (dropDeletionSQL).
var finishPurgeSQL = [...]string{
	"DELETE FROM resource_counts WHERE tenant = ?1",
	dropDeletionSQL,
}

const dropDeletionSQL = "DELETE FROM tenant_deletions WHERE key = ?1"

// Batch sizes of a purge: a write transaction deletes about purgeRows rows
// (resources, values and memberships together), some 20 ms of work on two
// cores at a million users; a batch of resources takes
// purgeRows/purgeRowsPerResource of them, a batch of history entries or
// events purgeRows/purgeRowsPerChange (a history row has four index
// entries and a JSON body).
const (
	defaultPurgeRows     = 4096
	purgeRowsPerResource = 4
	purgeRowsPerChange   = 2
)

// unlinkTenant is the first stage of deleting tenant id: see above. It
// returns the tenant's key.
func (w *writer) unlinkTenant(op, id string) (int64, error) {
	// Not from the cache: the tenant may be gone, or have been deleted and
	// created again, by another process.
	var key int64
	if err := w.s.ws.tenantKey.QueryRow(id).Scan(&key); err != nil {
		return 0, w.s.notFound(op, id, err)
	}
	// Forget the key before the commit too, so that no write after it in
	// this process uses the key.
	w.s.forgetTenant(id)
	if _, err := w.s.ws.recordDeletion.Exec(key, formatTime(time.Now())); err != nil {
		return 0, w.s.fail(op+" "+id, err)
	}
	for _, st := range w.s.ws.unlinkTenant {
		if _, err := st.Exec(key); err != nil {
			return 0, w.s.fail(op+" "+id, err)
		}
	}
	return key, nil
}

// purge deletes the rows left under the key of a deleted tenant, a batch
// per write transaction, and pauses after each; it returns when none is
// left, or when ctx ends or the store closes.
func (s *Store) purge(ctx context.Context, key int64) error {
	for {
		if s.cfg.purgeHook != nil {
			if err := s.cfg.purgeHook(key); err != nil {
				return err
			}
		}
		var (
			done bool
			held time.Duration
		)
		err := s.write(ctx, func(w *writer) error {
			start := time.Now()
			var err error
			done, err = w.purgeBatch(key, s.cfg.purgeRows)
			held = time.Since(start)
			return err
		})
		if err != nil {
			return s.fail(fmt.Sprintf("remove rows of deleted tenant key %d", key), err)
		}
		if done {
			return nil
		}
		if err := s.pause(ctx, held); err != nil {
			return fmt.Errorf("remove rows of deleted tenant key %d: %w", key, err)
		}
	}
}

// pause waits for d, unless ctx ends or the store closes first.
func (s *Store) pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(max(d, time.Millisecond))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return store.ErrUnavailable
	}
}

// purgeBatch deletes about budget rows under key k, inside the write
// transaction: chunks of the members of the oldest group, that group once it
// has none, then resources of one type at a time, oldest first, then the
// history and the events, oldest first. done reports
// that nothing was left, in which case it also deleted k's counts and its
// tenant_deletions row.
func (w *writer) purgeBatch(k int64, budget int) (done bool, err error) {
	ws := &w.s.ws
	var live int
	if err := ws.liveKey.QueryRow(k).Scan(&live); err != nil {
		return false, err
	}
	if live > 0 {
		// Never the case: a key is listed only once its tenant is gone,
		// and never reused. Should it be, drop the listing, not the rows.
		_, err := ws.dropDeletion.Exec(k)
		return err == nil, err
	}
	n := 0
	for n < budget {
		var g int64
		err := ws.firstGroup.QueryRow(k).Scan(&g)
		if err == nil {
			limit := int64(budget - n)
			cleared, err := rowsAffected(ws.clearMembers.Exec(g, limit))
			if err != nil {
				return false, err
			}
			n += int(cleared)
			if cleared == limit {
				continue // the group may have more members
			}
			m, err := w.purgeRange(k, schema.GroupResource, g)
			if err != nil {
				return false, err
			}
			n += m
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, err
		}
		var typ string
		err = ws.firstType.QueryRow(k).Scan(&typ)
		if errors.Is(err, sql.ErrNoRows) {
			m, err := w.purgeChanges(k, budget-n)
			if err != nil {
				return false, err
			}
			if m > 0 {
				n += m
				continue
			}
			for _, st := range ws.finishPurge {
				if _, err := st.Exec(k); err != nil {
					return false, err
				}
			}
			return true, nil
		}
		if err != nil {
			return false, err
		}
		end := int64(math.MaxInt64)
		err = ws.batchEnd.QueryRow(k, typ, max(1, (budget-n)/purgeRowsPerResource)).Scan(&end)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, err
		}
		m, err := w.purgeRange(k, typ, end)
		if err != nil {
			return false, err
		}
		n += m
	}
	return false, nil
}

// purgeChanges deletes about budget rows' worth of k's history, or once it
// has none, of its events, and returns the rows' worth it deleted: 0 when
// neither has any left.
func (w *writer) purgeChanges(k int64, budget int) (int, error) {
	for _, st := range w.s.ws.purgeChanges {
		m, err := rowsAffected(st.Exec(k, max(1, budget/purgeRowsPerChange)))
		if err != nil {
			return 0, err
		}
		if m > 0 {
			return int(m) * purgeRowsPerChange, nil
		}
	}
	return 0, nil
}

// purgeRange runs purgeRangeSQL and returns how many rows it deleted.
func (w *writer) purgeRange(k int64, typ string, end int64) (int, error) {
	n := 0
	for _, st := range w.s.ws.purgeRange {
		m, err := rowsAffected(st.Exec(k, typ, end))
		if err != nil {
			return 0, err
		}
		n += int(m)
	}
	return n, nil
}

func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// sweepRound lists the keys that have rows but no tenant as deletions, then
// finishes every listed deletion.
func (s *Store) sweepRound(ctx context.Context) error {
	orphans, err := s.keys(ctx, s.rs.orphanKeys)
	if err != nil {
		return err
	}
	if len(orphans) > 0 {
		now := formatTime(time.Now())
		err := s.write(ctx, func(w *writer) error {
			for _, k := range orphans {
				if _, err := w.s.ws.recordOrphan.Exec(k, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return s.fail("record deleted tenant keys", err)
		}
	}
	pending, err := s.keys(ctx, s.rs.pendingDeletions)
	if err != nil {
		return err
	}
	// One key that fails (say, another process holds the lock too long)
	// must not keep the others' rows.
	var errs []error
	for _, k := range pending {
		if err := s.purge(ctx, k); err != nil {
			if ctx.Err() != nil {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// keys runs a query of tenant keys on the read pool.
func (s *Store) keys(ctx context.Context, st *sql.Stmt) ([]int64, error) {
	rows, err := st.QueryContext(ctx)
	if err != nil {
		return nil, s.fail("list deleted tenant keys", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var k int64
		if err := rows.Scan(&k); err != nil {
			return nil, s.fail("list deleted tenant keys", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list deleted tenant keys", err)
	}
	return out, nil
}
