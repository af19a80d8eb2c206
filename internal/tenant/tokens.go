package tenant

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rosterhq/roster/internal/credential"
	"github.com/rosterhq/roster/internal/store"
)

// TokenRequest describes a Secret Token to issue.
type TokenRequest struct {
	Label     string
	CreatedBy string    // the actor, recorded with the token and in the audit log
	Expires   time.Time // zero: never
	// Plaintext, when set, becomes the token instead of a random one (for
	// automation such as ROSTER_BOOTSTRAP_TOKEN). It must be long enough to
	// be a secret.
	Plaintext string
}

// Issued is a newly issued token: the plaintext is shown once and never stored.
type Issued struct {
	Token     store.Token
	Plaintext string
}

// IssueToken issues a Secret Token for the tenant named name. Several live
// tokens may exist at once, so a token can be rotated without downtime.
func (s *Service) IssueToken(ctx context.Context, name string, req TokenRequest) (Issued, error) {
	t, err := s.Get(ctx, name)
	if err != nil {
		return Issued{}, err
	}
	return s.issueToken(ctx, t, req)
}

func (s *Service) issueToken(ctx context.Context, t store.Tenant, req TokenRequest) (Issued, error) {
	now := s.now().UTC()
	if !req.Expires.IsZero() && !req.Expires.After(now) {
		return Issued{}, fmt.Errorf("%w: a token's expiry must be in the future", ErrInvalid)
	}
	var id, plaintext string
	if req.Plaintext == "" {
		id, plaintext = credential.NewSecretToken()
	} else {
		if len(req.Plaintext) < 32 {
			return Issued{}, fmt.Errorf("%w: a chosen token must be at least 32 characters long", ErrInvalid)
		}
		id, plaintext = credential.TokenID(req.Plaintext), req.Plaintext
	}
	tok := store.Token{
		ID: id, Tenant: t.ID, SecretHash: credential.Hash(plaintext),
		Label: req.Label, CreatedBy: req.CreatedBy, Created: now, Expires: req.Expires.UTC(),
	}
	if err := s.store.Tokens().Create(ctx, tok); err != nil {
		return Issued{}, fmt.Errorf("issue token for tenant %q: %w", t.Name, err)
	}
	detail := map[string]any{"label": req.Label}
	if !req.Expires.IsZero() {
		detail["expires"] = tok.Expires
	}
	return Issued{Token: tok, Plaintext: plaintext}, s.audit(ctx, req.CreatedBy, "token.issue", t.Name, id, detail)
}

// ListTokens returns a tenant's Secret Tokens (not the short-lived access
// tokens of its OAuth clients), oldest first.
func (s *Service) ListTokens(ctx context.Context, name string) ([]store.Token, error) {
	t, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	all, err := s.store.Tokens().List(ctx, t.ID)
	if err != nil {
		return nil, fmt.Errorf("list tokens of tenant %q: %w", name, err)
	}
	var out []store.Token
	for _, tok := range all {
		if tok.ClientID == "" {
			out = append(out, tok)
		}
	}
	return out, nil
}

// RevokeToken revokes a tenant's token; the next request that presents it,
// on any node, is refused.
func (s *Service) RevokeToken(ctx context.Context, name, id, actor string) error {
	return s.revoke(ctx, name, id, actor, "token", func() (string, string, time.Time, error) {
		tok, err := s.store.Tokens().Get(ctx, id)
		return tok.Tenant, tok.Label, tok.Revoked, err
	}, s.store.Tokens().Revoke)
}

// revoke revokes a tenant's credential of the given kind, once, and records
// it: get reads the credential's tenant, label and revocation time.
func (s *Service) revoke(ctx context.Context, name, id, actor, kind string,
	get func() (tenantID, label string, revoked time.Time, err error),
	revoke func(ctx context.Context, id string, at time.Time) error,
) error {
	t, err := s.Get(ctx, name)
	if err != nil {
		return err
	}
	owner, label, revoked, err := get()
	if err != nil || owner != t.ID {
		return fmt.Errorf("%s %s of tenant %q: %w", kind, id, name, store.ErrNotFound)
	}
	if !revoked.IsZero() {
		return nil
	}
	if err := revoke(ctx, id, s.now().UTC()); err != nil {
		return fmt.Errorf("revoke %s %s: %w", kind, id, err)
	}
	return s.audit(ctx, actor, kind+".revoke", name, id, map[string]any{"label": label})
}

