package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store"
)

// testTokenLookup checks that Lookup returns a token with its tenant exactly
// as Get and the tenant store do, and the state of an access token's client.
func testTokenLookup(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newTenant(t, s, "a")
	settings := store.TenantSettings{RateLimit: 25, JWT: &store.JWTSettings{Algorithm: "HS256", Secret: []byte("0123456789abcdef0123456789abcdef"), Audience: "roster"}}
	require.NoError(t, Write(s).Tenants().SetSettings(ctx, a, settings))
	require.NoError(t, Write(s).Tenants().SetSCIMDisabled(ctx, a, true))
	require.NoError(t, Write(s).OAuthClients().Create(ctx, store.OAuthClient{ID: "live", Tenant: a, SecretHash: []byte{1}, Created: base}))
	require.NoError(t, Write(s).OAuthClients().Create(ctx, store.OAuthClient{ID: "gone", Tenant: a, SecretHash: []byte{2}, Created: base}))
	require.NoError(t, Write(s).OAuthClients().Revoke(ctx, "gone", base.Add(time.Hour)))

	tokens := []struct {
		tok           store.Token
		clientRevoked bool
	}{
		{store.Token{ID: "secret", Tenant: a, SecretHash: []byte{9, 8}, Label: "entra", CreatedBy: "cli:root", Created: base,
			Expires: base.Add(48 * time.Hour)}, false},
		{store.Token{ID: "access", Tenant: a, SecretHash: []byte{7}, ClientID: "live", Created: base, Expires: base.Add(time.Hour)}, false},
		{store.Token{ID: "orphan", Tenant: a, SecretHash: []byte{6}, ClientID: "gone", Created: base, Expires: base.Add(time.Hour)}, true},
	}
	for _, tc := range tokens {
		require.NoError(t, Write(s).Tokens().Create(ctx, tc.tok))
	}
	require.NoError(t, s.Tokens().Touch(ctx, "secret", base.Add(time.Minute)))
	require.NoError(t, Write(s).Tokens().Revoke(ctx, "secret", base.Add(2*time.Minute)))
	tenant, err := s.Tenants().Get(ctx, a)
	require.NoError(t, err)

	for _, tc := range tokens {
		c, err := s.Tokens().Lookup(ctx, tc.tok.ID)
		require.NoError(t, err, tc.tok.ID)
		want, err := s.Tokens().Get(ctx, tc.tok.ID)
		require.NoError(t, err)
		requireToken(t, want, c.Token)
		requireTenant(t, tenant, c.Tenant)
		require.Equal(t, tc.clientRevoked, c.ClientRevoked, tc.tok.ID)
	}
	_, err = s.Tokens().Lookup(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
}
