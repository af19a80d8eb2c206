package guard

import "testing"

func TestHasNULEscape(t *testing.T) {
	for body, want := range map[string]bool{
		`{"userName":"a\u0000b"}`: true,
		`{"userName":"\u0000"}`:   true,
		`{"a":"x\\\u0000"}`:       true,  // an escaped backslash, then the escape
		`{"a":"x\\u0000"}`:        false, // a backslash, then the text u0000
		`{"a":"x\\\\u0000"}`:      false,
		`{"a":"u0000"}`:           false,
		`{"a":"\u00001"}`:         true,
		`{"a":"\u0001"}`:          false,
		``:                        false,
		`u0000`:                   false,
	} {
		if got := HasNULEscape([]byte(body)); got != want {
			t.Errorf("HasNULEscape(%s) = %v, want %v", body, got, want)
		}
	}
}
