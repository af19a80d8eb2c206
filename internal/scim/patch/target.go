package patch

import (
	"encoding/json"
	"strings"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/resource"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
)

// target is an operation path resolved against a resource type.
type target struct {
	urn     string            // extension URN whose object holds the attribute; "" for core and common attributes
	attr    *schema.Attribute // the top-level attribute
	sub     *schema.Attribute // the sub-attribute of "name.givenName" or of "emails[...].value"; nil if none
	filter  filter.Expr       // the value filter, with canonical sub-attribute names; nil if none
	seed    map[string]any    // the element the filter's equality terms describe; nil if they describe none
	path    string            // canonical path, for Change
	members bool              // the Group attribute "members", which Apply turns into MemberOps
}

// resolve parses a PATCH path, per RFC 7644 §3.5.2, and resolves it against
// the resource type: names compare case-insensitively and come back in their
// canonical spelling; a URN prefix selects the core schema or an extension.
// Every error is invalidPath.
func (e *engine) resolve(path string) (target, error) {
	p, err := filter.ParsePath(e.legacyURN(path))
	if err != nil {
		if se := scimerr.As(err); se != nil {
			return target{}, scimerr.InvalidPath("%s", se.Detail)
		}
		return target{}, scimerr.InvalidPath("%v", err)
	}
	res, err := e.rt.Resolve(p.Attr.URI, p.Attr.Name, p.Attr.Sub)
	if err != nil {
		return target{}, scimerr.InvalidPath("%v for %s resources", err, e.rt.Name)
	}
	t := target{attr: res.Attr, sub: res.Sub}
	if res.IsExtension(e.rt) {
		t.urn = res.SchemaURN
	}
	if p.Filter != nil {
		if res.Sub != nil {
			return target{}, scimerr.InvalidPath("a value filter applies to an attribute, not to the sub-attribute %q", res.Attr.Name+"."+res.Sub.Name)
		}
		if res.Attr.Type != schema.Complex {
			return target{}, scimerr.InvalidPath("attribute %q is not complex, so it cannot have a value filter", res.Attr.Name)
		}
		if t.filter, err = canonicalFilter(res.Attr, p.Filter); err != nil {
			return target{}, err
		}
		t.seed = seedOf(res.Attr, t.filter)
		if p.Sub != "" {
			if t.sub = res.Attr.Sub(p.Sub); t.sub == nil {
				return target{}, scimerr.InvalidPath("attribute %q has no sub-attribute %q", res.Attr.Name, p.Sub)
			}
		}
	} else if p.Sub != "" {
		return target{}, scimerr.InvalidPath("sub-attribute %q follows no value filter", p.Sub)
	}
	t.members = strings.EqualFold(res.SchemaURN, schema.GroupURN) && res.Attr.Name == "members"

	var b strings.Builder
	if t.urn != "" {
		b.WriteString(t.urn + ":")
	}
	b.WriteString(res.Attr.Name)
	if t.filter != nil {
		b.WriteString("[" + t.filter.String() + "]")
	}
	if t.sub != nil {
		b.WriteString("." + t.sub.Name)
	}
	t.path = b.String()
	return t, nil
}

// legacyURN rewrites the path form of Microsoft Entra ID's pre-2019
// customappsso job template, which put a '.' rather than a ':' between an
// extension URN and the attribute
// ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department"),
// into the RFC 7644 §3.10 form. A URN followed by '.' is otherwise
// meaningless, so the rewrite cannot change the meaning of a valid path.
func (e *engine) legacyURN(path string) string {
	path = strings.TrimSpace(path)
	for _, u := range e.rt.SchemaURNs() {
		if len(path) > len(u)+1 && strings.EqualFold(path[:len(u)], u) && path[len(u)] == '.' {
			return path[:len(u)] + ":" + path[len(u)+1:]
		}
	}
	return path
}

// canonicalFilter checks that a value filter of the complex attribute a only
// compares a's sub-attributes and returns a copy that spells them
// canonically, so that Change paths and MemberOp filters print one way.
func canonicalFilter(a *schema.Attribute, x filter.Expr) (filter.Expr, error) {
	switch n := x.(type) {
	case *filter.Compare:
		if n.Path.URI != "" || n.Path.Sub != "" {
			return nil, scimerr.InvalidPath("the value filter of %q may only compare its own sub-attributes", a.Name)
		}
		s := a.Sub(n.Path.Name)
		if s == nil {
			return nil, scimerr.InvalidPath("attribute %q has no sub-attribute %q", a.Name, n.Path.Name)
		}
		// Whether an operation finds its target must not reveal a value the
		// server never returns (RFC 7643 §7), as a search filter must not.
		if s.Returned == schema.ReturnedNever {
			return nil, scimerr.InvalidFilter("cannot filter on %q: its value is never returned", a.Name+"."+s.Name)
		}
		c := *n
		c.Path = filter.AttrPath{Name: s.Name}
		return &c, nil
	case *filter.And:
		l, r, err := canonicalPair(a, n.Left, n.Right)
		if err != nil {
			return nil, err
		}
		return &filter.And{Left: l, Right: r}, nil
	case *filter.Or:
		l, r, err := canonicalPair(a, n.Left, n.Right)
		if err != nil {
			return nil, err
		}
		return &filter.Or{Left: l, Right: r}, nil
	case *filter.Not:
		in, err := canonicalFilter(a, n.X)
		if err != nil {
			return nil, err
		}
		return &filter.Not{X: in}, nil
	}
	return nil, scimerr.InvalidPath("the value filter of %q cannot contain another value filter", a.Name)
}

func canonicalPair(a *schema.Attribute, l, r filter.Expr) (filter.Expr, filter.Expr, error) {
	cl, err := canonicalFilter(a, l)
	if err != nil {
		return nil, nil, err
	}
	cr, err := canonicalFilter(a, r)
	if err != nil {
		return nil, nil, err
	}
	return cl, cr, nil
}

// seedOf returns the element that a value filter made only of "eq"
// comparisons joined by "and" describes, such as {"type": "work"} for
// type eq "work", with values normalized for their sub-attributes (so
// primary eq "True" seeds a boolean). It returns nil for any other filter,
// for null or readOnly terms, and for contradicting terms.
//
// Add and replace use the seed to create the element a filter selects when
// no element matches: Microsoft Entra ID sends
// emails[type eq "work"].value for a user with no work e-mail and expects
// the e-mail to be created, where RFC 7644 §3.5.2.3 would answer noTarget.
func seedOf(a *schema.Attribute, f filter.Expr) map[string]any {
	seed := map[string]any{}
	var walk func(x filter.Expr) bool
	walk = func(x filter.Expr) bool {
		switch n := x.(type) {
		case *filter.And:
			return walk(n.Left) && walk(n.Right)
		case *filter.Compare:
			if n.Op != filter.Eq {
				return false
			}
			s := a.Sub(n.Path.Name)
			if s == nil || s.Mutability == schema.ReadOnly {
				return false
			}
			var raw any
			switch n.Value.Kind {
			case filter.KindString:
				raw = n.Value.Str
			case filter.KindNumber:
				raw = json.Number(n.Value.Str)
			case filter.KindBool:
				raw = n.Value.Bool
			default:
				return false
			}
			v, err := resource.Scalar(s, raw)
			if err != nil || v == nil {
				return false
			}
			if old, ok := seed[s.Name]; ok && !equal(old, v) {
				return false
			}
			seed[s.Name] = v
			return true
		}
		return false
	}
	if !walk(f) || len(seed) == 0 {
		return nil
	}
	return seed
}
