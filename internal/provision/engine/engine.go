package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/notify"
	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/provision/source/ldapsource"
	"github.com/rosterhq/roster/internal/provision/source/scimsource"
	"github.com/rosterhq/roster/internal/provision/target"
	"github.com/rosterhq/roster/internal/store"
)

// ErrBusy is returned by Run when another run of the job holds its lease:
// one cycle per job at a time, across every node.
var ErrBusy = errors.New("a cycle of this job is already running")

// Cycle statuses, as stored.
const (
	CycleRunning     = "Running"
	CycleSucceeded   = "Succeeded"
	CycleFailed      = "Failed"
	CycleInterrupted = "Interrupted"
)

// Config configures an Engine. Only Store is required.
type Config struct {
	Store store.Store
	// Logger receives one record per cycle and the engine's warnings.
	Logger *slog.Logger
	// Holder names this process in the job leases; default host/pid/random.
	Holder string
	// OpenSource and OpenTarget connect to a job's source and target;
	// defaults: the LDAP, SCIM and push connectors, and target.New.
	OpenSource func(job.Source) (source.Source, error)
	OpenTarget func(job.Target) (*target.Target, error)
	// LeaseTTL is how long a job's lease lasts without renewal: how soon
	// another node may run the job after this one died. Default 1 minute.
	LeaseTTL time.Duration
	// FlushEvery bounds how long a link or log entry waits in memory
	// before it is written. Default 200 ms.
	FlushEvery time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Notifier, if set, is told of a job's state changes — quarantine
	// entered or its reason changed, deletions held, recovery — once
	// each, however many cycles see them.
	Notifier notify.Notifier
	// EscrowBackoff, EscrowExpiry, EscrowThresholds, QuarantineBackoff and
	// QuarantineLimit tune escrow and quarantine; the defaults are
	// Entra's (DefaultEscrowBackoff and the others).
	EscrowBackoff     []time.Duration
	EscrowExpiry      time.Duration
	EscrowThresholds  EscrowThresholds
	QuarantineBackoff []time.Duration
	QuarantineLimit   time.Duration
	// Metrics, if set, receives the engine's Prometheus collectors.
	Metrics prometheus.Registerer
}

// Engine runs cycles of provisioning jobs.
type Engine struct {
	cfg  Config
	st   store.Store
	jobs *job.Service
	log  *slog.Logger
	// metrics are the engine's Prometheus collectors (metrics.go).
	metrics *metrics
}

// New returns an engine over the store.
func New(cfg Config) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Holder == "" {
		host, _ := os.Hostname()
		cfg.Holder = fmt.Sprintf("%s/%d/%08x", host, os.Getpid(), rand.Uint32())
	}
	if cfg.OpenSource == nil {
		cfg.OpenSource = openSourceWith(cfg.Store)
	}
	if cfg.OpenTarget == nil {
		cfg.OpenTarget = OpenTarget
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = time.Minute
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = 200 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.EscrowBackoff == nil {
		cfg.EscrowBackoff = DefaultEscrowBackoff
	}
	if cfg.EscrowExpiry <= 0 {
		cfg.EscrowExpiry = DefaultEscrowExpiry
	}
	if cfg.EscrowThresholds == (EscrowThresholds{}) {
		cfg.EscrowThresholds = DefaultEscrowThresholds
	}
	if cfg.QuarantineBackoff == nil {
		cfg.QuarantineBackoff = DefaultQuarantineBackoff
	}
	if cfg.QuarantineLimit <= 0 {
		cfg.QuarantineLimit = DefaultQuarantineLimit
	}
	e := &Engine{cfg: cfg, st: cfg.Store, jobs: job.New(cfg.Store), log: cfg.Logger}
	e.metrics = e.newMetrics()
	return e
}

