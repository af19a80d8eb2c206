package tenant

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rosterhq/roster/internal/audit"
	"github.com/rosterhq/roster/internal/store"
)

// The views below are the JSON shapes of tenants and credentials that the
// admin API returns and `roster … -o json` prints, so that scripts see one
// format whichever they use. Secrets appear only where a view says so.

// URLs are where a server is publicly reached.
type URLs struct {
	Base   string // such as "https://roster.example.com", no trailing slash
	Prefix string // the SCIM path prefix, such as "/scim/v2"
}

// SCIM is the shared Tenant URL: the SCIM root without a tenant.
func (u URLs) SCIM() string { return u.Base + u.Prefix }

// TenantURL is a tenant's own Tenant URL.
func (u URLs) TenantURL(name string) string { return u.SCIM() + "/" + name }

// TokenEndpoint is the OAuth token endpoint of a tenant.
func (u URLs) TokenEndpoint(name string) string { return u.Base + "/oauth/" + name + "/token" }

// TenantView describes a tenant.
type TenantView struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	TenantURL   string    `json:"tenant_url"`
	SCIMEnabled bool      `json:"scim_enabled"`
	Created     time.Time `json:"created"`
	RateLimit   float64   `json:"rate_limit,omitempty"`
	// HistoryActor is the actor the revision history shows for SCIM changes.
	HistoryActor string `json:"history_actor"`
	// StorePasswords says what is kept of the User passwords SCIM clients
	// send: "hash" or "none".
	StorePasswords string   `json:"store_passwords"`
	JWT            *JWTView `json:"jwt,omitempty"`
	IdP            *IdPView `json:"idp,omitempty"`
}

// JWTView describes a tenant's JWT settings; Secret only when revealed.
type JWTView struct {
	Algorithm    string `json:"alg"`
	Issuer       string `json:"iss,omitempty"`
	Audience     string `json:"aud"`
	PublicKeyPEM string `json:"public_key_pem,omitempty"`
	Secret       string `json:"secret,omitempty"` // base64url, HS256 only
}

// IdPView describes a tenant's trust in its identity provider.
type IdPView struct {
	Issuer       string `json:"iss"`
	Audience     string `json:"aud"`
	JWKSURL      string `json:"jwks_url,omitempty"`
	PublicKeyPEM string `json:"public_key_pem,omitempty"`
}

// ViewTenant returns the view of t. The HS256 secret is left out.
func ViewTenant(t store.Tenant, u URLs) TenantView {
	v := TenantView{
		ID: t.ID, Name: t.Name, TenantURL: u.TenantURL(t.Name),
		SCIMEnabled: !t.SCIMDisabled, Created: t.Created, RateLimit: t.Settings.RateLimit,
		HistoryActor:   cmp.Or(t.Settings.HistoryActor, store.DefaultHistoryActor),
		StorePasswords: cmp.Or(t.Settings.StorePasswords, store.StorePasswordsHash),
	}
	if j := t.Settings.JWT; j != nil {
		v.JWT = &JWTView{Algorithm: j.Algorithm, Issuer: j.Issuer, Audience: j.Audience, PublicKeyPEM: j.PublicKeyPEM}
	}
	if i := t.Settings.IdP; i != nil {
		v.IdP = &IdPView{Issuer: i.Issuer, Audience: i.Audience, JWKSURL: i.JWKSURL, PublicKeyPEM: i.PublicKeyPEM}
	}
	return v
}

// TokenView describes a Secret Token; Token holds the plaintext only in
// the answer to issuing it.
type TokenView struct {
	ID        string     `json:"id"`
	Tenant    string     `json:"tenant"`
	TenantURL string     `json:"tenant_url"`
	Token     string     `json:"token,omitempty"`
	Label     string     `json:"label"`
	CreatedBy string     `json:"created_by"`
	Created   time.Time  `json:"created"`
	LastUsed  *time.Time `json:"last_used,omitempty"`
	Expires   *time.Time `json:"expires,omitempty"`
	Revoked   *time.Time `json:"revoked,omitempty"`
}

// ViewToken returns the view of a token of tenant t.
func ViewToken(t store.Tenant, tok store.Token, u URLs, plaintext string) TokenView {
	return TokenView{
		ID: tok.ID, Tenant: t.Name, TenantURL: u.TenantURL(t.Name), Token: plaintext,
		Label: tok.Label, CreatedBy: tok.CreatedBy, Created: tok.Created,
		LastUsed: optTime(tok.LastUsed), Expires: optTime(tok.Expires), Revoked: optTime(tok.Revoked),
	}
}

// OAuthClientView describes an OAuth client; Secret only when created.
type OAuthClientView struct {
	ClientID      string     `json:"client_id"`
	ClientSecret  string     `json:"client_secret,omitempty"`
	Tenant        string     `json:"tenant"`
	TokenEndpoint string     `json:"token_endpoint"`
	Label         string     `json:"label"`
	CreatedBy     string     `json:"created_by"`
	Created       time.Time  `json:"created"`
	Revoked       *time.Time `json:"revoked,omitempty"`
}

// ViewOAuthClient returns the view of an OAuth client of tenant t.
func ViewOAuthClient(t store.Tenant, c store.OAuthClient, u URLs, secret string) OAuthClientView {
	return OAuthClientView{
		ClientID: c.ID, ClientSecret: secret, Tenant: t.Name, TokenEndpoint: u.TokenEndpoint(t.Name),
		Label: c.Label, CreatedBy: c.CreatedBy, Created: c.Created, Revoked: optTime(c.Revoked),
	}
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Settings keys under which `roster serve` records where it is reached, so
// that the CLI prints the Tenant URLs people must paste.
const (
	settingBaseURL = "public_base_url"
	settingPrefix  = "scim_prefix"
)

// RecordURLs records where the server is reached. A change is audited as
// "server.urls", in the transaction that makes it; starting again at the
// same URLs changes nothing.
func (s *Service) RecordURLs(ctx context.Context, u URLs, actor string) error {
	return s.change(ctx, func(w store.Writer, now time.Time) error {
		changed := map[string]any{}
		for key, v := range map[string]string{settingBaseURL: u.Base, settingPrefix: u.Prefix} {
			old, err := w.Settings().Get(ctx, key)
			if err == nil && old == v {
				continue
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("read setting %s: %w", key, err)
			}
			if err := w.Settings().Set(ctx, key, v); err != nil {
				return fmt.Errorf("record setting %s: %w", key, err)
			}
			changed[key] = v
		}
		if len(changed) == 0 {
			return nil
		}
		return audit.Record(ctx, w, now, audit.Action{Actor: actor, Action: "server.urls", Detail: changed})
	})
}

// RecordedURLs returns where the last `roster serve` said it is reached,
// or def where it said nothing.
func (s *Service) RecordedURLs(ctx context.Context, def URLs) (URLs, error) {
	u := def
	for key, dst := range map[string]*string{settingBaseURL: &u.Base, settingPrefix: &u.Prefix} {
		v, err := s.store.Settings().Get(ctx, key)
		switch {
		case err == nil:
			*dst = v
		case !errors.Is(err, store.ErrNotFound):
			return u, fmt.Errorf("read setting %s: %w", key, err)
		}
	}
	return u, nil
}
