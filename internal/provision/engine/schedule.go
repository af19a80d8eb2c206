package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/rosterhq/roster/internal/jobs"
	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/store"
)

// SchedulePeriod is how often the scheduler looks for jobs due to run.
const SchedulePeriod = 15 * time.Second

const queueName = "provisioning"

// scheduleArgs is the periodic job that finds due jobs.
type scheduleArgs struct{}

func (scheduleArgs) Kind() string { return "provision_schedule" }

// cycleArgs runs one cycle of a job.
type cycleArgs struct {
	Job string `json:"job"`
}

func (cycleArgs) Kind() string { return "provision_cycle" }

// InsertOpts put cycles on the provisioning queue, tried once: the next
// schedule pass runs a job again when it is due.
func (cycleArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueName, MaxAttempts: 1}
}

// Register puts the engine's scheduler on the jobs host: river's leader
// inserts a scheduling pass every SchedulePeriod, which queues a cycle for
// every job that is On and due (its next run, stored in the database, is
// past); any node then runs it under the job's lease, so a job never runs
// twice at once. workers bounds the cycles one node runs at once.
func (e *Engine) Register(h *jobs.Host, workers int) error {
	if workers <= 0 {
		workers = 2
	}
	if err := jobs.AddWorker(h, &scheduleWorker{e: e, h: h}); err != nil {
		return fmt.Errorf("provisioning: %w", err)
	}
	if err := jobs.AddWorker(h, &cycleWorker{e: e}); err != nil {
		return fmt.Errorf("provisioning: %w", err)
	}
	if err := h.AddQueue(queueName, river.QueueConfig{MaxWorkers: workers}); err != nil {
		return fmt.Errorf("provisioning: %w", err)
	}
	return h.AddPeriodicJob(river.NewPeriodicJob(river.PeriodicInterval(SchedulePeriod),
		func() (river.JobArgs, *river.InsertOpts) {
			return scheduleArgs{}, &river.InsertOpts{Queue: queueName, MaxAttempts: 1}
		}, &river.PeriodicJobOpts{RunOnStart: true}))
}

type scheduleWorker struct {
	river.WorkerDefaults[scheduleArgs]
	e *Engine
	h *jobs.Host
}

func (w *scheduleWorker) Work(ctx context.Context, _ *river.Job[scheduleArgs]) error {
	due, err := w.e.Due(ctx)
	if err != nil {
		return err
	}
	if len(due) == 0 {
		return nil
	}
	client, err := w.h.Client()
	if err != nil {
		return err
	}
	for _, name := range due {
		if _, err := client.Insert(ctx, cycleArgs{Job: name}, nil); err != nil {
			return fmt.Errorf("queue a cycle of job %s: %w", name, err)
		}
	}
	return nil
}

// Due returns the jobs that are On and whose next run is past.
func (e *Engine) Due(ctx context.Context) ([]string, error) {
	js, err := e.jobs.List(ctx)
	if err != nil {
		return nil, err
	}
	now := e.cfg.Now()
	var due []string
	for _, j := range js {
		if j.Status != job.StatusOn {
			continue
		}
		st, err := e.st.Provisioning().State(ctx, j.Name)
		if err != nil {
			return nil, err
		}
		if !st.NextRun.After(now) {
			due = append(due, j.Name)
		}
	}
	return due, nil
}

type cycleWorker struct {
	river.WorkerDefaults[cycleArgs]
	e *Engine
}

// Timeout: a cycle runs as long as it needs; the lease, renewed while it
// runs, is what keeps a second node out.
func (w *cycleWorker) Timeout(*river.Job[cycleArgs]) time.Duration { return -1 }

func (w *cycleWorker) Work(ctx context.Context, rj *river.Job[cycleArgs]) error {
	// Several passes may have queued the job; only one that finds it
	// still On and due runs it.
	j, err := w.e.jobs.Get(ctx, rj.Args.Job)
	if err != nil || j.Status != job.StatusOn {
		return nil
	}
	st, err := w.e.st.Provisioning().State(ctx, j.Name)
	if err != nil {
		return err
	}
	if st.NextRun.After(w.e.cfg.Now()) {
		return nil
	}
	_, err = w.e.Run(ctx, j.Name, RunOptions{})
	if errors.Is(err, ErrBusy) {
		return nil
	}
	if err != nil {
		// The cycle's record holds the error; river need not retry.
		w.e.log.Warn("provisioning cycle failed", "job", j.Name, "err", err)
	}
	return nil
}

// Trigger makes a job due now: the scheduler runs its next cycle within
// SchedulePeriod if the job is On. The admin API's "run now" uses it; the
// CLI's `job run --once` runs a cycle in its own process instead.
func (e *Engine) Trigger(ctx context.Context, name string) error {
	if _, err := e.jobs.Get(ctx, name); err != nil {
		return fmt.Errorf("job %s: %w", name, err)
	}
	return e.st.Write(ctx, func(w store.Writer) error {
		st, err := w.Provisioning().State(ctx, name)
		if err != nil {
			return err
		}
		st.NextRun, st.Updated = time.Time{}, e.cfg.Now().UTC()
		return w.Provisioning().PutState(ctx, st)
	})
}