// OpenSource connects to a job's source with the connector of its type.
func OpenSource(s job.Source) (source.Source, error) {
	switch s.Type {
	case job.SourceLDAP:
		o := ldapsource.Options{URL: s.URL, BindDN: s.BindDN, BindPassword: s.BindPassword,
			BaseDN: s.BaseDN, UserFilter: s.UserFilter, GroupFilter: s.GroupFilter, Anchor: s.Anchor, Delta: s.Delta}
		if s.Directory == job.DirectoryAD {
			o.UserFilter = cmp.Or(o.UserFilter, ldapsource.ADUserFilter)
			o.GroupFilter = cmp.Or(o.GroupFilter, ldapsource.ADGroupFilter)
			o.Anchor = cmp.Or(o.Anchor, "objectGUID")
		}
		return ldapsource.New(o)
	case job.SourceSCIM:
		return scimsource.New(s.URL, scimsource.Options{Token: s.Token})
	}
	return nil, fmt.Errorf("source type %q is not supported", s.Type)
}

// OpenTarget connects to a job's target.
func OpenTarget(t job.Target) (*target.Target, error) {
	o, err := target.FromJob(t)
	if err != nil {
		return nil, err
	}
	return target.New(o)
}

// RunOptions change one run.
type RunOptions struct {
	// DryRun reads the source and the target and logs what the cycle would
	// send, sending nothing and changing no link or watermark.
	DryRun bool
	// Initial makes the cycle initial even if the job does not need it.
	Initial bool
	// Progress, if set, is called about once a second with the counts so
	// far, and once at the end.
	Progress func(Stats)
	// release makes the cycle send the held deprovisioning actions and
	// nothing else (AllowDeletes).
	release bool
	// onDemand makes the cycle provision one object (ProvisionOnDemand).
	onDemand *target1
}

// target1 names the one object of a provision on demand.
type target1 struct {
	kind   source.Kind
	anchor string
}

// Stats count a cycle's outcomes.
type Stats struct {
	Read      int64 `json:"read"`
	InScope   int64 `json:"inScope"`
	Created   int64 `json:"created"`
	Updated   int64 `json:"updated"`
	Linked    int64 `json:"linked"`
	Disabled  int64 `json:"disabled"`
	Deleted   int64 `json:"deleted"`
	Unchanged int64 `json:"unchanged"`
	Skipped   int64 `json:"skipped"`
	Failed    int64 `json:"failed"`
	Warnings  int64 `json:"warnings"`
}

// counters are Stats counted by many workers.
type counters struct {
	read, inScope, created, updated, linked, disabled, deleted, unchanged, skipped, failed, warnings atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{Read: c.read.Load(), InScope: c.inScope.Load(), Created: c.created.Load(), Updated: c.updated.Load(),
		Linked: c.linked.Load(), Disabled: c.disabled.Load(), Deleted: c.deleted.Load(), Unchanged: c.unchanged.Load(),
		Skipped: c.skipped.Load(), Failed: c.failed.Load(), Warnings: c.warnings.Load()}
}

// Report is what a run did.
type Report struct {
	Cycle   string
	Job     string
	Initial bool
	DryRun  bool
	Status  string
	Started time.Time
	Ended   time.Time
	Stats   Stats
	// Warnings are the cycle's job-level warnings (an assignment that named
	// no group, a mapped attribute the target does not advertise).
	Warnings []string
	// Held counts the disables and deletes the cycle held because they
	// exceeded the job's deletion threshold; the job is then paused.
	Held int `json:",omitempty"`
	// Quarantine is set when the job is quarantined after the cycle.
	Quarantine *store.Quarantine `json:",omitempty"`
	// Escrow counts the job's objects in escrow after the cycle.
	Escrow int `json:",omitempty"`
}

// leaseName is the job's lease in the store's lease table.
func leaseName(jobName string) string { return "provision/" + jobName }

