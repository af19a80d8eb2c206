package filter

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/scimerr"
)

const (
	coreURN = "urn:ietf:params:scim:schemas:core:2.0:User"
	entURN  = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

func cmpr(name string, op Op, v Value) *Compare {
	return &Compare{Path: AttrPath{Name: name}, Op: op, Value: v}
}

func pr(name string) *Compare { return &Compare{Path: AttrPath{Name: name}, Op: Pr} }

func strV(s string) Value { return Value{Kind: KindString, Str: s} }

func boolV(b bool) Value { return Value{Kind: KindBool, Bool: b} }

func nullV() Value { return Value{Kind: KindNull} }

func numV(lit string, n float64) Value { return Value{Kind: KindNumber, Str: lit, Num: n} }

// parseCases are filters that parse, with the AST they parse to and their
// canonical form ("" when the input is already canonical).
var parseCases = []struct {
	name, in string
	want     Expr
	canon    string
}{
	{"Eq", `userName eq "bjensen"`, cmpr("userName", Eq, strV("bjensen")), ""},
	{"CaseInsensitiveOperator", `UserName EQ "bjensen"`, cmpr("UserName", Eq, strV("bjensen")), `UserName eq "bjensen"`},
	{"Present", `title pr`, pr("title"), ""},
	{"PresentUpperCase", `title PR`, pr("title"), `title pr`},
	{"SubAttribute", `name.familyName co "O'Malley"`,
		&Compare{Path: AttrPath{Name: "name", Sub: "familyName"}, Op: Co, Value: strV("O'Malley")}, ""},
	{"AllOperators", `a ne "x" or b co "x" or c sw "x" or d ew "x" or e gt 1 or f ge 1 or g lt 1 or h le 1`,
		&Or{Left: &Or{Left: &Or{Left: &Or{Left: &Or{Left: &Or{Left: &Or{
			Left:  cmpr("a", Ne, strV("x")),
			Right: cmpr("b", Co, strV("x"))},
			Right: cmpr("c", Sw, strV("x"))},
			Right: cmpr("d", Ew, strV("x"))},
			Right: cmpr("e", Gt, numV("1", 1))},
			Right: cmpr("f", Ge, numV("1", 1))},
			Right: cmpr("g", Lt, numV("1", 1))},
			Right: cmpr("h", Le, numV("1", 1))}, ""},
	{"True", `active eq true`, cmpr("active", Eq, boolV(true)), ""},
	{"FalseMixedCase", `active eq FaLsE`, cmpr("active", Eq, boolV(false)), `active eq false`},
	{"NullUpperCase", `title eq NULL`, cmpr("title", Eq, nullV()), `title eq null`},
	{"Integer", `count gt 42`, cmpr("count", Gt, numV("42", 42)), ""},
	{"NegativeExponent", `ratio le -1.5e3`, cmpr("ratio", Le, numV("-1.5e3", -1500)), ""},
	{"Zero", `count eq 0`, cmpr("count", Eq, numV("0", 0)), ""},
	{"QuotedTrueIsString", `active eq "True"`, cmpr("active", Eq, strV("True")), ""},
	{"Escapes", `a eq "q\"b\\s\/\b\f\n\r\t\u00e9"`, cmpr("a", Eq, strV("q\"b\\s/\b\f\n\r\t\u00e9")), `a eq "q\"b\\s/\u0008\u000c\n\r\té"`},
	{"SurrogatePair", `a eq "\ud83d\ude00"`, cmpr("a", Eq, strV("\U0001F600")), "a eq \"\U0001F600\""},
	{"LoneSurrogate", `a eq "\ud83dx"`, cmpr("a", Eq, strV("\uFFFDx")), "a eq \"\uFFFDx\""},
	{"RawUnicode", `a eq "Zoë 😀"`, cmpr("a", Eq, strV("Zoë 😀")), ""},
	{"EntraUnquoted", `externalId eq jyoung`, cmpr("externalId", Eq, strV("jyoung")), `externalId eq "jyoung"`},
	{"EntraUnquotedEmail", `userName eq jyoung@contoso.com`, cmpr("userName", Eq, strV("jyoung@contoso.com")), `userName eq "jyoung@contoso.com"`},
	{"UnquotedNotANumber", `a eq 12abc`, cmpr("a", Eq, strV("12abc")), `a eq "12abc"`},
	{"UnquotedLeadingZero", `a eq 007`, cmpr("a", Eq, strV("007")), `a eq "007"`},
	{"AndOrPrecedence", `a pr and b pr or c pr`, &Or{Left: &And{Left: pr("a"), Right: pr("b")}, Right: pr("c")}, ""},
	{"OrAndPrecedence", `a pr or b pr and c pr`, &Or{Left: pr("a"), Right: &And{Left: pr("b"), Right: pr("c")}}, ""},
	{"GroupedOr", `a pr and (b pr or c pr)`, &And{Left: pr("a"), Right: &Or{Left: pr("b"), Right: pr("c")}}, ""},
	{"GroupedOrLeft", `(a pr or b pr) and c pr`, &And{Left: &Or{Left: pr("a"), Right: pr("b")}, Right: pr("c")}, ""},
	{"LeftAssociative", `(a pr and b pr) and c pr`, &And{Left: &And{Left: pr("a"), Right: pr("b")}, Right: pr("c")}, `a pr and b pr and c pr`},
	{"RightGroupKept", `a pr and (b pr and c pr)`, &And{Left: pr("a"), Right: &And{Left: pr("b"), Right: pr("c")}}, ""},
	{"OrRightGroupKept", `a pr or (b pr or c pr)`, &Or{Left: pr("a"), Right: &Or{Left: pr("b"), Right: pr("c")}}, ""},
	{"RedundantParens", `((a pr))`, pr("a"), `a pr`},
	{"Not", `not (a pr)`, &Not{X: pr("a")}, ""},
	{"NotWithoutSpace", `not(a pr)`, &Not{X: pr("a")}, `not (a pr)`},
	{"NotUpperCase", `NOT (a pr)`, &Not{X: pr("a")}, `not (a pr)`},
	{"NotBindsTighterThanAnd", `not (a pr) and b pr`, &And{Left: &Not{X: pr("a")}, Right: pr("b")}, ""},
	{"AndNot", `a pr and not (b pr or c pr)`, &And{Left: pr("a"), Right: &Not{X: &Or{Left: pr("b"), Right: pr("c")}}}, ""},
	{"Whitespace", "  userName \t eq\n\"x\"   and  ( title  pr )  ",
		&And{Left: cmpr("userName", Eq, strV("x")), Right: pr("title")}, `userName eq "x" and title pr`},
	{"ValuePath", `emails[type eq "work"]`,
		&ValuePath{Path: AttrPath{Name: "emails"}, Filter: cmpr("type", Eq, strV("work"))}, ""},
	{"ValuePathLogic", `emails[type eq "work" and value co "@example.com"]`,
		&ValuePath{Path: AttrPath{Name: "emails"}, Filter: &And{Left: cmpr("type", Eq, strV("work")), Right: cmpr("value", Co, strV("@example.com"))}}, ""},
	{"ValuePathGroupedOr", `emails[type eq "work" or (type eq "home" and value ew "@example.com")]`,
		&ValuePath{Path: AttrPath{Name: "emails"}, Filter: &Or{
			Left:  cmpr("type", Eq, strV("work")),
			Right: &And{Left: cmpr("type", Eq, strV("home")), Right: cmpr("value", Ew, strV("@example.com"))}}},
		`emails[type eq "work" or type eq "home" and value ew "@example.com"]`},
	{"ValuePathNot", `emails[ not (type eq "work") ]`,
		&ValuePath{Path: AttrPath{Name: "emails"}, Filter: &Not{X: cmpr("type", Eq, strV("work"))}}, `emails[not (type eq "work")]`},
	{"ValuePathInLogic", `userName sw "j" and emails[primary eq true] or ims pr`,
		&Or{Left: &And{Left: cmpr("userName", Sw, strV("j")), Right: &ValuePath{Path: AttrPath{Name: "emails"}, Filter: cmpr("primary", Eq, boolV(true))}}, Right: pr("ims")}, ""},
	{"EntraValuePathSubAttr", `emails[type eq "work"].value eq "x"`,
		&ValuePath{Path: AttrPath{Name: "emails"}, Filter: &And{Left: cmpr("type", Eq, strV("work")), Right: cmpr("value", Eq, strV("x"))}},
		`emails[type eq "work" and value eq "x"]`},
	{"EntraValuePathSubAttrOr", `emails[type eq "work" or type eq "home"].value pr`,
		&ValuePath{Path: AttrPath{Name: "emails"}, Filter: &And{Left: &Or{Left: cmpr("type", Eq, strV("work")), Right: cmpr("type", Eq, strV("home"))}, Right: pr("value")}},
		`emails[(type eq "work" or type eq "home") and value pr]`},
	{"ExtensionAttribute", `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7"`,
		&Compare{Path: AttrPath{URI: entURN, Name: "employeeNumber"}, Op: Eq, Value: strV("7")}, ""},
	{"ExtensionSubAttribute", `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"`,
		&Compare{Path: AttrPath{URI: entURN, Name: "manager", Sub: "value"}, Op: Eq, Value: strV("x")}, ""},
	{"CoreQualified", `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"`,
		&Compare{Path: AttrPath{URI: coreURN, Name: "userName"}, Op: Eq, Value: strV("x")}, ""},
	{"QualifiedValuePath", `urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"]`,
		&ValuePath{Path: AttrPath{URI: coreURN, Name: "emails"}, Filter: cmpr("type", Eq, strV("work"))}, ""},
	{"DollarRef", `members.$ref eq "x"`, &Compare{Path: AttrPath{Name: "members", Sub: "$ref"}, Op: Eq, Value: strV("x")}, ""},
	{"NameChars", `x-y_1.a-b_2 pr`, &Compare{Path: AttrPath{Name: "x-y_1", Sub: "a-b_2"}, Op: Pr}, ""},
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			canon := tc.canon
			if canon == "" {
				canon = tc.in
			}
			require.Equal(t, canon, got.String())
			again, err := Parse(got.String())
			require.NoError(t, err)
			require.Equal(t, got, again)
		})
	}
}

