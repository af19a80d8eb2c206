package filter

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/rosterhq/roster/internal/scim/scimerr"
)

// Limits that Parse and ParsePath enforce so that a client cannot make the
// server build, print, validate or evaluate an unreasonably large filter.
const (
	// MaxLength is the longest filter or path, in bytes, that is accepted.
	MaxLength = 8192
	// MaxNodes is the largest number of AST nodes (comparisons, and, or, not
	// and value paths) a filter or path may produce.
	MaxNodes = 256
	// MaxDepth is the deepest nesting of parentheses, "not (...)" and value
	// path brackets a filter or path may have.
	MaxDepth = 64
)

// Parse parses a filter per the ABNF of RFC 7644 §3.4.2.2:
//
//	FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
//	valuePath = attrPath "[" valFilter "]"
//	valFilter = attrExp / logExp / *1"not" "(" valFilter ")"
//	attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//	logExp    = FILTER SP ("and" / "or") SP FILTER
//	compValue = false / null / true / number / string
//	compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"
//	attrPath  = [URI ":"] ATTRNAME *1subAttr
//	ATTRNAME  = ALPHA *(nameChar)
//	nameChar  = "-" / "_" / DIGIT / ALPHA
//	subAttr   = "." ATTRNAME
//
// Precedence is "not" over "and" over "or"; "and" and "or" associate to the
// left. Attribute names, operators and the literals true, false and null are
// case-insensitive. Strings are JSON strings with JSON escapes; numbers are
// JSON numbers, whose literal text is kept in Value.Str. Operators are
// returned in lower case. Where the ABNF says SP, any run of spaces, tabs,
// carriage returns and line feeds is accepted; the space the RFC examples put
// between "not" and "(" is optional.
//
// A URI prefix is split off at the last ':' of the path, since attribute
// names never contain ':': "urn:ietf:params:scim:schemas:core:2.0:User:userName"
// has URI "urn:ietf:params:scim:schemas:core:2.0:User" and Name "userName".
// As an extension of the ABNF, ATTRNAME may start with '$' so that the
// "$ref" sub-attribute of RFC 7643 can be named.
//
// Following errata 4690 and 7322 of RFC 7644, a value path cannot contain
// another value path. Two forms sent by Microsoft Entra ID are accepted too:
// a value path followed by a sub-attribute and a comparison,
// `emails[type eq "work"].value eq "x"`, which parses to the equivalent
// ValuePath{emails, And(type eq "work", value eq "x")}; and an unquoted
// comparison value that is not true, false, null or a JSON number,
// `externalId eq jyoung`, which parses as the string "jyoung". An unquoted
// value ends at whitespace or at one of ( ) [ ] ".
//
// Input longer than MaxLength bytes, that is not valid UTF-8, that produces
// more than MaxNodes nodes or that nests deeper than MaxDepth is rejected.
// Every error is a *scimerr.Error with scimType invalidFilter whose detail
// says what is wrong and at which byte offset.
func Parse(s string) (Expr, error) {
	p, err := newParser(s, scimerr.InvalidFilter, "filter")
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() {
		return nil, p.errorf(p.pos, "empty filter")
	}
	e, err := p.filter(false)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		return nil, p.errorf(p.pos, "unexpected %s after a complete filter", p.near())
	}
	return e, nil
}

// ParsePath parses a PATCH operation path per RFC 7644 §3.5.2:
//
//	PATH = attrPath / valuePath [subAttr]
//
// The attribute path and the value filter follow the rules of Parse, and
// leading and trailing whitespace is ignored. A value filter applies to an
// attribute, so "name.givenName[...]" is rejected. Every error is a
// *scimerr.Error with scimType invalidPath whose detail says what is wrong and
// at which byte offset.
func ParsePath(s string) (Path, error) {
	p, err := newParser(s, scimerr.InvalidPath, "path")
	if err != nil {
		return Path{}, err
	}
	p.skipSpace()
	if p.eof() {
		return Path{}, p.errorf(p.pos, "empty path")
	}
	return p.path()
}

