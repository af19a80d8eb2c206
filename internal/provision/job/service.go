package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/rosterhq/roster/internal/audit"
	"github.com/rosterhq/roster/internal/store"
)

// Service manages provisioning jobs. Each change is made in one store
// transaction with its audit row.
type Service struct {
	store store.Store
	now   func() time.Time
}

// New returns the job service over st.
func New(st store.Store) *Service { return &Service{store: st, now: time.Now} }

// Apply creates the job named j.Name or replaces its document, and returns
// whether it created it and the job as stored. The job is validated first.
// A new job is Off and its first cycle initial; an update keeps the
// status and sets NeedsInitial when the mappings or the scoping (scope,
// assignments) change. Applying an unchanged document changes nothing and
// records nothing.
func (s *Service) Apply(ctx context.Context, j Job, actor string) (bool, Job, error) {
	if err := j.Validate(); err != nil {
		return false, Job{}, err
	}
	doc, err := json.Marshal(j)
	if err != nil {
		return false, Job{}, fmt.Errorf("apply job %s: encode: %w", j.Name, err)
	}
	// Compare documents as stored, so that an empty list and an omitted one
	// are the same document.
	norm, err := decode(store.Job{Name: j.Name, Document: doc})
	if err != nil {
		return false, Job{}, err
	}
	now := s.now().UTC()
	var (
		created bool
		out     store.Job
	)
	err = s.store.Write(ctx, func(w store.Writer) error {
		created = false
		if t := j.Notifications.Tenant; t != "" {
			// Checked in the write, so that the tenant is there when the
			// job that names it is stored; one deleted later is logged
			// when a notice is sent (see notify/delivery).
			if _, err := w.Tenants().GetByName(ctx, t); errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: notifications.tenant %q: no such tenant", ErrInvalid, t)
			} else if err != nil {
				return fmt.Errorf("apply job %s: notifications.tenant: %w", j.Name, err)
			}
		}
		cur, err := w.Jobs().Get(ctx, j.Name)
		if errors.Is(err, store.ErrNotFound) {
			created = true
			out = store.Job{Name: j.Name, Document: doc, Status: string(StatusOff), NeedsInitial: true, Created: now, Updated: now}
			if err := w.Jobs().Create(ctx, out); err != nil {
				return fmt.Errorf("create job %s: %w", j.Name, err)
			}
			out.Revision = 1
			return audit.Record(ctx, w, now, audit.Action{Actor: actor, Action: "job.create", Target: j.Name,
				Detail: map[string]any{"source": j.Source.Type, "target": redactURL(j.Target.URL), "scope": j.Scope}})
		}
		if err != nil {
			return fmt.Errorf("apply job %s: %w", j.Name, err)
		}
		old, err := decode(cur)
		if err != nil {
			return err
		}
		changed := changedKeys(old, norm)
		if len(changed) == 0 {
			out = cur
			return nil
		}
		reinit := slices.ContainsFunc(changed, reinitializes)
		out = cur
		out.Document, out.Revision, out.Updated = doc, cur.Revision+1, now
		out.NeedsInitial = cur.NeedsInitial || reinit
		if err := w.Jobs().Update(ctx, out); err != nil {
			return fmt.Errorf("update job %s: %w", j.Name, err)
		}
		return audit.Record(ctx, w, now, audit.Action{Actor: actor, Action: "job.update", Target: j.Name,
			Detail: map[string]any{"changed": changed, "revision": out.Revision, "needsInitial": out.NeedsInitial}})
	})
	if err != nil {
		return false, Job{}, err
	}
	res, err := decode(out)
	return created, res, err
}

// changedKeys lists the document's top-level keys whose values differ,
// naming no value: the list goes to the audit log, and a value may be a
// secret.
func changedKeys(old, cur Job) []string {
	var out []string
	add := func(key string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			out = append(out, key)
		}
	}
	add("source", old.Source, cur.Source)
	add("target", old.Target, cur.Target)
	add("scope", old.Scope, cur.Scope)
	add("assignments", old.Assignments, cur.Assignments)
	add("scopingFilters", old.ScopingFilters, cur.ScopingFilters)
	add("mappings", old.Mappings, cur.Mappings)
	add("schedule", old.Schedule, cur.Schedule)
	add("actions", old.Actions, cur.Actions)
	add("deletionThreshold", old.DeletionThreshold, cur.DeletionThreshold)
	add("notifications", old.Notifications, cur.Notifications)
	return out
}

