package patch

import (
	"slices"
	"strings"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/resource"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
)

// memberOp turns an operation on the Group attribute "members" into a
// MemberOp, since a group's members are never held in the document:
//
//   - add with path "members" (RFC 7644 §3.5.2.1) adds the given ids;
//   - replace with path "members" (RFC 7644 §3.5.2.3) replaces all members
//     with the given ids (none for a null or empty value);
//   - remove with path "members" and no value removes every member
//     (RFC 7644 §3.5.2.2);
//   - remove with path "members" and a value array, the non-RFC form of
//     Microsoft Entra ID's default job
//     ({"op":"Remove","path":"members","value":[{"value":"id"}]}), removes
//     only those ids and never all members, the bug that made other SCIM
//     servers empty whole groups;
//   - remove with path members[value eq "id"] (Entra with aadOptscim062020,
//     Okta), or an "or" of such terms, removes those ids; any other filter
//     is handed to the caller in MemberOp.Filter;
//   - add with path members[value eq "id"] (or an "or" of such terms) adds
//     those ids if absent; a value, if given, is a member object (or an
//     array of them) whose "value", if present, must be one of those ids,
//     since a member is its id and the other sub-attributes are derived;
//   - replace with a value path and a value (RFC 7644 §3.5.2.3) replaces the
//     members the filter selects with the given member objects: the
//     selected ones are removed and the given ones added. As for any other
//     attribute, a filter made only of "eq" terms that selects nothing
//     describes the member to replace, so the given ones are simply added
//     (a retried request succeeds); any other filter that selects nothing
//     is noTarget. A null or empty value removes the selected members
//     (RFC 7643 §2.5); replace of members[...].value with an id string is
//     the same as a value {"value": id}.
func (e *engine) memberOp(name string, t target, val opValue) error {
	if t.sub != nil {
		if name != OpReplace || t.filter == nil || t.sub.Name != "value" {
			return scimerr.InvalidPath("%q: a member's sub-attributes other than the value of a selected member cannot be patched; add, replace or remove the member instead", t.path)
		}
		if s, ok := val.v.(string); ok {
			val.v = map[string]any{"value": s}
		} else if val.v != nil {
			return scimerr.InvalidValue("%q takes a member id string", t.path)
		}
	}
	if name == OpRemove {
		switch {
		case t.filter != nil:
			if ids, ok := plainIDs(t.filter); ok {
				e.members = append(e.members, MemberOp{Op: OpRemove, IDs: dedupe(ids)})
			} else {
				e.members = append(e.members, MemberOp{Op: OpRemove, Filter: t.filter})
			}
		case val.v == nil:
			e.members = append(e.members, MemberOp{Op: OpRemove, All: true})
		default:
			ids, err := memberIDs(t.attr, val.v)
			if err != nil {
				return err
			}
			if len(ids) > 0 {
				e.members = append(e.members, MemberOp{Op: OpRemove, IDs: ids})
			}
		}
		return nil
	}
	if t.filter != nil {
		return e.memberFilterOp(name, t, val)
	}
	if !val.present {
		return scimerr.InvalidValue(`%s of members needs a "value" array of member objects`, name)
	}
	var ids []string
	if val.v != nil {
		var err error
		if ids, err = memberIDs(t.attr, val.v); err != nil {
			return err
		}
	}
	if name == OpAdd && len(ids) == 0 {
		return nil
	}
	e.members = append(e.members, MemberOp{Op: name, IDs: ids})
	return nil
}

// memberFilterOp turns an add or replace whose path is members[filter]
// into a MemberOp (see memberOp).
func (e *engine) memberFilterOp(name string, t target, val opValue) error {
	selected, plain := plainIDs(t.filter)
	selected = dedupe(selected)
	if name == OpAdd {
		if !plain {
			return scimerr.InvalidPath(`add with path %q is not supported: only a filter of value eq "id" terms names members to add; use the path "members" with the member objects as the value`, t.path)
		}
		if val.v != nil {
			if err := givenMembersOf(t.attr, val.v, selected); err != nil {
				return err
			}
		}
		e.members = append(e.members, MemberOp{Op: OpAdd, IDs: selected})
		return nil
	}
	if !val.present {
		return scimerr.InvalidValue(`replace of %q needs a "value" with the member objects that replace the selected members`, t.path)
	}
	var ids []string
	if val.v != nil {
		var err error
		if ids, err = memberIDs(t.attr, val.v); err != nil {
			return err
		}
	}
	op := MemberOp{Op: OpReplace, IDs: ids, Selected: selected, MustSelect: t.seed == nil}
	if !plain {
		op.Selected, op.Filter = nil, t.filter
	}
	e.members = append(e.members, op)
	return nil
}

// givenMembersOf checks the value of an add with path members[value eq
// "id"]: member objects whose "value", where given, is one of ids, and
// whose other sub-attributes fit the schema.
func givenMembersOf(a *schema.Attribute, v any, ids []string) error {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	for i, el := range list {
		m, ok := el.(map[string]any)
		if !ok {
			return scimerr.InvalidValue(`members value element %d must be a member object`, i)
		}
		if id, ok := memberID(m); ok && !slices.Contains(ids, id) {
			return scimerr.InvalidValue(`members value element %d has "value" %q, which the path does not select; a member is its id`, i, id)
		}
		if _, err := resource.Value(element(a), m); err != nil {
			return err
		}
	}
	return nil
}

// memberIDs returns the ids of a members value: an array of member objects
// (or a single one), each with a non-empty "value" string; the other
// sub-attributes are checked against the schema and then dropped.
// Duplicates collapse, keeping the first.
func memberIDs(a *schema.Attribute, v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	ids := make([]string, 0, len(list))
	for i, el := range list {
		m, ok := el.(map[string]any)
		if !ok {
			return nil, scimerr.InvalidValue(`members value element %d must be an object with a "value" id`, i)
		}
		id, ok := memberID(m)
		if !ok {
			return nil, scimerr.InvalidValue(`members value element %d has no "value" id string`, i)
		}
		if _, err := resource.Value(element(a), m); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return dedupe(ids), nil
}

// memberID returns the "value" of a member object, matching the key
// case-insensitively (RFC 7643 §2.1) but preferring the exact spelling.
func memberID(m map[string]any) (string, bool) {
	v, ok := m["value"]
	if !ok {
		for k, x := range m {
			if strings.EqualFold(k, "value") {
				v, ok = x, true
				break
			}
		}
	}
	s, isStr := v.(string)
	return s, ok && isStr && s != ""
}

// plainIDs returns the ids of a members filter made only of value eq "id"
// terms joined by "or", the form Entra and Okta use to remove members.
func plainIDs(f filter.Expr) ([]string, bool) {
	switch n := f.(type) {
	case *filter.Compare:
		if n.Op == filter.Eq && n.Path.Name == "value" && n.Value.Kind == filter.KindString && n.Value.Str != "" {
			return []string{n.Value.Str}, true
		}
	case *filter.Or:
		l, ok := plainIDs(n.Left)
		if !ok {
			return nil, false
		}
		r, ok := plainIDs(n.Right)
		if !ok {
			return nil, false
		}
		return append(l, r...), true
	}
	return nil, false
}

// dedupe removes repeated ids, keeping the first of each.
func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
