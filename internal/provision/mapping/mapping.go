package mapping

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/rosterhq/roster/internal/provision/expr"
	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/scim/schema"
)

// Set is one object type's mappings, compiled: target paths resolved
// against Roster's SCIM schema, source paths parsed, expressions parsed and
// checked. A Set is immutable and safe for concurrent use.
type Set struct {
	rt    *schema.ResourceType
	rules []rule
}

// rule is one compiled mapping.
type rule struct {
	index int
	m     job.Mapping
	t     *target
	// src is the Direct source parsed as a path, nil when it is not one.
	src  *Path
	expr expr.Node
	// def is the Default, or nil.
	def any
}

// MappingError is an error in one mapping, naming it by index and target.
type MappingError struct {
	Index  int
	Target string
	Err    error
}

// Error formats the error as "mapping 2 (target "title"): …".
func (e *MappingError) Error() string {
	return fmt.Sprintf("mapping %d (target %q): %v", e.Index, e.Target, e.Err)
}

// Unwrap returns the underlying error.
func (e *MappingError) Unwrap() error { return e.Err }

// Compile compiles one object type's mappings for a target resource type,
// "User" or "Group". Errors are *MappingError values: an unknown kind or
// flow, a target path Roster cannot write (read-only, complex without a
// sub-attribute, a filter that selects no creatable element), a target
// mapped twice, an expression that does not parse or check, or a Constant
// or Default that cannot be coerced to the target's type.
func Compile(resourceType string, ms []job.Mapping) (*Set, error) {
	rt := schema.Default().ResourceType(resourceType)
	if rt == nil {
		return nil, fmt.Errorf("mapping: unknown resource type %q", resourceType)
	}
	s := &Set{rt: rt}
	seen := map[string]int{}
	for i, m := range ms {
		fail := func(err error) error { return &MappingError{Index: i, Target: m.Target, Err: err} }
		t, err := compileTarget(rt, m.Target)
		if err != nil {
			return nil, fail(err)
		}
		k := strings.ToLower(t.path.String())
		if prev, ok := seen[k]; ok {
			return nil, fail(fmt.Errorf("the target is mapped already by mapping %d", prev))
		}
		seen[k] = i
		r := rule{index: i, m: m, t: t}
		if r.m.Kind == "" {
			r.m.Kind = job.KindDirect
		}
		if r.m.Flow == "" {
			r.m.Flow = job.FlowAlways
		}
		if r.m.Flow != job.FlowAlways && r.m.Flow != job.FlowObjectAddOnly {
			return nil, fail(fmt.Errorf("flow %q: use %s or %s", r.m.Flow, job.FlowAlways, job.FlowObjectAddOnly))
		}
		switch r.m.Kind {
		case job.KindDirect:
			if strings.TrimSpace(m.Source) == "" {
				return nil, fail(fmt.Errorf("a Direct mapping needs a source attribute"))
			}
			if p, err := ParsePath(m.Source); err == nil && (p.URN != "" || p.Sub != "" || len(p.Conds) > 0) {
				r.src = &p
			}
		case job.KindConstant:
			if _, err := r.value(m.Value); err != nil {
				return nil, fail(fmt.Errorf("value: %w", err))
			}
		case job.KindExpression:
			n, err := expr.Parse(m.Expression)
			if err == nil {
				err = expr.Check(n)
			}
			if err != nil {
				return nil, fail(fmt.Errorf("expression: %w", err))
			}
			r.expr = n
		default:
			return nil, fail(fmt.Errorf("kind %q: use %s, %s or %s", m.Kind, job.KindDirect, job.KindConstant, job.KindExpression))
		}
		if m.Default != "" {
			if r.def, err = r.value(m.Default); err != nil {
				return nil, fail(fmt.Errorf("default: %w", err))
			}
		}
		s.rules = append(s.rules, r)
	}
	return s, nil
}

// Paths returns the mapped target paths in mapping order, in canonical
// form: schema spelling, extension attributes fully qualified.
func (s *Set) Paths() []string {
	out := make([]string, len(s.rules))
	for i, r := range s.rules {
		out[i] = r.t.path.String()
	}
	return out
}

