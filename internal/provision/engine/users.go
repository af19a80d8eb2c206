package engine

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"
	"sync"

	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/mapping"
	"github.com/rosterhq/roster/internal/provision/scope"
	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/scimclient"
)

func endpoint(k source.Kind) scimclient.Endpoint {
	if k == source.Group {
		return scimclient.Groups
	}
	return scimclient.Users
}

// workers returns how many objects a cycle works on at once: the target's
// concurrency, since each object costs one to three requests.
func (c *cycle) workers() int {
	if n := c.job.Target.Concurrency; n > 0 {
		return n
	}
	return job.DefaultConcurrency
}

// pool runs fn for each object on a fixed set of workers, each object's
// anchor always on the same worker so that two reports of one object are
// handled in order. It stops at the first error fn returns.
type pool struct {
	chans []chan source.Object
	wg    sync.WaitGroup
	once  sync.Once
	err   error
	ctx   context.Context
	stop  context.CancelFunc
}

func newPool(ctx context.Context, n int, fn func(context.Context, source.Object) error) *pool {
	ctx, cancel := context.WithCancel(ctx)
	p := &pool{chans: make([]chan source.Object, n), ctx: ctx, stop: cancel}
	for i := range p.chans {
		ch := make(chan source.Object, 16)
		p.chans[i] = ch
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for o := range ch {
				if ctx.Err() != nil {
					continue // drain
				}
				if err := fn(ctx, o); err != nil {
					p.fail(err)
				}
			}
		}()
	}
	return p
}

func (p *pool) fail(err error) {
	p.once.Do(func() {
		p.err = err
		p.stop()
	})
}

