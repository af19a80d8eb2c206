package filter

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
)

// SchemasAttr is the name of the "schemas" pseudo-attribute. It is not an
// attribute of any schema, but RFC 7644 §3.4.2.2 filters on it in an example
// (`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`),
// so Validate accepts it and Eval treats it as a multi-valued,
// case-insensitive string attribute holding the resource type's core schema
// URN plus the URN of every extension the resource has data for, the list
// a rendered resource carries in "schemas". A validated path names it as
// AttrPath{Name: SchemasAttr}; backends translating filters must special-case
// it.
const SchemasAttr = "schemas"

// schemasAttr describes the "schemas" pseudo-attribute.
var schemasAttr = schema.Str(SchemasAttr, schema.Multi)

// Validate checks the filter e against the resource type rt, per RFC 7644
// §3.4.2.2, and returns a canonical copy; e itself is not modified.
//
// Every attribute path is resolved with rt.Resolve and rewritten with URI set
// to the owning schema's URN (rt.Schema.ID for core attributes, the
// extension's URN for extension attributes, "" for the common attributes id,
// externalId and meta) and Name and Sub spelled exactly as in the schema.
// Inside a ValuePath paths stay relative: Name is the canonical sub-attribute
// name, and URI and Sub are empty. A comparison other than pr on a complex
// attribute without a sub-attribute, such as `emails co "@example.com"` or
// `members eq "2819c223"`, is rewritten to the attribute's "value"
// sub-attribute (RFC 7644 §3.4.2.2 filters emails this way in its examples);
// a complex attribute without "value" is an error. Comparisons with null
// are presence tests and stay on the complex attribute itself. The pseudo-attribute
// "schemas" is accepted; see SchemasAttr.
//
// Comparison values are checked against the attribute's type (RFC 7643 §2.3)
// and canonicalized so that the value's kind fits the type:
//
//   - string, reference and binary take a string; a JSON number is accepted
//     and becomes the string of its literal, as Microsoft Entra ID may send
//     unquoted values;
//   - dateTime takes a string that ParseTime accepts;
//   - boolean takes true or false; the strings "true" and "false" in any
//     case are accepted and become booleans, as Entra ID sends booleans as
//     "True" and "False";
//   - integer takes an integral number, decimal any number;
//   - null may be compared with eq and ne only, whatever the type.
//
// Operators are checked against the type: gt, ge, lt and le are rejected on
// boolean, binary and complex attributes (RFC 7644 §3.4.2.2, Table 3); co,
// sw and ew are accepted only on string, reference and binary attributes.
//
// Attributes whose "returned" characteristic is "never" (RFC 7643 §7), such
// as the User's password, cannot be filtered on with any operator, pr
// included: a filter that could match on them would let a client recover
// a value the server never returns, a character at a time with sw.
//
// Every error is a *scimerr.Error with scimType invalidFilter naming the
// offending attribute: an attribute that is never returned, an unknown
// attribute or schema, a sub-attribute of a non-complex attribute, a value
// filter on a non-complex attribute, a value filter nested in another, an
// operator or value that does not fit the type.
func Validate(e Expr, rt *schema.ResourceType) (Expr, error) {
	if rt == nil {
		return nil, scimerr.InvalidFilter("no resource type to validate the filter against")
	}
	return validator{rt: rt}.expr(e)
}

type validator struct{ rt *schema.ResourceType }

func (v validator) expr(e Expr) (Expr, error) {
	switch e := e.(type) {
	case *Compare:
		return v.compare(e)
	case *ValuePath:
		return v.valuePath(e)
	case *And:
		l, r, err := v.pair(e.Left, e.Right)
		if err != nil {
			return nil, err
		}
		return &And{Left: l, Right: r}, nil
	case *Or:
		l, r, err := v.pair(e.Left, e.Right)
		if err != nil {
			return nil, err
		}
		return &Or{Left: l, Right: r}, nil
	case *Not:
		x, err := v.expr(e.X)
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	}
	return nil, invalidNode(e)
}

func (v validator) pair(a, b Expr) (Expr, Expr, error) {
	l, err := v.expr(a)
	if err != nil {
		return nil, nil, err
	}
	r, err := v.expr(b)
	if err != nil {
		return nil, nil, err
	}
	return l, r, nil
}

func (v validator) compare(c *Compare) (Expr, error) {
	op, err := checkOp(c.Op)
	if err != nil {
		return nil, err
	}
	path, leaf, err := v.resolve(c.Path)
	if err != nil {
		return nil, err
	}
	if leaf.Type == schema.Complex && op != Pr && c.Value.Kind != KindNull {
		vs := leaf.Sub("value")
		if vs == nil {
			return nil, scimerr.InvalidFilter("attribute %q is complex and has no \"value\" sub-attribute; filter on one of its sub-attributes instead", path.String())
		}
		path.Sub, leaf = vs.Name, vs
		if err := filterable(path.String(), leaf); err != nil {
			return nil, err
		}
	}
	val, err := checkValue(path.String(), leaf, op, c.Value)
	if err != nil {
		return nil, err
	}
	return &Compare{Path: path, Op: op, Value: val}, nil
}

