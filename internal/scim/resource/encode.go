package resource

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the JSON encoding of v to b, byte for byte what
// json.Marshal(v) returns, without reflection for the values a decoded or
// rendered document holds: map[string]any, []any, []string, string, bool,
// int, int64 and nil. Any other value (numbers as json.Number or float64
// included), and any string that needs escaping, is left to json.Marshal,
// so the output never differs from it. A create encodes its document twice
// (the response and the event payload); this is the cheaper way.
func AppendJSON(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return appendJSONString(b, v)
	case bool:
		return strconv.AppendBool(b, v), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case nil:
		return append(b, "null"...), nil
	case map[string]any:
		if v == nil {
			return append(b, "null"...), nil
		}
		var arr [32]string
		keys := arr[:0]
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSONString(b, k); err != nil {
				return nil, err
			}
			b = append(b, ':')
			if b, err = AppendJSON(b, v[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []any:
		return appendArray(b, v, AppendJSON)
	case []string:
		return appendArray(b, v, appendJSONString)
	}
	return appendMarshal(b, v)
}

// appendArray appends a JSON array of v's elements, each by appendOne; a
// nil slice is null, as json.Marshal writes it.
func appendArray[T any](b []byte, v []T, appendOne func([]byte, T) ([]byte, error)) ([]byte, error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i, e := range v {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendOne(b, e); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendJSONString appends s quoted. A string json.Marshal would escape
// (quotes, backslashes, control characters, the HTML characters <, > and &,
// U+2028, U+2029 or invalid UTF-8) is left to json.Marshal.
func appendJSONString(b []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return appendMarshal(b, s)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			return appendMarshal(b, s)
		}
		i += size
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), nil
}

func appendMarshal(b []byte, v any) ([]byte, error) {
	out, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, out...), nil
}
