// Package delivery delivers a provisioning job's notices (package notify):
// by e-mail through the configured SMTP server, and as an event in the
// outbox of the tenant the job names, which that tenant's webhooks and pull
// feed then deliver.
//
// Service.Notify, the engine's notify.Notifier, only queues: it inserts one
// river job per way of delivery (an e-mail job for the addresses, an event
// job for the tenant) in one transaction of the jobs database, and returns
// once that commits. The workers deliver with the synchronous path
// (SendEmail, WriteEvent), retrying a temporary failure with backoff; an
// SMTP server's permanent refusal (5xx) or a tenant that no longer exists
// ends a notice's delivery with a logged error. Each notice has an id that
// is both its e-mail's Message-ID and its event's id, so that the rare
// second delivery (a worker that delivered but died before it recorded
// so) can be recognised by whoever receives it.
package delivery

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/rosterhq/roster/internal/jobs"
	"github.com/rosterhq/roster/internal/provision/notify"
	"github.com/rosterhq/roster/internal/store"
)

// queueName is the river queue of notice deliveries.
const queueName = "roster_notify"

// Defaults of Config.
const (
	DefaultRetryBase   = 30 * time.Second
	DefaultMaxAttempts = 12 // with DefaultRetryBase, about 9 hours of retries
	maxRetryDelay      = time.Hour
)

// ResourceType is the resource type of a notice's event: its resource is
// the job, by name.
const ResourceType = "ProvisioningJob"

// Config configures a Service.
type Config struct {
	Store store.Store
	// Mailer sends the e-mails; nil means e-mail is not configured, and a
	// notice's addresses are logged as not notified.
	Mailer *Mailer
	Logger *slog.Logger
	// RetryBase is the wait before the first retry of a failed delivery;
	// each next one waits twice as long, up to an hour. Default
	// DefaultRetryBase.
	RetryBase time.Duration
	// MaxAttempts bounds the attempts of one delivery. Default
	// DefaultMaxAttempts.
	MaxAttempts int
}

// Service delivers notices; it implements notify.Notifier.
type Service struct {
	host *jobs.Host
	cfg  Config
	log  *slog.Logger
}

var _ notify.Notifier = (*Service)(nil)

// New returns a Service that queues on host, registering its workers and
// queue there; host must not have built its river client yet.
func New(host *jobs.Host, cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("notify delivery: no store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = DefaultRetryBase
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	s := &Service{host: host, cfg: cfg, log: cfg.Logger}
	if err := jobs.AddWorker(host, &emailWorker{s: s}); err != nil {
		return nil, err
	}
	if err := jobs.AddWorker(host, &eventWorker{s: s}); err != nil {
		return nil, err
	}
	if err := host.AddQueue(queueName, river.QueueConfig{MaxWorkers: 2}); err != nil {
		return nil, err
	}
	return s, nil
}

// emailArgs is an e-mail job: send notice ID to the addresses To.
type emailArgs struct {
	ID     string        `json:"id"`
	To     []string      `json:"to"`
	Notice notify.Notice `json:"notice"`
}

// Kind names the job kind in river's tables.
func (emailArgs) Kind() string { return "roster_notify_email" }

// eventArgs is an event job: write notice ID to the outbox of the tenant
// named Tenant.
type eventArgs struct {
	ID     string        `json:"id"`
	Tenant string        `json:"tenant"`
	Notice notify.Notice `json:"notice"`
}

// Kind names the job kind in river's tables.
func (eventArgs) Kind() string { return "roster_notify_event" }

// Notify queues the delivery of n to the recipients and returns once it is
// durable in the jobs database: the e-mail and the event are delivered
// then by whichever node works the queue, each retried on its own.
// Recipients with neither addresses nor a tenant need nothing.
func (s *Service) Notify(ctx context.Context, to notify.Recipients, n notify.Notice) error {
	if n.Time.IsZero() {
		n.Time = time.Now()
	}
	id := uuid.NewString()
	var args []river.InsertManyParams
	if len(to.Emails) > 0 {
		if s.cfg.Mailer == nil {
			s.log.Error("NOTIFY-0001 a job notice is not e-mailed: no SMTP server is configured (--smtp-addr)",
				"job", n.Job, "kind", n.Kind, "recipients", len(to.Emails))
		} else {
			args = append(args, river.InsertManyParams{Args: emailArgs{ID: id, To: to.Emails, Notice: n}, InsertOpts: s.insertOpts()})
		}
	}
	if to.Tenant != "" {
		args = append(args, river.InsertManyParams{Args: eventArgs{ID: id, Tenant: to.Tenant, Notice: n}, InsertOpts: s.insertOpts()})
	}
	if len(args) == 0 {
		return nil
	}
	client, err := s.host.Client()
	if err != nil {
		return fmt.Errorf("notify job %s: %w", n.Job, err)
	}
	err = s.host.Tx(ctx, func(tx *sql.Tx) error {
		_, err := client.InsertManyTx(ctx, tx, args)
		return err
	})
	if err != nil {
		return fmt.Errorf("notify job %s: queue: %w", n.Job, err)
	}
	return nil
}

func (s *Service) insertOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: queueName, MaxAttempts: s.cfg.MaxAttempts}
}