// decode reads a stored job.
func decode(sj store.Job) (Job, error) {
	j := defaults()
	if err := json.Unmarshal(sj.Document, &j); err != nil {
		return Job{}, fmt.Errorf("job %s: stored document: %w", sj.Name, err)
	}
	j.Name = sj.Name
	j.Source.Job = sj.Name
	j.Status, j.Revision, j.NeedsInitial = Status(sj.Status), sj.Revision, sj.NeedsInitial
	j.Created, j.Updated = sj.Created, sj.Updated
	return j, nil
}

// Get returns the job with the given name; store.ErrNotFound if there is
// none.
func (s *Service) Get(ctx context.Context, name string) (Job, error) {
	sj, err := s.store.Jobs().Get(ctx, name)
	if err != nil {
		return Job{}, err
	}
	return decode(sj)
}

// List returns every job, ordered by name.
func (s *Service) List(ctx context.Context) ([]Job, error) {
	sjs, err := s.store.Jobs().List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Job, 0, len(sjs))
	for _, sj := range sjs {
		j, err := decode(sj)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

// Delete removes the job named name, with everything the engine kept for
// it (links, state, cycles, log), and records it; store.ErrNotFound if
// there is none. A job created again under the name starts afresh.
func (s *Service) Delete(ctx context.Context, name, actor string) error {
	now := s.now().UTC()
	return s.store.Write(ctx, func(w store.Writer) error {
		if err := w.Jobs().Delete(ctx, name); err != nil {
			return fmt.Errorf("delete job %s: %w", name, err)
		}
		if err := w.Provisioning().DeleteJob(ctx, name); err != nil {
			return fmt.Errorf("delete job %s: %w", name, err)
		}
		return audit.Record(ctx, w, now, audit.Action{Actor: actor, Action: "job.delete", Target: name})
	})
}

// SetStatus switches a job On, Off or Paused and records it. Setting the
// status a job already has changes nothing and records nothing.
func (s *Service) SetStatus(ctx context.Context, name string, status Status, actor string) (Job, error) {
	switch status {
	case StatusOn, StatusOff, StatusPaused:
	default:
		return Job{}, fmt.Errorf("%w: status %q: use On, Off or Paused", ErrInvalid, status)
	}
	now := s.now().UTC()
	var out store.Job
	err := s.store.Write(ctx, func(w store.Writer) error {
		cur, err := w.Jobs().Get(ctx, name)
		if err != nil {
			return fmt.Errorf("job %s: %w", name, err)
		}
		out = cur
		if cur.Status == string(status) {
			return nil
		}
		out.Status, out.Revision, out.Updated = string(status), cur.Revision+1, now
		if err := w.Jobs().Update(ctx, out); err != nil {
			return fmt.Errorf("job %s: set status: %w", name, err)
		}
		return audit.Record(ctx, w, now, audit.Action{Actor: actor, Action: "job.status", Target: name,
			Detail: map[string]any{"from": cur.Status, "to": string(status)}})
	})
	if err != nil {
		return Job{}, err
	}
	return decode(out)
}

// InitialDone clears NeedsInitial after an initial cycle of ran (the job
// as that cycle read it) succeeded. It leaves the flag set if the job's
// mappings or scoping changed since, so that a cycle never clears the flag
// a newer document set; a change of status or schedule does not matter.
func (s *Service) InitialDone(ctx context.Context, ran Job) error {
	return s.store.Write(ctx, func(w store.Writer) error {
		cur, err := w.Jobs().Get(ctx, ran.Name)
		if err != nil {
			return fmt.Errorf("job %s: %w", ran.Name, err)
		}
		if !cur.NeedsInitial {
			return nil
		}
		now, err := decode(cur)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(changedKeys(ran, now), reinitializes) {
			return nil
		}
		cur.NeedsInitial, cur.Revision, cur.Updated = false, cur.Revision+1, s.now().UTC()
		if err := w.Jobs().Update(ctx, cur); err != nil {
			return fmt.Errorf("job %s: clear initial: %w", ran.Name, err)
		}
		return nil
	})
}

// reinitializes reports whether a change of the document's key makes the
// next cycle initial: objects provisioned before must be evaluated again.
func reinitializes(key string) bool {
	switch key {
	case "mappings", "scope", "assignments", "scopingFilters":
		return true
	}
	return false
}

// ErrJobActive refuses a change that must wait until the job is Off or
// Paused.
var ErrJobActive = errors.New("the job is On: pause or stop it first")

// DeleteLink deletes the link of one source object, so that the next
// cycle matches the object again (Entra's object connection repair), and
// records it. The job must be Off or Paused, as Entra requires, so that a
// running cycle does not write the link again; deleting a link that does
// not exist is store.ErrNotFound.
func (s *Service) DeleteLink(ctx context.Context, name, kind, anchor, actor string) error {
	now := s.now().UTC()
	return s.store.Write(ctx, func(w store.Writer) error {
		cur, err := w.Jobs().Get(ctx, name)
		if err != nil {
			return fmt.Errorf("job %s: %w", name, err)
		}
		if cur.Status == string(StatusOn) {
			return fmt.Errorf("job %s: delete a link: %w", name, ErrJobActive)
		}
		n, err := w.Provisioning().DeleteLinks(ctx, name, kind, []string{anchor})
		if err != nil {
			return fmt.Errorf("job %s: delete link: %w", name, err)
		}
		if n == 0 {
			return fmt.Errorf("job %s: link of %s %s: %w", name, kind, anchor, store.ErrNotFound)
		}
		return audit.Record(ctx, w, now, audit.Action{Actor: actor, Action: "job.link.delete", Target: name,
			Detail: map[string]any{"kind": kind, "sourceAnchor": anchor}})
	})
}

// RecordAllowDeletes records that actor released the deprovisioning
// actions a job held (n of them, sent by the given cycle).
func (s *Service) RecordAllowDeletes(ctx context.Context, name, actor string, n int, cycle string) error {
	now := s.now().UTC()
	return s.store.Write(ctx, func(w store.Writer) error {
		return audit.Record(ctx, w, now, audit.Action{Actor: actor, Action: "job.allow-deletes", Target: name,
			Detail: map[string]any{"actions": n, "cycle": cycle}})
	})
}

// Restart clears what the engine keeps of a job between cycles — its
// watermarks (and with them the held deletions), escrow and quarantine —
// and sets NeedsInitial, with the next run due now, and records it; the
// links stay, so provisioned objects are matched, not created again.
// The engine calls it holding the job's lease (engine.Restart).
func (s *Service) Restart(ctx context.Context, name, actor string) error {
	now := s.now().UTC()
	return s.store.Write(ctx, func(w store.Writer) error {
		cur, err := w.Jobs().Get(ctx, name)
		if err != nil {
			return fmt.Errorf("job %s: %w", name, err)
		}
		st, err := w.Provisioning().State(ctx, name)
		if err != nil {
			return fmt.Errorf("job %s: %w", name, err)
		}
		was := map[string]any{}
		if st.Quarantine != nil {
			was["quarantine"] = st.Quarantine.Reason
		}
		st.Watermarks, st.Quarantine, st.NextRun, st.Updated = nil, nil, time.Time{}, now
		if err := w.Provisioning().PutState(ctx, st); err != nil {
			return fmt.Errorf("job %s: restart: %w", name, err)
		}
		if err := w.Provisioning().ClearEscrows(ctx, name); err != nil {
			return fmt.Errorf("job %s: restart: %w", name, err)
		}
		if !cur.NeedsInitial {
			cur.NeedsInitial, cur.Revision, cur.Updated = true, cur.Revision+1, now
			if err := w.Jobs().Update(ctx, cur); err != nil {
				return fmt.Errorf("job %s: restart: %w", name, err)
			}
		}
		return audit.Record(ctx, w, now, audit.Action{Actor: actor, Action: "job.restart", Target: name, Detail: was})
	})
}
