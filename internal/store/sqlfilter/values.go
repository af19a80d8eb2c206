package sqlfilter

import (
	"sort"
	"strings"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/schema"
)

// Element is one row of the resource_values table: one element of a
// multi-valued complex attribute of a resource.
type Element struct {
	Attr      string         // AttrKey of the attribute
	Index     int            // position in the array
	ValueFold any            // Fold of the "value" sub-attribute if it is a string, else nil
	TypeFold  any            // Fold of the "type" sub-attribute if it is a string, else nil
	Primary   any            // the "primary" sub-attribute if it is a bool, else nil
	Present   bool           // whether the element is present in the sense of pr
	Elem      map[string]any // the element itself
}

// AttrKey returns the resource_values.attr of the multi-valued complex
// attribute name of schema schemaURN in resources of type rt: the name for a
// core attribute, and "<extension URN>:<name>" for an extension attribute, as
// in the fully qualified notation of RFC 7644 §3.10.
func AttrKey(rt *schema.ResourceType, schemaURN, name string) string {
	if schemaURN == "" || strings.EqualFold(schemaURN, rt.Schema.ID) {
		return name
	}
	return schemaURN + ":" + name
}

// Elements returns the resource_values rows of a resource's normalized
// attributes: one per map element of every array of maps, at the top level
// and inside extensions (top-level keys holding a ':' are extension URNs, as
// attribute names cannot contain one). The rows come in a deterministic order.
func Elements(attrs map[string]any) []Element {
	var out []Element
	for _, k := range sortedKeys(attrs) {
		v := attrs[k]
		if ext, ok := v.(map[string]any); ok && strings.Contains(k, ":") {
			for _, n := range sortedKeys(ext) {
				out = appendElements(out, k+":"+n, ext[n])
			}
			continue
		}
		out = appendElements(out, k, v)
	}
	return out
}

func appendElements(out []Element, key string, v any) []Element {
	arr, ok := v.([]any)
	if !ok {
		return out
	}
	for i, el := range arr {
		m, ok := el.(map[string]any)
		if !ok {
			continue
		}
		e := Element{Attr: key, Index: i, Present: filter.Present(m), Elem: m}
		if s, ok := m["value"].(string); ok {
			e.ValueFold = filter.Fold(s)
		}
		if s, ok := m["type"].(string); ok {
			e.TypeFold = filter.Fold(s)
		}
		if b, ok := m["primary"].(bool); ok {
			e.Primary = b
		}
		out = append(out, e)
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