// Deliver delivers n now, without queueing: the e-mail, then the event.
// It is the synchronous path, for tests and tools; errors of both are
// returned together.
func (s *Service) Deliver(ctx context.Context, to notify.Recipients, n notify.Notice) error {
	id := uuid.NewString()
	var errs []error
	if len(to.Emails) > 0 {
		errs = append(errs, s.SendEmail(ctx, id, to.Emails, n))
	}
	if to.Tenant != "" {
		errs = append(errs, s.WriteEvent(ctx, id, to.Tenant, n))
	}
	return errors.Join(errs...)
}

// SendEmail e-mails notice n, with id as its Message-ID, to the addresses.
func (s *Service) SendEmail(ctx context.Context, id string, to []string, n notify.Notice) error {
	if s.cfg.Mailer == nil {
		return errors.New("notify: no SMTP server is configured (--smtp-addr)")
	}
	if err := s.cfg.Mailer.Send(ctx, to, n, id); err != nil {
		return fmt.Errorf("e-mail notice of job %s: %w", n.Job, err)
	}
	return nil
}

// ErrNoTenant means the tenant a job's notifications name does not exist
// (any more): its event cannot be written, now or later.
var ErrNoTenant = errors.New("no such tenant")

// EventType returns the event type of a notice kind.
func EventType(k notify.Kind) string {
	switch k {
	case notify.Quarantined:
		return store.ProvisioningQuarantined
	case notify.DeletesHeld:
		return store.ProvisioningDeletesHeld
	case notify.Recovered:
		return store.ProvisioningRecovered
	}
	return ""
}

// EventData is the data of a notice's event (docs/events.md).
type EventData struct {
	Job    string    `json:"job"`
	Kind   string    `json:"kind"`
	Reason string    `json:"reason,omitempty"`
	Detail string    `json:"detail,omitempty"`
	Cycle  string    `json:"cycle,omitempty"`
	Time   time.Time `json:"time"`
	Held   int       `json:"held,omitempty"`
	Since  time.Time `json:"since,omitzero"`
}

// WriteEvent writes notice n, with id as the event's id, to the outbox of
// the tenant named tenant: only that tenant's webhooks and feed see it.
// ErrNoTenant if the tenant does not exist.
func (s *Service) WriteEvent(ctx context.Context, id, tenant string, n notify.Notice) error {
	typ := EventType(n.Kind)
	if typ == "" {
		return fmt.Errorf("event of job %s: unknown notice kind %q", n.Job, n.Kind)
	}
	t, err := s.cfg.Store.Tenants().GetByName(ctx, tenant)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("event of job %s: tenant %q: %w", n.Job, tenant, ErrNoTenant)
	}
	if err != nil {
		return fmt.Errorf("event of job %s: tenant %q: %w", n.Job, tenant, err)
	}
	data, err := json.Marshal(EventData{Job: n.Job, Kind: string(n.Kind), Reason: n.Reason, Detail: n.Detail,
		Cycle: n.Cycle, Time: n.Time.UTC(), Held: n.Held, Since: n.Since.UTC()})
	if err != nil {
		return fmt.Errorf("event of job %s: %w", n.Job, err)
	}
	// The event's time is when it enters the outbox (the store sets it),
	// as for every other event: retention and webhook endpoints created
	// since go by it. When the state changed is data.time.
	ev := []store.Event{{ID: id, Type: typ, ResourceType: ResourceType, ResourceID: n.Job, Data: data}}
	err = s.cfg.Store.Write(ctx, func(w store.Writer) error { return w.Emit(ctx, t.ID, ev) })
	if errors.Is(err, store.ErrNotFound) {
		// Deleted between the lookup and the write.
		return fmt.Errorf("event of job %s: tenant %q: %w", n.Job, tenant, ErrNoTenant)
	}
	if err != nil {
		return fmt.Errorf("event of job %s: %w", n.Job, err)
	}
	return nil
}

