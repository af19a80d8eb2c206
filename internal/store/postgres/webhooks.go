package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster/internal/store"
)

// Webhooks returns the webhook endpoint store.
func (s *Store) Webhooks() store.WebhookStore { return webhooks{s} }

// webhooks implements store.WebhookStore.
type webhooks struct{ s *Store }

const webhookCols = "id, tenant_id, url, secret, event_types, max_attempts, disabled, created"

// Get returns the endpoint with the given id.
func (wh webhooks) Get(ctx context.Context, id string) (store.WebhookEndpoint, error) {
	return get(ctx, wh.s, "SELECT "+webhookCols+" FROM webhook_endpoints WHERE id = $1", "get webhook endpoint", id, scanWebhook)
}

// List returns a tenant's endpoints, or every tenant's for "", oldest first.
func (wh webhooks) List(ctx context.Context, tenant string) ([]store.WebhookEndpoint, error) {
	const op = "list webhook endpoints"
	if tenant == "" {
		return list(ctx, wh.s, "SELECT "+webhookCols+" FROM webhook_endpoints ORDER BY created, id", op, scanWebhook)
	}
	return list(ctx, wh.s, "SELECT "+webhookCols+" FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY created, id",
		op, scanWebhook, tenant)
}

// webhookWriter implements store.WebhookWriter.
type webhookWriter struct{ w *writer }

// Create inserts an endpoint. A duplicate id is store.ErrConflict; a tenant
// that does not exist is store.ErrNotFound (the foreign key).
func (wh webhookWriter) Create(ctx context.Context, e store.WebhookEndpoint) error {
	if err := e.Prepare(time.Now()); err != nil {
		return err
	}
	return wh.w.exec(ctx, "create webhook endpoint", "INSERT INTO webhook_endpoints ("+webhookCols+
		") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		e.ID, e.Tenant, e.URL, e.Secret, nonNilStrings(e.EventTypes), e.MaxAttempts, e.Disabled, e.Created)
}

// Get returns the endpoint with the given id as the transaction sees it.
func (wh webhookWriter) Get(ctx context.Context, id string) (store.WebhookEndpoint, error) {
	return writerGet(ctx, wh.w, "SELECT "+webhookCols+" FROM webhook_endpoints WHERE id = $1 FOR UPDATE", "get webhook endpoint", id, scanWebhook)
}

// Update replaces an endpoint's URL, secret, event types, attempts and
// switch; its tenant and creation time stay.
func (wh webhookWriter) Update(ctx context.Context, e store.WebhookEndpoint) error {
	return wh.w.execOne(ctx, "update webhook endpoint", `UPDATE webhook_endpoints SET url = $2, secret = $3, event_types = $4, max_attempts = $5, disabled = $6
		WHERE id = $1`, e.ID, e.URL, e.Secret, nonNilStrings(e.EventTypes), e.MaxAttempts, e.Disabled)
}

// Delete removes an endpoint.
func (wh webhookWriter) Delete(ctx context.Context, id string) error {
	return wh.w.execOne(ctx, "delete webhook endpoint", "DELETE FROM webhook_endpoints WHERE id = $1", id)
}

const redeliveryCols = "id, tenant_id, endpoint_id, delivery_ids, requested"

// RequestRedelivery records a redelivery request if its endpoint exists.
func (wh webhookWriter) RequestRedelivery(ctx context.Context, r store.WebhookRedelivery) error {
	const op = "request webhook redelivery"
	if err := r.Prepare(time.Now()); err != nil {
		return err
	}
	if err := wh.w.begin(ctx); err != nil {
		return wh.w.s.fail(op, err)
	}
	var id string
	err := wh.w.conn.QueryRow(ctx, "INSERT INTO webhook_redeliveries ("+redeliveryCols+") "+
		"SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = $3) RETURNING id",
		r.ID, r.Tenant, r.Endpoint, nonNilIDs(r.Deliveries), r.Requested).Scan(&id)
	return wh.w.s.notFound(op+" of endpoint", r.Endpoint, err)
}

// DoneRedelivery deletes a request.
func (wh webhookWriter) DoneRedelivery(ctx context.Context, id string) error {
	return wh.w.exec(ctx, "finish webhook redelivery", "DELETE FROM webhook_redeliveries WHERE id = $1", id)
}

// Redeliveries returns pending redelivery requests, oldest first.
func (wh webhooks) Redeliveries(ctx context.Context, limit int) ([]store.WebhookRedelivery, error) {
	return list(ctx, wh.s, "SELECT "+redeliveryCols+" FROM webhook_redeliveries ORDER BY requested, id LIMIT $1",
		"list webhook redeliveries", scanRedelivery, max(limit, 1))
}

func scanRedelivery(row pgx.Row) (store.WebhookRedelivery, error) {
	var (
		r         store.WebhookRedelivery
		requested time.Time
	)
	if err := row.Scan(&r.ID, &r.Tenant, &r.Endpoint, &r.Deliveries, &requested); err != nil {
		return r, err
	}
	if len(r.Deliveries) == 0 {
		r.Deliveries = nil
	}
	r.Requested = requested.UTC()
	return r, nil
}

func nonNilIDs(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

func scanWebhook(row pgx.Row) (store.WebhookEndpoint, error) {
	var (
		e           store.WebhookEndpoint
		maxAttempts int32
		created     time.Time
	)
	if err := row.Scan(&e.ID, &e.Tenant, &e.URL, &e.Secret, &e.EventTypes, &maxAttempts, &e.Disabled, &created); err != nil {
		return e, err
	}
	if len(e.EventTypes) == 0 {
		e.EventTypes = nil
	}
	e.MaxAttempts, e.Created = int(maxAttempts), created.UTC()
	return e, nil
}

// nonNilStrings keeps a nil slice from becoming NULL in a NOT NULL column.
func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
