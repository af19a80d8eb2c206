package filter

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/schema"
)

// evalUser is a User in normalized form for the Eval tests.
func evalUser() map[string]any {
	return map[string]any{
		"id":         "2819c223-7f76-453a-919d-413861904646",
		"externalId": "Ext-1",
		"userName":   "BJensen",
		"name":       map[string]any{"givenName": "Barbara", "familyName": "Jensen"},
		"active":     true,
		"emails": []any{
			map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true},
			map[string]any{"value": "Babs@Jensen.org", "type": "home"},
		},
		"x509Certificates": []any{map[string]any{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJ"}},
		"photos":           []any{map[string]any{"value": "https://photos.example.com/profilephoto/72930000000Ccne/F"}},
		"meta": map[string]any{
			"resourceType": "User",
			"created":      "2010-01-23T04:56:22Z",
			"lastModified": "2011-05-13T04:42:34.250Z",
			"version":      `W/"a330bc54f0671c9"`,
		},
		entURN: map[string]any{
			"employeeNumber": "701984",
			"department":     "Tour Operations",
			"manager":        map[string]any{"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"},
		},
	}
}

// evalWidget is a Widget (see widgetType) in normalized form.
func evalWidget() map[string]any {
	return map[string]any{
		"count":  int64(9007199254740993), // 2^53 + 1: not exactly representable as float64
		"ratio":  0.25,
		"at":     "2020-02-29T12:00:00+01:00",
		"on":     false,
		"code":   "ABC-1",
		"label":  "Widget",
		"blob":   "aGVsbG8=",
		"link":   "https://Example.com/W",
		"tags":   []any{"Red", "blue"},
		"scores": []any{int64(3), int64(10)},
		"parts": []any{
			map[string]any{"value": "p1", "n": int64(1), "ok": true},
			map[string]any{"value": "p2", "n": int64(5)},
		},
		"spec": map[string]any{"kind": "gear", "weight": 1.5},
	}
}

type evalCase struct {
	in   string
	want bool
}

func runEval(t *testing.T, rt *schema.ResourceType, doc map[string]any, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		e, err := Parse(tc.in)
		require.NoError(t, err, tc.in)
		v, err := Validate(e, rt)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, Eval(v, rt, doc), "%s (validated: %s)", tc.in, v)
		require.Equal(t, tc.want, Eval(e, rt, doc), "%s (unvalidated)", tc.in)
		require.Equal(t, !tc.want, Eval(&Not{X: v}, rt, doc), "not (%s)", tc.in)
	}
}

func TestEvalCase(t *testing.T) {
	t.Parallel()
	runEval(t, userType(), evalUser(), []evalCase{
		// userName is caseExact=false: both sides fold.
		{`userName eq "bjensen"`, true},
		{`userName eq "BJENSEN"`, true},
		{`USERNAME EQ "bJeNsEn"`, true},
		{`userName ne "bjensen"`, false},
		{`userName co "JEN"`, true},
		{`userName sw "bj"`, true},
		{`userName ew "SEN"`, true},
		{`userName gt "BJ"`, true},
		{`userName lt "bk"`, true},
		{`userName le "BJENSEN"`, true},
		{`userName ge "bjensen"`, true},
		{`userName gt "bjensen"`, false},
		// id and externalId are caseExact.
		{`id eq "2819c223-7f76-453a-919d-413861904646"`, true},
		{`id eq "2819C223-7F76-453A-919D-413861904646"`, false},
		{`externalId eq "Ext-1"`, true},
		{`externalId eq "ext-1"`, false},
		{`externalId eq Ext-1`, true},
		{`externalId sw "E"`, true},
		{`externalId sw "e"`, false},
		// Binary is case exact whatever the schema says; references follow the schema.
		{`x509Certificates.value sw "MIID"`, true},
		{`x509Certificates.value sw "miid"`, false},
		{`photos.value sw "HTTPS://PHOTOS"`, true},
		// meta.version is caseExact.
		{`meta.version eq "W/\"a330bc54f0671c9\""`, true},
		{`meta.version eq "w/\"A330BC54F0671C9\""`, false},
		{`meta.resourceType eq "User"`, true},
	})
}