// Evaluate computes every mapping's value for a source object. A value is
// the source attribute's (Direct), the Value (Constant) or the
// expression's result (Expression), the Default when that is null or
// empty, coerced to the target attribute's type. A mapping whose
// expression returns IgnoreFlowIfNullOrEmpty's skip has no entry. Errors
// (an expression that fails, a value that cannot be coerced) are
// *MappingError values.
func (s *Set) Evaluate(obj source.Object, env expr.Env) (Values, error) {
	vs := Values{core: s.rt.Schema.ID}
	for _, r := range s.rules {
		raw, skip, err := r.raw(obj, env)
		if err != nil {
			return Values{}, &MappingError{Index: r.index, Target: r.m.Target, Err: err}
		}
		if skip {
			continue
		}
		v, err := r.value(raw)
		if err != nil {
			return Values{}, &MappingError{Index: r.index, Target: r.m.Target, Err: err}
		}
		if v == nil {
			v = r.def
		}
		vs.entries = append(vs.entries, Entry{
			Path: r.t.path.String(), Value: v, Flow: r.m.Flow, FlowNull: r.m.FlowNull,
			Reference: r.t.ref, Matching: r.m.Matching, Precedence: r.m.Precedence, t: r.t,
		})
	}
	return vs, nil
}

// raw returns the mapping's value before coercion: nil, one value or a
// []any of several.
func (r rule) raw(obj source.Object, env expr.Env) (v any, skip bool, err error) {
	switch r.m.Kind {
	case job.KindConstant:
		return r.m.Value, false, nil
	case job.KindExpression:
		ev, err := env.Eval(r.expr, object{obj})
		if err != nil {
			return nil, false, err
		}
		if ev.Skip() {
			return nil, true, nil
		}
		switch ev.Kind() {
		case expr.KindString:
			return ev.Str(), false, nil
		case expr.KindMulti:
			l := ev.List()
			out := make([]any, len(l))
			for i, s := range l {
				out[i] = s
			}
			return out, false, nil
		}
		return nil, false, nil
	}
	vals := get(obj, r.m.Source, r.src)
	switch len(vals) {
	case 0:
		return nil, false, nil
	case 1:
		return vals[0], false, nil
	}
	return []any(vals), false, nil
}

// value coerces a raw value to the rule's target: a single-valued target
// takes the first value, a multi-valued one all of them. Null, "" and an
// empty list are nil.
func (r rule) value(raw any) (any, error) {
	list, isList := raw.([]any)
	if !isList {
		if raw == nil {
			return nil, nil
		}
		list = []any{raw}
	}
	if !r.t.multi && len(list) > 1 {
		list = list[:1]
	}
	out := make([]any, 0, len(list))
	for _, e := range list {
		if e == nil {
			continue
		}
		c, err := coerce(e, r.t.typ)
		if err != nil {
			return nil, err
		}
		if c == "" {
			continue
		}
		out = append(out, c)
	}
	switch {
	case len(out) == 0:
		return nil, nil
	case r.t.multi:
		return out, nil
	}
	return out[0], nil
}

// get reads a Direct mapping's source: the attribute by name
// (case-insensitively), else, for a SCIM source, the path into its
// complex values. An id the object does not hold as an attribute is its
// Anchor (a SCIM source's resource id).
func get(obj source.Object, name string, p *Path) source.Values {
	v, ok := obj.Get(name)
	if !ok && strings.EqualFold(name, "id") && obj.Anchor != "" {
		// A SCIM source keeps the resource's id as the Anchor.
		return source.Values{obj.Anchor}
	}
	if ok || p == nil {
		return v
	}
	top := p.Attr
	var vals source.Values
	if p.URN != "" {
		ext, _ := obj.Get(p.URN)
		for _, e := range ext {
			if m, ok := e.(map[string]any); ok {
				if v, ok := lookup(m, top); ok {
					vals = append(vals, flat(v)...)
				}
			}
		}
		if vals == nil {
			// A core URN: the attribute is at the top level.
			vals, _ = obj.Get(top)
		}
	} else {
		vals, _ = obj.Get(top)
	}
	if len(p.Conds) > 0 {
		var sel source.Values
		for _, e := range vals {
			if m, ok := e.(map[string]any); ok && matches(p.Conds, m) {
				sel = append(sel, e)
			}
		}
		vals = sel
	}
	if p.Sub == "" {
		return vals
	}
	var out source.Values
	for _, e := range vals {
		if m, ok := e.(map[string]any); ok {
			if v, ok := lookup(m, p.Sub); ok {
				out = append(out, flat(v)...)
			}
		}
	}
	return out
}

