package webhook

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/rosterhq/roster/internal/jobs"
	"github.com/rosterhq/roster/internal/store"
)

// Defaults of Config.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultRetryBase    = 5 * time.Second
	DefaultRetryMax     = time.Hour
	DefaultLanes        = 4
	DefaultMaxBatch     = 100
	DefaultPollInterval = 250 * time.Millisecond
	DefaultWorkers      = 16
	DefaultLinger       = 250 * time.Millisecond
	DefaultRetention    = 7 * 24 * time.Hour
	// DefaultMaxAttempts applies to an endpoint whose MaxAttempts is 0.
	DefaultMaxAttempts = 8
	// MaxBatchLimit caps Config.MaxBatch.
	MaxBatchLimit = 1000
)

const (
	queueName = "roster_webhooks"
	// leaseName is the store lease the dispatcher runs under.
	leaseName = "webhook-dispatcher"
	// leaseTTL is how long the dispatcher's lease lasts unless renewed; it
	// is renewed every leaseTTL/3, so a node that dies hands dispatching to
	// another within leaseTTL.
	leaseTTL = 10 * time.Second
	// repairEvery is how often the lease holder looks for lanes that have
	// pending deliveries but no live job.
	repairEvery = time.Second
	// purgeEvery is how often the lease holder deletes old delivered rows.
	purgeEvery = time.Minute
	// dispatchPage is how many outbox events the dispatcher reads at once.
	dispatchPage = 500
	// riverMaxAttempts is the river job's own limit. The worker decides
	// when a batch is dead (Config and WebhookEndpoint.MaxAttempts) and
	// finishes its job itself, so river's limit only stops a lane whose
	// job keeps failing for reasons other than the receiver (the jobs
	// database itself); the repair then gives the lane a new job.
	riverMaxAttempts = 100
)

// Config configures a Service.
type Config struct {
	Store  store.Store
	Logger *slog.Logger
	// Holder names this node for the dispatcher's lease; a node that keeps
	// its name across restarts takes the lease back at once. Default: host
	// name, process id and a random suffix.
	Holder string
	// Timeout bounds one delivery request. Default 10s.
	Timeout time.Duration
	// A failed batch is retried after RetryBase·2^(attempt-1), at most
	// RetryMax, each ±25% at random. Defaults 5s and 1h.
	RetryBase, RetryMax time.Duration
	// Lanes is the number of lanes per endpoint (default 4). Keep it fixed
	// while deliveries are pending: a resource's events move to another
	// lane when it changes, and may then overtake older ones still pending
	// in the old lane.
	Lanes int
	// MaxBatch is the most events one request carries (default 100, at
	// most 1000; 1 sends each event alone).
	MaxBatch int
	// PollInterval is how often the dispatcher looks for events committed
	// by other processes (this process's commits wake it through Notify).
	// Default 250ms.
	PollInterval time.Duration
	// HTTPClient sends the requests. Default: a client that follows no
	// redirects (a 3xx counts as a failure), connects only to public
	// addresses unless AllowPrivate, and uses no proxy. A client given
	// here is used as it is: AllowPrivate does not apply to it.
	HTTPClient *http.Client
	// AllowPrivate lets deliveries go to loopback and private addresses
	// (RFC 1918, RFC 4193, carrier-grade NAT), for receivers on premises.
	// Link-local (the cloud metadata service), unspecified, multicast and
	// reserved addresses are refused even so. Endpoints checks the same at
	// creation (NewEndpoints).
	AllowPrivate bool
	// Linger is the least time between two dispatch rounds while changes
	// keep coming, so that a burst goes out in fuller batches (default
	// 250ms; it adds at most that to a delivery's latency).
	Linger time.Duration
	// Workers is the number of lanes this node delivers to at once (the
	// MaxWorkers of the webhook queue on the jobs host). Default 16.
	Workers int
	// Retention is how long delivered deliveries are kept for Deliveries;
	// dead ones are kept until redelivered. Default 7 days.
	Retention time.Duration
}

// Service delivers the outbox's events to webhook endpoints.
type Service struct {
	cfg         Config
	store       store.Store
	host        *jobs.Host
	deliveries  *jobs.DeliveryStore
	log         *slog.Logger
	http        *http.Client
	retry       retryPolicy
	jobTimeout  time.Duration
	rescueAfter time.Duration
	notify      chan struct{}

	mu      sync.Mutex
	running bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// laneArgs are the arguments of a lane's river job: deliver the lane's
// oldest pending deliveries to the endpoint.
type laneArgs struct {
	Endpoint string `json:"endpoint"`
	Lane     int    `json:"lane"`
}

// Kind names the job kind in river's tables.
func (laneArgs) Kind() string { return "roster_webhook_lane" }

// InsertOpts puts lane jobs in the webhook queue with their own attempt
// limit (see riverMaxAttempts).
func (laneArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueName, MaxAttempts: riverMaxAttempts}
}

