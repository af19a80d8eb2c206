package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/internal/store"
)

// ErrInvalid wraps every reason an endpoint is refused.
var ErrInvalid = errors.New("invalid webhook endpoint")

// EndpointRequest describes a new endpoint.
type EndpointRequest struct {
	URL string
	// EventTypes limits the endpoint to these types; empty means all.
	EventTypes []string
	// MaxAttempts before dead-lettering; 0 means DefaultMaxAttempts.
	MaxAttempts int
	// Secret, when set, signs deliveries instead of a new random one; it
	// must be in the "whsec_" form NewSecret returns.
	Secret string
}

// CreateEndpoint adds a webhook endpoint to a tenant (by id) and returns it
// with its secret, which the caller shows once: Roster keeps it only to
// sign with. The endpoint receives events committed from now on.
func CreateEndpoint(ctx context.Context, st store.Store, tenantID string, req EndpointRequest, now time.Time) (store.WebhookEndpoint, error) {
	if err := checkURL(req.URL); err != nil {
		return store.WebhookEndpoint{}, err
	}
	for _, t := range req.EventTypes {
		if !slices.Contains(store.EventTypes, t) {
			return store.WebhookEndpoint{}, fmt.Errorf("%w: unknown event type %q (known: %s)", ErrInvalid, t, strings.Join(store.EventTypes, ", "))
		}
	}
	if req.MaxAttempts < 0 || req.MaxAttempts > 50 {
		return store.WebhookEndpoint{}, fmt.Errorf("%w: max attempts must be between 1 and 50", ErrInvalid)
	}
	secret := req.Secret
	if secret == "" {
		var err error
		if secret, err = NewSecret(); err != nil {
			return store.WebhookEndpoint{}, err
		}
	} else if _, err := secretKey(secret); err != nil {
		return store.WebhookEndpoint{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	ep := store.WebhookEndpoint{
		ID: uuid.NewString(), Tenant: tenantID, URL: req.URL, Secret: secret,
		EventTypes: req.EventTypes, MaxAttempts: cmpOr(req.MaxAttempts, DefaultMaxAttempts),
		Created: now.UTC(),
	}
	if err := st.Webhooks().Create(ctx, ep); err != nil {
		return store.WebhookEndpoint{}, fmt.Errorf("create webhook endpoint: %w", err)
	}
	return ep, nil
}

// TenantEndpoint returns an endpoint of the tenant (by id); ErrNotFound if
// it belongs to another tenant.
func TenantEndpoint(ctx context.Context, st store.Store, tenantID, id string) (store.WebhookEndpoint, error) {
	ep, err := st.Webhooks().Get(ctx, id)
	if err == nil && ep.Tenant != tenantID {
		err = store.ErrNotFound
	}
	if err != nil {
		return ep, fmt.Errorf("webhook endpoint %q: %w", id, err)
	}
	return ep, nil
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%w: the URL must be an absolute http:// or https:// URL, got %q", ErrInvalid, raw)
	}
	if u.User != nil {
		return fmt.Errorf("%w: put no credentials in the URL; verify the signature instead", ErrInvalid)
	}
	return nil
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