// flat spreads a JSON array into values.
func flat(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	}
	return []any{v}
}

// matches reports whether an element satisfies every condition. Strings
// compare case-insensitively (type and the like are not case exact);
// booleans and numbers compare after coercion, so "True" matches true.
func matches(cs []Cond, elem map[string]any) bool {
	for _, c := range cs {
		v, ok := lookup(elem, c.Sub)
		if !ok || !sameScalar(c.Value, v, true) {
			return false
		}
	}
	return true
}

// sameScalar compares two scalars: booleans and numbers by value after
// coercion, strings exactly or, with fold, case-insensitively.
func sameScalar(want, got any, fold bool) bool {
	switch w := want.(type) {
	case bool:
		g, err := coerce(got, schema.Boolean)
		return err == nil && g == w
	case int64:
		g, err := coerce(got, schema.Integer)
		return err == nil && g == w
	case float64:
		g, err := coerce(got, schema.Decimal)
		return err == nil && g == w
	case string:
		g, ok := got.(string)
		if !ok {
			return false
		}
		if fold {
			return strings.EqualFold(g, w)
		}
		return g == w
	}
	return false
}

// object adapts a source.Object to expr.Object: one value is a string, several
// are expr.Multi; booleans are "True"/"False" and numbers their text, as
// expressions see them. For a SCIM source a name may also be a path
// ([name.givenName]).
type object struct{ o source.Object }

// Attribute implements expr.Object.
func (o object) Attribute(name string) (expr.Value, bool) {
	vals, ok := o.o.Get(name)
	if !ok && strings.EqualFold(name, "id") && o.o.Anchor != "" {
		vals, ok = source.Values{o.o.Anchor}, true
	}
	if !ok {
		p, err := ParsePath(name)
		if err != nil || (p.URN == "" && p.Sub == "" && len(p.Conds) == 0) {
			return expr.Null(), false
		}
		vals = get(o.o, name, &p)
		ok = vals != nil
	}
	var list []string
	for _, v := range vals {
		if s, err := coerce(v, schema.String); err == nil {
			list = append(list, s.(string))
		}
	}
	switch len(list) {
	case 0:
		return expr.Null(), ok
	case 1:
		return expr.String(list[0]), true
	}
	return expr.Multi(list), true
}

// sortedMatching returns the matching entries in precedence order.
func sortedMatching(es []Entry) []Entry {
	var out []Entry
	for _, e := range es {
		if e.Matching && e.Value != nil {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Precedence < out[j].Precedence })
	return out
}

// CheckJob compiles a job's effective mappings (its own or its source
// type's defaults) for Users and Groups, so that a target path Roster
// cannot write or a Constant the target type refuses is reported when the
// job is applied rather than at its first cycle. The error wraps
// job.ErrInvalid and names the list and the mapping, as job validation
// does: "mappings.users[2] (target "id"): id is read-only".
func CheckJob(j job.Job) error {
	m := j.EffectiveMappings()
	for _, l := range []struct {
		name, typ string
		ms        []job.Mapping
	}{{"mappings.users", schema.UserResource, m.Users}, {"mappings.groups", schema.GroupResource, m.Groups}} {
		if _, err := Compile(l.typ, l.ms); err != nil {
			var me *MappingError
			if errors.As(err, &me) {
				return fmt.Errorf("%w: %s[%d] (target %q): %w", job.ErrInvalid, l.name, me.Index, me.Target, me.Err)
			}
			return fmt.Errorf("%w: %s: %w", job.ErrInvalid, l.name, err)
		}
	}
	return nil
}

// Matching returns the matching attributes' target paths in precedence
// order (lowest first), in canonical form.
func (s *Set) Matching() []string {
	var ms []rule
	for _, r := range s.rules {
		if r.m.Matching {
			ms = append(ms, r)
		}
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].m.Precedence < ms[j].m.Precedence })
	out := make([]string, len(ms))
	for i, r := range ms {
		out[i] = r.t.path.String()
	}
	return out
}