func TestEvalMultiValued(t *testing.T) {
	t.Parallel()
	runEval(t, userType(), evalUser(), []evalCase{
		{`emails.value eq "babs@jensen.org"`, true},
		{`emails.value eq "bjensen@example.com"`, true},
		{`emails.value eq "nobody@example.com"`, false},
		{`emails eq "BABS@JENSEN.ORG"`, true},
		{`emails co "@example."`, true},
		{`emails.type eq "home"`, true},
		// ne is not (eq): some element is "work", so emails.type ne "work" is false.
		{`emails.type ne "work"`, false},
		{`emails.type ne "other"`, true},
		// A value path matches one element; sub-attribute paths may match different ones.
		{`emails[type eq "home" and primary eq true]`, false},
		{`emails.type eq "home" and emails.primary eq true`, true},
		{`emails[type eq "work" and primary eq true]`, true},
		{`emails[type eq "home" and not (primary eq true)]`, true},
		{`emails[type eq "home" and primary ne true]`, true},
		{`emails[type eq "work" or value ew ".org"]`, true},
		{`emails[display pr]`, false},
		{`emails[type eq "work"].value eq "bjensen@example.com"`, true},
		{`emails[type eq "home"].value eq "bjensen@example.com"`, false},
		{`emails[type eq "WORK"]`, true},
		{`ims[type eq "xmpp"]`, false},
		{`ims.value ne "x"`, true},
	})
}

func TestEvalPresentAndNull(t *testing.T) {
	t.Parallel()
	runEval(t, userType(), evalUser(), []evalCase{
		{`userName pr`, true},
		{`title pr`, false},
		{`active pr`, true},
		{`emails pr`, true},
		{`ims pr`, false},
		{`name pr`, true},
		{`name.middleName pr`, false},
		{`name.givenName pr`, true},
		{`emails.display pr`, false},
		{`emails.primary pr`, true},
		{`meta pr`, true},
		{`manager pr`, true},
		{`department pr`, true},
		{`costCenter pr`, false},
		{`title eq null`, true},
		{`title ne null`, false},
		{`userName eq null`, false},
		{`userName ne null`, true},
		{`name eq null`, false},
		{`ims eq null`, true},
		{`emails.display eq null`, true},
		{`emails.value eq null`, false},
		{`active eq null`, false},
		{`emails[display eq null]`, true},
		{`emails[primary ne null]`, true},
		// ne on a missing attribute.
		{`title ne "Tour Guide"`, true},
		{`title eq "Tour Guide"`, false},
		{`nickName ne "x" and userType ne "Employee"`, true},
		{`costCenter ne "4130"`, true},
	})
}

func TestEvalBooleans(t *testing.T) {
	t.Parallel()
	runEval(t, userType(), evalUser(), []evalCase{
		{`active eq true`, true},
		{`active eq TRUE`, true},
		{`active eq false`, false},
		{`active ne false`, true},
		{`active eq "True"`, true},
		{`active eq "false"`, false},
		{`emails[primary eq "True"]`, true},
	})
}

func TestEvalDateTime(t *testing.T) {
	t.Parallel()
	runEval(t, userType(), evalUser(), []evalCase{
		{`meta.lastModified gt "2011-05-13T04:42:34Z"`, true},
		{`meta.lastModified eq "2011-05-13T04:42:34.25Z"`, true},
		{`meta.lastModified eq "2011-05-13T06:42:34.25+02:00"`, true},
		{`meta.lastModified ge "2011-05-13T06:42:34.25+02:00"`, true},
		{`meta.lastModified le "2011-05-13T06:42:34.25+02:00"`, true},
		{`meta.lastModified lt "2011-05-13T06:42:34.25+02:00"`, false},
		{`meta.lastModified gt "2011-05-13T06:42:35+02:00"`, false},
		{`meta.lastModified lt "2011-05-13T04:42:35"`, true},
		{`meta.created lt "2010-01-23T05:00:00+00:30"`, false},
		{`meta.created lt "2010-01-23T05:00:00+00:00"`, true},
		{`meta.created gt "2010-01-23T04:56:22Z" or meta.created lt "2010-01-23T04:56:22Z"`, false},
		{`meta.created ne "2010-01-23T04:56:22Z"`, false},
	})
}

func TestEvalUnparseableStoredDateTime(t *testing.T) {
	t.Parallel()
	doc := evalUser()
	doc["meta"] = map[string]any{"created": "last tuesday", "lastModified": int64(5)}
	runEval(t, userType(), doc, []evalCase{
		{`meta.created eq "2010-01-23T04:56:22Z"`, false},
		{`meta.created gt "1970-01-01T00:00:00Z"`, false},
		{`meta.created lt "2970-01-01T00:00:00Z"`, false},
		{`meta.created ne "2010-01-23T04:56:22Z"`, true},
		{`meta.created pr`, true},
		{`meta.lastModified gt "1970-01-01T00:00:00Z"`, false},
	})
}

