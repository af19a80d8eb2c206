package filter

import (
	"strconv"
	"strings"
)

// String returns the path in the attrPath form of RFC 7644 §3.4.2.2:
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
// "name.givenName" or "userName".
func (p AttrPath) String() string {
	var b strings.Builder
	writePath(&b, p)
	return b.String()
}

// String returns the path in the PATH form of RFC 7644 §3.5.2, for example
// `emails[type eq "work"].value`. ParsePath of the result yields an equal Path.
func (p Path) String() string {
	var b strings.Builder
	writePath(&b, p.Attr)
	if p.Filter != nil {
		b.WriteByte('[')
		write(&b, p.Filter)
		b.WriteByte(']')
		if p.Sub != "" {
			b.WriteByte('.')
			b.WriteString(p.Sub)
		}
	}
	return b.String()
}

// String returns the comparison in canonical form: `userName eq "bjensen"`,
// `title pr`. Operators print in lower case, strings JSON-quoted, numbers as
// their literal and booleans and null in lower case.
func (c *Compare) String() string { return str(c) }

// String returns the conjunction in canonical form. Operands that bind more
// loosely than "and", and a right operand that is itself an "and", are
// parenthesized so that parsing the result yields an equal AST.
func (a *And) String() string { return str(a) }

// String returns the disjunction in canonical form. A right operand that is
// itself an "or" is parenthesized so that parsing the result yields an equal
// AST.
func (o *Or) String() string { return str(o) }

// String returns the negation in canonical form, "not (filter)", with the
// parentheses RFC 7644 §3.4.2.2 requires.
func (n *Not) String() string { return str(n) }

// String returns the value path in canonical form, `emails[type eq "work"]`.
func (v *ValuePath) String() string { return str(v) }

func str(e Expr) string {
	var b strings.Builder
	write(&b, e)
	return b.String()
}

func write(b *strings.Builder, e Expr) {
	switch e := e.(type) {
	case *Compare:
		writePath(b, e.Path)
		b.WriteByte(' ')
		b.WriteString(string(e.Op))
		if e.Op != Pr {
			b.WriteByte(' ')
			writeValue(b, e.Value)
		}
	case *And:
		_, leftOr := e.Left.(*Or)
		writeOperand(b, e.Left, leftOr)
		b.WriteString(" and ")
		switch e.Right.(type) {
		case *Or, *And:
			writeOperand(b, e.Right, true)
		default:
			writeOperand(b, e.Right, false)
		}
	case *Or:
		write(b, e.Left)
		b.WriteString(" or ")
		_, rightOr := e.Right.(*Or)
		writeOperand(b, e.Right, rightOr)
	case *Not:
		b.WriteString("not (")
		write(b, e.X)
		b.WriteByte(')')
	case *ValuePath:
		writePath(b, e.Path)
		b.WriteByte('[')
		write(b, e.Filter)
		b.WriteByte(']')
	}
}

func writeOperand(b *strings.Builder, e Expr, paren bool) {
	if paren {
		b.WriteByte('(')
	}
	write(b, e)
	if paren {
		b.WriteByte(')')
	}
}

func writePath(b *strings.Builder, p AttrPath) {
	if p.URI != "" {
		b.WriteString(p.URI)
		b.WriteByte(':')
	}
	b.WriteString(p.Name)
	if p.Sub != "" {
		b.WriteByte('.')
		b.WriteString(p.Sub)
	}
}

func writeValue(b *strings.Builder, v Value) {
	switch v.Kind {
	case KindNumber:
		if v.Str != "" {
			b.WriteString(v.Str)
		} else {
			b.WriteString(strconv.FormatFloat(v.Num, 'g', -1, 64))
		}
	case KindBool:
		b.WriteString(strconv.FormatBool(v.Bool))
	case KindNull:
		b.WriteString("null")
	default:
		writeString(b, v.Str)
	}
}

// writeString writes s as a JSON string, escaping only what JSON requires.
func writeString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
