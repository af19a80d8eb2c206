package schema

import (
	"fmt"
	"strings"
)

// Schema is a SCIM schema definition, per RFC 7643 §7.
type Schema struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Attributes  []*Attribute `json:"attributes"`
}

// Attr returns the schema's top-level attribute with the given name, compared
// case-insensitively, or nil.
func (s *Schema) Attr(name string) *Attribute { return find(s.Attributes, name) }

// Extension is a schema extension of a resource type, per RFC 7643 §6.
type Extension struct {
	Schema   *Schema
	Required bool
}

// ResourceType describes a resource endpoint, per RFC 7643 §6: its core
// schema and the extensions it accepts.
type ResourceType struct {
	ID          string
	Name        string
	Endpoint    string
	Description string
	Schema      *Schema
	Extensions  []Extension

	common []*Attribute
}

// Resource type names.
const (
	UserResource  = "User"
	GroupResource = "Group"
)

// Extension returns the extension schema with the given URN, compared
// case-insensitively, or nil.
func (rt *ResourceType) Extension(urn string) *Schema {
	for _, e := range rt.Extensions {
		if strings.EqualFold(e.Schema.ID, urn) {
			return e.Schema
		}
	}
	return nil
}

// Common returns the common attribute (id, externalId or meta) with the given
// name, or nil.
func (rt *ResourceType) Common(name string) *Attribute { return find(rt.common, name) }

// SchemaURNs returns the URNs a resource of this type may list in "schemas".
func (rt *ResourceType) SchemaURNs() []string {
	urns := []string{rt.Schema.ID}
	for _, e := range rt.Extensions {
		urns = append(urns, e.Schema.ID)
	}
	return urns
}

// Resolved is an attribute path resolved against a resource type: the schema
// that owns the top-level attribute ("" for common attributes), the top-level
// attribute, and the sub-attribute when the path names one.
type Resolved struct {
	SchemaURN string
	Attr      *Attribute
	Sub       *Attribute
}

// Leaf returns the attribute the path ends at.
func (r Resolved) Leaf() *Attribute {
	if r.Sub != nil {
		return r.Sub
	}
	return r.Attr
}

// IsExtension reports whether the attribute belongs to an extension schema,
// whose values live under the extension's URN key in a resource.
func (r Resolved) IsExtension(rt *ResourceType) bool {
	return r.SchemaURN != "" && !strings.EqualFold(r.SchemaURN, rt.Schema.ID)
}

// Resolve looks up an attribute path: uri is a schema URN or "", name the
// attribute and sub an optional sub-attribute. Names compare
// case-insensitively (RFC 7643 §2.1). A path without a URN is looked up among
// the common attributes, the core schema and then the extensions.
func (rt *ResourceType) Resolve(uri, name, sub string) (Resolved, error) {
	var res Resolved
	switch {
	case uri != "":
		var s *Schema
		if strings.EqualFold(uri, rt.Schema.ID) {
			s = rt.Schema
		} else {
			s = rt.Extension(uri)
		}
		if s == nil {
			return res, fmt.Errorf("unknown schema %q for resource type %s", uri, rt.Name)
		}
		res.SchemaURN, res.Attr = s.ID, s.Attr(name)
		if res.Attr == nil && strings.EqualFold(s.ID, rt.Schema.ID) {
			res.SchemaURN, res.Attr = "", rt.Common(name)
		}
	default:
		if a := rt.Common(name); a != nil {
			res.Attr = a
		} else if a := rt.Schema.Attr(name); a != nil {
			res.SchemaURN, res.Attr = rt.Schema.ID, a
		} else {
			for _, e := range rt.Extensions {
				if a := e.Schema.Attr(name); a != nil {
					res.SchemaURN, res.Attr = e.Schema.ID, a
					break
				}
			}
		}
	}
	if res.Attr == nil {
		return res, fmt.Errorf("unknown attribute %q", joinPath(uri, name, ""))
	}
	if sub != "" {
		if res.Attr.Type != Complex {
			return res, fmt.Errorf("attribute %q has no sub-attributes", res.Attr.Name)
		}
		res.Sub = res.Attr.Sub(sub)
		if res.Sub == nil {
			return res, fmt.Errorf("unknown attribute %q", joinPath(uri, name, sub))
		}
	}
	return res, nil
}

// SplitURN splits a fully qualified attribute path such as
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
// into the schema URN and the rest ("manager.value"), per RFC 7644 §3.10. A
// path without a URN prefix returns "" and the path unchanged. Only URNs the
// resource type knows are split off, because attribute names may not contain
// ':' but schema URNs always do.
func (rt *ResourceType) SplitURN(path string) (urn, rest string) {
	for _, u := range rt.SchemaURNs() {
		if len(path) > len(u) && strings.EqualFold(path[:len(u)], u) && path[len(u)] == ':' {
			return u, path[len(u)+1:]
		}
	}
	if i := strings.LastIndex(path, ":"); i >= 0 {
		return path[:i], path[i+1:]
	}
	return "", path
}

func joinPath(uri, name, sub string) string {
	p := name
	if sub != "" {
		p += "." + sub
	}
	if uri != "" {
		p = uri + ":" + p
	}
	return p
}

// Registry holds the schemas and resource types a service provider serves.
type Registry struct {
	schemas       []*Schema
	resourceTypes []*ResourceType
}

// Default returns the registry of RFC 7643: User with the Enterprise User
// extension, and Group.
func Default() *Registry {
	user, group, enterprise := UserSchema(), GroupSchema(), EnterpriseUserSchema()
	return &Registry{
		schemas: []*Schema{user, group, enterprise},
		resourceTypes: []*ResourceType{
			{
				ID: UserResource, Name: UserResource, Endpoint: "/Users",
				Description: "User Account", Schema: user,
				Extensions: []Extension{{Schema: enterprise}},
				common:     commonAttributes(),
			},
			{
				ID: GroupResource, Name: GroupResource, Endpoint: "/Groups",
				Description: "Group", Schema: group,
				common: commonAttributes(),
			},
		},
	}
}

// Schemas returns every schema, in registration order.
func (r *Registry) Schemas() []*Schema { return r.schemas }

// Schema returns the schema with the given URN, or nil.
func (r *Registry) Schema(urn string) *Schema {
	for _, s := range r.schemas {
		if strings.EqualFold(s.ID, urn) {
			return s
		}
	}
	return nil
}

// ResourceTypes returns every resource type, in registration order.
func (r *Registry) ResourceTypes() []*ResourceType { return r.resourceTypes }

// ResourceType returns the resource type with the given name, or nil.
func (r *Registry) ResourceType(name string) *ResourceType {
	for _, rt := range r.resourceTypes {
		if strings.EqualFold(rt.Name, name) {
			return rt
		}
	}
	return nil
}

// User returns the User resource type.
func (r *Registry) User() *ResourceType { return r.ResourceType(UserResource) }

// Group returns the Group resource type.
func (r *Registry) Group() *ResourceType { return r.ResourceType(GroupResource) }
