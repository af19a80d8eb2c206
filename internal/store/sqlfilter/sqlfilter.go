package sqlfilter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
)

// ErrUnsupported marks a filter or sort the SQL translation cannot express,
// such as one on meta.location, which depends on the base URL the server is
// reached at. Such errors also carry a *scimerr.Error (invalidFilter for
// filters, invalidValue for sortBy), so that a client gets a 400.
var ErrUnsupported = errors.New("not supported in SQL")

func unsupportedFilter(format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrUnsupported, scimerr.InvalidFilter(format, args...))
}

func unsupportedSort(format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrUnsupported, scimerr.InvalidValue(format, args...))
}

// Args collects the bind arguments of one statement and hands out their
// placeholders, so that fragments built by different calls can share a
// statement.
type Args struct {
	d    Dialect
	vals []any
}

// NewArgs returns an empty argument list for the dialect d.
func NewArgs(d Dialect) *Args { return &Args{d: d} }

// Add appends v and returns its placeholder.
func (a *Args) Add(v any) string {
	a.vals = append(a.vals, v)
	return a.d.Placeholder(len(a.vals))
}

// Values returns the arguments in placeholder order.
func (a *Args) Values() []any { return a.vals }

// Dialect returns the dialect the arguments are for.
func (a *Args) Dialect() Dialect { return a.d }

// Build translates the filter e, validated against rt by filter.Validate, to a
// WHERE fragment over the resources table aliased "r" (see the package
// documentation) and its bind arguments. tenant is the backend's tenant key,
// bound in the subqueries on resource_values and memberships; the caller
// still restricts r to the tenant and resource type. A nil filter yields
// "TRUE".
func Build(e filter.Expr, rt *schema.ResourceType, d Dialect, tenant any) (string, []any, error) {
	a := NewArgs(d)
	s, err := Where(a, e, rt, tenant)
	if err != nil {
		return "", nil, err
	}
	return s, a.Values(), nil
}

// Where is Build adding its arguments to a, for a statement that binds
// arguments of its own.
func Where(a *Args, e filter.Expr, rt *schema.ResourceType, tenant any) (string, error) {
	if rt == nil {
		return "", errors.New("sqlfilter: no resource type")
	}
	b := &builder{a: a, d: a.d, rt: rt, tenant: tenant}
	return b.expr(e, false, topScope{b})
}

// OrderBy returns the ORDER BY terms (without the keywords) that sort
// resources of type rt by the attribute p, per RFC 7644 §3.4.2.3: strings
// that are not case exact sort folded, a multi-valued attribute sorts by its
// primary element or else its first, and resources without a value (or with
// an empty string) come last when ascending and first when descending. r.seq
// always ends the list, so that equal keys keep creation order and paging is
// stable. A nil p sorts by r.seq alone.
func OrderBy(a *Args, p *filter.AttrPath, desc bool, rt *schema.ResourceType) (string, error) {
	if p == nil {
		return "r.seq", nil
	}
	if rt == nil {
		return "", errors.New("sqlfilter: no resource type")
	}
	b := &builder{a: a, d: a.d, rt: rt}
	key, err := b.sortKey(*p)
	if err != nil {
		return "", err
	}
	if key == "" {
		return "r.seq", nil
	}
	if desc {
		return key + " DESC NULLS FIRST, r.seq", nil
	}
	return key + " ASC NULLS LAST, r.seq", nil
}

type builder struct {
	a        *Args
	d        Dialect
	rt       *schema.ResourceType
	tenant   any
	tenantPH string
}

// tenantArg returns the placeholder of the tenant key, binding it once.
func (b *builder) tenantArg() string {
	if b.tenantPH == "" {
		b.tenantPH = b.a.Add(b.tenant)
	}
	return b.tenantPH
}

// A scope resolves the attribute paths of comparisons: the resource itself,
// or inside a value path the element of the complex attribute.
type scope interface {
	target(p filter.AttrPath) (target, error)
	valuePath(vp *filter.ValuePath) (sql string, nullable bool, err error)
}

