package sqlfilter_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
	"github.com/rosterhq/roster/internal/store/sqlfilter"
)

const tenant = int64(7)

func mustFilter(t *testing.T, rt *schema.ResourceType, s string) filter.Expr {
	t.Helper()
	e, err := filter.Parse(s)
	require.NoError(t, err)
	v, err := filter.Validate(e, rt)
	require.NoError(t, err)
	return v
}

// jsonStr is the SQLite dialect's typed extraction of a string.
func jsonStr(doc, path string) string {
	return "CASE json_type(" + doc + ", '" + path + "') WHEN 'text' THEN json_extract(" + doc + ", '" + path + "') END"
}

// The semantics are proven against filter.Eval by the differential test of
// store/storetest; these tests pin the SQL shape: index-friendly columns,
// bound values, and NULL-safe negation.
func TestBuild(t *testing.T) {
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
			`r.user_name_fold = ?1`, []any{"bjensen"}},
		{"NeIsNotEq", users, `userName ne "x"`,
			`NOT COALESCE(r.user_name_fold = ?1, FALSE)`, []any{"x"}},
		{"SwIsRange", users, `userName sw "J"`,
			`(r.user_name_fold >= ?1 AND r.user_name_fold < (?1 || x'ff'))`, []any{"j"}},
		{"CoBindsLikeCharsVerbatim", users, `userName co "a_%"`,
			`instr(r.user_name_fold, ?1) > 0`, []any{"a_%"}},
		{"Ew", users, `userName ew ".COM"`,
			`substr(r.user_name_fold, -length(?1)) = ?1`, []any{".com"}},
		{"EmptyNeedleMatchesAnyString", users, `userName co ""`,
			`r.user_name_fold IS NOT NULL`, nil},
		{"Pr", users, `userName pr`,
			`r.user_name_fold <> ''`, nil},
		{"EqNullIsNotPr", users, `userName eq null`,
			`NOT COALESCE(r.user_name_fold <> '', FALSE)`, nil},
		{"NeNullIsPr", users, `displayName ne null`,
			`r.display_name_fold <> ''`, nil},
		{"CaseExactColumn", users, `externalId eq "E1"`,
			`r.external_id = ?1`, []any{"E1"}},
		{"CaseExactOrder", users, `externalId gt "E"`,
			`r.external_id > ?1`, []any{"E"}},
		{"ID", users, `id eq "x"`,
			`r.id = ?1`, []any{"x"}},
		{"SubAttributeJSON", users, `name.familyName eq "Jensen"`,
			`roster_fold(` + jsonStr("r.attrs", `$."name"."familyName"`) + `) = ?1`, []any{"jensen"}},
		{"Boolean", users, `active eq true`,
			`CASE json_type(r.attrs, '$."active"') WHEN 'true' THEN 1 WHEN 'false' THEN 0 END = ?1`, []any{true}},
		{"ExtensionPath", users, ent + `:manager.value eq "M1"`,
			`roster_fold(` + jsonStr("r.attrs", `$."`+ent+`"."manager"."value"`) + `) = ?1`, []any{"m1"}},
		{"MultiValuedSubAttribute", users, `emails.value eq "A@x.com"`,
			`r.seq IN (SELECT v.resource_seq FROM resource_values v WHERE v.tenant = ?2 AND v.attr = ?3 AND v.value_fold = ?1)`,
			[]any{"a@x.com", tenant, "emails"}},
		{"ComplexWithoutSubIsValue", users, `emails co "@X"`,
			`r.seq IN (SELECT v.resource_seq FROM resource_values v WHERE v.tenant = ?2 AND v.attr = ?3 AND instr(v.value_fold, ?1) > 0)`,
			[]any{"@x", tenant, "emails"}},
		{"ValuePath", users, `emails[type eq "work" and value co "@x"]`,
			`r.seq IN (SELECT v.resource_seq FROM resource_values v WHERE v.tenant = ?3 AND v.attr = ?4 AND (v.type_fold = ?1 AND instr(v.value_fold, ?2) > 0))`,
			[]any{"work", "@x", tenant, "emails"}},
		{"EntraValuePathForm", users, `emails[type eq "work"].value eq "A@x.com"`,
			`r.seq IN (SELECT v.resource_seq FROM resource_values v WHERE v.tenant = ?3 AND v.attr = ?4 AND (v.type_fold = ?1 AND v.value_fold = ?2))`,
			[]any{"work", "a@x.com", tenant, "emails"}},
		{"NotValuePath", users, `not (emails[type eq "work"])`,
			`NOT (r.seq IN (SELECT v.resource_seq FROM resource_values v WHERE v.tenant = ?2 AND v.attr = ?3 AND v.type_fold = ?1))`,
			[]any{"work", tenant, "emails"}},
		{"NotInsideValuePath", users, `emails[not (type eq "work")]`,
			`r.seq IN (SELECT v.resource_seq FROM resource_values v WHERE v.tenant = ?2 AND v.attr = ?3 AND NOT COALESCE(v.type_fold = ?1, FALSE))`,
			[]any{"work", tenant, "emails"}},
		{"MultiValuedPr", users, `emails pr`,
			`r.seq IN (SELECT v.resource_seq FROM resource_values v WHERE v.tenant = ?1 AND v.attr = ?2 AND v.present)`,
			[]any{tenant, "emails"}},
		{"PrimaryColumn", users, `emails.primary eq true`,
			`r.seq IN (SELECT v.resource_seq FROM resource_values v WHERE v.tenant = ?2 AND v.attr = ?3 AND v.is_primary = ?1)`,
			[]any{true, tenant, "emails"}},
		{"CaseExactSubAttributeUsesIndexThenRaw", users, `x509Certificates.value eq "QUJD"`,
			`r.seq IN (SELECT v.resource_seq FROM resource_values v WHERE v.tenant = ?3 AND v.attr = ?4 AND (v.value_fold = ?1 AND ` +
				jsonStr("v.elem", `$."value"`) + ` = ?2))`,
			[]any{"qujd", "QUJD", tenant, "x509Certificates"}},
		{"MetaCreatedNormalized", users, `meta.created gt "2024-01-01T01:00:00+01:00"`,
			`r.created > ?1`, []any{"2024-01-01T00:00:00.000000000Z"}},
		{"MetaVersion", users, `meta.version eq "W/\"3\""`,
			`('W/"' || r.version || '"') = ?1`, []any{`W/"3"`}},
		{"MetaResourceTypeConstant", users, `meta.resourceType eq "User"`,
			`TRUE`, nil},
		{"NotMetaResourceTypeConstant", users, `not (meta.resourceType eq "Group")`,
			`TRUE`, nil},
		{"SchemasExtension", users, `schemas eq "` + ent + `"`,
			`((json_type(r.attrs, '$."` + ent + `"') = 'object' AND json_extract(r.attrs, '$."` + ent + `"') <> '{}'))`, nil},
		{"UserGroups", users, `groups.value eq "g1"`,
			`r.seq IN (SELECT m.member_seq FROM memberships m JOIN resources x ON x.seq = m.group_seq WHERE x.tenant = ?2 AND x.id = ?1)`,
			[]any{"g1", tenant}},
		{"NegationNormalForm", users, `title pr and not (active eq false or displayName co "x")`,
			`(` + jsonStr("r.attrs", `$."title"`) + ` <> '' AND (NOT COALESCE(CASE json_type(r.attrs, '$."active"') WHEN 'true' THEN 1 WHEN 'false' THEN 0 END = ?1, FALSE) AND NOT COALESCE(instr(r.display_name_fold, ?2) > 0, FALSE)))`,
			[]any{false, "x"}},
		{"DoubleNegation", users, `not (not (userName eq "a"))`,
			`r.user_name_fold = ?1`, []any{"a"}},
		{"GroupMembers", groups, `members eq "u1"`,
			`r.seq IN (SELECT m.group_seq FROM memberships m JOIN resources x ON x.seq = m.member_seq WHERE x.tenant = ?2 AND x.id = ?1)`,
			[]any{"u1", tenant}},
		{"GroupMembersPr", groups, `members pr`,
			`EXISTS (SELECT 1 FROM memberships m WHERE m.group_seq = r.seq)`, nil},
		{"GroupMembersValuePath", groups, `members[type eq "User" and display sw "b"]`,
			`r.seq IN (SELECT m.group_seq FROM memberships m JOIN resources x ON x.seq = m.member_seq WHERE x.tenant = ?3 AND (roster_fold(x.type) = ?1 AND (roster_fold(x.display) >= ?2 AND roster_fold(x.display) < (?2 || x'ff'))))`,
			[]any{"user", "b", tenant}},
		{"GroupDisplayName", groups, `displayName eq "Admins"`,
			`r.display_name_fold = ?1`, []any{"admins"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sql, args, err := sqlfilter.Build(mustFilter(t, tc.rt, tc.filter), tc.rt, sqlfilter.SQLite{}, tenant)
			require.NoError(t, err)
			require.Equal(t, tc.wantSQL, sql)
			require.Equal(t, tc.wantArgs, args)
		})
	}
}

