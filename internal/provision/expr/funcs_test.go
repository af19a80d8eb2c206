package expr

import (
	"errors"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestFunctions covers each function's nulls, multi-valued inputs and edge
// cases; golden_test.go holds the doc's own examples.
func TestFunctions(t *testing.T) {
	t.Parallel()
	obj := MapObject{
		"null":   nil,
		"empty":  "",
		"name":   "Ada",
		"emails": []any{"a@x.org", "b@x.org", "a@x.org"},
		"one":    []any{"solo"},
		"none":   []any{},
		"num":    42.0,
		"yes":    true,
	}
	for _, tc := range []struct {
		name, expr string
		want       any
	}{
		{"AppendNull", `Append([null], "x")`, nil},
		{"AppendAbsent", `Append([missing], "x")`, nil},
		{"AppendMulti", `Append([emails], "!")`, []string{"a@x.org!", "b@x.org!", "a@x.org!"}},
		{"AppendNullSuffix", `Append([name], [null])`, "Ada"},
		{"BitAndDecimal", `BitAnd(12, 10)`, "8"},
		{"CBoolCompare", `CBool([name] = "Ada")`, "True"},
		{"CBoolNumber", `CBool(0)`, "False"},
		{"CBoolNonZero", `CBool(-2)`, "True"},
		{"CBoolNull", `CBool([null])`, "False"},
		{"CDateNull", `CDate([null])`, nil},
		{"CDateUTC", `CDate("2024-02-29T23:59:59Z")`, "2/29/2024 11:59:59 PM"},
		{"CoalesceAllNull", `Coalesce([null], [missing])`, nil},
		{"CoalesceDefault", `Coalesce([null], [missing], "def")`, "def"},
		{"CoalesceKeepsEmpty", `Coalesce([empty], "def")`, ""},
		{"CoalesceMulti", `Coalesce([none], [emails])`, []string{"a@x.org", "b@x.org", "a@x.org"}},
		{"Base64Unicode", `ConvertToBase64("é")`, "6QA="},
		{"Base64Null", `ConvertToBase64([null])`, nil},
		{"HexUTF8", `ConvertToUTF8Hex("é")`, "C3A9"},
		{"CountMulti", `Count([emails])`, "3"},
		{"CountSingle", `Count([name])`, "1"},
		{"CountNull", `Count([null])`, "0"},
		{"CountEmptyList", `Count([none])`, "0"},
		{"CStrNumber", `CStr([num])`, "42"},
		{"CStrBool", `CStr([yes])`, "True"},
		{"CStrNull", `CStr([null])`, nil},
		{"DateAddNull", `DateAdd("d", 1, [null])`, nil},
		{"DateAddMonthEnd", `DateAdd("m", 1, "2024-01-31")`, "3/2/2024 12:00:00 AM"},
		{"DateAddHours", `DateAdd("h", 25, "2024-01-01")`, "1/2/2024 1:00:00 AM"},
		{"DateDiffBoundary", `DateDiff("m", "2024-01-31", "2024-02-01")`, "1"},
		{"DateDiffYearBoundary", `DateDiff("yyyy", "2023-12-31T23:59:59Z", "2024-01-01T00:00:00Z")`, "1"},
		{"DateDiffNull", `DateDiff("d", [null], "2024-01-01")`, nil},
		{"DateFromNumNull", `DateFromNum([null])`, nil},
		{"DefaultDomainUnset", `DefaultDomain()`, nil},
		{"FormatDateTimeThreeArgs", `FormatDateTime("20240102", "yyyyMMdd", "dd.MM.yyyy")`, "02.01.2024"},
		{"FormatDateTimeNames", `FormatDateTime("2024-03-05 14:07:09", , "yyyy-MM-dd HH:mm:ss", "dddd, MMMM d yyyy h:mm tt")`, "Tuesday, March 5 2024 2:07 PM"},
		{"FormatDateTimeOffset", `FormatDateTime("2020-12-31-08:00", , "yyyy-MM-ddzzz", "yyyy-MM-ddTHH:mm:sszzz")`, "2020-12-31T00:00:00-08:00"},
		{"FormatDateTimeNull", `FormatDateTime([null], , "yyyy", "yyyy")`, nil},
		{"IgnoreFlowKeepsValue", `IgnoreFlowIfNullOrEmpty([name])`, "Ada"},
		{"IIFTrue", `IIF([name] = "Ada", "yes", "no")`, "yes"},
		{"IIFCaseSensitive", `IIF([name] = "ada", "yes", "no")`, "no"},
		{"IIFNullFails", `IIF([null] <> "x", "yes", "no")`, "no"},
		{"IIFNumeric", `IIF([num] > 9, "big", "small")`, "big"},
		{"IIFStringOrder", `IIF("b" > "a", "yes", "no")`, "yes"},
		{"IIFBoolString", `IIF("true", "yes", "no")`, "yes"},
		{"InStrAbsent", `InStr("abc", "z")`, "0"},
		{"InStrText", `InStr("repEated", "e", 3, vbTextCompare)`, "4"},
		{"InStrStartPastEnd", `InStr("abc", "c", 9)`, "0"},
		{"InStrNull", `InStr([null], "c")`, nil},
		{"IsNull", `IsNull([null])`, "True"},
		{"IsNullAbsent", `IsNull([missing])`, "True"},
		{"IsNullEmptyList", `IsNull([none])`, "True"},
		{"IsNullEmpty", `IsNull([empty])`, "False"},
		{"IsNullOrEmpty", `IsNullOrEmpty([empty])`, "True"},
		{"IsPresent", `IsPresent([name])`, "True"},
		{"IsPresentEmpty", `IsPresent([empty])`, "False"},
		{"IsString", `IsString([name])`, "True"},
		{"IsStringMulti", `IsString([emails])`, "False"},
		{"IsStringNull", `IsString([null])`, "False"},
		{"Item", `Item([emails], 2)`, "b@x.org"},
		{"ItemZero", `Item([emails], 0)`, nil},
		{"ItemPastEnd", `Item([emails], 4)`, nil},
		{"JoinMulti", `Join(";", [emails], [name])`, "a@x.org;b@x.org;a@x.org;Ada"},
		{"JoinNulls", `Join(";", [null], [missing])`, ""},
		{"JoinNumber", `Join("", 1000, "x")`, "1000x"},
		{"LeftZero", `Left("abc", 0)`, ""},
		{"LeftNegative", `Left("abc", -1)`, "abc"},
		{"LeftLong", `Left("abc", 9)`, "abc"},
		{"LeftNull", `Left([null], 2)`, ""},
		{"LeftRunes", `Left("Zoë!", 3)`, "Zoë"},
		{"MidPastEnd", `Mid("abc", 2, 9)`, "bc"},
		{"MidStartPastEnd", `Mid("abc", 5, 1)`, ""},
		{"MidHuge", `Mid("abc", 2, 9223372036854775807)`, "bc"},
		{"MidNull", `Mid([null], 1, 1)`, nil},
		{"NormalizeTable", `NormalizeDiacritics("Æsa Øre Straße Łódź ıi Ñ")`, "AEsa OEre Strasse Lodz ii N"},
		{"NormalizeNull", `NormalizeDiacritics([null])`, nil},
		{"NotTrue", `Not("True")`, "False"},
		{"NotBool", `Not([yes])`, "False"},
		{"NotNull", `Not([null])`, "True"},
		{"NumFromDateNull", `NumFromDate([null])`, nil},
		{"NumFromDateEpoch", `NumFromDate("1601-01-01T00:00:00Z")`, "0"},
		{"PCaseDigits", `PCase("o'NEIL mcdonald-jones 3RD")`, "O'neil Mcdonald-Jones 3rd"},
		{"PCaseNull", `PCase([null])`, nil},
		{"Redact", `Redact([name])`, "Ada"},
		{"RemoveDuplicates", `RemoveDuplicates([emails])`, []string{"a@x.org", "b@x.org"}},
		{"RemoveDuplicatesSingle", `RemoveDuplicates([name])`, "Ada"},
		{"ReplaceNull", `Replace([null], "a", , , "b", , )`, nil},
		{"ReplaceMulti", `Replace([emails], "@x.org", , , "@y.org", , )`, []string{"a@y.org", "b@y.org", "a@y.org"}},
		{"ReplaceRegexNumbered", `Replace("John Smith", , "(\\w+) (\\w+)", , "$2, $1", , )`, "Smith, John"},
		{"ReplaceFallbackUnused", `Replace("+1 5551234567", , "\\+(?<c>\\d* )(?<p>\\d{10})", "p", , [name], )`, "5551234567"},
		{"ReplaceGroupNoMatch", `Replace("abc", , "(?<d>\\d+)", "d", "X", , )`, "abc"},
		{"SplitNull", `Split([null], ",")`, nil},
		{"SplitSingle", `Split("a", ",")`, []string{"a"}},
		{"StripSpaces", `StripSpaces(" a b ")`, "ab"},
		{"SwitchNullMatchesEmptyKey", `Switch([null], "d", "", "empty")`, "empty"},
		{"SwitchDefaultOmitted", `Switch([name], , "x", "y")`, nil},
		{"SwitchCaseSensitive", `Switch([name], "d", "ada", "lower", "Ada", "exact")`, "exact"},
		{"ToLowerTurkish", `ToLower("İSTANBUL", "tr-TR")`, "istanbul"},
		{"ToUpperTurkish", `ToUpper("istanbul", "tr-TR")`, "İSTANBUL"},
		{"ToUpperInvariant", `ToUpper("istanbul", "en-US")`, "ISTANBUL"},
		{"ToLowerMulti", `ToLower([emails])`, []string{"a@x.org", "b@x.org", "a@x.org"}},
		{"WordZero", `Word("a b", 0, " ")`, ""},
		{"WordTooFew", `Word("a b", 3, " ")`, ""},
		{"WordNull", `Word([null], 1, " ")`, ""},
		{"WordRepeatedDelimiters", `Word("a  b", 2, " ")`, "b"},
		{"SingleAppRoleAssignment", `SingleAppRoleAssignment([emails])`, "a@x.org"},
		{"AppRoleAssignmentsComplex", `AppRoleAssignmentsComplex([one])`, []string{"solo"}},
		{"SelectUniqueValueNoChecker", `SelectUniqueValue([null], [name], "b")`, "Ada"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, run(t, tc.expr, obj).JSON())
		})
	}
}

func TestEvalErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ expr, want string }{
		{`Left("a", "x")`, `expr: 1:1: Left: NumChars: "x" is not an integer`},
		{`CDate("yesterday")`, `expr: 1:1: CDate: "yesterday" is not a date`},
		{`CBool("maybe")`, `expr: 1:1: CBool: "maybe" is neither a boolean nor a number`},
		{`Mid("abc", 0, 1)`, `expr: 1:1: Mid: start 0 is less than 1 (Mid is 1-based)`},
		{`DateDiff([i], "2024-01-01", "2024-01-02")`, `expr: 1:1: DateDiff: unknown interval "x" (want yyyy, q, m, y, d, w, ww, h, n or s)`},
		{`Replace("a", , [re], , "", , )`, "expr: 1:1: Replace: regexPattern \"(?=x)\": error parsing regexp: invalid or unsupported Perl syntax: `(?=` (lookahead and lookbehind are not supported)"},
		{`Replace("a", , "(?<g>a)", "h", "", , )`, `expr: 1:1: Replace: regexGroupName "h" is not a group of "(?<g>a)"`},
		{`RandomString(4, 2, 2, 2, 0)`, `expr: 1:1: RandomString: the minimums add up to 6, more than the length 4`},
		{`RandomString(4, 1, 0, 0, 0, "0123456789")`, `expr: 1:1: RandomString: CharactersToAvoid removes a whole required character class`},
		{`FormatDateTime("2024", , "yyyyMM", "yyyy")`, `expr: 1:1: FormatDateTime: "2024" does not match "yyyyMM" at byte 4`},
		{`ToLower(Left("a", "b"))`, `expr: 1:9: Left: NumChars: "b" is not an integer`},
		{`Nope()`, `expr: 1:1: Nope: unknown function`},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			t.Parallel()
			n, err := Parse(tc.expr)
			require.NoError(t, err)
			_, err = Eval(n, MapObject{"i": "x", "re": "(?=x)"})
			require.EqualError(t, err, tc.want)
		})
	}
}