// A target is what a comparison's path names. pred returns a predicate for
// op (eq, co, sw, ew, gt, ge, lt, le or pr; ne and null comparisons are
// rewritten before) and whether it may evaluate to NULL.
type target interface {
	pred(b *builder, op filter.Op, v filter.Value) (sql string, nullable bool, err error)
}

const (
	sqlTrue  = "TRUE"
	sqlFalse = "FALSE"
)

// expr translates e; neg asks for its negation, which is pushed down to the
// comparisons (negation normal form) so that NULLs never flip a result.
func (b *builder) expr(e filter.Expr, neg bool, sc scope) (string, error) {
	switch e := e.(type) {
	case nil:
		return polar(sqlTrue, false, neg), nil
	case *filter.And:
		return b.junction(e.Left, e.Right, neg, " AND ", " OR ", sc)
	case *filter.Or:
		return b.junction(e.Left, e.Right, neg, " OR ", " AND ", sc)
	case *filter.Not:
		return b.expr(e.X, !neg, sc)
	case *filter.Compare:
		return b.compare(e, neg, sc)
	case *filter.ValuePath:
		s, nullable, err := sc.valuePath(e)
		if err != nil {
			return "", err
		}
		return polar(s, nullable, neg), nil
	}
	return "", fmt.Errorf("sqlfilter: unsupported filter expression %T", e)
}

func (b *builder) junction(l, r filter.Expr, neg bool, op, negOp string, sc scope) (string, error) {
	ls, err := b.expr(l, neg, sc)
	if err != nil {
		return "", err
	}
	rs, err := b.expr(r, neg, sc)
	if err != nil {
		return "", err
	}
	if neg {
		op = negOp
	}
	return "(" + ls + op + rs + ")", nil
}

// polar returns s, or its negation if neg, treating NULL as false.
func polar(s string, nullable, neg bool) string {
	switch {
	case !neg:
		return s
	case s == sqlTrue:
		return sqlFalse
	case s == sqlFalse:
		return sqlTrue
	case nullable:
		return "NOT COALESCE(" + s + ", FALSE)"
	}
	return "NOT (" + s + ")"
}

// compare translates a comparison, following the order of filter.Eval: pr
// tests presence, ne is not eq, eq null is not pr and every other operator
// is false against null.
func (b *builder) compare(c *filter.Compare, neg bool, sc scope) (string, error) {
	op := filter.Op(strings.ToLower(string(c.Op)))
	v := c.Value
	switch op {
	case filter.Pr:
		v = filter.Value{}
	case filter.Ne:
		op, neg = filter.Eq, !neg
		fallthrough
	default:
		if v.Kind == filter.KindNull {
			if op != filter.Eq {
				return polar(sqlFalse, false, neg), nil
			}
			op, neg = filter.Pr, !neg
		}
	}
	switch op {
	case filter.Eq, filter.Co, filter.Sw, filter.Ew, filter.Gt, filter.Ge, filter.Lt, filter.Le, filter.Pr:
	default:
		return "", fmt.Errorf("sqlfilter: unknown operator %q", c.Op)
	}
	t, err := sc.target(c.Path)
	if err != nil {
		return "", err
	}
	s, nullable, err := t.pred(b, op, v)
	if err != nil {
		return "", err
	}
	return polar(s, nullable, neg), nil
}

// topScope resolves paths against the resource type.
type topScope struct{ b *builder }

