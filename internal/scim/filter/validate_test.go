package filter

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
)

func userType() *schema.ResourceType  { return schema.Default().User() }
func groupType() *schema.ResourceType { return schema.Default().Group() }

const widgetURN = "urn:example:params:scim:schemas:Widget"

// widgetType is a resource type with one attribute of every type, for the
// types the RFC schemas do not use (integer, decimal) or use little.
func widgetType() *schema.ResourceType {
	return &schema.ResourceType{
		ID: "Widget", Name: "Widget", Endpoint: "/Widgets",
		Schema: &schema.Schema{ID: widgetURN, Name: "Widget", Attributes: []*schema.Attribute{
			schema.Int("count"),
			schema.Dec("ratio"),
			schema.Time("at"),
			schema.Bool("on"),
			schema.Str("code", schema.CaseExact),
			schema.Str("label"),
			schema.Bin("blob"),
			schema.Ref("link", []string{"external"}),
			schema.Str("tags", schema.Multi),
			schema.Int("scores", schema.Multi),
			schema.Cplx("parts", []*schema.Attribute{schema.Str("value"), schema.Int("n"), schema.Bool("ok")}, schema.Multi),
			schema.Cplx("spec", []*schema.Attribute{schema.Str("kind"), schema.Dec("weight")}),
		}},
	}
}

// secretType is a resource type with attributes and sub-attributes that are
// never returned, which no filter may compare.
func secretType() *schema.ResourceType {
	never := schema.Ret(schema.ReturnedNever)
	return &schema.ResourceType{
		ID: "Vault", Name: "Vault", Endpoint: "/Vaults",
		Schema: &schema.Schema{ID: widgetURN, Name: "Vault", Attributes: []*schema.Attribute{
			schema.Str("label"),
			schema.Str("pin", never),
			schema.Cplx("keys", []*schema.Attribute{schema.Str("value"), schema.Str("type"), schema.Str("secret", never)}, schema.Multi),
			schema.Cplx("hidden", []*schema.Attribute{schema.Str("value", never)}, schema.Multi),
			schema.Cplx("sealed", []*schema.Attribute{schema.Str("value")}, never),
		}},
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	const (
		u = coreURN + ":"
		e = entURN + ":"
		g = schema.GroupURN + ":"
		w = widgetURN + ":"
	)
	for _, tc := range []struct {
		name string
		rt   *schema.ResourceType
		in   string
		want string
	}{
		{"CoreAttribute", userType(), `USERNAME Eq "x"`, u + `userName eq "x"`},
		{"CoreSubAttribute", userType(), `NAME.GIVENNAME sw "b"`, u + `name.givenName sw "b"`},
		{"CoreQualified", userType(), `urn:ietf:params:scim:schemas:core:2.0:user:userName eq "x"`, u + `userName eq "x"`},
		{"CommonID", userType(), `ID eq "x"`, `id eq "x"`},
		{"CommonQualified", userType(), `urn:ietf:params:scim:schemas:core:2.0:User:externalId eq "x"`, `externalId eq "x"`},
		{"CommonMeta", userType(), `meta.LASTMODIFIED gt "2011-05-13T04:42:34Z"`, `meta.lastModified gt "2011-05-13T04:42:34Z"`},
		{"MetaPresent", userType(), `meta pr`, `meta pr`},
		{"ExtensionUnqualified", userType(), `employeeNumber eq "7"`, e + `employeeNumber eq "7"`},
		{"ExtensionQualified", userType(), `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7"`, e + `employeeNumber eq "7"`},
		{"ExtensionCanonicalCase", userType(), `URN:IETF:params:scim:schemas:extension:enterprise:2.0:user:Manager.Value eq "x"`, e + `manager.value eq "x"`},
		{"ExtensionComplexToValue", userType(), `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "x"`, e + `manager.value eq "x"`},
		{"ComplexToValue", userType(), `emails co "@x"`, u + `emails.value co "@x"`},
		{"ComplexToValueGt", userType(), `emails gt "a"`, u + `emails.value gt "a"`},
		{"ComplexPresentKept", userType(), `emails pr`, u + `emails pr`},
		{"ComplexSingleValuedPresent", userType(), `name pr`, u + `name pr`},
		{"ValuePath", userType(), `EMAILS[TYPE eq "work" and Primary eq true]`, u + `emails[type eq "work" and primary eq true]`},
		{"ValuePathEntra", userType(), `emails[type eq "work"].VALUE eq "x"`, u + `emails[type eq "work" and value eq "x"]`},
		{"ValuePathNot", userType(), `emails[not (type eq "work")]`, u + `emails[not (type eq "work")]`},
		{"ValuePathOr", userType(), `emails[type eq "work" or type eq "home"]`, u + `emails[type eq "work" or type eq "home"]`},
		{"ValuePathSingleComplex", userType(), `manager[value eq "x"]`, e + `manager[value eq "x"]`},
		{"ValuePathDollarRef", userType(), `groups[$REF pr]`, u + `groups[$ref pr]`},
		{"BooleanStringTrue", userType(), `active eq "True"`, u + `active eq true`},
		{"BooleanStringFalse", userType(), `active ne "FALSE"`, u + `active ne false`},
		{"BooleanLiteral", userType(), `active eq false`, u + `active eq false`},
		{"BooleanInValuePath", userType(), `emails[primary eq "true"]`, u + `emails[primary eq true]`},
		{"NumberForString", userType(), `employeeNumber eq 701984`, e + `employeeNumber eq "701984"`},
		{"EntraUnquoted", userType(), `externalId eq jyoung`, `externalId eq "jyoung"`},
		{"EqNull", userType(), `title eq null`, u + `title eq null`},
		{"NeNull", userType(), `active ne null`, u + `active ne null`},
		{"NullOnComplex", userType(), `name eq null`, u + `name eq null`},
		{"Schemas", userType(), `SCHEMAS eq "` + entURN + `"`, `schemas eq "` + entURN + `"`},
		{"SchemasPresent", userType(), `schemas pr`, `schemas pr`},
		{"BinaryContains", userType(), `x509Certificates.value co "MII"`, u + `x509Certificates.value co "MII"`},
		{"ReferenceStartsWith", userType(), `photos.value sw "https://"`, u + `photos.value sw "https://"`},
		{"DateTimeOffset", userType(), `meta.created le "2011-05-13T06:42:34.5+02:00"`, `meta.created le "2011-05-13T06:42:34.5+02:00"`},
		{"DateTimeNoZone", userType(), `meta.created le "2011-05-13T06:42:34"`, `meta.created le "2011-05-13T06:42:34"`},
		{"Logic", userType(), `(title pr or userType eq "Intern") and not (active eq false)`,
			`(` + u + `title pr or ` + u + `userType eq "Intern") and not (` + u + `active eq false)`},
		{"GroupMembers", groupType(), `members eq "x"`, g + `members.value eq "x"`},
		{"GroupMembersValuePath", groupType(), `members[value eq "x" and type eq "User"]`, g + `members[value eq "x" and type eq "User"]`},
		{"GroupDisplayName", groupType(), `displayName sw "Eng"`, g + `displayName sw "Eng"`},
		{"Integer", widgetType(), `count gt 3`, w + `count gt 3`},
		{"IntegerExponent", widgetType(), `count le 1e3`, w + `count le 1e3`},
		{"Decimal", widgetType(), `ratio lt 0.5`, w + `ratio lt 0.5`},
		{"DecimalFromInteger", widgetType(), `ratio ge 2`, w + `ratio ge 2`},
		{"SubInteger", widgetType(), `parts[n ge 2 and ok eq true]`, w + `parts[n ge 2 and ok eq true]`},
		{"SingleComplexDecimal", widgetType(), `spec.weight gt 1.5`, w + `spec.weight gt 1.5`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			parsed, err := Parse(tc.in)
			require.NoError(t, err)
			before := parsed.String()
			got, err := Validate(parsed, tc.rt)
			require.NoError(t, err)
			require.Equal(t, tc.want, got.String())
			require.Equal(t, before, parsed.String(), "Validate must not modify its input")
			// The canonical form is a fixed point of Parse and Validate.
			again, err := Parse(got.String())
			require.NoError(t, err)
			require.Equal(t, got, again)
			revalidated, err := Validate(again, tc.rt)
			require.NoError(t, err)
			require.Equal(t, got, revalidated)
		})
	}
}

