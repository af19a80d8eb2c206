package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rosterhq/roster/internal/store"
)

// Statements of the webhook endpoint store.
const (
	webhookCols       = "id, tenant_id, url, secret, event_types, max_attempts, disabled, created"
	insertWebhookSQL  = "INSERT INTO webhook_endpoints (" + webhookCols + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
	updateWebhookSQL  = "UPDATE webhook_endpoints SET url = ?2, secret = ?3, event_types = ?4, max_attempts = ?5, disabled = ?6 WHERE id = ?1"
	deleteWebhookSQL  = "DELETE FROM webhook_endpoints WHERE id = ?1"
	webhookSQL        = "SELECT " + webhookCols + " FROM webhook_endpoints WHERE id = ?1"
	webhookListSQL    = "SELECT " + webhookCols + " FROM webhook_endpoints WHERE tenant_id = ?1 ORDER BY created, id"
	webhookListAllSQL = "SELECT " + webhookCols + " FROM webhook_endpoints ORDER BY created, id"

	redeliveryCols = "id, tenant_id, endpoint_id, delivery_ids, requested"
	// insertRedeliverySQL inserts a request if its endpoint exists, and
	// returns its id then.
	insertRedeliverySQL = "INSERT INTO webhook_redeliveries (" + redeliveryCols + ") " +
		"SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = ?3) RETURNING id"
	deleteRedeliverySQL = "DELETE FROM webhook_redeliveries WHERE id = ?1"
	redeliveriesSQL     = "SELECT " + redeliveryCols + " FROM webhook_redeliveries ORDER BY requested, id LIMIT ?1"
)

// Webhooks returns the webhook endpoint store.
func (s *Store) Webhooks() store.WebhookStore { return webhooks{s} }

// webhooks implements store.WebhookStore.
type webhooks struct{ s *Store }

// Get returns the endpoint with the given id.
func (wh webhooks) Get(ctx context.Context, id string) (store.WebhookEndpoint, error) {
	return get(ctx, wh.s, wh.s.rs.webhook, "get webhook endpoint", id, scanWebhook)
}

// List returns a tenant's endpoints, or every tenant's for "", oldest first.
func (wh webhooks) List(ctx context.Context, tenant string) ([]store.WebhookEndpoint, error) {
	const op = "list webhook endpoints"
	if tenant == "" {
		return list(ctx, wh.s, wh.s.rs.webhookListAll, op, scanWebhook)
	}
	return list(ctx, wh.s, wh.s.rs.webhookList, op, scanWebhook, tenant)
}

// webhookWriter implements store.WebhookWriter.
type webhookWriter struct{ w *writer }

// Create inserts an endpoint. A duplicate id is store.ErrConflict; a tenant
// that does not exist is store.ErrNotFound.
func (wh webhookWriter) Create(ctx context.Context, e store.WebhookEndpoint) error {
	const op = "create webhook endpoint"
	if err := e.Prepare(time.Now()); err != nil {
		return err
	}
	types, err := encodeEventTypes(e.EventTypes)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return wh.w.exec(ctx, op+" "+e.ID, wh.w.s.ws.insertWebhook, e.ID, e.Tenant, e.URL, e.Secret, types, e.MaxAttempts, e.Disabled, formatTime(e.Created))
}

// Get returns the endpoint with the given id as the transaction sees it.
func (wh webhookWriter) Get(ctx context.Context, id string) (store.WebhookEndpoint, error) {
	return writerGet(ctx, wh.w, wh.w.s.ws.webhook, "get webhook endpoint", id, scanWebhook)
}

// Update replaces the endpoint's URL, secret, event types, attempts and
// switch; its tenant and Created stay.
func (wh webhookWriter) Update(ctx context.Context, e store.WebhookEndpoint) error {
	const op = "update webhook endpoint"
	types, err := encodeEventTypes(e.EventTypes)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return wh.w.execOne(ctx, op, wh.w.s.ws.updateWebhook, e.ID, e.URL, e.Secret, types, e.MaxAttempts, e.Disabled)
}

// Delete removes the endpoint.
func (wh webhookWriter) Delete(ctx context.Context, id string) error {
	return wh.w.execOne(ctx, "delete webhook endpoint", wh.w.s.ws.deleteWebhook, id)
}

// RequestRedelivery records a redelivery request.
func (wh webhookWriter) RequestRedelivery(ctx context.Context, r store.WebhookRedelivery) error {
	const op = "request webhook redelivery"
	if err := r.Prepare(time.Now()); err != nil {
		return err
	}
	ids, err := json.Marshal(nonNilIDs(r.Deliveries))
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var id string
	err = wh.w.s.ws.insertRedelivery.QueryRow(r.ID, r.Tenant, r.Endpoint, string(ids), formatTime(r.Requested)).Scan(&id)
	return wh.w.s.notFound(op+" of endpoint", r.Endpoint, err)
}

// DoneRedelivery deletes a request.
func (wh webhookWriter) DoneRedelivery(ctx context.Context, id string) error {
	return wh.w.exec(ctx, "finish webhook redelivery", wh.w.s.ws.deleteRedelivery, id)
}

// Redeliveries returns pending redelivery requests, oldest first.
func (wh webhooks) Redeliveries(ctx context.Context, limit int) ([]store.WebhookRedelivery, error) {
	return list(ctx, wh.s, wh.s.rs.redeliveries, "list webhook redeliveries", scanRedelivery, max(limit, 1))
}

func scanRedelivery(row rowScanner) (store.WebhookRedelivery, error) {
	var (
		r              store.WebhookRedelivery
		ids, requested string
	)
	if err := row.Scan(&r.ID, &r.Tenant, &r.Endpoint, &ids, &requested); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(ids), &r.Deliveries); err != nil {
		return r, fmt.Errorf("webhook redelivery %s: stored delivery ids: %w", r.ID, err)
	}
	if len(r.Deliveries) == 0 {
		r.Deliveries = nil
	}
	var err error
	r.Requested, err = parseTime(requested)
	return r, err
}

func nonNilIDs(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

func encodeEventTypes(types []string) (string, error) {
	if len(types) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(types)
	return string(b), err
}

func scanWebhook(row rowScanner) (store.WebhookEndpoint, error) {
	var (
		e              store.WebhookEndpoint
		types, created string
	)
	if err := row.Scan(&e.ID, &e.Tenant, &e.URL, &e.Secret, &types, &e.MaxAttempts, &e.Disabled, &created); err != nil {
		return e, err
	}
	if err := json.Unmarshal([]byte(types), &e.EventTypes); err != nil {
		return e, fmt.Errorf("webhook endpoint %s: stored event types: %w", e.ID, err)
	}
	if len(e.EventTypes) == 0 {
		e.EventTypes = nil
	}
	var err error
	e.Created, err = parseTime(created)
	return e, err
}
