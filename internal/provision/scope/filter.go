package scope

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rosterhq/roster/internal/provision/source"
)

// Filter is one attribute scoping filter: its clauses ANDed.
type Filter struct {
	Clauses []Clause `json:"clauses"`
}

// Clause compares one source attribute with an operand, as an Entra
// scoping clause does. Operator is one of Operators (see the package
// documentation for each one's semantics); Value is the operand, and
// Values lists several for &, !&, Includes and NOT Includes.
type Clause struct {
	Attribute string   `json:"attribute"`
	Operator  string   `json:"operator"`
	Value     string   `json:"value,omitempty"`
	Values    []string `json:"values,omitempty"`
}

// String writes the clause as the provisioning logs show it, such as
// `department EQUALS "Sales"`.
func (c Clause) String() string {
	switch {
	case len(c.Values) > 0:
		q := make([]string, len(c.Values))
		for i, v := range c.Values {
			q[i] = strconv.Quote(v)
		}
		return c.Attribute + " " + c.Operator + " (" + strings.Join(q, ", ") + ")"
	case c.Value != "":
		return c.Attribute + " " + c.Operator + " " + strconv.Quote(c.Value)
	}
	return c.Attribute + " " + c.Operator
}

// base is what an operator tests; a negated operator is the negation of
// its base.
type base int

const (
	opEquals base = iota
	opIsTrue
	opIsFalse
	opIsNull
	opRegex
	opGreater
	opGreaterOrEqual
	opLess
	opLessOrEqual
	opIncludes
	opIn
	opEndsWith
)

// operand is what an operator takes.
type operand int

const (
	noOperand   operand = iota
	oneValue            // Value
	oneInteger          // Value, an integer
	valueOrList         // Value or Values
)

// operator is one of Operators.
type operator struct {
	name    string
	base    base
	negated bool
	operand operand
}

// operators are the operators, named as in Entra's portal.
var operators = []operator{
	{"EQUALS", opEquals, false, oneValue},
	{"NOT EQUALS", opEquals, true, oneValue},
	{"IS TRUE", opIsTrue, false, noOperand},
	{"IS FALSE", opIsFalse, false, noOperand},
	{"IS NULL", opIsNull, false, noOperand},
	{"IS NOT NULL", opIsNull, true, noOperand},
	{"REGEX MATCH", opRegex, false, oneValue},
	{"NOT REGEX MATCH", opRegex, true, oneValue},
	{"Greater_Than", opGreater, false, oneInteger},
	{"Greater_Than_OR_EQUALS", opGreaterOrEqual, false, oneInteger},
	{"Less_Than", opLess, false, oneInteger},
	{"Less_Than_OR_EQUALS", opLessOrEqual, false, oneInteger},
	{"Includes", opIncludes, false, valueOrList},
	{"NOT Includes", opIncludes, true, valueOrList},
	{"&", opIn, false, valueOrList},
	{"!&", opIn, true, valueOrList},
	{"ENDS_WITH", opEndsWith, false, oneValue},
}

// Operators lists the operator names a clause may use, as Entra's portal
// spells them. Names are matched without regard to case, and "_" and " "
// are the same ("NOT_EQUALS", "greater than").
func Operators() []string {
	out := make([]string, len(operators))
	for i, o := range operators {
		out[i] = o.name
	}
	return out
}

// normalOp is an operator name compared: upper case, "_" as a space,
// single spaces.
func normalOp(s string) string {
	return strings.Join(strings.Fields(strings.ToUpper(strings.ReplaceAll(s, "_", " "))), " ")
}

var operatorByName = func() map[string]operator {
	m := make(map[string]operator, len(operators))
	for _, o := range operators {
		m[normalOp(o.name)] = o
	}
	return m
}()

// ClauseError is a clause (or a filter, Clause -1) that does not compile.
// Filter and Clause index the lists given to Compile.
type ClauseError struct {
	Filter, Clause int
	Err            error
}

func (e *ClauseError) Error() string {
	if e.Clause < 0 {
		return fmt.Sprintf("[%d]: %v", e.Filter, e.Err)
	}
	return fmt.Sprintf("[%d].clauses[%d]: %v", e.Filter, e.Clause, e.Err)
}

func (e *ClauseError) Unwrap() error { return e.Err }

// Filters are compiled scoping filters. The nil *Filters, like one
// compiled from no filters, puts everything in scope. Filters are safe for
// concurrent use.
type Filters struct {
	filters [][]clause
}

// clause is a compiled Clause.
type clause struct {
	src  Clause
	op   operator
	re   *regexp.Regexp
	n    int64
	list []string // the operand(s) of a text operator
}