func TestValidateValues(t *testing.T) {
	t.Parallel()
	rt := userType()
	e, err := Validate(cmpr("active", Eq, strV("True")), rt)
	require.NoError(t, err)
	require.Equal(t, &Compare{Path: AttrPath{URI: coreURN, Name: "active"}, Op: Eq, Value: boolV(true)}, e)

	e, err = Validate(cmpr("employeeNumber", Eq, numV("7", 7)), rt)
	require.NoError(t, err)
	require.Equal(t, &Compare{Path: AttrPath{URI: entURN, Name: "employeeNumber"}, Op: Eq, Value: strV("7")}, e)

	e, err = Validate(&Compare{Path: AttrPath{Name: "title"}, Op: Pr, Value: strV("ignored")}, rt)
	require.NoError(t, err)
	require.Equal(t, &Compare{Path: AttrPath{URI: coreURN, Name: "title"}, Op: Pr}, e)

	// A hand-built upper-case operator is canonicalized.
	e, err = Validate(&Compare{Path: AttrPath{Name: "title"}, Op: "EQ", Value: strV("x")}, rt)
	require.NoError(t, err)
	require.Equal(t, Eq, e.(*Compare).Op)
}

func TestValidateErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		rt     *schema.ResourceType
		e      Expr
		detail string
	}{
		{"Nil", userType(), nil, "empty filter"},
		{"NilInside", userType(), &And{Left: pr("title")}, "empty filter"},
		{"NilResourceType", nil, pr("title"), "no resource type"},
		{"UnknownOperator", userType(), &Compare{Path: AttrPath{Name: "title"}, Op: "xx"}, `unknown operator "xx"`},
		{"ValuePathWithSub", userType(), &ValuePath{Path: AttrPath{Name: "emails", Sub: "value"}, Filter: pr("type")}, "not to the sub-attribute"},
		{"NestedValuePath", userType(), &ValuePath{Path: AttrPath{Name: "emails"}, Filter: &ValuePath{Path: AttrPath{Name: "type"}, Filter: pr("x")}}, "cannot be nested"},
		{"IntegerFraction", widgetType(), cmpr("count", Eq, numV("3.5", 3.5)), "is an integer"},
		{"IntegerFromString", widgetType(), cmpr("count", Eq, strV("3")), "is an integer"},
		{"IntegerTooBig", widgetType(), cmpr("count", Eq, numV("1e20", 1e20)), "is an integer"},
		{"DecimalFromString", widgetType(), cmpr("ratio", Eq, strV("0.5")), "is a decimal"},
		{"CoOnInteger", widgetType(), cmpr("count", Co, numV("3", 3)), "operator co cannot be used on integer"},
		{"GtOnBinary", widgetType(), cmpr("blob", Gt, strV("x")), "operator gt cannot be used on binary"},
		{"ComplexSubInsideValuePath", widgetType(), &ValuePath{Path: AttrPath{Name: "parts"}, Filter: cmpr("n", Sw, numV("1", 1))}, "operator sw cannot be used on integer"},
		{"ValuePathOnSingleNonComplex", widgetType(), &ValuePath{Path: AttrPath{Name: "tags"}, Filter: pr("value")}, "is not complex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Validate(tc.e, tc.rt)
			require.Error(t, err)
			se := scimerr.As(err)
			require.NotNil(t, se)
			require.Equal(t, scimerr.TypeInvalidFilter, se.ScimType)
			require.Contains(t, se.Detail, tc.detail)
		})
	}
}