// parser is a recursive-descent parser over the ABNF of RFC 7644 §3.4.2.2.
// Its methods are named after the ABNF rules they parse.
type parser struct {
	src   string
	pos   int
	nodes int
	depth int
	what  string                                          // "filter" or "path", for messages
	fail  func(format string, args ...any) *scimerr.Error // scimerr.InvalidFilter or InvalidPath
}

func newParser(s string, fail func(string, ...any) *scimerr.Error, what string) (*parser, error) {
	if len(s) > MaxLength {
		return nil, fail("%s is %d bytes long; at most %d are allowed", what, len(s), MaxLength)
	}
	if !utf8.ValidString(s) {
		off := 0
		for off < len(s) {
			r, n := utf8.DecodeRuneInString(s[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return nil, fail("%s is not valid UTF-8 at offset %d", what, off)
	}
	return &parser{src: s, what: what, fail: fail}, nil
}

// errorf returns a parse error located at byte offset off.
func (p *parser) errorf(off int, format string, args ...any) error {
	return p.fail("%s at offset %d of %s", fmt.Sprintf(format, args...), off, p.what)
}

// path parses PATH = attrPath / valuePath [subAttr] (RFC 7644 §3.5.2).
func (p *parser) path() (Path, error) {
	start := p.pos
	ap, err := p.attrPath()
	if err != nil {
		return Path{}, err
	}
	out := Path{Attr: ap}
	if p.peek() == '[' {
		if out.Filter, err = p.valuePath(ap, start); err != nil {
			return Path{}, err
		}
		if p.peek() == '.' {
			p.pos++
			if out.Sub, err = p.attrName(); err != nil {
				return Path{}, err
			}
		}
	}
	p.skipSpace()
	if !p.eof() {
		return Path{}, p.errorf(p.pos, "unexpected %s in path", p.near())
	}
	return out, nil
}

// filter parses FILTER, or valFilter when val is true. The logExp
// alternative carries the precedence of RFC 7644 §3.4.2.2: "or" binds more
// loosely than "and", which binds more loosely than "not" and grouping.
func (p *parser) filter(val bool) (Expr, error) {
	return p.logExp(val)
}

// valFilter parses valFilter, the filter inside a value path's brackets.
func (p *parser) valFilter() (Expr, error) {
	return p.filter(true)
}

// logExp parses the "or" level of logExp = FILTER SP ("and" / "or") SP FILTER.
func (p *parser) logExp(val bool) (Expr, error) {
	left, err := p.andExp(val)
	if err != nil {
		return nil, err
	}
	for {
		ok, err := p.logOp("or")
		if err != nil {
			return nil, err
		}
		if !ok {
			return left, nil
		}
		right, err := p.andExp(val)
		if err != nil {
			return nil, err
		}
		if left, err = p.node(&Or{Left: left, Right: right}); err != nil {
			return nil, err
		}
	}
}

// andExp parses the "and" level of logExp.
func (p *parser) andExp(val bool) (Expr, error) {
	left, err := p.operand(val)
	if err != nil {
		return nil, err
	}
	for {
		ok, err := p.logOp("and")
		if err != nil {
			return nil, err
		}
		if !ok {
			return left, nil
		}
		right, err := p.operand(val)
		if err != nil {
			return nil, err
		}
		if left, err = p.node(&And{Left: left, Right: right}); err != nil {
			return nil, err
		}
	}
}

// logOp consumes SP kw SP, where kw is "and" or "or", and reports whether it
// did. It consumes nothing when the next word is not kw.
func (p *parser) logOp(kw string) (bool, error) {
	save := p.pos
	if p.skipSpace() == 0 {
		return false, nil
	}
	at := p.pos
	w, end := p.peekWord()
	if !strings.EqualFold(w, kw) {
		p.pos = save
		return false, nil
	}
	p.pos = end
	if p.skipSpace() == 0 || p.eof() {
		if p.eof() {
			return false, p.errorf(at, "%q must be followed by a filter", w)
		}
		return false, p.errorf(p.pos, "%q must be followed by a space", w)
	}
	return true, nil
}

// operand parses one operand of logExp: "not" "(" FILTER ")", "(" FILTER ")",
// valuePath (not inside a valFilter), or attrExp.
func (p *parser) operand(val bool) (Expr, error) {
	start := p.pos
	if p.peek() == '(' {
		return p.group(val)
	}
	w, end := p.peekWord()
	if strings.EqualFold(w, "not") {
		p.pos = end
		p.skipSpace()
		if p.peek() != '(' {
			return nil, p.errorf(p.pos, `"not" must be followed by a parenthesized filter, found %s`, p.near())
		}
		x, err := p.group(val)
		if err != nil {
			return nil, err
		}
		return p.node(&Not{X: x})
	}
	if w == "" {
		return nil, p.errorf(p.pos, `expected an attribute path, "(" or "not", found %s`, p.near())
	}
	ap, err := p.attrPath()
	if err != nil {
		return nil, err
	}
	if p.peek() != '[' {
		return p.attrExp(ap)
	}
	if val {
		return nil, p.errorf(p.pos, "a value filter cannot contain another value filter")
	}
	inner, err := p.valuePath(ap, start)
	if err != nil {
		return nil, err
	}
	if p.peek() == '.' {
		// Entra ID: emails[type eq "work"].value eq "x".
		p.pos++
		sub, err := p.attrName()
		if err != nil {
			return nil, err
		}
		cmp, err := p.attrExp(AttrPath{Name: sub})
		if err != nil {
			return nil, err
		}
		if inner, err = p.node(&And{Left: inner, Right: cmp}); err != nil {
			return nil, err
		}
	}
	return p.node(&ValuePath{Path: ap, Filter: inner})
}

// group parses "(" FILTER ")" (or valFilter when val is true) and returns the
// inner filter; grouping leaves no node in the AST.
func (p *parser) group(val bool) (Expr, error) {
	open := p.pos
	p.pos++ // "("
	if err := p.enter(open); err != nil {
		return nil, err
	}
	p.skipSpace()
	x, err := p.filter(val)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() != ')' {
		return nil, p.errorf(p.pos, `expected ")" to close the "(" at offset %d, found %s`, open, p.near())
	}
	p.pos++
	p.depth--
	return x, nil
}

// valuePath parses the bracketed part of valuePath = attrPath "[" valFilter "]"
// for the attribute path ap, which started at offset start, and returns the
// value filter.
func (p *parser) valuePath(ap AttrPath, start int) (Expr, error) {
	if ap.Sub != "" {
		return nil, p.errorf(start, "a value filter applies to an attribute, not to the sub-attribute %q", ap.String())
	}
	open := p.pos
	p.pos++ // "["
	if err := p.enter(open); err != nil {
		return nil, err
	}
	p.skipSpace()
	x, err := p.valFilter()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() != ']' {
		return nil, p.errorf(p.pos, `expected "]" to close the "[" at offset %d, found %s`, open, p.near())
	}
	p.pos++
	p.depth--
	return x, nil
}

// attrExp parses the rest of attrExp after its attrPath ap:
// SP "pr" / SP compareOp SP compValue.
func (p *parser) attrExp(ap AttrPath) (Expr, error) {
	if p.skipSpace() == 0 {
		return nil, p.errorf(p.pos, "expected a space and an operator after attribute path %q, found %s", ap.String(), p.near())
	}
	op, err := p.compareOp()
	if err != nil {
		return nil, err
	}
	c := &Compare{Path: ap, Op: op}
	if op != Pr {
		if p.skipSpace() == 0 {
			if p.eof() {
				return nil, p.errorf(p.pos, "missing comparison value after %q", string(op))
			}
			return nil, p.errorf(p.pos, "expected a space after operator %q, found %s", string(op), p.near())
		}
		if c.Value, err = p.compValue(); err != nil {
			return nil, err
		}
	}
	return p.node(c)
}

// compareOp parses compareOp or "pr", case-insensitively, and returns it in
// lower case.
func (p *parser) compareOp() (Op, error) {
	start := p.pos
	w, end := p.peekWord()
	if w == "" {
		return "", p.errorf(start, "expected an operator, found %s", p.near())
	}
	op := Op(strings.ToLower(w))
	switch op {
	case Eq, Ne, Co, Sw, Ew, Pr, Gt, Ge, Lt, Le:
		p.pos = end
		return op, nil
	}
	return "", p.errorf(start, "unknown operator %q; expected one of eq, ne, co, sw, ew, pr, gt, ge, lt, le", w)
}

// compValue parses compValue = false / null / true / number / string, plus
// the unquoted strings Entra ID sends.
func (p *parser) compValue() (Value, error) {
	if p.peek() == '"' {
		s, err := p.str()
		if err != nil {
			return Value{}, err
		}
		return Value{Kind: KindString, Str: s}, nil
	}
	start := p.pos
	for !p.eof() && !isSpace(p.src[p.pos]) && !strings.ContainsRune(`()[]"`, rune(p.src[p.pos])) {
		p.pos++
	}
	tok := p.src[start:p.pos]
	if i := strings.IndexFunc(tok, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }); i >= 0 {
		return Value{}, p.errorf(start+i, "an unquoted value may not contain control characters or backslashes; quote it as a JSON string")
	}
	switch {
	case tok == "":
		return Value{}, p.errorf(start, "missing comparison value, found %s", p.near())
	case strings.EqualFold(tok, "true"):
		return Value{Kind: KindBool, Bool: true}, nil
	case strings.EqualFold(tok, "false"):
		return Value{Kind: KindBool}, nil
	case strings.EqualFold(tok, "null"):
		return Value{Kind: KindNull}, nil
	case isNumber(tok):
		f, err := strconv.ParseFloat(tok, 64)
		if err != nil {
			return Value{}, p.errorf(start, "number %s is out of range", tok)
		}
		return Value{Kind: KindNumber, Str: tok, Num: f}, nil
	}
	return Value{Kind: KindString, Str: tok}, nil
}

// str parses a JSON string (RFC 8259 §7) starting at the opening quote.
func (p *parser) str() (string, error) {
	open := p.pos
	p.pos++
	var b strings.Builder
	for {
		if p.eof() {
			return "", p.errorf(open, "unterminated string")
		}
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String(), nil
		case c == '\\':
			r, err := p.escape()
			if err != nil {
				return "", err
			}
			b.WriteRune(r)
		case c < 0x20:
			return "", p.errorf(p.pos, "control character %U in string must be escaped", rune(c))
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
}

// escape parses one JSON escape sequence starting at the backslash. A lone
// UTF-16 surrogate becomes U+FFFD, as encoding/json does.
func (p *parser) escape() (rune, error) {
	at := p.pos
	if at+1 >= len(p.src) {
		return 0, p.errorf(at, "unterminated escape sequence")
	}
	p.pos += 2
	switch c := p.src[at+1]; c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, ok := p.hex4()
		if !ok {
			return 0, p.errorf(at, `invalid \u escape; expected four hex digits`)
		}
		if r == 0 {
			// No stored value holds U+0000 (PostgreSQL text cannot).
			return 0, p.errorf(at, `a string may not contain \u0000`)
		}
		if !utf16.IsSurrogate(r) {
			return r, nil
		}
		if strings.HasPrefix(p.src[p.pos:], `\u`) {
			save := p.pos
			p.pos += 2
			if r2, ok := p.hex4(); ok {
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					return d, nil
				}
			}
			p.pos = save
		}
		return utf8.RuneError, nil
	}
	return 0, p.errorf(at, "invalid escape sequence %q in string", p.src[at:at+2])
}

func (p *parser) hex4() (rune, bool) {
	if p.pos+4 > len(p.src) {
		return 0, false
	}
	n, err := strconv.ParseUint(p.src[p.pos:p.pos+4], 16, 16)
	if err != nil {
		return 0, false
	}
	p.pos += 4
	return rune(n), true
}

// attrPath parses attrPath = [URI ":"] ATTRNAME *1subAttr. The URI is
// everything before the last ':' of the path.
func (p *parser) attrPath() (AttrPath, error) {
	start := p.pos
	w, end := p.peekWord()
	if w == "" {
		return AttrPath{}, p.errorf(start, "expected an attribute path, found %s", p.near())
	}
	p.pos = end
	var ap AttrPath
	rest, restAt := w, start
	if i := strings.LastIndexByte(w, ':'); i >= 0 {
		if i == 0 {
			return AttrPath{}, p.errorf(start, "missing schema URI before %q", w[i:])
		}
		ap.URI, rest, restAt = w[:i], w[i+1:], start+i+1
	}
	name, sub, hasSub := strings.Cut(rest, ".")
	if !isAttrName(name) {
		return AttrPath{}, p.errorf(restAt, "invalid attribute name %q", name)
	}
	ap.Name = name
	if hasSub {
		if !isAttrName(sub) {
			return AttrPath{}, p.errorf(restAt+len(name)+1, "invalid sub-attribute name %q", sub)
		}
		ap.Sub = sub
	}
	return ap, nil
}

// attrName parses ATTRNAME (subAttr without its dot).
func (p *parser) attrName() (string, error) {
	start := p.pos
	if p.peek() == '$' {
		p.pos++
	}
	if !isAlpha(p.peek()) {
		return "", p.errorf(start, "expected a sub-attribute name, found %s", p.near())
	}
	for !p.eof() && isNameChar(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos], nil
}

// node counts one AST node against MaxNodes and returns it.
func (p *parser) node(e Expr) (Expr, error) {
	p.nodes++
	if p.nodes > MaxNodes {
		return nil, p.errorf(p.pos, "%s has more than %d expressions", p.what, MaxNodes)
	}
	return e, nil
}

// enter counts one level of nesting against MaxDepth.
func (p *parser) enter(at int) error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errorf(at, "%s nests deeper than %d levels", p.what, MaxDepth)
	}
	return nil
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.src[p.pos]
}

