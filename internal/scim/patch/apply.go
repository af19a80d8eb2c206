package patch

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/resource"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
)

// Result is the outcome of Apply.
type Result struct {
	// Attrs is the patched resource in normalized form: no nil values, no
	// empty arrays or objects, no empty extension objects.
	Attrs map[string]any
	// Changes lists the effective changes, in operation order, for audit and
	// for the "nothing changed" decision. It is empty when the patch changed
	// nothing: re-setting a value, adding an element already present and
	// removing something absent are not changes, and neither are operations
	// that together leave the document as it was. Member operations are not
	// listed here; see Members.
	Changes []Change
	// Members lists the operations on a group's "members", in operation
	// order, which the caller applies to its member store.
	Members []MemberOp
}

// Change is one effective change made by a PATCH operation.
type Change struct {
	// Op is "add", "replace" or "remove", as the operation said.
	Op string
	// Path is the canonical path of what changed, such as "name.givenName",
	// `emails[type eq "work"].value` or
	// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager".
	// For an operation without a path it is the canonical form of the key of
	// the value object the change came from.
	Path string
}

// MemberOp is an operation on a group's "members", which Apply never applies
// itself because a group may have a million members.
type MemberOp struct {
	// Op is "add", "remove" or "replace". A replace with neither Selected
	// nor Filter replaces all members with IDs; with one of them it
	// replaces only the members they select (RFC 7644 §3.5.2.3).
	Op string
	// IDs are the member ids (the "value" of each member object),
	// deduplicated, in order.
	IDs []string
	// Filter is set for a remove whose path is members[...] with a filter
	// that is not simply value eq "id" (or an "or" of those); the caller
	// evaluates it against the stored members with filter.Matches. It is nil
	// otherwise. For a replace it selects the members to replace.
	Filter filter.Expr
	// Selected are the ids that a replace with path members[value eq "id"]
	// (or an "or" of those) selects: they are removed, if members, and IDs
	// added.
	Selected []string
	// MustSelect is set for a replace whose filter is not made of "eq"
	// terms: if it selects no member, the caller answers noTarget
	// (RFC 7644 §3.5.2.3). A filter of "eq" terms that selects nothing
	// describes the member being replaced, so the replace just adds IDs.
	MustSelect bool
	// All is set for a remove with path "members" and no value, which per
	// RFC 7644 §3.5.2.2 removes every member.
	All bool
}

