package filter

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// sampleUsers returns User resources in Roster's normalized form, keyed by
// id, for the RFC 7644 §3.4.2.2 examples.
func sampleUsers() map[string]map[string]any {
	return map[string]map[string]any{
		"u1": {
			"id":       "u1",
			"userName": "bjensen",
			"name":     map[string]any{"familyName": "O'Malley", "givenName": "Barbara"},
			"title":    "Tour Guide",
			"userType": "Employee",
			"active":   true,
			"emails": []any{
				map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true},
				map[string]any{"value": "babs@jensen.org", "type": "home"},
			},
			"ims": []any{map[string]any{"value": "bjensen@foo.com", "type": "xmpp"}},
			"meta": map[string]any{
				"resourceType": "User",
				"created":      "2010-01-23T04:56:22Z",
				"lastModified": "2011-05-13T04:42:34Z",
				"version":      `W/"3694e05e9dff591"`,
			},
			entURN: map[string]any{"employeeNumber": "701984", "manager": map[string]any{"value": "u9"}},
		},
		"u2": {
			"id":       "u2",
			"userName": "Jsmith",
			"userType": "Intern",
			"emails":   []any{map[string]any{"value": "js@example.org", "type": "work"}},
			"ims":      []any{map[string]any{"value": "js@foo.com", "type": "xmpp"}},
			"meta":     map[string]any{"created": "2011-01-01T00:00:00Z", "lastModified": "2012-01-01T00:00:00Z"},
		},
		"u3": {
			"id":       "u3",
			"userName": "alice",
			"title":    "Engineer",
			"userType": "Contractor",
			"emails":   []any{map[string]any{"value": "alice@Example.COM", "type": "home"}},
			"meta":     map[string]any{"created": "2011-01-01T00:00:00Z", "lastModified": "2011-05-13T04:42:33Z"},
		},
		"u4": {
			"id":       "u4",
			"userName": "mallory",
			"userType": "Employee",
			// The same instant as u1's lastModified, in another zone.
			"meta": map[string]any{"created": "2011-01-01T00:00:00Z", "lastModified": "2011-05-13T06:42:34+02:00"},
		},
		"u5": {
			"id":       "u5",
			"userName": "nobody",
		},
	}
}

// rfcCases are the filter examples of RFC 7644 §3.4.2.2, with their
// canonical form, their validated canonical form against the User resource
// type and the sample users they select.
var rfcCases = []struct {
	in, canon, validated string
	want                 []string
}{
	{`userName eq "bjensen"`, "", coreURN + `:userName eq "bjensen"`, []string{"u1"}},
	{`name.familyName co "O'Malley"`, "", coreURN + `:name.familyName co "O'Malley"`, []string{"u1"}},
	{`userName sw "J"`, "", coreURN + `:userName sw "J"`, []string{"u2"}},
	{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`, "", coreURN + `:userName sw "J"`, []string{"u2"}},
	{`title pr`, "", coreURN + `:title pr`, []string{"u1", "u3"}},
	{`meta.lastModified gt "2011-05-13T04:42:34Z"`, "", "", []string{"u2"}},
	{`meta.lastModified ge "2011-05-13T04:42:34Z"`, "", "", []string{"u1", "u2", "u4"}},
	{`meta.lastModified lt "2011-05-13T04:42:34Z"`, "", "", []string{"u3"}},
	{`meta.lastModified le "2011-05-13T04:42:34Z"`, "", "", []string{"u1", "u3", "u4"}},
	{`title pr and userType eq "Employee"`, "", coreURN + `:title pr and ` + coreURN + `:userType eq "Employee"`, []string{"u1"}},
	{`title pr or userType eq "Intern"`, "", coreURN + `:title pr or ` + coreURN + `:userType eq "Intern"`, []string{"u1", "u2", "u3"}},
	{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, "", "", []string{"u1"}},
	{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`, "",
		coreURN + `:userType eq "Employee" and (` + coreURN + `:emails.value co "example.com" or ` + coreURN + `:emails.value co "example.org")`,
		[]string{"u1"}},
	{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`, "",
		coreURN + `:userType ne "Employee" and not (` + coreURN + `:emails.value co "example.com" or ` + coreURN + `:emails.value co "example.org")`,
		[]string{"u5"}},
	{`userType eq "Employee" and (emails.type eq "work")`, `userType eq "Employee" and emails.type eq "work"`,
		coreURN + `:userType eq "Employee" and ` + coreURN + `:emails.type eq "work"`, []string{"u1"}},
	{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`, "",
		coreURN + `:userType eq "Employee" and ` + coreURN + `:emails[type eq "work" and value co "@example.com"]`, []string{"u1"}},
	{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`, "",
		coreURN + `:emails[type eq "work" and value co "@example.com"] or ` + coreURN + `:ims[type eq "xmpp" and value co "@foo.com"]`,
		[]string{"u1", "u2"}},
}

func TestRFCExamples(t *testing.T) {
	t.Parallel()
	rt := userType()
	for _, tc := range rfcCases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tc.in)
			require.NoError(t, err)
			canon := tc.canon
			if canon == "" {
				canon = tc.in
			}
			require.Equal(t, canon, e.String())
			again, err := Parse(e.String())
			require.NoError(t, err)
			require.Equal(t, e, again)

			v, err := Validate(e, rt)
			require.NoError(t, err)
			validated := tc.validated
			if validated == "" {
				validated = canon
			}
			require.Equal(t, validated, v.String())

			var got []string
			for id, doc := range sampleUsers() {
				if Eval(v, rt, doc) {
					got = append(got, id)
				}
				// Eval gives the same answer on the unvalidated AST.
				require.Equal(t, Eval(v, rt, doc), Eval(e, rt, doc), "unvalidated AST, user %s", id)
			}
			sort.Strings(got)
			require.Equal(t, tc.want, got)
		})
	}
}
