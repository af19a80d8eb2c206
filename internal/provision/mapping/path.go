package mapping

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/schema"
)

// Path is a parsed attribute path as mappings write them, on the target
// side and (for a SCIM source) on the source side:
//
//	userName                                      {Attr: userName}
//	name.givenName                                {Attr: name, Sub: givenName}
//	emails[type eq "work"].value                  {Attr: emails, Conds: [type=work], Sub: value}
//	urn:…:enterprise:2.0:User:employeeNumber      {URN: urn:…:User, Attr: employeeNumber}
//
// A value filter is one or more eq comparisons of sub-attributes joined by
// and, because the element it selects must be one the engine can create:
// emails[type eq "work"] becomes {"type": "work", …}.
type Path struct {
	// URN is the schema URN the path was written with, or "".
	URN string
	// Attr is the top-level attribute.
	Attr string
	// Conds select an element of a multi-valued complex attribute.
	Conds []Cond
	// Sub is the sub-attribute, or "".
	Sub string
}

// Cond is one comparison of a value filter: Sub eq Value.
type Cond struct {
	Sub string
	// Value is a string, bool or json-like number (float64) as written.
	Value any
}

// ParsePath parses a mapping path with the SCIM path grammar of RFC 7644
// §3.5.2 (filter.ParsePath) and accepts only the forms of Path.
func ParsePath(s string) (Path, error) {
	fp, err := filter.ParsePath(s)
	if err != nil {
		return Path{}, err
	}
	p := Path{URN: fp.Attr.URI, Attr: fp.Attr.Name, Sub: fp.Attr.Sub}
	if fp.Filter != nil {
		if fp.Sub == "" {
			return Path{}, errors.New("a value filter must be followed by a sub-attribute, as in emails[type eq \"work\"].value")
		}
		p.Sub = fp.Sub
		if p.Conds, err = conds(fp.Filter, nil); err != nil {
			return Path{}, err
		}
	}
	return p, nil
}

// conds flattens a conjunction of eq comparisons.
func conds(e filter.Expr, acc []Cond) ([]Cond, error) {
	switch e := e.(type) {
	case *filter.And:
		acc, err := conds(e.Left, acc)
		if err != nil {
			return nil, err
		}
		return conds(e.Right, acc)
	case *filter.Compare:
		if e.Op != filter.Eq || e.Path.URI != "" || e.Path.Sub != "" {
			return nil, fmt.Errorf("value filter %q: only sub-attribute eq value comparisons joined by and can select an element", e.String())
		}
		var v any
		switch e.Value.Kind {
		case filter.KindString:
			v = e.Value.Str
		case filter.KindBool:
			v = e.Value.Bool
		case filter.KindNumber:
			v = e.Value.Num
		default:
			return nil, fmt.Errorf("value filter %q: null cannot select an element", e.String())
		}
		for _, c := range acc {
			if strings.EqualFold(c.Sub, e.Path.Name) {
				return nil, fmt.Errorf("value filter compares %q twice", e.Path.Name)
			}
		}
		return append(acc, Cond{Sub: e.Path.Name, Value: v}), nil
	}
	return nil, fmt.Errorf("value filter %q: only sub-attribute eq value comparisons joined by and can select an element", e.String())
}

// String prints the path in the form ParsePath reads.
func (p Path) String() string {
	var b strings.Builder
	if p.URN != "" {
		b.WriteString(p.URN)
		b.WriteByte(':')
	}
	b.WriteString(p.Attr)
	if len(p.Conds) > 0 {
		b.WriteByte('[')
		b.WriteString(p.condExpr().String())
		b.WriteByte(']')
	}
	if p.Sub != "" {
		b.WriteByte('.')
		b.WriteString(p.Sub)
	}
	return b.String()
}

// condExpr returns the value filter as a filter AST, or nil.
func (p Path) condExpr() filter.Expr {
	var e filter.Expr
	for _, c := range p.Conds {
		cmp := &filter.Compare{Path: filter.AttrPath{Name: c.Sub}, Op: filter.Eq, Value: filterValue(c.Value)}
		if e == nil {
			e = cmp
		} else {
			e = &filter.And{Left: e, Right: cmp}
		}
	}
	return e
}

// filterValue turns a condition or key value into a filter literal.
func filterValue(v any) filter.Value {
	switch v := v.(type) {
	case bool:
		return filter.Value{Kind: filter.KindBool, Bool: v}
	case float64:
		return filter.Value{Kind: filter.KindNumber, Num: v, Str: strconv.FormatFloat(v, 'g', -1, 64)}
	case int64:
		return filter.Value{Kind: filter.KindNumber, Num: float64(v), Str: strconv.FormatInt(v, 10)}
	default:
		return filter.Value{Kind: filter.KindString, Str: fmt.Sprint(v)}
	}
}

