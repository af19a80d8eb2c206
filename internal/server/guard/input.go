package guard

import (
	"bytes"
	"net/url"

	"github.com/rosterhq/roster/internal/store"
)

// HasNULEscape reports whether a JSON text escapes U+0000 in a string, as
// \u0000 after an even number of other backslashes. No Roster backend can
// store it (PostgreSQL text cannot), so the HTTP handlers refuse such a body
// with a 400 up front rather than failing deep inside a write. A raw NUL
// byte inside a JSON string is invalid JSON and refused by the decoder.
func HasNULEscape(body []byte) bool {
	for i := 0; ; {
		j := bytes.Index(body[i:], []byte(`u0000`))
		if j < 0 {
			return false
		}
		at := i + j
		n := 0
		for k := at - 1; k >= 0 && body[k] == '\\'; k-- {
			n++
		}
		if n%2 == 1 {
			return true
		}
		i = at + 1
	}
}

// WellFormedQuery reports whether every name and value of a raw query
// string decodes to [store.WellFormed] text. Handlers refuse a query that
// does not with a 400 before any parameter reaches the store. A query that
// does not parse at all is left to the handler's own parsing.
func WellFormedQuery(rawQuery string) bool {
	if rawQuery == "" {
		return true
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return true
	}
	for k, vs := range q {
		if !store.WellFormed(k) {
			return false
		}
		for _, v := range vs {
			if !store.WellFormed(v) {
				return false
			}
		}
	}
	return true
}
