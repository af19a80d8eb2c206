package filter

import (
	"cmp"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/scim/schema"
)

// Eval reports whether the resource doc of type rt matches the filter e,
// which should have been returned by Validate. A nil filter matches every
// resource.
//
// doc is the resource in Roster's normalized form (see package
// scim/resource): canonical attribute names, extension attributes nested
// under their schema URN, strings for string, reference, binary and dateTime
// values, bool, int64, float64, map[string]any and []any. It may also hold
// "id" (a string) and "meta" (a map with RFC 3339 "created" and
// "lastModified" strings, "resourceType" and "version").
//
// The semantics follow RFC 7644 §3.4.2.2:
//
//   - A comparison on a multi-valued attribute, or on a sub-attribute of a
//     multi-valued complex attribute (`emails.value eq "x"`), matches if any
//     value matches.
//   - pr matches a value that is present and not empty: a non-empty string,
//     a non-empty array, or a complex value with a present sub-attribute.
//   - eq null matches exactly when pr does not match; ne null exactly when
//     it does. gt, ge, lt, le, co, sw and ew never match null.
//   - ne is exactly "not (eq)": an unassigned attribute is ne any value, and
//     a multi-valued attribute is ne a value only if no element equals it.
//   - Strings compare byte-wise after Fold on both sides unless CaseExact
//     reports the attribute case exact; gt, ge, lt and le order them
//     lexicographically. co, sw and ew test for substring, prefix and suffix.
//   - Integers and decimals compare numerically, booleans by value (a string
//     "true" or "false" in any case stands for the boolean).
//   - dateTime values compare as instants after ParseTime; a stored value
//     that does not parse matches nothing but ne.
//   - A value of the wrong Go type for its attribute matches nothing.
//
// Eval tolerates unvalidated filters without panicking: names resolve
// case-insensitively, a comparison other than pr or null on a complex
// attribute uses its "value" sub-attribute as Validate would, and an unknown
// attribute counts as unassigned.
func Eval(e Expr, rt *schema.ResourceType, doc map[string]any) bool {
	switch e := e.(type) {
	case nil:
		return true
	case *And:
		return Eval(e.Left, rt, doc) && Eval(e.Right, rt, doc)
	case *Or:
		return Eval(e.Left, rt, doc) || Eval(e.Right, rt, doc)
	case *Not:
		return !Eval(e.X, rt, doc)
	case *Compare:
		attr, vals := lookup(rt, doc, e)
		return compare(e.Op, attr, vals, e.Value)
	case *ValuePath:
		if rt == nil {
			return false
		}
		res, err := rt.Resolve(e.Path.URI, e.Path.Name, "")
		if err != nil || res.Attr.Type != schema.Complex {
			return false
		}
		for _, el := range flatten(container(rt, doc, res)[res.Attr.Name]) {
			if m, ok := el.(map[string]any); ok && Matches(e.Filter, res.Attr, m) {
				return true
			}
		}
	}
	return false
}

// Matches reports whether elem, one element (or the single value) of the
// complex attribute attr, matches f, the relative filter inside a value
// path such as the `type eq "work"` of emails[type eq "work"]. It is used by
// PATCH for paths like `emails[type eq "work"].value` (RFC 7644 §3.5.2).
//
// f may be validated or not: sub-attribute names are compared
// case-insensitively, and a path that is not a plain sub-attribute name of
// attr (a URI, a sub-attribute of its own, an unknown name) counts as
// unassigned. A nested value path matches nothing, and a nil filter matches
// every element. Comparisons follow the rules documented on Eval.
func Matches(f Expr, attr *schema.Attribute, elem map[string]any) bool {
	switch f := f.(type) {
	case nil:
		return true
	case *And:
		return Matches(f.Left, attr, elem) && Matches(f.Right, attr, elem)
	case *Or:
		return Matches(f.Left, attr, elem) || Matches(f.Right, attr, elem)
	case *Not:
		return !Matches(f.X, attr, elem)
	case *Compare:
		var sa *schema.Attribute
		if attr != nil && f.Path.URI == "" && f.Path.Sub == "" {
			sa = attr.Sub(f.Path.Name)
		}
		var vals []any
		if sa != nil {
			vals = flatten(elem[sa.Name])
		}
		return compare(f.Op, sa, vals, f.Value)
	}
	return false
}

// Fold is the case-folding function for comparisons on attributes that are
// not case exact (RFC 7643 §2.3.1): both sides are folded, then compared
// byte-wise. SQL backends store values folded with it, so it must stay
// simple and deterministic.
func Fold(s string) string { return strings.ToLower(s) }

// lookup returns the attribute the path of a top-level comparison ends at
// and the values it selects in doc, multi-valued attributes flattened.
func lookup(rt *schema.ResourceType, doc map[string]any, c *Compare) (*schema.Attribute, []any) {
	if rt == nil {
		return nil, nil
	}
	p := c.Path
	res, err := rt.Resolve(p.URI, p.Name, p.Sub)
	if err != nil {
		if isSchemas(p) {
			return schemasAttr, schemasOf(rt, doc)
		}
		return nil, nil
	}
	if res.Sub == nil && res.Attr.Type == schema.Complex && c.Op != Pr && c.Value.Kind != KindNull {
		if vs := res.Attr.Sub("value"); vs != nil {
			res.Sub = vs
		}
	}
	vals := flatten(container(rt, doc, res)[res.Attr.Name])
	if res.Sub == nil {
		return res.Attr, vals
	}
	var subs []any
	for _, v := range vals {
		if m, ok := v.(map[string]any); ok {
			subs = append(subs, flatten(m[res.Sub.Name])...)
		}
	}
	return res.Sub, subs
}