// nextRetry is the Service's backoff: RetryBase, doubling per attempt, at
// most an hour.
func (s *Service) nextRetry(attempt int) time.Time {
	d := s.cfg.RetryBase
	for i := 1; i < attempt && d < maxRetryDelay; i++ {
		d *= 2
	}
	return time.Now().Add(min(d, maxRetryDelay))
}

// emailWorker sends e-mail jobs.
type emailWorker struct {
	river.WorkerDefaults[emailArgs]
	s *Service
}

// Timeout bounds a job a little beyond its SMTP conversation.
func (w *emailWorker) Timeout(*river.Job[emailArgs]) time.Duration {
	if m := w.s.cfg.Mailer; m != nil {
		return m.cfg.Timeout + 10*time.Second
	}
	return time.Minute
}

// NextRetry backs off by the Service's policy.
func (w *emailWorker) NextRetry(job *river.Job[emailArgs]) time.Time {
	return w.s.nextRetry(job.Attempt)
}

// Work sends the e-mail. A permanent refusal ends the job; a partial one
// (some recipients refused) completes it; anything else is retried.
func (w *emailWorker) Work(ctx context.Context, job *river.Job[emailArgs]) error {
	a := job.Args
	err := w.s.SendEmail(ctx, a.ID, a.To, a.Notice)
	var partial *PartialError
	var permanent *PermanentError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &partial):
		w.s.log.Warn("NOTIFY-0002 a job notice was e-mailed, but the SMTP server refused some recipients",
			"job", a.Notice.Job, "kind", a.Notice.Kind, "notice", a.ID, "err", err)
		return nil
	case errors.As(err, &permanent):
		w.s.log.Error("NOTIFY-0003 a job notice was not e-mailed: the SMTP server refused it for good",
			"job", a.Notice.Job, "kind", a.Notice.Kind, "notice", a.ID, "err", err)
		return river.JobCancel(err)
	}
	if job.Attempt >= job.MaxAttempts {
		w.s.log.Error("NOTIFY-0004 a job notice was not e-mailed after its last attempt",
			"job", a.Notice.Job, "kind", a.Notice.Kind, "notice", a.ID, "attempts", job.Attempt, "err", err)
	} else {
		w.s.log.Warn("NOTIFY-0005 e-mailing a job notice failed; it is retried",
			"job", a.Notice.Job, "kind", a.Notice.Kind, "notice", a.ID, "attempt", job.Attempt, "err", err)
	}
	return err
}

// eventWorker writes event jobs to their tenant's outbox.
type eventWorker struct {
	river.WorkerDefaults[eventArgs]
	s *Service
}

// NextRetry backs off by the Service's policy.
func (w *eventWorker) NextRetry(job *river.Job[eventArgs]) time.Time {
	return w.s.nextRetry(job.Attempt)
}

// Work writes the event. A tenant that is gone ends the job with a logged
// error: the job names a tenant deleted after the job was applied.
func (w *eventWorker) Work(ctx context.Context, job *river.Job[eventArgs]) error {
	a := job.Args
	err := w.s.WriteEvent(ctx, a.ID, a.Tenant, a.Notice)
	if errors.Is(err, ErrNoTenant) {
		w.s.log.Error("NOTIFY-0006 a job notice's event is not written: its notifications name a tenant that does not exist",
			"job", a.Notice.Job, "kind", a.Notice.Kind, "tenant", a.Tenant, "notice", a.ID)
		return river.JobCancel(err)
	}
	return err
}
