// Package strictjson checks a SCIM request body for what encoding/json
// would silently change or choose at random: bytes that are not UTF-8,
// escaped lone surrogates, and object keys that repeat, compared
// case-insensitively. Every SCIM body (resources, PATCH, Bulk, .search) is
// checked before it is decoded, so what is stored is what the client sent.
package strictjson

import (
	"bytes"
	"encoding/json"
	"strings"
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
	if err := checkEscapes(body); err != nil {
		return err
	}
	return checkKeys(body)
}

// checkEscapes finds \u escapes of a UTF-16 surrogate that is not half of a
// pair. It only tracks whether it is inside a string, which is all that is
// needed to tell escapes from other bytes in valid JSON.
func checkEscapes(b []byte) error {
	if !bytes.Contains(b, []byte(`\`)) {
		return nil
	}
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !inString {
			inString = c == '"'
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 >= len(b) {
				return nil
			}
			if b[i+1] != 'u' {
				i++
				continue
			}
			r, ok := hex4(b, i+2)
			if !ok {
				return nil // the decoder reports it
			}
			i += 5
			switch {
			case r >= 0xDC00 && r <= 0xDFFF:
				return loneSurrogate(r)
			case r >= 0xD800 && r <= 0xDBFF:
				if i+2 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
					if lo, ok := hex4(b, i+3); ok && lo >= 0xDC00 && lo <= 0xDFFF {
						i += 6
						continue
					}
				}
				return loneSurrogate(r)
			}
		}
	}
	return nil
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

// frame is one open object or array while checkKeys walks the tokens.
type frame struct {
	object  bool
	wantKey bool              // the next token of an object is a key
	keys    map[string]string // folded key → key as first written
}

// checkKeys walks the body's tokens and reports the first object with two
// keys equal under case folding.
func checkKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // end of input, or a syntax error the decoder reports
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			if key, ok := tok.(string); ok {
				folded := strings.ToLower(key)
				if first, dup := top.keys[folded]; dup {
					if first == key {
						return scimerr.InvalidSyntax("request body has the key %q twice in one object", key)
					}
					return scimerr.InvalidSyntax("request body has the keys %q and %q in one object; attribute names are case-insensitive (RFC 7643 §2.1), so they name the same attribute twice", first, key)
				}
				top.keys[folded] = key
				top.wantKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, wantKey: true, keys: map[string]string{}})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			if len(stack) == 0 {
				// One top-level value; anything after it is the decoder's
				// to report.
				return nil
			}
			top = stack[len(stack)-1]
		}
		if top != nil && top.object {
			top.wantKey = true
		}
	}
}