// target is a compiled target path: the path resolved against the target
// resource type's schema.
type target struct {
	path Path
	// urn is the extension URN whose object holds the attribute, or ""
	// for core and common attributes.
	urn string
	// typ is the leaf's SCIM type; unknown attributes are strings.
	typ schema.Type
	// multi reports a multi-valued leaf: the value is a list.
	multi bool
	// ref reports the enterprise manager reference.
	ref bool
	// primary adds primary: true to a created element (emails[type eq
	// "work"], as Entra sends it).
	primary bool
	// attr is the top-level attribute's schema, nil when unknown.
	attr *schema.Attribute
}

// compileTarget parses and resolves a target path. Known attributes take
// their schema's spelling and their extension's URN (so "manager" becomes
// the enterprise extension's manager); attributes Roster's schema does not
// know are strings, under their URN when they have one.
func compileTarget(rt *schema.ResourceType, s string) (*target, error) {
	p, err := ParsePath(s)
	if err != nil {
		return nil, err
	}
	t := &target{path: p, typ: schema.String}
	knownURN := p.URN == ""
	for _, u := range rt.SchemaURNs() {
		if strings.EqualFold(u, p.URN) {
			knownURN = true
		}
	}
	if !knownURN {
		// A custom extension Roster's schema does not describe.
		if len(p.Conds) > 0 {
			return nil, fmt.Errorf("a value filter needs an attribute Roster's schema knows; %q is in an unknown schema", p.Attr)
		}
		t.urn = p.URN
		return t, nil
	}
	res, err := rt.Resolve(p.URN, p.Attr, "")
	if err != nil {
		if p.URN != "" || len(p.Conds) > 0 {
			return nil, err
		}
		// An unknown core attribute: written as a string under its name.
		return t, nil
	}
	a := res.Attr
	t.attr = a
	t.path.Attr = a.Name
	if res.IsExtension(rt) {
		t.urn = res.SchemaURN
		t.path.URN = res.SchemaURN
	} else {
		t.path.URN = ""
	}
	if a.Mutability == schema.ReadOnly {
		return nil, fmt.Errorf("%s is read-only", a.Name)
	}
	if strings.EqualFold(res.SchemaURN, schema.EnterpriseUserURN) && strings.EqualFold(a.Name, "manager") {
		if p.Sub != "" && !strings.EqualFold(p.Sub, "value") {
			return nil, fmt.Errorf("manager is a reference: map manager or manager.value, not manager.%s", p.Sub)
		}
		t.path.Sub, t.ref = "", true
		return t, nil
	}
	leaf := a
	switch {
	case len(p.Conds) > 0:
		if !a.IsMultiValuedComplex() {
			return nil, fmt.Errorf("a value filter selects an element of a multi-valued complex attribute; %s is not one", a.Name)
		}
		for i, c := range p.Conds {
			sa := a.Sub(c.Sub)
			if sa == nil {
				return nil, fmt.Errorf("value filter: %s has no sub-attribute %q", a.Name, c.Sub)
			}
			v, err := coerce(c.Value, sa.Type)
			if err != nil {
				return nil, fmt.Errorf("value filter: %s: %w", sa.Name, err)
			}
			t.path.Conds[i] = Cond{Sub: sa.Name, Value: v}
		}
		leaf = a.Sub(p.Sub)
		if leaf == nil {
			return nil, fmt.Errorf("%s has no sub-attribute %q", a.Name, p.Sub)
		}
		t.path.Sub = leaf.Name
		t.primary = strings.EqualFold(a.Name, "emails") && a.HasPrimary() &&
			len(p.Conds) == 1 && strings.EqualFold(p.Conds[0].Sub, "type") && p.Conds[0].Value == "work"
	case p.Sub != "":
		if a.MultiValued {
			return nil, fmt.Errorf("%s is multi-valued: select an element with a value filter, as in %s[type eq \"work\"].%s", a.Name, a.Name, p.Sub)
		}
		if leaf = a.Sub(p.Sub); leaf == nil {
			return nil, fmt.Errorf("%s has no sub-attribute %q", a.Name, p.Sub)
		}
		t.path.Sub = leaf.Name
	default:
		if a.Type == schema.Complex {
			return nil, fmt.Errorf("%s is complex: map one of its sub-attributes, as in %s.%s", a.Name, a.Name, firstSub(a))
		}
	}
	if leaf.Mutability == schema.ReadOnly {
		return nil, fmt.Errorf("%s is read-only", t.path.String())
	}
	t.typ, t.multi = leaf.Type, leaf.MultiValued
	return t, nil
}

func firstSub(a *schema.Attribute) string {
	if len(a.SubAttributes) == 0 {
		return "value"
	}
	return a.SubAttributes[0].Name
}
