package expr

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Kind says what a Value holds.
type Kind int

// The kinds of Value. Entra's expressions work on strings: numbers, dates
// and booleans ("True", "False") are strings too.
const (
	KindNull   Kind = iota // no value: an absent or null attribute
	KindString             // one string
	KindMulti              // a multi-valued attribute: one or more strings
	KindSkip               // IgnoreFlowIfNullOrEmpty: do not flow the target attribute
)

// Value is the result of an expression or the value of a source attribute.
// The zero Value is null.
type Value struct {
	kind Kind
	str  string
	list []string
	// redacted is set by Redact: logs show "[Redact]" instead of the value.
	redacted bool
}

// Null returns the null value.
func Null() Value { return Value{} }

// String returns a single string value.
func String(s string) Value { return Value{kind: KindString, str: s} }

// Multi returns a multi-valued value; an empty list is null.
func Multi(vs []string) Value {
	if len(vs) == 0 {
		return Value{}
	}
	return Value{kind: KindMulti, list: append([]string(nil), vs...)}
}

// Bool returns "True" or "False", the strings Entra uses for booleans.
func Bool(b bool) Value {
	if b {
		return String("True")
	}
	return String("False")
}

// Kind returns what v holds.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether v has no value (an IgnoreFlowIfNullOrEmpty skip
// counts as null for the functions it is passed to).
func (v Value) IsNull() bool { return v.kind == KindNull || v.kind == KindSkip }

// Skip reports whether the target attribute must not flow.
func (v Value) Skip() bool { return v.kind == KindSkip }

// Redacted reports whether v came from Redact and must not be logged.
func (v Value) Redacted() bool { return v.redacted }

// Str returns a single string: the value itself, the first of a
// multi-valued one, or "" for null.
func (v Value) Str() string {
	switch v.kind {
	case KindString:
		return v.str
	case KindMulti:
		return v.list[0]
	default:
		return ""
	}
}

// List returns every value: none for null, one for a string.
func (v Value) List() []string {
	switch v.kind {
	case KindString:
		return []string{v.str}
	case KindMulti:
		return append([]string(nil), v.list...)
	default:
		return nil
	}
}

// String shows the value for people: "(null)", the string, or the values
// as a JSON array; a redacted value shows as "[Redact]".
func (v Value) String() string {
	if v.redacted {
		return "[Redact]"
	}
	switch v.kind {
	case KindString:
		return v.str
	case KindMulti:
		b, _ := json.Marshal(v.list)
		return string(b)
	case KindSkip:
		return "(not flowed)"
	default:
		return "(null)"
	}
}

// JSON returns the value for encoding/json: nil, a string or []string.
func (v Value) JSON() any {
	switch v.kind {
	case KindString:
		return v.str
	case KindMulti:
		return v.List()
	default:
		return nil
	}
}

// Object gives an expression the source object's attributes.
type Object interface {
	// Attribute returns the attribute's value and whether it is present.
	// A present attribute may be null (Entra's "flow null values", §1.2);
	// expressions see absent and null alike, as Entra's do.
	Attribute(name string) (Value, bool)
}

// MapObject is an Object over decoded JSON: strings, numbers, booleans,
// null and arrays of those. Attribute names match case-insensitively, as
// source attribute names do in Entra.
type MapObject map[string]any

// Attribute implements Object.
func (m MapObject) Attribute(name string) (Value, bool) {
	v, ok := m[name]
	if !ok {
		for k, kv := range m {
			if strings.EqualFold(k, name) {
				v, ok = kv, true
				break
			}
		}
	}
	if !ok {
		return Null(), false
	}
	switch x := v.(type) {
	case []any:
		var list []string
		for _, e := range x {
			if s, ok := scalar(e); ok {
				list = append(list, s)
			}
		}
		return Multi(list), true
	case []string:
		return Multi(x), true
	default:
		if s, ok := scalar(x); ok {
			return String(s), true
		}
		return Null(), true
	}
}

func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		if x {
			return "True", true
		}
		return "False", true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case json.Number:
		return x.String(), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case nil:
		return "", false
	default:
		return fmt.Sprint(x), true
	}
}

// size is the total length of v's strings in bytes.
func (v Value) size() int {
	n := len(v.str)
	for _, s := range v.list {
		n += len(s)
	}
	return n
}
