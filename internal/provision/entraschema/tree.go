package entraschema

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/provision/expr"
)

// Tree returns the attributeMappingSource tree of a parsed expression, as
// Entra's schema stores it: an [attribute] is an Attribute, a literal a
// Constant (numbers too: Entra shows Mid([x], 1, 8)'s 1 as the constant
// "1"), a call a Function whose parameters are its arguments in order,
// keyed by the names of the function reference. An omitted argument has no
// parameter, as in Entra's own Replace trees. Every node carries its
// expression text.
//
// A comparison inside an argument (IIF([c]="US", …)) has no documented
// tree form; its node is a Function with no name and the comparison's
// text, and the returned warning says so.
func Tree(n expr.Node) (*Source, []string) {
	var warns []string
	src := tree(n, &warns)
	return src, warns
}

func tree(n expr.Node, warns *[]string) *Source {
	switch n := n.(type) {
	case *expr.Attr:
		return &Source{Type: TypeAttribute, Name: n.Name, Expression: n.String(), Parameters: []Parameter{}}
	case *expr.Str:
		return &Source{Type: TypeConstant, Name: n.Value, Expression: n.String(), Parameters: []Parameter{}}
	case *expr.Num:
		return &Source{Type: TypeConstant, Name: n.Lit, Expression: strconv.Quote(n.Lit), Parameters: []Parameter{}}
	case *expr.Ident:
		return &Source{Type: TypeConstant, Name: n.Name, Expression: n.Name, Parameters: []Parameter{}}
	case *expr.Call:
		s := &Source{Type: TypeFunction, Name: n.Name, Expression: n.String(), Parameters: []Parameter{}}
		for i, a := range n.Args {
			if _, omitted := a.(*expr.Omitted); omitted {
				continue
			}
			s.Parameters = append(s.Parameters, Parameter{Key: paramKey(n.Name, i), Value: tree(a, warns)})
		}
		return s
	case *expr.Compare:
		*warns = append(*warns, fmt.Sprintf("the comparison %s has no documented Entra tree form; its node carries the expression text only", n))
		return &Source{Type: TypeFunction, Expression: n.String(), Parameters: []Parameter{}}
	}
	// Omitted is handled by the caller; nothing else is a Node.
	return &Source{Type: TypeConstant, Expression: n.String(), Parameters: []Parameter{}}
}

// paramKey names argument i of a call to fn: the name in the function
// reference's signature ("Append(source, suffix)"), numbered for the
// repeated arguments of Join, Coalesce, Switch and SelectUniqueValue, and
// "source" for an [appRoleAssignments] argument (Entra's own key for
// SingleAppRoleAssignment and AssertiveAppRoleAssignmentsComplex).
func paramKey(fn string, i int) string {
	switch fn {
	case "Join":
		if i == 0 {
			return "separator"
		}
		return "source" + strconv.Itoa(i)
	case "Coalesce":
		return "source" + strconv.Itoa(i+1)
	case "SelectUniqueValue":
		return "rule" + strconv.Itoa(i+1)
	case "Switch":
		switch {
		case i == 0:
			return "source"
		case i == 1:
			return "defaultValue"
		case i%2 == 0:
			return "key" + strconv.Itoa(i/2)
		default:
			return "value" + strconv.Itoa(i/2)
		}
	}
	names := signatureNames(fn)
	if i < len(names) {
		if strings.HasPrefix(names[i], "[") {
			return "source"
		}
		return names[i]
	}
	return "arg" + strconv.Itoa(i+1)
}

// signatureNames returns the parameter names of expr.Signature(fn).
func signatureNames(fn string) []string {
	sig := expr.Signature(fn)
	open, closing := strings.IndexByte(sig, '('), strings.LastIndexByte(sig, ')')
	if open < 0 || closing <= open+1 {
		return nil
	}
	return strings.Split(sig[open+1:closing], ", ")
}

// paramIndex is the argument position of a parameter key of fn, found by
// comparing it, without regard to case, with the keys paramKey gives.
func paramIndex(fn, key string, limit int) (int, bool) {
	for i := 0; i < limit; i++ {
		if strings.EqualFold(paramKey(fn, i), key) {
			return i, true
		}
	}
	return 0, false
}

// maxArgs bounds the argument positions a tree's keys may place, so that a
// key like "source9999" cannot make a call with thousands of empty
// arguments.
const maxArgs = 64

