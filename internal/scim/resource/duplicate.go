package resource

import (
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/rosterhq/roster/internal/scim/schema"
)

// SameElement reports whether x and y, normalized elements of the
// multi-valued attribute a, are duplicates, which RFC 7643 §2.4 says a
// service provider should not keep ("the same value ... SHOULD NOT be
// returned more than once"). Elements of a complex attribute with a "value"
// sub-attribute are duplicates when their "type" and "value" are equal,
// whatever their other sub-attributes; each is compared as the schema says:
// case-insensitively unless caseExact (RFC 7643 §2.2), binary exactly.
// Other complex elements (addresses) are duplicates when they are equal as
// a whole, and simple elements when their values are equal.
func SameElement(a *schema.Attribute, x, y any) bool {
	if a.Type != schema.Complex {
		return sameValue(a, x, y)
	}
	xm, _ := x.(map[string]any)
	ym, _ := y.(map[string]any)
	vs := a.Sub("value")
	if vs == nil || xm["value"] == nil || ym["value"] == nil {
		return reflect.DeepEqual(xm, ym)
	}
	if !sameValue(vs, xm["value"], ym["value"]) {
		return false
	}
	if ts := a.Sub("type"); ts != nil {
		return sameValue(ts, xm["type"], ym["type"])
	}
	return true
}

// sameValue compares two values of the simple attribute a.
func sameValue(a *schema.Attribute, x, y any) bool {
	xs, ok1 := x.(string)
	ys, ok2 := y.(string)
	if ok1 && ok2 && !a.CaseExact && (a.Type == schema.String || a.Type == schema.Reference) {
		return strings.EqualFold(xs, ys)
	}
	if xn, ok := toFloat(x); ok {
		yn, ok := toFloat(y)
		return ok && xn == yn
	}
	return reflect.DeepEqual(x, y)
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// MergeDuplicates merges the duplicate elements of list, a normalized value
// of the multi-valued attribute a (see SameElement): the first of each set
// of duplicates is kept where it stands, and it becomes primary if any of
// its duplicates was, so that the client's choice of primary survives. list
// and its elements are not modified. into[i] is the index in out of the
// element that list[i] became.
func MergeDuplicates(a *schema.Attribute, list []any) (out []any, into []int) {
	out = make([]any, 0, len(list))
	into = make([]int, len(list))
	for i, el := range list {
		j := slices.IndexFunc(out, func(kept any) bool { return SameElement(a, kept, el) })
		if j < 0 {
			out = append(out, el)
			into[i] = len(out) - 1
			continue
		}
		into[i] = j
		m, _ := el.(map[string]any)
		kept, _ := out[j].(map[string]any)
		if m["primary"] == true && kept != nil && kept["primary"] != true {
			merged := maps.Clone(kept)
			merged["primary"] = true
			out[j] = merged
		}
	}
	return out, into
}