type takenSet map[string]bool

func (s takenSet) IsUnique(v string) (bool, error) {
	if v == "boom" {
		return false, errors.New("target unreachable")
	}
	return !s[v], nil
}

func TestSelectUniqueValue(t *testing.T) {
	t.Parallel()
	n, err := Parse(`SelectUniqueValue(Join("@", [g], "x.org"), Join("@", Join(".", [g], [s]), "x.org"), Join("@", "boom"))`)
	require.NoError(t, err)
	obj := MapObject{"g": "ada", "s": "lovelace"}

	v, err := Env{Unique: takenSet{}}.Eval(n, obj)
	require.NoError(t, err)
	require.Equal(t, "ada@x.org", v.Str())

	v, err = Env{Unique: takenSet{"ada@x.org": true}}.Eval(n, obj)
	require.NoError(t, err)
	require.Equal(t, "ada.lovelace@x.org", v.Str())

	n, err = Parse(`SelectUniqueValue([g], [s])`)
	require.NoError(t, err)
	_, err = Env{Unique: takenSet{"ada": true, "lovelace": true}}.Eval(n, obj)
	require.ErrorIs(t, err, ErrNoUniqueValue)

	n, err = Parse(`SelectUniqueValue("boom", [s])`)
	require.NoError(t, err)
	_, err = Env{Unique: takenSet{}}.Eval(n, obj)
	require.EqualError(t, err, `expr: 1:1: SelectUniqueValue: uniqueness check of "boom": target unreachable`)
}

