package expr

import (
	"fmt"
	"strconv"
	"strings"
)

// Check validates a parsed expression the way Entra does when a mapping is
// saved: known function names (case-sensitive), argument counts, known
// identifiers, and the arguments that can be checked statically — regular
// expressions that Go cannot compile (lookaround), DateAdd/DateDiff
// intervals, RandomString's length, InStr's compareType — and that
// SelectUniqueValue is the whole expression. It returns the first problem
// as an *Error.
func Check(n Node) error {
	if c, ok := n.(*Call); ok && c.Name == "SelectUniqueValue" {
		if err := checkCall(c); err != nil {
			return err
		}
		for _, a := range c.Args {
			if err := check(a); err != nil {
				return err
			}
		}
		return nil
	}
	return check(n)
}

func check(n Node) error {
	switch n := n.(type) {
	case *Ident:
		if _, ok := identValues[n.Name]; !ok {
			return &Error{Pos: n.Pos, Msg: fmt.Sprintf("unknown identifier %q (want vbBinaryCompare, vbTextCompare, True or False; strings need double quotes)", n.Name)}
		}
	case *Compare:
		if err := check(n.L); err != nil {
			return err
		}
		return check(n.R)
	case *Call:
		if n.Name == "SelectUniqueValue" {
			return &Error{Pos: n.Pos, Msg: "SelectUniqueValue must be the whole expression, not inside another function"}
		}
		if err := checkCall(n); err != nil {
			return err
		}
		for _, a := range n.Args {
			if err := check(a); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkCall(c *Call) error {
	f, ok := functions[c.Name]
	if !ok {
		msg := fmt.Sprintf("unknown function %q", c.Name)
		for name := range functions {
			if strings.EqualFold(name, c.Name) {
				msg += fmt.Sprintf(" (function names are case-sensitive: %q)", name)
			}
		}
		return &Error{Pos: c.Pos, Msg: msg}
	}
	if err := f.arity(len(c.Args)); err != nil {
		return &Error{Pos: c.Pos, Msg: c.Name + " " + err.Error()}
	}
	lit := func(i int) (string, Pos, bool) {
		if i >= len(c.Args) {
			return "", Pos{}, false
		}
		switch a := c.Args[i].(type) {
		case *Str:
			return a.Value, a.Pos, true
		case *Num:
			return numValue(a.Lit), a.Pos, true
		case *Ident:
			v, ok := identValues[a.Name]
			return v, a.Pos, ok
		}
		return "", Pos{}, false
	}
	bad := func(p Pos, format string, args ...any) error {
		return &Error{Pos: p, Msg: c.Name + ": " + fmt.Sprintf(format, args...)}
	}
	for _, i := range intArgs[c.Name] {
		if v, pos, ok := lit(i); ok {
			if _, err := strconv.Atoi(strings.TrimSpace(v)); err != nil {
				return bad(pos, "argument %d must be an integer, not %q", i+1, v)
			}
		}
	}
	switch c.Name {
	case "Replace":
		_, oldOmitted := c.Args[1].(*Omitted)
		_, reOmitted := c.Args[2].(*Omitted)
		if oldOmitted && reOmitted {
			return bad(c.Pos, "needs oldValue or regexPattern")
		}
		if p, pos, ok := lit(2); ok {
			if _, err := compileRegex(p); err != nil {
				return bad(pos, "%v", err)
			}
		}
	case "DateAdd", "DateDiff":
		if iv, pos, ok := lit(0); ok {
			if _, err := dateAdd(iv, 0, epochForCheck); err != nil {
				return bad(pos, "%v", err)
			}
		}
	case "RandomString":
		if l, pos, ok := lit(0); ok {
			if n, err := strconv.Atoi(l); err != nil || n < 1 || n > MaxRandomString {
				return bad(pos, "Length %s is not between 1 and %d", l, MaxRandomString)
			}
		}
	case "InStr":
		if ct, pos, ok := lit(3); ok && ct != "0" && ct != "1" {
			return bad(pos, "compareType %q: want vbBinaryCompare or vbTextCompare", ct)
		}
	}
	return nil
}

// intArgs are the 0-based positions of arguments that must be integers,
// checked when they are literals.
var intArgs = map[string][]int{
	"BitAnd":       {0, 1},
	"DateAdd":      {1},
	"DateFromNum":  {0},
	"InStr":        {2},
	"Item":         {1},
	"Left":         {1},
	"Mid":          {1, 2},
	"RandomString": {0, 1, 2, 3, 4},
	"Word":         {1},
}
