// Package tenant manages tenants and their credentials — Secret Tokens,
// JWT settings, trust in the customer's identity provider and OAuth clients —
// and resolves the tenant of every SCIM request from its credential.
//
// Every change to a tenant or its credentials is written to the audit log
// with the actor that made it. Tokens found valid are cached by their
// SHA-256 only while the database's credentials version stays the same
// (see authCache): a token revoked by any process (another node, the CLI)
// is refused on the next request.
package tenant

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/internal/audit"
	"github.com/rosterhq/roster/internal/credential"
	"github.com/rosterhq/roster/internal/store"
)

// ErrUnauthorized means the credential is missing, unknown, revoked, expired
// or belongs to another tenant. Errors wrapping it carry the reason for the
// log; clients must never be told which.
var ErrUnauthorized = errors.New("invalid credentials")

// ErrDisabled means the tenant's SCIM endpoint is switched off.
var ErrDisabled = errors.New("provisioning is disabled for this tenant")

// ErrIdPUnavailable means the signing keys of the tenant's identity provider
// cannot be fetched, so its JWT can be neither accepted nor refused.
var ErrIdPUnavailable = errors.New("the identity provider's signing keys are unavailable")

// ErrInvalid wraps errors in what a caller asked for: a bad name, a missing
// confirmation, an unusable key.
var ErrInvalid = errors.New("invalid request")

var slug = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// endpoints are the SCIM endpoint names that may follow the SCIM prefix on
// the shared Tenant URL; no tenant may be named like one.
var endpoints = map[string]bool{
	"users": true, "groups": true, "schemas": true, "resourcetypes": true,
	"serviceproviderconfig": true, "bulk": true, ".search": true, "me": true,
}

// IsEndpoint reports whether a path segment after the SCIM prefix names a
// SCIM endpoint rather than a tenant, which is how a request to the shared
// Tenant URL is told apart from one to a per-tenant URL.
func IsEndpoint(segment string) bool { return endpoints[strings.ToLower(segment)] }

// ValidName reports whether name can be a tenant name: a lower-case URL-safe
// slug that is not a SCIM endpoint name.
func ValidName(name string) error {
	if !slug.MatchString(name) {
		return fmt.Errorf("%w: tenant name %q must be 1-63 lower-case letters, digits or inner hyphens", ErrInvalid, name)
	}
	if endpoints[name] {
		return fmt.Errorf("%w: tenant name %q is reserved for a SCIM endpoint", ErrInvalid, name)
	}
	return nil
}

