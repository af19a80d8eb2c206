package scimhttp_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/app"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/backendtest"
	"github.com/rosterhq/roster/internal/store/postgres"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

// TestOlderBuildRefusesWrites is issue 12.18 over HTTP: once a newer build
// has migrated the database under a running node, the node's SCIM and
// admin writes get 503 (a SCIM error for SCIM clients) and the log says
// why, reads go on, and /readyz fails. The node notices at its next schema
// recheck, at most a few seconds later, as in production.
func TestOlderBuildRefusesWrites(t *testing.T) {
	t.Parallel()
	for _, b := range backendtest.All(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			testOlderBuildRefusesWrites(t, b.Open(t))
		})
	}
}

func testOlderBuildRefusesWrites(t *testing.T, st store.Store) {
	ctx := context.Background()
	logs := new(syncBuffer)
	e := newEnvOn(t, app.Config{Logger: slog.New(slog.NewTextHandler(logs, nil))}, st)
	const adminName, adminPW = "operator", "correct horse battery staple"
	_, err := e.roster.Admins.Create(ctx, adminName, adminPW, store.RoleSuperAdmin, "test")
	require.NoError(t, err)
	r := e.do("POST", "/Users", `{"userName":"before@example.com"}`)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	id := r.JSON["id"].(string)
	admin := func(method, path, body string) int {
		req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.SetBasicAuth(adminName, adminPW)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	require.Equal(t, http.StatusOK, get(t, e.srv.URL+"/readyz"))

	// A newer build's migration, recorded as its migrate step would.
	const future = `INSERT INTO schema_migrations (version, name%s) VALUES (9999, 'from_a_newer_build'%s)`
	switch s := st.(type) {
	case *sqlite.Store:
		db, err := sql.Open("sqlite", s.Path()+"?_pragma=busy_timeout(10000)")
		require.NoError(t, err)
		defer db.Close()
		_, err = db.ExecContext(ctx, fmt.Sprintf(future, ", applied", ", ''"))
		require.NoError(t, err)
	case *postgres.Store:
		_, err := s.Pool().Exec(ctx, fmt.Sprintf(future, "", ""))
		require.NoError(t, err)
	default:
		t.Fatalf("no way to migrate a %T ahead", st)
	}

	// Writes succeed until the node rereads the schema version.
	deadline := time.Now().Add(15 * time.Second)
	for n := 0; ; n++ {
		r := e.do("POST", "/Users", `{"userName":"during`+itoa(n)+`@example.com"}`)
		if r.Status == http.StatusServiceUnavailable {
			break
		}
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		require.True(t, time.Now().Before(deadline), "writes still acknowledged on a newer schema")
		time.Sleep(200 * time.Millisecond)
	}

	for _, tc := range []struct {
		name, method, path, body string
		want                     int
	}{
		{"Create", "POST", "/Users", `{"userName":"after@example.com"}`, http.StatusServiceUnavailable},
		{"Replace", "PUT", "/Users/" + id, `{"userName":"before@example.com","displayName":"B"}`, http.StatusServiceUnavailable},
		{"Patch", "PATCH", "/Users/" + id,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"B"}]}`,
			http.StatusServiceUnavailable},
		{"Delete", "DELETE", "/Users/" + id, "", http.StatusServiceUnavailable},
		{"Get", "GET", "/Users/" + id, "", http.StatusOK},
		{"List", "GET", "/Users?filter=userName+eq+%22before@example.com%22", "", http.StatusOK},
	} {
		r := e.do(tc.method, tc.path, tc.body)
		require.Equal(t, tc.want, r.Status, "%s: %s", tc.name, r.Body)
		if tc.want >= 400 {
			requireSCIMError(t, r, tc.want)
		}
	}
	require.Contains(t, logs.String(), "SCIM-0506", "the log says why writes are refused")

	require.Equal(t, http.StatusServiceUnavailable, admin("POST", "/admin/api/tenants", `{"name":"newco"}`))
	require.Equal(t, http.StatusOK, admin("GET", "/admin/api/tenants", ""))
	require.Contains(t, logs.String(), "ADMIN-0506")

	require.Equal(t, http.StatusServiceUnavailable, get(t, e.srv.URL+"/readyz"))
}

func get(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}
