package sqlfilter_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store/sqlfilter"
)

// pgStr is the PostgreSQL dialect's typed extraction of a string.
func pgStr(doc, path string) string {
	return "CASE jsonb_typeof(" + doc + " #> '" + path + "'::text[]) WHEN 'string' THEN (" + doc + " #>> '" + path + `'::text[]) COLLATE "C" END`
}

// The PostgreSQL dialect: the same shapes as SQLite's, with $n placeholders,
// jsonb extraction, prefix ranges with a bound successor, and LIKE with
// escaped wildcards for substrings and suffixes. store/postgres proves the
// semantics with the conformance suite.
func TestBuildPostgres(t *testing.T) {
	t.Parallel()
	users, groups := schema.Default().User(), schema.Default().Group()
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	tests := []struct {
		name     string
		rt       *schema.ResourceType
		filter   string
		wantSQL  string
		wantArgs []any
	}{
		{"EqFoldedColumn", users, `userName eq "BJensen"`,
			`r.user_name_fold = $1`, []any{"bjensen"}},
		{"NeIsNotEq", users, `userName ne "x"`,
			`NOT COALESCE(r.user_name_fold = $1, FALSE)`, []any{"x"}},
		{"SwIsRangeWithSuccessor", users, `userName sw "J"`,
			`(r.user_name_fold >= $1 AND r.user_name_fold < $2)`, []any{"j", "k"}},
		{"CoIsLikeWithEscapes", users, `userName co "a_%\\"`,
			`r.user_name_fold LIKE $1`, []any{`%a\_\%\\%`}},
		{"Ew", users, `userName ew ".COM"`,
			`r.user_name_fold LIKE $1`, []any{"%.com"}},
		{"EmptyNeedleMatchesAnyString", users, `userName co ""`,
			`r.user_name_fold IS NOT NULL`, nil},
		{"CaseExactColumn", users, `externalId eq "E1"`,
			`r.external_id = $1`, []any{"E1"}},
		{"SubAttributeJSON", users, `name.familyName eq "Jensen"`,
			`roster_fold(` + pgStr("r.attrs", `{"name","familyName"}`) + `) = $1`, []any{"jensen"}},
		{"Boolean", users, `active eq true`,
			`CASE jsonb_typeof(r.attrs #> '{"active"}'::text[]) WHEN 'boolean' THEN (r.attrs #> '{"active"}'::text[])::boolean END = $1`,
			[]any{true}},
		{"ExtensionPath", users, ent + `:manager.value eq "M1"`,
			`roster_fold(` + pgStr("r.attrs", `{"`+ent+`","manager","value"}`) + `) = $1`, []any{"m1"}},
		{"MultiValuedSubAttribute", users, `emails.value eq "A@x.com"`,
			`r.seq IN (SELECT v.resource_seq FROM resource_values v WHERE v.tenant = $2 AND v.attr = $3 AND v.value_fold = $1)`,
			[]any{"a@x.com", tenant, "emails"}},
		{"ValuePathPrefix", users, `emails[type eq "work" and value sw "Bob"]`,
			`r.seq IN (SELECT v.resource_seq FROM resource_values v WHERE v.tenant = $4 AND v.attr = $5 AND (v.type_fold = $1 AND (v.value_fold >= $2 AND v.value_fold < $3)))`,
			[]any{"work", "bob", "boc", tenant, "emails"}},
		{"MultiValuedString", testType(), testExt + `:tags eq "RED"`,
			`EXISTS (SELECT 1 FROM jsonb_array_elements(CASE jsonb_typeof(r.attrs #> '{"` + testExt + `","tags"}'::text[]) ` +
				`WHEN 'array' THEN r.attrs #> '{"` + testExt + `","tags"}'::text[] ` +
				`ELSE jsonb_build_array(r.attrs #> '{"` + testExt + `","tags"}'::text[]) END) AS je(value) ` +
				`WHERE roster_fold(` + pgStr("je.value", `{}`) + `) = $1)`,
			[]any{"red"}},
		{"MetaCreatedNormalized", users, `meta.created gt "2024-01-01T01:00:00+01:00"`,
			`r.created > $1`, []any{"2024-01-01T00:00:00.000000000Z"}},
		{"SchemasExtension", users, `schemas eq "` + ent + `"`,
			`((jsonb_typeof(r.attrs #> '{"` + ent + `"}'::text[]) = 'object' AND (r.attrs #> '{"` + ent + `"}'::text[]) <> '{}'::jsonb))`, nil},
		{"GroupMembersValuePath", groups, `members[type eq "User" and display sw "b"]`,
			`r.seq IN (SELECT m.group_seq FROM memberships m JOIN resources x ON x.seq = m.member_seq WHERE x.tenant = $4 AND (roster_fold(x.type) = $1 AND (roster_fold(x.display) >= $2 AND roster_fold(x.display) < $3)))`,
			[]any{"user", "b", "c", tenant}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sql, args, err := sqlfilter.Build(mustFilter(t, tc.rt, tc.filter), tc.rt, sqlfilter.Postgres{}, tenant)
			require.NoError(t, err)
			require.Equal(t, tc.wantSQL, sql)
			require.Equal(t, tc.wantArgs, args)
		})
	}
}

