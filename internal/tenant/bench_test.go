package tenant_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/pgtest"
	"github.com/rosterhq/roster/internal/store/sqlite"
	"github.com/rosterhq/roster/internal/tenant"
)

// BenchmarkAuthenticate authenticates the same Secret Token over and over,
// as a SCIM client's requests do: with the cache, each costs a SHA-256 and
// a read of the credentials version. It uses the public API only, so that
// the same file measures a build from before the cache (issue 15).
func BenchmarkAuthenticate(b *testing.B) {
	backends := map[string]func(b *testing.B) store.Store{
		"SQLite": func(b *testing.B) store.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "roster.db"))
			require.NoError(b, err)
			b.Cleanup(func() { st.Close() })
			return st
		},
	}
	if os.Getenv(pgtest.EnvDSN) != "" {
		backends["PostgreSQL"] = func(b *testing.B) store.Store { return pgtest.Open(b) }
	}
	for name, open := range backends {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			s := tenant.New(open(b))
			b.Cleanup(s.Close)
			_, err := s.Create(ctx, "acme", "bench")
			require.NoError(b, err)
			iss, err := s.IssueToken(ctx, "acme", tenant.TokenRequest{CreatedBy: "bench"})
			require.NoError(b, err)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := s.Authenticate(ctx, "acme", iss.Plaintext); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