// Expression returns the expression a tree stands for. Parameters whose
// keys all name positions of the function (as Tree writes them) are placed
// there, leaving omitted arguments between them; otherwise they are taken
// in order. A node with a comparison's text and no name (as Tree writes
// one) is parsed from its text.
func Expression(s *Source) (expr.Node, error) { return node(s, 0) }

func node(s *Source, depth int) (expr.Node, error) {
	if s == nil {
		return nil, errors.New("a source or parameter value is null")
	}
	if depth > expr.MaxDepth {
		return nil, fmt.Errorf("source nested deeper than %d", expr.MaxDepth)
	}
	switch typ := s.Type; {
	case typ == "" || strings.EqualFold(typ, TypeAttribute):
		if s.Name == "" {
			return nil, errors.New("an Attribute source has no name")
		}
		if strings.ContainsAny(s.Name, "[]") {
			return nil, fmt.Errorf("attribute name %q: brackets cannot be written in an expression", s.Name)
		}
		return &expr.Attr{Name: s.Name}, nil
	case strings.EqualFold(typ, TypeConstant):
		return &expr.Str{Value: s.Name}, nil
	case strings.EqualFold(typ, TypeFunction):
		if s.Name == "" {
			if s.Expression == "" {
				return nil, errors.New("a Function source has no name")
			}
			n, err := expr.Parse(s.Expression)
			if err != nil {
				return nil, fmt.Errorf("expression %q: %v", s.Expression, err)
			}
			if _, ok := n.(*expr.Compare); !ok {
				return nil, fmt.Errorf("a Function source has no name, and its expression %q is not a comparison", s.Expression)
			}
			return n, nil
		}
		args := make([]expr.Node, len(s.Parameters))
		for i, p := range s.Parameters {
			a, err := node(p.Value, depth+1)
			if err != nil {
				return nil, fmt.Errorf("%s parameter %q: %w", s.Name, p.Key, err)
			}
			args[i] = a
		}
		return &expr.Call{Name: s.Name, Args: place(s.Name, s.Parameters, args)}, nil
	default:
		return nil, fmt.Errorf("source type %q: use %s, %s or %s", s.Type, TypeAttribute, TypeConstant, TypeFunction)
	}
}

// place puts args at the positions their keys name, with omitted arguments
// in the gaps, when every key names a distinct position; else in order.
func place(fn string, ps []Parameter, args []expr.Node) []expr.Node {
	at := make(map[int]expr.Node, len(ps))
	last := -1
	for i, p := range ps {
		pos, ok := paramIndex(fn, p.Key, maxArgs)
		if _, taken := at[pos]; !ok || taken {
			return args
		}
		at[pos] = args[i]
		last = max(last, pos)
	}
	out := make([]expr.Node, last+1)
	for i := range out {
		if a, ok := at[i]; ok {
			out[i] = a
		} else {
			out[i] = &expr.Omitted{}
		}
	}
	// Replace takes all seven arguments, omitted ones included; Entra's
	// trees leave the trailing ones out.
	if fn == "Replace" {
		for len(out) < 7 {
			out = append(out, &expr.Omitted{})
		}
	}
	return out
}

// sameTree reports whether a parsed expression and a tree say the same
// thing: the same calls, attributes and constants, literals compared by
// their text (Entra stores the number 8 as the constant "8") and omitted
// arguments left out (Entra's trees have no parameter for them).
func sameTree(n expr.Node, s *Source) bool {
	t, err := Expression(s)
	return err == nil && shape(n) == shape(t)
}

// shape prints a node with literals as quoted text and no omitted
// arguments.
func shape(n expr.Node) string {
	switch n := n.(type) {
	case *expr.Str:
		return strconv.Quote(n.Value)
	case *expr.Num:
		return strconv.Quote(n.Lit)
	case *expr.Ident:
		return strconv.Quote(n.Name)
	case *expr.Attr:
		return "[" + n.Name + "]"
	case *expr.Compare:
		return shape(n.L) + n.Op + shape(n.R)
	case *expr.Call:
		var b strings.Builder
		b.WriteString(n.Name + "(")
		first := true
		for _, a := range n.Args {
			if _, omitted := a.(*expr.Omitted); omitted {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			b.WriteString(shape(a))
		}
		b.WriteByte(')')
		return b.String()
	}
	return ""
}

// Shape prints a node as sameTree compares it: literals as quoted text,
// omitted arguments left out. Two nodes with the same shape mean the same
// to Entra's tree.
func Shape(n expr.Node) string { return shape(n) }
