package sqlite_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"
	"github.com/rosterhq/roster/internal/store/storetest"
)

// TestEveryCredentialColumnChangesVersion updates each column of the
// tables that decide who is let in, one at a time and from a connection of
// its own (as another process would), and requires each to change the
// credentials version, except a token's last use. A column added to these
// tables later fails here until the triggers of migration 0015 cover it.
func TestEveryCredentialColumnChangesVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	w := storetest.Write(s)
	require.NoError(t, w.Tenants().Create(ctx, store.Tenant{ID: "t", Name: "acme", Created: time.Now()}))
	require.NoError(t, w.Tokens().Create(ctx, store.Token{ID: "tok", Tenant: "t", SecretHash: []byte{1}, Created: time.Now()}))
	require.NoError(t, w.OAuthClients().Create(ctx, store.OAuthClient{ID: "cl", Tenant: "t", SecretHash: []byte{2}, Created: time.Now()}))

	db, err := sql.Open("sqlite", "file:"+s.Path()+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	defer db.Close()
	for _, table := range []string{"tokens", "oauth_clients", "tenants"} {
		rows, err := db.QueryContext(ctx, "SELECT name FROM pragma_table_info(?1)", table)
		require.NoError(t, err)
		var cols []string
		for rows.Next() {
			var c string
			require.NoError(t, rows.Scan(&c))
			cols = append(cols, c)
		}
		require.NoError(t, rows.Err())
		require.NotEmpty(t, cols, table)
		for _, col := range cols {
			before, err := s.Tokens().CredentialsVersion(ctx)
			require.NoError(t, err)
			_, err = db.ExecContext(ctx, "UPDATE "+table+" SET "+col+" = "+col)
			require.NoError(t, err, "%s.%s", table, col)
			after, err := s.Tokens().CredentialsVersion(ctx)
			require.NoError(t, err)
			if table == "tokens" && col == "last_used" {
				require.Equal(t, before, after, "recording a token's use changes nothing")
				continue
			}
			require.NotEqual(t, before, after, "an update of %s.%s changes the credentials version", table, col)
		}
	}
}

// BenchmarkAuthReads compares, one at a time, what a SCIM request can read
// to authenticate: the token with its tenant and client (Lookup, every
// request before issue 15, and a request with a token not cached), the
// credentials version (a request with a cached token), and PRAGMA
// data_version on a connection of its own, the alternative that was
// measured and not taken (it changes on this process's own commits too, so
// under writes it would come on top of reading the version).
func BenchmarkAuthReads(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, b.TempDir()+"/roster.db")
	require.NoError(b, err)
	defer s.Close()
	seedTokens(b, s)
	require.NoError(b, s.Maintain(ctx))
	db, err := sql.Open("sqlite", s.Path())
	require.NoError(b, err)
	defer db.Close()
	conn, err := db.Conn(ctx)
	require.NoError(b, err)
	defer conn.Close()
	dataVersion, err := conn.PrepareContext(ctx, "PRAGMA data_version")
	require.NoError(b, err)
	defer dataVersion.Close()
	for _, bc := range []struct {
		name string
		read func() error
	}{
		{"Lookup", func() error { _, err := s.Tokens().Lookup(ctx, "tok042"); return err }},
		{"CredentialsVersion", func() error { _, err := s.Tokens().CredentialsVersion(ctx); return err }},
		{"DataVersion", func() error { var v int64; return dataVersion.QueryRowContext(ctx).Scan(&v) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.read(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
