package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/internal/provision/expr"
	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/mapping"
	"github.com/rosterhq/roster/internal/provision/scope"
	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/provision/target"
	"github.com/rosterhq/roster/internal/store"
)

// Link states (store.Link.State).
const (
	linkActive   = "active"
	linkDisabled = "disabled"
)

// Watermark keys in store.ProvisionState.Watermarks besides the kinds:
// the fingerprint of the assignments, and when users were last read in
// full.
const (
	assignmentsKey = "assignments"
	fullReadKey    = "fullRead"
)

// FullReadEvery is how often an incremental cycle reads every user anyway:
// a delta by modifyTimestamp cannot see deletes, and a full read finds the
// users the source no longer has (Okta finds deletes the same way).
const FullReadEvery = 24 * time.Hour

// link is a link as the cycle's code uses it.
type link struct {
	target string
	// hash is hashKey of the stored fingerprint; 0 when there is none.
	hash     uint64
	disabled bool
}

// held is a link as a cycle keeps it in memory, one per provisioned
// object, by value and with its anchor and target id packed (key): about
// 90 bytes each, so that 100,000 links take 9 MB.
type held struct {
	target   key
	hash     uint64
	disabled bool
	// seen is set when the cycle read the object from the source.
	seen bool
}

func (h held) link() *link {
	return &link{target: h.target.String(), hash: h.hash, disabled: h.disabled}
}

// key is an anchor or a target id as a cycle keeps it in memory: a UUID in
// its canonical text form (entryUUID, objectGUID as the LDAP source
// writes it, Roster's ids) packed into 16 bytes, anything else as text.
type key struct {
	u [16]byte
	s string
}

func keyOf(v string) key {
	if len(v) == 36 {
		if u, err := uuid.Parse(v); err == nil && u != uuid.Nil && u.String() == v {
			return key{u: u}
		}
	}
	return key{s: v}
}

func (k key) String() string {
	if k.s != "" || k.u == ([16]byte{}) {
		return k.s
	}
	return uuid.UUID(k.u).String()
}

// hashKey shortens an object's fingerprint for the in-memory links: 64
// bits of a SHA-256 are plenty to tell a changed object from an unchanged
// one. The empty fingerprint (none stored) is 0 and equals nothing.
func hashKey(h string) uint64 {
	if h == "" {
		return 0
	}
	f := fnv.New64a()
	f.Write([]byte(h))
	return f.Sum64() | 1
}

// unchanged reports whether the object's fingerprint is the link's.
func (l *link) unchanged(hash string) bool { return l.hash != 0 && l.hash == hashKey(hash) }

