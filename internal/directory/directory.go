// Package directory is the SCIM service provider's resource service: it
// applies the protocol rules of package scim (normalization, required and
// primary checks, PATCH, filters) to a tenant's Users and Groups and persists
// the result through package store. The HTTP handlers, /Bulk and, later, the
// provisioning engine all change resources through it, never around it.
package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/patch"
	"github.com/rosterhq/roster/internal/scim/resource"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
	"github.com/rosterhq/roster/internal/store"
)

// Page size limits, advertised in /ServiceProviderConfig.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Service changes and reads a tenant's resources.
type Service struct {
	store    store.Store
	registry *schema.Registry
	now      func() time.Time
	commits  signal
	// queryBudget bounds the time of one List query; 0: no bound.
	queryBudget time.Duration
}

// DefaultQueryBudget is how long one list or search query may run before it
// is stopped and refused as too costly.
const DefaultQueryBudget = 10 * time.Second

// SetQueryBudget bounds how long the store may take to answer one List
// query (0: no bound). Set it before the Service is used.
//
// A filter can cost far more than its size suggests: 128 "co" terms over
// 57,000 users ran for 20 s on either backend, holding a database
// connection and a core all that time. Past the budget the query is
// cancelled (SQLite is interrupted, PostgreSQL cancels the statement) and
// the request refused with 400 tooMany, which RFC 7644 §3.4.2.2 provides
// for a filter "more than the server is willing to calculate or process".
// A 503 would invite the client to send the same filter again.
func (s *Service) SetQueryBudget(d time.Duration) { s.queryBudget = max(d, 0) }

// New returns a Service over st.
func New(st store.Store, reg *schema.Registry) *Service {
	return &Service{store: st, registry: reg, now: time.Now}
}

// Registry returns the schema registry the service enforces.
func (s *Service) Registry() *schema.Registry { return s.registry }

// Committed returns a channel that is closed when the next change made
// through this Service commits, so that event readers in this process
// (the pull feed, webhook dispatch, in-process subscribers) wake at once
// instead of polling. Changes committed by other processes on the same
// database do not close it.
func (s *Service) Committed() <-chan struct{} { return s.commits.wait() }

// write runs fn in a store write and announces the commit.
func (s *Service) write(ctx context.Context, fn func(w store.Writer) error) error {
	if err := s.store.Write(ctx, fn); err != nil {
		return err
	}
	s.commits.fire()
	return nil
}

// Result is a resource after a write, with what the write did to a group's
// membership (for events and audit) and whether anything changed at all.
type Result struct {
	store.Resource
	Changed        bool
	MembersAdded   []string
	MembersRemoved []string
}

// Create creates a resource from a client's body, per RFC 7644 §3.3. A
// group's "members" are stored as memberships in the same transaction; a
// user's password is stored as the tenant's settings say (a hash or
// nothing, see sealPassword).
func (s *Service) Create(ctx context.Context, tenant string, rt *schema.ResourceType, body map[string]any) (Result, error) {
	attrs, err := resource.Normalize(rt, body)
	if err != nil {
		return Result{}, err
	}
	members, err := takeMembers(rt, attrs)
	if err != nil {
		return Result{}, err
	}
	if err := check(rt, attrs); err != nil {
		return Result{}, err
	}
	if err := s.sealPassword(ctx, tenant, rt, attrs); err != nil {
		return Result{}, err
	}
	now := s.now().UTC()
	// Time-ordered ids (UUIDv7) keep inserts into the id index close
	// together, so a batch of creates dirties few pages; 74 random bits
	// still make them unguessable.
	id, err := uuid.NewV7()
	if err != nil {
		return Result{}, fmt.Errorf("new id: %w", err)
	}
	r := store.Resource{
		Tenant: tenant, Type: rt.Name, ID: id.String(), Attrs: attrs,
		Created: now, Modified: now, Version: 1,
	}
	res := Result{Resource: r, Changed: true}
	err = s.write(ctx, func(w store.Writer) error {
		res.MembersAdded = nil
		if err := w.Create(ctx, r); err != nil {
			return err
		}
		if len(members) > 0 {
			added, err := w.AddMembers(ctx, tenant, r.ID, members)
			if err != nil {
				return err
			}
			res.MembersAdded = added
		}
		return s.record(ctx, w, change{rt: rt, op: "create", after: &r, added: res.MembersAdded})
	})
	if err != nil {
		return Result{}, writeError(rt, attrs, err)
	}
	return res, nil
}

// Get returns one resource.
func (s *Service) Get(ctx context.Context, tenant string, rt *schema.ResourceType, id string) (store.Resource, error) {
	r, err := s.store.Resources().Get(ctx, tenant, rt.Name, id)
	if err != nil {
		return r, notFound(rt, id, err)
	}
	return r, nil
}

