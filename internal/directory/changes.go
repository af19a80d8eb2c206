package directory

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/internal/scim/resource"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
)

// DefaultActor is the actor history shows for changes made by a SCIM
// client; a tenant may set its own.
const DefaultActor = store.DefaultHistoryActor

// Redacted replaces the values of secret attributes (the password) in
// history: the history says that it changed, never what it is.
const Redacted = "[redacted]"

// Origin says who made a change and through which request, for the
// revision history.
type Origin struct {
	Actor      string // as shown to the app's admins, such as DefaultActor
	ActorLabel string // the credential's label, such as the token's
	Credential string // the credential's kind and id, such as "token:abc"
	RequestID  string
	ClientAddr string
}

type originKey struct{}

// WithOrigin returns ctx carrying o, which the writes made with it record
// in history. It is request-scoped data crossing the service boundary, the
// case context values are for.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// OriginOf returns the origin ctx carries; without one, changes are
// recorded as made by "system".
func OriginOf(ctx context.Context) Origin {
	o, ok := ctx.Value(originKey{}).(Origin)
	if !ok || o.Actor == "" {
		o.Actor = "system"
	}
	return o
}

// Event data shapes, documented in docs/events.md.
type eventData struct {
	Resource          map[string]any `json:"resource"`
	ChangedAttributes []string       `json:"changedAttributes,omitempty"`
	Members           []string       `json:"members,omitempty"`
}

