package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlfilter"
)

// QuerySQL is querySQL, for EXPLAIN.
var QuerySQL = querySQL

// AddMembersSQL is the statement of Writer.AddMembers, for EXPLAIN.
const AddMembersSQL = addMembersSQL

// WithPurgeHook sets a function called before each purge batch; an error
// from it stops the purge.
func WithPurgeHook(f func(key int64) error) Option { return func(c *config) { c.purgeHook = f } }

// WithCountShards sets how many rows of resource_counts writes spread a
// tenant's count over (for benchmarks of the hot-row contention).
func WithCountShards(n int) Option { return func(c *config) { c.countShards = n } }

// WithPurgeRows sets about how many rows a purge batch deletes.
func WithPurgeRows(n int) Option { return func(c *config) { c.purgeRows = n } }

// FoldProbe returns every rune PostgreSQL text can hold but '\n', each
// followed by '\n', and the same folded by filter.Fold.
func FoldProbe() (probe, folded string, err error) {
	t, err := goRunes()
	if err != nil {
		return "", "", err
	}
	var b strings.Builder
	for _, r := range t.folds {
		b.WriteRune(r)
		b.WriteByte('\n')
	}
	return t.probe, b.String(), nil
}

// ExactFoldFunction returns the CREATE FUNCTION statement of the
// translate-only definition of roster_fold, under another name.
func ExactFoldFunction(name string) (string, error) {
	p, err := exactFoldPlan()
	if err != nil {
		return "", err
	}
	return "CREATE FUNCTION " + name + "(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $f$ " + p.body() + " $f$", nil
}

// EncodeAttrs and DecodeAttrs are the codec of resources.attrs.
var (
	EncodeAttrs = sqlfilter.EncodeAttrs
	DecodeAttrs = sqlfilter.DecodeAttrs
)

// BulkLoad adds n resources made by res(i) to the store with COPY, far
// faster than Writer.Create and with the same rows, for benchmarks: the
// resources of one tenant and type, then resource_values and the count.
// With group set, it also makes each of them a member of that group.
func (s *Store) BulkLoad(ctx context.Context, tenant string, n int, res func(i int) store.Resource, group string) error {
	const chunk = 50_000
	k, ok, err := s.tenantKey(ctx, tenant)
	if err != nil || !ok {
		return fmt.Errorf("bulk load: tenant %s: %v", tenant, err)
	}
	var gseq int64
	if group != "" {
		err := s.pool.QueryRow(ctx, "SELECT seq FROM resources WHERE tenant = $1 AND id = $2", k, group).Scan(&gseq)
		if err != nil {
			return fmt.Errorf("bulk load: group %s: %w", group, err)
		}
	}
	counts := map[string]int64{}
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, "SELECT nextval(pg_get_serial_sequence('resources', 'seq')) FROM generate_series(1, $1)", hi-lo)
			if err != nil {
				return err
			}
			seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return err
			}
			var resRows, valRows, memRows [][]any
			for i := lo; i < hi; i++ {
				r := res(i)
				args, err := resourceArgs(k, r, r.Created)
				if err != nil {
					return err
				}
				seq := seqs[i-lo]
				resRows = append(resRows, append(append([]any{seq}, args[:10]...), int64(1)))
				counts[r.Type]++
				names, idx, vals, types := args[10].([]string), args[11].([]int32), args[12].([]*string), args[13].([]*string)
				prim, pres, elems := args[14].([]*bool), args[15].([]bool), args[16].([]string)
				for j := range names {
					valRows = append(valRows, []any{seq, names[j], idx[j], k, vals[j], types[j], prim[j], pres[j], elems[j]})
				}
				if group != "" {
					memRows = append(memRows, []any{gseq, seq})
				}
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"resources"}, []string{"seq", "tenant", "type", "id", "user_name_fold",
				"external_id", "display_name_fold", "display", "attrs", "created", "modified", "version"}, pgx.CopyFromRows(resRows)); err != nil {
				return err
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"resource_values"}, []string{"resource_seq", "attr", "idx", "tenant",
				"value_fold", "type_fold", "is_primary", "present", "elem"}, pgx.CopyFromRows(valRows)); err != nil {
				return err
			}
			if len(memRows) > 0 {
				if _, err := tx.CopyFrom(ctx, pgx.Identifier{"memberships"}, []string{"group_seq", "member_seq"},
					pgx.CopyFromRows(memRows)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("bulk load: %w", err)
		}
	}
	for typ, c := range counts {
		if _, err := s.pool.Exec(ctx, "INSERT INTO resource_counts (tenant, type, shard, n) VALUES ($1, $2, 0, $3) "+
			"ON CONFLICT (tenant, type, shard) DO UPDATE SET n = resource_counts.n + excluded.n", k, typ, c); err != nil {
			return fmt.Errorf("bulk load: %w", err)
		}
	}
	return nil
}

// FormatTime is sqlfilter.FormatTime, for comparing with roster_time.
var FormatTime = sqlfilter.FormatTime

// Horizon is horizon, for testing its arithmetic across epochs.
var Horizon = horizon

// EventWriterLock returns the keys of the advisory lock that transactions
// writing events hold (see lockTenantSQL), for tests that write events
// with SQL of their own.
func (s *Store) EventWriterLock() (int32, int32) { return eventWriterLock, s.eventKey }