func (s topScope) target(p filter.AttrPath) (target, error) {
	b := s.b
	res, err := b.rt.Resolve(p.URI, p.Name, p.Sub)
	if err != nil {
		if p.URI == "" && p.Sub == "" && strings.EqualFold(p.Name, filter.SchemasAttr) {
			return schemasTarget{}, nil
		}
		return absent{}, nil // filter.Eval treats an unknown attribute as unassigned
	}
	if res.SchemaURN == "" {
		return b.commonTarget(res)
	}
	if m := b.membership(res); m != nil {
		return m, nil
	}
	attr := res.Attr
	switch {
	case attr.IsMultiValuedComplex():
		return valuesTarget{key: AttrKey(b.rt, res.SchemaURN, attr.Name), attr: attr, sub: res.Sub}, nil
	case attr.MultiValued:
		path, err := b.jsonPath(res, attr.Name)
		if err != nil {
			return nil, err
		}
		return arrayTarget{doc: "r.attrs", path: path, attr: attr}, nil
	case attr.Type == schema.Complex && res.Sub == nil:
		return b.objectTarget(res)
	}
	elems := []any{attr.Name}
	if res.Sub != nil {
		elems = append(elems, res.Sub.Name)
	}
	path, err := b.jsonPath(res, elems...)
	if err != nil {
		return nil, err
	}
	sc := b.jsonScalar("r.attrs", path, res.Leaf())
	if res.Sub == nil && strings.EqualFold(res.SchemaURN, b.rt.Schema.ID) {
		// Indexed columns holding the folded value (see the layout).
		switch {
		case attr.Name == "userName" && b.rt.Name == schema.UserResource:
			sc.fold = "r.user_name_fold"
		case attr.Name == "displayName":
			sc.fold = "r.display_name_fold"
		}
	}
	return sc, nil
}

func (s topScope) valuePath(vp *filter.ValuePath) (string, bool, error) {
	b := s.b
	if vp.Path.Sub != "" {
		return sqlFalse, false, nil
	}
	res, err := b.rt.Resolve(vp.Path.URI, vp.Path.Name, "")
	if err != nil || res.Attr.Type != schema.Complex {
		return sqlFalse, false, nil // as filter.Eval
	}
	attr := res.Attr
	if m := b.membership(res); m != nil {
		inner, err := b.expr(vp.Filter, false, elemScope{b: b, attr: attr, elem: m.elem})
		if err != nil {
			return "", false, err
		}
		return m.subquery(b, inner), false, nil
	}
	switch {
	case res.SchemaURN == "": // meta
		inner, err := b.expr(vp.Filter, false, elemScope{b: b, attr: attr, elem: func(sa *schema.Attribute) (target, error) {
			return b.commonTarget(schema.Resolved{Attr: attr, Sub: sa})
		}})
		return inner, true, err
	case attr.MultiValued:
		inner, err := b.expr(vp.Filter, false, elemScope{b: b, attr: attr, elem: b.valueElem})
		if err != nil {
			return "", false, err
		}
		return valuesSubquery(b, AttrKey(b.rt, res.SchemaURN, attr.Name), inner), false, nil
	}
	path, err := b.jsonPath(res, attr.Name)
	if err != nil {
		return "", false, err
	}
	inner, err := b.expr(vp.Filter, false, elemScope{b: b, attr: attr, elem: func(sa *schema.Attribute) (target, error) {
		p, err := b.jsonPath(res, attr.Name, sa.Name)
		if err != nil {
			return nil, err
		}
		return b.jsonScalar("r.attrs", p, sa), nil
	}})
	if err != nil {
		return "", false, err
	}
	return "(" + b.d.JSONIsObject("r.attrs", path, false) + " AND " + inner + ")", true, nil
}

// elemScope resolves the relative paths inside a value path: each names a
// sub-attribute of attr, as filter.Matches resolves them.
type elemScope struct {
	b    *builder
	attr *schema.Attribute
	elem func(sa *schema.Attribute) (target, error)
}

func (s elemScope) target(p filter.AttrPath) (target, error) {
	if p.URI != "" || p.Sub != "" {
		return absent{}, nil
	}
	sa := s.attr.Sub(p.Name)
	if sa == nil || sa.Type == schema.Complex {
		return absent{}, nil
	}
	return s.elem(sa)
}

func (s elemScope) valuePath(*filter.ValuePath) (string, bool, error) {
	return sqlFalse, false, nil // a nested value path matches nothing, as in filter.Matches
}

// jsonPath returns the JSON path of a resolved attribute inside r.attrs:
// under the extension's URN for extension attributes.
func (b *builder) jsonPath(res schema.Resolved, elems ...any) (string, error) {
	if res.IsExtension(b.rt) {
		elems = append([]any{res.SchemaURN}, elems...)
	}
	return b.d.JSONPath(elems...)
}

