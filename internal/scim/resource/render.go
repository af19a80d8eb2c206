package resource

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
)

// Meta is the server-owned metadata of a resource, per RFC 7643 §3.1.
type Meta struct {
	Created  time.Time
	Modified time.Time
	Version  int64
	Location string
}

// TimeFormat is how Roster writes dateTime values it owns: UTC with
// milliseconds, which every client parses.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// ETag returns the weak entity tag of a resource version, per RFC 7644 §3.14.
func ETag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// ParseETag returns the version of an entity tag made by ETag, accepting the
// strong form too. ok is false for anything else.
func ParseETag(tag string) (version int64, ok bool) {
	tag = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(tag), "W/"))
	if len(tag) < 2 || tag[0] != '"' || tag[len(tag)-1] != '"' {
		return 0, false
	}
	v, err := strconv.ParseInt(tag[1:len(tag)-1], 10, 64)
	return v, err == nil
}

// Render returns the JSON object of a resource: its attributes with schemas,
// id and meta added, and attributes that are never returned (password)
// removed. attrs is not modified.
func Render(rt *schema.ResourceType, id string, attrs map[string]any, m Meta) map[string]any {
	doc := make(map[string]any, len(attrs)+3)
	schemas := []string{rt.Schema.ID}
	for k, v := range attrs {
		if ext := rt.Extension(k); ext != nil {
			schemas = append(schemas, ext.ID)
			doc[k] = withoutNever(ext.Attributes, v.(map[string]any))
			continue
		}
		if a := rt.Schema.Attr(k); a != nil && a.Returned == schema.ReturnedNever {
			continue
		}
		doc[k] = v
	}
	doc["schemas"] = schemas
	doc["id"] = id
	meta := map[string]any{
		"resourceType": rt.Name,
		"created":      m.Created.UTC().Format(TimeFormat),
		"lastModified": m.Modified.UTC().Format(TimeFormat),
		"version":      ETag(m.Version),
	}
	if m.Location != "" {
		meta["location"] = m.Location
	}
	doc["meta"] = meta
	return doc
}

func withoutNever(defs []*schema.Attribute, m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if a := schema.FindAttr(defs, k); a != nil && a.Returned == schema.ReturnedNever {
			continue
		}
		out[k] = v
	}
	return out
}

// Projection selects which attributes a response carries, per the
// "attributes" and "excludedAttributes" parameters of RFC 7644 §3.4.2.5 and
// the "returned" characteristic of RFC 7643 §7. The zero Projection returns
// the default set.
type Projection struct {
	include []schema.Resolved // nil: the default set
	exclude []schema.Resolved
	skip    []string // top-level names known to be empty (see Without)
}

// NewProjection parses attribute names in the notation of RFC 7644 §3.10
// ("userName", "name.givenName", "emails.value", an extension URN, or a
// URN-qualified name). Unknown names are rejected with invalidValue.
func NewProjection(rt *schema.ResourceType, attributes, excluded []string) (Projection, error) {
	var p Projection
	var err error
	if p.include, err = resolveAll(rt, attributes); err != nil {
		return p, err
	}
	if p.exclude, err = resolveAll(rt, excluded); err != nil {
		return p, err
	}
	if len(attributes) > 0 && p.include == nil {
		p.include = []schema.Resolved{}
	}
	return p, nil
}

// NewPartialProjection is NewProjection for one resource type of a search
// that spans several, as POST /.search at the server root does (RFC 7644
// §3.4.3): a name rt does not have is left out instead of refused and
// reported in missing, so that the caller can refuse only a name that no
// type has. An "attributes" list naming none of rt's attributes still
// selects: rt's resources then carry only what is returned always (id).
func NewPartialProjection(rt *schema.ResourceType, attributes, excluded []string) (p Projection, missing []string, err error) {
	split := func(names []string) []string {
		var known []string
		for _, n := range names {
			if _, err := resolveAll(rt, []string{n}); err != nil {
				missing = append(missing, strings.TrimSpace(n))
				continue
			}
			known = append(known, n)
		}
		return known
	}
	if p.include, err = resolveAll(rt, split(attributes)); err != nil {
		return p, nil, err
	}
	if p.exclude, err = resolveAll(rt, split(excluded)); err != nil {
		return p, nil, err
	}
	if len(attributes) > 0 && p.include == nil {
		p.include = []schema.Resolved{}
	}
	return p, missing, nil
}

