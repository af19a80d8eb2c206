package expr

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// run parses, checks and evaluates src against obj.
func run(t *testing.T, src string, obj MapObject) Value {
	t.Helper()
	n, err := Parse(src)
	require.NoError(t, err)
	require.NoError(t, Check(n))
	v, err := Eval(n, obj)
	require.NoError(t, err)
	return v
}

// TestGolden runs the table of ENGINE-NOTES §3.4: the examples of
// Microsoft's "Reference for writing expressions for attribute mappings".
func TestGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		expr string
		in   MapObject
		want any // string, nil for null, or []string
	}{
		{"01Append", `Append([userPrincipalName], ".test")`, MapObject{"userPrincipalName": "John.Doe@contoso.com"}, "John.Doe@contoso.com.test"},
		{"02BitAnd", `BitAnd(&HF, &HF7)`, nil, "7"},
		{"03CDateOffsetOnly", `CDate([StatusHireDate])`, MapObject{"StatusHireDate": "2020-03-16-07:00"}, "3/16/2020 7:00:00 AM"},
		{"04CDatePlusOffset", `CDate("2021-06-30+08:00")`, nil, "6/29/2021 4:00:00 PM"},
		{"05CDateFull", `CDate("2009-06-15T01:45:30-07:00")`, nil, "6/15/2009 8:45:30 AM"},
		{"06Coalesce", `Coalesce([mail],[userPrincipalName])`, MapObject{"mail": nil, "userPrincipalName": "John.Doe@contoso.com"}, "John.Doe@contoso.com"},
		{"07ConvertToBase64", `ConvertToBase64("Hello world!")`, nil, "SABlAGwAbABvACAAdwBvAHIAbABkACEA"},
		{"08ConvertToUTF8Hex", `ConvertToUTF8Hex("Hello world!")`, nil, "48656C6C6F20776F726C6421"},
		{"09DateAddD7", `DateAdd("d", 7, CDate([StatusHireDate]))`, MapObject{"StatusHireDate": "2012-03-16-07:00"}, "3/23/2012 7:00:00 AM"},
		{"09DateAddDMinus10", `DateAdd("d", -10, CDate([StatusHireDate]))`, MapObject{"StatusHireDate": "2012-03-16-07:00"}, "3/6/2012 7:00:00 AM"},
		{"09DateAddWW2", `DateAdd("ww", 2, CDate([StatusHireDate]))`, MapObject{"StatusHireDate": "2012-03-16-07:00"}, "3/30/2012 7:00:00 AM"},
		{"09DateAddM10", `DateAdd("m", 10, CDate([StatusHireDate]))`, MapObject{"StatusHireDate": "2012-03-16-07:00"}, "1/16/2013 7:00:00 AM"},
		{"09DateAddYYYY2", `DateAdd("yyyy", 2, CDate([StatusHireDate]))`, MapObject{"StatusHireDate": "2012-03-16-07:00"}, "3/16/2014 7:00:00 AM"},
		{"10DateDiffD", `DateDiff("d", [d1], [d2])`, MapObject{"d1": "2021-08-18+08:00", "d2": "2021-08-31+08:00"}, "13"},
		{"10DateDiffH", `DateDiff("h", "2021-08-24+08:00", "2021-08-25+08:00")`, nil, "24"},
		{"10DateDiffN", `DateDiff("n", "2021-08-24+08:00", "2021-08-25+08:00")`, nil, "1440"},
		{"10DateDiffS", `DateDiff("s", "2021-08-24+08:00", "2021-08-25+08:00")`, nil, "86400"},
		{"10DateDiffSame", `DateDiff("d", "2021-08-24+08:00", "2021-08-24+08:00")`, nil, "0"},
		{"11DateDiffD", `DateDiff("d", "8/25/2021 5:41:18 PM", "2012-03-16-07:00")`, nil, "-3449"},
		{"11DateDiffWW", `DateDiff("ww", "8/25/2021 5:41:18 PM", "2012-03-16-07:00")`, nil, "-493"},
		{"11DateDiffM", `DateDiff("m", "8/25/2021 5:41:18 PM", "2012-03-16-07:00")`, nil, "-113"},
		{"11DateDiffYYYY", `DateDiff("yyyy", "8/25/2021 5:41:18 PM", "2012-03-16-07:00")`, nil, "-9"},
		// The doc only says "January 1, 2012 at 11:00PM"; Roster prints it in
		// the same M/d/yyyy form as CDate.
		{"12DateFromNum", `DateFromNum(129699324000000000)`, nil, "1/1/2012 11:00:00 PM"},
		{"13FormatDateTime", `FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")`, MapObject{"extensionAttribute1": "20150123105347.1Z"}, "2015-01-23"},
		{"14InStr", `InStr("The quick brown fox","quick")`, nil, "5"},
		{"14InStrStart", `InStr("repEated","e",3,vbBinaryCompare)`, nil, "7"},
		{"15Left", `Left("John Doe", 3)`, nil, "Joh"},
		{"16NormalizeDiacritics", `NormalizeDiacritics([givenName])`, MapObject{"givenName": "Zoë"}, "Zoe"},
		{"17PCase", `PCase([firstName])`, MapObject{"firstName": "PABLO GONSALVES (SECOND)"}, "Pablo Gonsalves (Second)"},
		{"17PCaseSeparators", `PCase([lastName]," '-")`, MapObject{"lastName": "PINTO-DE'SILVA"}, "Pinto-De'Silva"},
		{"17PCaseJoin", `PCase(Join(" ",[firstName],[lastName]))`, MapObject{"firstName": "GREGORY", "lastName": "JAMES"}, "Gregory James"},
		{"18ReplaceOldValue", `Replace([BusinessTitle],"Product Developer", , , "Software Engineer", , )`, MapObject{"BusinessTitle": "Product Developer"}, "Software Engineer"},
		{"19ReplaceTemplate", `Replace([UserID],"<username>", , , , , "<username>@contoso.com")`, MapObject{"UserID": "jsmith"}, "jsmith@contoso.com"},
		{"20ReplaceRegexGroupRef", `Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", , "${phoneNumber}", , )`, MapObject{"telephoneNumber": "+91 9998887777"}, "9998887777"},
		{"21ReplaceGroup", `Replace([AddressLineData], ,"(?<streetNumber>^\\d*)","streetNumber", "888", , )`, MapObject{"AddressLineData": "545 Tremont Street"}, "888 Tremont Street"},
		{"21ReplaceGroupSuffix", `Replace([userPrincipalName], , "(?<Suffix>@(.)*)", "Suffix", "", , )`, MapObject{"userPrincipalName": "jsmith@contoso.com"}, "jsmith"},
		{"22ReplaceFallback", `Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", "phoneNumber" , , [mobile], )`, MapObject{"telephoneNumber": "", "mobile": "+91 8887779999"}, "8887779999"},
		{"23ReplaceRemove", `Replace([mail], "@contoso.com", , ,"", ,)`, MapObject{"mail": "john.doe@contoso.com"}, "john.doe"},
		{"23ReplaceRegexRemove", `Replace([mailNickname], , "[a-zA-Z_]*", , "", , )`, MapObject{"mailNickname": "john_doe72"}, "72"},
		{"24Switch", `Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", "Australia/Brisbane", "SA", "Australia/Adelaide")`, MapObject{"state": "QLD"}, "Australia/Brisbane"},
		{"25Email", `ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".",  [PreferredFirstName], [PreferredLastName]))), "contoso.com"))`, MapObject{"PreferredFirstName": "John", "PreferredLastName": "Smith"}, "john.smith@contoso.com"},
		{"26Word", `Word("The quick brown fox",3," ")`, nil, "brown"},
		{"26WordSeparators", `Word("This,string!has&many separators",3,",!&#")`, nil, "has"},
		{"27AppendMid", `Append(Mid([givenName], 1, 3), Mid([surname], 1, 5))`, MapObject{"givenName": "John", "surname": "Doe"}, "JohDoe"},
		{"28IgnoreFlowMatch", `IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof.", "3445", "Prof. Dr."))`, MapObject{"prefix": "3444"}, "Prof."},
		{"29SwitchSoftDeleted", `Switch([IsSoftDeleted], , "False", "True", "True", "False")`, MapObject{"IsSoftDeleted": "False"}, "True"},
		{"29Not", `Not([IsSoftDeleted])`, MapObject{"IsSoftDeleted": false}, "True"},
		// The doc shows ["PermissionSetOne", "PermissionSetTwo"] for
		// "PermissionSetOne, PermissionSetTwo": its display drops the space
		// that .NET's String.Split keeps. Roster keeps it, like .NET; map with
		// Split(StripSpaces(…)) or ", " as the delimiter to drop it.
		{"30Split", `Split([extensionAttribute5], ",")`, MapObject{"extensionAttribute5": "PermissionSetOne, PermissionSetTwo"}, []string{"PermissionSetOne", " PermissionSetTwo"}},
		// Decision point of §3.4: Join skips empty strings, so the doc's
		// "Doe, John" holds.
		{"JoinSkipsEmpty", `Join(", ", "", [surname], [givenName])`, MapObject{"surname": "Doe", "givenName": "John"}, "Doe, John"},
		// The doc says 19998887777, but "[()\\s-]+" does not match "+": the
		// doc is wrong, .NET and Go both keep the plus.
		{"ReplaceMobileDocError", `Replace([mobile], , "[()\\s-]+", , "", , )`, MapObject{"mobile": "+1 (999) 888-7777"}, "+19998887777"},
		// The doc's output for this row doesn't come from its input; this is
		// the computed value.
		{"JoinHexObjectID", `Join("", 1000, Replace(ConvertToUTF8Hex([objectId]), , "[a-zA-Z_]*", , "", , ))`, MapObject{"objectId": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"}, "100030306161303061612626231312636332322646433332343465653434656534346565"},
		{"NumFromDateComputed", `NumFromDate(Join("", FormatDateTime("2020-12-31-08:00", ,"yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))`, nil, "132539615990000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := run(t, tc.expr, tc.in)
			require.Equal(t, tc.want, got.JSON())
		})
	}
}

// TestGoldenIgnoreFlow is row 28's second case: no Switch key matches, the
// default is "", so the attribute is not sent.
func TestGoldenIgnoreFlow(t *testing.T) {
	t.Parallel()
	v := run(t, `IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof.", "3445", "Prof. Dr."))`, MapObject{"prefix": "9999"})
	require.True(t, v.Skip())
	require.True(t, v.IsNull())
}
