package scope

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/source"
)

func user(attrs map[string]source.Values) source.Object {
	return source.Object{Anchor: "u1", Kind: source.User, Attributes: attrs}
}

func TestClauseOperators(t *testing.T) {
	obj := user(map[string]source.Values{
		"department":     {"Sales"},
		"title":          {""},
		"manager":        nil,
		"accountEnabled": {true},
		"ldapFlag":       {"FALSE"},
		"employeeId":     {json.Number("1500000")},
		"age":            {"42"},
		"ratio":          {json.Number("1.5")},
		"mail":           {"ann@example.com"},
		"proxyAddresses": {"smtp:ann@old.example", "SMTP:ann@example.com"},
		"name":           {map[string]any{"givenName": "Ann", "familyName": "Lee"}},
		"emails":         {map[string]any{"value": "ann@work.example", "type": "work"}, map[string]any{"value": "ann@home.example", "type": "home"}},
	})
	for _, tc := range []struct {
		name          string
		attr, op, val string
		values        []string
		want          bool
		why           string // part of the reason when false
	}{
		{"equals", "department", "EQUALS", "Sales", nil, true, ""},
		{"equals is case-sensitive", "department", "EQUALS", "sales", nil, false, `value is "Sales"`},
		{"equals attribute name any case", "DEPARTMENT", "EQUALS", "Sales", nil, true, ""},
		{"equals absent", "division", "EQUALS", "Sales", nil, false, "value is null"},
		{"equals empty string is null", "title", "EQUALS", "x", nil, false, "value is null"},
		{"equals boolean any case", "accountEnabled", "EQUALS", "true", nil, true, ""},
		{"equals number", "employeeId", "EQUALS", "1500000", nil, true, ""},
		{"equals multi-valued any", "proxyAddresses", "EQUALS", "SMTP:ann@example.com", nil, true, ""},
		{"equals complex value", "name", "EQUALS", "Ann", nil, false, "not comparable as text"},
		{"equals sub-attribute", "name.givenName", "EQUALS", "Ann", nil, true, ""},
		{"equals sub-attribute of multi-valued", "emails.value", "EQUALS", "ann@home.example", nil, true, ""},
		{"not equals", "department", "NOT EQUALS", "Engineering", nil, true, ""},
		{"not equals same", "department", "NOT EQUALS", "Sales", nil, false, `value is "Sales"`},
		{"not equals case differs", "department", "NOT EQUALS", "SALES", nil, true, ""},
		{"not equals absent is false", "division", "NOT EQUALS", "Sales", nil, false, "value is null"},
		{"not equals multi-valued: none may equal", "proxyAddresses", "NOT EQUALS", "smtp:ann@old.example", nil, false, "values are"},
		{"not equals multi-valued none equal", "proxyAddresses", "NOT EQUALS", "x", nil, true, ""},
		{"not equals underscore alias", "department", "not_equals", "x", nil, true, ""},
		{"is true", "accountEnabled", "IS TRUE", "", nil, true, ""},
		{"is true on false", "ldapFlag", "IS TRUE", "", nil, false, `value is "FALSE"`},
		{"is true on text", "department", "IS TRUE", "", nil, false, "not a boolean"},
		{"is true absent", "division", "IS TRUE", "", nil, false, "null"},
		{"is false ldap text", "ldapFlag", "IS FALSE", "", nil, true, ""},
		{"is false on true", "accountEnabled", "IS FALSE", "", nil, false, "value is True"},
		{"is null absent", "division", "IS NULL", "", nil, true, ""},
		{"is null nil", "manager", "IS NULL", "", nil, true, ""},
		{"is null empty string", "title", "IS NULL", "", nil, true, ""},
		{"is null present", "department", "IS NULL", "", nil, false, `value is "Sales"`},
		{"is not null present", "department", "IS NOT NULL", "", nil, true, ""},
		{"is not null absent", "division", "IS NOT NULL", "", nil, false, "value is null"},
		{"regex Entra example", "mail", "REGEX MATCH", `.*\@example.com`, nil, true, ""},
		{"regex unanchored", "age", "REGEX MATCH", `[1-9][0-9]`, nil, true, ""},
		{"regex case-sensitive", "mail", "REGEX MATCH", `^ANN@`, nil, false, `value is "ann@example.com"`},
		{"regex case-insensitive flag", "mail", "REGEX MATCH", `(?i)^ANN@`, nil, true, ""},
		{"regex absent", "division", "REGEX MATCH", `.*`, nil, false, "null"},
		{"regex multi-valued", "proxyAddresses", "REGEX MATCH", `^SMTP:`, nil, true, ""},
		{"not regex", "mail", "NOT REGEX MATCH", `@other\.example$`, nil, true, ""},
		{"not regex matching", "mail", "NOT REGEX MATCH", `@example\.com$`, nil, false, "ann@example.com"},
		{"not regex absent is false", "division", "NOT REGEX MATCH", `x`, nil, false, "null"},
		{"greater than", "employeeId", "Greater_Than", "1000000", nil, true, ""},
		{"greater than equal value", "employeeId", "Greater_Than", "1500000", nil, false, "value is 1500000"},
		{"greater than text integer", "age", "GREATER THAN", "41", nil, true, ""},
		{"greater than non-integer value", "ratio", "Greater_Than", "1", nil, false, "not an integer"},
		{"greater than text", "department", "Greater_Than", "1", nil, false, "not an integer"},
		{"greater than absent", "division", "Greater_Than", "1", nil, false, "null"},
		{"greater or equal", "employeeId", "Greater_Than_OR_EQUALS", "1500000", nil, true, ""},
		{"greater or equal below", "age", "Greater_Than_OR_EQUALS", "43", nil, false, `value is "42"`},
		{"less than", "employeeId", "Less_Than", "2000000", nil, true, ""},
		{"less than above", "age", "Less_Than", "42", nil, false, `"42"`},
		{"less or equal", "age", "Less_Than_OR_EQUALS", "42", nil, true, ""},
		{"less or equal negative", "age", "Less_Than_OR_EQUALS", "-1", nil, false, `"42"`},
		{"includes", "mail", "Includes", "@example", nil, true, ""},
		{"includes case-sensitive", "mail", "Includes", "@EXAMPLE", nil, false, "ann@example.com"},
		{"includes any of values", "department", "Includes", "", []string{"Eng", "Sal"}, true, ""},
		{"includes none of values", "department", "Includes", "", []string{"Eng", "HR"}, false, `"Sales"`},
		{"includes absent", "division", "Includes", "a", nil, false, "null"},
		{"not includes", "mail", "NOT Includes", "@other", nil, true, ""},
		{"not includes contained", "mail", "NOT Includes", "@example", nil, false, "ann@example.com"},
		{"not includes absent is false", "division", "NOT Includes", "a", nil, false, "null"},
		{"& value in input string", "department", "&", "Sales,Marketing", nil, true, ""},
		{"& value not in input string", "department", "&", "Engineering,Marketing", nil, false, `"Sales"`},
		{"& in values list", "department", "&", "", []string{"Marketing", "Sales"}, true, ""},
		{"& values list is exact", "department", "&", "", []string{"Sale", "Marketing"}, false, `"Sales"`},
		{"!& not in input", "department", "!&", "Engineering,Marketing", nil, true, ""},
		{"!& in input", "department", "!&", "Sales,Marketing", nil, false, `"Sales"`},
		{"!& absent is false", "division", "!&", "Sales", nil, false, "null"},
		{"ends with", "mail", "ENDS_WITH", "@example.com", nil, true, ""},
		{"ends with other", "mail", "ENDS_WITH", "@example.org", nil, false, "ann@example.com"},
		{"ends with absent", "division", "ENDS_WITH", "x", nil, false, "null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Compile([]Filter{{Clauses: []Clause{{Attribute: tc.attr, Operator: tc.op, Value: tc.val, Values: tc.values}}}})
			require.NoError(t, err)
			r := f.Match(obj)
			require.Equal(t, tc.want, r.In, r.Reason)
			if tc.want {
				require.True(t, strings.HasPrefix(r.Reason, "scoping filter 1 matched: "), r.Reason)
				return
			}
			require.True(t, strings.HasPrefix(r.Reason, "out of scope: "+tc.attr+" "), r.Reason)
			require.Contains(t, r.Reason, tc.why)
		})
	}
}