func TestBuildNil(t *testing.T) {
	t.Parallel()
	sql, args, err := sqlfilter.Build(nil, schema.Default().User(), sqlfilter.SQLite{}, tenant)
	require.NoError(t, err)
	require.Equal(t, "TRUE", sql)
	require.Empty(t, args)
}

func TestBuildUnsupported(t *testing.T) {
	t.Parallel()
	users, groups := schema.Default().User(), schema.Default().Group()
	for _, tc := range []struct {
		rt     *schema.ResourceType
		filter string
	}{
		{users, `meta.location eq "https://example.com/Users/1"`},
		{groups, `members.$ref pr`},
	} {
		_, _, err := sqlfilter.Build(mustFilter(t, tc.rt, tc.filter), tc.rt, sqlfilter.SQLite{}, tenant)
		require.ErrorIs(t, err, sqlfilter.ErrUnsupported, tc.filter)
		se := scimerr.As(err)
		require.NotNil(t, se, tc.filter)
		require.Equal(t, scimerr.TypeInvalidFilter, se.ScimType)
	}
}

// Args shares placeholders between fragments of one statement.
func TestWhereSharesArgs(t *testing.T) {
	t.Parallel()
	users := schema.Default().User()
	a := sqlfilter.NewArgs(sqlfilter.SQLite{})
	prefix := "r.tenant = " + a.Add(tenant) + " AND r.type = " + a.Add("User")
	w, err := sqlfilter.Where(a, mustFilter(t, users, `emails.value eq "x"`), users, tenant)
	require.NoError(t, err)
	require.Equal(t, "r.tenant = ?1 AND r.type = ?2", prefix)
	require.Equal(t, `r.seq IN (SELECT v.resource_seq FROM resource_values v WHERE v.tenant = ?4 AND v.attr = ?5 AND v.value_fold = ?3)`, w)
	require.Equal(t, []any{tenant, "User", "x", tenant, "emails"}, a.Values())
}