// skipSpace skips whitespace and returns how many bytes it skipped.
func (p *parser) skipSpace() int {
	start := p.pos
	for !p.eof() && isSpace(p.src[p.pos]) {
		p.pos++
	}
	return p.pos - start
}

// peekWord returns the run of path characters at the current position and
// the offset just past it, without consuming it.
func (p *parser) peekWord() (string, int) {
	end := p.pos
	for end < len(p.src) && isWordChar(p.src[end]) {
		end++
	}
	return p.src[p.pos:end], end
}

// near describes the input at the current position for an error message.
func (p *parser) near() string {
	if p.eof() {
		return "end of input"
	}
	if w, _ := p.peekWord(); w != "" {
		return strconv.Quote(w)
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
	return strconv.Quote(string(r))
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isNameChar reports whether c is a nameChar of RFC 7644 §3.4.2.2.
func isNameChar(c byte) bool { return isAlpha(c) || isDigit(c) || c == '-' || c == '_' }

// isWordChar reports whether c can occur in an attribute path, URI included.
func isWordChar(c byte) bool { return isNameChar(c) || c == '.' || c == ':' || c == '$' }

// isAttrName reports whether s is an ATTRNAME, optionally prefixed by '$'.
func isAttrName(s string) bool {
	s = strings.TrimPrefix(s, "$")
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return false
		}
	}
	return true
}

// isNumber reports whether s is a JSON number (RFC 8259 §6):
// [ "-" ] ( "0" / 1-9 *DIGIT ) [ "." 1*DIGIT ] [ ( "e" / "E" ) [ "+" / "-" ] 1*DIGIT ].
func isNumber(s string) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(s) && isDigit(s[i]) {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}