// jsonScalar returns the scalar at path in the JSON document doc.
func (b *builder) jsonScalar(doc, path string, a *schema.Attribute) scalar {
	sc := scalar{typ: a.Type, caseExact: filter.CaseExact(a)}
	switch a.Type {
	case schema.Integer, schema.Decimal:
		sc.raw = b.d.JSONNumber(doc, path)
	case schema.Boolean:
		sc.raw = b.d.JSONBool(doc, path)
	default:
		sc.raw = b.d.JSONString(doc, path)
	}
	return sc
}

// objectTarget is a single-valued complex attribute of r.attrs compared as a
// whole: pr if any sub-attribute is present; other comparisons use its
// "value" sub-attribute, as filter.Eval does.
func (b *builder) objectTarget(res schema.Resolved) (target, error) {
	var t complexTarget
	for _, sa := range res.Attr.SubAttributes {
		if sa.Type == schema.Complex {
			continue
		}
		p, err := b.jsonPath(res, res.Attr.Name, sa.Name)
		if err != nil {
			return nil, err
		}
		sc := b.jsonScalar("r.attrs", p, sa)
		t.subs = append(t.subs, sc)
		if sa.Name == "value" {
			t.value = sc
		}
	}
	return t, nil
}

// commonTarget resolves id, externalId and meta to their columns.
func (b *builder) commonTarget(res schema.Resolved) (target, error) {
	leaf := res.Leaf()
	exact := filter.CaseExact(leaf)
	switch res.Attr.Name {
	case "id":
		return scalar{typ: schema.String, caseExact: exact, raw: "r.id"}, nil
	case "externalId":
		return scalar{typ: schema.String, caseExact: exact, raw: "r.external_id"}, nil
	case "meta":
		if res.Sub == nil {
			return metaTarget{}, nil
		}
		switch res.Sub.Name {
		case "created":
			return scalar{typ: schema.DateTime, raw: "r.created", normTime: true}, nil
		case "lastModified":
			return scalar{typ: schema.DateTime, raw: "r.modified", normTime: true}, nil
		case "resourceType":
			return constTarget{value: b.rt.Name, caseExact: exact}, nil
		case "version":
			// resource.ETag: W/"<version>".
			return scalar{typ: schema.String, caseExact: exact, raw: `('W/"' || r.version || '"')`}, nil
		}
	}
	return nil, unsupportedFilter("cannot filter on %q", pathString(res))
}

func pathString(res schema.Resolved) string {
	s := res.Attr.Name
	if res.Sub != nil {
		s += "." + res.Sub.Name
	}
	return s
}

// membership returns the target of a group's members or a user's groups,
// which are rows of the memberships table, or nil for other attributes.
func (b *builder) membership(res schema.Resolved) *memberTarget {
	if !strings.EqualFold(res.SchemaURN, b.rt.Schema.ID) {
		return nil
	}
	switch {
	case b.rt.Name == schema.GroupResource && res.Attr.Name == "members":
		return &memberTarget{attr: res.Attr, sub: res.Sub, groups: false, elem: b.memberElem(false)}
	case b.rt.Name == schema.UserResource && res.Attr.Name == "groups":
		return &memberTarget{attr: res.Attr, sub: res.Sub, groups: true, elem: b.memberElem(true)}
	}
	return nil
}

// memberElem resolves the sub-attributes of a membership element: the
// related resource is aliased x.
func (b *builder) memberElem(groups bool) func(sa *schema.Attribute) (target, error) {
	return func(sa *schema.Attribute) (target, error) {
		switch sa.Name {
		case "value":
			return scalar{typ: schema.String, caseExact: true, raw: "x.id"}, nil
		case "display":
			return scalar{typ: schema.String, caseExact: filter.CaseExact(sa), raw: "x.display"}, nil
		case "type":
			if groups {
				return constTarget{value: "direct", caseExact: filter.CaseExact(sa)}, nil
			}
			return scalar{typ: schema.String, caseExact: filter.CaseExact(sa), raw: "x.type"}, nil
		}
		return nil, unsupportedFilter("cannot filter on the %q of a membership", sa.Name)
	}
}

