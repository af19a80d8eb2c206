// Package pgtest gives each test a fresh PostgreSQL schema of its own on
// the server named by ROSTER_TEST_PG_DSN, dropped with everything in it
// when the test ends, and skips the test when the variable is unset. It is
// the one place tests make PostgreSQL schemas (river's per-test schema
// isolation), so that every package's PostgreSQL tests run in parallel on
// one server without seeing each other's rows.
//
// Import it from _test.go files only; runtime code never does.
package pgtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store/postgres"
)

// EnvDSN names the environment variable holding the test server's DSN, such
// as "postgres://postgres@127.0.0.1:5432/test?sslmode=disable".
const EnvDSN = "ROSTER_TEST_PG_DSN"

// ServerDSN returns the DSN of the test server, or skips the test when
// ROSTER_TEST_PG_DSN is not set.
func ServerDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		t.Skip(EnvDSN + " is not set: skipping a PostgreSQL test " +
			"(.ci/run sets postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return dsn
}

// Schema creates a fresh, empty schema on the test server and returns its
// name. It is dropped, with everything in it, when the test ends: register
// the closing of stores opened on it after calling Schema, so that they
// close first (cleanups run last-in first-out).
func Schema(t testing.TB) string {
	t.Helper()
	dsn := ServerDSN(t)
	name := "roster_test_" + strings.ToLower(rand.Text()[:12])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err, "connect to %s", EnvDSN)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize())
	require.NoError(t, err, "create schema %s", name)
	t.Cleanup(func() {
		if err := Drop(dsn, name); err != nil {
			t.Errorf("%v", err)
		}
	})
	return name
}

// DSN returns the test server's DSN with its search_path set to a fresh
// schema (see Schema), for code that takes a DSN alone, such as a roster
// process started by a test.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := ServerDSN(t)
	name := Schema(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err, "%s must be a postgres:// URL to set search_path", EnvDSN)
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens a store on a fresh schema (see Schema) with at most four
// connections, so that many parallel tests share the server; opts come
// after those defaults and may override them. The store is closed when
// the test ends, before its schema is dropped.
func Open(t testing.TB, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	name := Schema(t)
	opts = append([]postgres.Option{postgres.WithSchema(name), postgres.WithMaxConns(4)}, opts...)
	s, err := postgres.Open(context.Background(), ServerDSN(t), opts...)
	require.NoError(t, err, "open postgres store on schema %s", name)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close postgres store on schema %s: %v", name, err)
		}
	})
	return s
}

// Drop drops the named schema and everything in it, if it exists. Schema
// calls it when a test ends; a schema shared by several tests (such as the
// benchmarks' seeded one) is dropped with it once they are done.
func Drop(dsn, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("drop schema %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
		return fmt.Errorf("drop schema %s: %w", name, err)
	}
	return nil
}