// Apply applies ops to a resource of type rt whose attributes are attrs, in
// normalized form (package resource), per RFC 7644 §3.5.2: in order and
// atomically, to a copy. attrs is never modified, and on any error nothing is
// applied and the error is a *scimerr.Error that names the failing operation.
//
// The rules, including those for the dialects of Microsoft Entra ID and Okta
// (see the package documentation), are:
//
//   - op is case-insensitive; anything but add, replace and remove is
//     invalidSyntax. Values are normalized with resource.Value, so "False"
//     becomes false for a boolean and a manager id string becomes
//     {"value": id}.
//   - A path names an attribute case-insensitively, optionally with a schema
//     URN prefix, a sub-attribute, or a value filter and sub-attribute
//     (RFC 7644 §3.5.2 PATH rule); an unknown attribute is invalidPath. A
//     path that is an extension's URN addresses the whole extension: add and
//     replace apply each key of the value object, remove unassigns it. The
//     legacy Entra form with a '.' after the URN
//     ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department")
//     is accepted too.
//   - Without a path, add and replace need a value object whose keys are
//     paths ("displayName", "name.givenName",
//     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department")
//     or extension URNs with object values; each key is applied as its own
//     operation. Keys "id", "meta" and "schemas", and readOnly attributes,
//     are ignored, because Okta's group rename sends the group's id. A remove
//     without a path is noTarget (RFC 7644 §3.5.2.2).
//   - add (RFC 7644 §3.5.2.1) sets a single-valued simple attribute or
//     sub-attribute (replacing any value, as Entra's "Add" of an existing
//     value expects), merges the given sub-attributes into a single-valued
//     complex attribute, and appends to a multi-valued attribute the
//     elements not already present. After any operation, duplicate elements
//     of a multi-valued attribute (same "type" and "value", compared as the
//     schema says) are merged, the first kept, as on POST and PUT.
//   - replace (RFC 7644 §3.5.2.3) sets a single-valued attribute or
//     sub-attribute, merges the given sub-attributes into a single-valued
//     complex attribute, and replaces the whole of a multi-valued attribute.
//     A null or empty value unassigns the target (RFC 7643 §2.5).
//   - A sub-attribute named in a merge with a null or empty value is
//     unassigned. A merge that gives a complex attribute such as manager a
//     different "value" replaces the whole attribute, because its other
//     sub-attributes ($ref, displayName) described the old referent.
//   - A value filter selects elements; add and replace set the value, or the
//     sub-attribute after the filter, on every matching element (replace
//     replaces the whole element, keeping the filter's equality terms the
//     value does not override). When no element matches, a filter made only
//     of "eq" terms joined by "and" creates the element those terms describe
//     plus the value, as Entra expects; any other filter is noTarget. On a
//     single-valued complex attribute (manager[value eq "id"]) the filter
//     tests the one value.
//   - remove unassigns an attribute or sub-attribute, removes the elements a
//     value filter selects (or their sub-attribute), and, given a value,
//     removes only the equal elements of a multi-valued attribute (by their
//     "value" sub-attribute when the given element has one) or a
//     single-valued attribute only if it holds that value. Removing what is
//     not there succeeds and changes nothing, so a retried request never
//     fails.
//   - An operation that makes an element primary sets "primary" false on
//     the attribute's other elements (RFC 7644 §3.5.2); a result with more
//     than one primary element is invalidValue.
//   - A path that explicitly targets a readOnly attribute or sub-attribute
//     (id, meta, groups, manager.displayName) is mutability; an immutable
//     attribute may be set while unassigned but not changed afterwards
//     (RFC 7644 §3.5.2); writeOnly attributes (password) are written like
//     any other.
//   - Operations on the Group attribute "members" become MemberOps (see
//     Result.Members) instead of changing attrs: add and replace with the
//     member ids; add with members[value eq "id"] adds those ids; replace
//     with a value path replaces the selected members with the given ones;
//     remove with path "members" and no value removes all, with
//     a value array (Entra's default job) only the listed ids, never all;
//     remove with members[value eq "id"] (or an "or" of those) removes those
//     ids and with any other filter carries the filter. A member element
//     without a "value" string is invalidValue.
//
// Apply does not check required attributes; the caller runs
// resource.CheckRequired on the result.
func Apply(rt *schema.ResourceType, attrs map[string]any, ops []Operation) (Result, error) {
	e := &engine{rt: rt, doc: cloneMap(attrs)}
	for i, op := range ops {
		if err := e.operation(op); err != nil {
			return Result{}, opError(i, op, err)
		}
	}
	prune(e.doc)
	if err := resource.CheckPrimary(rt, e.doc); err != nil {
		return Result{}, err
	}
	if len(e.changes) > 0 && equal(map[string]any(attrs), e.doc) {
		// Operations that undo each other (remove emails, then add the same
		// emails back) leave nothing changed: no new version, no audit.
		e.changes = nil
	}
	return Result{Attrs: e.doc, Changes: e.changes, Members: e.members}, nil
}

// engine holds the state of one Apply: the working copy of the document and
// what has been done to it so far.
type engine struct {
	rt      *schema.ResourceType
	doc     map[string]any
	changes []Change
	members []MemberOp
}

// operation applies one operation of the request.
func (e *engine) operation(op Operation) error {
	name, err := opName(op.Op)
	if err != nil {
		return err
	}
	val, err := decodeValue(op.Value)
	if err != nil {
		return err
	}
	path := strings.TrimSpace(op.Path)
	switch {
	case path == "" || strings.EqualFold(path, e.rt.Schema.ID):
		if name == OpRemove {
			return scimerr.NoTarget(`remove needs a "path" (RFC 7644 §3.5.2.2)`)
		}
		return e.object(name, "", op.Value, val)
	case e.rt.Extension(path) != nil:
		return e.extension(name, e.rt.Extension(path), op.Value, val)
	}
	t, err := e.resolve(path)
	if err != nil {
		return err
	}
	return e.apply(name, t, val, true)
}

