package directory

import (
	"context"
	"fmt"
	"io"

	"github.com/rosterhq/roster/internal/scim/resource"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
)

// View says how resources are rendered for one response. SCIM HTTP and the
// admin API render through the same View, so an admin sees the very
// resource a SCIM client sees.
type View struct {
	// BaseURL is the Tenant URL the resources are reached at, such as
	// "https://roster.example.com/scim/v2/acme": meta.location and every
	// "$ref" start with it.
	BaseURL string
	// Projection selects the attributes to return, per the "attributes"
	// and "excludedAttributes" parameters of RFC 7644 §3.4.2.5. Its zero
	// value returns the default set.
	Projection resource.Projection
	// ByType, when it holds a resource type's name, is the projection for
	// that type's resources instead of Projection. A search at the server
	// root (RFC 7644 §3.4.3) lists Users and Groups together, and an
	// attribute such as "userName" selects only where it exists.
	ByType map[string]resource.Projection
}

// projection returns the projection for resources of type rt.
func (v View) projection(rt *schema.ResourceType) resource.Projection {
	if p, ok := v.ByType[rt.Name]; ok {
		return p
	}
	return v.Projection
}

// WriteResource writes res as its SCIM JSON object to w: a user with the
// groups it is a direct member of, a group with its members. A group's
// members are streamed from the store one by one, never collected in
// memory, so a million-member group costs no more memory than an empty one;
// a projection without "members" (excludedAttributes=members) reads none.
//
// If an error occurs once part of the object is written, w holds a
// truncated object; callers that have sent a status already can only cut
// the response short.
func (s *Service) WriteResource(ctx context.Context, w io.Writer, tenant string, res store.Resource, v View) error {
	rt, err := s.resourceType(res)
	if err != nil {
		return err
	}
	return s.render(ctx, &jsonWriter{w: w}, tenant, rt, res, v, groupsIndex{})
}

// WriteResources writes list as a JSON array of SCIM objects, as
// WriteResource writes each. The groups of every user in the list are read
// with one query (GroupsOf) instead of one per user. The list may mix
// resource types, as a search at the server root does.
func (s *Service) WriteResources(ctx context.Context, w io.Writer, tenant string, list []store.Resource, v View) error {
	types := make([]*schema.ResourceType, len(list))
	var users []string
	for i, res := range list {
		rt, err := s.resourceType(res)
		if err != nil {
			return err
		}
		types[i] = rt
		if rt.Name == schema.UserResource && v.projection(rt).Wants(rt, "groups") {
			users = append(users, res.ID)
		}
	}
	groupsOf := groupsIndex{}
	if len(users) > 0 {
		m, err := s.store.Resources().GroupsOf(ctx, tenant, users)
		if err != nil {
			return fmt.Errorf("read groups of %d users: %w", len(users), err)
		}
		groupsOf = groupsIndex{read: true, groups: m}
	}
	jw := &jsonWriter{w: w}
	jw.raw("[")
	for i, res := range list {
		if i > 0 {
			jw.raw(",")
		}
		if err := s.render(ctx, jw, tenant, types[i], res, v, groupsOf); err != nil {
			return err
		}
	}
	jw.raw("]")
	return jw.err
}

// groupsIndex holds the groups of the users of a page, read at once; read
// is false when they were not read and each user's are read on their own.
type groupsIndex struct {
	read   bool
	groups map[string][]store.Member
}

func (s *Service) resourceType(res store.Resource) (*schema.ResourceType, error) {
	rt := s.registry.ResourceType(res.Type)
	if rt == nil {
		return nil, fmt.Errorf("render %s: unknown resource type %q", res.ID, res.Type)
	}
	return rt, nil
}

// render writes one resource. Members come last, after the object's other
// attributes, because they are streamed after the rest is encoded.
func (s *Service) render(ctx context.Context, w *jsonWriter, tenant string, rt *schema.ResourceType, res store.Resource, v View, groupsOf groupsIndex) error {
	proj := v.projection(rt)
	doc := resource.Render(rt, res.ID, res.Attrs, resource.Meta{
		Created: res.Created, Modified: res.Modified, Version: res.Version,
		Location: v.BaseURL + rt.Endpoint + "/" + res.ID,
	})
	var streamMembers bool
	switch rt.Name {
	case schema.UserResource:
		if proj.Wants(rt, "groups") {
			var groups []store.Member
			if groupsOf.read {
				groups = groupsOf.groups[res.ID]
			} else {
				var err error
				if groups, err = s.store.Resources().Groups(ctx, tenant, res.ID); err != nil {
					return fmt.Errorf("read groups of user %s: %w", res.ID, err)
				}
			}
			if len(groups) > 0 {
				list := make([]any, len(groups))
				for i, g := range groups {
					list[i] = map[string]any{
						"value": g.Value, "display": g.Display, "type": "direct",
						"$ref": v.BaseURL + "/Groups/" + g.Value,
					}
				}
				doc["groups"] = list
			}
		}
	case schema.GroupResource:
		streamMembers = proj.Wants(rt, "members")
	}
	doc = proj.Apply(rt, doc)
	b, err := resource.AppendJSON(make([]byte, 0, 1024), doc)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", rt.Name, res.ID, err)
	}
	if !streamMembers {
		w.write(b)
		return w.err
	}
	// Open the object again to append the members: b ends with '}'.
	w.write(b[:len(b)-1])
	first := true
	err = s.store.Resources().Members(ctx, tenant, res.ID, func(m store.Member) error {
		if first {
			w.raw(`,"members":[`)
			first = false
		} else {
			w.raw(",")
		}
		elem := map[string]any{"value": m.Value, "type": m.Type, "$ref": v.BaseURL + endpoint(m.Type) + "/" + m.Value}
		if m.Display != "" {
			elem["display"] = m.Display
		}
		w.json(proj.Element(rt, "members", elem))
		return w.err
	})
	if !first {
		w.raw("]")
	}
	w.raw("}")
	if w.err != nil {
		return w.err
	}
	if err != nil {
		return fmt.Errorf("read members of group %s: %w", res.ID, err)
	}
	return nil
}

// endpoint is the endpoint of a member's resource type, for its "$ref".
func endpoint(typ string) string {
	if typ == schema.GroupResource {
		return "/Groups"
	}
	return "/Users"
}

// jsonWriter writes JSON piece by piece, keeping the first error so that
// a long stream checks it once.
type jsonWriter struct {
	w   io.Writer
	err error
}

func (w *jsonWriter) write(b []byte) {
	if w.err == nil {
		_, w.err = w.w.Write(b)
	}
}

func (w *jsonWriter) raw(s string) {
	if w.err == nil {
		_, w.err = io.WriteString(w.w, s)
	}
}

func (w *jsonWriter) json(v any) {
	if w.err != nil {
		return
	}
	b, err := resource.AppendJSON(nil, v)
	if err != nil {
		w.err = fmt.Errorf("encode member: %w", err)
		return
	}
	w.write(b)
}