func (v validator) valuePath(vp *ValuePath) (Expr, error) {
	if vp.Path.Sub != "" {
		return nil, scimerr.InvalidFilter("a value filter applies to an attribute, not to the sub-attribute %q", vp.Path.String())
	}
	path, attr, err := v.resolve(vp.Path)
	if err != nil {
		return nil, err
	}
	if attr.Type != schema.Complex {
		return nil, scimerr.InvalidFilter("attribute %q is not complex, so it cannot have a value filter", path.String())
	}
	inner, err := relative(vp.Filter, attr)
	if err != nil {
		return nil, err
	}
	return &ValuePath{Path: path, Filter: inner}, nil
}

// resolve resolves a top-level attribute path and returns its canonical
// form and the attribute it ends at.
func (v validator) resolve(p AttrPath) (AttrPath, *schema.Attribute, error) {
	res, err := v.rt.Resolve(p.URI, p.Name, p.Sub)
	if err != nil {
		if isSchemas(p) {
			return AttrPath{Name: SchemasAttr}, schemasAttr, nil
		}
		return AttrPath{}, nil, scimerr.InvalidFilter("cannot filter %s resources on %q: %v", v.rt.Name, p.String(), err)
	}
	out := AttrPath{URI: res.SchemaURN, Name: res.Attr.Name}
	if res.Sub != nil {
		out.Sub = res.Sub.Name
	}
	if err := filterable(out.String(), res.Attr); err != nil {
		return AttrPath{}, nil, err
	}
	if err := filterable(out.String(), res.Leaf()); err != nil {
		return AttrPath{}, nil, err
	}
	return out, res.Leaf(), nil
}

// filterable refuses an attribute that is never returned (RFC 7643 §7),
// named name in the message: filtering on it would reveal its value.
func filterable(name string, a *schema.Attribute) error {
	if a.Returned == schema.ReturnedNever {
		return scimerr.InvalidFilter("cannot filter on %q: its value is never returned", name)
	}
	return nil
}

// relative validates the filter inside a value path of the complex
// attribute parent.
func relative(e Expr, parent *schema.Attribute) (Expr, error) {
	switch e := e.(type) {
	case *Compare:
		op, err := checkOp(e.Op)
		if err != nil {
			return nil, err
		}
		if e.Path.URI != "" || e.Path.Sub != "" {
			return nil, scimerr.InvalidFilter("inside %s[...] name a sub-attribute of %q, not %q", parent.Name, parent.Name, e.Path.String())
		}
		sa := parent.Sub(e.Path.Name)
		if sa == nil {
			return nil, scimerr.InvalidFilter("attribute %q has no sub-attribute %q", parent.Name, e.Path.Name)
		}
		name := parent.Name + "." + sa.Name
		if err := filterable(name, sa); err != nil {
			return nil, err
		}
		if sa.Type == schema.Complex && op != Pr && e.Value.Kind != KindNull {
			return nil, scimerr.InvalidFilter("attribute %q is complex; only pr applies to it", name)
		}
		val, err := checkValue(name, sa, op, e.Value)
		if err != nil {
			return nil, err
		}
		return &Compare{Path: AttrPath{Name: sa.Name}, Op: op, Value: val}, nil
	case *ValuePath:
		return nil, scimerr.InvalidFilter("value filter %q cannot be nested inside the value filter of %q", e.Path.String(), parent.Name)
	case *And:
		l, r, err := relativePair(e.Left, e.Right, parent)
		if err != nil {
			return nil, err
		}
		return &And{Left: l, Right: r}, nil
	case *Or:
		l, r, err := relativePair(e.Left, e.Right, parent)
		if err != nil {
			return nil, err
		}
		return &Or{Left: l, Right: r}, nil
	case *Not:
		x, err := relative(e.X, parent)
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	}
	return nil, invalidNode(e)
}

func relativePair(a, b Expr, parent *schema.Attribute) (Expr, Expr, error) {
	l, err := relative(a, parent)
	if err != nil {
		return nil, nil, err
	}
	r, err := relative(b, parent)
	if err != nil {
		return nil, nil, err
	}
	return l, r, nil
}

func invalidNode(e Expr) error {
	if e == nil {
		return scimerr.InvalidFilter("empty filter")
	}
	return scimerr.InvalidFilter("unsupported filter expression %T", e)
}

