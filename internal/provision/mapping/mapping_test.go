package mapping_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/expr"
	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/mapping"
	"github.com/rosterhq/roster/internal/provision/source"
)

const (
	ent     = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	userURN = "urn:ietf:params:scim:schemas:core:2.0:User"
	bossDN  = "uid=boss,ou=people,dc=example,dc=com"
)

// ldapUser is an inetOrgPerson as the LDAP source reads it: every value a
// string.
func ldapUser(change func(map[string]source.Values)) source.Object {
	a := map[string]source.Values{
		"uid":              {"jdoe"},
		"entryUUID":        {"6f1c-uuid"},
		"cn":               {"John Doe"},
		"displayName":      {"John Doe"},
		"givenName":        {"John"},
		"sn":               {"Doe"},
		"title":            {"Engineer"},
		"mail":             {"jdoe@example.com", "john@example.com"},
		"telephoneNumber":  {"+1 555 0100"},
		"mobile":           {"+1 555 0199"},
		"employeeNumber":   {"4711"},
		"departmentNumber": {"R&D"},
		"ou":               {"People"},
		"manager":          {bossDN},
	}
	if change != nil {
		change(a)
	}
	return source.Object{Anchor: "6f1c-uuid", Kind: source.User, Attributes: a}
}

// scimUser decodes a SCIM resource as scimsource does: numbers stay
// json.Number, complex values maps, [] and null are null.
func scimUser(t *testing.T, doc string) source.Object {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader([]byte(doc)))
	d.UseNumber()
	var m map[string]any
	require.NoError(t, d.Decode(&m))
	o := source.Object{Anchor: m["id"].(string), Kind: source.User, Attributes: map[string]source.Values{}}
	for k, v := range m {
		switch k {
		case "id", "schemas", "meta", "members":
			continue
		}
		switch v := v.(type) {
		case nil:
			o.Attributes[k] = nil
		case []any:
			if len(v) > 0 {
				o.Attributes[k] = v
			} else {
				o.Attributes[k] = nil
			}
		default:
			o.Attributes[k] = source.Values{v}
		}
	}
	return o
}