// cycle is one run of a job.
type cycle struct {
	e       *Engine
	job     job.Job
	state   store.ProvisionState
	id      string
	initial bool
	dry     bool
	started time.Time
	opts    RunOptions

	src    source.Source
	tgt    *target.Target
	users  *mapping.Set
	groups *mapping.Set
	ufilt  *scope.Filters
	gfilt  *scope.Filters
	assign *scope.Assignments
	env    expr.Env
	// readFrom is the Import step's detail: which source.
	readFrom string
	// refs resolves reference values (manager DNs) to anchors when the
	// source's references are not anchors.
	refs source.Referencer

	n   counters
	rec *recorder
	// ctx is the cycle's context; cancel stops the cycle with a cause
	// (the target refused the credentials mid-cycle).
	ctx    context.Context
	cancel context.CancelCauseFunc
	// escrow are the job's objects in escrow by kind and anchor
	// (escrow.go), escrowN how many; escrowPut and escrowDrop are what the
	// cycle's end writes of them.
	escrow     map[source.Kind]map[key]*escrowed
	escrowN    atomic.Int64
	escrowPut  []store.Escrow
	escrowDrop map[source.Kind][]string
	// usersComplete is set when the cycle read every user of the source.
	usersComplete bool
	// downFailures counts the objects that failed for want of the target
	// (no answer, a server error), for the unreachable-target rule.
	downFailures atomic.Int64
	// failedUsers and failedGroups count the objects that failed: while
	// any did, the kind's watermark stays where it was, so that the next
	// cycle reads them again (the others are skipped as unchanged).
	failedUsers, failedGroups atomic.Int64

	mu sync.Mutex
	// links are the job's links by kind and anchor.
	links map[source.Kind]map[key]held
	// claimed maps a matching value (hashed) to the anchor that claimed it
	// this cycle, to find duplicate source entries.
	claimed map[uint64]key
	// index maps a matching value (hashed) to the target id holding it, in
	// initial cycles (dupID when several do); nil otherwise.
	index map[source.Kind]map[uint64]string
	// dns maps the hashed DN of each user read this cycle to its anchor,
	// for sources whose references are DNs.
	dns map[uint64]key
	// assigned are the assigned groups, read by readAssignments.
	assigned []source.Object
	// membersMoved is set when a user was created, enabled, disabled or
	// deleted: unchanged groups may then have other members in the target.
	membersMoved atomic.Bool
	// staged are the cycle's deprovisioning actions, sent or held at its
	// end (held.go); held says why they were held, if they were.
	staged []staged
	held   string
	// linkedAtStart counts the job's links when the cycle began, for the
	// threshold's percentage.
	linkedAtStart int
	// pending are references to write once the objects they name exist.
	pending []pendingRef
	// warnings are the cycle's job-level warnings.
	warnings []string
	// track follows the cycle's progress (progress.go).
	track tracker
	// steady is set when the cycle's end leaves the job steady.
	steady atomic.Bool
}

// dupID marks an index entry held by several target objects.
const dupID = "\x00dup"

type pendingRef struct {
	anchor, targetID string
	entries          []mapping.Entry
}

func newChangeID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

func newCycle(ctx context.Context, e *Engine, j job.Job, state store.ProvisionState, id string, o RunOptions) (*cycle, error) {
	c := &cycle{e: e, job: j, state: state, id: id, dry: o.DryRun, opts: o, started: e.cfg.Now().UTC(),
		links:   map[source.Kind]map[key]held{source.User: {}, source.Group: {}},
		escrow:  map[source.Kind]map[key]*escrowed{source.User: {}, source.Group: {}},
		claimed: map[uint64]key{}}
	// Without a watermark (a cycle with failures keeps none) the users are
	// read in full, but linked, unchanged objects are still skipped: only
	// an initial cycle evaluates every object again.
	c.initial = (o.Initial || j.NeedsInitial) && !o.release && o.onDemand == nil
	m := j.EffectiveMappings()
	var err error
	if c.users, err = mapping.Compile("User", m.Users); err != nil {
		return nil, fmt.Errorf("user mappings: %w", err)
	}
	if c.groups, err = mapping.Compile("Group", m.Groups); err != nil {
		return nil, fmt.Errorf("group mappings: %w", err)
	}
	if c.ufilt, err = scope.Compile(j.ScopingFilters.Users); err != nil {
		return nil, fmt.Errorf("user scoping filters: %w", err)
	}
	if c.gfilt, err = scope.Compile(j.ScopingFilters.Groups); err != nil {
		return nil, fmt.Errorf("group scoping filters: %w", err)
	}
	c.assign = scope.NewAssignments(j.Assignments)
	if c.src, err = e.cfg.OpenSource(j.Source); err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	c.readFrom = "read from " + c.src.Describe()
	if r, ok := c.src.(source.Referencer); ok {
		c.refs = r
		c.dns = map[uint64]key{}
	}
	if c.tgt, err = e.cfg.OpenTarget(j.Target); err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	c.env = expr.Env{Now: e.cfg.Now}
	return c, nil
}

