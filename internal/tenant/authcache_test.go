package tenant_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/pgtest"
	"github.com/rosterhq/roster/internal/store/postgres"
	"github.com/rosterhq/roster/internal/store/sqlite"
	"github.com/rosterhq/roster/internal/tenant"
)

// counting is a store that counts the token lookups authentication makes,
// so that a test can tell a cached authentication from a read one.
type counting struct {
	store.Store
	lookups *atomic.Int64
}

func (c counting) Tokens() store.TokenStore { return countingTokens{c.Store.Tokens(), c.lookups} }

type countingTokens struct {
	store.TokenStore
	lookups *atomic.Int64
}

func (c countingTokens) Lookup(ctx context.Context, id string) (store.Credential, error) {
	c.lookups.Add(1)
	return c.TokenStore.Lookup(ctx, id)
}

// node is one process's view of a database: its own store and service.
type node struct {
	st      store.Store
	tenants *tenant.Service
	lookups *atomic.Int64
}

// twoNodes opens two stores on one database per backend this run reaches,
// as two processes would (on SQLite: two connections pools on one file, as
// `roster serve` and the CLI; on PostgreSQL: two nodes on one schema), each
// with a tenant service of its own.
func twoNodes(t *testing.T) map[string]func(t *testing.T) (a, b node) {
	t.Helper()
	open := func(t *testing.T, st store.Store) node {
		n := node{st: st, lookups: new(atomic.Int64)}
		n.tenants = tenant.New(counting{st, n.lookups})
		t.Cleanup(n.tenants.Close)
		return n
	}
	out := map[string]func(t *testing.T) (a, b node){
		"SQLite": func(t *testing.T) (a, b node) {
			path := filepath.Join(t.TempDir(), "roster.db")
			var nodes [2]node
			for i := range nodes {
				st, err := sqlite.Open(context.Background(), path)
				require.NoError(t, err)
				t.Cleanup(func() { st.Close() })
				nodes[i] = open(t, st)
			}
			return nodes[0], nodes[1]
		},
	}
	if os.Getenv(pgtest.EnvDSN) == "" {
		t.Log(pgtest.EnvDSN + " is not set: running on SQLite only")
		return out
	}
	out["PostgreSQL"] = func(t *testing.T) (a, b node) {
		sch := pgtest.Schema(t)
		var nodes [2]node
		for i := range nodes {
			st, err := postgres.Open(context.Background(), pgtest.ServerDSN(t), postgres.WithSchema(sch), postgres.WithMaxConns(4))
			require.NoError(t, err)
			t.Cleanup(func() { st.Close() })
			nodes[i] = open(t, st)
		}
		return nodes[0], nodes[1]
	}
	return out
}