// valueElem resolves the sub-attributes of a resource_values row, aliased v,
// using its indexed columns where they hold the value.
func (b *builder) valueElem(sa *schema.Attribute) (target, error) {
	p, err := b.d.JSONPath(sa.Name)
	if err != nil {
		return nil, err
	}
	sc := b.jsonScalar("v.elem", p, sa)
	stringish := sa.Type == schema.String || sa.Type == schema.Reference || sa.Type == schema.Binary
	switch {
	case sa.Name == "value" && stringish:
		sc.fold = "v.value_fold"
	case sa.Name == "type" && stringish:
		sc.fold = "v.type_fold"
	case sa.Name == "primary" && sa.Type == schema.Boolean:
		sc.raw = "v.is_primary"
	}
	return sc, nil
}

func valuesSubquery(b *builder, key, pred string) string {
	return "r.seq IN (SELECT v.resource_seq FROM resource_values v WHERE v.tenant = " + b.tenantArg() +
		" AND v.attr = " + b.a.Add(key) + " AND " + pred + ")"
}

// scalar is a single value: a column or a typed JSON extraction.
type scalar struct {
	typ       schema.Type
	caseExact bool
	raw       string // SQL of the value with its type, NULL if absent or of another type
	fold      string // SQL of a column holding Fold of the value, or ""
	normTime  bool   // raw already holds a time in TimeLayout
}

func (s scalar) folded(d Dialect) string {
	if s.fold != "" {
		return s.fold
	}
	return d.Fold(s.raw)
}

func (s scalar) pred(b *builder, op filter.Op, v filter.Value) (string, bool, error) {
	d := b.d
	switch s.typ {
	case schema.String, schema.Reference, schema.Binary, schema.DateTime:
		if op == filter.Pr {
			if !s.caseExact && s.fold != "" {
				return s.fold + " <> ''", true, nil
			}
			return s.raw + " <> ''", true, nil
		}
	default:
		if op == filter.Pr {
			return s.raw + " IS NOT NULL", false, nil
		}
	}
	switch s.typ {
	case schema.String, schema.Reference, schema.Binary:
		w, ok := stringValue(v)
		if !ok {
			return sqlFalse, false, nil
		}
		x := s.raw
		if !s.caseExact {
			x, w = s.folded(d), filter.Fold(w)
		}
		switch op {
		case filter.Co, filter.Sw, filter.Ew:
			if w == "" {
				return x + " IS NOT NULL", false, nil
			}
			switch op {
			case filter.Co:
				return d.Contains(b.a, x, w), true, nil
			case filter.Sw:
				return d.HasPrefix(b.a, x, w), true, nil
			}
			return d.HasSuffix(b.a, x, w), true, nil
		case filter.Eq:
			if s.caseExact && s.fold != "" {
				// The folded column narrows through its index; raw decides.
				return "(" + s.fold + " = " + b.a.Add(filter.Fold(w)) + " AND " + x + " = " + b.a.Add(w) + ")", true, nil
			}
		}
		return x + " " + sqlOp(op) + " " + b.a.Add(w), true, nil
	case schema.Boolean:
		w, ok := boolValue(v)
		if !ok || op != filter.Eq {
			return sqlFalse, false, nil
		}
		return s.raw + " = " + b.a.Add(w), true, nil
	case schema.Integer, schema.Decimal:
		if v.Kind != filter.KindNumber || !ordered(op) {
			return sqlFalse, false, nil
		}
		var w any = v.Num
		if i, err := strconv.ParseInt(v.Str, 10, 64); err == nil {
			w = i
		}
		return s.raw + " " + sqlOp(op) + " " + b.a.Add(w), true, nil
	case schema.DateTime:
		if v.Kind != filter.KindString || !ordered(op) {
			return sqlFalse, false, nil
		}
		t, err := filter.ParseTime(v.Str)
		if err != nil {
			return sqlFalse, false, nil
		}
		x := s.raw
		if !s.normTime {
			x = d.Time(x)
		}
		return x + " " + sqlOp(op) + " " + b.a.Add(FormatTime(t)), true, nil
	}
	return sqlFalse, false, nil
}