func TestEnvNowGuidDomain(t *testing.T) {
	t.Parallel()
	env := Env{
		Now:           func() time.Time { return time.Date(2026, 12, 7, 18, 5, 0, 0, time.FixedZone("", 3600)) },
		Rand:          rand.NewChaCha8([32]byte{1}),
		DefaultDomain: "contoso.com",
	}
	eval := func(src string) string {
		n, err := Parse(src)
		require.NoError(t, err)
		v, err := env.Eval(n, nil)
		require.NoError(t, err)
		return v.Str()
	}
	require.Equal(t, "12/7/2026 5:05:00 PM", eval(`Now()`))
	require.Equal(t, "contoso.com", eval(`DefaultDomain()`))
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, eval(`Guid()`))
	require.NotEqual(t, eval(`Guid()`), eval(`Guid()`))
}

// TestRandomString checks RandomString's properties: length, the minimum of
// each class, and the characters to avoid.
func TestRandomString(t *testing.T) {
	t.Parallel()
	env := Env{Rand: rand.NewChaCha8([32]byte{2})}
	n, err := Parse(`RandomString(12, 3, 2, 2, 1, "0Oo1lI")`)
	require.NoError(t, err)
	count := func(s, re string) int { return len(regexp.MustCompile(re).FindAllString(s, -1)) }
	for range 200 {
		v, err := env.Eval(n, nil)
		require.NoError(t, err)
		s := v.Str()
		require.Len(t, s, 12)
		require.GreaterOrEqual(t, count(s, `[0-9]`), 3, s)
		require.GreaterOrEqual(t, count(s, `[^0-9A-Za-z]`), 2, s)
		require.GreaterOrEqual(t, count(s, `[A-Z]`), 2, s)
		require.GreaterOrEqual(t, count(s, `[a-z]`), 1, s)
		require.False(t, strings.ContainsAny(s, "0Oo1lI"), s)
	}
	// Entra's sample in the inbound FAQ: three digits, nothing else.
	n, err = Parse(`RandomString(3, 3, 0, 0, 0, )`)
	require.NoError(t, err)
	v, err := env.Eval(n, nil)
	require.NoError(t, err)
	require.Len(t, v.Str(), 3)
}

func TestValueString(t *testing.T) {
	t.Parallel()
	require.Equal(t, "(null)", Null().String())
	require.Equal(t, "a", String("a").String())
	require.Equal(t, `["a","b"]`, Multi([]string{"a", "b"}).String())
	require.True(t, Multi(nil).IsNull())
	v := run(t, `Redact([p])`, MapObject{"p": "secret"})
	require.True(t, v.Redacted())
	require.Equal(t, "[Redact]", v.String())
}

// TestValueSizeLimit: nested calls that multiply a value stop at
// MaxValueLength instead of exhausting memory. (Join and Append only add
// their arguments, so the expression's own length bounds them.)
func TestValueSizeLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, inner string }{
		{"ReplaceLiteral", `Replace(X, "a", , , "aaaa", , )`},
		{"ReplaceTemplate", `Replace(X, "a", , , , , "aaaa")`},
		{"ReplaceRegex", `Replace(X, , "a", , "$0$0$0$0", , )`},
		{"ReplaceGroup", `Replace(X, , "(?<g>a)", "g", "aaaa", , )`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := `"aaaa"`
			for range 40 {
				src = strings.ReplaceAll(tc.inner, "X", src)
				if len(src) > MaxLength/2 {
					break
				}
			}
			n, err := Parse(src)
			require.NoError(t, err)
			_, err = Eval(n, nil)
			require.ErrorContains(t, err, "result is longer than 1048576 bytes")
		})
	}
}

// TestLargeValuesStayLinear: functions that compare two values, or scan a
// value against a set, must not be quadratic on values near MaxValueLength.
func TestLargeValuesStayLinear(t *testing.T) {
	t.Parallel()
	var list strings.Builder
	for i := range 100_000 {
		list.WriteString(strconv.Itoa(i % 50_000))
		list.WriteByte(',')
	}
	obj := MapObject{
		"big":    strings.Repeat("ab", 400_000),
		"needle": strings.Repeat("ab", 200_000) + "c",
		"list":   list.String(),
	}
	start := time.Now()
	require.Equal(t, "0", run(t, `InStr([big], [needle], 1, vbTextCompare)`, obj).Str())
	require.Equal(t, "", run(t, `Word([big], 1, [needle])`, obj).Str())
	require.Len(t, run(t, `PCase([big], [needle])`, obj).Str(), 800_000)
	require.Equal(t, "50001", run(t, `Count(RemoveDuplicates(Split([list], ",")))`, obj).Str())
	require.Less(t, time.Since(start), 10*time.Second)
}
