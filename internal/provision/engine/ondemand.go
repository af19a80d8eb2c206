package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/store"
)

// MaxOnDemandMembers is how many members of a group a provision on
// demand provisions with it, as Entra's does.
const MaxOnDemandMembers = 5

// ProvisionOnDemand provisions one user, or one group with up to
// MaxOnDemandMembers of its members, now, outside the schedule (Entra's
// "Provision on demand"): the object is read from the source by its
// anchor, scoped, mapped, matched and written as a cycle would, in a
// cycle of its own that leaves the watermarks and the next run alone. It
// returns that cycle's report and log entries, each with its steps
// (Import, Scope with why, Match, Action) and the properties sent.
func (e *Engine) ProvisionOnDemand(ctx context.Context, name string, kind source.Kind, anchor string) (Report, []store.ProvisionLog, error) {
	if kind != source.User && kind != source.Group {
		return Report{}, nil, fmt.Errorf("provision on demand: kind %q: use user or group", kind)
	}
	rep, err := e.Run(ctx, name, RunOptions{onDemand: &target1{kind: kind, anchor: anchor}})
	if err != nil {
		return rep, nil, err
	}
	logs, err := e.st.Provisioning().Logs(ctx, store.ProvisionLogQuery{Job: name, Cycle: rep.Cycle})
	return rep, logs, err
}

// provisionOne is the phases of a provision on demand.
func (c *cycle) provisionOne(ctx context.Context, one target1) error {
	g, ok := c.src.(source.Getter)
	if !ok {
		return fmt.Errorf("the %s source cannot read one object", c.src.Kind())
	}
	if err := c.loadLinks(ctx); err != nil {
		return err
	}
	if err := c.checkTarget(ctx); err != nil {
		return err
	}
	if c.job.Scope == job.ScopeAssigned {
		if _, err := c.readAssignments(ctx); err != nil {
			return err
		}
	}
	o, err := c.read(ctx, g, one.kind, one.anchor)
	if err != nil {
		return err
	}
	if one.kind == source.User {
		if err := c.user(ctx, o); err != nil {
			return err
		}
	} else {
		n := 0
		for _, m := range o.Members {
			if m.Kind == source.Group || n == MaxOnDemandMembers {
				continue
			}
			n++
			mo, err := c.read(ctx, g, source.User, m.Anchor)
			if err != nil {
				return err
			}
			if err := c.user(ctx, mo); err != nil {
				return err
			}
		}
		if err := c.writePending(ctx); err != nil {
			return err
		}
		if err := c.group(ctx, o); err != nil {
			return err
		}
	}
	if err := c.writePending(ctx); err != nil {
		return err
	}
	_, err = c.settle(ctx)
	return err
}

// read reads one object; one the source no longer has is reported deleted
// if the job links it, so that on demand deprovisions it as a cycle would.
func (c *cycle) read(ctx context.Context, g source.Getter, kind source.Kind, anchor string) (source.Object, error) {
	o, err := g.Get(ctx, kind, anchor)
	if errors.Is(err, source.ErrNotFound) {
		if _, linked := c.getLink(kind, anchor); linked {
			return source.Object{Anchor: anchor, Kind: kind, Deleted: true}, nil
		}
		return source.Object{}, fmt.Errorf("%s %s: %w", kind, anchor, err)
	}
	if err != nil {
		return source.Object{}, err
	}
	c.n.read.Add(1)
	return o, nil
}

// everyObject reports whether the cycle evaluates and logs every object it
// reads, changed or not: an initial cycle, and a provision on demand.
func (c *cycle) everyObject() bool { return c.initial || c.opts.onDemand != nil }
