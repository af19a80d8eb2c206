// Package background runs Roster's periodic maintenance, such as purging
// expired tokens, on one node at a time: before each run a node takes the
// task's lease in the database, so however many nodes share it, each
// period's run happens once. A node that stops holding a lease (it died, or
// its database calls fail) loses it when the lease expires, one period
// later, and another node takes over.
package background

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/rosterhq/roster/internal/store"
)

// Task is a piece of periodic work.
type Task struct {
	Name  string // names the lease; the same on every node
	Every time.Duration
	// Run does one period's work. Its ctx ends when the lease may have
	// passed to another node, at most one period after the run began.
	Run func(ctx context.Context) error
}

// Runner runs tasks under leases held as Holder.
type Runner struct {
	leases store.LeaseStore
	holder string
	log    *slog.Logger
}

// NewRunner returns a Runner whose holder name is unique to this process.
func NewRunner(leases store.LeaseStore, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	return &Runner{leases: leases, holder: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), rand.Text()[:8]), log: log}
}

// Holder is the name this runner holds leases under.
func (r *Runner) Holder() string { return r.holder }

// Run runs every task at once and then each period, when this node holds
// its lease, until
// ctx is done; then it releases its leases so another node need not wait.
func (r *Runner) Run(ctx context.Context, tasks ...Task) {
	var wg sync.WaitGroup
	for _, t := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.loop(ctx, t)
		}()
	}
	wg.Wait()
}

func (r *Runner) loop(ctx context.Context, t Task) {
	tick := time.NewTicker(t.Every)
	defer tick.Stop()
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = r.leases.Release(rctx, t.Name, r.holder)
	}()
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
		// The lease lasts one period: renewed by its holder at each tick,
		// free for another node one period after the holder goes quiet. It
		// is good at least until asked+Every, whenever the database granted
		// it, so the run must end by then; a grant that arrives late (a slow
		// database) leaves too little of the lease to start on.
		asked := time.Now()
		held, err := r.leases.Acquire(ctx, t.Name, r.holder, t.Every)
		if err != nil {
			r.log.Warn("background task: cannot take its lease", "task", t.Name, "err", err)
			continue
		}
		if !held || time.Since(asked) > t.Every/2 {
			continue
		}
		rctx, cancel := context.WithDeadline(ctx, asked.Add(t.Every))
		if err := t.Run(rctx); err != nil && ctx.Err() == nil {
			r.log.Warn("background task failed", "task", t.Name, "err", err)
		}
		cancel()
	}
}
