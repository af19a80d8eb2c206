package patch

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"reflect"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
)

// opValue is the decoded "value" of an operation. present is false when the
// operation has no "value" member; a JSON null is present with a nil v.
type opValue struct {
	v       any
	present bool
}

// decodeValue decodes an operation's raw "value" with json.Decoder.UseNumber,
// so that integers keep their exact value until resource.Value converts them.
func decodeValue(raw json.RawMessage) (opValue, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return opValue{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return opValue{}, scimerr.InvalidSyntax(`"value" is not valid JSON: %v`, err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return opValue{}, scimerr.InvalidSyntax(`"value" has data after the JSON value`)
	}
	return opValue{v: v, present: true}, nil
}

// member is one key of a JSON object with its raw value.
type member struct {
	key string
	raw json.RawMessage
}

// objectMembers decodes a JSON object into its members in the order the
// client wrote them, so that a path-less operation applies its keys in a
// deterministic order. ok is false when raw is not a JSON object.
func objectMembers(raw json.RawMessage) (members []member, ok bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, false, scimerr.InvalidSyntax(`"value" is not valid JSON: %v`, err)
	}
	if d, isDelim := tok.(json.Delim); !isDelim || d != '{' {
		return nil, false, nil
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false, scimerr.InvalidSyntax(`"value" is not valid JSON: %v`, err)
		}
		key, _ := tok.(string)
		var rm json.RawMessage
		if err := dec.Decode(&rm); err != nil {
			return nil, false, scimerr.InvalidSyntax(`"value" is not valid JSON: %v`, err)
		}
		members = append(members, member{key: key, raw: rm})
	}
	if _, err := dec.Token(); err != nil {
		return nil, false, scimerr.InvalidSyntax(`"value" is not valid JSON: %v`, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false, scimerr.InvalidSyntax(`"value" has data after the JSON object`)
	}
	return members, true, nil
}

// cloneValue returns a deep copy of a normalized value.
func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}

// cloneMap returns a deep copy of a normalized object; nil becomes empty.
func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

// equal reports whether two normalized values are the same. Numbers compare
// by value whatever their Go type, so an int64 read from one store and a
// float64 read from another are equal.
func equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equal(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case float64:
		return n, !math.IsNaN(n)
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// sameScalar compares two values of the simple attribute a the way a filter
// "eq" would: strings case-insensitively unless a is caseExact (RFC 7643
// §2.2), anything else with equal.
func sameScalar(a *schema.Attribute, x, y any) bool {
	xs, ok1 := x.(string)
	ys, ok2 := y.(string)
	if ok1 && ok2 && a != nil && !filter.CaseExact(a) && (a.Type == schema.String || a.Type == schema.Reference) {
		return filter.Fold(xs) == filter.Fold(ys)
	}
	return equal(x, y)
}

// sameElement reports whether the stored element elem of the multi-valued
// attribute a is the element given by a client, for a remove with a value
// and for Entra's remove-by-value. A complex element the client identifies by
// its "value" sub-attribute matches on that sub-attribute alone; otherwise
// the whole element must be equal.
func sameElement(a *schema.Attribute, elem, given any) bool {
	if a.Type != schema.Complex {
		return sameScalar(a, elem, given)
	}
	gm, _ := given.(map[string]any)
	if gv, ok := gm["value"]; ok {
		em, _ := elem.(map[string]any)
		ev, ok := em["value"]
		return ok && sameScalar(a.Sub("value"), ev, gv)
	}
	return equal(elem, given)
}

// prune deletes nil values, empty objects and empty arrays from m, so that
// the result of Apply is in normalized form whatever the input held.
func prune(m map[string]any) {
	for k, v := range m {
		if pruned := pruneValue(v); pruned == nil {
			delete(m, k)
		} else {
			m[k] = pruned
		}
	}
}

func pruneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		prune(x)
		if len(x) == 0 {
			return nil
		}
		return x
	case []any:
		out := x[:0]
		for _, e := range x {
			if pe := pruneValue(e); pe != nil {
				out = append(out, pe)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return v
}
