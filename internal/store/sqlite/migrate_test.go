package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/store/storetest"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/password"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlfilter"
)

// A roster.db of the previous release, at migration 0001, is upgraded by Open
// with its data intact and its tenant keys unchanged, and from then on the
// key of a deleted tenant is not handed out again.
func TestUpgradeFrom0001(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roster.db")
	created := time.Date(2024, 3, 10, 9, 30, 0, 123456000, time.UTC)
	ts := sqlfilter.FormatTime(created)

	db := sql.OpenDB(&connector{path: path, pragmas: (&config{busyTimeout: 5 * time.Second}).pragmas(true)})
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	require.NoError(t, migrateTo(ctx, conn, 1))
	for _, q := range []string{
		`INSERT INTO tenants (id, name, created) VALUES ('t-acme', 'acme', '` + ts + `'), ('t-globex', 'globex', '` + ts + `')`,
		`INSERT INTO tokens (id, tenant_id, secret_hash, label, created, expires)
			VALUES ('tok1', 't-acme', x'0102', 'okta', '` + ts + `', '` + ts + `')`,
		`INSERT INTO resources (tenant, type, id, user_name_fold, display, attrs, created, modified, version) VALUES
			(1, 'User', 'u1', 'alice', 'alice', '{"emails":[{"value":"a@x"}],"userName":"alice"}', '` + ts + `', '` + ts + `', 1),
			(1, 'User', 'u2', 'bob', 'bob', '{"userName":"bob"}', '` + ts + `', '` + ts + `', 3),
			(2, 'User', 'u3', 'carol', 'carol', '{"userName":"carol"}', '` + ts + `', '` + ts + `', 1)`,
		`INSERT INTO resources (tenant, type, id, display_name_fold, display, attrs, created, modified, version)
			VALUES (1, 'Group', 'g1', 'staff', 'Staff', '{"displayName":"Staff"}', '` + ts + `', '` + ts + `', 1)`,
		`INSERT INTO resource_values (resource_seq, attr, idx, tenant, value_fold, present, elem)
			VALUES (1, 'emails', 0, 1, 'a@x', 1, '{"value":"a@x"}')`,
		`INSERT INTO memberships (group_seq, member_seq) VALUES (4, 1)`,
		`INSERT INTO resource_counts (tenant, type, n) VALUES (1, 'User', 2), (1, 'Group', 1), (2, 'User', 1)`,
	} {
		_, err := conn.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
	require.NoError(t, conn.Close())
	require.NoError(t, db.Close())

	s, err := Open(ctx, path)
	require.NoError(t, err)
	var versions []int
	rows, err := s.rdb.QueryContext(ctx, "SELECT version FROM schema_migrations ORDER BY version")
	require.NoError(t, err)
	for rows.Next() {
		var v int
		require.NoError(t, rows.Scan(&v))
		versions = append(versions, v)
	}
	require.NoError(t, rows.Err())
	all, err := migrations()
	require.NoError(t, err)
	var want []int
	for _, m := range all {
		want = append(want, m.Version)
	}
	require.Equal(t, want, versions, "every migration applied once")
	require.Equal(t, latestMigration(), versions[len(versions)-1])
	require.NoError(t, s.Ping(ctx), "the schema is current")

	for id, want := range map[string]int64{"t-acme": 1, "t-globex": 2} {
		k, ok, err := s.tenantKey(id, s.rs.tenantKey)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, want, k, id)
	}
	acme, err := s.Tenants().GetByName(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, store.Tenant{ID: "t-acme", Name: "acme", Created: created}, acme)
	tok, err := s.Tokens().Get(ctx, "tok1")
	require.NoError(t, err)
	require.Equal(t, store.Token{ID: "tok1", Tenant: "t-acme", SecretHash: []byte{1, 2}, Label: "okta", Created: created, Expires: created}, tok)

	u1, err := s.Resources().Get(ctx, "t-acme", schema.UserResource, "u1")
	require.NoError(t, err)
	require.Equal(t, "alice", u1.Attrs["userName"])
	page, err := s.Resources().Query(ctx, "t-acme", schema.Default().User(), store.Query{})
	require.NoError(t, err)
	require.Equal(t, 2, page.Total)
	var ms []string
	require.NoError(t, s.Resources().Members(ctx, "t-acme", "g1", func(m store.Member) error {
		ms = append(ms, m.Value)
		return nil
	}))
	require.Equal(t, []string{"u1"}, ms)

	// The new columns and tables work on the upgraded file.
	require.NoError(t, storetest.Write(s).Tenants().SetSettings(ctx, "t-acme", store.TenantSettings{RateLimit: 5}))
	n, err := s.Tokens().DeleteExpired(ctx, created.Add(time.Second))
	require.NoError(t, err)
	require.Equal(t, 1, n)

	// Deleting the tenant with the highest key does not free it.
	require.NoError(t, storetest.Write(s).Tenants().Delete(ctx, "t-globex"))
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t-initech", Name: "initech"}))
	k, ok, err := s.tenantKey("t-initech", s.rs.tenantKey)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(3), k)
	require.NoError(t, s.Close())

	// Opening again applies nothing and keeps everything.
	s, err = Open(ctx, path)
	require.NoError(t, err)
	defer s.Close()
	acme, err = s.Tenants().Get(ctx, "t-acme")
	require.NoError(t, err)
	require.Equal(t, 5.0, acme.Settings.RateLimit)
	_, err = s.Resources().Get(ctx, "t-acme", schema.UserResource, "u2")
	require.NoError(t, err)
}