// filterErrorCases are filters that Parse, or Validate against the User
// resource type, rejects with invalidFilter; detail is part of the message.
var filterErrorCases = []struct {
	name, in, detail string
}{
	{"Empty", ``, "empty filter"},
	{"Blank", "  \t ", "empty filter"},
	{"UnclosedParen", `(userName eq "x"`, `expected ")"`},
	{"ExtraCloseParen", `userName eq "x")`, `unexpected ")"`},
	{"StrayBracket", `userName eq "x"]`, `unexpected "]"`},
	{"EmptyParens", `()`, "expected an attribute path"},
	{"UnknownOperator", `userName eqq "x"`, `unknown operator "eqq"`},
	{"MissingOperator", `userName`, "expected a space and an operator"},
	{"MissingValue", `userName eq`, "missing comparison value"},
	{"MissingValueSpace", `userName eq `, "missing comparison value"},
	{"MissingValueParen", `(userName eq )`, "missing comparison value"},
	{"NoSpaceBeforeValue", `userName eq"x"`, "expected a space after operator"},
	{"TrailingGarbage", `userName eq "x" foo`, `unexpected "foo"`},
	{"TrailingAfterPresent", `title pr "x"`, `unexpected "\""`},
	{"BadEscape", `userName eq "a\qb"`, `invalid escape sequence "\\q"`},
	{"BadUnicodeEscape", `userName eq "a\u12g4"`, `invalid \u escape`},
	{"ShortUnicodeEscape", `userName eq "a\u12`, `invalid \u escape`},
	{"UnterminatedString", `userName eq "abc`, "unterminated string"},
	{"BackslashAtEnd", `userName eq "abc\`, "unterminated escape"},
	{"RawControlChar", "userName eq \"a\tb\"", "control character"},
	{"NotWithoutParens", `not userName eq "x"`, `"not" must be followed by a parenthesized filter`},
	{"NotAlone", `not`, `"not" must be followed by a parenthesized filter`},
	{"DanglingAnd", `userName eq "x" and`, `"and" must be followed by a filter`},
	{"DanglingOr", `userName eq "x" or `, `"or" must be followed by a filter`},
	{"AndWithoutSpace", `userName eq "x" and(title pr)`, `"and" must be followed by a space`},
	{"DoubleAnd", `title pr and and title pr`, `unknown operator "title"`},
	{"UnclosedBracket", `emails[type eq "work"`, `expected "]"`},
	{"EmptyBracket", `emails[]`, "expected an attribute path"},
	{"NestedValuePath", `emails[type eq "work" and emails[value pr]]`, "cannot contain another value filter"},
	{"ValuePathOnSubAttr", `name.givenName[value eq "x"]`, "not to the sub-attribute"},
	{"EntraFormWithoutOperator", `emails[type eq "work"].value`, "expected a space and an operator"},
	{"EntraFormBadSubAttr", `emails[type eq "work"].1 eq "x"`, "expected a sub-attribute name"},
	{"TwoSubAttributes", `name.givenName.x eq "y"`, `invalid sub-attribute name "givenName.x"`},
	{"DoubleDot", `a..b eq "x"`, `invalid sub-attribute name ".b"`},
	{"LeadingDigit", `1abc eq "x"`, `invalid attribute name "1abc"`},
	{"EmptyURI", `:userName eq "x"`, "missing schema URI"},
	{"URIWithoutName", `urn:x: eq "x"`, `invalid attribute name ""`},
	{"NumberOutOfRange", `count eq 1e999`, "out of range"},
	{"StartsWithQuote", `"userName" eq "x"`, "expected an attribute path"},
	{"InvalidUTF8", "userName eq \"\xff\"", "not valid UTF-8 at offset 13"},
	{"TooLong", `userName eq "` + strings.Repeat("x", MaxLength) + `"`, "bytes long"},
	{"TooManyNodes", strings.Repeat("title pr and ", MaxNodes) + "title pr", "more than 256 expressions"},
	{"TooDeep", strings.Repeat("(", MaxDepth+1) + "title pr" + strings.Repeat(")", MaxDepth+1), "deeper than 64"},
	{"TooDeepNot", strings.Repeat("not (", MaxDepth+1) + "title pr" + strings.Repeat(")", MaxDepth+1), "deeper than 64"},

	// Validation against the User resource type.
	{"UnknownAttribute", `foo eq "x"`, `unknown attribute "foo"`},
	{"UnknownSubAttribute", `name.foo eq "x"`, `unknown attribute "name.foo"`},
	{"SubAttributeOfSimple", `userName.foo eq "x"`, `"userName" has no sub-attributes`},
	{"UnknownSchema", `urn:example:Nope:userName eq "x"`, `unknown schema "urn:example:Nope"`},
	{"WrongSchema", `urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "x"`, "unknown schema"},
	{"GtOnBoolean", `active gt true`, `operator gt cannot be used on boolean attribute "urn:ietf:params:scim:schemas:core:2.0:User:active"`},
	{"LeOnBinary", `x509Certificates.value le "MII"`, "operator le cannot be used on binary"},
	{"GtOnComplexWithoutValue", `name gt "x"`, `"urn:ietf:params:scim:schemas:core:2.0:User:name" is complex and has no "value"`},
	{"EqOnMeta", `meta eq "x"`, `"meta" is complex`},
	{"CoOnBoolean", `active co "t"`, "operator co cannot be used on boolean"},
	{"SwOnDateTime", `meta.lastModified sw "2011"`, "operator sw cannot be used on dateTime"},
	{"EwOnValuePathBoolean", `emails[primary ew "e"]`, "operator ew cannot be used on boolean"},
	{"BooleanFromWord", `active eq "yes"`, "is a boolean"},
	{"BooleanFromNumber", `active eq 1`, "is a boolean"},
	{"StringFromBool", `userName eq true`, "compare it with a quoted string"},
	{"BadDateTime", `meta.lastModified gt "yesterday"`, "is a dateTime"},
	{"DateTimeFromNumber", `meta.created lt 2011`, "is a dateTime"},
	{"NullWithCo", `userName co null`, "only eq and ne can compare with null"},
	{"NullWithGt", `meta.created gt null`, "only eq and ne can compare with null"},
	{"ValuePathOnSimple", `userName[value eq "x"]`, "is not complex"},
	{"ValuePathOnSchemas", `schemas[value eq "x"]`, "is not complex"},
	{"ValuePathUnknownSub", `emails[foo eq "x"]`, `"emails" has no sub-attribute "foo"`},
	{"ValuePathQualifiedInner", `emails[emails.value eq "x"]`, `name a sub-attribute of "emails"`},
	{"ValuePathUnknownAttr", `foo[value eq "x"]`, `unknown attribute "foo"`},
	{"SchemasSubAttribute", `schemas.value eq "x"`, `unknown attribute "schemas"`},
}

func TestFilterErrors(t *testing.T) {
	t.Parallel()
	rt := userType()
	for _, tc := range filterErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tc.in)
			if err == nil {
				_, err = Validate(e, rt)
			}
			require.Error(t, err)
			se := scimerr.As(err)
			require.NotNil(t, se, "want a *scimerr.Error, got %T", err)
			require.Equal(t, scimerr.TypeInvalidFilter, se.ScimType)
			require.Equal(t, http.StatusBadRequest, se.Status)
			require.Contains(t, se.Detail, tc.detail)
		})
	}
}

func TestParseErrorOffset(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, detail string }{
		{`userName eqq "x"`, "at offset 9 of filter"},
		{`title pr and (userName eq "x"`, "at offset 29 of filter"},
		{`userName eq "a\qb"`, "at offset 14 of filter"},
		{`userName eq "x" and title pr )`, "at offset 29 of filter"},
	} {
		_, err := Parse(tc.in)
		require.Error(t, err)
		require.Contains(t, err.Error(), tc.detail, tc.in)
	}
}

func TestParseLimitsAccepted(t *testing.T) {
	t.Parallel()
	// Exactly at the limits is fine.
	nodes := strings.Repeat("title pr and ", (MaxNodes-1)/2) + "title pr"
	_, err := Parse(nodes)
	require.NoError(t, err)
	deep := strings.Repeat("(", MaxDepth) + "title pr" + strings.Repeat(")", MaxDepth)
	_, err = Parse(deep)
	require.NoError(t, err)
	long := `userName eq "` + strings.Repeat("x", MaxLength-len(`userName eq ""`)) + `"`
	require.Len(t, long, MaxLength)
	_, err = Parse(long)
	require.NoError(t, err)
	// A flat chain of and/or is not nesting.
	flat := strings.Repeat("title pr or ", 100) + "title pr"
	_, err = Parse(flat)
	require.NoError(t, err)
}

// pathCases are PATCH paths that parse, with the Path they parse to and
// their canonical form ("" when the input is already canonical).
var pathCases = []struct {
	name, in string
	want     Path
	canon    string
}{
	{"Attribute", `members`, Path{Attr: AttrPath{Name: "members"}}, ""},
	{"SubAttribute", `name.familyName`, Path{Attr: AttrPath{Name: "name", Sub: "familyName"}}, ""},
	{"ValuePathSubAttr", `emails[type eq "work"].value`,
		Path{Attr: AttrPath{Name: "emails"}, Filter: cmpr("type", Eq, strV("work")), Sub: "value"}, ""},
	{"MemberByValue", `members[value eq "2819c223-7f76-453a-919d-413861904646"]`,
		Path{Attr: AttrPath{Name: "members"}, Filter: cmpr("value", Eq, strV("2819c223-7f76-453a-919d-413861904646"))}, ""},
	{"ExtensionAttribute", `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`,
		Path{Attr: AttrPath{URI: entURN, Name: "manager"}}, ""},
	{"ExtensionSubAttribute", `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`,
		Path{Attr: AttrPath{URI: entURN, Name: "manager", Sub: "value"}}, ""},
	{"AddressStreet", `addresses[type eq "work"].streetAddress`,
		Path{Attr: AttrPath{Name: "addresses"}, Filter: cmpr("type", Eq, strV("work")), Sub: "streetAddress"}, ""},
	{"SubAttrAsWritten", `emails[type eq "other"].Value`,
		Path{Attr: AttrPath{Name: "emails"}, Filter: cmpr("type", Eq, strV("other")), Sub: "Value"}, ""},
	{"LogicInFilter", `members[value eq "a" or value eq "b"]`,
		Path{Attr: AttrPath{Name: "members"}, Filter: &Or{Left: cmpr("value", Eq, strV("a")), Right: cmpr("value", Eq, strV("b"))}}, ""},
	{"EntraUnquoted", `members[value eq 2819c223]`,
		Path{Attr: AttrPath{Name: "members"}, Filter: cmpr("value", Eq, strV("2819c223"))}, `members[value eq "2819c223"]`},
	{"QualifiedValuePath", `urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].display`,
		Path{Attr: AttrPath{URI: coreURN, Name: "emails"}, Filter: cmpr("type", Eq, strV("work")), Sub: "display"}, ""},
	{"Whitespace", ` emails[ type eq "work" ] `,
		Path{Attr: AttrPath{Name: "emails"}, Filter: cmpr("type", Eq, strV("work"))}, `emails[type eq "work"]`},
}

func TestParsePath(t *testing.T) {
	t.Parallel()
	for _, tc := range pathCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePath(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			canon := tc.canon
			if canon == "" {
				canon = tc.in
			}
			require.Equal(t, canon, got.String())
			again, err := ParsePath(got.String())
			require.NoError(t, err)
			require.Equal(t, got, again)
		})
	}
}

// pathErrorCases are PATCH paths that ParsePath rejects with invalidPath.
var pathErrorCases = []struct {
	name, in, detail string
}{
	{"Empty", ``, "empty path"},
	{"Blank", `  `, "empty path"},
	{"UnclosedBracket", `emails[`, "expected an attribute path"},
	{"UnclosedFilter", `emails[type eq "work"`, `expected "]"`},
	{"DoubleDot", `a..b`, `invalid sub-attribute name ".b"`},
	{"TrailingDot", `emails[type eq "work"].`, "expected a sub-attribute name"},
	{"TwoSubAttrs", `emails[type eq "work"].value.x`, `unexpected ".x"`},
	{"GarbageAfterFilter", `emails[type eq "work"]x`, `unexpected "x"`},
	{"ValueFilterOnSub", `name.givenName[type eq "x"]`, "not to the sub-attribute"},
	{"FilterNotPath", `emails[type eq "work"].value eq "x"`, `unexpected "eq"`},
	{"Space", `emails value`, `unexpected "value"`},
	{"BadFilter", `emails[type eqq "work"]`, `unknown operator "eqq"`},
	{"NestedValuePath", `emails[value[x eq "y"]]`, "cannot contain another value filter"},
	{"LeadingDigit", `9lives`, `invalid attribute name "9lives"`},
	{"TooLong", strings.Repeat("a", MaxLength+1), "bytes long"},
}

func TestParsePathErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range pathErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParsePath(tc.in)
			require.Error(t, err)
			se := scimerr.As(err)
			require.NotNil(t, se, "want a *scimerr.Error, got %T", err)
			require.Equal(t, scimerr.TypeInvalidPath, se.ScimType)
			require.Equal(t, http.StatusBadRequest, se.Status)
			require.Contains(t, se.Detail, tc.detail)
		})
	}
}

func TestAttrPathString(t *testing.T) {
	t.Parallel()
	require.Equal(t, entURN+":manager.value", AttrPath{URI: entURN, Name: "manager", Sub: "value"}.String())
	require.Equal(t, "name.givenName", AttrPath{Name: "name", Sub: "givenName"}.String())
	require.Equal(t, "userName", AttrPath{Name: "userName"}.String())
}

func TestStringHandBuilt(t *testing.T) {
	t.Parallel()
	// A number built without its literal prints from Num.
	require.Equal(t, `count eq 2.5`, cmpr("count", Eq, Value{Kind: KindNumber, Num: 2.5}).String())
	// Control characters are escaped.
	require.Equal(t, `a eq "\u0001\u001f"`, cmpr("a", Eq, strV("\x01\x1f")).String())
	// Mixed nesting is parenthesized by precedence.
	e := &Or{
		Left:  &And{Left: &Or{Left: pr("a"), Right: pr("b")}, Right: &And{Left: pr("c"), Right: pr("d")}},
		Right: &Or{Left: &Not{X: pr("e")}, Right: pr("f")},
	}
	require.Equal(t, `(a pr or b pr) and (c pr and d pr) or (not (e pr) or f pr)`, e.String())
	again, err := Parse(e.String())
	require.NoError(t, err)
	require.Equal(t, Expr(e), again)
}
