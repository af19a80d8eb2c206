package tenant

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/rosterhq/roster/internal/credential"
	"github.com/rosterhq/roster/internal/store"
)

// Kinds of Principal.
const (
	KindToken  = "token"  // a Secret Token
	KindOAuth  = "oauth"  // an access token issued to an OAuth client
	KindJWT    = "jwt"    // a JWT Roster or the app signed
	KindIdPJWT = "idp"    // a JWT the tenant's identity provider issued
	KindAdmin  = "admin"  // an admin through the admin API
	KindSystem = "system" // Roster itself
)

// Principal is who a request authenticated as.
type Principal struct {
	Kind  string
	ID    string // token id, OAuth client id, or the JWT's subject
	Label string // the token's or client's label
}

// unauthorized wraps ErrUnauthorized with the reason, for the log only.
func unauthorized(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnauthorized, fmt.Sprintf(format, args...))
}

// Authenticate resolves the tenant of a SCIM request and checks its bearer
// credential. tenantName is the tenant in a per-tenant Tenant URL, or "" on
// the shared URL, where the credential alone names the tenant.
//
// A Secret Token or OAuth access token found valid is cached under its
// SHA-256, and used again only while the database's credentials version is
// the one it was read at; every change of a token, an OAuth client or a
// tenant changes that version in its own transaction, so revocation and
// the SCIM switch still take effect on the next request on every node.
// Expiry is checked against the clock on every request. JWTs are verified
// on every request against the tenant read for it.
func (s *Service) Authenticate(ctx context.Context, tenantName, bearer string) (store.Tenant, Principal, error) {
	if bearer == "" {
		return store.Tenant{}, Principal{}, unauthorized("no bearer token")
	}
	// Roster issues no such credential and allows no such name, and
	// PostgreSQL would fail the lookup instead of finding nothing.
	if !store.WellFormed(bearer) || !store.WellFormed(tenantName) {
		return store.Tenant{}, Principal{}, unauthorized("malformed bearer token or tenant name")
	}
	var (
		t   store.Tenant
		p   Principal
		err error
	)
	if credential.LooksLikeJWT(bearer) {
		t, p, err = s.authenticateJWT(ctx, tenantName, bearer)
	} else {
		t, p, err = s.authenticateToken(ctx, tenantName, bearer)
	}
	if err != nil {
		return t, p, err
	}
	if t.SCIMDisabled {
		return t, p, ErrDisabled
	}
	return t, p, nil
}

// authenticateToken checks a Secret Token or OAuth access token. A token
// found valid before is taken from the cache when the credentials version
// has not changed since (one primary-key read); otherwise, and for a token
// not seen before, the token, its tenant and its client are read (one
// statement, which also reads the version they are cached under).
func (s *Service) authenticateToken(ctx context.Context, tenantName, bearer string) (store.Tenant, Principal, error) {
	key := authKey(sha256.Sum256([]byte(bearer)))
	if e, ok := s.auths.get(key); ok {
		v, err := s.store.Tokens().CredentialsVersion(ctx)
		if err != nil {
			return store.Tenant{}, Principal{}, err
		}
		if v == e.version {
			return s.admit(e, tenantName)
		}
	}
	id := credential.TokenID(bearer)
	c, err := s.store.Tokens().Lookup(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		s.auths.drop(key)
		return store.Tenant{}, Principal{}, unauthorized("unknown token %s", id)
	}
	if err != nil {
		return store.Tenant{}, Principal{}, err
	}
	tok := c.Token
	switch {
	case !credential.HashEqual(tok.SecretHash, key[:]):
		return store.Tenant{}, Principal{}, unauthorized("wrong secret for token %s", id)
	case !tok.Revoked.IsZero():
		s.auths.drop(key)
		return store.Tenant{}, Principal{}, unauthorized("token %s was revoked", id)
	case c.ClientRevoked:
		s.auths.drop(key)
		return store.Tenant{}, Principal{}, unauthorized("OAuth client %s of token %s is revoked", tok.ClientID, id)
	}
	e := authEntry{version: c.Version, tenant: c.Tenant, tokenID: tok.ID, expires: tok.Expires,
		principal: Principal{Kind: KindToken, ID: tok.ID, Label: tok.Label}}
	if tok.ClientID != "" {
		e.principal = Principal{Kind: KindOAuth, ID: tok.ClientID, Label: tok.Label}
	}
	s.auths.put(key, e)
	return s.admit(e, tenantName)
}