// Another process that cached a deleted tenant's key finds nothing under it,
// not the rows of a tenant created after the delete.
func TestDeletedTenantKeyNotReused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roster.db")
	serve, err := Open(ctx, path)
	require.NoError(t, err)
	defer serve.Close()
	cli, err := Open(ctx, path)
	require.NoError(t, err)
	defer cli.Close()

	user := func(tenant, id string) store.Resource {
		return store.Resource{Tenant: tenant, Type: schema.UserResource, ID: id, Attrs: map[string]any{"userName": id}, Version: 1}
	}
	require.NoError(t, storetest.Write(serve).Tenants().Create(ctx, store.Tenant{ID: "old", Name: "old"}))
	require.NoError(t, serve.Write(ctx, func(w store.Writer) error { return w.Create(ctx, user("old", "u-old")) }))

	require.NoError(t, storetest.Write(cli).Tenants().Delete(ctx, "old"))
	require.NoError(t, storetest.Write(cli).Tenants().Create(ctx, store.Tenant{ID: "new", Name: "new"}))
	require.NoError(t, cli.Write(ctx, func(w store.Writer) error { return w.Create(ctx, user("new", "u-new")) }))

	_, err = serve.Resources().Get(ctx, "old", schema.UserResource, "u-new")
	require.ErrorIs(t, err, store.ErrNotFound)
	page, err := serve.Resources().Query(ctx, "old", schema.Default().User(), store.Query{Count: 10})
	require.NoError(t, err)
	require.Zero(t, page.Total)
	require.Empty(t, page.Resources)
}

