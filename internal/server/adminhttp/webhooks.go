package adminhttp

import (
	"errors"
	"net/http"

	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/webhook"
)

// endpointView is a webhook endpoint as the admin API shows it; the secret
// only in the answer to its creation.
type endpointView struct {
	store.WebhookEndpoint
	Secret string `json:"secret,omitempty"`
}

func (h *Handler) listWebhooks(w http.ResponseWriter, c *call) error {
	t, err := h.tenants.Get(c.Context(), c.PathValue("tenant"))
	if err != nil {
		return err
	}
	eps, err := h.endpoints.List(c.Context(), t)
	if err != nil {
		return err
	}
	out := make([]endpointView, len(eps))
	for i, ep := range eps {
		out[i] = endpointView{WebhookEndpoint: ep}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"webhooks": out})
}

func (h *Handler) createWebhook(w http.ResponseWriter, c *call) error {
	var body struct {
		URL         string   `json:"url"`
		EventTypes  []string `json:"eventTypes"`
		MaxAttempts int      `json:"maxAttempts"`
	}
	if err := decode(c.Request, &body); err != nil {
		return err
	}
	t, err := h.tenants.Get(c.Context(), c.PathValue("tenant"))
	if err != nil {
		return err
	}
	ep, err := h.endpoints.Create(c.Context(), t, webhook.EndpointRequest{
		URL: body.URL, EventTypes: body.EventTypes, MaxAttempts: body.MaxAttempts,
	}, c.actor())
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/admin/api/tenants/"+t.Name+"/webhooks/"+ep.ID)
	return writeJSON(w, http.StatusCreated, endpointView{WebhookEndpoint: ep, Secret: ep.Secret})
}

func (h *Handler) updateWebhook(w http.ResponseWriter, c *call) error {
	var body struct {
		Disabled    *bool `json:"disabled"`
		MaxAttempts *int  `json:"maxAttempts"`
	}
	if err := decode(c.Request, &body); err != nil {
		return err
	}
	t, err := h.tenants.Get(c.Context(), c.PathValue("tenant"))
	if err != nil {
		return err
	}
	ep, err := h.endpoints.Update(c.Context(), t, c.PathValue("id"), webhook.EndpointChange{
		Disabled: body.Disabled, MaxAttempts: body.MaxAttempts,
	}, c.actor())
	if err != nil {
		return err
	}
	h.webhooks.Notify()
	return writeJSON(w, http.StatusOK, endpointView{WebhookEndpoint: ep})
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, c *call) error {
	t, err := h.tenants.Get(c.Context(), c.PathValue("tenant"))
	if err != nil {
		return err
	}
	if _, err := h.endpoints.Delete(c.Context(), t, c.PathValue("id"), c.actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deliveries lists an endpoint's deliveries, oldest first, optionally of
// one state (pending, delivered or dead).
func (h *Handler) deliveries(w http.ResponseWriter, c *call) error {
	t, ep, err := h.endpoint(c)
	if err != nil {
		return err
	}
	q := c.URL.Query()
	dq := webhook.DeliveryQuery{Tenant: t.ID, Endpoint: ep.ID, State: q.Get("state")}
	switch dq.State {
	case "", webhook.StatePending, webhook.StateDelivered, webhook.StateDead:
	default:
		return badRequest("state must be pending, delivered or dead")
	}
	after, err := intParam(q.Get("after"), 0)
	if err != nil {
		return err
	}
	dq.After = int64(after)
	if dq.Limit, err = intParam(q.Get("limit"), 0); err != nil {
		return err
	}
	ds, err := h.webhooks.Deliveries(c.Context(), dq)
	if err != nil {
		return err
	}
	next := dq.After
	if len(ds) > 0 {
		next = ds[len(ds)-1].ID
	}
	if ds == nil {
		ds = []webhook.Delivery{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"deliveries": ds, "next": next})
}

// redeliver puts an endpoint's dead deliveries (all, or the ids given)
// back in line.
func (h *Handler) redeliver(w http.ResponseWriter, c *call) error {
	var body struct {
		IDs []int64 `json:"ids"`
	}
	if c.ContentLength != 0 {
		if err := decode(c.Request, &body); err != nil {
			return err
		}
	}
	t, err := h.tenants.Get(c.Context(), c.PathValue("tenant"))
	if err != nil {
		return err
	}
	n, err := h.webhooks.Redeliver(c.Context(), t, c.PathValue("id"), body.IDs, c.actor())
	if errors.Is(err, webhook.ErrPending) {
		h.log.Warn("ADMIN-0503 webhook redelivery pending", "err", err)
		return writeJSON(w, http.StatusAccepted, map[string]any{"pending": true, "message": webhook.ErrPending.Error()})
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"redelivered": n})
}

// endpoint resolves the {tenant} and {id} of a webhook endpoint's path.
func (h *Handler) endpoint(c *call) (store.Tenant, store.WebhookEndpoint, error) {
	t, err := h.tenants.Get(c.Context(), c.PathValue("tenant"))
	if err != nil {
		return t, store.WebhookEndpoint{}, err
	}
	ep, err := h.endpoints.Get(c.Context(), t, c.PathValue("id"))
	return t, ep, err
}