// Compile checks filters and prepares them for Match. An error is a
// *ClauseError naming the first clause refused: an unknown operator, a
// missing or superfluous operand, an integer operator with a non-integer
// value, or a regular expression that does not compile (Go's RE2 syntax).
func Compile(fs []Filter) (*Filters, error) {
	out := &Filters{filters: make([][]clause, 0, len(fs))}
	for i, f := range fs {
		if len(f.Clauses) == 0 {
			return nil, &ClauseError{Filter: i, Clause: -1, Err: errors.New("a filter needs at least one clause")}
		}
		cs := make([]clause, 0, len(f.Clauses))
		for j, c := range f.Clauses {
			cc, err := compileClause(c)
			if err != nil {
				return nil, &ClauseError{Filter: i, Clause: j, Err: err}
			}
			cs = append(cs, cc)
		}
		out.filters = append(out.filters, cs)
	}
	return out, nil
}

func compileClause(c Clause) (clause, error) {
	if strings.TrimSpace(c.Attribute) == "" {
		return clause{}, errors.New("attribute is required")
	}
	op, ok := operatorByName[normalOp(c.Operator)]
	if !ok {
		return clause{}, fmt.Errorf("operator %q unknown (use %s)", c.Operator, strings.Join(Operators(), ", "))
	}
	cc := clause{src: c, op: op}
	cc.src.Operator = op.name
	switch op.operand {
	case noOperand:
		if c.Value != "" || len(c.Values) > 0 {
			return clause{}, fmt.Errorf("%s takes no value", op.name)
		}
		return cc, nil
	case valueOrList:
		if c.Value != "" && len(c.Values) > 0 {
			return clause{}, fmt.Errorf("%s takes a value or values, not both", op.name)
		}
		if len(c.Values) > 0 {
			for k, v := range c.Values {
				if v == "" {
					return clause{}, fmt.Errorf("%s: values[%d] is empty", op.name, k)
				}
			}
			cc.list = c.Values
			return cc, nil
		}
	default:
		if len(c.Values) > 0 {
			return clause{}, fmt.Errorf("%s takes one value, not values", op.name)
		}
	}
	if c.Value == "" {
		return clause{}, fmt.Errorf("%s needs a value (an empty value is null: use IS NULL or IS NOT NULL)", op.name)
	}
	cc.list = []string{c.Value}
	switch op.operand {
	case oneInteger:
		n, err := strconv.ParseInt(strings.TrimSpace(c.Value), 10, 64)
		if err != nil {
			return clause{}, fmt.Errorf("%s compares integers: value %q is not one", op.name, c.Value)
		}
		cc.n = n
	case oneValue:
		if op.base == opRegex {
			re, err := regexp.Compile(c.Value)
			if err != nil {
				return clause{}, fmt.Errorf("%s: %s", op.name, regexError(c.Value, err))
			}
			cc.re = re
		}
	}
	return cc, nil
}

// regexError says where a pattern fails to compile.
func regexError(pattern string, err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		at := ""
		if i := strings.Index(pattern, se.Expr); i >= 0 && se.Expr != "" {
			at = fmt.Sprintf(" at offset %d", i)
		}
		hint := ""
		if se.Code == syntax.ErrInvalidPerlOp || se.Code == syntax.ErrInvalidEscape {
			hint = " (Roster uses Go's RE2 syntax: no lookarounds, backreferences or possessive quantifiers)"
		}
		return fmt.Sprintf("pattern %q does not compile%s: %s: %q%s", pattern, at, se.Code, se.Expr, hint)
	}
	return fmt.Sprintf("pattern %q does not compile: %v", pattern, err)
}

// Result is whether an object is in scope, and why, in words for the
// provisioning logs.
type Result struct {
	In     bool
	Reason string
	// Roles are the roles an assigned object holds (Decide in the
	// assigned mode); shared, not to be modified.
	Roles []string
}

// Match reports whether obj is in scope of the filters: it is when there
// are none or when it matches any of them. The reason names the filter
// matched or, for each filter, the first clause that failed.
func (f *Filters) Match(obj source.Object) Result {
	if f == nil || len(f.filters) == 0 {
		return Result{In: true, Reason: "no scoping filters"}
	}
	var fails []string
	for i, cs := range f.filters {
		failed := ""
		for _, c := range cs {
			if ok, why := c.eval(obj); !ok {
				failed = c.src.String() + ": " + why
				break
			}
		}
		if failed == "" {
			parts := make([]string, len(cs))
			for k, c := range cs {
				parts[k] = c.src.String()
			}
			return Result{In: true, Reason: fmt.Sprintf("scoping filter %d matched: %s", i+1, strings.Join(parts, " AND "))}
		}
		if len(f.filters) == 1 {
			fails = append(fails, failed)
		} else {
			fails = append(fails, fmt.Sprintf("filter %d: %s", i+1, failed))
		}
	}
	return Result{Reason: "out of scope: " + strings.Join(fails, "; ")}
}