// No filter can compare an attribute that is never returned, whatever the
// operator or spelling, so a client cannot recover a password with sw.
func TestValidateRefusesNeverReturned(t *testing.T) {
	t.Parallel()
	const never = "its value is never returned"
	for _, tc := range []struct {
		name string
		rt   *schema.ResourceType
		in   string
	}{
		{"PasswordSw", userType(), `password sw "A"`},
		{"PasswordEq", userType(), `password eq "secret"`},
		{"PasswordPr", userType(), `password pr`},
		{"PasswordGt", userType(), `password gt "m"`},
		{"PasswordEqNull", userType(), `password eq null`},
		{"PasswordQualified", userType(), `urn:ietf:params:scim:schemas:core:2.0:User:PASSWORD co "x"`},
		{"PasswordInOr", userType(), `userName eq "a" or password ew "z"`},
		{"PasswordInNot", userType(), `not (password sw "A")`},
		{"Attribute", secretType(), `pin eq "1234"`},
		{"SubAttribute", secretType(), `keys.secret sw "a"`},
		{"SubAttributeInValuePath", secretType(), `keys[type eq "x" and secret sw "a"]`},
		{"SubAttributePrInValuePath", secretType(), `keys[secret pr]`},
		{"ComplexToNeverValue", secretType(), `hidden co "a"`},
		{"NeverComplexPr", secretType(), `sealed pr`},
		{"NeverComplexValuePath", secretType(), `sealed[value eq "a"]`},
		{"NeverComplexSub", secretType(), `sealed.value eq "a"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tc.in)
			require.NoError(t, err)
			_, err = Validate(e, tc.rt)
			se := scimerr.As(err)
			require.NotNil(t, se, "%v", err)
			require.Equal(t, scimerr.TypeInvalidFilter, se.ScimType)
			require.Contains(t, se.Detail, never)
		})
	}
	for _, ok := range []string{`label eq "x"`, `keys[type eq "x"]`, `keys.value sw "a"`} {
		e, err := Parse(ok)
		require.NoError(t, err)
		_, err = Validate(e, secretType())
		require.NoError(t, err, ok)
	}
}

func TestCaseExact(t *testing.T) {
	t.Parallel()
	rt := userType()
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"id", true},
		{"externalId", true},
		{"userName", false},
		{"emails.value", false},
		{"x509Certificates.value", true}, // binary: RFC 7643 §2.3.6
		{"meta.location", true},
	} {
		p, err := Parse(tc.path + " pr")
		require.NoError(t, err)
		c := p.(*Compare)
		res, err := rt.Resolve(c.Path.URI, c.Path.Name, c.Path.Sub)
		require.NoError(t, err)
		require.Equal(t, tc.want, CaseExact(res.Leaf()), tc.path)
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string // UTC RFC 3339; "" for an error
	}{
		{"2011-05-13T04:42:34Z", "2011-05-13T04:42:34Z"},
		{"2011-05-13T06:42:34+02:00", "2011-05-13T04:42:34Z"},
		{"2011-05-13T04:42:34.123Z", "2011-05-13T04:42:34.123Z"},
		{"2011-05-13T04:42:34", "2011-05-13T04:42:34Z"},
		{"2011-05-13T04:42:34.5", "2011-05-13T04:42:34.5Z"},
		{"2011-05-13", ""},
		{"yesterday", ""},
		{"", ""},
	} {
		got, err := ParseTime(tc.in)
		if tc.want == "" {
			require.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"), tc.in)
	}
}