// New returns a Service that delivers through host, on which it registers
// its lane worker and the webhook queue; host must not have built its river
// client yet. New neither starts the Service nor touches the databases, so
// a process that only calls Deliveries or Redeliver (the CLI) never calls
// Start, nor starts host. A node that delivers starts host (which works the
// lanes' jobs) and the Service (which dispatches the outbox into lanes).
func New(host *jobs.Host, cfg Config) (*Service, error) {
	if cfg.Store == nil || host == nil {
		return nil, errors.New("webhook: a jobs host and Config.Store are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	if cfg.Holder == "" {
		name, _ := os.Hostname()
		cfg.Holder = fmt.Sprintf("%s/%d/%s", name, os.Getpid(), crand.Text()[:8])
	}
	cfg.Timeout = orDefault(cfg.Timeout, DefaultTimeout)
	cfg.RetryBase = orDefault(cfg.RetryBase, DefaultRetryBase)
	cfg.RetryMax = max(orDefault(cfg.RetryMax, DefaultRetryMax), cfg.RetryBase)
	cfg.Lanes = orDefault(cfg.Lanes, DefaultLanes)
	cfg.MaxBatch = min(orDefault(cfg.MaxBatch, DefaultMaxBatch), MaxBatchLimit)
	cfg.PollInterval = orDefault(cfg.PollInterval, DefaultPollInterval)
	if cfg.Linger == 0 {
		cfg.Linger = DefaultLinger
	}
	cfg.Workers = orDefault(cfg.Workers, DefaultWorkers)
	cfg.Retention = orDefault(cfg.Retention, DefaultRetention)
	hc := cfg.HTTPClient
	if hc == nil {
		hc = newHTTPClient(cfg.Timeout, cfg.AllowPrivate)
	}
	// A job may run a little longer than its request (reading the batch,
	// recording the outcome); a job still "running" a little after that
	// was abandoned by a process that died, and its lane is given a new job.
	margin := min(max(cfg.Timeout/2, 500*time.Millisecond), 5*time.Second)
	s := &Service{
		cfg:         cfg,
		store:       cfg.Store,
		host:        host,
		deliveries:  host.Deliveries(),
		log:         cfg.Logger,
		http:        hc,
		retry:       retryPolicy{base: cfg.RetryBase, max: cfg.RetryMax},
		jobTimeout:  cfg.Timeout + margin,
		rescueAfter: cfg.Timeout + 2*margin,
		notify:      make(chan struct{}, 1),
	}
	if err := jobs.AddWorker(host, &laneWorker{s: s}); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	if err := host.AddQueue(queueName, river.QueueConfig{
		MaxWorkers: cfg.Workers,
		// A lane's next job is inserted as its previous one completes, so
		// the fetch cooldown is the pause between two batches of a lane.
		FetchCooldown: 10 * time.Millisecond,
		// Retries due within river's scheduler interval (5s) wait for the
		// next poll, so the poll follows short backoffs.
		FetchPollInterval: min(max(cfg.RetryBase, 50*time.Millisecond), time.Second),
	}); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	return s, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Start starts the dispatcher. It runs until Stop; ctx bounds only the
// start. The lanes' jobs are worked by the jobs host, started separately.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return errors.New("webhook: service already started")
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.running, s.cancel, s.done = true, cancel, make(chan struct{})
	go func() {
		defer close(s.done)
		s.dispatchLoop(runCtx)
	}()
	return nil
}

// Stop stops the dispatcher and releases its lease, so that another node
// takes dispatching over at once. Deliveries in flight are the jobs host's:
// stop it after the Service, and they finish (up to their job timeout) or
// are retried by the next process. What is still pending stays in the jobs
// database for the next Start, here or on another node.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return nil
	}
	s.running = false
	s.cancel()
	<-s.done
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.store.Leases().Release(rctx, leaseName, s.cfg.Holder); err != nil {
		// Not fatal: the lease expires within leaseTTL.
		s.log.Warn("webhook dispatcher: cannot release its lease", "err", err)
	}
	return nil
}

// Notify tells the service that a change committed, so that the dispatcher
// reads the outbox soon. It never blocks.
func (s *Service) Notify() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// retryPolicy is the backoff of a lane's job after a failed attempt:
// base·2^(attempt-1), capped at max, then ±25% at random.
type retryPolicy struct{ base, max time.Duration }

// NextRetry returns when a job that failed its attempt job.Attempt runs
// again.
func (p retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(p.delay(job.Attempt))
}

func (p retryPolicy) delay(attempt int) time.Duration {
	d := p.base
	for i := 1; i < attempt && d < p.max; i++ {
		d *= 2
	}
	d = min(d, p.max)
	d = time.Duration(float64(d) * (0.75 + 0.5*rand.Float64())) //nolint:gosec // jitter
	return max(d, time.Millisecond)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