// Bootstrap makes sure a tenant named name exists. When it creates it, it also
// issues its first token (plaintext, or a random one when empty) and returns
// it; on later starts it returns no token.
func (s *Service) Bootstrap(ctx context.Context, name, plaintext string) (t store.Tenant, issued *Issued, err error) {
	t, err = s.store.Tenants().GetByName(ctx, name)
	if err == nil {
		return t, nil, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return t, nil, fmt.Errorf("look up tenant %q: %w", name, err)
	}
	if t, err = s.Create(ctx, name, "system"); err != nil {
		if errors.Is(err, store.ErrConflict) {
			// Another node starting at the same time created it.
			t, err = s.store.Tenants().GetByName(ctx, name)
			return t, nil, err
		}
		return t, nil, err
	}
	iss, err := s.issueToken(ctx, t, TokenRequest{Label: "bootstrap", CreatedBy: "system", Plaintext: plaintext})
	if err != nil {
		return t, nil, err
	}
	return t, &iss, nil
}

// ConfigureJWT lets the tenant authenticate with JWTs. For HS256 without a
// secret, Roster generates one; the returned tenant's settings hold it, to
// be shown once to a super admin.
func (s *Service) ConfigureJWT(ctx context.Context, name string, cfg store.JWTSettings, actor string) (store.Tenant, error) {
	if cfg.Algorithm == "HS256" && len(cfg.Secret) == 0 {
		cfg.Secret = credential.NewHS256Secret()
	}
	if err := credential.ValidateJWTSettings(cfg); err != nil {
		return store.Tenant{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	detail := map[string]any{"alg": cfg.Algorithm, "iss": cfg.Issuer, "aud": cfg.Audience}
	return s.updateSettings(ctx, name, actor, "tenant.jwt.configure", detail,
		func(st *store.TenantSettings) error { st.JWT = &cfg; return nil })
}

// DisableJWT stops the tenant accepting JWTs that Roster or the app signs.
func (s *Service) DisableJWT(ctx context.Context, name, actor string) (store.Tenant, error) {
	return s.updateSettings(ctx, name, actor, "tenant.jwt.disable", nil,
		func(st *store.TenantSettings) error { st.JWT = nil; return nil })
}

// ConfigureIdP makes the tenant trust JWTs its identity provider issues.
func (s *Service) ConfigureIdP(ctx context.Context, name string, cfg store.IdPSettings, actor string) (store.Tenant, error) {
	if err := credential.ValidateIdPSettings(cfg); err != nil {
		return store.Tenant{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	// The shared Tenant URL finds an identity provider's tenant by issuer,
	// so one issuer may be trusted by one tenant only.
	all, err := s.store.Tenants().List(ctx)
	if err != nil {
		return store.Tenant{}, err
	}
	for _, t := range all {
		if t.Name != name && t.Settings.IdP != nil && t.Settings.IdP.Issuer == cfg.Issuer {
			return store.Tenant{}, fmt.Errorf("issuer %q is already trusted by tenant %q: %w", cfg.Issuer, t.Name, store.ErrConflict)
		}
	}
	detail := map[string]any{"iss": cfg.Issuer, "aud": cfg.Audience, "jwks_url": cfg.JWKSURL}
	return s.updateSettings(ctx, name, actor, "tenant.idp.configure", detail,
		func(st *store.TenantSettings) error { st.IdP = &cfg; return nil })
}

// DisableIdP stops the tenant trusting its identity provider's JWTs.
func (s *Service) DisableIdP(ctx context.Context, name, actor string) (store.Tenant, error) {
	return s.updateSettings(ctx, name, actor, "tenant.idp.disable", nil,
		func(st *store.TenantSettings) error { st.IdP = nil; return nil })
}

// DefaultJWTLifetime is how long a JWT minted without a lifetime is valid.
const DefaultJWTLifetime = 365 * 24 * time.Hour

// MintJWT signs a JWT for an HS256 tenant, naming the tenant in its claims
// so that it also works on the shared Tenant URL.
func (s *Service) MintJWT(ctx context.Context, name string, ttl time.Duration, actor string) (string, time.Time, error) {
	t, err := s.Get(ctx, name)
	if err != nil {
		return "", time.Time{}, err
	}
	cfg := t.Settings.JWT
	if cfg == nil || cfg.Algorithm != "HS256" {
		return "", time.Time{}, fmt.Errorf("%w: tenant %q is not set up for HS256 JWTs; configure it first", ErrInvalid, name)
	}
	if ttl <= 0 {
		ttl = DefaultJWTLifetime
	}
	now := s.now().UTC()
	tok, err := credential.MintHS256(cfg.Secret, credential.MintOptions{
		Tenant: t.Name, Issuer: cfg.Issuer, Audience: cfg.Audience, Subject: actor, TTL: ttl, Now: now,
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("mint JWT for tenant %q: %w", name, err)
	}
	exp := now.Add(ttl)
	return tok, exp, s.audit(ctx, actor, "jwt.mint", name, "", map[string]any{"expires": exp})
}