const scimDoc = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "id": "src-1",
  "userName": "jdoe@example.com",
  "active": true,
  "displayName": "John Doe",
  "title": "Engineer",
  "name": {"givenName": "John", "familyName": "Doe"},
  "emails": [{"type": "home", "value": "john@home.example"}, {"type": "Work", "value": "jdoe@example.com", "primary": true}],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "employeeNumber": 4711, "department": "R&D", "manager": {"value": "src-boss", "displayName": "Boss"}
  },
  "urn:ietf:params:scim:schemas:extension:acme:2.0:User": {"badge": 12},
  "meta": {"resourceType": "User"}
}`

// resolver resolves the boss by DN and by SCIM source id.
func resolver(src string) (string, bool) {
	switch src {
	case bossDN, "src-boss":
		return "tgt-boss", true
	case "uid=boss2,ou=people,dc=example,dc=com":
		return "tgt-boss2", true
	}
	return "", false
}

func d(target, src string) job.Mapping {
	return job.Mapping{Target: target, Kind: job.KindDirect, Source: src}
}

func c(target, value string) job.Mapping {
	return job.Mapping{Target: target, Kind: job.KindConstant, Value: value}
}

func x(target, e string) job.Mapping {
	return job.Mapping{Target: target, Kind: job.KindExpression, Expression: e}
}

func compile(t *testing.T, typ string, ms ...job.Mapping) *mapping.Set {
	t.Helper()
	s, err := mapping.Compile(typ, ms)
	require.NoError(t, err)
	return s
}

func values(e []mapping.Entry) map[string]any {
	out := map[string]any{}
	for _, e := range e {
		out[e.Path] = e.Value
	}
	return out
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ms   []job.Mapping
		want string
	}{
		{"UnknownKind", []job.Mapping{{Target: "title", Kind: "Magic", Source: "x"}}, `mapping 0 (target "title"): kind "Magic"`},
		{"BadFlow", []job.Mapping{{Target: "title", Source: "x", Flow: "Sometimes"}}, `flow "Sometimes"`},
		{"DirectWithoutSource", []job.Mapping{{Target: "title"}}, "needs a source"},
		{"ReadOnlyID", []job.Mapping{d("id", "uid")}, "id is read-only"},
		{"ReadOnlyMeta", []job.Mapping{d("meta.created", "x")}, "meta is read-only"},
		{"ReadOnlyGroups", []job.Mapping{d(`groups[type eq "direct"].value`, "x")}, "groups is read-only"},
		{"ComplexWithoutSub", []job.Mapping{d("name", "cn")}, "name is complex"},
		{"MultiValuedWithoutFilter", []job.Mapping{d("emails.value", "mail")}, "select an element with a value filter"},
		{"FilterNotEq", []job.Mapping{d(`emails[type ne "work"].value`, "mail")}, "only sub-attribute eq value"},
		{"FilterOr", []job.Mapping{d(`emails[type eq "work" or type eq "home"].value`, "mail")}, "only sub-attribute eq value"},
		{"FilterWithoutSub", []job.Mapping{d(`emails[type eq "work"]`, "mail")}, "must be followed by a sub-attribute"},
		{"FilterUnknownSub", []job.Mapping{d(`emails[kind eq "work"].value`, "mail")}, `no sub-attribute "kind"`},
		{"FilterOnSingleValued", []job.Mapping{d(`name[givenName eq "x"].familyName`, "sn")}, "not one"},
		{"UnknownSub", []job.Mapping{d("name.nickname", "x")}, `no sub-attribute "nickname"`},
		{"ManagerDisplayName", []job.Mapping{d("manager.displayName", "x")}, "manager is a reference"},
		{"UnknownEnterpriseAttr", []job.Mapping{d(ent+":badge", "x")}, "unknown attribute"},
		{"UnknownSchemaFilter", []job.Mapping{d(`urn:acme:User:tags[type eq "a"].value`, "x")}, "unknown schema"},
		{"Duplicate", []job.Mapping{d("userName", "uid"), d("USERNAME", "mail")}, `mapping 1 (target "USERNAME"): the target is mapped already by mapping 0`},
		{"DuplicateEnterprise", []job.Mapping{d("department", "ou"), d(ent+":department", "x")}, "mapped already"},
		{"BadExpression", []job.Mapping{x("displayName", `Join(" ", [a]`)}, "expression:"},
		{"UnknownFunction", []job.Mapping{x("displayName", `Nope([a])`)}, "expression:"},
		{"ConstantNotBoolean", []job.Mapping{c("active", "maybe")}, `mapping 0 (target "active"): value: "maybe" is not a boolean`},
		{"DefaultNotBoolean", []job.Mapping{{Target: "active", Source: "x", Default: "sometimes"}}, "default:"},
		{"BadPath", []job.Mapping{d("emails[type eq", "x")}, "mapping 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := mapping.Compile("User", tc.ms)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			var me *mapping.MappingError
			require.True(t, errors.As(err, &me))
		})
	}
	_, err := mapping.Compile("Device", nil)
	require.ErrorContains(t, err, "unknown resource type")
}

func TestPaths(t *testing.T) {
	t.Parallel()
	s := compile(t, "User",
		d("USERNAME", "uid"),
		d(`Emails[Type eq "work"].Value`, "mail"),
		d("manager", "manager"),
		d("employeeNumber", "n"),
		d(userURN+":name.givenName", "givenName"),
		d(`roles[primary eq "True"].value`, "role"),
		d("urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge", "badge"),
		d("costume", "x"),
	)
	require.Equal(t, []string{
		"userName",
		`emails[type eq "work"].value`,
		ent + ":manager",
		ent + ":employeeNumber",
		"name.givenName",
		"roles[primary eq true].value",
		"urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge",
		"costume",
	}, s.Paths())
	require.Equal(t, []string{ent + ":manager"}, compile(t, "User", d(ent+":manager.value", "m")).Paths())
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	scim := scimUser(t, scimDoc)
	for _, tc := range []struct {
		name string
		ms   []job.Mapping
		obj  source.Object
		want map[string]any
		err  string
	}{
		{"DirectCaseInsensitive", []job.Mapping{d("name.givenName", "GIVENNAME")}, ldapUser(nil),
			map[string]any{"name.givenName": "John"}, ""},
		{"SingleValuedTakesFirst", []job.Mapping{d(`emails[type eq "work"].value`, "mail")}, ldapUser(nil),
			map[string]any{`emails[type eq "work"].value`: "jdoe@example.com"}, ""},
		{"Constant", []job.Mapping{c("active", "True"), c("userType", "Employee")}, ldapUser(nil),
			map[string]any{"active": true, "userType": "Employee"}, ""},
		{"ExpressionJoin", []job.Mapping{x("name.formatted", `Join(" ", [givenName], [sn])`)}, ldapUser(nil),
			map[string]any{"name.formatted": "John Doe"}, ""},
		{"ExpressionJoinSkipsAbsent", []job.Mapping{x("name.formatted", `Join(" ", [givenName], [sn])`)},
			ldapUser(func(a map[string]source.Values) { delete(a, "givenName") }),
			map[string]any{"name.formatted": "Doe"}, ""},
		{"ExpressionMultiValued", []job.Mapping{x("nickName", `Join(",", [mail])`), x("title", `Count([mail])`)}, ldapUser(nil),
			map[string]any{"nickName": "jdoe@example.com,john@example.com", "title": "2"}, ""},
		{"ExpressionCoalesce", []job.Mapping{x("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "Coalesce([departmentNumber], [ou])")},
			ldapUser(func(a map[string]source.Values) { delete(a, "departmentNumber") }),
			map[string]any{ent + ":department": "People"}, ""},
		{"ExpressionSkip", []job.Mapping{x("title", `IgnoreFlowIfNullOrEmpty([nothing])`), d("userName", "uid")}, ldapUser(nil),
			map[string]any{"userName": "jdoe"}, ""},
		{"ExpressionError", []job.Mapping{x("title", `BitAnd([sn], 2)`)}, ldapUser(nil), nil, `mapping 0 (target "title")`},
		{"DefaultWhenAbsent", []job.Mapping{{Target: "title", Source: "businessCategory", Default: "Staff"}}, ldapUser(nil),
			map[string]any{"title": "Staff"}, ""},
		{"DefaultWhenEmpty", []job.Mapping{{Target: "title", Source: "title", Default: "Staff"}},
			ldapUser(func(a map[string]source.Values) { a["title"] = source.Values{""} }),
			map[string]any{"title": "Staff"}, ""},
		{"DefaultWhenNull", []job.Mapping{{Target: "title", Source: "title", Default: "Staff"}},
			ldapUser(func(a map[string]source.Values) { a["title"] = nil }),
			map[string]any{"title": "Staff"}, ""},
		{"DefaultNotUsed", []job.Mapping{{Target: "title", Source: "title", Default: "Staff"}}, ldapUser(nil),
			map[string]any{"title": "Engineer"}, ""},
		{"NullWithoutDefault", []job.Mapping{d("title", "businessCategory")}, ldapUser(nil),
			map[string]any{"title": nil}, ""},
		{"BooleanFromText", []job.Mapping{d("active", "a1"), d(`emails[type eq "work"].primary`, "a2")},
			ldapUser(func(a map[string]source.Values) { a["a1"] = source.Values{"FALSE"}; a["a2"] = source.Values{"1"} }),
			map[string]any{"active": false, `emails[type eq "work"].primary`: true}, ""},
		{"BooleanZero", []job.Mapping{d("active", "a1")},
			ldapUser(func(a map[string]source.Values) { a["a1"] = source.Values{json.Number("0")} }),
			map[string]any{"active": false}, ""},
		{"CoercionError", []job.Mapping{d("userName", "uid"), d("active", "title")}, ldapUser(nil), nil,
			`mapping 1 (target "active"): "Engineer" is not a boolean`},
		{"ComplexToStringError", []job.Mapping{d("title", "name")}, scim, nil, "a complex value cannot be written"},
		{"StringFromBool", []job.Mapping{d("title", "active")}, scim, map[string]any{"title": "True"}, ""},
		{"SCIMPaths", []job.Mapping{
			d("userName", "userName"),
			d("active", "active"),
			d("name.givenName", "name.givenName"),
			d(`emails[type eq "work"].value`, `emails[type eq "work"].value`),
			d(ent+":employeeNumber", ent+":employeeNumber"),
			d(ent+":department", ent+":department"),
			d("manager", ent+":manager"),
			d("urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge", "urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge"),
			d("nickName", userURN+":name.familyName"),
		}, scim, map[string]any{
			"userName":                     "jdoe@example.com",
			"active":                       true,
			"name.givenName":               "John",
			`emails[type eq "work"].value`: "jdoe@example.com",
			ent + ":employeeNumber":        "4711",
			ent + ":department":            "R&D",
			ent + ":manager":               "src-boss",
			"urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge": "12",
			"nickName": "Doe",
		}, ""},
		{"SCIMPathInExpression", []job.Mapping{x("displayName", `Join(" ", [name.givenName], [name.familyName])`), x("title", `ToUpper([urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department])`), x("nickName", `Join("-", [id], [userName])`)}, scim,
			map[string]any{"displayName": "John Doe", "title": "R&D", "nickName": "src-1-jdoe@example.com"}, ""},
		{"AnchorAsID", []job.Mapping{d("externalId", "ID")}, ldapUser(nil), map[string]any{"externalId": "6f1c-uuid"}, ""},
		{"SCIMAbsentPath", []job.Mapping{d("title", `emails[type eq "other"].value`), d("nickName", "name.middleName")}, scim,
			map[string]any{"title": nil, "nickName": nil}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := compile(t, "User", tc.ms...)
			v, err := s.Evaluate(tc.obj, expr.Env{})
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, values(v.Entries()))
		})
	}
}

func TestDefaultMappingsCompile(t *testing.T) {
	t.Parallel()
	for name, m := range map[string]job.Mappings{
		"LDAP":            job.DefaultMappings(job.SourceLDAP),
		"SCIM":            job.DefaultMappings(job.SourceSCIM),
		"ActiveDirectory": job.ActiveDirectoryMappings(),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := mapping.Compile("User", m.Users)
			require.NoError(t, err)
			_, err = mapping.Compile("Group", m.Groups)
			require.NoError(t, err)
		})
	}
}

func TestActiveDirectory(t *testing.T) {
	t.Parallel()
	users := compile(t, "User", job.ActiveDirectoryMappings().Users...)
	groups := compile(t, "Group", job.ActiveDirectoryMappings().Groups...)
	for _, tc := range []struct {
		uac  string
		want any
	}{
		{"512", true},
		{"514", false},
		{"66048", true},  // NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD
		{"66050", false}, // … | ACCOUNTDISABLE
	} {
		obj := source.Object{Attributes: map[string]source.Values{
			"userPrincipalName":  {"jdoe@corp.example"},
			"objectGUID":         {"0a1b2c3d-0000-1111-2222-333344445555"},
			"userAccountControl": {tc.uac},
			"employeeID":         {"E1"},
			"manager":            {bossDN},
		}}
		v, err := users.Evaluate(obj, expr.Env{})
		require.NoError(t, err)
		got := values(v.Entries())
		require.Equal(t, tc.want, got["active"], tc.uac)
		require.Equal(t, "jdoe@corp.example", got["userName"])
		require.Equal(t, "E1", got[ent+":employeeNumber"])
	}
	for _, tc := range []struct {
		attrs map[string]source.Values
		want  string
	}{
		{map[string]source.Values{"cn": {"Sales"}}, "Sales"},
		{map[string]source.Values{"cn": {"sales-grp"}, "displayName": {"Sales"}}, "Sales"},
	} {
		v, err := groups.Evaluate(source.Object{Kind: source.Group, Attributes: tc.attrs}, expr.Env{})
		require.NoError(t, err)
		require.Equal(t, tc.want, values(v.Entries())["displayName"])
	}
}

func TestResource(t *testing.T) {
	t.Parallel()
	ldap := job.DefaultMappings(job.SourceLDAP)
	for _, tc := range []struct {
		name        string
		typ         string
		ms          []job.Mapping
		obj         source.Object
		resolve     mapping.Resolver
		want        map[string]any
		wantPending []string
	}{
		{"LDAPDefaults", "User", ldap.Users, ldapUser(nil), resolver, map[string]any{
			"schemas":     []any{userURN, ent},
			"userName":    "jdoe",
			"externalId":  "6f1c-uuid",
			"active":      true,
			"displayName": "John Doe",
			"title":       "Engineer",
			"emails":      []any{map[string]any{"type": "work", "value": "jdoe@example.com", "primary": true}},
			"name":        map[string]any{"givenName": "John", "familyName": "Doe", "formatted": "John Doe"},
			"phoneNumbers": []any{
				map[string]any{"type": "work", "value": "+1 555 0100"},
				map[string]any{"type": "mobile", "value": "+1 555 0199"},
			},
			ent: map[string]any{"employeeNumber": "4711", "department": "R&D", "manager": map[string]any{"value": "tgt-boss"}},
		}, nil},
		{"ManagerPending", "User", ldap.Users[:1:1], ldapUser(nil), nil, map[string]any{
			"schemas": []any{userURN}, "userName": "jdoe",
		}, nil},
		{"UnresolvedManager", "User", []job.Mapping{d("userName", "uid"), d("manager", "manager")},
			ldapUser(func(a map[string]source.Values) { a["manager"] = source.Values{"uid=nobody,dc=example,dc=com"} }),
			resolver, map[string]any{"schemas": []any{userURN}, "userName": "jdoe"},
			[]string{ent + ":manager"}},
		{"NullsLeftOut", "User", []job.Mapping{d("userName", "uid"), d("title", "nothing"), d(ent+":department", "nothing"),
			{Target: "nickName", Source: "nothing", FlowNull: true}}, ldapUser(nil), resolver,
			map[string]any{"schemas": []any{userURN}, "userName": "jdoe"}, nil},
		{"ObjectAddOnlyIncluded", "User", []job.Mapping{d("userName", "uid"), {Target: "password", Kind: job.KindConstant, Value: "S3cret!", Flow: job.FlowObjectAddOnly}},
			ldapUser(nil), resolver, map[string]any{"schemas": []any{userURN}, "userName": "jdoe", "password": "S3cret!"}, nil},
		{"FilteredMerge", "User", []job.Mapping{
			d(`addresses[type eq "work"].streetAddress`, "street"),
			d(`addresses[type eq "work"].locality`, "l"),
			d(`addresses[type eq "home"].locality`, "homeL"),
			d(`emails[type eq "other"].value`, "mail"),
		}, ldapUser(func(a map[string]source.Values) {
			a["street"], a["l"], a["homeL"] = source.Values{"1 Main St"}, source.Values{"Springfield"}, source.Values{"Shelbyville"}
		}), resolver, map[string]any{
			"schemas": []any{userURN},
			"addresses": []any{
				map[string]any{"type": "work", "streetAddress": "1 Main St", "locality": "Springfield"},
				map[string]any{"type": "home", "locality": "Shelbyville"},
			},
			"emails": []any{map[string]any{"type": "other", "value": "jdoe@example.com"}},
		}, nil},
		{"CustomExtension", "User", []job.Mapping{d("urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge", "employeeNumber")},
			ldapUser(nil), resolver, map[string]any{
				"schemas": []any{userURN, "urn:ietf:params:scim:schemas:extension:acme:2.0:User"},
				"urn:ietf:params:scim:schemas:extension:acme:2.0:User": map[string]any{"badge": "4711"},
			}, nil},
		{"SCIMSource", "User", job.DefaultMappings(job.SourceSCIM).Users, scimUser(t, scimDoc), resolver, map[string]any{
			"schemas":     []any{userURN, ent},
			"userName":    "jdoe@example.com",
			"externalId":  "src-1",
			"active":      true,
			"displayName": "John Doe",
			"title":       "Engineer",
			"name":        map[string]any{"givenName": "John", "familyName": "Doe"},
			"emails":      []any{map[string]any{"type": "work", "value": "jdoe@example.com", "primary": true}},
			ent:           map[string]any{"employeeNumber": "4711", "department": "R&D", "manager": map[string]any{"value": "tgt-boss"}},
		}, nil},
		{"Group", "Group", ldap.Groups, source.Object{Kind: source.Group, Attributes: map[string]source.Values{"cn": {"Sales"}, "entryUUID": {"g-1"}}},
			resolver, map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Sales", "externalId": "g-1"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := compile(t, tc.typ, tc.ms...).Evaluate(tc.obj, expr.Env{})
			require.NoError(t, err)
			body, pending := v.Resource(tc.resolve)
			require.Equal(t, tc.want, body)
			var paths []string
			for _, p := range pending {
				paths = append(paths, p.Path)
				require.True(t, p.Reference)
			}
			if tc.name == "ManagerPending" {
				return
			}
			require.Equal(t, tc.wantPending, paths)
			// The body is JSON-ready.
			_, err = json.Marshal(body)
			require.NoError(t, err)
		})
	}
}

// target is a target object as a SCIM server returns it.
const targetDoc = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "id": "tgt-1",
  "userName": "jdoe",
  "externalId": "6f1c-uuid",
  "active": "True",
  "displayName": "John Doe",
  "title": "Engineer",
  "name": {"givenName": "John", "familyName": "Doe", "formatted": "John Doe"},
  "emails": [{"type": "home", "value": "x@home.example"}, {"type": "work", "value": "jdoe@example.com", "primary": true}],
  "phoneNumbers": [{"type": "work", "value": "+1 555 0100"}, {"type": "mobile", "value": "+1 555 0199"}],
  "groups": [{"value": "g1", "display": "Sales"}],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "employeeNumber": "4711", "department": "R&D", "manager": {"value": "tgt-boss", "displayName": "Boss"}
  },
  "meta": {"resourceType": "User", "version": "W/\"1\""}
}`

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &m))
	return m
}