func TestOrderBy(t *testing.T) {
	t.Parallel()
	users := schema.Default().User()
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	emailKey := `(SELECT NULLIF(v.value_fold, '') FROM resource_values v WHERE v.resource_seq = r.seq AND v.attr = ?1 ` +
		`ORDER BY CASE WHEN v.is_primary = ?2 THEN 0 ELSE 1 END, v.idx LIMIT 1)`
	tests := []struct {
		name     string
		path     *filter.AttrPath
		desc     bool
		wantSQL  string
		wantArgs []any
	}{
		{"CreationOrder", nil, false, "r.seq", nil},
		{"UserName", &filter.AttrPath{URI: schema.UserURN, Name: "userName"}, false,
			`NULLIF(r.user_name_fold, '') ASC NULLS LAST, r.seq`, nil},
		{"UserNameDescending", &filter.AttrPath{URI: schema.UserURN, Name: "userName"}, true,
			`NULLIF(r.user_name_fold, '') DESC NULLS FIRST, r.seq`, nil},
		{"SubAttribute", &filter.AttrPath{URI: schema.UserURN, Name: "name", Sub: "familyName"}, false,
			`NULLIF(roster_fold(` + jsonStr("r.attrs", `$."name"."familyName"`) + `), '') ASC NULLS LAST, r.seq`, nil},
		{"MultiValuedPrimaryOrFirst", &filter.AttrPath{URI: schema.UserURN, Name: "emails", Sub: "value"}, false,
			emailKey + ` ASC NULLS LAST, r.seq`, []any{"emails", true}},
		{"MultiValuedComplexIsValue", &filter.AttrPath{URI: schema.UserURN, Name: "emails"}, true,
			emailKey + ` DESC NULLS FIRST, r.seq`, []any{"emails", true}},
		{"CaseExact", &filter.AttrPath{Name: "externalId"}, false,
			`NULLIF(r.external_id, '') ASC NULLS LAST, r.seq`, nil},
		{"DateTime", &filter.AttrPath{Name: "meta", Sub: "lastModified"}, false,
			`r.modified ASC NULLS LAST, r.seq`, nil},
		{"Extension", &filter.AttrPath{URI: ent, Name: "manager", Sub: "value"}, false,
			`NULLIF(roster_fold(` + jsonStr("r.attrs", `$."`+ent+`"."manager"."value"`) + `), '') ASC NULLS LAST, r.seq`, nil},
		{"Constant", &filter.AttrPath{Name: "meta", Sub: "resourceType"}, false, "r.seq", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := sqlfilter.NewArgs(sqlfilter.SQLite{})
			sql, err := sqlfilter.OrderBy(a, tc.path, tc.desc, users)
			require.NoError(t, err)
			require.Equal(t, tc.wantSQL, sql)
			require.Equal(t, tc.wantArgs, a.Values())
		})
	}
	for _, p := range []filter.AttrPath{
		{URI: schema.UserURN, Name: "name"},
		{URI: schema.UserURN, Name: "groups", Sub: "value"},
		{Name: "meta", Sub: "location"},
		{Name: "nope"},
	} {
		_, err := sqlfilter.OrderBy(sqlfilter.NewArgs(sqlfilter.SQLite{}), &p, false, users)
		require.Error(t, err, p.String())
	}
}

