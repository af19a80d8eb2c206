package expr

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLength is the longest expression Parse accepts, in characters (runes),
// Entra's limit.
const MaxLength = 10000

// MaxDepth is the deepest nesting of calls and comparisons Parse accepts.
const MaxDepth = 64

// Error is a parse or check error at a position in the expression.
type Error struct {
	Pos Pos
	Msg string
}

// Error formats the error as "expr: line:col: message".
func (e *Error) Error() string {
	return fmt.Sprintf("expr: %d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg)
}

// Parse parses an Entra attribute-mapping expression into its AST. It checks
// syntax only; Check validates function names and arguments.
//
// Grammar (ENGINE-NOTES §3.1, function names case-sensitive):
//
//	expr    = operand [ cmpop operand ]
//	operand = call | "[" name "]" | string | number | hex | ident
//	call    = ident "(" [ arg *( "," arg ) ] ")"
//	arg     = [ expr ]                      ; empty = omitted argument
//	string  = DQUOTE *( char | "\\" | "\"" ) DQUOTE
//	number  = [ "-" ] digits [ "." digits ]
//	hex     = "&H" hexdigits
//	cmpop   = "=" | "<>" | ">" | ">=" | "<" | "<="
func Parse(src string) (Node, error) {
	// The byte test first, so a huge input is refused without counting it.
	if len(src) > utf8.UTFMax*MaxLength || utf8.RuneCountInString(src) > MaxLength {
		return nil, &Error{Pos: Pos{Line: 1, Col: 1}, Msg: fmt.Sprintf("expression is longer than the limit of %d characters", MaxLength)}
	}
	p := &parser{src: src}
	p.skipSpace()
	if p.off == len(p.src) {
		return nil, p.errf(p.pos(), "empty expression")
	}
	n, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.off < len(p.src) {
		return nil, p.errf(p.pos(), "unexpected %s after the expression", p.describe())
	}
	return n, nil
}

type parser struct {
	src string
	off int
}

func (p *parser) pos() Pos { return p.posAt(p.off) }

// posAt computes line and column on demand; errors are rare, so the
// quadratic cost on long inputs does not matter in practice.
func (p *parser) posAt(off int) Pos {
	line, col := 1, 1
	for _, r := range p.src[:off] {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return Pos{Offset: off, Line: line, Col: col}
}

func (p *parser) errf(pos Pos, format string, args ...any) error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) skipSpace() {
	for p.off < len(p.src) {
		switch p.src[p.off] {
		case ' ', '\t', '\n', '\r':
			p.off++
		default:
			return
		}
	}
}

// describe names the token at the current offset for error messages.
func (p *parser) describe() string {
	if p.off >= len(p.src) {
		return "end of expression"
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.off:])
	return fmt.Sprintf("%q", r)
}

func (p *parser) expr(depth int) (Node, error) {
	if depth > MaxDepth {
		return nil, p.errf(p.pos(), "expression nested deeper than %d", MaxDepth)
	}
	start := p.pos()
	left, err := p.operand(depth)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	op := p.cmpop()
	if op == "" {
		return left, nil
	}
	p.skipSpace()
	right, err := p.operand(depth)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.cmpop() != "" {
		return nil, p.errf(start, "comparisons do not chain; Entra has no AND or OR")
	}
	return &Compare{Op: op, L: left, R: right, Pos: start}, nil
}