type change struct {
	Path     string
	Old, New any
	Remove   bool
}

func changes(cs []mapping.Change) []change {
	out := []change{}
	for _, c := range cs {
		out = append(out, change{c.Path, c.Old, c.New, c.Remove})
	}
	return out
}

func TestDiff(t *testing.T) {
	t.Parallel()
	ldap := job.DefaultMappings(job.SourceLDAP).Users
	for _, tc := range []struct {
		name        string
		ms          []job.Mapping
		obj         source.Object
		current     func(map[string]any)
		create      bool
		want        []change
		wantPending []string
	}{
		{name: "Unchanged", ms: ldap, obj: ldapUser(nil), want: []change{}},
		{name: "Rename", ms: ldap, obj: ldapUser(func(a map[string]source.Values) {
			a["uid"], a["sn"] = source.Values{"jsmith"}, source.Values{"Smith"}
		}), want: []change{
			{Path: "userName", Old: "jdoe", New: "jsmith"},
			{Path: "name.familyName", Old: "Doe", New: "Smith"},
			{Path: "name.formatted", Old: "John Doe", New: "John Smith"},
		}},
		{name: "WorkEmailFoundByFilter", ms: ldap, obj: ldapUser(func(a map[string]source.Values) {
			a["mail"] = source.Values{"john.doe@example.com"}
		}), want: []change{{Path: `emails[type eq "work"].value`, Old: "jdoe@example.com", New: "john.doe@example.com"}}},
		{name: "AbsentValueOldNil", ms: ldap, obj: ldapUser(nil), current: func(m map[string]any) {
			m["emails"] = []any{map[string]any{"type": "home", "value": "x"}}
			delete(m, "title")
		}, want: []change{
			{Path: "title", Old: nil, New: "Engineer"},
			{Path: `emails[type eq "work"].value`, Old: nil, New: "jdoe@example.com"},
		}},
		{name: "BooleanNormalised", ms: []job.Mapping{c("active", "True")}, obj: ldapUser(nil), current: func(m map[string]any) { m["active"] = true }, want: []change{}},
		{name: "BooleanChanged", ms: []job.Mapping{c("active", "False")}, obj: ldapUser(nil), want: []change{{Path: "active", Old: "True", New: false}}},
		{name: "BooleanStringFalse", ms: []job.Mapping{c("active", "false")}, obj: ldapUser(nil), current: func(m map[string]any) { m["active"] = "false" }, want: []change{}},
		{name: "StringsExact", ms: []job.Mapping{d("title", "title")}, obj: ldapUser(func(a map[string]source.Values) { a["title"] = source.Values{"engineer"} }),
			want: []change{{Path: "title", Old: "Engineer", New: "engineer"}}},
		{name: "ManagerSet", ms: ldap, obj: ldapUser(nil), current: func(m map[string]any) { delete(m[ent].(map[string]any), "manager") },
			want: []change{{Path: ent + ":manager", New: map[string]any{"value": "tgt-boss"}}}},
		{name: "ManagerSetNoExtension", ms: []job.Mapping{d("manager", "manager")}, obj: ldapUser(nil), current: func(m map[string]any) { delete(m, ent) },
			want: []change{{Path: ent + ":manager", New: map[string]any{"value": "tgt-boss"}}}},
		{name: "ManagerChanged", ms: ldap, obj: ldapUser(func(a map[string]source.Values) {
			a["manager"] = source.Values{"uid=boss2,ou=people,dc=example,dc=com"}
		}), want: []change{{Path: ent + ":manager", Old: map[string]any{"value": "tgt-boss", "displayName": "Boss"}, New: map[string]any{"value": "tgt-boss2"}}}},
		{name: "ManagerBareID", ms: []job.Mapping{d("manager", "manager")}, obj: ldapUser(nil), current: func(m map[string]any) {
			m[ent].(map[string]any)["manager"] = "tgt-boss"
		}, want: []change{}},
		{name: "ManagerCleared", ms: ldap, obj: ldapUser(func(a map[string]source.Values) { delete(a, "manager") }),
			want: []change{{Path: ent + ":manager", Old: map[string]any{"value": "tgt-boss", "displayName": "Boss"}, Remove: true}}},
		{name: "ManagerClearedTargetHasNone", ms: []job.Mapping{d("manager", "manager")}, obj: ldapUser(func(a map[string]source.Values) { delete(a, "manager") }),
			current: func(m map[string]any) { delete(m, ent) }, want: []change{}},
		{name: "ManagerUnresolved", ms: []job.Mapping{d("manager", "manager")}, obj: ldapUser(func(a map[string]source.Values) {
			a["manager"] = source.Values{"uid=new,dc=example,dc=com"}
		}), want: []change{}, wantPending: []string{ent + ":manager"}},
		{name: "NullLeavesTarget", ms: []job.Mapping{d("title", "title")}, obj: ldapUser(func(a map[string]source.Values) { delete(a, "title") }), want: []change{}},
		{name: "NullFlows", ms: []job.Mapping{{Target: "title", Source: "title", FlowNull: true}, {Target: `phoneNumbers[type eq "mobile"].value`, Source: "mobile", FlowNull: true}},
			obj:  ldapUser(func(a map[string]source.Values) { delete(a, "title"); a["mobile"] = nil }),
			want: []change{{Path: "title", Old: "Engineer", Remove: true}, {Path: `phoneNumbers[type eq "mobile"].value`, Old: "+1 555 0199", Remove: true}}},
		{name: "NullFlowsTargetEmpty", ms: []job.Mapping{{Target: "nickName", Source: "nickName", FlowNull: true}}, obj: ldapUser(nil), want: []change{}},
		{name: "NullWithDefault", ms: []job.Mapping{{Target: "title", Source: "nothing", Default: "Staff", FlowNull: true}}, obj: ldapUser(nil),
			want: []change{{Path: "title", Old: "Engineer", New: "Staff"}}},
		{name: "ObjectAddOnlySkipped", ms: []job.Mapping{{Target: "title", Kind: job.KindConstant, Value: "New hire", Flow: job.FlowObjectAddOnly}}, obj: ldapUser(nil), want: []change{}},
		{name: "ObjectAddOnlyOnCreate", ms: []job.Mapping{{Target: "title", Kind: job.KindConstant, Value: "New hire", Flow: job.FlowObjectAddOnly}}, obj: ldapUser(nil), create: true,
			want: []change{{Path: "title", Old: "Engineer", New: "New hire"}}},
		{name: "SCIMSource", ms: job.DefaultMappings(job.SourceSCIM).Users, obj: scimUser(t, scimDoc), want: []change{
			{Path: "userName", Old: "jdoe", New: "jdoe@example.com"},
			{Path: "externalId", Old: "6f1c-uuid", New: "src-1"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cur := decode(t, targetDoc)
			if tc.current != nil {
				tc.current(cur)
			}
			v, err := compile(t, "User", tc.ms...).Evaluate(tc.obj, expr.Env{})
			require.NoError(t, err)
			cs, pending := v.Diff(cur, tc.create, resolver)
			require.Equal(t, tc.want, changes(cs))
			var paths []string
			for _, p := range pending {
				paths = append(paths, p.Path)
			}
			require.Equal(t, tc.wantPending, paths)
		})
	}
}

// diff evaluates ms for obj and diffs against targetDoc changed by cur.
func diff(t *testing.T, ms []job.Mapping, obj source.Object, cur func(map[string]any)) (map[string]any, []mapping.Change) {
	t.Helper()
	doc := decode(t, targetDoc)
	if cur != nil {
		cur(doc)
	}
	v, err := compile(t, "User", ms...).Evaluate(obj, expr.Env{})
	require.NoError(t, err)
	cs, _ := v.Diff(doc, false, resolver)
	return doc, cs
}

func TestOps(t *testing.T) {
	t.Parallel()
	_, cs := diff(t, []job.Mapping{
		d("userName", "uid"),
		d("nickName", "cn"),
		{Target: "title", Source: "title", FlowNull: true},
		d(`emails[type eq "work"].value`, "mail"),
		d("manager", "manager"),
		c("active", "False"),
	}, ldapUser(func(a map[string]source.Values) {
		a["uid"], a["mail"] = source.Values{"jsmith"}, source.Values{"js@example.com"}
		delete(a, "title")
		a["manager"] = source.Values{"uid=boss2,ou=people,dc=example,dc=com"}
	}), nil)
	ops := mapping.Ops(cs)
	b, err := json.Marshal(ops)
	require.NoError(t, err)
	require.JSONEq(t, `[
		{"Op":"replace","Path":"userName","Value":"jsmith"},
		{"Op":"add","Path":"nickName","Value":"John Doe"},
		{"Op":"remove","Path":"title","Value":null},
		{"Op":"replace","Path":"emails[type eq \"work\"].value","Value":"js@example.com"},
		{"Op":"replace","Path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","Value":{"value":"tgt-boss2"}},
		{"Op":"replace","Path":"active","Value":false}
	]`, string(b))
	require.Empty(t, mapping.Ops(nil))
}

func TestApply(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		ms    []job.Mapping
		obj   source.Object
		cur   func(map[string]any)
		check func(t *testing.T, before, after map[string]any)
	}{
		{"SetAndDropReadOnly", []job.Mapping{d("userName", "uid"), d(`emails[type eq "work"].value`, "mail"), d("name.givenName", "givenName")},
			ldapUser(func(a map[string]source.Values) {
				a["uid"], a["mail"], a["givenName"] = source.Values{"jsmith"}, source.Values{"js@example.com"}, source.Values{"Jon"}
			}), nil,
			func(t *testing.T, before, after map[string]any) {
				require.Equal(t, "jsmith", after["userName"])
				require.Equal(t, []any{
					map[string]any{"type": "home", "value": "x@home.example"},
					map[string]any{"type": "work", "value": "js@example.com", "primary": true},
				}, after["emails"])
				require.Equal(t, map[string]any{"givenName": "Jon", "familyName": "Doe", "formatted": "John Doe"}, after["name"])
				require.NotContains(t, after, "meta")
				require.NotContains(t, after, "groups")
				require.Equal(t, map[string]any{"value": "tgt-boss"}, after[ent].(map[string]any)["manager"])
				require.Equal(t, "tgt-1", after["id"])
				// current is left as it was.
				require.Equal(t, "jdoe", before["userName"])
				require.Contains(t, before, "meta")
			}},
		{"RemoveFilteredElement", []job.Mapping{{Target: `phoneNumbers[type eq "mobile"].value`, Source: "mobile", FlowNull: true}, {Target: "title", Source: "title", FlowNull: true}},
			ldapUser(func(a map[string]source.Values) { delete(a, "mobile"); delete(a, "title") }), nil,
			func(t *testing.T, _, after map[string]any) {
				require.Equal(t, []any{map[string]any{"type": "work", "value": "+1 555 0100"}}, after["phoneNumbers"])
				require.NotContains(t, after, "title")
			}},
		{"RemoveManagerDropsEmptyExtension", []job.Mapping{d("manager", "manager")},
			ldapUser(func(a map[string]source.Values) { delete(a, "manager") }),
			func(m map[string]any) { m[ent] = map[string]any{"manager": map[string]any{"value": "tgt-boss"}} },
			func(t *testing.T, _, after map[string]any) {
				require.NotContains(t, after, ent)
			}},
		{"AddExtensionAndElement", []job.Mapping{d(ent+":costCenter", "employeeNumber"), d(`addresses[type eq "work"].locality`, "l")},
			ldapUser(func(a map[string]source.Values) { a["l"] = source.Values{"Springfield"} }),
			func(m map[string]any) { delete(m, ent); m["schemas"] = []any{userURN} },
			func(t *testing.T, _, after map[string]any) {
				require.Equal(t, map[string]any{"costCenter": "4711"}, after[ent])
				require.Equal(t, []any{userURN, ent}, after["schemas"])
				require.Equal(t, []any{map[string]any{"type": "work", "locality": "Springfield"}}, after["addresses"])
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before, cs := diff(t, tc.ms, tc.obj, tc.cur)
			require.NotEmpty(t, cs)
			tc.check(t, before, mapping.Apply(before, cs))
		})
	}
}

