// Package rerun runs a piece of background work on demand, one run at a
// time: a request while a run is in progress makes it run once more after,
// however many requests came. The storage backends use it to finish tenant
// deletions left unfinished.
package rerun

import (
	"context"
	"errors"
	"sync"
)

// Runner runs fn in the background when Trigger is called.
type Runner struct {
	fn     func(ctx context.Context) error
	ctx    context.Context // cancelled by Stop
	cancel context.CancelFunc

	mu      sync.Mutex
	stopped bool // by Stop: start no more runs
	running bool
	again   bool // a run was asked for while one ran
	wg      sync.WaitGroup
	// started and finished count runs; ran is closed, and replaced, each
	// time a run finishes, with its error in lastErr.
	started, finished uint64
	lastErr           error
	ran               chan struct{}
}

// New returns a Runner of fn. An error ends a run; the next Trigger tries
// again.
func New(fn func(ctx context.Context) error) *Runner {
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{fn: fn, ctx: ctx, cancel: cancel, ran: make(chan struct{})}
}

// ErrStopped is the error of a Run on a stopped Runner.
var ErrStopped = errors.New("runner stopped")

// Run triggers a run and waits until a run that started after the call
// has finished, returning its error. If ctx ends first, Run returns its
// error and the run goes on.
func (r *Runner) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return ErrStopped
	}
	// A run in progress may have started before this call: wait for the
	// next one.
	target := r.started + 1
	r.mu.Unlock()
	r.Trigger()
	for {
		r.mu.Lock()
		done, err, ran, stopped := r.finished >= target, r.lastErr, r.ran, r.stopped
		r.mu.Unlock()
		switch {
		case done:
			return err
		case stopped:
			return ErrStopped
		}
		select {
		case <-ran:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Trigger starts a run, or asks for one more after the run in progress.
func (r *Runner) Trigger() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	if r.running {
		r.again = true
		return
	}
	r.running = true
	r.wg.Add(1)
	go r.loop()
}

func (r *Runner) loop() {
	defer r.wg.Done()
	for {
		r.mu.Lock()
		r.started++
		r.mu.Unlock()
		err := r.fn(r.ctx)
		r.mu.Lock()
		r.finished++
		r.lastErr = err
		close(r.ran)
		r.ran = make(chan struct{})
		if !r.again || r.stopped {
			r.running = false
			r.mu.Unlock()
			return
		}
		r.again = false
		r.mu.Unlock()
	}
}

// Wait waits for the runs in progress, for tests.
func (r *Runner) Wait() { r.wg.Wait() }

// Stop cancels the run in progress, starts no more, and waits for it.
func (r *Runner) Stop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
}