// run runs the cycle and records its outcome.
func (c *cycle) run(ctx context.Context) (Report, error) {
	ctx, c.cancel = context.WithCancelCause(ctx)
	defer c.cancel(nil)
	c.ctx = ctx
	rep := Report{Cycle: c.id, Job: c.job.Name, Initial: c.initial, DryRun: c.dry, Started: c.started}
	rec := store.ProvisionCycle{ID: c.id, Job: c.job.Name, Initial: c.initial, DryRun: c.dry, Started: c.started, Status: CycleRunning}
	err := c.e.st.Write(ctx, func(w store.Writer) error {
		if err := w.Provisioning().PutCycle(ctx, rec); err != nil {
			return err
		}
		if c.dry || c.opts.onDemand != nil {
			return nil
		}
		st := c.state
		st.Cycle, st.Updated = c.id, c.started
		return w.Provisioning().PutState(ctx, st)
	})
	if err != nil {
		return rep, fmt.Errorf("record the cycle's start: %w", err)
	}
	c.rec = newRecorder(c.e.st, c.e.cfg.FlushEvery, c.dry)
	stopProgress := c.progress()
	stopTracking := c.trackProgress(ctx)

	marks, runErr := c.phases(ctx)
	if cause := context.Cause(ctx); runErr != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		runErr = cause
	}
	c.escrowPut, c.escrowDrop = c.settleEscrow(map[source.Kind]bool{source.User: runErr == nil && c.usersComplete})

	stopProgress()
	stopTracking()
	if err := c.rec.close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("write links and logs: %w", err)
	}
	rep.Stats, rep.Warnings, rep.Ended = c.n.snapshot(), c.warnings, c.e.cfg.Now().UTC()
	if c.opts.Progress != nil {
		c.opts.Progress(rep.Stats)
	}
	rec.Ended, rec.Status = rep.Ended, CycleSucceeded
	if runErr != nil {
		rec.Status, rec.Error = CycleFailed, runErr.Error()
		if errors.Is(context.Cause(ctx), context.Canceled) || ctx.Err() != nil {
			if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
				rec.Error = cause.Error()
			}
		}
	}
	rep.Status = rec.Status
	// Quarantine is judged by the cycles that run the job's schedule: not
	// a dry run, a provision on demand or a release of held deletions.
	judged := !c.dry && c.opts.onDemand == nil && !c.opts.release
	failures, references := c.escrowFigures(c.escrowDrop)
	quarantine, wait := c.quarantineAfter(runErr, rep.Stats, failures, references, c.inStep(failures))
	rep.Escrow = failures + references
	if judged {
		rep.Quarantine = quarantine
	} else {
		rep.Quarantine = c.state.Quarantine
	}
	stats, _ := json.Marshal(struct {
		Stats
		Warnings []string `json:"warnings,omitempty"`
	}{rep.Stats, c.warnings})
	rec.Stats = stats
	// The outcome is written even when the run's context ended, so that a
	// stopped cycle is not left Running.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err = c.e.st.Write(wctx, func(w store.Writer) error {
		if err := w.Provisioning().PutCycle(wctx, rec); err != nil {
			return err
		}
		if c.dry || c.opts.onDemand != nil {
			// On demand leaves the schedule and watermarks alone.
			return nil
		}
		if c.keepsEscrow() {
			if err := w.Provisioning().PutEscrows(wctx, c.escrowPut); err != nil {
				return err
			}
			for kind, anchors := range c.escrowDrop {
				if _, err := w.Provisioning().DeleteEscrows(wctx, c.job.Name, string(kind), anchors); err != nil {
					return err
				}
			}
		}
		st, err := w.Provisioning().State(wctx, c.job.Name)
		if err != nil {
			return err
		}
		if runErr == nil {
			// Watermarks move only after a cycle that succeeded, so a
			// failed or killed one is read again.
			if st.Watermarks == nil {
				st.Watermarks = map[string]string{}
			}
			for k, v := range marks {
				if v == "" {
					delete(st.Watermarks, k)
				} else {
					st.Watermarks[k] = v
				}
			}
		}
		st.Cycle, st.Updated = c.id, rep.Ended
		if judged {
			st.Quarantine = quarantine
			st.NextRun = rep.Ended.Add(wait)
		} else {
			st.NextRun = rep.Ended.Add(time.Duration(c.job.Schedule.Interval) + jitter(time.Duration(c.job.Schedule.Interval)))
		}
		st.Totals = c.addTotals(st.Totals, rec)
		return w.Provisioning().PutState(wctx, st)
	})
	if err != nil && runErr == nil {
		runErr = fmt.Errorf("record the cycle's end: %w", err)
	}
	if runErr == nil && c.initial && !c.dry {
		if err := c.e.jobs.InitialDone(wctx, c.job); err != nil {
			runErr = err
		}
	}
	if runErr == nil && c.held != "" {
		// The job stops with the reason, as Entra's does.
		if _, err := c.e.jobs.SetStatus(wctx, c.job.Name, job.StatusPaused, "engine: "+c.held); err != nil {
			runErr = err
		}
		rep.Held = len(c.staged)
	}
	if runErr == nil || judged {
		c.afterQuarantine(wctx, quarantine, judged)
	}
	if !c.dry && c.opts.onDemand == nil {
		c.e.notify(wctx, c.job.Name, c.id)
	}
	c.e.log.Info("provisioning cycle", "job", c.job.Name, "cycle", c.id, "initial", c.initial, "dryRun", c.dry,
		"status", rep.Status, "created", rep.Stats.Created, "updated", rep.Stats.Updated, "disabled", rep.Stats.Disabled,
		"deleted", rep.Stats.Deleted, "failed", rep.Stats.Failed, "took", rep.Ended.Sub(rep.Started).Round(time.Millisecond))
	c.observeEnd(rep)
	return rep, runErr
}