// Every statement of a tenant deletion reaches the rows it reads or deletes
// through an index: no step of its plan scans a table, so none reads the rows
// of other tenants. (Steps may scan the rows of a common table expression.)
// pendingDeletionsSQL, which reads tenant_deletions whole, is not one: that
// table holds the deletions in progress and nothing else.
func TestDeleteTenantPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, err)
	defer s.Close()
	tables := map[string]bool{}
	rows, err := s.rdb.QueryContext(ctx, "SELECT name FROM sqlite_schema WHERE type = 'table'")
	require.NoError(t, err)
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		tables[name] = true
	}
	require.NoError(t, rows.Err())
	require.True(t, tables["resources"] && tables["tenant_deletions"], "%v", tables)

	type stmt struct {
		query string
		args  []any
	}
	now := sqlfilter.FormatTime(time.Now())
	stmts := []stmt{
		{recordDeletionSQL, []any{1, now}},
		{liveKeySQL, []any{1}},
		{firstGroupSQL, []any{1}},
		{clearMembersSQL, []any{1, 100}},
		{firstTypeSQL, []any{1}},
		{batchEndSQL, []any{1, schema.UserResource, 100}},
		{recordOrphanSQL, []any{1, now}},
		{orphanKeysSQL, nil},
	}
	for _, q := range unlinkTenantSQL {
		stmts = append(stmts, stmt{q, []any{1}})
	}
	for _, q := range purgeRangeSQL {
		stmts = append(stmts, stmt{q, []any{1, schema.UserResource, 100}})
	}
	for _, q := range finishPurgeSQL {
		stmts = append(stmts, stmt{q, []any{1}})
	}
	for _, q := range purgeChangesSQL {
		stmts = append(stmts, stmt{q, []any{1, 100}})
	}
	for _, q := range stmts {
		rows, err := s.rdb.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.query, q.args...)
		require.NoError(t, err, q.query)
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Err())
		require.NotEmpty(t, plan)
		for _, step := range plan {
			if name, ok := strings.CutPrefix(step, "SCAN "); ok {
				name, _, _ = strings.Cut(name, " ")
				require.False(t, tables[name], "%s\nplan: %q", q.query, plan)
			}
		}
		if testing.Verbose() {
			t.Logf("%s\n\t%s", q.query, strings.Join(plan, "\n\t"))
		}
	}
}

// Deleting a tenant leaves no row that refers to it in any table, and every
// row of the other tenant.
func TestDeleteTenantLeavesNoRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, err)
	defer s.Close()
	for _, tn := range []string{"acme", "globex"} {
		require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: tn, Name: tn}))
		require.NoError(t, s.Write(ctx, func(w store.Writer) error {
			for _, id := range []string{"u1", "u2"} {
				err := w.Create(ctx, store.Resource{Tenant: tn, Type: schema.UserResource, ID: id, Version: 1, Attrs: map[string]any{
					"userName": id, "emails": []any{map[string]any{"value": id + "@" + tn}},
				}})
				if err != nil {
					return err
				}
			}
			for _, id := range []string{"g", "h"} {
				err := w.Create(ctx, store.Resource{Tenant: tn, Type: schema.GroupResource, ID: id, Version: 1, Attrs: map[string]any{"displayName": id}})
				if err != nil {
					return err
				}
			}
			if _, err := w.AddMembers(ctx, tn, "g", []string{"u1", "u2", "h"}); err != nil {
				return err
			}
			_, err := w.AddMembers(ctx, tn, "h", []string{"u1"})
			return err
		}))
		require.NoError(t, storetest.Write(s).Tokens().Create(ctx, store.Token{ID: "tok-" + tn, Tenant: tn}))
		require.NoError(t, storetest.Write(s).OAuthClients().Create(ctx, store.OAuthClient{ID: "client-" + tn, Tenant: tn}))
		require.NoError(t, storetest.Write(s).Webhooks().Create(ctx, store.WebhookEndpoint{ID: "wh-" + tn, Tenant: tn, URL: "https://x.example", MaxAttempts: 1}))
		require.NoError(t, s.Write(ctx, func(w store.Writer) error {
			return w.Record(ctx, &store.Change{Tenant: tn, ResourceType: schema.UserResource, ResourceID: "u1", Operation: "create",
				Actor: "test", Events: []store.Event{{ID: "e-" + tn, Type: store.UserCreated, Data: []byte(`{}`)}}})
		}))
	}
	rows := func(tenant string) map[string]int {
		out := map[string]int{}
		for table, q := range map[string]string{
			"tenants":           "SELECT count(*) FROM tenants WHERE id = ?1",
			"tokens":            "SELECT count(*) FROM tokens WHERE tenant_id = ?1",
			"oauth_clients":     "SELECT count(*) FROM oauth_clients WHERE tenant_id = ?1",
			"resources":         "SELECT count(*) FROM resources r JOIN tenants t ON t.key = r.tenant WHERE t.id = ?1",
			"resource_values":   "SELECT count(*) FROM resource_values v JOIN tenants t ON t.key = v.tenant WHERE t.id = ?1",
			"resource_counts":   "SELECT count(*) FROM resource_counts c JOIN tenants t ON t.key = c.tenant WHERE t.id = ?1",
			"history":           "SELECT count(*) FROM history h JOIN tenants t ON t.key = h.tenant WHERE t.id = ?1",
			"events":            "SELECT count(*) FROM events e JOIN tenants t ON t.key = e.tenant WHERE t.id = ?1",
			"webhook_endpoints": "SELECT count(*) FROM webhook_endpoints WHERE tenant_id = ?1",
			"memberships": `SELECT count(*) FROM memberships m JOIN resources r ON r.seq = m.group_seq
				JOIN tenants t ON t.key = r.tenant WHERE t.id = ?1`,
		} {
			var n int
			require.NoError(t, s.rdb.QueryRowContext(ctx, q, tenant).Scan(&n), table)
			out[table] = n
		}
		return out
	}
	count := func(table string) (n int) {
		require.NoError(t, s.rdb.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n))
		return n
	}
	want := map[string]int{"tenants": 1, "tokens": 1, "oauth_clients": 1, "resources": 4, "resource_values": 2, "resource_counts": 2, "memberships": 4,
		"history": 1, "events": 1, "webhook_endpoints": 1}
	require.Equal(t, want, rows("acme"))
	require.Equal(t, want, rows("globex"))

	require.NoError(t, storetest.Write(s).Tenants().Delete(ctx, "acme"))
	require.Equal(t, want, rows("globex"))
	for table, n := range want {
		require.Equal(t, n, count(table), "%s holds only globex's rows", table)
	}
	require.Zero(t, count("tenant_deletions"), "the deletion is finished")
}