// admit finishes the check of a valid token with what depends on the
// request, so that it runs on cached tokens too: the token's expiry against
// the clock, and its tenant against the tenant of the URL.
func (s *Service) admit(e authEntry, tenantName string) (store.Tenant, Principal, error) {
	now := s.now()
	switch {
	case !e.expires.IsZero() && !now.Before(e.expires):
		return store.Tenant{}, Principal{}, unauthorized("token %s expired", e.tokenID)
	case tenantName != "" && tenantName != e.tenant.Name:
		return store.Tenant{}, Principal{}, unauthorized("token of tenant %q presented to %q", e.tenant.Name, tenantName)
	}
	s.touch(e.tokenID, now)
	return e.tenant, e.principal, nil
}

// tenantOf returns the tenant a credential belongs to, checking it against
// the tenant of a per-tenant URL.
func (s *Service) tenantOf(ctx context.Context, tenantName, tenantID string) (store.Tenant, error) {
	if tenantName == "" {
		t, err := s.store.Tenants().Get(ctx, tenantID)
		if errors.Is(err, store.ErrNotFound) {
			return t, unauthorized("the credential's tenant no longer exists")
		}
		return t, err
	}
	t, err := s.store.Tenants().GetByName(ctx, tenantName)
	if errors.Is(err, store.ErrNotFound) {
		return t, unauthorized("no tenant %q", tenantName)
	}
	if err != nil {
		return t, err
	}
	if t.ID != tenantID {
		return store.Tenant{}, unauthorized("credential of another tenant presented to %q", tenantName)
	}
	return t, nil
}

func (s *Service) authenticateJWT(ctx context.Context, tenantName, raw string) (store.Tenant, Principal, error) {
	peek, err := credential.PeekClaims(raw)
	if err != nil {
		return store.Tenant{}, Principal{}, unauthorized("malformed JWT: %v", err)
	}
	t, err := s.jwtTenant(ctx, tenantName, peek)
	if err != nil {
		return t, Principal{}, err
	}
	now := s.now()
	var reasons []error
	if cfg := t.Settings.JWT; cfg != nil {
		c, err := s.verifier.VerifyJWT(ctx, raw, *cfg, now)
		if err == nil && (c.Tenant == "" || c.Tenant == t.Name) {
			return t, Principal{Kind: KindJWT, ID: c.Subject}, nil
		}
		if err == nil {
			err = fmt.Errorf("JWT names tenant %q", c.Tenant)
		}
		reasons = append(reasons, err)
	}
	if cfg := t.Settings.IdP; cfg != nil {
		c, err := s.verifier.VerifyIdP(ctx, raw, *cfg, now)
		if err == nil {
			return t, Principal{Kind: KindIdPJWT, ID: c.Subject, Label: c.Issuer}, nil
		}
		if errors.Is(err, credential.ErrKeysUnavailable) {
			// Not the client's fault: say "retry later", not "go away".
			return t, Principal{}, fmt.Errorf("%w: %w", ErrIdPUnavailable, err)
		}
		reasons = append(reasons, err)
	}
	if len(reasons) == 0 {
		return t, Principal{}, unauthorized("tenant %q does not accept JWTs", t.Name)
	}
	return t, Principal{}, unauthorized("JWT rejected: %v", errors.Join(reasons...))
}

// jwtTenant finds the tenant whose keys must verify a JWT: the tenant of a
// per-tenant URL; on the shared URL the one its tenant claim names, or else
// the one that trusts its issuer. The claims are not yet verified, so they
// only choose which keys to verify with.
func (s *Service) jwtTenant(ctx context.Context, tenantName string, peek credential.Claims) (store.Tenant, error) {
	name := tenantName
	if name == "" {
		name = peek.Tenant
	}
	if name != "" {
		t, err := s.store.Tenants().GetByName(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return t, unauthorized("no tenant %q", name)
		}
		return t, err
	}
	if peek.Issuer == "" {
		return store.Tenant{}, unauthorized("JWT on the shared URL names neither a tenant nor an issuer")
	}
	all, err := s.store.Tenants().List(ctx)
	if err != nil {
		return store.Tenant{}, err
	}
	for _, t := range all {
		if t.Settings.IdP != nil && t.Settings.IdP.Issuer == peek.Issuer {
			return t, nil
		}
	}
	return store.Tenant{}, unauthorized("no tenant trusts issuer %q", peek.Issuer)
}

// touch records a token's last use at most once a minute, off the request
// path, so authentication never waits on a write.
func (s *Service) touch(id string, now time.Time) {
	s.mu.Lock()
	last, seen := s.touched[id]
	if seen && now.Sub(last) < time.Minute {
		s.mu.Unlock()
		return
	}
	if len(s.touched) > 100_000 {
		clear(s.touched) // bounded: at worst a few extra writes
	}
	s.touched[id] = now
	s.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.store.Tokens().Touch(ctx, id, now.UTC())
	}()
}