// progress calls the Progress option about once a second until stopped.
func (c *cycle) progress() (stop func()) {
	if c.opts.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				c.opts.Progress(c.n.snapshot())
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// phases runs the cycle's steps and returns the watermarks to keep.
func (c *cycle) phases(ctx context.Context) (map[string]string, error) {
	if c.opts.release {
		return c.release(ctx)
	}
	if c.opts.onDemand != nil {
		return nil, c.provisionOne(ctx, *c.opts.onDemand)
	}
	marks := map[string]string{}
	if err := c.loadLinks(ctx); err != nil {
		return nil, err
	}
	if c.keepsEscrow() {
		if err := c.loadEscrow(ctx); err != nil {
			return nil, err
		}
	}
	if err := c.checkTarget(ctx); err != nil {
		return nil, err
	}
	fullUsers := c.initial
	if c.job.Scope == job.ScopeAssigned {
		sum, err := c.readAssignments(ctx)
		if err != nil {
			return nil, err
		}
		marks[assignmentsKey] = sum
		if sum != c.state.Watermarks[assignmentsKey] {
			fullUsers = true
		}
		for _, a := range c.assign.Unresolved() {
			c.warn("assignment of group %q names no group the source has", a.Group)
		}
	}
	if last, err := time.Parse(time.RFC3339, c.state.Watermarks[fullReadKey]); err != nil || c.started.Sub(last) >= FullReadEvery {
		fullUsers = true
	}
	if fullUsers {
		marks[fullReadKey] = c.started.Format(time.RFC3339)
	}
	if c.initial {
		if err := c.buildIndex(ctx); err != nil {
			return nil, err
		}
	}

	c.setPhase(phaseUsers, fullUsers)
	mark, complete, err := c.readUsers(ctx, fullUsers)
	if err != nil {
		return nil, err
	}
	c.usersComplete = fullUsers && complete
	if err := c.retryEscrow(ctx, source.User); err != nil {
		return nil, err
	}
	// Objects that failed are retried from the escrow; a source that
	// cannot read one object again reads the window again instead.
	if mark != "" && (c.failedUsers.Load() == 0 || c.keepsEscrow()) {
		marks[string(source.User)] = mark
	}
	c.setPhase(phaseDeprovisioning, false)
	if err := c.sweepUsers(ctx, fullUsers && complete); err != nil {
		return nil, err
	}
	c.setPhase(phaseReferences, false)
	if err := c.writePending(ctx); err != nil {
		return nil, err
	}
	c.setPhase(phaseGroups, false)
	mark, err = c.readGroups(ctx, fullUsers)
	if err != nil {
		return nil, err
	}
	if err := c.retryEscrow(ctx, source.Group); err != nil {
		return nil, err
	}
	if mark != "" && (c.failedGroups.Load() == 0 || c.keepsEscrow()) {
		marks[string(source.Group)] = mark
	}
	c.setPhase(phaseDeprovisioning, false)
	held, err := c.settle(ctx)
	if err != nil {
		return nil, err
	}
	marks[heldKey] = heldString(held)
	return marks, ctx.Err()
}

// loadLinks reads the job's links into memory.
func (c *cycle) loadLinks(ctx context.Context) error {
	return c.e.st.Provisioning().Links(ctx, c.job.Name, "", func(l store.Link) error {
		m := c.links[source.Kind(l.Kind)]
		if m == nil {
			return nil
		}
		m[keyOf(l.SourceAnchor)] = held{target: keyOf(l.TargetID), hash: hashKey(l.Hash), disabled: l.State == linkDisabled}
		c.linkedAtStart++
		return nil
	})
}

// checkTarget stops a cycle whose target cannot be reached or refuses the
// credentials, before it reads the source, and warns about mapped
// attributes the target does not advertise.
func (c *cycle) checkTarget(ctx context.Context) error {
	match := "userName"
	if keys := c.users.Matching(); len(keys) > 0 {
		match = keys[0]
	}
	if err := c.testTarget(ctx, match); err != nil {
		return &targetDown{reason: downReason(err), err: fmt.Errorf("target: %w", err)}
	}
	if !c.initial {
		return nil
	}
	for _, t := range []struct {
		rt  string
		set *mapping.Set
	}{{"User", c.users}, {"Group", c.groups}} {
		ws, err := c.tgt.SchemaWarnings(ctx, t.rt, t.set.Paths())
		if err != nil {
			c.warn("read the target's schemas: %v", err)
			continue
		}
		for _, w := range ws {
			c.warn("%s", w)
		}
	}
	return nil
}

// testTarget runs the target's connection test, again after a pause when
// the target answered 429 or a server error, or not in time: a busy target
// at the start of a cycle is not a broken one.
func (c *cycle) testTarget(ctx context.Context, match string) error {
	var err error
	for attempt, pause := range []time.Duration{0, time.Second, 3 * time.Second} {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(pause):
			}
		}
		err = c.tgt.Test(ctx, match)
		var te *source.TestError
		if err == nil || !errors.As(err, &te) || (te.Status != http.StatusTooManyRequests && te.Status < 500 && te.Cause != source.CauseTimeout) {
			return err
		}
	}
	return err
}