// TestOlderBuildRefusesWrites: once a newer build has migrated the file
// past this one, this build's writes fail with store.ErrSchemaAhead (an
// ErrUnavailable, so SCIM clients get 503) instead of being acknowledged
// without what the newer schema records with them; reads go on.
func TestOlderBuildRefusesWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))

	// A newer build's migration, as it would record it.
	_, err := s.wconn.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied) VALUES (?1, 'from_the_future', '')", latestMigration()+1)
	require.NoError(t, err)
	s.schema.Recheck()
	err = s.Write(ctx, func(w store.Writer) error { return w.Settings().Set(ctx, "k", "v") })
	require.ErrorIs(t, err, store.ErrSchemaAhead)
	require.ErrorIs(t, err, store.ErrUnavailable)
	_, err = s.Tenants().Get(ctx, "t1")
	require.NoError(t, err, "reads go on")
	require.Error(t, s.Ping(ctx), "not ready either")

	// A store opened on the file now refuses writes from its start.
	again := openTest(t, s.Path())
	err = again.Write(ctx, func(w store.Writer) error { return w.Settings().Set(ctx, "k", "v") })
	require.ErrorIs(t, err, store.ErrSchemaAhead)
}

// A roster.db of the release before migration 0007 holds User passwords as
// clients sent them; Open replaces each with its salted hash, leaves the
// rest of the row and other resources alone, and no byte of a password is
// left in the database file or its WAL.
func TestUpgradeHashesPasswords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "roster.db")
	ts := sqlfilter.FormatTime(time.Now())

	db := sql.OpenDB(&connector{path: path, pragmas: (&config{busyTimeout: 5 * time.Second}).pragmas(true)})
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	require.NoError(t, migrateTo(ctx, conn, 6))
	for _, q := range []string{
		`INSERT INTO tenants (id, name, created) VALUES ('t-acme', 'acme', '` + ts + `')`,
		`INSERT INTO resources (tenant, type, id, user_name_fold, display, attrs, created, modified, version) VALUES
			(1, 'User', 'u1', 'alice', 'alice', '{"userName":"alice","password":"Sup3r-Secret-Alice","title":"CEO"}', '` + ts + `', '` + ts + `', 4),
			(1, 'User', 'u2', 'bob', 'bob', '{"userName":"bob"}', '` + ts + `', '` + ts + `', 1),
			(1, 'User', 'u3', 'carol', 'carol', '{"userName":"carol","password":"Sup3r-Secret-Carol"}', '` + ts + `', '` + ts + `', 1)`,
		`INSERT INTO resources (tenant, type, id, display_name_fold, display, attrs, created, modified, version)
			VALUES (1, 'Group', 'g1', 'staff', 'Staff', '{"displayName":"Staff"}', '` + ts + `', '` + ts + `', 1)`,
	} {
		_, err := conn.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
	require.NoError(t, conn.Close())
	require.NoError(t, db.Close())

	s, err := Open(ctx, path)
	require.NoError(t, err)
	for _, tc := range []struct {
		id, clear string
		attrs     map[string]any
	}{
		{"u1", "Sup3r-Secret-Alice", map[string]any{"userName": "alice", "title": "CEO"}},
		{"u2", "", map[string]any{"userName": "bob"}},
		{"u3", "Sup3r-Secret-Carol", map[string]any{"userName": "carol"}},
	} {
		u, err := s.Resources().Get(ctx, "t-acme", schema.UserResource, tc.id)
		require.NoError(t, err)
		stored, _ := u.Attrs["password"].(string)
		delete(u.Attrs, "password")
		require.Equal(t, tc.attrs, u.Attrs, "the rest of the row is kept")
		if tc.clear == "" {
			require.Empty(t, stored)
			continue
		}
		ok, err := password.Check(stored, tc.clear)
		require.NoError(t, err)
		require.True(t, ok, "%s: %q is the hash of the old password", tc.id, stored)
	}
	u1, err := s.Resources().Get(ctx, "t-acme", schema.UserResource, "u1")
	require.NoError(t, err)
	require.Equal(t, int64(4), u1.Version, "hashing is no change a client sees")
	require.NoError(t, s.Ping(ctx))
	hashed := u1.Attrs["password"]
	require.NoError(t, s.Close())

	for _, name := range []string{"roster.db", "roster.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		require.False(t, bytes.Contains(b, []byte("Sup3r-Secret")), "%s holds a clear-text password", name)
	}

	// Opening again hashes nothing again.
	s, err = Open(ctx, path)
	require.NoError(t, err)
	defer s.Close()
	u1, err = s.Resources().Get(ctx, "t-acme", schema.UserResource, "u1")
	require.NoError(t, err)
	require.Equal(t, hashed, u1.Attrs["password"])
}

