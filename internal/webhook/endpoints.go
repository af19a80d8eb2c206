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

	"github.com/rosterhq/roster/internal/audit"
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

// Endpoints manages tenants' webhook endpoints. Each change is made in one
// store transaction with its audit row and history entry.
type Endpoints struct {
	store        store.Store
	now          func() time.Time
	allowPrivate bool
}

// NewEndpoints returns the endpoint service over st. Unless allowPrivate
// (the server's --webhook-allow-private, Config.AllowPrivate), it refuses
// a URL whose host is a loopback or private IP address; link-local,
// unspecified, multicast and reserved addresses it always refuses.
func NewEndpoints(st store.Store, allowPrivate bool) *Endpoints {
	return &Endpoints{store: st, now: time.Now, allowPrivate: allowPrivate}
}

// change runs fn and records the action on tenant t's endpoint in one
// transaction; fn returns the endpoint and the action's detail.
func (e *Endpoints) change(ctx context.Context, t store.Tenant, actor, action string,
	fn func(w store.Writer) (store.WebhookEndpoint, map[string]any, error),
) (store.WebhookEndpoint, error) {
	var ep store.WebhookEndpoint
	now := e.now().UTC()
	err := e.store.Write(ctx, func(w store.Writer) error {
		var (
			detail map[string]any
			err    error
		)
		if ep, detail, err = fn(w); err != nil {
			return err
		}
		return audit.Record(ctx, w, now, audit.Action{Actor: actor, Action: action, Tenant: &t, Target: ep.ID, Detail: detail})
	})
	if err != nil {
		return store.WebhookEndpoint{}, err
	}
	return ep, nil
}

// Create adds a webhook endpoint to tenant t and returns it with its
// secret, which the caller shows once: Roster keeps it only to sign with.
// The endpoint receives events committed from now on.
func (e *Endpoints) Create(ctx context.Context, t store.Tenant, req EndpointRequest, actor string) (store.WebhookEndpoint, error) {
	if err := checkURL(req.URL, e.allowPrivate); err != nil {
		return store.WebhookEndpoint{}, err
	}
	for _, typ := range req.EventTypes {
		if !slices.Contains(store.EventTypes, typ) {
			return store.WebhookEndpoint{}, fmt.Errorf("%w: unknown event type %q (known: %s)", ErrInvalid, typ, strings.Join(store.EventTypes, ", "))
		}
	}
	if err := checkMaxAttempts(req.MaxAttempts, true); err != nil {
		return store.WebhookEndpoint{}, err
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
		ID: uuid.NewString(), Tenant: t.ID, URL: req.URL, Secret: secret,
		EventTypes: req.EventTypes, MaxAttempts: cmpOr(req.MaxAttempts, DefaultMaxAttempts),
		Created: e.now().UTC(),
	}
	return e.change(ctx, t, actor, "webhook.create", func(w store.Writer) (store.WebhookEndpoint, map[string]any, error) {
		if err := w.Webhooks().Create(ctx, ep); err != nil {
			return ep, nil, fmt.Errorf("create webhook endpoint: %w", err)
		}
		return ep, map[string]any{"url": ep.URL}, nil
	})
}

// checkMaxAttempts checks an endpoint's attempts before dead-lettering;
// zero means the default where zero is allowed.
func checkMaxAttempts(n int, zeroOK bool) error {
	if (n == 0 && zeroOK) || (n >= 1 && n <= 50) {
		return nil
	}
	return fmt.Errorf("%w: max attempts must be between 1 and 50", ErrInvalid)
}

// List returns tenant t's endpoints, oldest first.
func (e *Endpoints) List(ctx context.Context, t store.Tenant) ([]store.WebhookEndpoint, error) {
	eps, err := e.store.Webhooks().List(ctx, t.ID)
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints of tenant %q: %w", t.Name, err)
	}
	return eps, nil
}

// Get returns an endpoint of tenant t; ErrNotFound if it belongs to another
// tenant.
func (e *Endpoints) Get(ctx context.Context, t store.Tenant, id string) (store.WebhookEndpoint, error) {
	ep, err := e.store.Webhooks().Get(ctx, id)
	return ownEndpoint(t, id, ep, err)
}

// ownEndpoint reports another tenant's endpoint as missing.
func ownEndpoint(t store.Tenant, id string, ep store.WebhookEndpoint, err error) (store.WebhookEndpoint, error) {
	if err == nil && ep.Tenant != t.ID {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.WebhookEndpoint{}, fmt.Errorf("webhook endpoint %q: %w", id, err)
	}
	return ep, nil
}

// EndpointChange is what Update changes; nil fields stay.
type EndpointChange struct {
	Disabled    *bool
	MaxAttempts *int
}

// Update switches tenant t's endpoint on or off or changes its attempts.
func (e *Endpoints) Update(ctx context.Context, t store.Tenant, id string, c EndpointChange, actor string) (store.WebhookEndpoint, error) {
	if c.MaxAttempts != nil {
		if err := checkMaxAttempts(*c.MaxAttempts, false); err != nil {
			return store.WebhookEndpoint{}, err
		}
	}
	return e.change(ctx, t, actor, "webhook.update", func(w store.Writer) (store.WebhookEndpoint, map[string]any, error) {
		ep, err := w.Webhooks().Get(ctx, id)
		if ep, err = ownEndpoint(t, id, ep, err); err != nil {
			return ep, nil, err
		}
		detail := map[string]any{}
		if c.Disabled != nil {
			ep.Disabled = *c.Disabled
			detail["disabled"] = ep.Disabled
		}
		if c.MaxAttempts != nil {
			ep.MaxAttempts = *c.MaxAttempts
			detail["max_attempts"] = ep.MaxAttempts
		}
		if err := w.Webhooks().Update(ctx, ep); err != nil {
			return ep, nil, fmt.Errorf("update webhook endpoint %q: %w", id, err)
		}
		return ep, detail, nil
	})
}

// Delete removes tenant t's endpoint and returns what it was; its
// undelivered events are dropped.
func (e *Endpoints) Delete(ctx context.Context, t store.Tenant, id, actor string) (store.WebhookEndpoint, error) {
	return e.change(ctx, t, actor, "webhook.delete", func(w store.Writer) (store.WebhookEndpoint, map[string]any, error) {
		ep, err := w.Webhooks().Get(ctx, id)
		if ep, err = ownEndpoint(t, id, ep, err); err != nil {
			return ep, nil, err
		}
		if err := w.Webhooks().Delete(ctx, id); err != nil {
			return ep, nil, fmt.Errorf("delete webhook endpoint %q: %w", id, err)
		}
		return ep, map[string]any{"url": ep.URL}, nil
	})
}

// checkURL checks an endpoint's URL: absolute http(s), no credentials, and
// not a literal address no delivery may reach (see checkHost); a name is
// checked on each delivery, on the address it resolves to.
func checkURL(raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		return fmt.Errorf("%w: the URL must be an absolute http:// or https:// URL, got %q", ErrInvalid, raw)
	}
	if u.User != nil {
		return fmt.Errorf("%w: put no credentials in the URL; verify the signature instead", ErrInvalid)
	}
	if err := checkHost(u.Hostname(), allowPrivate); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
