package expr

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseCanonical(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{`Append([a],".x")`, `Append([a], ".x")`},
		{`Guid()`, `Guid()`},
		{`Replace([x], , "re", , "", , )`, `Replace([x], , "re", , "", , )`},
		{`Replace([x],,"re",,"",,)`, `Replace([x], , "re", , "", , )`},
		{`BitAnd(&hf, &HF7)`, `BitAnd(&HF, &HF7)`},
		{`DateAdd("d", -10, [x])`, `DateAdd("d", -10, [x])`},
		{`InStr("a","e",3,vbBinaryCompare)`, `InStr("a", "e", 3, vbBinaryCompare)`},
		{`IIF([country]="USA", [a], [b])`, `IIF([country] = "USA", [a], [b])`},
		{`IIF(DateDiff("d", [a], Now())>=5,"1","0")`, `IIF(DateDiff("d", [a], Now()) >= 5, "1", "0")`},
		{`CBool([a]<>[b])`, `CBool([a] <> [b])`},
		{`"a \"q\" \\ \d"`, `"a \"q\" \\ \\d"`},
		{"SelectUniqueValue(\n    Join(\"@\", [a], \"x\"),\n\t[b]\n)", `SelectUniqueValue(Join("@", [a], "x"), [b])`},
		{`[extension_abc_Attr 1]`, `[extension_abc_Attr 1]`},
		{`F()`, `F()`},
		{`F(,)`, `F(, )`},
		{`1.5`, `1.5`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			n, err := Parse(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, n.String())
			again, err := Parse(n.String())
			require.NoError(t, err)
			require.True(t, equalNode(n, again))
		})
	}
}