func ordered(op filter.Op) bool {
	switch op {
	case filter.Eq, filter.Gt, filter.Ge, filter.Lt, filter.Le:
		return true
	}
	return false
}

func sqlOp(op filter.Op) string {
	switch op {
	case filter.Gt:
		return ">"
	case filter.Ge:
		return ">="
	case filter.Lt:
		return "<"
	case filter.Le:
		return "<="
	}
	return "="
}

// stringValue returns the string a comparison value stands for when
// compared with a string attribute, as filter.Eval does: a string, or the
// literal of a number.
func stringValue(v filter.Value) (string, bool) {
	switch v.Kind {
	case filter.KindString:
		return v.Str, true
	case filter.KindNumber:
		if v.Str != "" {
			return v.Str, true
		}
		return strconv.FormatFloat(v.Num, 'g', -1, 64), true
	}
	return "", false
}

// boolValue returns the boolean a comparison value stands for: true or
// false, or the strings "true" and "false" in any case.
func boolValue(v filter.Value) (bool, bool) {
	switch {
	case v.Kind == filter.KindBool:
		return v.Bool, true
	case v.Kind == filter.KindString && strings.EqualFold(v.Str, "true"):
		return true, true
	case v.Kind == filter.KindString && strings.EqualFold(v.Str, "false"):
		return false, true
	}
	return false, false
}

// absent is an attribute that is never assigned.
type absent struct{}

func (absent) pred(*builder, filter.Op, filter.Value) (string, bool, error) {
	return sqlFalse, false, nil
}

// metaTarget is meta compared as a whole: always present.
type metaTarget struct{}

func (metaTarget) pred(_ *builder, op filter.Op, _ filter.Value) (string, bool, error) {
	if op == filter.Pr {
		return sqlTrue, false, nil
	}
	return sqlFalse, false, nil
}

// complexTarget is a single-valued complex attribute compared as a whole.
type complexTarget struct {
	subs  []scalar
	value target // the "value" sub-attribute, or nil
}

func (t complexTarget) pred(b *builder, op filter.Op, v filter.Value) (string, bool, error) {
	if op != filter.Pr {
		if t.value == nil {
			return sqlFalse, false, nil
		}
		return t.value.pred(b, op, v)
	}
	if len(t.subs) == 0 {
		return sqlFalse, false, nil
	}
	parts := make([]string, 0, len(t.subs))
	nullable := false
	for _, s := range t.subs {
		p, n, err := s.pred(b, filter.Pr, v)
		if err != nil {
			return "", false, err
		}
		parts = append(parts, p)
		nullable = nullable || n
	}
	return "(" + strings.Join(parts, " OR ") + ")", nullable, nil
}

// valuesTarget is a multi-valued complex attribute, or one of its
// sub-attributes, answered from resource_values.
type valuesTarget struct {
	key  string
	attr *schema.Attribute
	sub  *schema.Attribute // nil for the attribute as a whole
}

func (t valuesTarget) pred(b *builder, op filter.Op, v filter.Value) (string, bool, error) {
	if t.sub == nil && op == filter.Pr {
		return valuesSubquery(b, t.key, "v.present"), false, nil
	}
	return elementPredicate(b, t.attr, t.sub, op, v, b.valueElem,
		func(p string) string { return valuesSubquery(b, t.key, p) })
}