// Service manages tenants and authenticates their requests.
type Service struct {
	store    store.Store
	verifier *credential.Verifier
	now      func() time.Time

	auths *authCache

	mu      sync.Mutex
	touched map[string]time.Time // token id → last recorded use
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces time.Now, for tests of expiry.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// New returns a Service over st. Close it to stop the JWKS refreshers.
func New(st store.Store, opts ...Option) *Service {
	s := &Service{store: st, verifier: credential.NewVerifier(nil), now: time.Now, touched: map[string]time.Time{},
		auths: newAuthCache(maxCachedAuths)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Close releases the Service's background work.
func (s *Service) Close() { s.verifier.Close() }

// change runs fn in one store transaction: every change of the Service
// writes its audit row (and history entry) there too, with audit.Record.
func (s *Service) change(ctx context.Context, fn func(w store.Writer, now time.Time) error) error {
	now := s.now().UTC()
	return s.store.Write(ctx, func(w store.Writer) error { return fn(w, now) })
}

// tenantIn reads the tenant named name inside a write.
func tenantIn(ctx context.Context, w store.Writer, name string) (store.Tenant, error) {
	t, err := w.Tenants().GetByName(ctx, name)
	if err != nil {
		return t, fmt.Errorf("tenant %q: %w", name, err)
	}
	return t, nil
}

// Create creates a tenant.
func (s *Service) Create(ctx context.Context, name, actor string) (store.Tenant, error) {
	if err := ValidName(name); err != nil {
		return store.Tenant{}, err
	}
	var t store.Tenant
	err := s.change(ctx, func(w store.Writer, now time.Time) error {
		t = store.Tenant{ID: uuid.NewString(), Name: name, Created: now}
		return createTenant(ctx, w, t, actor)
	})
	if err != nil {
		return store.Tenant{}, fmt.Errorf("create tenant %q: %w", name, err)
	}
	return t, nil
}

func createTenant(ctx context.Context, w store.Writer, t store.Tenant, actor string) error {
	if err := w.Tenants().Create(ctx, t); err != nil {
		return err
	}
	return audit.Record(ctx, w, t.Created, audit.Action{Actor: actor, Action: "tenant.create", Tenant: &t, Target: t.ID})
}

// Get returns the tenant with the given name.
func (s *Service) Get(ctx context.Context, name string) (store.Tenant, error) {
	t, err := s.store.Tenants().GetByName(ctx, name)
	if err != nil {
		return t, fmt.Errorf("tenant %q: %w", name, err)
	}
	return t, nil
}

// List returns every tenant by name.
func (s *Service) List(ctx context.Context) ([]store.Tenant, error) {
	return s.store.Tenants().List(ctx)
}

// SetSCIMEnabled switches a tenant's SCIM endpoint on or off. While off,
// its SCIM requests are refused with 403 and its data is kept.
func (s *Service) SetSCIMEnabled(ctx context.Context, name string, enabled bool, actor string) (store.Tenant, error) {
	var t store.Tenant
	err := s.change(ctx, func(w store.Writer, now time.Time) error {
		var err error
		if t, err = tenantIn(ctx, w, name); err != nil {
			return err
		}
		if err := w.Tenants().SetSCIMDisabled(ctx, t.ID, !enabled); err != nil {
			return fmt.Errorf("switch SCIM for tenant %q: %w", name, err)
		}
		t.SCIMDisabled = !enabled
		action := "tenant.enable"
		if !enabled {
			action = "tenant.disable"
		}
		return audit.Record(ctx, w, now, audit.Action{Actor: actor, Action: action, Tenant: &t, Target: t.ID})
	})
	return t, err
}

// Delete removes a tenant with all its users, groups and credentials.
// confirm must repeat the tenant's name, so a slip cannot delete data.
//
// The tenant is gone, and its deletion audited, when the first transaction
// commits; Delete then waits while its data is removed in batches. If that
// is cut short, the tenant stays deleted and the store finishes the removal
// in the background.
func (s *Service) Delete(ctx context.Context, name, confirm, actor string) error {
	if confirm != name {
		return fmt.Errorf("%w: deleting tenant %q removes all its users, groups and credentials; confirm with its name", ErrInvalid, name)
	}
	err := s.change(ctx, func(w store.Writer, now time.Time) error {
		t, err := tenantIn(ctx, w, name)
		if err != nil {
			return err
		}
		if err := w.Tenants().Delete(ctx, t.ID); err != nil {
			return fmt.Errorf("delete tenant %q: %w", name, err)
		}
		return audit.Record(ctx, w, now, audit.Action{Actor: actor, Action: "tenant.delete", Tenant: &t, Target: t.ID})
	})
	if err != nil {
		return err
	}
	if err := s.store.Tenants().PurgeDeleted(ctx); err != nil {
		return fmt.Errorf("tenant %q is deleted; removing its data goes on in the background: %w", name, err)
	}
	return nil
}

// SetRateLimit sets a tenant's SCIM request limit per second; 0 restores
// the server's default.
func (s *Service) SetRateLimit(ctx context.Context, name string, perSecond float64, actor string) (store.Tenant, error) {
	if perSecond < 0 {
		return store.Tenant{}, fmt.Errorf("%w: a rate limit cannot be negative", ErrInvalid)
	}
	return s.updateSettings(ctx, name, actor, "tenant.rate_limit", map[string]any{"rate_limit": perSecond},
		func(st *store.TenantSettings) error { st.RateLimit = perSecond; return nil })
}

// SetHistoryActor sets the actor the revision history shows for the
// tenant's SCIM changes; "" restores "Scim System User".
func (s *Service) SetHistoryActor(ctx context.Context, name, historyActor, actor string) (store.Tenant, error) {
	historyActor = strings.TrimSpace(historyActor)
	if len(historyActor) > 200 {
		return store.Tenant{}, fmt.Errorf("%w: a history actor has at most 200 characters", ErrInvalid)
	}
	return s.updateSettings(ctx, name, actor, "tenant.history_actor", map[string]any{"history_actor": historyActor},
		func(st *store.TenantSettings) error { st.HistoryActor = historyActor; return nil })
}

// SetStorePasswords sets what becomes of the User passwords the tenant's
// SCIM clients send: store.StorePasswordsHash keeps a salted argon2id hash,
// store.StorePasswordsNone keeps nothing. Passwords stored before a switch
// to none stay until the user's password is next set.
func (s *Service) SetStorePasswords(ctx context.Context, name, mode, actor string) (store.Tenant, error) {
	switch mode {
	case store.StorePasswordsHash, store.StorePasswordsNone:
	default:
		return store.Tenant{}, fmt.Errorf("%w: store_passwords must be %q or %q, not %q",
			ErrInvalid, store.StorePasswordsHash, store.StorePasswordsNone, mode)
	}
	return s.updateSettings(ctx, name, actor, "tenant.store_passwords", map[string]any{"store_passwords": mode},
		func(st *store.TenantSettings) error { st.StorePasswords = mode; return nil })
}

// updateSettings reads a tenant's settings, changes them and records the
// action, in one transaction, so that concurrent changes of different
// settings never undo each other.
func (s *Service) updateSettings(ctx context.Context, name, actor, action string, detail map[string]any, change func(*store.TenantSettings) error) (store.Tenant, error) {
	var t store.Tenant
	err := s.change(ctx, func(w store.Writer, now time.Time) error {
		var err error
		if t, err = tenantIn(ctx, w, name); err != nil {
			return err
		}
		if err := change(&t.Settings); err != nil {
			return err
		}
		if err := w.Tenants().SetSettings(ctx, t.ID, t.Settings); err != nil {
			return fmt.Errorf("update settings of tenant %q: %w", name, err)
		}
		return audit.Record(ctx, w, now, audit.Action{Actor: actor, Action: action, Tenant: &t, Target: t.ID, Detail: detail})
	})
	return t, err
}