// object applies an add or replace whose value is an object of paths: an
// operation without a path, or the keys of an extension's object (urn is then
// the extension's URN and prefixes every key). Keys are applied in the order
// the client wrote them.
func (e *engine) object(name, urn string, raw json.RawMessage, val opValue) error {
	if !val.present {
		return scimerr.InvalidValue(`%s without a "path" needs a "value" object`, name)
	}
	members, ok, err := objectMembers(raw)
	if err != nil {
		return err
	}
	if !ok {
		if urn != "" {
			return scimerr.InvalidValue("the value of extension %q must be a JSON object of its attributes", urn)
		}
		return scimerr.InvalidValue(`%s without a "path" needs a "value" that is a JSON object of attributes`, name)
	}
	for _, m := range members {
		v, err := decodeValue(m.raw)
		if err != nil {
			return err
		}
		key := strings.TrimSpace(m.key)
		if urn == "" {
			switch {
			case strings.EqualFold(key, "schemas"), strings.EqualFold(key, "id"), strings.EqualFold(key, "meta"):
				// Server-owned (RFC 7644 §3.3); Okta's group rename sends
				// {"id": ..., "displayName": ...}.
				continue
			case e.rt.Extension(key) != nil:
				if err := e.extension(name, e.rt.Extension(key), m.raw, v); err != nil {
					return err
				}
				continue
			case strings.EqualFold(key, e.rt.Schema.ID):
				if err := e.object(name, "", m.raw, v); err != nil {
					return err
				}
				continue
			}
		}
		path := key
		if urn != "" {
			path = urn + ":" + key
		}
		t, err := e.resolve(path)
		if err != nil {
			return err
		}
		if err := e.apply(name, t, v, false); err != nil {
			return err
		}
	}
	return nil
}

// extension applies an operation whose path (or path-less key) is an
// extension's URN: add and replace apply each key of the value object, a
// replace with null and a remove unassign the whole extension.
func (e *engine) extension(name string, ext *schema.Schema, raw json.RawMessage, val opValue) error {
	switch {
	case name == OpRemove, name == OpReplace && val.present && val.v == nil:
		return e.removeExtension(name, ext)
	case name == OpAdd && val.present && val.v == nil:
		return nil
	}
	return e.object(name, ext.ID, raw, val)
}

// removeExtension unassigns every attribute of an extension.
func (e *engine) removeExtension(name string, ext *schema.Schema) error {
	m, _ := e.doc[ext.ID].(map[string]any)
	if len(m) == 0 {
		delete(e.doc, ext.ID)
		return nil
	}
	for k := range m {
		if a := ext.Attr(k); a != nil && a.Mutability == schema.Immutable {
			return scimerr.Mutability("attribute %q of %q is immutable; it cannot be removed", a.Name, ext.ID)
		}
	}
	delete(e.doc, ext.ID)
	e.changes = append(e.changes, Change{Op: name, Path: ext.ID})
	return nil
}

// apply applies one operation to one resolved target. explicit is false for
// the keys of a path-less value, where readOnly attributes are ignored
// rather than rejected.
func (e *engine) apply(name string, t target, val opValue, explicit bool) error {
	if !explicit && t.attr.Mutability != schema.ReadOnly {
		if err := wholeValue(t, val); err != nil {
			return err
		}
	}
	if t.members {
		return e.memberOp(name, t, val)
	}
	if t.attr.Mutability == schema.ReadOnly || (t.sub != nil && t.sub.Mutability == schema.ReadOnly) {
		if !explicit {
			return nil
		}
		return scimerr.Mutability("%q is readOnly (RFC 7643 §7); a client cannot change it", t.path)
	}
	old := e.get(t.urn, t.attr.Name)
	work := cloneValue(old)
	var (
		nv      any
		touched []bool
		err     error
	)
	switch name {
	case OpAdd:
		nv, touched, err = add(t, work, val)
	case OpReplace:
		nv, touched, err = replace(t, work, val)
	default:
		nv, err = remove(t, work, val)
	}
	if err != nil {
		return err
	}
	nv, touched = mergeDuplicates(t.attr, nv, touched)
	if t.attr.HasPrimary() {
		demotePrimary(nv, touched)
	}
	if equal(old, nv) {
		return nil
	}
	if t.attr.Mutability == schema.Immutable && old != nil {
		return scimerr.Mutability("%q is immutable (RFC 7643 §7); it can be set once but not changed", t.path)
	}
	e.set(t.urn, t.attr.Name, nv)
	e.changes = append(e.changes, Change{Op: name, Path: t.path})
	return nil
}

