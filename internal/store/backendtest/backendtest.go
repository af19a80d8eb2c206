// Package backendtest opens a fresh store of every storage backend a test
// run can reach, for tests above the storage layer (services) that must
// hold on both: SQLite always, PostgreSQL when ROSTER_TEST_PG_DSN names a
// server (through pgtest, a schema of the test's own).
//
// Import it from _test.go files only; runtime code never does.
package backendtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/pgtest"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

// Backend opens a fresh, empty store, closed when the test ends.
type Backend struct {
	Name string // "SQLite" or "PostgreSQL"
	Open func(t *testing.T) store.Store
}

// All returns the backends this run reaches, SQLite first. Without
// ROSTER_TEST_PG_DSN it logs that PostgreSQL is left out.
func All(t *testing.T) []Backend {
	t.Helper()
	out := []Backend{{"SQLite", openSQLite}}
	if os.Getenv(pgtest.EnvDSN) == "" {
		t.Log(pgtest.EnvDSN + " is not set: running on SQLite only")
		return out
	}
	return append(out, Backend{"PostgreSQL", func(t *testing.T) store.Store { return pgtest.Open(t) }})
}

// Run runs test as a parallel subtest per backend, each with a fresh store.
func Run(t *testing.T, test func(t *testing.T, st store.Store)) {
	t.Helper()
	for _, b := range All(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			test(t, b.Open(t))
		})
	}
}

func openSQLite(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}