// A file where two tenants already trust one identity-provider issuer (as
// a race before migration 0014 could leave it) fails to open at 0014,
// leaving the file at the version before, which the release before still
// opens to disable one of them; once it is, the migration goes through.
func TestIssuerIndexRefusesExistingDuplicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roster.db")
	ts := sqlfilter.FormatTime(time.Now())
	db := sql.OpenDB(&connector{path: path, pragmas: (&config{busyTimeout: 5 * time.Second}).pragmas(true)})
	defer db.Close()
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, migrateTo(ctx, conn, 13))
	const idp = `{"idp":{"iss":"https://idp.example/","aud":"roster"}}`
	_, err = conn.ExecContext(ctx, `INSERT INTO tenants (id, name, created, settings) VALUES
		('t-acme', 'acme', ?1, ?2), ('t-globex', 'globex', ?1, ?2)`, ts, idp)
	require.NoError(t, err)

	_, err = Open(ctx, path)
	require.ErrorContains(t, err, "idp_issuer_unique")
	version := func() (v int) {
		require.NoError(t, conn.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v))
		return v
	}
	require.Less(t, version(), 14, "the failed migration left nothing behind")

	_, err = conn.ExecContext(ctx, `UPDATE tenants SET settings = '{}' WHERE id = 't-globex'`)
	require.NoError(t, err)
	s := openTest(t, path)
	tn, err := s.Tenants().Get(ctx, "t-acme")
	require.NoError(t, err)
	require.Equal(t, "https://idp.example/", tn.Settings.IdP.Issuer)
	require.Equal(t, latestMigration(), version())
}