// wholeValue refuses a single element for a multi-valued attribute named
// by a key of a path-less value. Such a value is a partial representation
// of the resource, so, as in a POST or PUT body, a multi-valued attribute
// must be a JSON array (RFC 7643 §2.4). Only the value of a multi-valued
// path may be one element (RFC 7644 §3.5.2.1 "a new value"), as Entra
// sends it.
func wholeValue(t target, val opValue) error {
	if !t.attr.MultiValued || t.filter != nil || t.sub != nil || val.v == nil {
		return nil
	}
	if _, isList := val.v.([]any); !isList {
		return scimerr.InvalidValue("attribute %q is multi-valued; its value must be a JSON array (RFC 7643 §2.4)", t.attr.Name)
	}
	return nil
}

// mergeDuplicates merges the duplicate elements (by type and value, see
// resource.SameElement) of nv, the new value of the multi-valued attribute
// a, as POST and PUT do (RFC 7643 §2.4): whichever operation made them, the
// first is kept. touched follows the elements to where they merged.
func mergeDuplicates(a *schema.Attribute, nv any, touched []bool) (any, []bool) {
	list, ok := nv.([]any)
	if !a.MultiValued || !ok {
		return nv, touched
	}
	out, into := resource.MergeDuplicates(a, list)
	if len(out) == len(list) {
		return out, touched
	}
	var moved []bool
	if len(touched) == len(list) {
		moved = make([]bool, len(out))
		for i, j := range into {
			moved[j] = moved[j] || touched[i]
		}
	}
	return out, moved
}

// get returns the value of a top-level attribute, or nil.
func (e *engine) get(urn, name string) any {
	if urn == "" {
		return e.doc[name]
	}
	m, _ := e.doc[urn].(map[string]any)
	return m[name]
}

// set stores the value of a top-level attribute; nil unassigns it, and an
// extension left with no attributes disappears.
func (e *engine) set(urn, name string, v any) {
	c := e.doc
	if urn != "" {
		m, _ := e.doc[urn].(map[string]any)
		if m == nil {
			m = map[string]any{}
			e.doc[urn] = m
		}
		c = m
	}
	if v == nil {
		delete(c, name)
	} else {
		c[name] = v
	}
	if urn != "" && len(c) == 0 {
		delete(e.doc, urn)
	}
}

// add computes the new value of t's attribute for an add operation, per
// RFC 7644 §3.5.2.1, from cur, a private copy of the old value. touched
// marks the elements of a multi-valued result that the operation wrote.
func add(t target, cur any, val opValue) (any, []bool, error) {
	if !val.present {
		return nil, nil, scimerr.InvalidValue(`add needs a "value"`)
	}
	if val.v == nil {
		return cur, nil, nil // nothing to add
	}
	a := t.attr
	switch {
	case t.filter != nil || (t.sub != nil && a.MultiValued):
		return selectSet(OpAdd, t, cur, val.v)
	case t.sub != nil:
		nv, err := setSub(a, cur, t.sub, val.v, OpAdd)
		return nv, nil, err
	case a.MultiValued:
		list, err := resource.Value(a, val.v)
		if err != nil || list == nil {
			return cur, nil, err
		}
		nv, touched := appendNew(cur, list.([]any))
		return nv, touched, nil
	case a.Type == schema.Complex:
		nv, err := merge(a, cur, val.v)
		return nv, nil, err
	}
	nv, err := resource.Value(a, val.v)
	if err != nil || nv == nil {
		return cur, nil, err
	}
	return nv, nil, nil
}