// encode returns what json.Marshal(d) would, without reflection: the
// payload of every event of a write, so the outbox format stays as it was.
func (d eventData) encode() ([]byte, error) {
	b := make([]byte, 0, 1024)
	b = append(b, `{"resource":`...)
	b, err := resource.AppendJSON(b, d.Resource)
	if err != nil {
		return nil, err
	}
	if len(d.ChangedAttributes) > 0 {
		b = append(b, `,"changedAttributes":`...)
		if b, err = resource.AppendJSON(b, d.ChangedAttributes); err != nil {
			return nil, err
		}
	}
	if len(d.Members) > 0 {
		b = append(b, `,"members":`...)
		if b, err = resource.AppendJSON(b, d.Members); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// change builds the history entry and events of one write.
type change struct {
	rt      *schema.ResourceType
	op      string
	before  *store.Resource // nil for a create
	after   *store.Resource // nil for a delete
	added   []string
	removed []string
}

// record writes the history entry and events of a change in the write's
// transaction; it is a no-op when nothing changed.
func (s *Service) record(ctx context.Context, w store.Writer, c change) error {
	var cur store.Resource
	switch {
	case c.after != nil:
		cur = *c.after
	case c.before != nil:
		cur = *c.before
	default:
		return fmt.Errorf("record %s: no resource", c.op)
	}
	var before map[string]any
	if c.before != nil {
		before = c.before.Attrs
	}
	var after map[string]any
	if c.after != nil {
		after = c.after.Attrs
	}
	attrs := diff(c.rt, before, after)
	if c.op != "delete" && c.op != "create" && len(attrs) == 0 && len(c.added) == 0 && len(c.removed) == 0 {
		return nil
	}
	o := OriginOf(ctx)
	now := s.now().UTC()
	ch := &store.Change{
		Tenant: cur.Tenant, Time: now,
		ResourceType: c.rt.Name, ResourceID: cur.ID, ResourceName: resourceName(c.rt, cur.Attrs),
		Operation: c.op, Actor: o.Actor, ActorLabel: o.ActorLabel, Credential: o.Credential,
		RequestID: o.RequestID, ClientAddr: o.ClientAddr,
		Attributes: attrs, MembersAdded: c.added, MembersRemoved: c.removed,
	}
	if c.after != nil {
		ch.Version = c.after.Version
	}
	events, err := s.events(c, cur, before, after, attrs, now)
	if err != nil {
		return err
	}
	ch.Events = events
	if err := w.Record(ctx, ch); err != nil {
		return fmt.Errorf("record %s %s: %w", c.op, cur.ID, err)
	}
	return nil
}

// events returns the events a change emits. A user change emits one event:
// deactivated or reactivated when "active" flipped, updated otherwise. A
// group change emits updated when its attributes changed and one event per
// membership direction, so an app that keeps roles in step needs only the
// membership events.
func (s *Service) events(c change, cur store.Resource, before, after map[string]any, attrs []store.AttrChange, now time.Time) ([]store.Event, error) {
	user := c.rt.Name == schema.UserResource
	var types []string
	switch c.op {
	case "create":
		types = append(types, pick(user, store.UserCreated, store.GroupCreated))
	case "delete":
		types = append(types, pick(user, store.UserDeleted, store.GroupDeleted))
	default:
		wasActive, isActive := active(before), active(after)
		switch {
		case user && wasActive && !isActive:
			types = append(types, store.UserDeactivated)
		case user && !wasActive && isActive:
			types = append(types, store.UserReactivated)
		case len(attrs) > 0:
			types = append(types, pick(user, store.UserUpdated, store.GroupUpdated))
		}
	}
	if c.op != "delete" && len(c.added) > 0 {
		types = append(types, store.GroupMembersAdded)
	}
	if c.op != "delete" && len(c.removed) > 0 {
		types = append(types, store.GroupMembersRemoved)
	}
	doc := resource.Render(c.rt, cur.ID, cur.Attrs, resource.Meta{Created: cur.Created, Modified: cur.Modified, Version: cur.Version})
	paths := make([]string, len(attrs))
	for i, a := range attrs {
		paths[i] = a.Path
	}
	events := make([]store.Event, 0, len(types))
	for _, typ := range types {
		d := eventData{Resource: doc}
		switch typ {
		case store.GroupMembersAdded:
			d.Members = c.added
		case store.GroupMembersRemoved:
			d.Members = c.removed
		case store.UserUpdated, store.GroupUpdated, store.UserDeactivated, store.UserReactivated:
			d.ChangedAttributes = paths
		}
		data, err := d.encode()
		if err != nil {
			return nil, fmt.Errorf("encode %s event: %w", typ, err)
		}
		id, err := uuid.NewV7()
		if err != nil {
			return nil, fmt.Errorf("new event id: %w", err)
		}
		events = append(events, store.Event{
			ID: id.String(), Tenant: cur.Tenant, Type: typ, Time: now,
			ResourceType: c.rt.Name, ResourceID: cur.ID, Data: data,
		})
	}
	return events, nil
}

func pick(user bool, u, g string) string {
	if user {
		return u
	}
	return g
}

// active reports a user's "active": absent counts as active, as Entra and
// Okta treat it.
func active(attrs map[string]any) bool {
	if attrs == nil {
		return false
	}
	v, ok := attrs["active"].(bool)
	return !ok || v
}

func resourceName(rt *schema.ResourceType, attrs map[string]any) string {
	key := "displayName"
	if rt.Name == schema.UserResource {
		key = "userName"
	}
	s, _ := attrs[key].(string)
	return s
}

// diff lists the attributes whose values differ between before and after,
// sorted by path; an extension's attributes are compared one by one.
// Values of attributes that are never returned (the password) are redacted.
func diff(rt *schema.ResourceType, before, after map[string]any) []store.AttrChange {
	var out []store.AttrChange
	for _, k := range unionKeys(before, after) {
		if ext := rt.Extension(k); ext != nil {
			b, _ := before[k].(map[string]any)
			a, _ := after[k].(map[string]any)
			for _, sub := range unionKeys(b, a) {
				secret := isSecret(schema.FindAttr(ext.Attributes, sub))
				out = appendChange(out, k+":"+sub, b[sub], a[sub], secret)
			}
			continue
		}
		out = appendChange(out, k, before[k], after[k], isSecret(rt.Schema.Attr(k)))
	}
	return out
}

func appendChange(out []store.AttrChange, path string, b, a any, secret bool) []store.AttrChange {
	if reflect.DeepEqual(b, a) {
		return out
	}
	if secret {
		if b != nil {
			b = Redacted
		}
		if a != nil {
			a = Redacted
		}
	}
	return append(out, store.AttrChange{Path: path, Before: b, After: a})
}

func isSecret(a *schema.Attribute) bool {
	return a != nil && (a.Returned == schema.ReturnedNever || a.Mutability == schema.WriteOnly)
}

func unionKeys(a, b map[string]any) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// memberDelta accumulates what a write did to a group's members, net: a
// member removed and added again (as a PUT or a "replace" operation does
// with members it keeps) did not change, nor did one added and removed.
type memberDelta struct {
	added, removed map[string]bool
	order          []string
}

func (d *memberDelta) add(ids []string) {
	for _, id := range ids {
		if d.removed[id] {
			delete(d.removed, id)
			continue
		}
		if d.added == nil {
			d.added = make(map[string]bool)
		}
		d.added[id] = true
		d.order = append(d.order, id)
	}
}

func (d *memberDelta) remove(ids []string) {
	for _, id := range ids {
		if d.added[id] {
			delete(d.added, id)
			continue
		}
		if d.removed == nil {
			d.removed = make(map[string]bool)
		}
		d.removed[id] = true
		d.order = append(d.order, id)
	}
}

// lists returns the net added and removed ids in the order first seen.
func (d *memberDelta) lists() (added, removed []string) {
	seen := make(map[string]bool, len(d.order))
	for _, id := range d.order {
		if seen[id] {
			continue
		}
		seen[id] = true
		switch {
		case d.added[id]:
			added = append(added, id)
		case d.removed[id]:
			removed = append(removed, id)
		}
	}
	return added, removed
}

// signal is a broadcast: Wait returns a channel that the next Fire closes.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}
