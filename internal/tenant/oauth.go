package tenant

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rosterhq/roster/internal/audit"
	"github.com/rosterhq/roster/internal/credential"
	"github.com/rosterhq/roster/internal/store"
)

// AccessTokenLifetime is how long an access token from the OAuth token
// endpoint lives. Identity providers fetch a new one when it runs out.
const AccessTokenLifetime = time.Hour

// ErrInvalidClient means the OAuth client id or secret is wrong, or the
// client is revoked (RFC 6749 §5.2 invalid_client).
var ErrInvalidClient = errors.New("invalid client")

// CreateOAuthClient registers an OAuth client for the tenant and returns its
// secret, which is shown only now.
func (s *Service) CreateOAuthClient(ctx context.Context, name, label, actor string) (store.OAuthClient, string, error) {
	var (
		c      store.OAuthClient
		secret string
	)
	err := s.change(ctx, func(w store.Writer, now time.Time) error {
		t, err := tenantIn(ctx, w, name)
		if err != nil {
			return err
		}
		var id string
		id, secret = credential.NewClientCredentials()
		c = store.OAuthClient{
			ID: id, Tenant: t.ID, SecretHash: credential.Hash(secret),
			Label: label, CreatedBy: actor, Created: now,
		}
		if err := w.OAuthClients().Create(ctx, c); err != nil {
			return fmt.Errorf("create OAuth client for tenant %q: %w", name, err)
		}
		return audit.Record(ctx, w, now, audit.Action{Actor: actor, Action: "oauth_client.create", Tenant: &t, Target: id, Detail: map[string]any{"label": label}})
	})
	if err != nil {
		return store.OAuthClient{}, "", err
	}
	return c, secret, nil
}

// ListOAuthClients returns the tenant's OAuth clients, oldest first.
func (s *Service) ListOAuthClients(ctx context.Context, name string) ([]store.OAuthClient, error) {
	t, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.store.OAuthClients().List(ctx, t.ID)
}

// RevokeOAuthClient revokes a client; the access tokens it holds stop
// working on the next request.
func (s *Service) RevokeOAuthClient(ctx context.Context, name, id, actor string) error {
	return s.revoke(ctx, name, id, actor, "oauth_client", func(w store.Writer) (string, string, time.Time, error) {
		c, err := w.OAuthClients().Get(ctx, id)
		return c.Tenant, c.Label, c.Revoked, err
	}, func(w store.Writer, at time.Time) error { return w.OAuthClients().Revoke(ctx, id, at) })
}

// AccessToken is the answer of the OAuth token endpoint.
type AccessToken struct {
	Token   string
	Expires time.Time
}

// ExchangeClientCredentials implements the client credentials grant: a
// live client's id and secret buy a short-lived bearer token for SCIM
// requests. tenantName is "" on the shared token endpoint, where the client
// id names the tenant.
func (s *Service) ExchangeClientCredentials(ctx context.Context, tenantName, clientID, secret string) (AccessToken, error) {
	if !store.WellFormed(clientID) || !store.WellFormed(tenantName) {
		// No client or tenant has such a name, and PostgreSQL would fail
		// the lookup instead of finding nothing.
		return AccessToken{}, fmt.Errorf("%w: malformed client id or tenant name", ErrInvalidClient)
	}
	c, err := s.store.OAuthClients().Get(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return AccessToken{}, fmt.Errorf("%w: unknown client %s", ErrInvalidClient, clientID)
	}
	if err != nil {
		return AccessToken{}, err
	}
	if !credential.HashEqual(c.SecretHash, credential.Hash(secret)) || !c.Revoked.IsZero() {
		return AccessToken{}, fmt.Errorf("%w: wrong secret or revoked client %s", ErrInvalidClient, clientID)
	}
	t, err := s.tenantOf(ctx, tenantName, c.Tenant)
	if err != nil {
		return AccessToken{}, fmt.Errorf("%w: %w", ErrInvalidClient, err)
	}
	now := s.now().UTC()
	id, plaintext := credential.NewAccessToken()
	tok := store.Token{
		ID: id, Tenant: t.ID, SecretHash: credential.Hash(plaintext), Label: c.Label,
		CreatedBy: "oauth:" + c.ID, ClientID: c.ID, Created: now, Expires: now.Add(AccessTokenLifetime),
	}
	// An access token is a sign-in, not a change of the tenant's
	// configuration: it is not audited (an identity provider fetches one an
	// hour), and it expires by itself.
	if err := s.store.Write(ctx, func(w store.Writer) error { return w.Tokens().Create(ctx, tok) }); err != nil {
		return AccessToken{}, fmt.Errorf("issue access token to client %s: %w", clientID, err)
	}
	return AccessToken{Token: plaintext, Expires: tok.Expires}, nil
}

// PurgeExpired removes access tokens and Secret Tokens that expired more
// than a day ago, so the token table does not grow with every OAuth cycle.
func (s *Service) PurgeExpired(ctx context.Context) (int, error) {
	return s.store.Tokens().DeleteExpired(ctx, s.now().Add(-24*time.Hour))
}
