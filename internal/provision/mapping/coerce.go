package mapping

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/scim/schema"
)

// coerce converts one source value to a target attribute's SCIM type.
// Booleans accept true, false, "True", "false", "1" and "0" in any case;
// integers accept JSON numbers and decimal text; strings accept numbers
// and booleans (written "True"/"False", as Entra writes them). An empty
// string is returned as "" for the caller to treat as null.
func coerce(v any, typ schema.Type) (any, error) {
	if m, ok := v.(map[string]any); ok {
		// A complex source value for a simple target: its value
		// sub-attribute (a SCIM manager, an email element).
		inner, ok := lookup(m, "value")
		if !ok {
			return nil, fmt.Errorf("a complex value cannot be written to a %s attribute", typ)
		}
		v = inner
	}
	switch typ {
	case schema.Boolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true", "1":
				return true, nil
			case "false", "0":
				return false, nil
			case "":
				return "", nil
			}
		case json.Number:
			return coerce(x.String(), typ)
		case float64:
			if x == 0 || x == 1 {
				return x == 1, nil
			}
		case int64:
			if x == 0 || x == 1 {
				return x == 1, nil
			}
		}
		return nil, fmt.Errorf("%s is not a boolean", show(v))
	case schema.Integer:
		switch x := v.(type) {
		case json.Number:
			return coerce(x.String(), typ)
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
				return int64(x), nil
			}
		case int64:
			return x, nil
		case int:
			return int64(x), nil
		case string:
			s := strings.TrimSpace(x)
			if s == "" {
				return "", nil
			}
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n, nil
			}
		}
		return nil, fmt.Errorf("%s is not an integer", show(v))
	case schema.Decimal:
		switch x := v.(type) {
		case json.Number:
			return coerce(x.String(), typ)
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case string:
			s := strings.TrimSpace(x)
			if s == "" {
				return "", nil
			}
			if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f, nil
			}
		}
		return nil, fmt.Errorf("%s is not a decimal number", show(v))
	default:
		switch x := v.(type) {
		case string:
			return x, nil
		case bool:
			if x {
				return "True", nil
			}
			return "False", nil
		case json.Number:
			return x.String(), nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case int:
			return strconv.Itoa(x), nil
		}
		return nil, fmt.Errorf("%s cannot be written as a string", show(v))
	}
}

// show prints a value for an error message.
func show(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

// lookup finds a key in a JSON object: exactly, then case-insensitively
// (SCIM attribute names are case-insensitive, RFC 7643 §2.1).
func lookup(m map[string]any, name string) (any, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// key returns the key under which m holds name, or name when absent.
func key(m map[string]any, name string) string {
	if _, ok := m[name]; ok {
		return name
	}
	for k := range m {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return name
}
