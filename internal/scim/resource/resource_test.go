package resource_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/resource"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
)

const ent = schema.EnterpriseUserURN

func normalize(t *testing.T, rt *schema.ResourceType, body string) (map[string]any, error) {
	t.Helper()
	m, err := resource.Decode([]byte(body))
	require.NoError(t, err)
	return resource.Normalize(rt, m)
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	reg := schema.Default()
	tests := []struct {
		name string
		rt   *schema.ResourceType
		body string
		want map[string]any
	}{
		{
			name: "CanonicalNamesAndTypes",
			rt:   reg.User(),
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"USERNAME":"bjensen","Name":{"GivenName":"Barbara"},"active":"True","emails":[{"value":"b@example.com","type":"work","primary":"true"}]}`,
			want: map[string]any{
				"userName": "bjensen", "name": map[string]any{"givenName": "Barbara"}, "active": true,
				"emails": []any{map[string]any{"value": "b@example.com", "type": "work", "primary": true}},
			},
		},
		{
			name: "ReadOnlyAndNullsIgnored",
			rt:   reg.User(),
			body: `{"id":"x","meta":{"resourceType":"User"},"userName":"a","groups":[{"value":"g"}],"addresses":null,"nickName":"","phoneNumbers":[]}`,
			want: map[string]any{"userName": "a"},
		},
		{
			name: "EnterpriseExtensionNestedAndManagerString",
			rt:   reg.User(),
			body: `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D","manager":"m-1"}}`,
			want: map[string]any{"userName": "a", ent: map[string]any{"department": "R&D", "manager": map[string]any{"value": "m-1"}}},
		},
		{
			name: "URNQualifiedTopLevelKey",
			rt:   reg.User(),
			body: `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"7"}`,
			want: map[string]any{"userName": "a", ent: map[string]any{"employeeNumber": "7"}},
		},
		{
			name: "ManagerAsArrayFromOlderEntraSamples",
			rt:   reg.User(),
			body: `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":[{"value":"m-2","$ref":"../Users/m-2"}]}}`,
			want: map[string]any{"userName": "a", ent: map[string]any{"manager": map[string]any{"value": "m-2", "$ref": "../Users/m-2"}}},
		},
		{
			name: "DuplicatesByTypeAndValueMerged",
			rt:   reg.User(),
			body: `{"userName":"a","emails":[{"value":"a@example.com","type":"work"},{"value":"A@Example.com","type":"Work","primary":true,"display":"later"},{"value":"a@example.com","type":"home"},{"value":"a@example.com"}],"phoneNumbers":[{"value":"1"},{"value":"1"}]}`,
			want: map[string]any{"userName": "a",
				"emails": []any{
					map[string]any{"value": "a@example.com", "type": "work", "primary": true},
					map[string]any{"value": "a@example.com", "type": "home"},
					map[string]any{"value": "a@example.com"},
				},
				"phoneNumbers": []any{map[string]any{"value": "1"}},
			},
		},
		{
			name: "CaseExactValuesNotMerged",
			rt:   reg.User(),
			body: `{"userName":"a","x509Certificates":[{"value":"QUJD"},{"value":"QUJD"},{"value":"qujd"}]}`,
			want: map[string]any{"userName": "a", "x509Certificates": []any{map[string]any{"value": "QUJD"}, map[string]any{"value": "qujd"}}},
		},
		{
			name: "GroupMembersMerged",
			rt:   reg.Group(),
			body: `{"displayName":"G","members":[{"value":"u1"},{"value":"u1","display":"again"},{"value":"u2"}]}`,
			want: map[string]any{"displayName": "G", "members": []any{map[string]any{"value": "u1"}, map[string]any{"value": "u2"}}},
		},
		{
			name: "EntraGroupSchemaAccepted",
			rt:   reg.Group(),
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],"externalId":"8aa1","displayName":"Group1"}`,
			want: map[string]any{"externalId": "8aa1", "displayName": "Group1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := normalize(t, tc.rt, tc.body)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestNormalizeErrors(t *testing.T) {
	t.Parallel()
	reg := schema.Default()
	tests := []struct {
		name string
		body string
		typ  scimerr.Type
	}{
		{"UnknownAttribute", `{"userName":"a","shoeSize":42}`, scimerr.TypeInvalidValue},
		{"UnknownSubAttribute", `{"userName":"a","name":{"nick":"x"}}`, scimerr.TypeInvalidValue},
		{"WrongType", `{"userName":7}`, scimerr.TypeInvalidValue},
		{"BadBoolean", `{"userName":"a","active":"yes"}`, scimerr.TypeInvalidValue},
		{"ExtensionWrongType", `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":1}}`, scimerr.TypeInvalidValue},
		{"UnknownSchema", `{"schemas":["urn:example:nope"],"userName":"a"}`, scimerr.TypeInvalidValue},
		{"SchemasNotArray", `{"schemas":"urn:ietf:params:scim:schemas:core:2.0:User","userName":"a"}`, scimerr.TypeInvalidSyntax},
		{"BadBinary", `{"userName":"a","x509Certificates":[{"value":"***"}]}`, scimerr.TypeInvalidValue},
		{"ComplexNotObject", `{"userName":"a","name":"Ada"}`, scimerr.TypeInvalidValue},
		{"MultiValuedAsObject", `{"userName":"a","emails":{"value":"a@example.com","type":"work"}}`, scimerr.TypeInvalidValue},
		{"MultiValuedAsString", `{"userName":"a","emails":"a@example.com"}`, scimerr.TypeInvalidValue},
		{"SimpleMultiValuedAsObject", `{"userName":"a","phoneNumbers":{"value":"+1 555"}}`, scimerr.TypeInvalidValue},
		{"ExtensionStyleURNKeyMultiValued", `{"userName":"a","urn:ietf:params:scim:schemas:core:2.0:User:emails":{"value":"a@example.com"}}`, scimerr.TypeInvalidValue},
		{"KeysDifferInCase", `{"userName":"a","nickName":"x","NICKNAME":"y"}`, scimerr.TypeInvalidSyntax},
		{"InvalidUTF8", "{\"userName\":\"a\xff\"}", scimerr.TypeInvalidSyntax},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc, err := resource.Decode([]byte(tc.body))
			if err == nil {
				_, err = resource.Normalize(reg.User(), doc)
			}
			require.Error(t, err)
			se := scimerr.As(err)
			require.NotNil(t, se)
			require.Equal(t, tc.typ, se.ScimType, se.Detail)
		})
	}
}

