package patch

import (
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
//     is handed to the caller in MemberOp.Filter.
func (e *engine) memberOp(name string, t target, val opValue) error {
	if t.sub != nil {
		return scimerr.InvalidPath("%q: a member's sub-attributes cannot be patched; add or remove the member instead", t.path)
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
		return scimerr.InvalidPath(`%s with path %q is not supported; use the path "members" with the member objects as the value`, name, t.path)
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