func (c *cycle) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.mu.Lock()
	c.warnings = append(c.warnings, msg)
	c.mu.Unlock()
	c.e.log.Warn("provisioning: "+msg, "job", c.job.Name, "cycle", c.id)
}

// readAssignments lists the source's groups to learn the assignments, and
// returns a fingerprint of who is assigned with which roles.
func (c *cycle) readAssignments(ctx context.Context) (string, error) {
	l, ok := c.src.(source.FullLister)
	if !ok {
		return "", errors.New("the source cannot list its groups, which \"assigned\" scope needs")
	}
	var groups []string
	err := l.List(ctx, source.Group, func(g source.Object) error {
		if c.assign.ObserveGroup(g) {
			// Only assigned groups are provisioned; they are kept for the
			// group step, which so need not list the groups again.
			c.assigned = append(c.assigned, g)
			ms := make([]string, 0, len(g.Members))
			for _, m := range g.Members {
				ms = append(ms, m.Anchor)
			}
			slices.Sort(ms)
			groups = append(groups, g.Anchor+"="+strings.Join(ms, ","))
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("source: list groups: %w", err)
	}
	slices.Sort(groups)
	h := sha256.New()
	for _, a := range c.job.Assignments {
		fmt.Fprintf(h, "%s\x00%s\x00", a.Group, a.Role)
	}
	for _, g := range groups {
		h.Write([]byte(g))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// keyHash hashes a matching value with its attribute path, case-folded:
// SCIM matching attributes (userName, displayName) compare without case.
func keyHash(path, value string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(path)))
	h.Write([]byte{0})
	h.Write([]byte(strings.ToLower(value)))
	return h.Sum64()
}

func dnHash(dn string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(strings.ReplaceAll(dn, " ", ""))))
	return h.Sum64()
}

