package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// The checks and defaults below are the storage policy every backend
// applies before it writes a row, so that the backends differ only in how
// they translate the row to SQL. The conformance suite pins them: a
// backend that skipped one would fail it.

// errMissing reports a required field left empty.
func errMissing(op, what string) error { return fmt.Errorf("%s: %s", op, what) }

// orNow returns t, or now when t is zero.
func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

// Prepare checks a tenant before it is created and sets a zero Created to now.
func (t *Tenant) Prepare(now time.Time) error {
	if t.ID == "" || t.Name == "" {
		return errMissing("create tenant", "tenant needs an id and a name")
	}
	t.Created = orNow(t.Created, now)
	return nil
}

// Prepare checks a token before it is created and sets a zero Created to now.
func (t *Token) Prepare(now time.Time) error {
	if t.ID == "" || t.Tenant == "" {
		return errMissing("create token", "token needs an id and a tenant")
	}
	t.Created = orNow(t.Created, now)
	return nil
}

// Prepare checks an OAuth client before it is created and sets a zero
// Created to now.
func (c *OAuthClient) Prepare(now time.Time) error {
	if c.ID == "" || c.Tenant == "" {
		return errMissing("create oauth client", "client needs an id and a tenant")
	}
	c.Created = orNow(c.Created, now)
	return nil
}

// Prepare checks an admin before it is created and sets a zero Created to now.
func (a *Admin) Prepare(now time.Time) error {
	if a.ID == "" || a.Name == "" {
		return errMissing("create admin", "admin needs an id and a name")
	}
	a.Created = orNow(a.Created, now)
	return nil
}

// Prepare checks a session before it is created and sets a zero Created to
// now.
func (s *AdminSession) Prepare(now time.Time) error {
	if s.ID == "" || s.Admin == "" {
		return errMissing("create admin session", "session needs an id and an admin")
	}
	s.Created = orNow(s.Created, now)
	return nil
}

// Prepare checks an endpoint before it is created and sets a zero Created
// to now.
func (e *WebhookEndpoint) Prepare(now time.Time) error {
	if e.ID == "" || e.Tenant == "" {
		return errMissing("create webhook endpoint", "endpoint needs an id and a tenant")
	}
	e.Created = orNow(e.Created, now)
	return nil
}

// Prepare checks a redelivery request before it is recorded and sets a
// zero Requested to now.
func (r *WebhookRedelivery) Prepare(now time.Time) error {
	if r.ID == "" || r.Tenant == "" || r.Endpoint == "" {
		return errMissing("request webhook redelivery", "request needs an id, a tenant and an endpoint")
	}
	r.Requested = orNow(r.Requested, now)
	return nil
}

// Prepare checks a job before it is created: it needs a name and a JSON
// document. It sets Revision to 1, a zero Created to now, Updated to
// Created, and an empty Status to "Off".
func (j *Job) Prepare(now time.Time) error {
	if j.Name == "" || !json.Valid(j.Document) {
		return errMissing("create job", "job needs a name and a JSON document")
	}
	j.Revision = 1
	j.Created = orNow(j.Created, now)
	if j.Updated.IsZero() {
		j.Updated = j.Created
	}
	if j.Status == "" {
		j.Status = "Off"
	}
	return nil
}

// PrepareUpdate checks a job before it replaces the stored one and sets a
// zero Updated to now.
func (j *Job) PrepareUpdate(now time.Time) error {
	if j.Name == "" || !json.Valid(j.Document) || j.Revision < 2 {
		return errMissing("update job", "job needs a name, a JSON document and a revision above 1")
	}
	j.Updated = orNow(j.Updated, now)
	if j.Status == "" {
		j.Status = "Off"
	}
	return nil
}

// ErrNoEvent is the error of appending a nil audit event or recording a nil
// change.
var ErrNoEvent = errors.New("nothing to record")

// Prepare checks an audit event before it is appended and sets a zero Time
// to now.
func (e *AuditEvent) Prepare(now time.Time) error {
	if e == nil {
		return fmt.Errorf("append audit event: %w", ErrNoEvent)
	}
	if e.Action == "" || e.Actor == "" {
		return errMissing("append audit event", "event needs an actor and an action")
	}
	e.Time = orNow(e.Time, now)
	return nil
}

// Prepare checks a change before Writer.Record writes it, and fills in
// what a caller may leave out: a zero Time is now; EventTypes lists the
// types of Events; each event gets the change's tenant, a new UUID if it
// has no id, and the change's time, resource type and id where its own are
// zero. An event's Data must be JSON (empty means null). Nothing is
// written if Prepare fails, so a failed Record leaves the transaction as
// it was.
func (c *Change) Prepare(now time.Time) error {
	const op = "record change"
	if c == nil {
		return fmt.Errorf("%s: %w", op, ErrNoEvent)
	}
	if c.Tenant == "" || c.ResourceType == "" || c.ResourceID == "" || c.Operation == "" {
		return errMissing(op, "change needs a tenant, a resource type, a resource id and an operation")
	}
	c.Time = orNow(c.Time, now)
	c.EventTypes = nil
	for i := range c.Events {
		e := &c.Events[i]
		if e.Type == "" {
			return fmt.Errorf("%s %s: event %d has no type", op, c.ResourceID, i)
		}
		if len(e.Data) > 0 && !json.Valid(e.Data) {
			return fmt.Errorf("%s %s: event %d (%s): data is not JSON", op, c.ResourceID, i, e.Type)
		}
		e.Tenant = c.Tenant
		if e.ID == "" {
			e.ID = uuid.NewString()
		}
		e.Time = orNow(e.Time, c.Time)
		if e.ResourceType == "" {
			e.ResourceType = c.ResourceType
		}
		if e.ResourceID == "" {
			e.ResourceID = c.ResourceID
		}
		c.EventTypes = append(c.EventTypes, e.Type)
	}
	return nil
}

// PrepareEmit checks events Writer.Emit appends to tenant's outbox and
// fills in their defaults: the tenant, a new ID, now for a zero Time.
func PrepareEmit(tenant string, events []Event, now time.Time) error {
	const op = "emit events"
	if tenant == "" {
		return errMissing(op, "events need a tenant")
	}
	for i := range events {
		e := &events[i]
		if e.Type == "" || e.ResourceType == "" {
			return errMissing(op, fmt.Sprintf("event %d needs a type and a resource type", i))
		}
		if len(e.Data) > 0 && !json.Valid(e.Data) {
			return fmt.Errorf("%s: event %d (%s): data is not JSON", op, i, e.Type)
		}
		e.Tenant = tenant
		if e.ID == "" {
			e.ID = uuid.NewString()
		}
		e.Time = orNow(e.Time, now)
	}
	return nil
}