// Run runs one cycle of the named job now, in the caller's goroutine, and
// returns its report. The cycle holds the job's lease while it runs
// (ErrBusy if another run holds it). Objects that fail do not fail the
// run; an error means the cycle could not run or could not finish (the
// source could not be read, the target refused the credentials, the
// database failed), and the report, when the cycle started, says how far
// it got.
func (e *Engine) Run(ctx context.Context, name string, o RunOptions) (Report, error) {
	held, err := e.st.Leases().Acquire(ctx, leaseName(name), e.cfg.Holder, e.cfg.LeaseTTL)
	if err != nil {
		return Report{}, fmt.Errorf("job %s: take its lease: %w", name, err)
	}
	if !held {
		return Report{}, fmt.Errorf("job %s: %w", name, ErrBusy)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		e.renew(ctx, name, cancel)
	}()
	defer func() {
		cancel(nil)
		<-renewed
		rctx, c := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer c()
		if err := e.st.Leases().Release(rctx, leaseName(name), e.cfg.Holder); err != nil {
			e.log.Warn("provisioning: release the job's lease", "job", name, "err", err)
		}
	}()
	return e.run(ctx, name, o)
}

// renew keeps the job's lease while the cycle runs, and stops the cycle if
// the lease is lost: another node may then start the job.
func (e *Engine) renew(ctx context.Context, name string, cancel context.CancelCauseFunc) {
	t := time.NewTicker(e.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		held, err := e.st.Leases().Acquire(ctx, leaseName(name), e.cfg.Holder, e.cfg.LeaseTTL)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			e.log.Warn("provisioning: renew the job's lease", "job", name, "err", err)
			continue // the next renewal may succeed before the lease ends
		}
		if !held {
			cancel(errors.New("the job's lease passed to another node"))
			return
		}
	}
}

func (e *Engine) run(ctx context.Context, name string, o RunOptions) (Report, error) {
	j, err := e.jobs.Get(ctx, name)
	if err != nil {
		return Report{}, fmt.Errorf("job %s: %w", name, err)
	}
	state, err := e.st.Provisioning().State(ctx, name)
	if err != nil {
		return Report{}, fmt.Errorf("job %s: read its state: %w", name, err)
	}
	if state.Cycle != "" {
		// A cycle this job's lease no longer covers was cut off (its
		// process died); say so in its record.
		if prev, err := e.st.Provisioning().Cycle(ctx, state.Cycle); err == nil && prev.Status == CycleRunning {
			prev.Status, prev.Ended = CycleInterrupted, e.cfg.Now().UTC()
			prev.Error = "the process running the cycle stopped before it ended; the next cycle read again from the last watermark"
			if err := e.st.Write(ctx, func(w store.Writer) error { return w.Provisioning().PutCycle(ctx, prev) }); err != nil {
				return Report{}, fmt.Errorf("job %s: mark cycle %s interrupted: %w", name, prev.ID, err)
			}
		}
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Report{}, err
	}
	c, err := newCycle(ctx, e, j, state, id.String(), o)
	if err != nil {
		// A job whose source or target cannot be opened (a configuration
		// the parser let through, an unreachable name) still gets a cycle
		// record saying why, and its next run one interval away, so that
		// the scheduler does not retry it every pass.
		now := e.cfg.Now().UTC()
		rec := store.ProvisionCycle{ID: id.String(), Job: name, DryRun: o.DryRun, Started: now, Ended: now,
			Status: CycleFailed, Error: err.Error()}
		werr := e.st.Write(ctx, func(w store.Writer) error {
			if err := w.Provisioning().PutCycle(ctx, rec); err != nil {
				return err
			}
			if o.DryRun {
				return nil
			}
			st := state
			st.Cycle, st.Updated = rec.ID, now
			st.NextRun = now.Add(time.Duration(j.Schedule.Interval))
			st.Totals = addTotals(st.Totals, rec, Stats{}, false, false)
			return w.Provisioning().PutState(ctx, st)
		})
		rep := Report{Cycle: rec.ID, Job: name, DryRun: o.DryRun, Status: CycleFailed, Started: now, Ended: now}
		e.metrics.cycleEnded(rep, false)
		return rep, errors.Join(fmt.Errorf("job %s: %w", name, err), werr)
	}
	return c.run(ctx)
}

// jitter spreads the next runs of many jobs: up to a tenth of the
// interval, at most five minutes, as Okta's scheduler does.
func jitter(interval time.Duration) time.Duration {
	j := min(interval/10, 5*time.Minute)
	if j <= 0 {
		return 0
	}
	return rand.N(j)
}