// indexable reports whether a matching path is a top-level attribute an
// index built from a listing can answer for.
func indexable(path string) bool {
	return !strings.ContainsAny(path, ".[:")
}

// buildIndex lists the target's users and groups once, with their
// matching attributes, so that an initial cycle matches without a query
// per object (ENGINE-NOTES §6): 100,000 users are 1,000 pages.
func (c *cycle) buildIndex(ctx context.Context) error {
	c.index = map[source.Kind]map[uint64]string{}
	for _, t := range []struct {
		kind source.Kind
		ep   string
		set  *mapping.Set
	}{{source.User, "User", c.users}, {source.Group, "Group", c.groups}} {
		var paths []string
		for _, p := range t.set.Matching() {
			if indexable(p) {
				paths = append(paths, p)
			}
		}
		if len(paths) == 0 {
			continue
		}
		idx := map[uint64]string{}
		err := c.tgt.Each(ctx, endpoint(t.kind), append([]string{"id"}, paths...), func(r map[string]any) error {
			id, _ := r["id"].(string)
			for _, p := range paths {
				v, ok := attr(r, p).(string)
				if !ok || v == "" || id == "" {
					continue
				}
				k := keyHash(p, v)
				if prev, ok := idx[k]; ok && prev != id {
					idx[k] = dupID
				} else {
					idx[k] = id
				}
			}
			return nil
		})
		if err != nil {
			// Matching falls back to a query per object.
			c.warn("list the target's %ss to match them: %v", t.ep, err)
			continue
		}
		c.index[t.kind] = idx
	}
	return nil
}

// attr returns a top-level attribute of a resource, its name matched
// without case.
func attr(r map[string]any, name string) any {
	if v, ok := r[name]; ok {
		return v
	}
	for k, v := range r {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// getLink returns the object's link, marking it seen.
func (c *cycle) getLink(kind source.Kind, anchor string) (*link, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := keyOf(anchor)
	h, ok := c.links[kind][k]
	if !ok {
		return nil, false
	}
	h.seen = true
	c.links[kind][k] = h
	return h.link(), true
}

// setLink records a link in memory and queues it for the store.
func (c *cycle) setLink(kind source.Kind, anchor, targetID, display, hash string, disabled bool) {
	c.mu.Lock()
	c.links[kind][keyOf(anchor)] = held{target: keyOf(targetID), hash: hashKey(hash), disabled: disabled, seen: true}
	c.mu.Unlock()
	state := linkActive
	if disabled {
		state = linkDisabled
	}
	now := c.e.cfg.Now().UTC()
	c.rec.link(store.Link{Job: c.job.Name, Kind: string(kind), SourceAnchor: anchor, TargetID: targetID,
		Display: display, State: state, Hash: hash, Created: now, Updated: now})
}

// dropLink forgets a link.
func (c *cycle) dropLink(kind source.Kind, anchor string) {
	c.mu.Lock()
	delete(c.links[kind], keyOf(anchor))
	c.mu.Unlock()
	c.rec.unlink(string(kind), anchor)
}

// targetOf returns the target id of an active linked object.
func (c *cycle) targetOf(kind source.Kind, anchor string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.links[kind][keyOf(anchor)]
	if !ok || h.disabled {
		return "", false
	}
	return h.target.String(), true
}
