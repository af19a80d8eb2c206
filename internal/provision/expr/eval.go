package expr

import (
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// MaxValueLength is the largest value, in bytes over all its strings, that
// a function may return. Without it, nested Join or Replace calls in a
// 10,000-character expression could double a value 64 times.
const MaxValueLength = 1 << 20

var errTooLong = fmt.Errorf("result is longer than %d bytes", MaxValueLength)

// UniqueChecker tells SelectUniqueValue whether a candidate value is free in
// the target (for a SCIM target: a userName eq lookup).
type UniqueChecker interface {
	IsUnique(value string) (bool, error)
}

// ErrNoUniqueValue is returned by SelectUniqueValue when every candidate is
// taken; Entra escrows the object in that case.
var ErrNoUniqueValue = errors.New("SelectUniqueValue: every candidate value is already taken")

// Env holds what evaluation needs beyond the source object. The zero Env
// uses the wall clock, crypto/rand, no uniqueness check (every candidate is
// unique) and no default domain.
type Env struct {
	// Now returns the current time for Now(); nil means time.Now.
	Now func() time.Time
	// Rand supplies random bytes for Guid and RandomString; nil means crypto/rand.
	Rand io.Reader
	// Unique checks SelectUniqueValue candidates; nil accepts the first.
	Unique UniqueChecker
	// DefaultDomain is DefaultDomain()'s value: the tenant's default
	// verified domain. Empty means null.
	DefaultDomain string
}

// EvalError is an evaluation error in a function call, with the call's position.
type EvalError struct {
	Pos  Pos
	Func string
	Err  error
}

// Error formats the error as "expr: line:col: Func: message".
func (e *EvalError) Error() string {
	return fmt.Sprintf("expr: %d:%d: %s: %v", e.Pos.Line, e.Pos.Col, e.Func, e.Err)
}

// Unwrap returns the underlying error.
func (e *EvalError) Unwrap() error { return e.Err }

// Eval evaluates n against obj with the zero Env.
func Eval(n Node, obj Object) (Value, error) { return Env{}.Eval(n, obj) }

// Eval evaluates n against obj. Run Check first: Eval reports unknown
// functions and bad argument counts too, but only when it reaches them.
func (e Env) Eval(n Node, obj Object) (Value, error) {
	if obj == nil {
		obj = MapObject(nil)
	}
	return (&evaluator{env: e, obj: obj}).eval(n)
}

type evaluator struct {
	env Env
	obj Object
}

func (ev *evaluator) eval(n Node) (Value, error) {
	switch n := n.(type) {
	case *Attr:
		v, _ := ev.obj.Attribute(n.Name)
		return v, nil
	case *Str:
		return String(n.Value), nil
	case *Num:
		return String(numValue(n.Lit)), nil
	case *Ident:
		if v, ok := identValues[n.Name]; ok {
			return String(v), nil
		}
		return Value{}, &EvalError{Pos: n.Pos, Func: n.Name, Err: errors.New("unknown identifier")}
	case *Omitted:
		return Null(), nil
	case *Compare:
		l, err := ev.eval(n.L)
		if err != nil {
			return Value{}, err
		}
		r, err := ev.eval(n.R)
		if err != nil {
			return Value{}, err
		}
		return Bool(compare(n.Op, l, r)), nil
	case *Call:
		f, ok := functions[n.Name]
		if !ok {
			return Value{}, &EvalError{Pos: n.Pos, Func: n.Name, Err: errors.New("unknown function")}
		}
		if err := f.arity(len(n.Args)); err != nil {
			return Value{}, &EvalError{Pos: n.Pos, Func: n.Name, Err: err}
		}
		a := args{nodes: n.Args, vals: make([]Value, len(n.Args))}
		for i, an := range n.Args {
			v, err := ev.eval(an)
			if err != nil {
				return Value{}, err
			}
			a.vals[i] = v
		}
		v, err := f.call(ev, a)
		if err == nil && v.size() > MaxValueLength {
			err = errTooLong
		}
		if err != nil {
			var ee *EvalError
			if errors.As(err, &ee) {
				return Value{}, err
			}
			return Value{}, &EvalError{Pos: n.Pos, Func: n.Name, Err: err}
		}
		return v, nil
	}
	return Value{}, fmt.Errorf("expr: unknown node %T", n)
}

// identValues are the bare identifiers Entra's examples use.
var identValues = map[string]string{
	"vbBinaryCompare": "0",
	"vbTextCompare":   "1",
	"True":            "True",
	"False":           "False",
}

// numValue turns a literal into the string the functions see: hex in decimal.
func numValue(lit string) string {
	if strings.HasPrefix(lit, "&H") {
		u, err := strconv.ParseUint(lit[2:], 16, 64)
		if err != nil {
			return lit
		}
		return strconv.FormatInt(int64(u), 10)
	}
	return lit
}

// compare implements = <> > >= < <=: numerically when both sides are
// numbers, else by ordinal, case-sensitive string order. A null or empty
// side fails the check ("If the source attribute used within the IIF
// function is empty or null, the condition check fails").
func compare(op string, l, r Value) bool {
	if l.IsNull() || r.IsNull() || l.Str() == "" || r.Str() == "" {
		return false
	}
	a, b := l.Str(), r.Str()
	c := strings.Compare(a, b)
	x, errx := strconv.ParseFloat(a, 64)
	y, erry := strconv.ParseFloat(b, 64)
	if errx == nil && erry == nil && !math.IsNaN(x) && !math.IsNaN(y) {
		switch {
		case x < y:
			c = -1
		case x > y:
			c = 1
		default:
			c = 0
		}
	}
	switch op {
	case "=":
		return c == 0
	case "<>":
		return c != 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "<":
		return c < 0
	default:
		return c <= 0
	}
}

// args are a call's evaluated arguments, with their nodes so a function can
// tell an omitted argument from a null one.
type args struct {
	nodes []Node
	vals  []Value
}

func (a args) n() int { return len(a.vals) }

func (a args) omitted(i int) bool {
	if i >= len(a.nodes) {
		return true
	}
	_, ok := a.nodes[i].(*Omitted)
	return ok
}

func (a args) v(i int) Value {
	if i >= len(a.vals) {
		return Null()
	}
	return a.vals[i]
}

func (a args) s(i int) string { return a.v(i).Str() }

// int reads argument i as an integer; name is used in the error.
func (a args) int(i int, name string) (int, error) {
	s := strings.TrimSpace(a.s(i))
	n, err := strconv.Atoi(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int(f)) {
			return 0, fmt.Errorf("%s: %q is not an integer", name, s)
		}
		n = int(f)
	}
	return n, nil
}

func (ev *evaluator) now() time.Time {
	if ev.env.Now != nil {
		return ev.env.Now()
	}
	return time.Now()
}

func (ev *evaluator) randIntn(n int) (int, error) {
	r := ev.env.Rand
	if r == nil {
		r = crand.Reader
	}
	v, err := crand.Int(r, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("random: %w", err)
	}
	return int(v.Int64()), nil
}

func (ev *evaluator) randBytes(b []byte) error {
	r := ev.env.Rand
	if r == nil {
		r = crand.Reader
	}
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("random: %w", err)
	}
	return nil
}