// container returns the map that holds the resolved attribute: doc itself,
// or for an extension attribute the map under the extension's URN.
func container(rt *schema.ResourceType, doc map[string]any, res schema.Resolved) map[string]any {
	if res.IsExtension(rt) {
		m, _ := doc[res.SchemaURN].(map[string]any)
		return m
	}
	return doc
}

// schemasOf returns the value of the "schemas" pseudo-attribute: the
// resource's own "schemas" if doc has one, else the core schema URN and the
// URN of every extension with data in doc.
func schemasOf(rt *schema.ResourceType, doc map[string]any) []any {
	switch s := doc[SchemasAttr].(type) {
	case []any:
		return s
	case []string:
		out := make([]any, len(s))
		for i, u := range s {
			out[i] = u
		}
		return out
	}
	out := []any{rt.Schema.ID}
	for _, ext := range rt.Extensions {
		if m, ok := doc[ext.Schema.ID].(map[string]any); ok && len(m) > 0 {
			out = append(out, ext.Schema.ID)
		}
	}
	return out
}

// flatten returns the elements of a multi-valued value, or the single value.
func flatten(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}

// compare applies op with the comparison value want to the values vals of
// attribute a (nil if unknown).
func compare(op Op, a *schema.Attribute, vals []any, want Value) bool {
	switch {
	case op == Pr:
		return anyPresent(vals)
	case op == Ne:
		return !compare(Eq, a, vals, want)
	case want.Kind == KindNull:
		return op == Eq && !anyPresent(vals)
	case a == nil:
		return false
	}
	for _, v := range vals {
		if match(op, a, v, want) {
			return true
		}
	}
	return false
}

func anyPresent(vals []any) bool {
	for _, v := range vals {
		if Present(v) {
			return true
		}
	}
	return false
}

// Present reports whether v is a value in the sense of the pr operator of
// RFC 7644 §3.4.2.2: not null, not an empty string, array or object, and for
// arrays and objects holding at least one present value. The SQL backends
// use it to decide what they index, so that both agree.
func Present(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case []any:
		return anyPresent(v)
	case map[string]any:
		for _, sv := range v {
			if Present(sv) {
				return true
			}
		}
		return false
	}
	return true
}

// match applies op (not pr or ne) to one stored value got of attribute a.
func match(op Op, a *schema.Attribute, got any, want Value) bool {
	switch a.Type {
	case schema.Boolean:
		b, ok := got.(bool)
		w, wok := boolValue(want)
		return ok && wok && op == Eq && b == w
	case schema.Integer, schema.Decimal:
		c, ok := compareNumber(got, want)
		return ok && order(op, c)
	case schema.DateTime:
		s, ok := got.(string)
		if !ok || want.Kind != KindString {
			return false
		}
		g, err := ParseTime(s)
		if err != nil {
			return false
		}
		w, err := ParseTime(want.Str)
		if err != nil {
			return false
		}
		return order(op, g.Compare(w))
	case schema.String, schema.Reference, schema.Binary:
		s, ok := got.(string)
		if !ok || (want.Kind != KindString && want.Kind != KindNumber) {
			return false
		}
		w := want.Str
		if want.Kind == KindNumber {
			w = numberLiteral(want)
		}
		if !CaseExact(a) {
			s, w = Fold(s), Fold(w)
		}
		switch op {
		case Co:
			return strings.Contains(s, w)
		case Sw:
			return strings.HasPrefix(s, w)
		case Ew:
			return strings.HasSuffix(s, w)
		}
		return order(op, strings.Compare(s, w))
	}
	return false
}

// order reports whether the result c of comparing a stored value with the
// comparison value satisfies op.
func order(op Op, c int) bool {
	switch op {
	case Eq:
		return c == 0
	case Gt:
		return c > 0
	case Ge:
		return c >= 0
	case Lt:
		return c < 0
	case Le:
		return c <= 0
	}
	return false
}

// compareNumber compares a stored integer or decimal with a number value,
// exactly when both are integers.
func compareNumber(got any, want Value) (int, bool) {
	if want.Kind != KindNumber {
		return 0, false
	}
	var f float64
	switch g := got.(type) {
	case int64:
		if w, err := strconv.ParseInt(want.Str, 10, 64); err == nil {
			return cmp.Compare(g, w), true
		}
		f = float64(g)
	case int:
		return compareNumber(int64(g), want)
	case float64:
		f = g
	case json.Number:
		if i, err := g.Int64(); err == nil {
			return compareNumber(i, want)
		}
		var err error
		if f, err = g.Float64(); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	return cmp.Compare(f, want.Num), true
}