// TestNormalizeNamesEachAttributeOnce checks maps that no JSON decoder
// made (the admin API, the engine): two keys naming one attribute are
// refused whatever the order the map yields them in.
func TestNormalizeNamesEachAttributeOnce(t *testing.T) {
	t.Parallel()
	reg := schema.Default()
	tests := []struct {
		name string
		body map[string]any
	}{
		{"CoreCase", map[string]any{"userName": "a", "nickName": "x", "NICKNAME": "y"}},
		{"CoreURNQualified", map[string]any{"userName": "a", schema.UserURN + ":userName": "b"}},
		{"ExtensionObjectAndQualifiedKey", map[string]any{"userName": "a", ent: map[string]any{"department": "x"}, ent + ":department": "y"}},
		{"ExtensionCase", map[string]any{"userName": "a", ent: map[string]any{"department": "x", "Department": "y"}}},
		{"SubAttributeCase", map[string]any{"userName": "a", "name": map[string]any{"givenName": "x", "GIVENNAME": "y"}}},
		{"SubAttributeNullToo", map[string]any{"userName": "a", "name": map[string]any{"givenName": "x", "givenname": nil}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for range 20 { // map order varies from run to run
				_, err := resource.Normalize(reg.User(), tc.body)
				se := scimerr.As(err)
				require.NotNil(t, se, "%v", err)
				require.Equal(t, scimerr.TypeInvalidSyntax, se.ScimType, se.Detail)
			}
		})
	}
}

func TestCheckRequiredAndPrimary(t *testing.T) {
	t.Parallel()
	reg := schema.Default()
	require.Error(t, resource.CheckRequired(reg.User(), map[string]any{"displayName": "x"}))
	require.NoError(t, resource.CheckRequired(reg.User(), map[string]any{"userName": "x"}))
	require.Error(t, resource.CheckRequired(reg.Group(), map[string]any{}))
	two := map[string]any{"userName": "x", "emails": []any{
		map[string]any{"value": "a", "primary": true}, map[string]any{"value": "b", "primary": true},
	}}
	require.Error(t, resource.CheckPrimary(reg.User(), two))
}