func TestFiltersAndOr(t *testing.T) {
	sales := Clause{Attribute: "department", Operator: "EQUALS", Value: "Sales"}
	ny := Clause{Attribute: "state", Operator: "EQUALS", Value: "New York"}
	titled := Clause{Attribute: "jobTitle", Operator: "IS NOT NULL"}
	for _, tc := range []struct {
		name    string
		filters []Filter
		attrs   map[string]source.Values
		want    bool
		reason  string
	}{
		{"no filters", nil, nil, true, "no scoping filters"},
		{"empty list", []Filter{}, nil, true, "no scoping filters"},
		{"AND all true", []Filter{{Clauses: []Clause{sales, ny, titled}}},
			map[string]source.Values{"department": {"Sales"}, "state": {"New York"}, "jobTitle": {"Rep"}},
			true, `scoping filter 1 matched: department EQUALS "Sales" AND state EQUALS "New York" AND jobTitle IS NOT NULL`},
		{"AND one false", []Filter{{Clauses: []Clause{sales, ny, titled}}},
			map[string]source.Values{"department": {"Sales"}, "state": {"Ohio"}, "jobTitle": {"Rep"}},
			false, `out of scope: state EQUALS "New York": value is "Ohio"`},
		{"OR second matches", []Filter{{Clauses: []Clause{sales}}, {Clauses: []Clause{ny}}},
			map[string]source.Values{"department": {"Engineering"}, "state": {"New York"}},
			true, `scoping filter 2 matched: state EQUALS "New York"`},
		{"OR none", []Filter{{Clauses: []Clause{sales}}, {Clauses: []Clause{ny, titled}}},
			map[string]source.Values{"department": {"Engineering"}, "state": {"New York"}},
			false, `out of scope: filter 1: department EQUALS "Sales": value is "Engineering"; filter 2: jobTitle IS NOT NULL: value is null`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Compile(tc.filters)
			require.NoError(t, err)
			r := f.Match(user(tc.attrs))
			require.Equal(t, tc.want, r.In)
			require.Equal(t, tc.reason, r.Reason)
		})
	}
	var nilFilters *Filters
	require.True(t, nilFilters.Match(user(nil)).In, "nil filters: everything in scope")
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		clause Clause
		want   string
	}{
		{"unknown operator", Clause{Attribute: "a", Operator: "LIKE", Value: "x"}, `[0].clauses[0]: operator "LIKE" unknown (use EQUALS, NOT EQUALS, IS TRUE`},
		{"no attribute", Clause{Operator: "EQUALS", Value: "x"}, "attribute is required"},
		{"no value", Clause{Attribute: "a", Operator: "EQUALS"}, "EQUALS needs a value"},
		{"values for a single-value operator", Clause{Attribute: "a", Operator: "EQUALS", Values: []string{"x"}}, "EQUALS takes one value, not values"},
		{"value and values", Clause{Attribute: "a", Operator: "&", Value: "x", Values: []string{"y"}}, "& takes a value or values, not both"},
		{"empty in values", Clause{Attribute: "a", Operator: "Includes", Values: []string{"x", ""}}, "Includes: values[1] is empty"},
		{"is true with value", Clause{Attribute: "a", Operator: "IS TRUE", Value: "yes"}, "IS TRUE takes no value"},
		{"is null with values", Clause{Attribute: "a", Operator: "is null", Values: []string{"x"}}, "IS NULL takes no value"},
		{"greater than text", Clause{Attribute: "a", Operator: "Greater_Than", Value: "ten"}, `Greater_Than compares integers: value "ten" is not one`},
		{"less than decimal", Clause{Attribute: "a", Operator: "Less_Than", Value: "1.5"}, `value "1.5" is not one`},
		{"regex lookahead", Clause{Attribute: "a", Operator: "REGEX MATCH", Value: `^a(?=b)`}, "pattern \"^a(?=b)\" does not compile at offset 2: invalid or unsupported Perl syntax: \"(?=\" (Roster uses Go's RE2 syntax"},
		{"regex unclosed", Clause{Attribute: "a", Operator: "NOT REGEX MATCH", Value: `(ab`}, "NOT REGEX MATCH: pattern \"(ab\" does not compile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile([]Filter{{Clauses: []Clause{tc.clause}}})
			require.Error(t, err)
			var ce *ClauseError
			require.True(t, errors.As(err, &ce))
			require.Equal(t, 0, ce.Filter)
			require.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := Compile([]Filter{{Clauses: []Clause{{Attribute: "a", Operator: "IS NULL"}}}, {}})
	require.EqualError(t, err, "[1]: a filter needs at least one clause")
}

func TestDescribeCuts(t *testing.T) {
	long := strings.Repeat("é", 40)
	require.Equal(t, `value is "`+strings.Repeat("é", 32)+`…"`, describe([]any{long}))
	require.Equal(t, `values are "a", "b", "c", … (5 values)`, describe([]any{"a", "b", "c", "d", "e"}))
	require.Equal(t, "value is (complex value)", describe([]any{map[string]any{}}))
}
