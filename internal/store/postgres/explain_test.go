package postgres_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/postgres"
)

// TestExplainPlans prints, for the docs, the plans PostgreSQL makes for the
// lookups identity providers send and for adding 100 members, on the
// benchmarks' seeded schema, with EXPLAIN (ANALYZE, BUFFERS) of the very
// statement the store runs (a custom plan, as the first executions of a
// prepared statement get; the range and LIKE predicates are indexable in the
// generic plan too, which it prints for userName sw), and the median time
// of the store call. It runs only with ROSTER_PG_EXPLAIN=1:
//
//	ROSTER_TEST_PG_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	ROSTER_PG_EXPLAIN=1 ROSTER_BENCH_USERS=1000000 go test ./internal/store/postgres -run ExplainPlans -v
func TestExplainPlans(t *testing.T) {
	if os.Getenv("ROSTER_PG_EXPLAIN") != "1" {
		t.Skip("ROSTER_PG_EXPLAIN not set to 1: skipping the EXPLAIN output for the docs")
	}
	s := seededStore(t)
	ctx := context.Background()
	n := benchUsers()
	rt := schema.Default().User()
	var k int64
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT key FROM tenants WHERE id = $1", benchTenant).Scan(&k))
	var out strings.Builder
	fmt.Fprintf(&out, "PostgreSQL plans at %d users in the tenant (%s)\n", n, serverVersion(t, s))

	mid := n / 2
	for _, tc := range []struct {
		name, filter string
		generic      bool
	}{
		{"userName eq", fmt.Sprintf(`userName eq "%s"`, strings.ToUpper(benchUserName(mid))), false},
		{"externalId eq", fmt.Sprintf(`externalId eq "ext-%07d"`, mid), false},
		{"emails.value eq", fmt.Sprintf(`emails.value eq "%s"`, benchUserName(mid)), false},
		{"emails[type eq \"work\"].value eq (Entra)", fmt.Sprintf(`emails[type eq "work"].value eq "%s"`, benchUserName(mid)), false},
		{"userName sw", fmt.Sprintf(`userName sw "user%05d"`, mid/100), true},
		{"displayName co", fmt.Sprintf(`displayName co "er %d"`, mid), false},
		{"unfiltered page", "", false},
	} {
		q := store.Query{StartIndex: 1, Count: 100}
		if tc.filter != "" {
			e, err := filter.Parse(tc.filter)
			require.NoError(t, err)
			q.Filter, err = filter.Validate(e, rt)
			require.NoError(t, err)
		}
		sql, args, err := postgres.QuerySQL(k, rt, q)
		require.NoError(t, err)
		page, err := s.Resources().Query(ctx, benchTenant, rt, q)
		require.NoError(t, err)
		med := median(t, 50, func() error { _, err := s.Resources().Query(ctx, benchTenant, rt, q); return err })
		fmt.Fprintf(&out, "\n## %s: %s\n\nstore call: median %s over 50 runs; totalResults %d\n\n%s\n\nargs %v\n\n",
			tc.name, tc.filter, med, page.Total, sql, args)
		out.WriteString(explain(t, s, sql, args, false))
		if tc.generic {
			out.WriteString("\ngeneric plan (plan_cache_mode = force_generic_plan):\n")
			out.WriteString(explain(t, s, sql, args, true))
		}
	}

	// Adding 100 members to the group of every user: in a transaction that
	// is rolled back, as EXPLAIN ANALYZE runs the insert.
	ids := make([]string, 100)
	require.NoError(t, s.Write(ctx, func(w store.Writer) error {
		for i := range ids {
			ids[i] = "explain-" + strconv.Itoa(i)
			r := benchUser(ids[i], 200_000_000+i)
			if err := w.Create(ctx, r); err != nil {
				return err
			}
		}
		return nil
	}))
	args := []any{k, "big", ids, len(ids)}
	med := median(t, 20, func() error {
		err := s.Write(ctx, func(w store.Writer) error {
			added, err := w.AddMembers(ctx, benchTenant, "big", ids)
			if err == nil && len(added) != len(ids) {
				err = fmt.Errorf("added %d", len(added))
			}
			return err
		})
		if err != nil {
			return err
		}
		return s.Write(ctx, func(w store.Writer) error { _, err := w.RemoveMembers(ctx, benchTenant, "big", ids); return err })
	})
	fmt.Fprintf(&out, "\n## members add of 100 (to a group of %d)\n\nstore call (Write with AddMembers, then one with RemoveMembers): median %s over 20 runs\n\n%s\n\nargs %v\n\n",
		n, med, postgres.AddMembersSQL, args[:2])
	out.WriteString(explainInTx(t, s, postgres.AddMembersSQL, args))
	require.NoError(t, s.Write(ctx, func(w store.Writer) error {
		for _, id := range ids {
			if err := w.Delete(ctx, benchTenant, schema.UserResource, id); err != nil {
				return err
			}
		}
		return nil
	}))
	t.Log("\n" + out.String())
	if path := os.Getenv("ROSTER_PG_EXPLAIN_OUT"); path != "" {
		require.NoError(t, os.WriteFile(path, []byte(out.String()), 0o644))
	}
}

func serverVersion(t *testing.T, s *postgres.Store) string {
	var v string
	require.NoError(t, s.Pool().QueryRow(context.Background(), "SELECT version()").Scan(&v))
	return v
}

// median runs f n times and returns its median duration.
func median(t *testing.T, n int, f func() error) time.Duration {
	t.Helper()
	ds := make([]time.Duration, n)
	for i := range ds {
		t0 := time.Now()
		require.NoError(t, f())
		ds[i] = time.Since(t0)
	}
	slices.Sort(ds)
	return ds[n/2].Round(time.Microsecond)
}

// explain returns EXPLAIN (ANALYZE, BUFFERS) of a query, run once before to
// warm the cache. generic asks for the plan PostgreSQL makes without the
// values of the parameters.
func explain(t *testing.T, s *postgres.Store, sql string, args []any, generic bool) string {
	t.Helper()
	ctx := context.Background()
	conn, err := s.Pool().Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	if !generic {
		var plan []string
		for range 2 {
			rows, err := conn.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, args...)
			require.NoError(t, err)
			plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(t, err)
		}
		return strings.Join(plan, "\n") + "\n"
	}
	_, err = conn.Exec(ctx, "PREPARE explain_generic AS "+sql)
	require.NoError(t, err)
	defer conn.Exec(ctx, "DEALLOCATE explain_generic") //nolint:errcheck // best effort
	_, err = conn.Exec(ctx, "SET plan_cache_mode = force_generic_plan")
	require.NoError(t, err)
	defer conn.Exec(ctx, "RESET plan_cache_mode") //nolint:errcheck // best effort
	lits := make([]string, len(args))
	for i, a := range args {
		lits[i] = literal(a)
	}
	rows, err := conn.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) EXECUTE explain_generic("+strings.Join(lits, ", ")+")")
	require.NoError(t, err)
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return strings.Join(plan, "\n") + "\n"
}

// explainInTx is explain of a statement that writes, in a transaction
// rolled back after each run.
func explainInTx(t *testing.T, s *postgres.Store, sql string, args []any) string {
	t.Helper()
	ctx := context.Background()
	var plan []string
	for range 2 {
		tx, err := s.Pool().Begin(ctx)
		require.NoError(t, err)
		rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, args...)
		require.NoError(t, err)
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		require.NoError(t, tx.Rollback(ctx))
	}
	return strings.Join(plan, "\n") + "\n"
}

// literal writes a query argument as an SQL literal.
func literal(a any) string {
	switch v := a.(type) {
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(a)
}
