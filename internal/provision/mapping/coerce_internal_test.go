package mapping

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/schema"
)

func TestCoerce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   any
		typ  schema.Type
		want any
		err  string
	}{
		{true, schema.Boolean, true, ""},
		{"True", schema.Boolean, true, ""},
		{"fALSE", schema.Boolean, false, ""},
		{"1", schema.Boolean, true, ""},
		{" 0 ", schema.Boolean, false, ""},
		{json.Number("1"), schema.Boolean, true, ""},
		{float64(0), schema.Boolean, false, ""},
		{"", schema.Boolean, "", ""},
		{"yes", schema.Boolean, nil, `"yes" is not a boolean`},
		{json.Number("2"), schema.Boolean, nil, "not a boolean"},
		{json.Number("42"), schema.Integer, int64(42), ""},
		{"-7", schema.Integer, int64(-7), ""},
		{float64(3), schema.Integer, int64(3), ""},
		{float64(3.5), schema.Integer, nil, "not an integer"},
		{"4.2", schema.Integer, nil, `"4.2" is not an integer`},
		{true, schema.Integer, nil, "true is not an integer"},
		{json.Number("4.25"), schema.Decimal, 4.25, ""},
		{"1e3", schema.Decimal, float64(1000), ""},
		{"NaN", schema.Decimal, nil, "not a decimal"},
		{"x", schema.String, "x", ""},
		{false, schema.String, "False", ""},
		{json.Number("12345678901234567890"), schema.String, "12345678901234567890", ""},
		{float64(1.5), schema.String, "1.5", ""},
		{int64(9), schema.String, "9", ""},
		{"2026-12-07T10:00:00Z", schema.DateTime, "2026-12-07T10:00:00Z", ""},
		{map[string]any{"value": "m1", "displayName": "Boss"}, schema.String, "m1", ""},
		{map[string]any{"givenName": "x"}, schema.String, nil, "a complex value cannot be written"},
		{[]any{"a"}, schema.String, nil, "cannot be written as a string"},
	} {
		got, err := coerce(tc.in, tc.typ)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, "%#v → %s", tc.in, tc.typ)
			continue
		}
		require.NoError(t, err, "%#v → %s", tc.in, tc.typ)
		require.Equal(t, tc.want, got, "%#v → %s", tc.in, tc.typ)
	}
}

func TestParsePath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Path
		err  string
	}{
		{"userName", Path{Attr: "userName"}, ""},
		{" name.givenName ", Path{Attr: "name", Sub: "givenName"}, ""},
		{`emails[type eq "work"].value`, Path{Attr: "emails", Conds: []Cond{{"type", "work"}}, Sub: "value"}, ""},
		{`addresses[type eq "work" and primary eq true].locality`, Path{Attr: "addresses", Conds: []Cond{{"type", "work"}, {"primary", true}}, Sub: "locality"}, ""},
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", Path{URN: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", Attr: "manager"}, ""},
		{`emails[type eq "work"]`, Path{}, "must be followed by a sub-attribute"},
		{`emails[type pr].value`, Path{}, "only sub-attribute eq value"},
		{`emails[not (type eq "work")].value`, Path{}, "only sub-attribute eq value"},
		{`emails[type eq "a" and type eq "b"].value`, Path{}, "compares \"type\" twice"},
		{`emails[type eq null].value`, Path{}, "null cannot select"},
		{``, Path{}, "empty path"},
	} {
		got, err := ParsePath(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}
