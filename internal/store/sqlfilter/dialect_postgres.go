package sqlfilter

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Postgres is the Dialect of PostgreSQL 13 or later, for the layout of the
// package documentation with attrs and elem as jsonb, the text columns in the
// "C" collation, and the functions FoldFunc and TimeFunc defined in the
// schema (store/postgres installs them). Placeholders are $1, $2, ...
//
// Every text value the dialect extracts from JSON is given the "C"
// collation, so that comparisons and sorting are byte-wise, as filter.Eval
// compares strings, whatever the database's default collation. Prefix tests
// are a range on the text, which a btree index on a "C" column answers even
// in a generic plan; substring and suffix tests are LIKE with the wildcards
// escaped, which a pg_trgm GIN index answers.
type Postgres struct{}

var _ Dialect = Postgres{}

// Placeholder returns $n.
func (Postgres) Placeholder(n int) string { return "$" + strconv.Itoa(n) }

// Fold returns roster_fold(x).
func (Postgres) Fold(x string) string { return FoldFunc + "(" + x + ")" }

// Time returns roster_time(x).
func (Postgres) Time(x string) string { return TimeFunc + "(" + x + ")" }

// JSONPath returns a text[] literal for the #> and #>> operators, such as
// '{"name","givenName"}'::text[] or '{"x",0}'::text[]; an integer element
// indexes an array.
func (Postgres) JSONPath(elems ...any) (string, error) {
	var b strings.Builder
	b.WriteString("'{")
	for i, e := range elems {
		if i > 0 {
			b.WriteByte(',')
		}
		switch e := e.(type) {
		case string:
			if e == "" || strings.ContainsRune(e, 0) || !utf8.ValidString(e) {
				return "", fmt.Errorf("attribute name %q cannot be addressed in JSON", e)
			}
			// An array element in double quotes, with " and \ escaped by a
			// backslash; the ' of the SQL literal doubled.
			b.WriteByte('"')
			for _, r := range e {
				switch r {
				case '"', '\\':
					b.WriteByte('\\')
				case '\'':
					b.WriteByte('\'')
				}
				b.WriteRune(r)
			}
			b.WriteByte('"')
		case int:
			b.WriteString(strconv.Itoa(e))
		default:
			return "", fmt.Errorf("invalid JSON path element %v", e)
		}
	}
	b.WriteString("}'::text[]")
	return b.String(), nil
}

// JSONString returns the value as "C"-collated text if jsonb_typeof says it
// is a string.
func (Postgres) JSONString(doc, path string) string {
	return "CASE jsonb_typeof(" + doc + " #> " + path + ") WHEN 'string' THEN (" + doc + " #>> " + path + `) COLLATE "C" END`
}

// JSONNumber returns the value as numeric if it is a number.
func (Postgres) JSONNumber(doc, path string) string {
	return "CASE jsonb_typeof(" + doc + " #> " + path + ") WHEN 'number' THEN (" + doc + " #> " + path + ")::numeric END"
}

// JSONBool returns the value as boolean if it is one.
func (Postgres) JSONBool(doc, path string) string {
	return "CASE jsonb_typeof(" + doc + " #> " + path + ") WHEN 'boolean' THEN (" + doc + " #> " + path + ")::boolean END"
}

// JSONIsObject tests jsonb_typeof and, for nonEmpty, compares with '{}'.
func (Postgres) JSONIsObject(doc, path string, nonEmpty bool) string {
	s := "jsonb_typeof(" + doc + " #> " + path + ") = 'object'"
	if nonEmpty {
		s = "(" + s + " AND (" + doc + " #> " + path + ") <> '{}'::jsonb)"
	}
	return s
}

// JSONEach yields the elements of an array, or a single value as one
// element, as filter.Eval flattens a multi-valued attribute; the element is
// the document alias.value, addressed by the empty path.
func (Postgres) JSONEach(doc, path, alias string) (from, elemDoc, elemPath string) {
	v := doc + " #> " + path
	return "jsonb_array_elements(CASE jsonb_typeof(" + v + ") WHEN 'array' THEN " + v + " ELSE jsonb_build_array(" + v + ") END) AS " +
		alias + "(value)", alias + ".value", "'{}'::text[]"
}

// Contains uses LIKE '%sub%' with sub escaped (LIKE's default escape
// character in PostgreSQL is the backslash), which compares characters
// exactly and which a trigram index answers.
func (Postgres) Contains(a *Args, x, sub string) string {
	return x + " LIKE " + a.Add("%"+EscapeLike(sub)+"%")
}

// HasPrefix uses the range prefix <= x < successor(prefix), which under the
// "C" collation (byte-wise, which for UTF-8 is code point order) holds exactly
// for the texts that start with prefix, and which a btree index on x answers
// with bound values. The successor is prefix with its last character
// incremented; a prefix of U+10FFFF characters only, which has none, falls
// back to LIKE.
func (Postgres) HasPrefix(a *Args, x, prefix string) string {
	succ, ok := successor(prefix)
	if !ok {
		return x + " LIKE " + a.Add(EscapeLike(prefix)+"%")
	}
	return "(" + x + " >= " + a.Add(prefix) + " AND " + x + " < " + a.Add(succ) + ")"
}

// HasSuffix uses LIKE '%suffix' with suffix escaped.
func (Postgres) HasSuffix(a *Args, x, suffix string) string {
	return x + " LIKE " + a.Add("%"+EscapeLike(suffix))
}

// successor returns the least string greater than every string that starts
// with s in code point order: s with its last character that is not
// U+10FFFF incremented (skipping the surrogates, which UTF-8 cannot hold)
// and the characters after it dropped.
func successor(s string) (string, bool) {
	for s != "" {
		r, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
		if r == utf8.RuneError && size <= 1 {
			// Invalid UTF-8 never reaches PostgreSQL text; treat it as a
			// character that has a successor anyway.
			r = 0xFFFD
		}
		if r == utf8.MaxRune {
			continue
		}
		r++
		if r == 0xD800 {
			r = 0xE000
		}
		return s + string(r), true
	}
	return "", false
}