func TestElements(t *testing.T) {
	t.Parallel()
	const ext = "urn:example:ext"
	got := sqlfilter.Elements(map[string]any{
		"userName": "x",
		"emails": []any{
			map[string]any{"value": "A@x.com", "type": "Work", "primary": true},
			"not a map",
			map[string]any{"display": ""},
		},
		"tags": []any{"a", "b"},
		"name": map[string]any{"givenName": "G"},
		ext:    map[string]any{"badges": []any{map[string]any{"value": int64(3)}}},
	})
	require.Equal(t, []sqlfilter.Element{
		{Attr: "emails", Index: 0, ValueFold: "a@x.com", TypeFold: "work", Primary: true, Present: true,
			Elem: map[string]any{"value": "A@x.com", "type": "Work", "primary": true}},
		{Attr: "emails", Index: 2, Present: false, Elem: map[string]any{"display": ""}},
		{Attr: ext + ":badges", Index: 0, Present: true, Elem: map[string]any{"value": int64(3)}},
	}, got)
}

func TestJSONPath(t *testing.T) {
	t.Parallel()
	d := sqlfilter.SQLite{}
	p, err := d.JSONPath("urn:x:y:User", "manager", 0)
	require.NoError(t, err)
	require.Equal(t, `'$."urn:x:y:User"."manager"[0]'`, p)
	for _, bad := range []string{`a"b`, `a'b`, `a\b`, ""} {
		_, err := d.JSONPath(bad)
		require.Error(t, err, bad)
	}
}

func TestEscapeLike(t *testing.T) {
	t.Parallel()
	require.Equal(t, `100\%\_off \\ x`, sqlfilter.EscapeLike(`100%_off \ x`))
}