// replace computes the new value of t's attribute for a replace operation,
// per RFC 7644 §3.5.2.3. A replace of an unassigned attribute is an add.
func replace(t target, cur any, val opValue) (any, []bool, error) {
	if !val.present {
		return nil, nil, scimerr.InvalidValue(`replace needs a "value"`)
	}
	a := t.attr
	switch {
	case t.filter != nil || (t.sub != nil && a.MultiValued):
		return selectSet(OpReplace, t, cur, val.v)
	case t.sub != nil:
		nv, err := setSub(a, cur, t.sub, val.v, OpReplace)
		return nv, nil, err
	case a.MultiValued:
		nv, err := resource.Value(a, val.v)
		if err != nil || nv == nil {
			return nil, nil, err
		}
		touched := make([]bool, len(nv.([]any)))
		for i := range touched {
			touched[i] = true
		}
		return nv, touched, nil
	case a.Type == schema.Complex:
		if val.v == nil {
			return nil, nil, nil
		}
		nv, err := merge(a, cur, val.v)
		return nv, nil, err
	}
	nv, err := resource.Value(a, val.v)
	return nv, nil, err
}

// remove computes the new value of t's attribute for a remove operation, per
// RFC 7644 §3.5.2.2.
func remove(t target, cur any, val opValue) (any, error) {
	a := t.attr
	switch {
	case t.filter != nil || (t.sub != nil && a.MultiValued):
		return selectRemove(t, cur)
	case t.sub != nil:
		m, _ := cur.(map[string]any)
		if err := checkSub(a, t.sub, m, nil); err != nil {
			return nil, err
		}
		delete(m, t.sub.Name)
		return nonEmpty(m), nil
	case val.v != nil:
		// A value says which value to remove: Entra's default job removes
		// group members this way, and only those may go.
		given, err := resource.Value(a, val.v)
		if err != nil || given == nil {
			return cur, err
		}
		if a.MultiValued {
			return removeGiven(a, cur, given.([]any)), nil
		}
		if cur != nil && sameElement(a, cur, given) {
			return nil, nil
		}
		return cur, nil
	}
	return nil, nil
}

// element returns the attribute that describes one element of a
// multi-valued attribute, so that resource.Value normalizes a single
// element rather than a list.
func element(a *schema.Attribute) *schema.Attribute {
	if !a.MultiValued {
		return a
	}
	c := *a
	c.MultiValued = false
	return &c
}

// complexParts normalizes a value given for one complex value of a: the
// sub-attributes to set, and the sub-attributes the client named with a null
// or empty value, which are to be unassigned. A one-element array stands for
// its element (Entra sends manager as [{"$ref": ..., "value": ...}]).
func complexParts(a *schema.Attribute, v any) (set map[string]any, clear []string, err error) {
	if list, ok := v.([]any); ok {
		switch len(list) {
		case 0:
			return nil, nil, nil
		case 1:
			v = list[0]
		default:
			return nil, nil, scimerr.InvalidValue("attribute %q takes one value here, not an array of %d", a.Name, len(list))
		}
	}
	nv, err := resource.Value(element(a), v)
	if err != nil {
		return nil, nil, err
	}
	set, _ = nv.(map[string]any)
	if obj, ok := v.(map[string]any); ok {
		for k := range obj {
			s := a.Sub(k)
			if s == nil || s.Mutability == schema.ReadOnly {
				continue
			}
			if _, ok := set[s.Name]; !ok {
				clear = append(clear, s.Name)
			}
		}
		sort.Strings(clear)
	}
	return set, clear, nil
}

// merge merges a value given for the single-valued complex attribute a into
// cur, per RFC 7644 §3.5.2.1 and §3.5.2.3: given sub-attributes replace or
// add, others are left unchanged. When the value gives a different "value"
// sub-attribute (a new manager), the whole attribute is replaced, because its
// other sub-attributes described the old referent.
func merge(a *schema.Attribute, cur, v any) (any, error) {
	set, clear, err := complexParts(a, v)
	if err != nil {
		return nil, err
	}
	m, _ := cur.(map[string]any)
	if vs := a.Sub("value"); vs != nil && m != nil {
		if nvv, ok := set["value"]; ok {
			if ov, ok := m["value"]; ok && !sameScalar(vs, ov, nvv) {
				if err := checkSubs(a, m, set); err != nil {
					return nil, err
				}
				return nonEmpty(set), nil
			}
		}
	}
	if m == nil {
		m = map[string]any{}
	}
	if err := mergeInto(a, m, set, clear); err != nil {
		return nil, err
	}
	return nonEmpty(m), nil
}