// Replace replaces a resource with a client's body, per RFC 7644 §3.5.1.
// readWrite attributes the body omits are cleared, except the writeOnly
// password, which is kept (one the body sends is hashed first), and a group's members, which are replaced only
// when the body lists "members": clearing a million-member group because a
// client left the list out would be a disaster, and the RFC allows either.
func (s *Service) Replace(ctx context.Context, tenant string, rt *schema.ResourceType, id, ifMatch string, body map[string]any) (Result, error) {
	attrs, err := resource.Normalize(rt, body)
	if err != nil {
		return Result{}, err
	}
	_, hasMembers := attrs["members"]
	members, err := takeMembers(rt, attrs)
	if err != nil {
		return Result{}, err
	}
	if err := check(rt, attrs); err != nil {
		return Result{}, err
	}
	_, sentPassword := attrs[passwordAttr]
	if err := s.sealPassword(ctx, tenant, rt, attrs); err != nil {
		return Result{}, err
	}
	var res Result
	err = s.write(ctx, func(w store.Writer) error {
		old, err := w.Get(ctx, tenant, rt.Name, id)
		if err != nil {
			return notFound(rt, id, err)
		}
		if err := checkVersion(old, ifMatch); err != nil {
			return err
		}
		if pw, ok := old.Attrs[passwordAttr]; ok && hasPassword(rt) && !sentPassword {
			attrs[passwordAttr] = pw
		}
		res = Result{Resource: old}
		if hasMembers {
			var delta memberDelta
			removed, err := w.ClearMembers(ctx, tenant, id)
			if err != nil {
				return err
			}
			delta.remove(removed)
			added, err := w.AddMembers(ctx, tenant, id, members)
			if err != nil {
				return err
			}
			delta.add(added)
			res.MembersAdded, res.MembersRemoved = delta.lists()
		}
		res.Attrs = attrs
		res.Changed = true
		res.Version = old.Version + 1
		res.Modified = s.now().UTC()
		if err := w.Update(ctx, res.Resource); err != nil {
			return err
		}
		return s.record(ctx, w, change{rt: rt, op: "replace", before: &old, after: &res.Resource, added: res.MembersAdded, removed: res.MembersRemoved})
	})
	if err != nil {
		return Result{}, writeError(rt, attrs, err)
	}
	return res, nil
}

// Patch applies a PatchOp request, per RFC 7644 §3.5.2, atomically: if any
// operation fails, nothing changes. A patch that changes nothing leaves the
// version alone.
func (s *Service) Patch(ctx context.Context, tenant string, rt *schema.ResourceType, id, ifMatch string, req patch.Request) (Result, error) {
	pre, err := s.prehashPatch(ctx, tenant, rt, req.Operations)
	if err != nil {
		return Result{}, err
	}
	var res Result
	var attrs map[string]any
	err = s.write(ctx, func(w store.Writer) error {
		old, err := w.Get(ctx, tenant, rt.Name, id)
		if err != nil {
			return notFound(rt, id, err)
		}
		if err := checkVersion(old, ifMatch); err != nil {
			return err
		}
		pr, err := patch.Apply(rt, old.Attrs, req.Operations)
		if err != nil {
			return err
		}
		attrs = pr.Attrs
		if err := check(rt, pr.Attrs); err != nil {
			return err
		}
		if err := s.sealPatched(ctx, tenant, rt, pre, old.Attrs, pr.Attrs); err != nil {
			return err
		}
		res = Result{Resource: old}
		var delta memberDelta
		for _, op := range pr.Members {
			if err := s.applyMemberOp(ctx, w, tenant, id, op, &delta); err != nil {
				return err
			}
		}
		res.MembersAdded, res.MembersRemoved = delta.lists()
		if len(pr.Changes) == 0 && len(res.MembersAdded) == 0 && len(res.MembersRemoved) == 0 {
			return nil
		}
		res.Attrs = pr.Attrs
		res.Changed = true
		res.Version = old.Version + 1
		res.Modified = s.now().UTC()
		if err := w.Update(ctx, res.Resource); err != nil {
			return err
		}
		return s.record(ctx, w, change{rt: rt, op: "patch", before: &old, after: &res.Resource, added: res.MembersAdded, removed: res.MembersRemoved})
	})
	if err != nil {
		return Result{}, writeError(rt, attrs, err)
	}
	return res, nil
}

