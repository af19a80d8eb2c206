package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/pgtest"
	"github.com/rosterhq/roster/internal/store/storetest"
)

// TestEveryCredentialColumnChangesVersion updates each column of the
// tables that decide who is let in, one at a time and on a connection of
// its own (as another node would), and requires each to change the
// credentials version, except a token's last use. A column added to these
// tables later fails here until the triggers of migration 0012 cover it.
func TestEveryCredentialColumnChangesVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sch := pgtest.Schema(t)
	s := openStore(t, sch)
	w := storetest.Write(s)
	require.NoError(t, w.Tenants().Create(ctx, store.Tenant{ID: "t", Name: "acme", Created: time.Now()}))
	require.NoError(t, w.Tokens().Create(ctx, store.Token{ID: "tok", Tenant: "t", SecretHash: []byte{1}, Created: time.Now()}))
	require.NoError(t, w.OAuthClients().Create(ctx, store.OAuthClient{ID: "cl", Tenant: "t", SecretHash: []byte{2}, Created: time.Now()}))

	conn, err := pgx.Connect(ctx, pgtest.ServerDSN(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	// Not the store's search_path: the triggers must work from any.
	for _, table := range []string{"tokens", "oauth_clients", "tenants"} {
		rows, err := conn.Query(ctx, `SELECT column_name FROM information_schema.columns
			WHERE table_schema = $1 AND table_name = $2 AND is_identity = 'NO' ORDER BY ordinal_position`, sch, table)
		require.NoError(t, err)
		cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		require.NotEmpty(t, cols, table)
		qualified := pgx.Identifier{sch, table}.Sanitize()
		for _, col := range cols {
			before, err := s.Tokens().CredentialsVersion(ctx)
			require.NoError(t, err)
			c := pgx.Identifier{col}.Sanitize()
			_, err = conn.Exec(ctx, "UPDATE "+qualified+" SET "+c+" = "+c)
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