// TestCachedAuthenticationSeesOtherNodes authenticates a token on node B
// until B answers from its cache, changes the token or its tenant through
// node A, and requires B's very next authentication to see the change.
// Without the credentials version that every such change bumps, B would
// keep answering from its cache.
func TestCachedAuthenticationSeesOtherNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name string
		// oauth authenticates with an access token of an OAuth client
		// instead of a Secret Token.
		oauth  bool
		change func(t *testing.T, a *tenant.Service, tokenID, clientID string)
		// check is what B's next authentication must give.
		check func(t *testing.T, tn store.Tenant, err error)
	}{
		{"RevokeToken", false, func(t *testing.T, a *tenant.Service, tokenID, _ string) {
			require.NoError(t, a.RevokeToken(ctx, "acme", tokenID, "tester"))
		}, func(t *testing.T, _ store.Tenant, err error) { require.ErrorIs(t, err, tenant.ErrUnauthorized) }},
		{"RevokeOAuthClient", true, func(t *testing.T, a *tenant.Service, _, clientID string) {
			require.NoError(t, a.RevokeOAuthClient(ctx, "acme", clientID, "tester"))
		}, func(t *testing.T, _ store.Tenant, err error) { require.ErrorIs(t, err, tenant.ErrUnauthorized) }},
		{"DisableTenant", false, func(t *testing.T, a *tenant.Service, _, _ string) {
			_, err := a.SetSCIMEnabled(ctx, "acme", false, "tester")
			require.NoError(t, err)
		}, func(t *testing.T, _ store.Tenant, err error) { require.ErrorIs(t, err, tenant.ErrDisabled) }},
		{"DeleteTenant", false, func(t *testing.T, a *tenant.Service, _, _ string) {
			require.NoError(t, a.Delete(ctx, "acme", "acme", "tester"))
		}, func(t *testing.T, _ store.Tenant, err error) { require.ErrorIs(t, err, tenant.ErrUnauthorized) }},
		{"ChangeSettings", false, func(t *testing.T, a *tenant.Service, _, _ string) {
			_, err := a.SetRateLimit(ctx, "acme", 7, "tester")
			require.NoError(t, err)
		}, func(t *testing.T, tn store.Tenant, err error) {
			require.NoError(t, err)
			require.Equal(t, 7.0, tn.Settings.RateLimit, "the tenant comes with its new settings")
		}},
	}
	for backend, open := range twoNodes(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					a, b := open(t)
					_, err := a.tenants.Create(ctx, "acme", "tester")
					require.NoError(t, err)
					iss, err := a.tenants.IssueToken(ctx, "acme", tenant.TokenRequest{Label: "entra", CreatedBy: "tester"})
					require.NoError(t, err)
					token, tokenID, clientID := iss.Plaintext, iss.Token.ID, ""
					if tc.oauth {
						c, secret, err := a.tenants.CreateOAuthClient(ctx, "acme", "okta", "tester")
						require.NoError(t, err)
						at, err := b.tenants.ExchangeClientCredentials(ctx, "acme", c.ID, secret)
						require.NoError(t, err)
						token, clientID = at.Token, c.ID
					}

					_, p, err := b.tenants.Authenticate(ctx, "acme", token)
					require.NoError(t, err)
					if tc.oauth {
						require.Equal(t, tenant.Principal{Kind: tenant.KindOAuth, ID: clientID, Label: "okta"}, p)
					}
					before := b.lookups.Load()
					_, _, err = b.tenants.Authenticate(ctx, "acme", token)
					require.NoError(t, err)
					require.Equal(t, before, b.lookups.Load(), "B answers from its cache")

					tc.change(t, a.tenants, tokenID, clientID)
					tn, _, err := b.tenants.Authenticate(ctx, "acme", token)
					tc.check(t, tn, err)
					require.Equal(t, before+1, b.lookups.Load(), "B read the token again")
				})
			}
		})
	}
}

// TestCachedTokenExpires: a token with an expiry is refused from its
// expiry on, also when it is cached and nothing in the database changed.
func TestCachedTokenExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for backend, open := range twoNodes(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a, _ := open(t)
			_, err := a.tenants.Create(ctx, "acme", "tester")
			require.NoError(t, err)
			expires := time.Now().Add(time.Hour).Truncate(time.Second)
			iss, err := a.tenants.IssueToken(ctx, "acme", tenant.TokenRequest{CreatedBy: "tester", Expires: expires})
			require.NoError(t, err)

			var mu sync.Mutex
			now := expires.Add(-time.Minute)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			// A service of its own over the same store, with a clock
			// the test moves.
			lookups := new(atomic.Int64)
			b := tenant.New(counting{a.st, lookups}, tenant.WithClock(clock))
			t.Cleanup(b.Close)

			for _, step := range []struct {
				at time.Duration // from the expiry
				ok bool
			}{
				{-time.Minute, true},
				{-time.Nanosecond, true},
				{0, false},
				{time.Minute, false},
			} {
				mu.Lock()
				now = expires.Add(step.at)
				mu.Unlock()
				_, _, err := b.Authenticate(ctx, "acme", iss.Plaintext)
				if step.ok {
					require.NoError(t, err, "%s before the expiry", -step.at)
				} else {
					require.ErrorIs(t, err, tenant.ErrUnauthorized, "%s after the expiry", step.at)
				}
			}
			require.Equal(t, int64(1), lookups.Load(), "the token was read once and then refused from the cache")
		})
	}
}
