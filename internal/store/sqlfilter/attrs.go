package sqlfilter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The backends store a resource's attributes as JSON: text in SQLite, jsonb
// in PostgreSQL, whose numbers keep their digits and decimal places (2.0
// stays 2.0) but not an exponent (1e+06 comes back as 1000000).
// encoding/json would write the decimal 2.0 as 2 and read it back as an
// integer, so values are written by EncodeAttrs, which keeps a decimal point
// in every float64 and prints it without an exponent where jsonb would, and
// read by DecodeAttrs, which turns numbers with a point or exponent into
// float64 and the others into int64 (a float too large for int64 that jsonb
// prints as digits only is read as a float since it does not fit). Keys are
// written sorted, so equal resources are stored as equal text.

// EncodeAttrs returns the JSON text of normalized attributes.
func EncodeAttrs(attrs map[string]any) (string, error) {
	b, err := appendJSON(make([]byte, 0, 512), attrs)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// EncodeValue returns the JSON text of one normalized value.
func EncodeValue(v any) (string, error) {
	b, err := appendJSON(nil, v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func appendJSON(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return appendString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("cannot store the number %v", v)
		}
		n := len(b)
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
		if bytes.ContainsAny(b[n:], ".e") && !(bytes.Contains(b[n:], []byte("e+")) && math.Abs(v) < 1e21) {
			return b, nil
		}
		// In positional form, with ".0" if integral, which jsonb keeps;
		// 1e+06 would come back as the integer 1000000.
		b = strconv.AppendFloat(b[:n], v, 'f', -1, 64)
		if !bytes.ContainsRune(b[n:], '.') {
			b = append(b, ".0"...)
		}
		return b, nil
	case json.Number:
		return append(b, v...), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendJSON(b, v[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case nil:
		return append(b, "null"...), nil
	}
	return nil, fmt.Errorf("cannot store a value of type %T", v)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// with encoding/json.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// DecodeAttrs parses attributes written by EncodeAttrs.
func DecodeAttrs(s string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode attributes: %w", err)
	}
	fixNumbers(m)
	return m, nil
}

// fixNumbers replaces json.Number values by int64 or float64 in place.
func fixNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if !strings.ContainsAny(string(v), ".eE") {
			if i, err := v.Int64(); err == nil {
				return i
			}
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		for k, e := range v {
			v[k] = fixNumbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = fixNumbers(e)
		}
	}
	return v
}
