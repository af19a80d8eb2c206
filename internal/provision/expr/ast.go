package expr

import (
	"strings"
)

// Pos is a position in the expression's text: a byte offset and a 1-based
// line and column (the column counts runes, as an editor shows it).
type Pos struct {
	Offset int
	Line   int
	Col    int
}

// Node is one node of the AST: *Call, *Attr, *Str, *Num, *Ident, *Omitted
// or *Compare. String prints the canonical form, which parses back to an
// equal tree.
type Node interface {
	String() string
	// Position is where the node starts in the parsed text.
	Position() Pos
	node()
}

// Call is a function call Name(arg, …). An omitted argument, as in
// Replace([x], , "re", , "", , ), is an *Omitted node.
type Call struct {
	Name string
	Args []Node
	Pos  Pos
}

// Attr is a reference to a source attribute: [name].
type Attr struct {
	Name string
	Pos  Pos
}

// Str is a double-quoted string literal; Value is unescaped.
type Str struct {
	Value string
	Pos   Pos
}

// Num is a numeric literal as written: a decimal integer or fraction with an
// optional minus sign, or a VB hex literal such as &HF7 (Lit keeps the
// canonical upper-case spelling).
type Num struct {
	Lit string
	Pos Pos
}

// Ident is a bare identifier used as an enumeration value, such as
// vbBinaryCompare or vbTextCompare in InStr.
type Ident struct {
	Name string
	Pos  Pos
}

// Omitted is an argument left empty between commas.
type Omitted struct {
	Pos Pos
}

// Compare is a comparison inside an argument, such as [country]="USA".
// Op is one of = <> > >= < <=; comparisons do not chain and Entra has no
// AND or OR.
type Compare struct {
	Op   string
	L, R Node
	Pos  Pos
}

func (*Call) node()    {}
func (*Attr) node()    {}
func (*Str) node()     {}
func (*Num) node()     {}
func (*Ident) node()   {}
func (*Omitted) node() {}
func (*Compare) node() {}

// Position returns where the call's name starts.
func (n *Call) Position() Pos { return n.Pos }

// Position returns where the opening bracket is.
func (n *Attr) Position() Pos { return n.Pos }

// Position returns where the opening quote is.
func (n *Str) Position() Pos { return n.Pos }

// Position returns where the literal starts.
func (n *Num) Position() Pos { return n.Pos }

// Position returns where the identifier starts.
func (n *Ident) Position() Pos { return n.Pos }

// Position returns where the empty argument is.
func (n *Omitted) Position() Pos { return n.Pos }

// Position returns where the left operand starts.
func (n *Compare) Position() Pos { return n.Pos }

// String prints Name(arg, arg) with one space after each comma.
func (n *Call) String() string {
	var b strings.Builder
	b.WriteString(n.Name)
	b.WriteByte('(')
	for i, a := range n.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	b.WriteByte(')')
	return b.String()
}

// String prints [name].
func (n *Attr) String() string { return "[" + n.Name + "]" }

// String prints the literal in double quotes, escaping \ and ".
func (n *Str) String() string { return quote(n.Value) }

// String prints the literal as written (hex in upper case).
func (n *Num) String() string { return n.Lit }

// String prints the identifier.
func (n *Ident) String() string { return n.Name }

// String prints nothing: the argument is empty.
func (n *Omitted) String() string { return "" }

// String prints L op R with spaces around the operator.
func (n *Compare) String() string { return n.L.String() + " " + n.Op + " " + n.R.String() }

// quote prints s as an expression string literal.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		// Bytes, not runes, so invalid UTF-8 prints back unchanged.
		if s[i] == '\\' || s[i] == '"' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}
