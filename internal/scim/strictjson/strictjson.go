// Package strictjson checks a SCIM request body for what encoding/json
// would silently change or choose at random: bytes that are not UTF-8,
// escaped lone surrogates, and object keys that repeat, compared
// case-insensitively. Every SCIM body (resources, PATCH, Bulk, .search) is
// checked before it is decoded, so what is stored is what the client sent.
package strictjson

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/rosterhq/roster/internal/scim/scimerr"
)

// Check reports, as an invalidSyntax *scimerr.Error, a body that is not
// UTF-8 or escapes a lone UTF-16 surrogate (RFC 8259 §8.1 and §8.2:
// encoding/json would store U+FFFD in its place), or that has an object
// with two keys equal but for case. Attribute names are case-insensitive
// (RFC 7643 §2.1), so "nickName" and "NICKNAME" in one object name the same
// attribute twice and which one wins would be chance (RFC 8259 §4 leaves
// duplicate names undefined). Check leaves other syntax errors to the
// decoder that follows it, so their messages do not change.
func Check(body []byte) error {
	if !utf8.Valid(body) {
		return scimerr.InvalidSyntax("request body is not valid UTF-8 (RFC 8259 §8.1)")
	}
	return scan(body)
}

// frame is one open object or array while scan walks the body.
type frame struct {
	object  bool
	wantKey bool     // the next string of an object is a key
	keys    []string // the keys so far, while there are few
	folded  map[string]string
}

// manyKeys is the number of keys from which an object's keys are looked up
// in a map instead of compared one by one.
const manyKeys = 16

// scan walks the body once, byte by byte: it checks every string's \u
// escapes for lone surrogates and every object's keys for repeats under
// case folding. It only needs to know where strings start and end and
// where objects open and close, which in valid JSON no byte outside a
// string can confuse; what is not valid JSON is the decoder's to report.
func scan(b []byte) error {
	var stack []*frame
	for i := 0; i < len(b); i++ {
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch b[i] {
		case '{':
			stack = append(stack, &frame{object: true, wantKey: true})
		case '[':
			stack = append(stack, &frame{})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if top != nil && top.object {
				top.wantKey = true
			}
		case '"':
			end, escaped, err := stringEnd(b, i)
			if err != nil || end < 0 {
				return err
			}
			if top != nil && top.object && top.wantKey {
				top.wantKey = false
				if err := top.key(b[i:end+1], escaped); err != nil {
					return err
				}
			}
			i = end
		}
	}
	return nil
}

// key records the raw JSON string raw as a key of the object f.
func (f *frame) key(raw []byte, escaped bool) error {
	key := string(raw[1 : len(raw)-1])
	if escaped && json.Unmarshal(raw, &key) != nil {
		return nil // the decoder reports it
	}
	first, dup := f.seen(key)
	switch {
	case !dup:
		return nil
	case first == key:
		return scimerr.InvalidSyntax("request body has the key %q twice in one object", key)
	}
	return scimerr.InvalidSyntax("request body has the keys %q and %q in one object; attribute names are case-insensitive (RFC 7643 §2.1), so they name the same attribute twice", first, key)
}

// seen returns the key equal to key under case folding that f already
// holds, or records key.
func (f *frame) seen(key string) (first string, dup bool) {
	if f.folded == nil {
		for _, k := range f.keys {
			if equalFoldASCII(k, key) {
				return k, true
			}
		}
		f.keys = append(f.keys, key)
		if len(f.keys) < manyKeys {
			return "", false
		}
		f.folded = make(map[string]string, 2*manyKeys)
		for _, k := range f.keys {
			f.folded[lowerASCII(k)] = k
		}
		f.keys = nil
		return "", false
	}
	folded := lowerASCII(key)
	if k, ok := f.folded[folded]; ok {
		return k, true
	}
	f.folded[folded] = key
	return "", false
}

// stringEnd returns the index of the quote that closes the string opened
// at b[start], or -1 if it is not closed, and whether the string holds
// escapes. It reports a \u escape of a UTF-16 surrogate that is not half
// of a pair.
func stringEnd(b []byte, start int) (end int, escaped bool, err error) {
	for i := start + 1; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i, escaped, nil
		case '\\':
			escaped = true
			if i+1 < len(b) && b[i+1] == 'u' {
				r, ok := hex4(b, i+2)
				if !ok {
					return -1, escaped, nil // the decoder reports it
				}
				i += 5
				switch {
				case r >= 0xDC00 && r <= 0xDFFF:
					return -1, escaped, loneSurrogate(r)
				case r >= 0xD800 && r <= 0xDBFF:
					if i+2 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
						if lo, ok := hex4(b, i+3); ok && lo >= 0xDC00 && lo <= 0xDFFF {
							i += 6
							continue
						}
					}
					return -1, escaped, loneSurrogate(r)
				}
				continue
			}
			i++ // the escaped character
		}
	}
	return -1, escaped, nil
}

func loneSurrogate(r rune) error {
	return scimerr.InvalidSyntax(`request body escapes a lone UTF-16 surrogate \u%04X, which is not a character (RFC 8259 §8.2)`, r)
}

// hex4 reads four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// Keys are compared with ASCII case folding: attribute names are ASCII
// (RFC 7643 §2.1 ATTRNAME), and a key that is not is refused later as an
// unknown attribute.

// equalFoldASCII reports whether a and b are equal under ASCII case folding.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerByte(a[i]) != lowerByte(b[i]) {
			return false
		}
	}
	return true
}

// lowerASCII returns s with its ASCII upper-case letters in lower case.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lowerByte(c)
	}
	return string(b)
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