func TestMatchKeys(t *testing.T) {
	t.Parallel()
	s := compile(t, "User",
		job.Mapping{Target: "externalId", Source: "entryUUID", Matching: true, Precedence: 2},
		job.Mapping{Target: `emails[type eq "work"].value`, Source: "mail", Matching: true, Precedence: 3},
		job.Mapping{Target: "userName", Source: "uid", Matching: true, Precedence: 1},
		job.Mapping{Target: "employeeNumber", Source: "nothing", Matching: true, Precedence: 4},
		d("title", "title"),
	)
	v, err := s.Evaluate(ldapUser(nil), expr.Env{})
	require.NoError(t, err)
	require.Equal(t, []mapping.Key{
		{Path: "userName", Value: "jdoe"},
		{Path: "externalId", Value: "6f1c-uuid"},
		{Path: `emails[type eq "work"].value`, Value: "jdoe@example.com"},
	}, v.MatchKeys())
}

func TestKeyFilter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		key  mapping.Key
		want string
	}{
		{mapping.Key{Path: "userName", Value: `a"b`}, `userName eq "a\"b"`},
		{mapping.Key{Path: "userName", Value: `back\slash`}, `userName eq "back\\slash"`},
		{mapping.Key{Path: `emails[type eq "work"].value`, Value: "x@example.com"}, `emails[type eq "work" and value eq "x@example.com"]`},
		{mapping.Key{Path: "name.familyName", Value: "Doe"}, `name.familyName eq "Doe"`},
		{mapping.Key{Path: ent + ":employeeNumber", Value: "42"}, ent + `:employeeNumber eq "42"`},
	} {
		require.Equal(t, tc.want, tc.key.Filter())
	}
}

