package pgtest_test

import (
	"context"
	"go/parser"
	"go/token"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
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

// TestOnlyTestsImportPgtest keeps pgtest out of runtime code: it makes and
// drops schemas, which no running server may do on the tests' terms.
func TestOnlyTestsImportPgtest(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../../..")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err, "the module root is three levels up")
	const path = "github.com/rosterhq/roster/internal/store/pgtest"
	var importers []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if v, _ := strconv.Unquote(imp.Path.Value); v == path {
				rel, _ := filepath.Rel(root, p)
				importers = append(importers, rel)
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.Empty(t, importers, "only _test.go files may import pgtest")
}
