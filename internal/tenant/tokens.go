package tenant

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/internal/audit"
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
	var iss Issued
	err := s.change(ctx, func(w store.Writer, now time.Time) error {
		t, err := tenantIn(ctx, w, name)
		if err != nil {
			return err
		}
		iss, err = issueToken(ctx, w, t, req, now)
		return err
	})
	return iss, err
}

// issueToken issues a token of tenant t and records it, inside w.
func issueToken(ctx context.Context, w store.Writer, t store.Tenant, req TokenRequest, now time.Time) (Issued, error) {
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
	if err := w.Tokens().Create(ctx, tok); err != nil {
		return Issued{}, fmt.Errorf("issue token for tenant %q: %w", t.Name, err)
	}
	detail := map[string]any{"label": req.Label}
	if !req.Expires.IsZero() {
		detail["expires"] = tok.Expires
	}
	err := audit.Record(ctx, w, now, audit.Action{Actor: req.CreatedBy, Action: "token.issue", Tenant: &t, Target: id, Detail: detail})
	if err != nil {
		return Issued{}, err
	}
	return Issued{Token: tok, Plaintext: plaintext}, nil
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
	return s.revoke(ctx, name, id, actor, "token", func(w store.Writer) (string, string, time.Time, error) {
		tok, err := w.Tokens().Get(ctx, id)
		return tok.Tenant, tok.Label, tok.Revoked, err
	}, func(w store.Writer, at time.Time) error { return w.Tokens().Revoke(ctx, id, at) })
}

// revoke revokes a tenant's credential of the given kind, once, and records
// it, in one transaction: get reads the credential's tenant, label and
// revocation time, revoke revokes it.
func (s *Service) revoke(ctx context.Context, name, id, actor, kind string,
	get func(w store.Writer) (tenantID, label string, revoked time.Time, err error),
	revoke func(w store.Writer, at time.Time) error,
) error {
	return s.change(ctx, func(w store.Writer, now time.Time) error {
		t, err := tenantIn(ctx, w, name)
		if err != nil {
			return err
		}
		owner, label, revoked, err := get(w)
		if err != nil || owner != t.ID {
			return fmt.Errorf("%s %s of tenant %q: %w", kind, id, name, store.ErrNotFound)
		}
		if !revoked.IsZero() {
			return nil
		}
		if err := revoke(w, now); err != nil {
			return fmt.Errorf("revoke %s %s: %w", kind, id, err)
		}
		return audit.Record(ctx, w, now, audit.Action{Actor: actor, Action: kind + ".revoke", Tenant: &t, Target: id, Detail: map[string]any{"label": label}})
	})
}

// Bootstrap makes sure a tenant named name exists. When it creates it, it
// also issues its first token (plaintext, or a random one when empty), in
// the same transaction, and returns it; on later starts it returns no token.
func (s *Service) Bootstrap(ctx context.Context, name, plaintext string) (t store.Tenant, issued *Issued, err error) {
	t, err = s.store.Tenants().GetByName(ctx, name)
	if err == nil {
		return t, nil, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return t, nil, fmt.Errorf("look up tenant %q: %w", name, err)
	}
	if err := ValidName(name); err != nil {
		return t, nil, err
	}
	err = s.change(ctx, func(w store.Writer, now time.Time) error {
		t = store.Tenant{ID: uuid.NewString(), Name: name, Created: now}
		if err := createTenant(ctx, w, t, "system"); err != nil {
			return err
		}
		iss, err := issueToken(ctx, w, t, TokenRequest{Label: "bootstrap", CreatedBy: "system", Plaintext: plaintext}, now)
		issued = &iss
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		// Another node starting at the same time created it.
		t, err = s.store.Tenants().GetByName(ctx, name)
		return t, nil, err
	}
	if err != nil {
		return store.Tenant{}, nil, fmt.Errorf("create tenant %q: %w", name, err)
	}
	return t, issued, nil
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

// RevealJWTSecret returns the tenant's HS256 secret, recording that actor
// saw it: a revealed secret may have to be rotated.
func (s *Service) RevealJWTSecret(ctx context.Context, name, actor string) ([]byte, error) {
	var secret []byte
	err := s.change(ctx, func(w store.Writer, now time.Time) error {
		t, err := tenantIn(ctx, w, name)
		if err != nil {
			return err
		}
		if t.Settings.JWT == nil || len(t.Settings.JWT.Secret) == 0 {
			return fmt.Errorf("tenant %q has no HS256 secret: %w", name, store.ErrNotFound)
		}
		secret = t.Settings.JWT.Secret
		return audit.Record(ctx, w, now, audit.Action{Actor: actor, Action: "tenant.jwt.reveal", Tenant: &t})
	})
	return secret, err
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
	detail := map[string]any{"iss": cfg.Issuer, "aud": cfg.Audience, "jwks_url": cfg.JWKSURL}
	// The shared Tenant URL finds an identity provider's tenant by issuer,
	// so one issuer may be trusted by one tenant only. A unique index on
	// the issuer enforces it in the database, also between concurrent
	// changes (SQLite 0014, PostgreSQL 0011); the only conflict setting a
	// tenant's settings can meet is that one.
	t, err := s.updateSettings(ctx, name, actor, "tenant.idp.configure", detail,
		func(st *store.TenantSettings) error { st.IdP = &cfg; return nil })
	if errors.Is(err, store.ErrConflict) {
		return store.Tenant{}, fmt.Errorf("issuer %q is already trusted by another tenant: %w", cfg.Issuer, store.ErrConflict)
	}
	return t, err
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
	err = s.change(ctx, func(w store.Writer, now time.Time) error {
		return audit.Record(ctx, w, now, audit.Action{Actor: actor, Action: "jwt.mint", Tenant: &t, Detail: map[string]any{"expires": exp}})
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return tok, exp, nil
}