func (p *parser) cmpop() string {
	for _, op := range []string{"<>", ">=", "<=", "=", ">", "<"} {
		if strings.HasPrefix(p.src[p.off:], op) {
			p.off += len(op)
			return op
		}
	}
	return ""
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (p *parser) operand(depth int) (Node, error) {
	start := p.pos()
	if p.off >= len(p.src) {
		return nil, p.errf(start, "expected a function, [attribute], string or number, found end of expression")
	}
	c := p.src[p.off]
	switch {
	case c == '[':
		end := strings.IndexAny(p.src[p.off+1:], "]\n")
		if end < 0 || p.src[p.off+1+end] != ']' {
			return nil, p.errf(start, `expected "]" to close the attribute name`)
		}
		name := p.src[p.off+1 : p.off+1+end]
		if strings.TrimSpace(name) == "" {
			return nil, p.errf(start, "empty attribute name")
		}
		if strings.ContainsAny(name, "[") {
			return nil, p.errf(start, `"[" inside an attribute name`)
		}
		p.off += end + 2
		return &Attr{Name: name, Pos: start}, nil
	case c == '"':
		return p.str(start)
	case isDigit(c) || c == '-':
		return p.number(start)
	case c == '&':
		return p.hex(start)
	case isIdentStart(c):
		i := p.off
		for i < len(p.src) && isIdentChar(p.src[i]) {
			i++
		}
		name := p.src[p.off:i]
		p.off = i
		p.skipSpace()
		if p.off < len(p.src) && p.src[p.off] == '(' {
			p.off++
			return p.call(name, start, depth)
		}
		return &Ident{Name: name, Pos: start}, nil
	default:
		return nil, p.errf(start, "expected a function, [attribute], string or number, found %s", p.describe())
	}
}

func (p *parser) call(name string, start Pos, depth int) (Node, error) {
	c := &Call{Name: name, Pos: start, Args: []Node{}}
	p.skipSpace()
	if p.off < len(p.src) && p.src[p.off] == ')' {
		p.off++
		return c, nil
	}
	for {
		p.skipSpace()
		argPos := p.pos()
		if p.off < len(p.src) && (p.src[p.off] == ',' || p.src[p.off] == ')') {
			c.Args = append(c.Args, &Omitted{Pos: argPos})
		} else {
			a, err := p.expr(depth + 1)
			if err != nil {
				return nil, err
			}
			c.Args = append(c.Args, a)
		}
		p.skipSpace()
		if p.off >= len(p.src) {
			return nil, p.errf(p.pos(), `expected ")" to close %s( at %d:%d, found end of expression`, name, start.Line, start.Col)
		}
		switch p.src[p.off] {
		case ',':
			p.off++
		case ')':
			p.off++
			return c, nil
		default:
			return nil, p.errf(p.pos(), `expected "," or ")" in %s(, found %s`, name, p.describe())
		}
	}
}

func (p *parser) str(start Pos) (Node, error) {
	var b strings.Builder
	i := p.off + 1
	for i < len(p.src) {
		c := p.src[i]
		switch {
		case c == '"':
			p.off = i + 1
			return &Str{Value: b.String(), Pos: start}, nil
		case c == '\\' && i+1 < len(p.src) && (p.src[i+1] == '\\' || p.src[i+1] == '"'):
			b.WriteByte(p.src[i+1])
			i += 2
		default:
			// A backslash before any other character stays as written,
			// which is how Entra reads "\d" in a pattern.
			b.WriteByte(c)
			i++
		}
	}
	return nil, p.errf(start, "unterminated string")
}

func (p *parser) number(start Pos) (Node, error) {
	i := p.off
	if p.src[i] == '-' {
		i++
	}
	d := i
	for i < len(p.src) && isDigit(p.src[i]) {
		i++
	}
	if i == d {
		return nil, p.errf(start, `expected a digit after "-"`)
	}
	if i < len(p.src) && p.src[i] == '.' {
		i++
		f := i
		for i < len(p.src) && isDigit(p.src[i]) {
			i++
		}
		if i == f {
			return nil, p.errf(start, `expected a digit after "."`)
		}
	}
	if i < len(p.src) && isIdentChar(p.src[i]) {
		return nil, p.errf(p.posAt(i), "unexpected %q in a number", p.src[i])
	}
	lit := p.src[p.off:i]
	p.off = i
	return &Num{Lit: lit, Pos: start}, nil
}

func (p *parser) hex(start Pos) (Node, error) {
	i := p.off + 1
	if i >= len(p.src) || (p.src[i] != 'H' && p.src[i] != 'h') {
		return nil, p.errf(start, `expected "&H" hex literal`)
	}
	i++
	d := i
	for i < len(p.src) && strings.IndexByte("0123456789abcdefABCDEF", p.src[i]) >= 0 {
		i++
	}
	if i == d || i-d > 16 {
		return nil, p.errf(start, "expected 1 to 16 hex digits after &H")
	}
	if i < len(p.src) && isIdentChar(p.src[i]) {
		return nil, p.errf(p.posAt(i), "unexpected %q in a hex literal", p.src[i])
	}
	lit := "&H" + strings.ToUpper(p.src[d:i])
	p.off = i
	return &Num{Lit: lit, Pos: start}, nil
}
