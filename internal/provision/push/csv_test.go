package push

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadCSV(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file string
		records    int
		problems   []string
	}{
		{"Good", "EmployeeID,UserName,Active\nE1,a@x,true\nE2,b@x,no\n", 2, nil},
		{"BOMAndSemicolons", "\xef\xbb\xbfEmployeeID;UserName\nE1;a@x\n", 1, nil},
		{"CaseInsensitiveHeader", "employeeid,USERNAME\nE1,a@x\n", 1, nil},
		{"QuotedComma", "EmployeeID,DisplayName\nE1,\"Archer, Alice\"\n", 1, nil},
		{"MissingExternalID", "EmployeeID,UserName\n,a@x\nE2,b@x\n", 1, []string{"line 2, column EmployeeID: no externalId"}},
		{"BadBoolean", "EmployeeID,Active\nE1,maybe\n", 0, []string{`line 2, column Active: "maybe" is not a boolean`}},
		{"DuplicateExternalID", "EmployeeID\nE1\nE1\n", 1, []string{`line 3, column EmployeeID: externalId "E1" is also on line 2`}},
		{"UnknownColumn", "EmployeeID,ShoeSize\nE1,44\n", 1, []string{"line 1, column ShoeSize: unknown column"}},
		{"NoExternalIDColumn", "UserName\na@x\n", 0, []string{"line 1, column EmployeeID: the externalId column is missing", "line 2, column EmployeeID: no externalId"}},
		{"ShortRow", "EmployeeID,UserName\nE1\nE2,b@x\n", 1, []string{"line 2: wrong number of fields"}},
		{"ColumnTwice", "EmployeeID,UserName,username\nE1,a,b\n", 1, []string{"line 1, column username: the column appears twice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			recs, problems, err := ReadCSV(strings.NewReader(tc.file), DefaultColumnMap())
			require.NoError(t, err)
			require.Len(t, recs, tc.records)
			require.Len(t, problems, len(tc.problems), "%v", problems)
			for i, want := range tc.problems {
				require.Contains(t, problems[i].String(), want)
			}
		})
	}
}

// TestReadCSVRecord pins the record a row becomes with the default map:
// core attributes, a typed email, the enterprise extension and its URN in
// schemas, active as a boolean, and empty cells left out.
func TestReadCSVRecord(t *testing.T) {
	t.Parallel()
	file := "EmployeeID,UserName,FirstName,LastName,Email,Department,Manager,Active,Title\n" +
		"E2,bob@example.com,Bob,Baker,bob@example.com,Sales,E1,false,\n"
	recs, problems, err := ReadCSV(strings.NewReader(file), DefaultColumnMap())
	require.NoError(t, err)
	require.Empty(t, problems)
	require.Len(t, recs, 1)
	require.JSONEq(t, `{
		"schemas": ["`+UserSchema+`", "`+EnterpriseSchema+`"],
		"externalId": "E2", "userName": "bob@example.com", "active": false,
		"name": {"givenName": "Bob", "familyName": "Baker"},
		"emails": [{"type": "work", "value": "bob@example.com"}],
		"`+EnterpriseSchema+`": {"employeeNumber": "E2", "department": "Sales", "manager": {"value": "E1"}}
	}`, string(recs[0].Data))
}

func TestParseColumnMap(t *testing.T) {
	t.Parallel()
	m, err := ParseColumnMap([]byte(`externalId: WorkerID
columns:
  WorkerID: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber
  Login: userName
  Mail: emails[type eq "work"].value
  Status: active
ignore: [Notes]
`))
	require.NoError(t, err)
	recs, problems, err := ReadCSV(strings.NewReader("WorkerID,Login,Mail,Status,Notes\nW1,w@x,w@x,1,hello\n"), m)
	require.NoError(t, err)
	require.Empty(t, problems)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(recs[0].Data, &doc))
	require.Equal(t, "W1", doc["externalId"])
	require.Equal(t, true, doc["active"])
	require.NotContains(t, doc, "Notes")

	for _, bad := range []string{
		"columns: {A: userName}\n",                         // no externalId column
		"externalId: A\ncolumns: {B: 'emails[type'}\n",     // bad path
		"externalId: A\ncolumns: {B: externalId}\n",        // set by the upload
		"externalId: A\ncolumns: {B: 'urn:x:'}\n",          // URN without attribute
		"externalId: A\ncolumnz: {B: userName}\n",          // unknown key
		"externalId: A\ncolumns: {B: 'a.b.c'}\n",           // too deep
		"externalId: A\ncolumns: {B: schemas}\n",           // set by the upload
		"externalId: A\ncolumns: {B: 'name[type eq x]'}\n", // unquoted type
	} {
		_, err := ParseColumnMap([]byte(bad))
		require.Error(t, err, bad)
	}
}

// FuzzReadCSV checks that any file maps without panicking, that every
// record is a JSON object naming the core schema whose externalId is the
// record's non-empty anchor, and that no anchor repeats.
func FuzzReadCSV(f *testing.F) {
	f.Add("EmployeeID,UserName,Active,Email,Manager\nE1,a@x,true,a@x,E2\n")
	f.Add("\xef\xbb\xbfEmployeeID;Department\nE1;Sales\nE1;Support\n")
	f.Add("EmployeeID,\"Display\nName\"\n\"E\"\"1\",x\n")
	f.Fuzz(func(t *testing.T, file string) {
		recs, _, err := ReadCSV(strings.NewReader(file), DefaultColumnMap())
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, r := range recs {
			require.NotEmpty(t, r.ExternalID)
			require.False(t, seen[r.ExternalID])
			seen[r.ExternalID] = true
			var doc map[string]any
			require.NoError(t, json.Unmarshal(r.Data, &doc))
			require.Equal(t, r.ExternalID, doc["externalId"])
			require.Contains(t, doc["schemas"], any(UserSchema))
		}
	})
}

// TestReadCSVRefusesNonUTF8: a file saved in another encoding is refused
// with the line to look at, not sent with U+FFFD in its names.
func TestReadCSVRefusesNonUTF8(t *testing.T) {
	_, _, err := ReadCSV(strings.NewReader("EmployeeID,UserName\nE1,ann@x\nE2,Ren\xe9e@x\n"), DefaultColumnMap())
	require.ErrorContains(t, err, "not UTF-8 (line 3)")
}
