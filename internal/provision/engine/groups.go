package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/mapping"
	"github.com/rosterhq/roster/internal/provision/scope"
	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/scimclient"
	"github.com/rosterhq/roster/internal/store"
)

// readGroups works on the groups after the users, so that members
// resolve to their target ids, and returns the groups' next watermark.
// In "assigned" scope those are the assigned groups readAssignments kept.
// Otherwise every group is read when the cycle read every user or when
// users were created, enabled, disabled or deleted (an unchanged group may
// then need other members in the target); else only the groups changed
// since the watermark. After a complete read, linked groups not seen are
// deleted in the target: they left the assignments or the source.
func (c *cycle) readGroups(ctx context.Context, fullUsers bool) (mark string, err error) {
	p := newPool(ctx, c.workers(), c.counted(c.group))
	feed := func(o source.Object) error {
		c.n.read.Add(1)
		return p.add(o)
	}
	full := true
	var readErr error
	d, delta := c.src.(source.DeltaLister)
	switch {
	case c.job.Scope == job.ScopeAssigned:
		for _, g := range c.assigned {
			if readErr = feed(g); readErr != nil {
				break
			}
		}
	case delta:
		from := c.state.Watermarks[string(source.Group)]
		if fullUsers || c.membersMoved.Load() {
			from = ""
		}
		full = from == ""
		mark, readErr = d.Changes(ctx, source.Group, from, feed)
	default:
		l, ok := c.src.(source.FullLister)
		if !ok {
			return "", p.wait()
		}
		readErr = l.List(ctx, source.Group, feed)
	}
	if err := p.wait(); err != nil {
		return "", err
	}
	if readErr != nil {
		return "", fmt.Errorf("source: read groups: %w", readErr)
	}
	if !full {
		return mark, ctx.Err()
	}
	type gone struct {
		anchor string
		l      link
	}
	var deleted []gone
	c.mu.Lock()
	for k, h := range c.links[source.Group] {
		if !h.seen {
			deleted = append(deleted, gone{k.String(), *h.link()})
		}
	}
	c.mu.Unlock()
	for _, g := range deleted {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		en := c.newEntry(string(source.Group), g.anchor, g.anchor)
		if c.job.Scope == job.ScopeAssigned {
			if d := c.assign.Group(g.anchor); d.State != scope.Assigned {
				en.step("Scope", StatusSkipped, "%s", d.Reason)
				c.delete(ctx, en, source.Group, g.anchor, &g.l, "left the scope: "+d.Reason)
				continue
			}
		}
		en.step("Import", StatusSuccess, "the source no longer has the group")
		c.sourceDeleted(ctx, en, source.Group, g.anchor, &g.l)
	}
	return mark, ctx.Err()
}