// eval tests the clause on obj; when false, why says what the value is.
func (c *clause) eval(obj source.Object) (ok bool, why string) {
	vals := lookup(obj, c.src.Attribute)
	if c.op.base == opIsNull {
		return (len(vals) == 0) != c.op.negated, describe(vals)
	}
	if len(vals) == 0 {
		return false, "value is null"
	}
	compared, matched := 0, false
	for _, v := range vals {
		hit, ok := c.test(v)
		if ok {
			compared++
			matched = matched || hit
		}
	}
	if compared == 0 {
		return false, describe(vals) + " (" + c.kindWanted() + ")"
	}
	return matched != c.op.negated, describe(vals)
}

// kindWanted names what the operator compares, for a value it cannot.
func (c *clause) kindWanted() string {
	switch c.op.base {
	case opIsTrue, opIsFalse:
		return "not a boolean"
	case opGreater, opGreaterOrEqual, opLess, opLessOrEqual:
		return "not an integer"
	}
	return "not comparable as text"
}

// test applies the clause's base operator to one value; comparable is
// false when the value is not of the kind the operator compares.
func (c *clause) test(v any) (hit, comparable bool) {
	switch c.op.base {
	case opIsTrue, opIsFalse:
		b, ok := toBool(v)
		return ok && b == (c.op.base == opIsTrue), ok
	case opGreater, opGreaterOrEqual, opLess, opLessOrEqual:
		n, ok := toInt(v)
		if !ok {
			return false, false
		}
		switch c.op.base {
		case opGreater:
			return n > c.n, true
		case opGreaterOrEqual:
			return n >= c.n, true
		case opLess:
			return n < c.n, true
		}
		return n <= c.n, true
	}
	s, ok := toText(v)
	if !ok {
		return false, false
	}
	switch c.op.base {
	case opEquals:
		if _, isBool := v.(bool); isBool {
			return strings.EqualFold(s, c.list[0]), true
		}
		return s == c.list[0], true
	case opRegex:
		return c.re.MatchString(s), true
	case opEndsWith:
		return strings.HasSuffix(s, c.list[0]), true
	case opIncludes:
		for _, w := range c.list {
			if strings.Contains(s, w) {
				return true, true
			}
		}
		return false, true
	case opIn:
		if len(c.src.Values) > 0 {
			for _, w := range c.list {
				if s == w {
					return true, true
				}
			}
			return false, true
		}
		return strings.Contains(c.list[0], s), true
	}
	return false, false
}

// lookup returns an attribute's non-null values: absent, nil and empty
// strings are null. A dotted name not found as such reads a sub-attribute
// of complex values ("name.givenName", "emails.value").
func lookup(obj source.Object, name string) []any {
	vals, ok := obj.Get(name)
	var path []string
	if !ok {
		head, rest, dotted := strings.Cut(name, ".")
		if !dotted {
			return nil
		}
		if vals, ok = obj.Get(head); !ok {
			return nil
		}
		path = strings.Split(rest, ".")
	}
	out := make([]any, 0, len(vals))
	for _, v := range vals {
		out = appendSub(out, v, path)
	}
	return out
}

func appendSub(out []any, v any, path []string) []any {
	if len(path) == 0 {
		switch x := v.(type) {
		case nil:
			return out
		case string:
			if x == "" {
				return out
			}
		case []any:
			for _, e := range x {
				out = appendSub(out, e, nil)
			}
			return out
		}
		return append(out, v)
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if strings.EqualFold(k, path[0]) {
				return appendSub(out, e, path[1:])
			}
		}
	case []any:
		for _, e := range x {
			out = appendSub(out, e, path)
		}
	}
	return out
}

// toText is a value as text: strings as they are, numbers in decimal,
// booleans as "True" and "False" (as Entra writes them).
func toText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		if x {
			return "True", true
		}
		return "False", true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	case json.Number:
		n, err := strconv.ParseInt(x.String(), 10, 64)
		return n, err == nil
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return 0, false
		}
		return int64(x), true
	case int:
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}

func toBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch {
		case strings.EqualFold(x, "true"):
			return true, true
		case strings.EqualFold(x, "false"):
			return false, true
		}
	}
	return false, false
}

// describe writes values for a reason: `value is "Engineering"`, `values
// are "a", "b"`, `value is null`; long lists and values are cut.
func describe(vals []any) string {
	const maxValues, maxLen = 3, 64
	if len(vals) == 0 {
		return "value is null"
	}
	show := func(v any) string {
		s, ok := toText(v)
		if !ok {
			return "(complex value)"
		}
		if _, isString := v.(string); !isString {
			return s
		}
		if len(s) > maxLen {
			i := maxLen
			for i > 0 && !utf8.RuneStart(s[i]) {
				i--
			}
			s = s[:i] + "…"
		}
		return strconv.Quote(s)
	}
	if len(vals) == 1 {
		return "value is " + show(vals[0])
	}
	parts := make([]string, 0, maxValues+1)
	for i, v := range vals {
		if i == maxValues {
			parts = append(parts, fmt.Sprintf("… (%d values)", len(vals)))
			break
		}
		parts = append(parts, show(v))
	}
	return "values are " + strings.Join(parts, ", ")
}
