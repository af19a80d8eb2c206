package strictjson_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/scimerr"
	"github.com/rosterhq/roster/internal/scim/strictjson"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want string // substring of the invalidSyntax detail; "" for no error
	}{
		{"Plain", `{"userName":"bjensen","name":{"givenName":"Bärbel"}}`, ""},
		{"PairedSurrogateEscape", `{"displayName":"\ud83d\ude00"}`, ""},
		{"OtherEscapes", `{"a":"\"\\\/\b\f\n\r\t\u00e9","b":"\\u"}`, ""},
		{"SameKeyInSiblingObjects", `{"emails":[{"value":"a"},{"value":"b"}]}`, ""},
		{"KeyRepeatedAfterNestedObject", `{"name":{"givenName":"a"},"nickName":"x"}`, ""},
		{"SyntaxErrorLeftToDecoder", `{"a":`, ""},
		{"InvalidUTF8", "{\"nickName\":\"Bj\xf6rn\"}", "not valid UTF-8"},
		{"InvalidUTF8InKey", "{\"nick\xffName\":\"x\"}", "not valid UTF-8"},
		{"LoneHighSurrogate", `{"nickName":"\ud800x"}`, `\uD800`},
		{"LoneLowSurrogate", `{"nickName":"\uDC00"}`, `\uDC00`},
		{"HighThenNonLow", `{"nickName":"\ud800\u0041"}`, `\uD800`},
		{"KeysDifferInCase", `{"nickName":"a","NICKNAME":"b"}`, `"nickName" and "NICKNAME"`},
		{"SameKeyTwice", `{"nickName":"a","nickName":"b"}`, `"nickName" twice`},
		{"InComplexValue", `{"name":{"givenName":"a","givenname":"b"}}`, `"givenName" and "givenname"`},
		{"InArrayElement", `{"emails":[{"value":"a"},{"value":"b","VALUE":"c"}]}`, `"value" and "VALUE"`},
		{"InExtension", `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"a","Department":"b"}}`, `"department" and "Department"`},
		{"ExtensionURNsDifferInCase", `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{},"URN:ietf:params:scim:schemas:extension:enterprise:2.0:User":{}}`, "case-insensitive"},
		{"InPatchValue", `{"Operations":[{"op":"add","value":{"nickName":"a","nickname":"b"}}]}`, `"nickName" and "nickname"`},
		{"PatchMessageKeys", `{"Operations":[],"operations":[]}`, `"Operations" and "operations"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := strictjson.Check([]byte(tc.body))
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			se := scimerr.As(err)
			require.NotNil(t, se, "%v", err)
			require.Equal(t, 400, se.Status)
			require.Equal(t, scimerr.TypeInvalidSyntax, se.ScimType)
			require.Contains(t, se.Detail, tc.want)
		})
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{"a":"\ud800"}`, `{"a":{"b":1,"B":2}}`, "{\"a\":\"\xff\"}", `[{"a":[1,{"x":"y"}]}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := strictjson.Check(b)
		if json.Valid(b) {
			// On valid JSON the byte scanner agrees with a walk over the
			// decoder's tokens about repeated keys.
			// (Bytes that are not UTF-8, or a lone surrogate, may be
			// reported before a repeated key is reached.)
			dup := repeatedKey(b)
			switch {
			case err == nil:
				require.False(t, dup, "%q: Check misses a repeated key", b)
			case strings.Contains(scimerr.As(err).Detail, "key"):
				require.True(t, dup, "%q: Check says %v", b, err)
			}
		}
		if err != nil {
			require.NotNil(t, scimerr.As(err), "error %v is not a *scimerr.Error", err)
			return
		}
		// What Check lets through decodes without replacement characters
		// the client did not send.
		var v any
		if json.Unmarshal(b, &v) != nil || bytes.Contains(b, []byte("\uFFFD")) ||
			bytes.Contains(bytes.ToLower(b), []byte(`\ufffd`)) || bytes.ContainsRune(b, utf8.RuneError) {
			return
		}
		out, err := json.Marshal(v)
		require.NoError(t, err)
		require.False(t, bytes.ContainsRune(out, utf8.RuneError) || bytes.Contains(out, []byte(`\ufffd`)), "%q decoded to %s", b, out)
	})
}

// repeatedKey reports whether the valid JSON b has an object with two keys
// equal under case folding, by walking the decoder's tokens: the reference
// the fuzzer holds Check's byte scanner to.
func repeatedKey(b []byte) bool {
	type frame struct {
		object, wantKey bool
		keys            map[string]bool
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if key, ok := tok.(string); ok && top != nil && top.object && top.wantKey {
			folded := strings.Map(func(r rune) rune {
				if 'A' <= r && r <= 'Z' {
					return r + 'a' - 'A'
				}
				return r
			}, key)
			if top.keys[folded] {
				return true
			}
			top.keys[folded] = true
			top.wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, wantKey: true, keys: map[string]bool{}})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return false
			}
			top = stack[len(stack)-1]
		}
		if top != nil && top.object {
			top.wantKey = true
		}
	}
}
