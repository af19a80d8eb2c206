package store

import "unicode/utf8"

// WellFormed reports whether s is text every backend can look up: valid
// UTF-8 with no control characters (C0, DEL or C1), NUL among them.
// PostgreSQL refuses invalid UTF-8 and NUL in a text parameter with an
// error, which a caller would otherwise answer as a server failure; no
// name, id or credential Roster issues holds either, so callers treat
// text that is not well formed as naming nothing, before it reaches the
// store.
func WellFormed(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || r >= 0x80 && r < 0xa0 {
			return false
		}
		i += n
	}
	return true
}
