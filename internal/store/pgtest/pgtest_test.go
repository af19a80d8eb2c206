package pgtest_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/store/storetest"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/pgtest"
)

// schemaExists reports whether the test server has the named schema.
func schemaExists(t *testing.T, name string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.ServerDSN(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", name).Scan(&n))
	return n == 1
}

// TestFreshSchemas shows that each helper hands out a schema of its own,
// reachable as documented, and that the schema is gone once its test ends.
func TestFreshSchemas(t *testing.T) {
	t.Parallel()
	pgtest.ServerDSN(t)
	cases := []struct {
		name string
		// use returns the schema the helper made, having checked it is
		// the one a connection reaches.
		use func(t *testing.T) string
	}{
		{"Schema", func(t *testing.T) string {
			name := pgtest.Schema(t)
			require.True(t, schemaExists(t, name), "Schema creates the schema")
			return name
		}},
		{"DSN", func(t *testing.T) string {
			dsn := pgtest.DSN(t)
			u, err := url.Parse(dsn)
			require.NoError(t, err)
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, dsn)
			require.NoError(t, err)
			defer conn.Close(ctx)
			var current string
			require.NoError(t, conn.QueryRow(ctx, "SELECT current_schema()").Scan(&current))
			require.Equal(t, u.Query().Get("search_path"), current)
			return current
		}},
		{"Open", func(t *testing.T) string {
			s := pgtest.Open(t)
			ctx := context.Background()
			require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
			var current string
			require.NoError(t, s.Pool().QueryRow(ctx, "SELECT current_schema()").Scan(&current))
			return current
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var a, b string
			t.Run("First", func(t *testing.T) { a = c.use(t) })
			t.Run("Second", func(t *testing.T) { b = c.use(t) })
			require.NotEqual(t, a, b, "every test gets a schema of its own")
			require.True(t, strings.HasPrefix(a, "roster_test_"), a)
			require.False(t, schemaExists(t, a), "dropped when its test ended")
			require.False(t, schemaExists(t, b), "dropped when its test ended")
		})
	}
}

// That only tests import pgtest is checked with the other layering rules,
// by internal/arch.
