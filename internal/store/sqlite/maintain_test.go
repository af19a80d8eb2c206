package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/store/storetest"

	"github.com/stretchr/testify/require"

	_ "modernc.org/sqlite"

	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

// seedTokens gives the planner something to analyze.
func seedTokens(t testing.TB, s *sqlite.Store) {
	ctx := context.Background()
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t", Name: "t", Created: time.Now()}))
	for i := range 200 {
		require.NoError(t, storetest.Write(s).Tokens().Create(ctx, store.Token{ID: fmt.Sprintf("tok%03d", i), Tenant: "t", SecretHash: []byte("x"), Created: time.Now()}))
	}
}

// TestMaintainKeepsNoSTAT4Samples checks that Maintain leaves row
// estimates but no STAT4 samples, which would make SQLite re-plan every
// prepared lookup on each run.
func TestMaintainKeepsNoSTAT4Samples(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	seedTokens(t, s)
	require.NoError(t, s.Maintain(context.Background()))
	db, err := sql.Open("sqlite", s.Path())
	require.NoError(t, err)
	defer db.Close()
	var stat1, stat4 int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM sqlite_stat1`).Scan(&stat1))
	require.Positive(t, stat1, "row estimates are kept")
	err = db.QueryRow(`SELECT count(*) FROM sqlite_stat4`).Scan(&stat4)
	if err == nil {
		require.Zero(t, stat4)
	}
}

// BenchmarkTokenLookup is the read every SCIM request starts with, after
// Maintain has analyzed the tables as it does on a running server.
func BenchmarkTokenLookup(b *testing.B) {
	s, err := sqlite.Open(context.Background(), b.TempDir()+"/roster.db")
	require.NoError(b, err)
	defer s.Close()
	seedTokens(b, s)
	require.NoError(b, s.Maintain(context.Background()))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Tokens().Lookup(context.Background(), "tok042"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