// elementPredicate compares one sub-attribute of the elements of a
// multi-valued complex attribute; a comparison of the attribute itself means
// its "value" sub-attribute. elem maps the sub-attribute to a column of the
// element rows, and wrap turns the element predicate into a subquery on the
// resource.
func elementPredicate(b *builder, attr, sub *schema.Attribute, op filter.Op, v filter.Value,
	elem func(*schema.Attribute) (target, error), wrap func(string) string) (string, bool, error) {
	if sub == nil {
		if sub = attr.Sub("value"); sub == nil {
			return sqlFalse, false, nil
		}
	}
	el, err := elem(sub)
	if err != nil {
		return "", false, err
	}
	p, _, err := el.pred(b, op, v)
	if err != nil {
		return "", false, err
	}
	if p == sqlFalse {
		return sqlFalse, false, nil
	}
	return wrap(p), false, nil
}

// arrayTarget is a multi-valued attribute that is not complex, kept as a
// JSON array in r.attrs.
type arrayTarget struct {
	doc, path string
	attr      *schema.Attribute
}

func (t arrayTarget) pred(b *builder, op filter.Op, v filter.Value) (string, bool, error) {
	from, doc, path := b.d.JSONEach(t.doc, t.path, "je")
	p, _, err := b.jsonScalar(doc, path, t.attr).pred(b, op, v)
	if err != nil {
		return "", false, err
	}
	if p == sqlFalse {
		return sqlFalse, false, nil
	}
	return "EXISTS (SELECT 1 FROM " + from + " WHERE " + p + ")", false, nil
}

// memberTarget is a group's members or a user's groups, answered from the
// memberships table joined to the related resource (aliased x).
type memberTarget struct {
	attr   *schema.Attribute
	sub    *schema.Attribute
	groups bool // a user's groups rather than a group's members
	elem   func(sa *schema.Attribute) (target, error)
}

func (t *memberTarget) pred(b *builder, op filter.Op, v filter.Value) (string, bool, error) {
	if t.sub == nil && op == filter.Pr {
		col := "m.group_seq"
		if t.groups {
			col = "m.member_seq"
		}
		return "EXISTS (SELECT 1 FROM memberships m WHERE " + col + " = r.seq)", false, nil
	}
	return elementPredicate(b, t.attr, t.sub, op, v, t.elem,
		func(p string) string { return t.subquery(b, p) })
}

func (t *memberTarget) subquery(b *builder, pred string) string {
	own, other := "m.group_seq", "m.member_seq"
	if t.groups {
		own, other = other, own
	}
	return "r.seq IN (SELECT " + own + " FROM memberships m JOIN resources x ON x.seq = " + other +
		" WHERE x.tenant = " + b.tenantArg() + " AND " + pred + ")"
}

// schemasTarget is the "schemas" pseudo-attribute (see filter.SchemasAttr):
// the core schema URN, plus each extension URN the resource has data for.
type schemasTarget struct{}

func (schemasTarget) pred(b *builder, op filter.Op, v filter.Value) (string, bool, error) {
	if op == filter.Pr {
		return sqlTrue, false, nil
	}
	w, ok := stringValue(v)
	if !ok {
		return sqlFalse, false, nil
	}
	if matchString(op, b.rt.Schema.ID, w, false) {
		return sqlTrue, false, nil
	}
	var parts []string
	for _, ext := range b.rt.Extensions {
		if !matchString(op, ext.Schema.ID, w, false) {
			continue
		}
		p, err := b.d.JSONPath(ext.Schema.ID)
		if err != nil {
			return "", false, err
		}
		parts = append(parts, b.d.JSONIsObject("r.attrs", p, true))
	}
	if len(parts) == 0 {
		return sqlFalse, false, nil
	}
	return "(" + strings.Join(parts, " OR ") + ")", true, nil
}

// constTarget is a string that is the same for every resource of the type,
// such as meta.resourceType; comparisons on it are decided here.
type constTarget struct {
	value     string
	caseExact bool
}

func (t constTarget) pred(_ *builder, op filter.Op, v filter.Value) (string, bool, error) {
	if op == filter.Pr {
		return sqlBool(t.value != ""), false, nil
	}
	w, ok := stringValue(v)
	if !ok {
		return sqlFalse, false, nil
	}
	return sqlBool(matchString(op, t.value, w, t.caseExact)), false, nil
}