const testExt = "urn:example:ext:2.0:User"

// testType is the User type with an extension holding a multi-valued
// string attribute.
func testType() *schema.ResourceType {
	rt := *schema.Default().User()
	rt.Extensions = append(append([]schema.Extension(nil), rt.Extensions...), schema.Extension{Schema: &schema.Schema{
		ID: testExt, Name: "Ext", Attributes: []*schema.Attribute{schema.Str("tags", schema.Multi)},
	}})
	return &rt
}

// The successor of a prefix skips the surrogates and carries over
// U+10FFFF; a prefix of U+10FFFF only has none and falls back to LIKE.
func TestPostgresHasPrefix(t *testing.T) {
	t.Parallel()
	d := sqlfilter.Postgres{}
	for _, tc := range []struct {
		prefix   string
		wantSQL  string
		wantArgs []any
	}{
		{"ab", "(x >= $1 AND x < $2)", []any{"ab", "ac"}},
		{"a\uD7FF", "(x >= $1 AND x < $2)", []any{"a\uD7FF", "a\uE000"}},
		{"a\U0010FFFF", "(x >= $1 AND x < $2)", []any{"a\U0010FFFF", "b"}},
		{"é", "(x >= $1 AND x < $2)", []any{"é", "ê"}},
		{"\U0010FFFF\U0010FFFF", "x LIKE $1", []any{"\U0010FFFF\U0010FFFF%"}},
		{"100%_", "(x >= $1 AND x < $2)", []any{"100%_", "100%`"}},
	} {
		a := sqlfilter.NewArgs(d)
		require.Equal(t, tc.wantSQL, d.HasPrefix(a, "x", tc.prefix), "%q", tc.prefix)
		require.Equal(t, tc.wantArgs, a.Values(), "%q", tc.prefix)
	}
}

func TestPostgresJSONPath(t *testing.T) {
	t.Parallel()
	d := sqlfilter.Postgres{}
	p, err := d.JSONPath("urn:x:y:User", "manager", 0)
	require.NoError(t, err)
	require.Equal(t, `'{"urn:x:y:User","manager",0}'::text[]`, p)
	p, err = d.JSONPath(`a"b`, `c\d`, "it's", "x,y}")
	require.NoError(t, err)
	require.Equal(t, `'{"a\"b","c\\d","it''s","x,y}"}'::text[]`, p)
	for _, bad := range []string{"", "a\x00b", "\xff"} {
		_, err := d.JSONPath(bad)
		require.Error(t, err, "%q", bad)
	}
}

func TestPostgresOrderBy(t *testing.T) {
	t.Parallel()
	users := schema.Default().User()
	a := sqlfilter.NewArgs(sqlfilter.Postgres{})
	sql, err := sqlfilter.OrderBy(a, &filter.AttrPath{URI: schema.UserURN, Name: "emails", Sub: "value"}, true, users)
	require.NoError(t, err)
	require.Equal(t, `(SELECT NULLIF(v.value_fold, '') FROM resource_values v WHERE v.resource_seq = r.seq AND v.attr = $1 `+
		`ORDER BY CASE WHEN v.is_primary = $2 THEN 0 ELSE 1 END, v.idx LIMIT 1) DESC NULLS FIRST, r.seq`, sql)
	require.Equal(t, []any{"emails", true}, a.Values())
}