// checkOp returns op in lower case if it is an operator of RFC 7644 §3.4.2.2.
func checkOp(op Op) (Op, error) {
	lop := Op(strings.ToLower(string(op)))
	switch lop {
	case Eq, Ne, Co, Sw, Ew, Pr, Gt, Ge, Lt, Le:
		return lop, nil
	}
	return "", scimerr.InvalidFilter("unknown operator %q", string(op))
}

// checkValue checks that op and val fit the attribute a, named name in
// messages, and returns val in canonical form.
func checkValue(name string, a *schema.Attribute, op Op, val Value) (Value, error) {
	if op == Pr {
		return Value{}, nil
	}
	if val.Kind == KindNull {
		if op == Eq || op == Ne {
			return Value{Kind: KindNull}, nil
		}
		return Value{}, scimerr.InvalidFilter("%q %s null: only eq and ne can compare with null", name, op)
	}
	switch op {
	case Gt, Ge, Lt, Le:
		switch a.Type {
		case schema.Boolean, schema.Binary, schema.Complex:
			return Value{}, scimerr.InvalidFilter("operator %s cannot be used on %s attribute %q", op, a.Type, name)
		}
	case Co, Sw, Ew:
		switch a.Type {
		case schema.String, schema.Reference, schema.Binary:
		default:
			return Value{}, scimerr.InvalidFilter("operator %s cannot be used on %s attribute %q", op, a.Type, name)
		}
	}
	switch a.Type {
	case schema.String, schema.Reference, schema.Binary:
		switch val.Kind {
		case KindString:
			return Value{Kind: KindString, Str: val.Str}, nil
		case KindNumber:
			return Value{Kind: KindString, Str: numberLiteral(val)}, nil
		}
		return Value{}, scimerr.InvalidFilter("attribute %q is a %s; compare it with a quoted string", name, a.Type)
	case schema.DateTime:
		if val.Kind == KindString {
			if _, err := ParseTime(val.Str); err == nil {
				return Value{Kind: KindString, Str: val.Str}, nil
			}
		}
		return Value{}, scimerr.InvalidFilter("attribute %q is a dateTime; compare it with a quoted date-time such as \"2011-05-13T04:42:34Z\"", name)
	case schema.Boolean:
		if b, ok := boolValue(val); ok {
			return Value{Kind: KindBool, Bool: b}, nil
		}
		return Value{}, scimerr.InvalidFilter("attribute %q is a boolean; compare it with true or false", name)
	case schema.Integer:
		if val.Kind == KindNumber && val.Num == math.Trunc(val.Num) && val.Num >= -(1<<63) && val.Num < 1<<63 {
			return Value{Kind: KindNumber, Str: numberLiteral(val), Num: val.Num}, nil
		}
		return Value{}, scimerr.InvalidFilter("attribute %q is an integer; compare it with an integral number", name)
	case schema.Decimal:
		if val.Kind == KindNumber {
			return Value{Kind: KindNumber, Str: numberLiteral(val), Num: val.Num}, nil
		}
		return Value{}, scimerr.InvalidFilter("attribute %q is a decimal; compare it with a number", name)
	}
	return Value{}, scimerr.InvalidFilter("attribute %q of type %s cannot be compared", name, a.Type)
}

// boolValue returns the boolean a comparison value stands for: true or
// false, or the strings "true" and "false" in any case.
func boolValue(v Value) (bool, bool) {
	switch {
	case v.Kind == KindBool:
		return v.Bool, true
	case v.Kind == KindString && strings.EqualFold(v.Str, "true"):
		return true, true
	case v.Kind == KindString && strings.EqualFold(v.Str, "false"):
		return false, true
	}
	return false, false
}

func numberLiteral(v Value) string {
	if v.Str != "" {
		return v.Str
	}
	return strconv.FormatFloat(v.Num, 'g', -1, 64)
}

func isSchemas(p AttrPath) bool {
	return p.URI == "" && p.Sub == "" && strings.EqualFold(p.Name, SchemasAttr)
}

// CaseExact reports whether string comparisons on the attribute a are
// case-sensitive: when a's caseExact characteristic is true (RFC 7643 §7),
// and always for binary attributes, which RFC 7643 §2.3.6 defines as case
// exact whatever the schema says. Both Eval and SQL translations must use it.
func CaseExact(a *schema.Attribute) bool {
	return a.CaseExact || a.Type == schema.Binary
}

// ParseTime parses a dateTime value, per RFC 7643 §2.3.5: an xsd:dateTime
// with a time zone, as in RFC 3339 ("2011-05-13T04:42:34Z",
// "2011-05-13T06:42:34.5+02:00"), or without one, which is read as UTC.
// Validate accepts, and Eval compares, exactly the values it parses.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil {
		return t, nil
	}
	if t2, err2 := time.Parse("2006-01-02T15:04:05.999999999", s); err2 == nil {
		return t2, nil
	}
	return time.Time{}, err
}