func TestEvalExtension(t *testing.T) {
	t.Parallel()
	runEval(t, userType(), evalUser(), []evalCase{
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`, true},
		{`employeeNumber eq 701984`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department co "operations"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915-6090-4610-87E4-49D8CA9F808D"`, true},
		{`manager.displayName sw "john"`, true},
		{`manager[displayName eq "John Smith" and value pr]`, true},
		{`manager[displayName eq "Jane"]`, false},
		{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, true},
		{`schemas eq "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER"`, true},
		{`schemas co "enterprise"`, true},
		{`schemas pr`, true},
	})
	doc := evalUser()
	delete(doc, entURN)
	runEval(t, userType(), doc, []evalCase{
		{`employeeNumber eq "701984"`, false},
		{`employeeNumber ne "701984"`, true},
		{`manager pr`, false},
		{`manager.value eq null`, true},
		{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, false},
		{`schemas eq "urn:ietf:params:scim:schemas:core:2.0:User"`, true},
	})
	// A rendered resource's own "schemas" wins.
	doc["schemas"] = []string{coreURN, entURN}
	runEval(t, userType(), doc, []evalCase{
		{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, true},
	})
}

func TestEvalGroup(t *testing.T) {
	t.Parallel()
	doc := map[string]any{
		"displayName": "Tour Guides",
		"members": []any{
			map[string]any{"value": "2819c223-7f76-453a-919d-413861904646", "type": "User", "display": "Babs Jensen"},
			map[string]any{"value": "902c246b-6245-4190-8e05-00816be7344a", "type": "Group"},
		},
	}
	runEval(t, groupType(), doc, []evalCase{
		{`members eq "902C246B-6245-4190-8E05-00816BE7344A"`, true},
		{`members[value eq "2819c223-7f76-453a-919d-413861904646" and type eq "Group"]`, false},
		{`members[type eq "group"]`, true},
		{`members.display sw "babs"`, true},
		{`displayName eq "tour guides"`, true},
		{`displayName lt "U"`, true},
	})
}

func TestEvalNumbers(t *testing.T) {
	t.Parallel()
	runEval(t, widgetType(), evalWidget(), []evalCase{
		// Integers compare exactly, even beyond 2^53.
		{`count eq 9007199254740993`, true},
		{`count eq 9007199254740992`, false},
		{`count gt 9007199254740992`, true},
		{`count lt 9007199254740994`, true},
		{`count ge 9.007199254740993e15`, true},
		{`count gt 1e3`, true},
		{`ratio eq 0.25`, true},
		{`ratio eq 2.5e-1`, true},
		{`ratio lt 1`, true},
		{`ratio ge 0.26`, false},
		{`scores eq 10`, true},
		{`scores gt 10`, false},
		{`scores ge 10`, true},
		{`scores lt 4`, true},
		{`scores ne 3`, false},
		{`parts[n gt 4]`, true},
		{`parts[n gt 4 and ok eq true]`, false},
		{`parts.n le 1`, true},
		{`parts eq "P2"`, true},
		{`spec.weight gt 1.25`, true},
		{`spec.weight eq 1.5`, true},
		{`spec.kind eq "GEAR"`, true},
		{`spec[kind eq "gear" and weight lt 2]`, true},
	})
}

func TestEvalWidgetStrings(t *testing.T) {
	t.Parallel()
	runEval(t, widgetType(), evalWidget(), []evalCase{
		{`code eq "ABC-1"`, true},
		{`code eq "abc-1"`, false},
		{`code sw "ABC"`, true},
		{`code gt "ABB"`, true},
		{`code gt "abb"`, false}, // case exact: 'A' < 'a'
		{`label eq "WIDGET"`, true},
		{`blob eq "aGVsbG8="`, true},
		{`blob eq "AGVSBG8="`, false},
		{`link eq "https://example.com/w"`, true},
		{`tags eq "RED"`, true},
		{`tags eq "green"`, false},
		{`tags co "LU"`, true},
		{`tags ne "blue"`, false},
		{`on eq false`, true},
		{`on eq true`, false},
		{`at eq "2020-02-29T11:00:00Z"`, true},
		{`at lt "2020-02-29T11:00:01Z"`, true},
	})
}

func TestEvalWrongStoredTypes(t *testing.T) {
	t.Parallel()
	// Values of an unexpected Go type match nothing but ne, and do not panic.
	doc := map[string]any{
		"count":  "12",
		"ratio":  json.Number("0.5"),
		"on":     "true",
		"code":   int64(7),
		"at":     true,
		"tags":   []any{int64(1), "x"},
		"scores": []any{int(3), json.Number("4"), 5.0},
		"parts":  []any{"not a map", map[string]any{"value": "p"}},
		"spec":   []any{},
	}
	runEval(t, widgetType(), doc, []evalCase{
		{`count eq 12`, false},
		{`ratio eq 0.5`, true},
		{`on eq true`, false},
		{`code eq "7"`, false},
		{`at eq "2020-01-01T00:00:00Z"`, false},
		{`tags eq "x"`, true},
		{`scores eq 3`, true},
		{`scores eq 4`, true},
		{`scores eq 5`, true},
		{`parts eq "p"`, true},
		{`parts[value eq "p"]`, true},
		{`spec pr`, false},
	})
}

