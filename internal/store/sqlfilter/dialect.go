package sqlfilter

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Dialect supplies the SQL that differs between database engines. Every
// method returns an SQL fragment; x, doc and path arguments are SQL
// expressions (a column, a placeholder, the result of another method), never
// values from a filter. Values go in as bind arguments through Args.
type Dialect interface {
	// Placeholder returns the marker of the n-th bind argument, 1-based. A
	// marker may be used several times in one statement.
	Placeholder(n int) string
	// Fold returns an expression applying filter.Fold to the text x, or
	// NULL when x is not text.
	Fold(x string) string
	// Time returns an expression that turns the dateTime text x (RFC 7643
	// §2.3.5, parsed as filter.ParseTime does) into the sortable form of
	// FormatTime, or NULL when x does not parse.
	Time(x string) string
	// JSONPath returns the literal addressing a value inside a JSON document:
	// each element is an object key (string) or an array index (int).
	JSONPath(elems ...any) (string, error)
	// JSONString returns the JSON string at path in doc as text, or NULL if
	// the value there is missing or not a string.
	JSONString(doc, path string) string
	// JSONNumber returns the JSON number at path in doc, or NULL.
	JSONNumber(doc, path string) string
	// JSONBool returns the JSON boolean at path in doc as a value that
	// compares equal to a bound Go bool, or NULL.
	JSONBool(doc, path string) string
	// JSONIsObject returns a predicate: the value at path in doc is a JSON
	// object, and if nonEmpty is set, one with at least one member.
	JSONIsObject(doc, path string, nonEmpty bool) string
	// JSONEach returns a FROM item that yields one row per element of the
	// JSON array at path in doc, named alias, and the document and path
	// expressions that address the current element.
	JSONEach(doc, path, alias string) (from, elemDoc, elemPath string)
	// Contains returns a predicate: the text x contains sub, compared byte
	// for byte. sub is not empty.
	Contains(a *Args, x, sub string) string
	// HasPrefix returns a predicate: the text x starts with prefix, compared
	// byte for byte, preferably in a form an index on x can answer. prefix is
	// not empty.
	HasPrefix(a *Args, x, prefix string) string
	// HasSuffix returns a predicate: the text x ends with suffix, compared
	// byte for byte. suffix is not empty.
	HasSuffix(a *Args, x, suffix string) string
}

// EscapeLike escapes the LIKE wildcards % and _, and the backslash, with a
// backslash, for a dialect that implements Contains, HasPrefix and HasSuffix
// as "x LIKE ? ESCAPE '\'" on a case-sensitive LIKE (PostgreSQL's is).
func EscapeLike(s string) string { return likeEscaper.Replace(s) }

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// TimeLayout is the form in which timestamps are stored and compared: UTC
// with nine fractional digits, so that comparing the text compares the
// instants. It covers the years 0000 to 9999.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// FormatTime returns t in TimeLayout.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Names of the SQL functions the SQLite dialect calls. A SQLite backend must
// register them on every connection: FoldFunc(text) as filter.Fold, and
// TimeFunc(text) as filter.ParseTime followed by FormatTime (NULL when the
// argument is not text or does not parse). Both are deterministic.
const (
	FoldFunc = "roster_fold"
	TimeFunc = "roster_time"
)

// SQLite is the Dialect of SQLite 3.38 or later with the functions FoldFunc
// and TimeFunc registered. Placeholders are numbered (?1, ?2, ...).
//
// Substring tests use instr and substr rather than LIKE, which SQLite
// compares case-insensitively for ASCII; prefix tests are a range on the
// text, which an index answers.
type SQLite struct{}

var _ Dialect = SQLite{}

// Placeholder returns ?n.
func (SQLite) Placeholder(n int) string { return "?" + strconv.Itoa(n) }

// Fold returns roster_fold(x).
func (SQLite) Fold(x string) string { return FoldFunc + "(" + x + ")" }

// Time returns roster_time(x).
func (SQLite) Time(x string) string { return TimeFunc + "(" + x + ")" }

// JSONPath returns a quoted SQLite JSON path such as '$."name"."givenName"'
// or '$."x"[0]'.
func (SQLite) JSONPath(elems ...any) (string, error) {
	var b strings.Builder
	b.WriteString("'$")
	for _, e := range elems {
		switch e := e.(type) {
		case string:
			if e == "" || strings.ContainsAny(e, "\"\\'\x00") {
				return "", fmt.Errorf("attribute name %q cannot be addressed in JSON", e)
			}
			b.WriteString(`."`)
			b.WriteString(e)
			b.WriteString(`"`)
		case int:
			b.WriteString("[")
			b.WriteString(strconv.Itoa(e))
			b.WriteString("]")
		default:
			return "", fmt.Errorf("invalid JSON path element %v", e)
		}
	}
	b.WriteString("'")
	return b.String(), nil
}

// JSONString returns the value if json_type says it is text.
func (SQLite) JSONString(doc, path string) string {
	return "CASE json_type(" + doc + ", " + path + ") WHEN 'text' THEN json_extract(" + doc + ", " + path + ") END"
}

// JSONNumber returns the value if json_type says it is a number.
func (SQLite) JSONNumber(doc, path string) string {
	return "CASE WHEN json_type(" + doc + ", " + path + ") IN ('integer', 'real') THEN json_extract(" + doc + ", " + path + ") END"
}

// JSONBool returns 1 for true and 0 for false, which is how SQLite binds a Go bool.
func (SQLite) JSONBool(doc, path string) string {
	return "CASE json_type(" + doc + ", " + path + ") WHEN 'true' THEN 1 WHEN 'false' THEN 0 END"
}

// JSONIsObject tests json_type and, for nonEmpty, the minified text.
func (SQLite) JSONIsObject(doc, path string, nonEmpty bool) string {
	s := "json_type(" + doc + ", " + path + ") = 'object'"
	if nonEmpty {
		s = "(" + s + " AND json_extract(" + doc + ", " + path + ") <> '{}')"
	}
	return s
}

// JSONEach uses the json_each table-valued function; the element is
// addressed by its full path in the same document.
func (SQLite) JSONEach(doc, path, alias string) (from, elemDoc, elemPath string) {
	return "json_each(" + doc + ", " + path + ") AS " + alias, doc, alias + ".fullkey"
}

// Contains uses instr, which is case-sensitive.
func (SQLite) Contains(a *Args, x, sub string) string {
	return "instr(" + x + ", " + a.Add(sub) + ") > 0"
}

// HasPrefix uses the range prefix <= x < prefix||x'ff', which holds exactly
// for the texts that start with prefix (0xff never occurs in UTF-8) and which
// an index on x answers.
func (SQLite) HasPrefix(a *Args, x, prefix string) string {
	p := a.Add(prefix)
	return "(" + x + " >= " + p + " AND " + x + " < (" + p + " || x'ff'))"
}

// HasSuffix compares the last characters of x, which for UTF-8 text is the
// same as comparing the last bytes.
func (SQLite) HasSuffix(a *Args, x, suffix string) string {
	p := a.Add(suffix)
	return "substr(" + x + ", -length(" + p + ")) = " + p
}