func (s *Service) applyMemberOp(ctx context.Context, w store.Writer, tenant, groupID string, op patch.MemberOp, delta *memberDelta) error {
	for _, m := range op.IDs {
		if m == groupID {
			return scimerr.InvalidValue("a group cannot be a member of itself")
		}
	}
	switch op.Op {
	case "add":
		added, err := w.AddMembers(ctx, tenant, groupID, op.IDs)
		delta.add(added)
		return err
	case "replace":
		if op.Selected != nil || op.Filter != nil {
			return s.replaceSelected(ctx, w, tenant, groupID, op, delta)
		}
		removed, err := w.ClearMembers(ctx, tenant, groupID)
		if err != nil {
			return err
		}
		delta.remove(removed)
		added, err := w.AddMembers(ctx, tenant, groupID, op.IDs)
		delta.add(added)
		return err
	case "remove":
		switch {
		case op.All:
			removed, err := w.ClearMembers(ctx, tenant, groupID)
			delta.remove(removed)
			return err
		case op.Filter != nil:
			ids, err := s.matchingMembers(ctx, w, tenant, groupID, op.Filter)
			if err != nil {
				return err
			}
			removed, err := w.RemoveMembers(ctx, tenant, groupID, ids)
			delta.remove(removed)
			return err
		default:
			removed, err := w.RemoveMembers(ctx, tenant, groupID, op.IDs)
			delta.remove(removed)
			return err
		}
	}
	return scimerr.InvalidSyntax("unsupported members operation %q", op.Op)
}

// replaceSelected applies a replace with path members[filter], per RFC 7644
// §3.5.2.3: the members the filter selects are removed and the given ones
// added, in the write's transaction. A filter that is not made of "eq" terms
// and selects nothing is noTarget; one of "eq" terms describes the member
// being replaced, so the given ones are added all the same, and a retried
// request succeeds.
func (s *Service) replaceSelected(ctx context.Context, w store.Writer, tenant, groupID string, op patch.MemberOp, delta *memberDelta) error {
	ids := op.Selected
	if op.Filter != nil {
		var err error
		if ids, err = s.matchingMembers(ctx, w, tenant, groupID, op.Filter); err != nil {
			return err
		}
	}
	removed, err := w.RemoveMembers(ctx, tenant, groupID, ids)
	if err != nil {
		return err
	}
	if len(removed) == 0 && op.MustSelect {
		if op.Filter == nil {
			return scimerr.NoTarget("none of the members %q to replace is a member of the group", op.Selected)
		}
		return scimerr.NoTarget("no member matches the filter [%s]", op.Filter.String())
	}
	delta.remove(removed)
	added, err := w.AddMembers(ctx, tenant, groupID, op.IDs)
	delta.add(added)
	return err
}

// matchingMembers evaluates a members[...] filter that is not a plain id
// match against the group's members as the write's transaction sees them
// (so after the operations before it in the same PATCH, per RFC 7644
// §3.5.2), read as a stream.
func (s *Service) matchingMembers(ctx context.Context, w store.Writer, tenant, groupID string, f filter.Expr) ([]string, error) {
	attr := s.registry.Group().Schema.Attr("members")
	var ids []string
	err := w.Members(ctx, tenant, groupID, func(m store.Member) error {
		elem := map[string]any{"value": m.Value, "type": m.Type}
		if m.Display != "" {
			elem["display"] = m.Display
		}
		if filter.Matches(f, attr, elem) {
			ids = append(ids, m.Value)
		}
		return nil
	})
	return ids, err
}

// Delete deletes a resource and its memberships, per RFC 7644 §3.6.
func (s *Service) Delete(ctx context.Context, tenant string, rt *schema.ResourceType, id, ifMatch string) error {
	return s.write(ctx, func(w store.Writer) error {
		old, err := w.Get(ctx, tenant, rt.Name, id)
		if err != nil {
			return notFound(rt, id, err)
		}
		if err := checkVersion(old, ifMatch); err != nil {
			return err
		}
		if err := w.Delete(ctx, tenant, rt.Name, id); err != nil {
			return err
		}
		return s.record(ctx, w, change{rt: rt, op: "delete", before: &old})
	})
}

// ListParams are the query parameters of RFC 7644 §3.4.2 as the client sent them.
type ListParams struct {
	Filter     string
	SortBy     string
	SortOrder  string
	StartIndex int // 1-based; 0 means unset
	Count      int // -1 means unset
}

// ListResult is one page of a list or search.
type ListResult struct {
	Total      int
	StartIndex int
	Resources  []store.Resource
}