func sqlBool(b bool) string {
	if b {
		return sqlTrue
	}
	return sqlFalse
}

// matchString compares a known string with a comparison value as
// filter.Eval compares strings.
func matchString(op filter.Op, got, want string, caseExact bool) bool {
	g, w := got, want
	if !caseExact {
		g, w = filter.Fold(got), filter.Fold(want)
	}
	switch op {
	case filter.Co:
		return strings.Contains(g, w)
	case filter.Sw:
		return strings.HasPrefix(g, w)
	case filter.Ew:
		return strings.HasSuffix(g, w)
	}
	c := strings.Compare(g, w)
	switch op {
	case filter.Eq:
		return c == 0
	case filter.Gt:
		return c > 0
	case filter.Ge:
		return c >= 0
	case filter.Lt:
		return c < 0
	case filter.Le:
		return c <= 0
	}
	return false
}

// sortKey returns the SQL of the sort key of p, NULL where a resource has no
// value, or "" when the key is the same for every resource.
func (b *builder) sortKey(p filter.AttrPath) (string, error) {
	res, err := b.rt.Resolve(p.URI, p.Name, p.Sub)
	if err != nil {
		return "", scimerr.InvalidValue("cannot sort by %q: %v", p.String(), err)
	}
	if res.SchemaURN == "" {
		switch {
		case res.Attr.Name == "meta" && res.Sub != nil && res.Sub.Name == "resourceType":
			return "", nil
		case res.Attr.Name == "meta" && res.Sub != nil && res.Sub.Name == "version":
			return "r.version", nil
		}
		t, err := b.commonTarget(res)
		if err != nil {
			return "", err
		}
		sc, ok := t.(scalar)
		if !ok {
			return "", unsupportedSort("cannot sort by complex attribute %q", p.String())
		}
		return b.sortExpr(sc), nil
	}
	if b.membership(res) != nil {
		return "", unsupportedSort("cannot sort by %q", p.String())
	}
	attr, sub := res.Attr, res.Sub
	switch {
	case attr.IsMultiValuedComplex():
		if sub == nil {
			if sub = attr.Sub("value"); sub == nil {
				return "", unsupportedSort("cannot sort by complex attribute %q", p.String())
			}
		}
		t, err := b.valueElem(sub)
		if err != nil {
			return "", err
		}
		sc, ok := t.(scalar)
		if !ok {
			return "", unsupportedSort("cannot sort by %q", p.String())
		}
		// The primary element, or else the first (RFC 7644 §3.4.2.3).
		return "(SELECT " + b.sortExpr(sc) + " FROM resource_values v WHERE v.resource_seq = r.seq AND v.attr = " +
			b.a.Add(AttrKey(b.rt, res.SchemaURN, attr.Name)) + " ORDER BY CASE WHEN v.is_primary = " + b.a.Add(true) +
			" THEN 0 ELSE 1 END, v.idx LIMIT 1)", nil
	case attr.Type == schema.Complex && sub == nil:
		return "", unsupportedSort("cannot sort by complex attribute %q", p.String())
	case attr.MultiValued:
		path, err := b.jsonPath(res, attr.Name, 0) // the first element
		if err != nil {
			return "", err
		}
		return b.sortExpr(b.jsonScalar("r.attrs", path, attr)), nil
	}
	t, err := topScope{b}.target(p)
	if err != nil {
		return "", err
	}
	sc, ok := t.(scalar)
	if !ok {
		return "", unsupportedSort("cannot sort by %q", p.String())
	}
	return b.sortExpr(sc), nil
}

// sortExpr returns the sort key of a scalar: folded unless case exact, with
// empty strings treated as no value.
func (b *builder) sortExpr(s scalar) string {
	switch s.typ {
	case schema.String, schema.Reference, schema.Binary:
		if s.caseExact {
			return "NULLIF(" + s.raw + ", '')"
		}
		return "NULLIF(" + s.folded(b.d) + ", '')"
	case schema.DateTime:
		if s.normTime {
			return s.raw
		}
		return b.d.Time(s.raw)
	}
	return s.raw
}