// mergeInto sets and clears sub-attributes of the complex value m in place.
func mergeInto(a *schema.Attribute, m, set map[string]any, clear []string) error {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := checkSub(a, a.Sub(k), m, set[k]); err != nil {
			return err
		}
		m[k] = set[k]
	}
	for _, k := range clear {
		if err := checkSub(a, a.Sub(k), m, nil); err != nil {
			return err
		}
		delete(m, k)
	}
	return nil
}

// setSub sets (or, given a null or empty value, unassigns) the
// sub-attribute s of the single-valued complex attribute a. An add with an
// empty value changes nothing.
func setSub(a *schema.Attribute, cur any, s *schema.Attribute, v any, op string) (any, error) {
	sv, err := resource.Value(s, v)
	if err != nil {
		return nil, err
	}
	m, _ := cur.(map[string]any)
	if sv == nil && op == OpAdd {
		return cur, nil
	}
	if m == nil {
		m = map[string]any{}
	}
	if err := checkSub(a, s, m, sv); err != nil {
		return nil, err
	}
	if sv == nil {
		delete(m, s.Name)
	} else {
		m[s.Name] = sv
	}
	return nonEmpty(m), nil
}

// checkSub enforces an immutable sub-attribute s of a (RFC 7643 §7): it may
// be set while unassigned but not changed.
func checkSub(a, s *schema.Attribute, m map[string]any, nv any) error {
	if s == nil || s.Mutability != schema.Immutable {
		return nil
	}
	if ov, ok := m[s.Name]; ok && !equal(ov, nv) {
		return scimerr.Mutability("sub-attribute %q of %q is immutable (RFC 7643 §7); it can be set once but not changed", s.Name, a.Name)
	}
	return nil
}

// checkSubs enforces the immutable sub-attributes of a when the complex
// value old is replaced by nv.
func checkSubs(a *schema.Attribute, old, nv map[string]any) error {
	for _, s := range a.SubAttributes {
		if err := checkSub(a, s, old, nv[s.Name]); err != nil {
			return err
		}
	}
	return nil
}