// memberIDs returns the target ids of a group's user members that the job
// provisioned and keeps active, sorted, and the sorted anchors they came
// from (for the group's fingerprint). Nested groups are not provisioned as
// members, as in Entra.
func (c *cycle) memberIDs(o source.Object) (ids, anchors []string) {
	for _, m := range o.Members {
		if m.Kind == source.Group {
			continue
		}
		if id, ok := c.targetOf(source.User, m.Anchor); ok {
			ids = append(ids, id)
			anchors = append(anchors, m.Anchor+"="+id)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	slices.Sort(anchors)
	return ids, anchors
}

// group works on one group read from the source.
func (c *cycle) group(ctx context.Context, o source.Object) error {
	c.evaluated(source.Group, o.Anchor)
	l, linked := c.getLink(source.Group, o.Anchor)
	if o.Deleted {
		if linked {
			en := c.newEntry(string(source.Group), o.Anchor, o.Anchor)
			en.step("Import", StatusSuccess, "the source reports the group deleted")
			c.sourceDeleted(ctx, en, source.Group, o.Anchor, l)
		}
		return ctx.Err()
	}
	values, err := c.groups.Evaluate(o, c.env)
	keys := values.MatchKeys()
	en := c.newEntry(string(source.Group), o.Anchor, displayName(o, values, keys))
	en.step("Import", StatusSuccess, "%s, with %d members", c.readFrom, len(o.Members))
	in, why := c.inScope(o)
	if !in {
		en.step("Scope", StatusSkipped, "%s", why)
		switch {
		case linked:
			c.delete(ctx, en, source.Group, o.Anchor, l, "left the scope: "+why)
		case c.everyObject():
			c.finish(en, ActionOther, StatusSkipped, "NotInScope", why)
		}
		return ctx.Err()
	}
	c.n.inScope.Add(1)
	en.step("Scope", StatusSuccess, "%s", orIn(why))
	if err != nil {
		c.finish(en, ActionOther, StatusFailure, "MappingError", err.Error())
		return ctx.Err()
	}
	members, anchors := c.memberIDs(o)
	h := sha256.New()
	h.Write([]byte(values.Hash()))
	for _, a := range anchors {
		h.Write([]byte{0})
		h.Write([]byte(a))
	}
	hash := hex.EncodeToString(h.Sum(nil)[:16])
	if linked {
		if !c.everyObject() && l.unchanged(hash) {
			c.n.unchanged.Add(1)
			return nil
		}
		cur, err := c.tgt.Get(ctx, scimclient.Groups, l.target)
		switch {
		case scimclient.IsNotFound(err):
			en.step("Match", StatusWarning, "linked target group %s no longer exists", l.target)
			c.dropLink(source.Group, o.Anchor)
		case err != nil:
			c.failed(en, ActionUpdate, err)
			return ctx.Err()
		default:
			en.step("Match", StatusSuccess, "linked to target group %s", l.target)
			c.updateGroup(ctx, en, o.Anchor, values, hash, l.target, cur, members)
			return ctx.Err()
		}
	}
	if len(keys) == 0 {
		c.finish(en, ActionOther, StatusFailure, "MissingMatchingValue", "the group has no value for any matching attribute ("+strings.Join(c.groups.Matching(), ", ")+")")
		return ctx.Err()
	}
	found, how, err := c.match(ctx, source.Group, keys)
	if err != nil {
		c.failed(en, ActionOther, err)
		return ctx.Err()
	}
	switch len(found) {
	case 0:
		en.step("Match", StatusSuccess, "no target group matches %s", how)
		c.createGroup(ctx, en, o.Anchor, values, hash, members)
	case 1:
		id, _ := found[0]["id"].(string)
		en.step("Match", StatusSuccess, "matched target group %s by %s", id, how)
		c.n.linked.Add(1)
		// A listing or query may leave members out; read the group whole.
		cur, err := c.tgt.Get(ctx, scimclient.Groups, id)
		if err != nil {
			c.failed(en, ActionUpdate, err)
			return ctx.Err()
		}
		c.updateGroup(ctx, en, o.Anchor, values, hash, id, cur, members)
	default:
		c.finish(en, ActionOther, StatusFailure, "DuplicateTargetEntries",
			fmt.Sprintf("%d target groups match %s; the engine will not choose one", len(found), how))
	}
	return ctx.Err()
}

func (c *cycle) createGroup(ctx context.Context, en *entry, anchor string, values mapping.Values, hash string, members []string) {
	if !c.job.Actions.Create {
		c.finish(en, ActionCreate, StatusSkipped, "ActionNotAllowed", "the job does not create objects (actions.create is off)")
		return
	}
	body, _ := values.Resource(nil)
	for _, e := range values.Entries() {
		if e.Value != nil {
			en.modified = append(en.modified, Modified{Name: e.Path, New: e.Value})
		}
	}
	if len(members) > 0 {
		en.modified = append(en.modified, Modified{Name: "members", New: fmt.Sprintf("+%d", len(members))})
	}
	if c.dry {
		c.finish(en, ActionCreate, StatusSkipped, "DryRun", "dry run: the group would be created")
		return
	}
	id, err := c.tgt.Create(ctx, scimclient.Groups, body)
	if err != nil {
		en.step("Action", StatusFailure, "POST /Groups: %v", err)
		c.failed(en, ActionCreate, err)
		return
	}
	en.e.TargetID = id
	// Linked before its members are added: a crash in between leaves a
	// linked group that the next cycle completes, not a second group.
	c.setLink(source.Group, anchor, id, en.e.SourceName, "", false)
	if err := c.tgt.AddMembers(ctx, id, members); err != nil {
		en.step("Action", StatusFailure, "created group %s; adding its %d members failed: %v", id, len(members), err)
		c.failed(en, ActionCreate, err)
		return
	}
	c.setLink(source.Group, anchor, id, en.e.SourceName, hash, false)
	c.n.created.Add(1)
	en.step("Action", StatusSuccess, "created target group %s with %d members", id, len(members))
	c.finish(en, ActionCreate, StatusSuccess, "", "")
}

// currentMembers reads the member ids of a group resource.
func currentMembers(cur map[string]any) []string {
	var ids []string
	ms, _ := attr(cur, "members").([]any)
	for _, m := range ms {
		if mm, ok := m.(map[string]any); ok {
			if v, ok := mm["value"].(string); ok {
				ids = append(ids, v)
			}
		}
	}
	return ids
}

func (c *cycle) updateGroup(ctx context.Context, en *entry, anchor string, values mapping.Values, hash, id string, cur map[string]any, members []string) {
	en.e.TargetID = id
	changes, _ := values.Diff(cur, false, nil)
	have := currentMembers(cur)
	if _, ok := cur["members"]; !ok {
		// The target left members out of the group's representation.
		ids, err := c.tgt.MemberIDs(ctx, id)
		if err != nil {
			c.failed(en, ActionUpdate, err)
			return
		}
		have = ids
	}
	haveSet := make(map[string]bool, len(have))
	for _, m := range have {
		haveSet[m] = true
	}
	wantSet := make(map[string]bool, len(members))
	var add, remove []string
	for _, m := range members {
		wantSet[m] = true
		if !haveSet[m] {
			add = append(add, m)
		}
	}
	for _, m := range have {
		if wantSet[m] {
			continue
		}
		// Only members this job provisioned are removed: a member another
		// process added to the target group is not the job's to take away.
		if _, err := c.e.st.Provisioning().LinkByTarget(ctx, c.job.Name, string(source.User), m); err == nil {
			remove = append(remove, m)
		} else if !errors.Is(err, store.ErrNotFound) {
			c.failed(en, ActionUpdate, err)
			return
		}
	}
	for _, ch := range changes {
		en.modified = append(en.modified, Modified{Name: ch.Path, Old: ch.Old, New: ch.New})
	}
	if len(add) > 0 || len(remove) > 0 {
		en.modified = append(en.modified, Modified{Name: "members", Old: len(have), New: fmt.Sprintf("+%d -%d", len(add), len(remove))})
	}
	if len(changes) == 0 && len(add) == 0 && len(remove) == 0 {
		c.setLink(source.Group, anchor, id, en.e.SourceName, hash, false)
		if en.hasStep("Match", "matched") {
			c.finish(en, ActionOther, StatusSuccess, "", "linked to the matching target group; nothing to change")
		} else if c.opts.onDemand != nil {
			c.finish(en, ActionOther, StatusSuccess, "", "the target group is up to date; nothing to change")
		} else {
			c.n.unchanged.Add(1)
		}
		return
	}
	if !c.job.Actions.Update {
		c.setLink(source.Group, anchor, id, en.e.SourceName, "", false)
		c.finish(en, ActionUpdate, StatusSkipped, "ActionNotAllowed", "the job does not update objects (actions.update is off)")
		return
	}
	if c.dry {
		c.finish(en, ActionUpdate, StatusSkipped, "DryRun", "dry run: the group would be updated")
		return
	}
	if len(changes) > 0 {
		if err := c.tgt.Update(ctx, scimclient.Groups, id, mapping.Apply(cur, changes), mapping.Ops(changes)); err != nil {
			en.step("Action", StatusFailure, "update group %s: %v", id, err)
			c.failed(en, ActionUpdate, err)
			return
		}
	}
	if err := c.tgt.AddMembers(ctx, id, add); err != nil {
		en.step("Action", StatusFailure, "add %d members to group %s: %v", len(add), id, err)
		c.failed(en, ActionUpdate, err)
		return
	}
	if err := c.tgt.RemoveMembers(ctx, id, remove); err != nil {
		en.step("Action", StatusFailure, "remove %d members from group %s: %v", len(remove), id, err)
		c.failed(en, ActionUpdate, err)
		return
	}
	c.setLink(source.Group, anchor, id, en.e.SourceName, hash, false)
	c.n.updated.Add(1)
	en.step("Action", StatusSuccess, "updated target group %s (%d members added, %d removed)", id, len(add), len(remove))
	c.finish(en, ActionUpdate, StatusSuccess, "", "")
}