// List answers a list or search request, per RFC 7644 §3.4.2: the filter is
// parsed and validated against the schema and answered by the store with
// indexed SQL.
func (s *Service) List(ctx context.Context, tenant string, rt *schema.ResourceType, p ListParams) (ListResult, error) {
	q := store.Query{StartIndex: max(p.StartIndex, 1), Count: DefaultPageSize}
	if p.Count >= 0 {
		q.Count = min(p.Count, MaxPageSize)
	}
	if strings.TrimSpace(p.Filter) != "" {
		e, err := filter.Parse(p.Filter)
		if err != nil {
			return ListResult{}, err
		}
		if q.Filter, err = filter.Validate(e, rt); err != nil {
			return ListResult{}, err
		}
	}
	if p.SortBy != "" {
		urn, rest := rt.SplitURN(p.SortBy)
		name, sub, _ := strings.Cut(rest, ".")
		r, err := rt.Resolve(urn, name, sub)
		if err != nil {
			return ListResult{}, scimerr.InvalidValue("cannot sort by %q: %v", p.SortBy, err)
		}
		// Sorting by a value that is never returned (the password) would
		// reveal it by the order of the results, as a filter would.
		if r.Attr.Returned == schema.ReturnedNever || r.Leaf().Returned == schema.ReturnedNever {
			return ListResult{}, scimerr.InvalidFilter("cannot sort by %q: its value is never returned", p.SortBy)
		}
		if r.Leaf().Type == schema.Complex {
			return ListResult{}, scimerr.InvalidValue("cannot sort by complex attribute %q", p.SortBy)
		}
		path := filter.AttrPath{URI: r.SchemaURN, Name: r.Attr.Name}
		if r.Sub != nil {
			path.Sub = r.Sub.Name
		}
		q.SortBy = &path
	}
	switch strings.ToLower(p.SortOrder) {
	case "", "ascending":
	case "descending":
		q.Descending = true
	default:
		return ListResult{}, scimerr.InvalidValue(`sortOrder must be "ascending" or "descending", got %q`, p.SortOrder)
	}
	qctx := ctx
	if s.queryBudget > 0 {
		var cancel context.CancelFunc
		qctx, cancel = context.WithTimeoutCause(ctx, s.queryBudget, errOverBudget)
		defer cancel()
	}
	page, err := s.store.Resources().Query(qctx, tenant, rt, q)
	if err != nil {
		// Whatever error the backend made of it (an interrupted SQLite
		// statement, a cancelled PostgreSQL one), the budget ran out.
		if ctx.Err() == nil && errors.Is(context.Cause(qctx), errOverBudget) {
			return ListResult{}, scimerr.TooMany("the query took longer than the server's %s budget; narrow the filter or ask for a smaller page", s.queryBudget)
		}
		return ListResult{}, fmt.Errorf("list %s: %w", rt.Endpoint, err)
	}
	return ListResult{Total: page.Total, StartIndex: q.StartIndex, Resources: page.Resources}, nil
}

// errOverBudget is the cause of a List query's context ending at its budget.
var errOverBudget = errors.New("query budget exhausted")

// takeMembers removes a group's "members" from attrs and returns their ids.
func takeMembers(rt *schema.ResourceType, attrs map[string]any) ([]string, error) {
	if rt.Name != schema.GroupResource {
		return nil, nil
	}
	list, _ := attrs["members"].([]any)
	delete(attrs, "members")
	ids := make([]string, 0, len(list))
	seen := make(map[string]bool, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		id, _ := m["value"].(string)
		if id == "" {
			return nil, scimerr.InvalidValue(`every member needs a "value" with the member's id`)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func check(rt *schema.ResourceType, attrs map[string]any) error {
	if err := resource.CheckRequired(rt, attrs); err != nil {
		return err
	}
	return resource.CheckPrimary(rt, attrs)
}

func checkVersion(r store.Resource, ifMatch string) error {
	if ifMatch == "" || strings.TrimSpace(ifMatch) == "*" {
		return nil
	}
	for _, tag := range strings.Split(ifMatch, ",") {
		if v, ok := resource.ParseETag(tag); ok && v == r.Version {
			return nil
		}
	}
	return scimerr.PreconditionFailed("resource %s is at version %s, not %s", r.ID, resource.ETag(r.Version), ifMatch)
}

func notFound(rt *schema.ResourceType, id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return scimerr.NotFound("%s %q not found", rt.Name, id)
	}
	return err
}

// writeError turns store errors into SCIM errors a client can act on.
func writeError(rt *schema.ResourceType, attrs map[string]any, err error) error {
	var me *store.MemberError
	switch {
	case scimerr.As(err) != nil:
		return err
	case errors.As(err, &me):
		return scimerr.InvalidValue("member %q is not a User or Group of this tenant", me.ID)
	case errors.Is(err, store.ErrConflict):
		if name, ok := attrs["userName"].(string); ok && rt.Name == schema.UserResource {
			return scimerr.Uniqueness("userName %q is already taken", name)
		}
		return scimerr.Uniqueness("%s conflicts with an existing resource", rt.Name)
	case errors.Is(err, store.ErrPrecondition):
		return scimerr.PreconditionFailed("%s was changed concurrently; fetch it and retry", rt.Name)
	case errors.Is(err, store.ErrNotFound):
		return scimerr.NotFound("%s not found", rt.Name)
	}
	return err
}