func TestEvalUnvalidated(t *testing.T) {
	t.Parallel()
	rt := userType()
	doc := evalUser()
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{`foo eq "x"`, false},
		{`foo ne "x"`, true},
		{`foo eq null`, true},
		{`foo pr`, false},
		{`name eq "x"`, false},
		{`active gt true`, false},
		{`active co "t"`, false},
		{`userName gt null`, false},
		{`userName co null`, false},
		{`userName eq true`, false},
		{`userName eq 5`, false},
		{`meta.created sw "2010"`, false},
		{`meta.created eq "garbage"`, false},
		{`userName[value eq "x"]`, false},
		{`emails[emails.value pr]`, false},
		{`emails[foo ne "x"]`, true},
		{`urn:example:Nope:userName pr`, false},
	} {
		e, err := Parse(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, Eval(e, rt, doc), tc.in)
	}
	require.True(t, Eval(nil, rt, doc))
	require.False(t, Eval(pr("userName"), nil, doc))
	require.False(t, Eval(&ValuePath{Path: AttrPath{Name: "emails"}, Filter: pr("value")}, nil, doc))
	require.False(t, Eval(&ValuePath{Path: AttrPath{Name: "emails"}, Filter: &ValuePath{Path: AttrPath{Name: "x"}}}, rt, doc))
	require.True(t, Eval(pr("userName"), rt, doc))
	require.False(t, Eval(pr("userName"), rt, nil))
	require.False(t, Eval(&Compare{Path: AttrPath{Name: "userName"}, Op: "xx", Value: strV("bjensen")}, rt, doc))
}

func TestMatches(t *testing.T) {
	t.Parallel()
	emails := userType().Schema.Attr("emails")
	work := map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true}
	home := map[string]any{"value": "babs@jensen.org", "type": "home"}
	for _, tc := range []struct {
		filter string
		work   bool
		home   bool
	}{
		{`type eq "work"`, true, false},
		{`TYPE eq "WORK"`, true, false},
		{`type ne "work"`, false, true},
		{`primary eq true`, true, false},
		{`primary eq "True"`, true, false},
		{`primary eq null`, false, true},
		{`primary ne true`, false, true},
		{`value ew "@example.com"`, true, false},
		{`value co "JENSEN"`, true, true},
		{`type eq "work" and value sw "bj"`, true, false},
		{`type eq "work" or type eq "home"`, true, true},
		{`not (type eq "work")`, false, true},
		{`display pr`, false, false},
		{`value pr and type pr`, true, true},
		{`foo eq "x"`, false, false},
		{`foo ne "x"`, true, true},
		{`value gt "bc"`, true, false},
	} {
		e, err := Parse(tc.filter)
		require.NoError(t, err, tc.filter)
		require.Equal(t, tc.work, Matches(e, emails, work), "%s on work", tc.filter)
		require.Equal(t, tc.home, Matches(e, emails, home), "%s on home", tc.filter)
	}

	// The filter of a parsed PATCH path, validated or not.
	p, err := ParsePath(`emails[Type eq "home"].value`)
	require.NoError(t, err)
	require.False(t, Matches(p.Filter, emails, work))
	require.True(t, Matches(p.Filter, emails, home))
	v, err := Validate(&ValuePath{Path: p.Attr, Filter: p.Filter}, userType())
	require.NoError(t, err)
	require.True(t, Matches(v.(*ValuePath).Filter, emails, home))

	// Paths that are not plain sub-attribute names count as unassigned.
	require.False(t, Matches(&Compare{Path: AttrPath{Name: "emails", Sub: "type"}, Op: Eq, Value: strV("work")}, emails, work))
	require.False(t, Matches(&Compare{Path: AttrPath{URI: coreURN, Name: "type"}, Op: Eq, Value: strV("work")}, emails, work))
	require.False(t, Matches(&ValuePath{Path: AttrPath{Name: "type"}, Filter: pr("x")}, emails, work))
	require.True(t, Matches(nil, emails, work))
	require.False(t, Matches(pr("type"), nil, work))
	require.False(t, Matches(pr("type"), emails, nil))

	// Group members, as the directory service uses it.
	members := groupType().Schema.Attr("members")
	m := map[string]any{"value": "2819c223", "type": "User"}
	e, err := Parse(`value eq "2819C223" and type eq "user"`)
	require.NoError(t, err)
	require.True(t, Matches(e, members, m))
}

func TestFold(t *testing.T) {
	t.Parallel()
	require.Equal(t, "bjensen@example.com", Fold("BJensen@Example.COM"))
	require.Equal(t, "zoë", Fold("ZOË"))
	require.Equal(t, Fold(Fold("ÅSA")), Fold("ÅSA"))
}
