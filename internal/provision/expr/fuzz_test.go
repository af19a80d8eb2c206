package expr

import (
	"testing"

	"github.com/stretchr/testify/require"
)

var fuzzSeeds = []string{
	`Append([userPrincipalName], ".test")`,
	`BitAnd(&HF, &HF7)`,
	`Replace([x], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", , "${phoneNumber}", , )`,
	`IIF([country]="USA", [a], "b")`,
	`InStr("repEated","e",3,vbBinaryCompare)`,
	`FormatDateTime([x], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")`,
	`DateDiff("ww", "8/25/2021 5:41:18 PM", "2012-03-16-07:00")`,
	`Switch([s], , "a", "b", "c", "d")`,
	`SelectUniqueValue(Join("@", [a], "x"), [b])`,
	`Mid([a], 2, -1)`,
	`Word("a,b", 2, ",")`,
	`RandomString(8, 1, 1, 1, 1, "x")`,
	`DateFromNum(-1)`,
	`"a\"b\\c"`,
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		n, err := Parse(src)
		if err != nil {
			return
		}
		_ = Check(n)
		printed := n.String()
		again, err := Parse(printed)
		require.NoError(t, err, "canonical form %q of %q does not parse", printed, src)
		require.True(t, equalNode(n, again), "%q → %q parses to a different tree", src, printed)
		require.Equal(t, printed, again.String())
	})
}

func FuzzEval(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "Ada", "x,y")
	}
	f.Fuzz(func(t *testing.T, src, a, b string) {
		n, err := Parse(src)
		if err != nil {
			return
		}
		obj := MapObject{"a": a, "b": []any{a, b}, "x": b, "s": a, "userPrincipalName": a, "country": b}
		_, _ = Eval(n, obj)
	})
}