// add hands an object to its worker; it blocks while that worker is busy,
// which keeps the source from reading ahead of the target.
func (p *pool) add(o source.Object) error {
	h := fnv.New32a()
	h.Write([]byte(o.Anchor))
	select {
	case p.chans[h.Sum32()%uint32(len(p.chans))] <- o:
		return nil
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}

// wait closes the pool and returns the first error.
func (p *pool) wait() error {
	for _, ch := range p.chans {
		close(ch)
	}
	p.wg.Wait()
	p.stop()
	return p.err
}

// readUsers reads the users (all of them when full, else the changes since
// the watermark) and works on each. It returns the next watermark ("" if
// the source has none) and whether a full read completed.
func (c *cycle) readUsers(ctx context.Context, full bool) (mark string, complete bool, err error) {
	p := newPool(ctx, c.workers(), c.counted(c.user))
	feed := func(o source.Object) error {
		c.n.read.Add(1)
		return p.add(o)
	}
	var readErr error
	if d, ok := c.src.(source.DeltaLister); ok {
		from := c.state.Watermarks[string(source.User)]
		if full {
			from = "" // everything, and a watermark to go on from
		}
		mark, readErr = d.Changes(ctx, source.User, from, feed)
	} else if l, ok := c.src.(source.FullLister); ok {
		full = true
		readErr = l.List(ctx, source.User, feed)
	} else {
		readErr = errors.New("the source can neither list nor report changes")
	}
	if err := p.wait(); err != nil {
		return "", false, err
	}
	if readErr != nil {
		return "", false, fmt.Errorf("source: read users: %w", readErr)
	}
	return mark, full, nil
}

// displayName is how logs name a source object: its mapped userName (or a
// group's displayName), else its first matching value, else a name
// attribute, else its anchor.
func displayName(o source.Object, values mapping.Values, keys []mapping.Key) string {
	for _, e := range values.Entries() {
		if s, ok := e.Value.(string); ok && s != "" && (strings.EqualFold(e.Path, "userName") || (o.Kind == source.Group && strings.EqualFold(e.Path, "displayName"))) {
			return s
		}
	}
	if len(keys) > 0 {
		return keys[0].Value
	}
	for _, a := range []string{"userName", "uid", "userPrincipalName", "displayName", "cn"} {
		if v, ok := o.Get(a); ok && len(v) > 0 {
			if s, ok := v[0].(string); ok {
				return s
			}
		}
	}
	return o.Anchor
}

// inScope decides whether a user or group is in the job's scope, and why.
func (c *cycle) inScope(o source.Object) (bool, string) {
	filters := c.ufilt
	if o.Kind == source.Group {
		filters = c.gfilt
	}
	r := scope.Decide(c.job.Scope, c.assign, filters, o)
	return r.In, r.Reason
}

// user works on one user read from the source. Only a failure of the
// engine's own storage or a cancelled context is returned; what goes wrong
// with the object is logged and counted.
func (c *cycle) user(ctx context.Context, o source.Object) error {
	c.evaluated(source.User, o.Anchor)
	if c.dns != nil && !o.Deleted {
		if v, ok := o.Get("dn"); ok && len(v) > 0 {
			if dn, ok := v[0].(string); ok {
				c.mu.Lock()
				c.dns[dnHash(dn)] = keyOf(o.Anchor)
				c.mu.Unlock()
			}
		}
	}
	l, linked := c.getLink(source.User, o.Anchor)
	if o.Deleted {
		if linked {
			en := c.newEntry(string(source.User), o.Anchor, o.Anchor)
			en.step("Import", StatusSuccess, "the source reports the user deleted")
			c.sourceDeleted(ctx, en, source.User, o.Anchor, l)
		}
		return nil
	}
	values, err := c.users.Evaluate(o, c.env)
	keys := values.MatchKeys()
	en := c.newEntry(string(source.User), o.Anchor, displayName(o, values, keys))
	en.step("Import", StatusSuccess, "%s", c.readFrom)
	in, why := c.inScope(o)
	if !in {
		en.step("Scope", StatusSkipped, "%s", why)
		if linked && !l.disabled {
			c.deprovision(ctx, en, o.Anchor, l, why)
		} else if !linked && c.everyObject() {
			c.finish(en, ActionOther, StatusSkipped, "NotInScope", why)
		} else {
			c.n.unchanged.Add(1)
		}
		return ctx.Err()
	}
	c.n.inScope.Add(1)
	en.step("Scope", StatusSuccess, "%s", orIn(why))
	if err != nil {
		c.finish(en, ActionOther, StatusFailure, "MappingError", err.Error())
		return ctx.Err()
	}
	if len(keys) == 0 {
		en.step("Match", StatusFailure, "no matching attribute has a value")
		c.finish(en, ActionOther, StatusFailure, "MissingMatchingValue", "the object has no value for any matching attribute ("+strings.Join(c.users.Matching(), ", ")+")")
		return ctx.Err()
	}
	if dup := c.claim(keys[0], o.Anchor); dup != "" {
		en.step("Match", StatusFailure, "source object %s has the same %s", dup, keys[0].Path)
		c.finish(en, ActionOther, StatusFailure, "DuplicateSourceEntries",
			fmt.Sprintf("%s %q is also the value of source object %s; neither is provisioned by it until one changes", keys[0].Path, keys[0].Value, dup))
		return ctx.Err()
	}
	hash := values.Hash()
	if linked {
		if !c.everyObject() && l.unchanged(hash) && !l.disabled {
			c.n.unchanged.Add(1)
			return nil
		}
		cur, err := c.tgt.Get(ctx, scimclient.Users, l.target)
		switch {
		case scimclient.IsNotFound(err):
			// Deleted in the target behind the engine's back: provision
			// it again, as Entra does.
			en.step("Match", StatusWarning, "linked target object %s no longer exists", l.target)
			c.dropLink(source.User, o.Anchor)
		case err != nil:
			en.step("Match", StatusFailure, "read linked target object %s: %v", l.target, err)
			c.failed(en, ActionUpdate, err)
			return ctx.Err()
		default:
			en.step("Match", StatusSuccess, "linked to target object %s", l.target)
			c.update(ctx, en, source.User, o.Anchor, values, hash, l.target, cur, l.disabled)
			return ctx.Err()
		}
	}
	found, how, err := c.match(ctx, source.User, keys)
	if err != nil {
		en.step("Match", StatusFailure, "%v", err)
		c.failed(en, ActionOther, err)
		return ctx.Err()
	}
	switch len(found) {
	case 0:
		en.step("Match", StatusSuccess, "no target object matches %s", how)
		c.create(ctx, en, source.User, o.Anchor, values, hash, keys)
	case 1:
		id, _ := found[0]["id"].(string)
		en.step("Match", StatusSuccess, "matched target object %s by %s", id, how)
		c.n.linked.Add(1)
		c.update(ctx, en, source.User, o.Anchor, values, hash, id, found[0], false)
	default:
		ids := make([]string, 0, len(found))
		for _, f := range found {
			id, _ := f["id"].(string)
			ids = append(ids, id)
		}
		en.step("Match", StatusFailure, "%d target objects match %s", len(found), how)
		c.finish(en, ActionOther, StatusFailure, "DuplicateTargetEntries",
			fmt.Sprintf("target objects %s all match %s; the engine will not choose one", strings.Join(ids, ", "), how))
	}
	return ctx.Err()
}

func orIn(why string) string {
	if why == "" {
		return "in scope"
	}
	return why
}

// claim records that anchor holds the matching value this cycle and
// returns the anchor that held it first, if another.
func (c *cycle) claim(k mapping.Key, anchor string) string {
	h := keyHash(k.Path, k.Value)
	c.mu.Lock()
	defer c.mu.Unlock()
	a := keyOf(anchor)
	if prev, ok := c.claimed[h]; ok && prev != a {
		return prev.String()
	}
	c.claimed[h] = a
	return ""
}

// match finds the target objects matching the keys, trying them in
// precedence order until one matches something. how names the key that
// decided.
func (c *cycle) match(ctx context.Context, kind source.Kind, keys []mapping.Key) ([]map[string]any, string, error) {
	var hows []string
	for _, k := range keys {
		how := k.Filter()
		hows = append(hows, how)
		if idx := c.index[kind]; idx != nil && indexable(k.Path) {
			id, ok := idx[keyHash(k.Path, k.Value)]
			if !ok {
				continue
			}
			if id != dupID {
				cur, err := c.tgt.Get(ctx, endpoint(kind), id)
				if err == nil {
					return []map[string]any{cur}, how, nil
				}
				if !scimclient.IsNotFound(err) {
					return nil, how, err
				}
				continue
			}
		}
		found, err := c.tgt.Find(ctx, endpoint(kind), how)
		if err != nil {
			return nil, how, fmt.Errorf("query the target by %s: %w", how, err)
		}
		if len(found) > 0 {
			return found, how, nil
		}
	}
	return nil, strings.Join(hows, " or "), nil
}

// resolver resolves reference values to target ids from the links, for
// mapping: a DN through the DNs read this cycle, an anchor directly.
func (c *cycle) resolver(kind source.Kind) mapping.Resolver {
	return func(v string) (string, bool) {
		anchor := v
		if c.dns != nil {
			c.mu.Lock()
			a, ok := c.dns[dnHash(v)]
			c.mu.Unlock()
			if !ok {
				return "", false
			}
			anchor = a.String()
		}
		return c.targetOf(kind, anchor)
	}
}

// create creates the object in the target and links it.
func (c *cycle) create(ctx context.Context, en *entry, kind source.Kind, anchor string, values mapping.Values, hash string, keys []mapping.Key) {
	if !c.job.Actions.Create {
		c.finish(en, ActionCreate, StatusSkipped, "ActionNotAllowed", "the job does not create objects (actions.create is off)")
		return
	}
	body, pending := values.Resource(c.resolver(source.User))
	for _, e := range values.Entries() {
		if e.Value != nil {
			en.modified = append(en.modified, Modified{Name: e.Path, New: e.Value})
		}
	}
	if c.dry {
		en.step("Action", StatusSkipped, "dry run: POST %s not sent", endpoint(kind))
		c.finish(en, ActionCreate, StatusSkipped, "DryRun", "dry run: the object would be created")
		return
	}
	id, err := c.tgt.Create(ctx, endpoint(kind), body)
	if err != nil && scimclient.StatusOf(err) == http.StatusConflict && c.job.Actions.AdoptOn409 {
		if cur, how, ok := c.adopt(ctx, kind, body); ok {
			adopted, _ := cur["id"].(string)
			en.step("Action", StatusWarning, "the target refused the create with 409; adopted the object %s found by %s", adopted, how)
			en.modified = nil
			c.n.linked.Add(1)
			c.update(ctx, en, kind, anchor, values, hash, adopted, cur, false)
			return
		}
	}
	if err != nil {
		en.step("Action", StatusFailure, "POST %s: %v", endpoint(kind), err)
		c.failed(en, ActionCreate, err)
		return
	}
	if len(pending) > 0 {
		hash = "" // evaluated again next cycle if a reference stays unresolved
		c.addPending(anchor, id, pending)
	}
	c.setLink(kind, anchor, id, en.e.SourceName, hash, false)
	if kind == source.User {
		c.membersMoved.Store(true)
	}
	c.n.created.Add(1)
	en.e.TargetID = id
	en.step("Action", StatusSuccess, "created target object %s", id)
	c.finish(en, ActionCreate, StatusSuccess, "", "")
}

// adopt finds the object a create clashed with (409): by the attribute
// the target keeps unique, userName for users and displayName for groups.
func (c *cycle) adopt(ctx context.Context, kind source.Kind, body map[string]any) (map[string]any, string, bool) {
	name := "userName"
	if kind == source.Group {
		name = "displayName"
	}
	v, _ := body[name].(string)
	if v == "" {
		return nil, "", false
	}
	how := mapping.Key{Path: name, Value: v}.Filter()
	found, err := c.tgt.Find(ctx, endpoint(kind), how)
	if err != nil || len(found) != 1 {
		return nil, "", false
	}
	return found[0], how, true
}

// update brings a target object in line with the values and links it.
// reenable turns a disabled (deprovisioned) object back on.
func (c *cycle) update(ctx context.Context, en *entry, kind source.Kind, anchor string, values mapping.Values, hash, id string, cur map[string]any, reenable bool) {
	en.e.TargetID = id
	changes, pending := values.Diff(cur, false, c.resolver(source.User))
	if kind == source.User && (reenable || cur["active"] == false) && !mapsActive(changes, values) {
		changes = append(changes, mapping.SetActive(cur["active"], true))
	}
	if len(pending) > 0 {
		hash = ""
		c.addPending(anchor, id, pending)
	}
	if len(changes) == 0 {
		c.setLink(kind, anchor, id, en.e.SourceName, hash, false)
		if en.hasStep("Match", "matched") {
			c.finish(en, ActionOther, StatusSuccess, "", "linked to the matching target object; nothing to change")
		} else if c.opts.onDemand != nil {
			c.finish(en, ActionOther, StatusSuccess, "", "the target object is up to date; nothing to change")
		} else {
			c.n.unchanged.Add(1)
		}
		return
	}
	for _, ch := range changes {
		en.modified = append(en.modified, Modified{Name: ch.Path, Old: ch.Old, New: ch.New})
	}
	if !c.job.Actions.Update {
		c.setLink(kind, anchor, id, en.e.SourceName, "", reenable)
		c.finish(en, ActionUpdate, StatusSkipped, "ActionNotAllowed", "the job does not update objects (actions.update is off)")
		return
	}
	if c.dry {
		en.step("Action", StatusSkipped, "dry run: update of %s not sent", id)
		c.finish(en, ActionUpdate, StatusSkipped, "DryRun", "dry run: the object would be updated")
		return
	}
	if err := c.tgt.Update(ctx, endpoint(kind), id, mapping.Apply(cur, changes), mapping.Ops(changes)); err != nil {
		en.step("Action", StatusFailure, "update %s: %v", id, err)
		c.failed(en, ActionUpdate, err)
		return
	}
	c.setLink(kind, anchor, id, en.e.SourceName, hash, false)
	if reenable && kind == source.User {
		c.membersMoved.Store(true)
	}
	c.n.updated.Add(1)
	en.step("Action", StatusSuccess, "updated target object %s", id)
	c.finish(en, ActionUpdate, StatusSuccess, "", "")
}

func (en *entry) hasStep(name, word string) bool {
	for _, s := range en.steps {
		if s.Name == name && strings.Contains(s.Detail, word) {
			return true
		}
	}
	return false
}

// mapsActive reports whether the mappings set active (then they decide).
func mapsActive(changes []mapping.Change, values mapping.Values) bool {
	for _, e := range values.Entries() {
		if strings.EqualFold(e.Path, "active") && e.Value != nil {
			return true
		}
	}
	return false
}

// deprovision disables or deletes a linked user that left the scope; the
// action is staged and counted against the deletion threshold (held.go).
func (c *cycle) deprovision(ctx context.Context, en *entry, anchor string, l *link, why string) {
	en.e.TargetID = l.target
	if c.job.Actions.Deprovision == job.DeprovisionDelete {
		c.delete(ctx, en, source.User, anchor, l, "left the scope: "+why)
		return
	}
	if !c.job.Actions.Update {
		c.finish(en, ActionDisable, StatusSkipped, "ActionNotAllowed", "left the scope, but the job does not update objects (actions.update is off)")
		return
	}
	c.stage(staged{en: en, kind: source.User, anchor: anchor, l: *l, why: why})
}

// disable sends a staged disable.
func (c *cycle) disable(ctx context.Context, en *entry, anchor string, l *link, why string) {
	change := []mapping.Change{mapping.SetActive(true, false)}
	en.modified = append(en.modified, Modified{Name: "active", Old: true, New: false})
	if c.dry {
		en.step("Action", StatusSkipped, "dry run: disable of %s not sent", l.target)
		c.finish(en, ActionDisable, StatusSkipped, "DryRun", "dry run: the user would be disabled: "+why)
		return
	}
	desired := map[string]any{"active": false}
	if c.job.Target.Update == "put" {
		cur, err := c.tgt.Get(ctx, scimclient.Users, l.target)
		if err != nil {
			c.failed(en, ActionDisable, err)
			return
		}
		desired = mapping.Apply(cur, change)
	}
	err := c.tgt.Update(ctx, scimclient.Users, l.target, desired, mapping.Ops(change))
	if scimclient.IsNotFound(err) {
		c.dropLink(source.User, anchor)
		en.step("Action", StatusSuccess, "the target object %s no longer exists", l.target)
		c.finish(en, ActionDisable, StatusSuccess, "", "left the scope: "+why)
		return
	}
	if err != nil {
		en.step("Action", StatusFailure, "disable %s: %v", l.target, err)
		c.failed(en, ActionDisable, err)
		return
	}
	c.setLink(source.User, anchor, l.target, en.e.SourceName, "", true)
	c.membersMoved.Store(true)
	c.n.disabled.Add(1)
	en.step("Action", StatusSuccess, "disabled target object %s", l.target)
	c.finish(en, ActionDisable, StatusSuccess, "", "left the scope: "+why)
}

// sourceDeleted deletes the target object of an object deleted at the
// source, if the job allows deletes.
func (c *cycle) sourceDeleted(ctx context.Context, en *entry, kind source.Kind, anchor string, l *link) {
	en.e.TargetID = l.target
	if !c.job.Actions.Delete {
		c.finish(en, ActionDelete, StatusSkipped, "ActionNotAllowed", "deleted at the source, but the job does not delete objects (actions.delete is off)")
		return
	}
	c.delete(ctx, en, kind, anchor, l, "deleted at the source")
}

// delete deletes a linked object in the target; the action is staged and
// counted against the deletion threshold (held.go).
func (c *cycle) delete(ctx context.Context, en *entry, kind source.Kind, anchor string, l *link, why string) {
	if !c.job.Actions.Delete {
		c.finish(en, ActionDelete, StatusSkipped, "ActionNotAllowed", why+", but the job does not delete objects (actions.delete is off)")
		return
	}
	c.stage(staged{en: en, kind: kind, anchor: anchor, l: *l, why: why, del: true})
}

// remove sends a staged delete.
func (c *cycle) remove(ctx context.Context, en *entry, kind source.Kind, anchor string, l *link, why string) {
	if c.dry {
		en.step("Action", StatusSkipped, "dry run: DELETE %s/%s not sent", endpoint(kind), l.target)
		c.finish(en, ActionDelete, StatusSkipped, "DryRun", "dry run: the object would be deleted: "+why)
		return
	}
	if err := c.tgt.Delete(ctx, endpoint(kind), l.target); err != nil {
		en.step("Action", StatusFailure, "DELETE %s/%s: %v", endpoint(kind), l.target, err)
		c.failed(en, ActionDelete, err)
		return
	}
	c.dropLink(kind, anchor)
	if kind == source.User {
		c.membersMoved.Store(true)
	}
	c.n.deleted.Add(1)
	en.step("Action", StatusSuccess, "deleted target object %s", l.target)
	c.finish(en, ActionDelete, StatusSuccess, "", why)
}

// failed logs a failed request with the error's SCIM status as its code.
func (c *cycle) failed(en *entry, action string, err error) {
	code := "RequestFailed"
	if s := scimclient.StatusOf(err); s != 0 {
		code = fmt.Sprintf("HTTP%d", s)
	}
	if errors.Is(err, context.Canceled) {
		code = "Canceled"
	}
	c.refused(err)
	if isDown(err) {
		c.downFailures.Add(1)
	}
	c.finish(en, action, StatusFailure, code, err.Error())
}

// sweepUsers deprovisions linked users the cycle did not see in scope:
// those no longer assigned, and, after a complete full read, those the
// source no longer has.
func (c *cycle) sweepUsers(ctx context.Context, complete bool) error {
	type gone struct {
		anchor string
		l      link
	}
	var unassigned, deleted []gone
	c.mu.Lock()
	for k, h := range c.links[source.User] {
		switch {
		case complete && !h.seen:
			deleted = append(deleted, gone{k.String(), *h.link()})
		case c.job.Scope == job.ScopeAssigned && !h.disabled && !h.seen && c.assign.User(k.String()).State != scope.Assigned:
			unassigned = append(unassigned, gone{k.String(), *h.link()})
		}
	}
	c.mu.Unlock()
	for _, g := range deleted {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		en := c.newEntry(string(source.User), g.anchor, g.anchor)
		en.step("Import", StatusSuccess, "the source no longer has the user")
		c.sourceDeleted(ctx, en, source.User, g.anchor, &g.l)
	}
	for _, g := range unassigned {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		en := c.newEntry(string(source.User), g.anchor, g.anchor)
		d := c.assign.User(g.anchor)
		en.step("Scope", StatusSkipped, "%s", d.Reason)
		c.deprovision(ctx, en, g.anchor, &g.l, d.Reason)
	}
	return ctx.Err()
}

func (c *cycle) addPending(anchor, targetID string, entries []mapping.Entry) {
	c.mu.Lock()
	c.pending = append(c.pending, pendingRef{anchor: anchor, targetID: targetID, entries: entries})
	c.mu.Unlock()
}

// writePending writes the references (manager) that named users not yet
// provisioned when their user was written.
func (c *cycle) writePending(ctx context.Context) error {
	if len(c.pending) == 0 {
		return nil
	}
	if c.refs != nil {
		var missing []string
		seen := map[string]bool{}
		for _, p := range c.pending {
			for _, e := range p.entries {
				v, _ := e.Value.(string)
				c.mu.Lock()
				_, known := c.dns[dnHash(v)]
				c.mu.Unlock()
				if v != "" && !known && !seen[v] {
					seen[v] = true
					missing = append(missing, v)
				}
			}
		}
		if len(missing) > 0 {
			got, err := c.refs.Resolve(ctx, missing)
			if err != nil {
				c.warn("resolve references: %v", err)
			}
			c.mu.Lock()
			for v, a := range got {
				c.dns[dnHash(v)] = keyOf(a)
			}
			c.mu.Unlock()
		}
	}
	resolve := c.resolver(source.User)
	for _, p := range c.pending {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		en := c.newEntry(string(source.User), p.anchor, p.anchor)
		en.e.TargetID, en.reference = p.targetID, true
		changes, still := mapping.Resolved(p.entries, resolve)
		for _, e := range still {
			en.step("Action", StatusWarning, "%s names %v, which is not provisioned", e.Path, e.Value)
			c.finish(en, ActionUpdate, StatusWarning, "UnresolvedReference",
				fmt.Sprintf("%s names %q, which is not provisioned by this job (out of scope or failed)", e.Path, e.Value))
			en = c.newEntry(string(source.User), p.anchor, p.anchor)
			en.e.TargetID = p.targetID
		}
		for _, ch := range changes {
			en.modified = append(en.modified, Modified{Name: ch.Path, New: ch.New})
		}
		if len(changes) == 0 || !c.job.Actions.Update {
			continue
		}
		if c.dry {
			c.finish(en, ActionUpdate, StatusSkipped, "DryRun", "dry run: the reference would be written")
			continue
		}
		desired := map[string]any{}
		if c.job.Target.Update == "put" {
			cur, err := c.tgt.Get(ctx, scimclient.Users, p.targetID)
			if err != nil {
				c.failed(en, ActionUpdate, err)
				continue
			}
			desired = mapping.Apply(cur, changes)
		}
		if err := c.tgt.Update(ctx, scimclient.Users, p.targetID, desired, mapping.Ops(changes)); err != nil {
			c.failed(en, ActionUpdate, err)
			continue
		}
		c.n.updated.Add(1)
		en.step("Action", StatusSuccess, "wrote the reference once the object it names existed")
		c.finish(en, ActionUpdate, StatusSuccess, "", "")
	}
	return nil
}