func TestHash(t *testing.T) {
	t.Parallel()
	ms := job.DefaultMappings(job.SourceLDAP).Users
	reversed := make([]job.Mapping, len(ms))
	for i, m := range ms {
		reversed[len(ms)-1-i] = m
	}
	eval := func(ms []job.Mapping, obj source.Object) string {
		v, err := compile(t, "User", ms...).Evaluate(obj, expr.Env{})
		require.NoError(t, err)
		return v.Hash()
	}
	h := eval(ms, ldapUser(nil))
	require.Len(t, h, 64)
	require.Equal(t, h, eval(ms, ldapUser(nil)))
	require.Equal(t, h, eval(reversed, ldapUser(nil)))
	require.NotEqual(t, h, eval(ms, ldapUser(func(a map[string]source.Values) { a["title"] = source.Values{"CTO"} })))
	require.NotEqual(t, h, eval(ms, ldapUser(func(a map[string]source.Values) { delete(a, "title") })))
}

func TestCheckJob(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		j    job.Job
		want string
	}{
		{"LDAPDefaults", job.Job{Source: job.Source{Type: job.SourceLDAP}}, ""},
		{"SCIMDefaults", job.Job{Source: job.Source{Type: job.SourceSCIM}}, ""},
		{"BadUser", job.Job{Source: job.Source{Type: job.SourceLDAP}, Mappings: job.Mappings{Users: []job.Mapping{d("userName", "uid"), d("groups.value", "memberOf")}}},
			`mappings.users[1] (target "groups.value"): groups is read-only`},
		{"BadGroup", job.Job{Source: job.Source{Type: job.SourceLDAP}, Mappings: job.Mappings{Groups: []job.Mapping{d("members", "member")}}},
			`mappings.groups[0] (target "members"): members is complex`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := mapping.CheckJob(tc.j)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, job.ErrInvalid)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestNilCurrent(t *testing.T) {
	t.Parallel()
	v, err := compile(t, "User", d("userName", "uid"), d("manager", "manager"), d(`emails[type eq "work"].value`, "mail")).Evaluate(ldapUser(nil), expr.Env{})
	require.NoError(t, err)
	cs, pending := v.Diff(nil, false, resolver)
	require.Empty(t, pending)
	require.Len(t, cs, 3)
	doc := mapping.Apply(nil, cs)
	require.Equal(t, map[string]any{
		"userName": "jdoe",
		"emails":   []any{map[string]any{"type": "work", "value": "jdoe@example.com"}},
		ent:        map[string]any{"manager": map[string]any{"value": "tgt-boss"}},
		"schemas":  []any{ent},
	}, doc)
}
