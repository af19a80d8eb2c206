package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rosterhq/roster/internal/provision/source"
)

// Accidental-deletion prevention (Entra's "accidental deletions
// threshold", Okta's import safeguard). A cycle stages every disable and
// delete it would send; at its end it sends them only if they stay within
// the job's threshold. Beyond it they are held: logged as StagedDelete,
// kept in the job's state, the job paused with that reason, and sent by
// `roster job allow-deletes` (Engine.AllowDeletes) exactly as held.

// heldKey is the state's watermark key of the held actions.
const heldKey = "held"

// staged is one deprovisioning action of the cycle.
type staged struct {
	en     *entry
	kind   source.Kind
	anchor string
	l      link
	why    string
	// del deletes; otherwise the user is disabled.
	del bool
}

// heldAction is a held action as stored in the job's state.
type heldAction struct {
	Kind   string `json:"kind"`
	Anchor string `json:"anchor"`
	Target string `json:"target"`
	Name   string `json:"name,omitempty"`
	Delete bool   `json:"delete,omitempty"`
	Why    string `json:"why"`
}

// ErrNothingHeld is returned by AllowDeletes when the job holds nothing.
var ErrNothingHeld = errors.New("the job holds no deprovisioning actions")

func (c *cycle) stage(s staged) {
	c.mu.Lock()
	c.staged = append(c.staged, s)
	c.mu.Unlock()
}

// exceeds reports whether n deprovisioning actions exceed the job's
// threshold: its count (Entra's, default 500), or its percentage of the
// job's linked objects, which applies from 100 links (Okta's rule).
func (c *cycle) exceeds(n int) (bool, string) {
	t := c.job.DeletionThreshold
	if t.Count > 0 && n > t.Count {
		return true, fmt.Sprintf("%d disables and deletes exceed the job's threshold of %d", n, t.Count)
	}
	if t.Percent > 0 && c.linkedAtStart >= 100 && float64(n) > t.Percent/100*float64(c.linkedAtStart) {
		return true, fmt.Sprintf("%d disables and deletes exceed %g %% of the job's %d linked objects", n, t.Percent, c.linkedAtStart)
	}
	return false, ""
}

// settle sends the staged actions if they stay within the threshold, or
// holds them. It returns the held actions to keep in the state (those a
// previous cycle held, and this cycle's if it held them).
func (c *cycle) settle(ctx context.Context) ([]heldAction, error) {
	prior, err := parseHeld(c.state.Watermarks[heldKey])
	if err != nil {
		return nil, err
	}
	if c.dry {
		for _, s := range c.staged {
			c.send(ctx, s)
		}
		return prior, nil
	}
	over, why := c.exceeds(len(c.staged))
	if !over {
		for _, s := range c.staged {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			c.send(ctx, s)
		}
		return prior, nil
	}
	seen := map[string]bool{}
	for _, h := range prior {
		seen[h.Kind+"\x00"+h.Anchor] = true
	}
	for _, s := range c.staged {
		action := ActionDisable
		if s.del {
			action = ActionDelete
		}
		s.en.step("Action", StatusSkipped, "held: %s", why)
		c.finish(s.en, action, StatusSkipped, "StagedDelete", s.why+"; held: "+why+" (roster job allow-deletes "+c.job.Name+")")
		if !seen[string(s.kind)+"\x00"+s.anchor] {
			prior = append(prior, heldAction{Kind: string(s.kind), Anchor: s.anchor, Target: s.l.target, Name: s.en.e.SourceName, Delete: s.del, Why: s.why})
		}
	}
	c.held = why
	c.warn("%s: %d deprovisioning actions held; the job is paused until `roster job allow-deletes %s`", why, len(c.staged), c.job.Name)
	return prior, nil
}

// send carries out one staged action.
func (c *cycle) send(ctx context.Context, s staged) {
	if s.del {
		c.remove(ctx, s.en, s.kind, s.anchor, &s.l, s.why)
		return
	}
	c.disable(ctx, s.en, s.anchor, &s.l, s.why)
}

func parseHeld(v string) ([]heldAction, error) {
	if v == "" {
		return nil, nil
	}
	var out []heldAction
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return nil, fmt.Errorf("the job's held actions: %w", err)
	}
	return out, nil
}

func heldString(hs []heldAction) string {
	if len(hs) == 0 {
		return ""
	}
	b, _ := json.Marshal(hs) // strings and bools only: it cannot fail.
	return string(b)
}

// Held returns the deprovisioning actions a job holds.
func (e *Engine) Held(ctx context.Context, name string) ([]heldAction, error) {
	if _, err := e.jobs.Get(ctx, name); err != nil {
		return nil, fmt.Errorf("job %s: %w", name, err)
	}
	st, err := e.st.Provisioning().State(ctx, name)
	if err != nil {
		return nil, err
	}
	return parseHeld(st.Watermarks[heldKey])
}

// AllowDeletes sends exactly the deprovisioning actions the job holds, in
// a cycle of their own (its report and logs show them), and records who
// allowed them. The job stays paused; start it again to resume its
// schedule.
func (e *Engine) AllowDeletes(ctx context.Context, name, actor string) (Report, error) {
	held, err := e.Held(ctx, name)
	if err != nil {
		return Report{}, err
	}
	if len(held) == 0 {
		return Report{}, fmt.Errorf("job %s: %w", name, ErrNothingHeld)
	}
	rep, err := e.Run(ctx, name, RunOptions{release: true})
	if err != nil {
		return rep, err
	}
	if err := e.jobs.RecordAllowDeletes(ctx, name, actor, len(held), rep.Cycle); err != nil {
		return rep, err
	}
	return rep, nil
}

// release sends the held actions: the phases of an allow-deletes cycle.
func (c *cycle) release(ctx context.Context) (map[string]string, error) {
	held, err := parseHeld(c.state.Watermarks[heldKey])
	if err != nil {
		return nil, err
	}
	if err := c.loadLinks(ctx); err != nil {
		return nil, err
	}
	for _, h := range held {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		kind := source.Kind(h.Kind)
		en := c.newEntry(h.Kind, h.Anchor, h.Name)
		en.step("Import", StatusSuccess, "held by an earlier cycle; allowed by roster job allow-deletes")
		l, linked := c.getLink(kind, h.Anchor)
		if !linked {
			c.finish(en, ActionOther, StatusSkipped, "NotLinked", "the object is no longer linked; nothing to send")
			continue
		}
		c.send(ctx, staged{en: en, kind: kind, anchor: h.Anchor, l: *l, why: h.Why, del: h.Delete})
	}
	return map[string]string{heldKey: ""}, nil
}
