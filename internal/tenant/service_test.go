package tenant_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/backendtest"
	"github.com/rosterhq/roster/internal/tenant"
)

// TestBootstrapIsAtomic: a first start whose bootstrap token is refused
// leaves no tenant behind, so the next start with a valid token creates the
// tenant with that token (issue 12, item 17).
func TestBootstrapIsAtomic(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		tenants := tenant.New(st)
		t.Cleanup(tenants.Close)

		_, _, err := tenants.Bootstrap(ctx, "default", "too-short")
		require.ErrorIs(t, err, tenant.ErrInvalid)
		_, err = st.Tenants().GetByName(ctx, "default")
		require.ErrorIs(t, err, store.ErrNotFound, "a failed first start leaves nothing behind")

		token := strings.Repeat("b", 40)
		tn, issued, err := tenants.Bootstrap(ctx, "default", token)
		require.NoError(t, err)
		require.NotNil(t, issued, "the next start issues the token")
		require.Equal(t, token, issued.Plaintext)
		got, _, err := tenants.Authenticate(ctx, "default", token)
		require.NoError(t, err)
		require.Equal(t, tn.ID, got.ID)

		_, again, err := tenants.Bootstrap(ctx, "default", token)
		require.NoError(t, err)
		require.Nil(t, again, "later starts issue nothing")
	})
}

// TestIssuerTrustedByOneTenant: of concurrent configurations of one
// identity provider issuer for different tenants, exactly one succeeds
// (issue 12, item 20); the others get store.ErrConflict.
func TestIssuerTrustedByOneTenant(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		tenants := tenant.New(st)
		t.Cleanup(tenants.Close)
		const n = 6
		names := make([]string, n)
		for i := range names {
			names[i] = "t" + string(rune('a'+i))
			_, err := tenants.Create(ctx, names[i], "tester")
			require.NoError(t, err)
		}
		cfg := store.IdPSettings{Issuer: "https://idp.example.com/", Audience: "roster", JWKSURL: "https://idp.example.com/keys"}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, name := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = tenants.ConfigureIdP(ctx, name, cfg, "tester")
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
				continue
			}
			require.ErrorIs(t, err, store.ErrConflict)
		}
		require.Equal(t, 1, ok, "exactly one tenant trusts the issuer")
	})
}