// appendNew appends to the list cur the elements of list that it does not
// already hold, per RFC 7644 §3.5.2.1 ("if the target location already
// contains the value specified, no changes SHOULD be made").
func appendNew(cur any, list []any) (any, []bool) {
	out, _ := cur.([]any)
	touched := make([]bool, len(out), len(out)+len(list))
	for _, ne := range list {
		dup := false
		for _, el := range out {
			if equal(el, ne) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, ne)
			touched = append(touched, true)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, touched
}

// removeGiven removes from the list cur the elements equal to one of given.
func removeGiven(a *schema.Attribute, cur any, given []any) any {
	list, _ := cur.([]any)
	out := list[:0:0]
	for _, el := range list {
		drop := false
		for _, g := range given {
			if sameElement(a, el, g) {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, el)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// matches reports whether the complex value m is selected by t's value
// filter; a sub-attribute path on a multi-valued attribute without a filter
// ("emails.display") selects every element.
func matches(t target, m map[string]any) bool {
	return t.filter == nil || filter.Matches(t.filter, t.attr, m)
}

// selectSet applies an add or replace with a value filter (or a
// sub-attribute of a multi-valued attribute) to the selected values of t's
// attribute, creating the value the filter describes when none is selected.
func selectSet(op string, t target, cur, v any) (any, []bool, error) {
	a := t.attr
	var modify func(el map[string]any) (map[string]any, error)
	if t.sub != nil {
		sv, err := resource.Value(t.sub, v)
		if err != nil {
			return nil, nil, err
		}
		if sv == nil && op == OpAdd {
			return cur, nil, nil
		}
		modify = func(el map[string]any) (map[string]any, error) {
			if err := checkSub(a, t.sub, el, sv); err != nil {
				return nil, err
			}
			if sv == nil {
				delete(el, t.sub.Name)
			} else {
				el[t.sub.Name] = sv
			}
			return el, nil
		}
	} else {
		set, clear, err := complexParts(a, v)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case set == nil && op == OpAdd:
			return cur, nil, nil // nothing to add
		case set == nil && len(clear) == 0:
			// Replacing the selected values with null or an empty value
			// unassigns them (RFC 7643 §2.5).
			nv, err := selectRemove(t, cur)
			return nv, nil, err
		}
		modify = func(el map[string]any) (map[string]any, error) {
			if op == OpAdd {
				return el, mergeInto(a, el, set, clear)
			}
			ne := cloneMap(t.seed)
			for k, sv := range set {
				ne[k] = sv
			}
			for _, k := range clear {
				delete(ne, k)
			}
			return ne, checkSubs(a, el, ne)
		}
	}
	create := func() (map[string]any, error) {
		if t.seed == nil {
			if t.filter == nil {
				return nil, scimerr.NoTarget("%q selects no value to %s", t.path, op)
			}
			return nil, scimerr.NoTarget("no value of %q matches the filter [%s], and only a filter of eq terms joined by and can describe a new one", a.Name, t.filter.String())
		}
		return modify(cloneMap(t.seed))
	}

	if !a.MultiValued {
		m, _ := cur.(map[string]any)
		if m == nil {
			ne, err := create()
			return nonEmpty(ne), nil, err
		}
		if !matches(t, m) {
			return nil, nil, scimerr.NoTarget("the value of %q does not match the filter [%s]", a.Name, t.filter.String())
		}
		ne, err := modify(m)
		return nonEmpty(ne), nil, err
	}
	list, _ := cur.([]any)
	out := make([]any, 0, len(list)+1)
	touched := make([]bool, 0, len(list)+1)
	found := false
	for _, el := range list {
		m, ok := el.(map[string]any)
		if !ok || !matches(t, m) {
			out = append(out, el)
			touched = append(touched, false)
			continue
		}
		found = true
		ne, err := modify(m)
		if err != nil {
			return nil, nil, err
		}
		if len(ne) > 0 {
			out = append(out, ne)
			touched = append(touched, true)
		}
	}
	if !found {
		ne, err := create()
		if err != nil {
			return nil, nil, err
		}
		if len(ne) > 0 {
			out = append(out, ne)
			touched = append(touched, true)
		}
	}
	if len(out) == 0 {
		return nil, nil, nil
	}
	return out, touched, nil
}

// selectRemove applies a remove with a value filter (or a sub-attribute of a
// multi-valued attribute): it removes the selected values, or their
// sub-attribute, per RFC 7644 §3.5.2.2. Selecting nothing changes nothing.
func selectRemove(t target, cur any) (any, error) {
	a := t.attr
	strip := func(m map[string]any) (map[string]any, error) {
		if t.sub == nil {
			return nil, nil
		}
		if err := checkSub(a, t.sub, m, nil); err != nil {
			return nil, err
		}
		delete(m, t.sub.Name)
		return m, nil
	}
	if !a.MultiValued {
		m, _ := cur.(map[string]any)
		if m == nil || !matches(t, m) {
			return cur, nil
		}
		nm, err := strip(m)
		return nonEmpty(nm), err
	}
	list, _ := cur.([]any)
	out := make([]any, 0, len(list))
	for _, el := range list {
		m, ok := el.(map[string]any)
		if !ok || !matches(t, m) {
			out = append(out, el)
			continue
		}
		nm, err := strip(m)
		if err != nil {
			return nil, err
		}
		if len(nm) > 0 {
			out = append(out, nm)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// demotePrimary sets "primary" false on the elements of list the operation
// did not write when it wrote one with "primary" true, per RFC 7644 §3.5.2.
func demotePrimary(nv any, touched []bool) {
	list, ok := nv.([]any)
	if !ok || len(touched) != len(list) {
		return
	}
	isPrimary := func(el any) bool {
		m, _ := el.(map[string]any)
		return m["primary"] == true
	}
	wrote := false
	for i, el := range list {
		if touched[i] && isPrimary(el) {
			wrote = true
			break
		}
	}
	if !wrote {
		return
	}
	for i, el := range list {
		if !touched[i] && isPrimary(el) {
			el.(map[string]any)["primary"] = false
		}
	}
}

// nonEmpty returns m, or nil when m has no keys, so that a complex value
// whose last sub-attribute was removed becomes unassigned.
func nonEmpty(m map[string]any) any {
	if len(m) == 0 {
		return nil
	}
	return m
}
