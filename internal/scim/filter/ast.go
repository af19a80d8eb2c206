// Package filter implements the SCIM filter language of RFC 7644 §3.4.2.2:
// a parser to an AST, validation of an AST against a resource type, an
// in-memory evaluator, and canonical printing. The same AST is translated to
// SQL by package store/sqlfilter.
//
// A filter such as
//
//	userName sw "j" and emails[type eq "work" and value co "@example.com"]
//
// parses to
//
//	And
//	├── Compare{userName sw "j"}
//	└── ValuePath{emails}
//	    └── And
//	        ├── Compare{type eq "work"}
//	        └── Compare{value co "@example.com"}
//
// Inside a ValuePath, paths are relative to the element: Compare.Path.Name is
// the sub-attribute ("type"), and URI and Sub are empty.
package filter

// Expr is a node of a filter AST: *Compare, *And, *Or, *Not or *ValuePath.
type Expr interface {
	// String prints the expression in canonical form; parsing the result
	// yields an equal AST.
	String() string
	expr()
}

// AttrPath is an attribute path, per the attrPath rule of RFC 7644 §3.4.2.2:
// an optional schema URN, an attribute name and an optional sub-attribute.
type AttrPath struct {
	URI  string // schema URN, e.g. "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"; "" if absent
	Name string // attribute name as written, e.g. "name"
	Sub  string // sub-attribute as written, e.g. "givenName"; "" if absent
}

// Op is a comparison operator, per RFC 7644 §3.4.2.2 Table 3.
type Op string

// The comparison operators of RFC 7644 §3.4.2.2.
const (
	Eq Op = "eq"
	Ne Op = "ne"
	Co Op = "co"
	Sw Op = "sw"
	Ew Op = "ew"
	Pr Op = "pr"
	Gt Op = "gt"
	Ge Op = "ge"
	Lt Op = "lt"
	Le Op = "le"
)

// Kind is the JSON kind of a comparison value.
type Kind int

// The kinds of comparison values of RFC 7644 §3.4.2.2 (compValue rule).
const (
	KindString Kind = iota // a quoted string; also dateTime and binary literals
	KindNumber             // a JSON number
	KindBool               // true or false
	KindNull               // null
)

// Value is the right-hand side of a comparison.
type Value struct {
	Kind Kind
	Str  string  // KindString: the unquoted string; KindNumber: the literal as written
	Num  float64 // KindNumber
	Bool bool    // KindBool
}

// Compare is a comparison "attrPath op value", or "attrPath pr" with a zero Value.
type Compare struct {
	Path  AttrPath
	Op    Op
	Value Value
}

// And is the logical conjunction of two filters.
type And struct{ Left, Right Expr }

// Or is the logical disjunction of two filters.
type Or struct{ Left, Right Expr }

// Not is the negation of a filter: "not (filter)".
type Not struct{ X Expr }

// ValuePath selects elements of a multi-valued complex attribute that match
// Filter: "emails[type eq "work"]". Path.Sub is always empty.
//
// Entra ID's form "emails[type eq "work"].value eq "x"" parses to the
// equivalent ValuePath{emails, And(type eq "work", value eq "x")}.
type ValuePath struct {
	Path   AttrPath
	Filter Expr
}

func (*Compare) expr()   {}
func (*And) expr()       {}
func (*Or) expr()        {}
func (*Not) expr()       {}
func (*ValuePath) expr() {}

// Path is a PATCH operation path, per the PATH rule of RFC 7644 §3.5.2:
//
//	PATH = attrPath / valuePath [subAttr]
//
// "members" is {Attr: members}; "emails[type eq "work"].value" is
// {Attr: emails, Filter: type eq "work", Sub: "value"}; "name.givenName" is
// {Attr: {Name: name, Sub: givenName}}.
type Path struct {
	Attr   AttrPath
	Filter Expr   // nil unless the path has a value filter
	Sub    string // sub-attribute after the value filter; "" if absent
}
