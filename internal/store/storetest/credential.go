package storetest

import (
	"context"
	"errors"
	"fmt"
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

// testCredentialsVersion checks that every change of a token, an OAuth
// client or a tenant changes the credentials version in its own
// transaction, that neither a token's last use nor a SCIM write does, and
// that Lookup reports the version of the rows it read: the tenant service's
// cache of authentications is only as good as this (issue 15).
func testCredentialsVersion(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := Write(s)
	const tn = "tenant-v"
	steps := []struct {
		name    string
		change  func() error
		changes bool
	}{
		{"CreateTenant", func() error { return w.Tenants().Create(ctx, store.Tenant{ID: tn, Name: "v", Created: base}) }, true},
		{"CreateToken", func() error {
			return w.Tokens().Create(ctx, store.Token{ID: "tok", Tenant: tn, SecretHash: []byte{1}, Created: base, Expires: base.Add(time.Hour)})
		}, true},
		{"TouchToken", func() error { return s.Tokens().Touch(ctx, "tok", base.Add(time.Minute)) }, false},
		{"CreateUser", func() error { return w.Create(ctx, user(tn, "u1", map[string]any{"userName": "ada"}, 1)) }, false},
		{"SetSettings", func() error { return w.Tenants().SetSettings(ctx, tn, store.TenantSettings{RateLimit: 5}) }, true},
		{"DisableSCIM", func() error { return w.Tenants().SetSCIMDisabled(ctx, tn, true) }, true},
		{"EnableSCIM", func() error { return w.Tenants().SetSCIMDisabled(ctx, tn, false) }, true},
		{"RevokeToken", func() error { return w.Tokens().Revoke(ctx, "tok", base.Add(2*time.Minute)) }, true},
		{"CreateClient", func() error {
			return w.OAuthClients().Create(ctx, store.OAuthClient{ID: "cl", Tenant: tn, SecretHash: []byte{2}, Created: base})
		}, true},
		{"RevokeClient", func() error { return w.OAuthClients().Revoke(ctx, "cl", base.Add(time.Minute)) }, true},
		{"DeleteExpiredTokens", func() error {
			n, err := s.Tokens().DeleteExpired(ctx, base.Add(2*time.Hour))
			if err == nil && n != 1 {
				err = fmt.Errorf("deleted %d tokens, want 1", n)
			}
			return err
		}, true},
		{"RolledBackRevoke", func() error {
			require.NoError(t, w.Tokens().Create(ctx, store.Token{ID: "tok2", Tenant: tn, SecretHash: []byte{3}, Created: base}))
			before, err := s.Tokens().CredentialsVersion(ctx)
			require.NoError(t, err)
			errBoom := errors.New("boom")
			err = s.Write(ctx, func(w store.Writer) error {
				require.NoError(t, w.Tokens().Revoke(ctx, "tok2", base))
				return errBoom
			})
			require.ErrorIs(t, err, errBoom)
			after, err := s.Tokens().CredentialsVersion(ctx)
			require.NoError(t, err)
			require.Equal(t, before, after, "a rolled-back change leaves the version as it was")
			return nil
		}, true}, // the create before it changes it
		{"DeleteTenant", func() error { return w.Tenants().Delete(ctx, tn) }, true},
	}
	v, err := s.Tokens().CredentialsVersion(ctx)
	require.NoError(t, err)
	for _, step := range steps {
		require.NoError(t, step.change(), step.name)
		got, err := s.Tokens().CredentialsVersion(ctx)
		require.NoError(t, err)
		if step.changes {
			require.NotEqual(t, v, got, "%s changes the credentials version", step.name)
		} else {
			require.Equal(t, v, got, "%s leaves the credentials version alone", step.name)
		}
		v = got
		if step.name == "CreateToken" {
			c, err := s.Tokens().Lookup(ctx, "tok")
			require.NoError(t, err)
			require.Equal(t, v, c.Version, "Lookup reads the version with the rows")
		}
	}
}