func TestRenderAndProject(t *testing.T) {
	t.Parallel()
	reg := schema.Default()
	rt := reg.User()
	attrs := map[string]any{
		"userName": "bjensen", "password": "secret", "name": map[string]any{"givenName": "B", "familyName": "J"},
		"emails": []any{map[string]any{"value": "b@x", "type": "work"}},
		ent:      map[string]any{"department": "D"},
	}
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	doc := resource.Render(rt, "id-1", attrs, resource.Meta{Created: ts, Modified: ts, Version: 3, Location: "http://x/Users/id-1"})
	require.NotContains(t, doc, "password")
	require.Equal(t, "id-1", doc["id"])
	require.Equal(t, []string{schema.UserURN, ent}, doc["schemas"])
	require.Equal(t, `W/"3"`, doc["meta"].(map[string]any)["version"])
	require.Equal(t, "2026-01-02T03:04:05.000Z", doc["meta"].(map[string]any)["created"])

	tests := []struct {
		name          string
		attrs, excl   []string
		wantKeys      []string
		wantNameSubs  []string
		wantEmailSubs []string
	}{
		{name: "Default", wantKeys: []string{"schemas", "id", "userName", "name", "emails", ent, "meta"}},
		{name: "AttributesSubset", attrs: []string{"userName", "name.givenName"}, wantKeys: []string{"schemas", "id", "userName", "name"}, wantNameSubs: []string{"givenName"}},
		{name: "Excluded", excl: []string{"emails", "meta", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}, wantKeys: []string{"schemas", "id", "userName", "name"}},
		{name: "ExcludedSub", excl: []string{"emails.type"}, wantKeys: []string{"schemas", "id", "userName", "name", "emails", ent, "meta"}, wantEmailSubs: []string{"value"}},
		{name: "ExtensionAttribute", attrs: []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}, wantKeys: []string{"schemas", "id", ent}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := resource.NewProjection(rt, tc.attrs, tc.excl)
			require.NoError(t, err)
			got := p.Apply(rt, doc)
			require.ElementsMatch(t, tc.wantKeys, keys(got))
			if tc.wantNameSubs != nil {
				require.ElementsMatch(t, tc.wantNameSubs, keys(got["name"].(map[string]any)))
			}
			if tc.wantEmailSubs != nil {
				require.ElementsMatch(t, tc.wantEmailSubs, keys(got["emails"].([]any)[0].(map[string]any)))
			}
		})
	}
	_, err := resource.NewProjection(rt, []string{"shoeSize"}, nil)
	require.Error(t, err)
	p, err := resource.NewProjection(reg.Group(), nil, []string{"members"})
	require.NoError(t, err)
	require.False(t, p.Wants(reg.Group(), "members"))
	require.True(t, p.Wants(reg.Group(), "displayName"))
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestETag(t *testing.T) {
	t.Parallel()
	v, ok := resource.ParseETag(resource.ETag(42))
	require.True(t, ok)
	require.EqualValues(t, 42, v)
	v, ok = resource.ParseETag(`"7"`)
	require.True(t, ok)
	require.EqualValues(t, 7, v)
	_, ok = resource.ParseETag(`W/"abc"`)
	require.False(t, ok)
}

// FuzzNormalize feeds arbitrary JSON bodies to Normalize: it must never
// panic, and what it accepts must be in normalized form.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		`{"userName":"a","emails":[{"value":"x","primary":true}]}`,
		`{"userName":"a","name":{"givenName":"g"},"active":"False"}`,
		`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"m"}}`,
		`{"schemas":[],"addresses":[{"type":"work","country":"NL"}],"x509Certificates":[{"value":"AAAA"}]}`,
		`{"phoneNumbers":{"value":"1"},"entitlements":[null,{"value":""}]}`,
	} {
		f.Add(s)
	}
	rt := schema.Default().User()
	f.Fuzz(func(t *testing.T, body string) {
		m, err := resource.Decode([]byte(body))
		if err != nil {
			return
		}
		out, err := resource.Normalize(rt, m)
		if err != nil {
			require.NotNil(t, scimerr.As(err), "errors must be SCIM errors: %v", err)
			return
		}
		for _, v := range out { // the top level may be empty, nested values not
			checkNormalized(t, v)
		}
		_, err = json.Marshal(resource.Render(rt, "id", out, resource.Meta{}))
		require.NoError(t, err)
	})
}

func checkNormalized(t *testing.T, v any) {
	switch x := v.(type) {
	case nil:
		t.Fatal("normalized form holds nil")
	case map[string]any:
		require.NotEmpty(t, x)
		for _, e := range x {
			checkNormalized(t, e)
		}
	case []any:
		require.NotEmpty(t, x)
		for _, e := range x {
			checkNormalized(t, e)
		}
	case string:
		require.NotEmpty(t, x)
	case bool, int64, float64:
	default:
		t.Fatalf("unexpected type %T in normalized form", v)
	}
}

func TestNewPartialProjection(t *testing.T) {
	t.Parallel()
	reg := schema.Default()
	tests := []struct {
		name        string
		rt          *schema.ResourceType
		attributes  []string
		excluded    []string
		wantMissing []string
		wantKeys    []string
	}{
		{"UserHasBoth", reg.User(), []string{"displayName", "userName"}, nil, nil, []string{"id", "schemas", "displayName", "userName"}},
		{"GroupLacksUserName", reg.Group(), []string{"displayName", "userName"}, nil, []string{"userName"}, []string{"id", "schemas", "displayName"}},
		{"GroupHasNoneSelected", reg.Group(), []string{"userName"}, nil, []string{"userName"}, []string{"id", "schemas"}},
		{"ExcludedOfOtherType", reg.Group(), nil, []string{"emails", "meta"}, []string{"emails"}, []string{"id", "schemas", "displayName"}},
	}
	attrs := map[string]any{"displayName": "D", "userName": "u", "emails": []any{map[string]any{"value": "e"}}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, missing, err := resource.NewPartialProjection(tc.rt, tc.attributes, tc.excluded)
			require.NoError(t, err)
			require.Equal(t, tc.wantMissing, missing)
			doc := map[string]any{}
			for k, v := range attrs {
				if tc.rt.Schema.Attr(k) != nil {
					doc[k] = v
				}
			}
			out := p.Apply(tc.rt, resource.Render(tc.rt, "1", doc, resource.Meta{Version: 1}))
			var keys []string
			for k := range out {
				keys = append(keys, k)
			}
			require.ElementsMatch(t, tc.wantKeys, keys)
		})
	}
}