func resolveAll(rt *schema.ResourceType, names []string) ([]schema.Resolved, error) {
	var out []schema.Resolved
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || strings.EqualFold(n, "schemas") {
			continue
		}
		if ext := rt.Extension(n); ext != nil {
			for _, a := range ext.Attributes {
				out = append(out, schema.Resolved{SchemaURN: ext.ID, Attr: a})
			}
			continue
		}
		urn, rest := rt.SplitURN(n)
		name, sub, _ := strings.Cut(rest, ".")
		r, err := rt.Resolve(urn, name, sub)
		if err != nil {
			return nil, scimerr.InvalidValue("cannot select attribute %q: %v", n, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Without returns a copy of the projection that also leaves out the named
// top-level attributes, for attributes the caller knows to be empty.
func (p Projection) Without(names ...string) Projection {
	out := Projection{include: p.include, exclude: slices.Clone(p.exclude), skip: slices.Clone(p.skip)}
	out.skip = append(out.skip, names...)
	return out
}

// Wants reports whether a response carries the given top-level attribute of
// the core schema (or a common attribute). The HTTP layer asks it before
// loading a group's members or a user's groups, so that
// excludedAttributes=members never reads a member.
func (p Projection) Wants(rt *schema.ResourceType, name string) bool {
	if slices.Contains(p.skip, name) {
		return false
	}
	res, err := rt.Resolve("", name, "")
	if err != nil {
		return false
	}
	return p.keep(res.SchemaURN, res.Attr) != keepNone
}

type keepMode int

const (
	keepNone keepMode = iota
	keepAll
	keepSome // only some sub-attributes
)

// keep decides what to keep of a top-level attribute.
func (p Projection) keep(urn string, a *schema.Attribute) keepMode {
	switch a.Returned {
	case schema.ReturnedAlways:
		return keepAll
	case schema.ReturnedNever:
		return keepNone
	}
	if p.include != nil {
		mode := keepNone
		for _, r := range p.include {
			if r.Attr == a && strings.EqualFold(r.SchemaURN, urn) {
				if r.Sub == nil {
					return keepAll
				}
				mode = keepSome
			}
		}
		return mode
	}
	if a.Returned == schema.ReturnedRequest {
		return keepNone
	}
	mode := keepAll
	for _, r := range p.exclude {
		if r.Attr == a && strings.EqualFold(r.SchemaURN, urn) {
			if r.Sub == nil {
				return keepNone
			}
			mode = keepSome
		}
	}
	return mode
}

// keepSub decides whether a sub-attribute of a keepSome attribute stays.
func (p Projection) keepSub(urn string, a, sub *schema.Attribute) bool {
	if sub.Returned == schema.ReturnedAlways {
		return true
	}
	if sub.Returned == schema.ReturnedNever {
		return false
	}
	if p.include != nil {
		for _, r := range p.include {
			if r.Attr == a && r.Sub == sub && strings.EqualFold(r.SchemaURN, urn) {
				return true
			}
		}
		return false
	}
	for _, r := range p.exclude {
		if r.Attr == a && r.Sub == sub && strings.EqualFold(r.SchemaURN, urn) {
			return false
		}
	}
	return true
}

// Apply removes from a rendered resource (see Render) what the projection
// does not select. schemas and id are always kept.
func (p Projection) Apply(rt *schema.ResourceType, doc map[string]any) map[string]any {
	if p.include == nil && p.exclude == nil {
		return doc
	}
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		if k == "schemas" || k == "id" {
			out[k] = v
			continue
		}
		if ext := rt.Extension(k); ext != nil {
			m, _ := v.(map[string]any)
			sub := p.applyAttrs(ext.ID, ext.Attributes, m)
			if len(sub) > 0 {
				out[k] = sub
			}
			continue
		}
		res, err := rt.Resolve("", k, "")
		if err != nil {
			continue
		}
		if nv, ok := p.applyAttr(res.SchemaURN, res.Attr, v); ok {
			out[k] = nv
		}
	}
	return out
}

func (p Projection) applyAttrs(urn string, defs []*schema.Attribute, m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		a := schema.FindAttr(defs, k)
		if a == nil {
			continue
		}
		if nv, ok := p.applyAttr(urn, a, v); ok {
			out[k] = nv
		}
	}
	return out
}

func (p Projection) applyAttr(urn string, a *schema.Attribute, v any) (any, bool) {
	switch p.keep(urn, a) {
	case keepAll:
		return v, true
	case keepNone:
		return nil, false
	}
	// keepSome: filter the sub-attributes of each value.
	if list, ok := v.([]any); ok {
		out := make([]any, 0, len(list))
		for _, e := range list {
			if m, ok := e.(map[string]any); ok {
				if fm := p.subset(urn, a, m); len(fm) > 0 {
					out = append(out, fm)
				}
			}
		}
		return out, len(out) > 0
	}
	if m, ok := v.(map[string]any); ok {
		fm := p.subset(urn, a, m)
		return fm, len(fm) > 0
	}
	return v, true
}

func (p Projection) subset(urn string, a *schema.Attribute, m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub := a.Sub(k); sub != nil && p.keepSub(urn, a, sub) {
			out[k] = v
		}
	}
	return out
}

// Element projects one element of a multi-valued complex attribute, such as
// one member of a group streamed by the HTTP layer.
func (p Projection) Element(rt *schema.ResourceType, name string, elem map[string]any) map[string]any {
	res, err := rt.Resolve("", name, "")
	if err != nil || p.keep(res.SchemaURN, res.Attr) != keepSome {
		return elem
	}
	return p.subset(res.SchemaURN, res.Attr, elem)
}