func TestParseStringUnescapes(t *testing.T) {
	t.Parallel()
	n, err := Parse(`"\\+(?<isdCode>\\d* )\"x\""`)
	require.NoError(t, err)
	require.Equal(t, `\+(?<isdCode>\d* )"x"`, n.(*Str).Value)
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{``, `expr: 1:1: empty expression`},
		{`   `, `expr: 1:4: empty expression`},
		{`Join("a", [b]`, `expr: 1:14: expected ")" to close Join( at 1:1, found end of expression`},
		{`Join("a" [b])`, `expr: 1:10: expected "," or ")" in Join(, found '['`},
		{`Join("a)`, `expr: 1:6: unterminated string`},
		{`[abc`, `expr: 1:1: expected "]" to close the attribute name`},
		{`[]`, `expr: 1:1: empty attribute name`},
		{"Join(\",\",\n  [a], ]", "expr: 2:8: expected a function, [attribute], string or number, found ']'"},
		{`Join("a") x`, `expr: 1:11: unexpected 'x' after the expression`},
		{`IIF([a]=[b]=[c], "1", "0")`, `expr: 1:5: comparisons do not chain; Entra has no AND or OR`},
		{`Left("a", 3x)`, `expr: 1:12: unexpected 'x' in a number`},
		{`BitAnd(&G, 1)`, `expr: 1:8: expected "&H" hex literal`},
		{`BitAnd(&H, 1)`, `expr: 1:8: expected 1 to 16 hex digits after &H`},
		{`Left("a", -)`, `expr: 1:11: expected a digit after "-"`},
		{`Zoë(1)`, `expr: 1:3: unexpected 'ë' after the expression`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tc.in)
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestParseLimits(t *testing.T) {
	t.Parallel()
	_, err := Parse(`"` + strings.Repeat("a", MaxLength) + `"`)
	require.EqualError(t, err, "expr: 1:1: expression is longer than the limit of 10000 characters")
	// The limit counts characters, as Entra's does, not bytes.
	_, err = Parse(`"` + strings.Repeat("é", MaxLength-2) + `"`)
	require.NoError(t, err)

	deep := strings.Repeat("ToLower(", MaxDepth+2) + "[a]" + strings.Repeat(")", MaxDepth+2)
	_, err = Parse(deep)
	require.ErrorContains(t, err, "nested deeper than 64")

	ok := strings.Repeat("ToLower(", MaxDepth) + "[a]" + strings.Repeat(")", MaxDepth)
	_, err = Parse(ok)
	require.NoError(t, err)
}

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{`Join(",", Jion("a", "b"))`, `expr: 1:11: unknown function "Jion"`},
		{`join(",", [a])`, `expr: 1:1: unknown function "join" (function names are case-sensitive: "Join")`},
		{`Left("a")`, `expr: 1:1: Left takes 2 arguments, got 1 (Left(String, NumChars))`},
		{`Join(",")`, `expr: 1:1: Join takes at least 2 arguments, got 1 (Join(separator, source1, …, sourceN))`},
		{`InStr("a")`, `expr: 1:1: InStr takes 2 to 4 arguments, got 1 (InStr(value1, value2, start, compareType))`},
		{`Switch([a], "d", "k")`, `expr: 1:1: Switch takes an even number of arguments, got 3 (Switch(source, defaultValue, key1, value1, …))`},
		{`Guid(1)`, `expr: 1:1: Guid takes 0 arguments, got 1 (Guid())`},
		{`InStr("a", "b", 1, vbFoo)`, `expr: 1:20: unknown identifier "vbFoo" (want vbBinaryCompare, vbTextCompare, True or False; strings need double quotes)`},
		{`InStr("a", "b", 1, 5)`, `expr: 1:20: InStr: compareType "5": want vbBinaryCompare or vbTextCompare`},
		{`Replace([a], , "(?<=@)\\w+", , "", , )`, "expr: 1:16: Replace: regexPattern \"(?<=@)\\\\w+\": error parsing regexp: invalid named capture: `(?<=@)\\w+` (lookahead and lookbehind are not supported)"},
		{`Replace([a], , , , "", , )`, `expr: 1:1: Replace: needs oldValue or regexPattern`},
		{`DateAdd("days", 1, [a])`, `expr: 1:9: DateAdd: unknown interval "days" (want yyyy, q, m, y, d, w, ww, h, n or s)`},
		{`RandomString(300, 1, 1, 1, 1)`, `expr: 1:14: RandomString: Length 300 is not between 1 and 256`},
		{`ToLower(SelectUniqueValue([a], [b]))`, `expr: 1:9: SelectUniqueValue must be the whole expression, not inside another function`},
		{`SelectUniqueValue([a])`, `expr: 1:1: SelectUniqueValue takes at least 2 arguments, got 1 (SelectUniqueValue(rule1, rule2, …, ruleN))`},
		{`[a] = Foo()`, `expr: 1:7: unknown function "Foo"`},
		{`Left([a], "3")`, ``},
		{`Left([a], "three")`, `expr: 1:11: Left: argument 2 must be an integer, not "three"`},
		{`Mid([a], 1.5, 2)`, `expr: 1:10: Mid: argument 2 must be an integer, not "1.5"`},
		{`BitAnd(&HF, "x")`, `expr: 1:13: BitAnd: argument 2 must be an integer, not "x"`},
		{`RandomString(8, 1, 1, 1, vbTextCompare, "x")`, ``},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			n, err := Parse(tc.in)
			require.NoError(t, err)
			if tc.want == "" {
				require.NoError(t, Check(n))
				return
			}
			require.EqualError(t, Check(n), tc.want)
		})
	}
	n, err := Parse(`SelectUniqueValue(Join("@", [a], "x"), [b])`)
	require.NoError(t, err)
	require.NoError(t, Check(n))
}

func TestFunctionsListed(t *testing.T) {
	t.Parallel()
	// The 43 functions of Microsoft's reference plus the three names
	// seen elsewhere (ENGINE-NOTES §3.2).
	require.Len(t, Functions(), 46)
	for _, f := range Functions() {
		require.NotEmpty(t, Signature(f), f)
	}
}

// equalNode compares two ASTs, ignoring positions.
func equalNode(a, b Node) bool {
	switch x := a.(type) {
	case *Call:
		y, ok := b.(*Call)
		if !ok || x.Name != y.Name || len(x.Args) != len(y.Args) {
			return false
		}
		for i := range x.Args {
			if !equalNode(x.Args[i], y.Args[i]) {
				return false
			}
		}
		return true
	case *Attr:
		y, ok := b.(*Attr)
		return ok && x.Name == y.Name
	case *Str:
		y, ok := b.(*Str)
		return ok && x.Value == y.Value
	case *Num:
		y, ok := b.(*Num)
		return ok && x.Lit == y.Lit
	case *Ident:
		y, ok := b.(*Ident)
		return ok && x.Name == y.Name
	case *Omitted:
		_, ok := b.(*Omitted)
		return ok
	case *Compare:
		y, ok := b.(*Compare)
		return ok && x.Op == y.Op && equalNode(x.L, y.L) && equalNode(x.R, y.R)
	}
	return false
}
