package patch_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/patch"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
)

const ent = schema.EnterpriseUserURN

// bjensen returns a user in normalized form, after the examples of
// RFC 7643 §8.2.
func bjensen() map[string]any {
	return map[string]any{
		"userName":    "bjensen@example.com",
		"externalId":  "bjensen",
		"name":        map[string]any{"familyName": "Jensen", "givenName": "Barbara"},
		"displayName": "Babs Jensen",
		"nickName":    "Babs",
		"title":       "Tour Guide",
		"active":      true,
		"emails": []any{
			map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true},
			map[string]any{"value": "babs@jensen.org", "type": "home"},
		},
		"addresses": []any{
			map[string]any{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"},
		},
		ent: map[string]any{
			"employeeNumber": "701984",
			"manager":        map[string]any{"value": "26118915-6090-4610-87e4-49d8ca9f808d"},
		},
	}
}

// ops decodes a JSON array of operations.
func ops(t testing.TB, s string) []patch.Operation {
	t.Helper()
	var out []patch.Operation
	require.NoError(t, json.Unmarshal([]byte(s), &out), s)
	return out
}

func TestParseRequest(t *testing.T) {
	t.Parallel()
	const urn = `"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`
	many := strings.TrimSuffix(strings.Repeat(`{"op":"add","path":"title","value":"x"},`, patch.MaxOperations+1), ",")
	tests := []struct {
		name     string
		body     string
		scimType scimerr.Type // "" means success
		ops      int
	}{
		{name: "RFC", body: `{` + urn + `,"Operations":[{"op":"add","path":"members","value":[{"value":"x"}]}]}`, ops: 1},
		{name: "CapitalisedOps", body: `{` + urn + `,"Operations":[{"op":"Add","path":"a","value":1},{"op":"Replace","value":{}},{"op":"Remove","path":"b"}]}`, ops: 3},
		{name: "LowerCaseOperationsKey", body: `{` + urn + `,"operations":[{"op":"remove","path":"title"}]}`, ops: 1},
		{name: "SchemaURNCaseInsensitive", body: `{"schemas":["URN:IETF:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"title"}]}`, ops: 1},
		{name: "MaxOperations", body: `{` + urn + `,"Operations":[` + strings.Repeat(`{"op":"remove","path":"title"},`, patch.MaxOperations-1) + `{"op":"remove","path":"title"}]}`, ops: patch.MaxOperations},
		{name: "NotJSON", body: `{` + urn + `,"Operations":[`, scimType: scimerr.TypeInvalidSyntax},
		{name: "Empty", body: ``, scimType: scimerr.TypeInvalidSyntax},
		{name: "Null", body: `null`, scimType: scimerr.TypeInvalidSyntax},
		{name: "TrailingData", body: `{` + urn + `,"Operations":[{"op":"remove","path":"title"}]} {}`, scimType: scimerr.TypeInvalidSyntax},
		{name: "NoSchemas", body: `{"Operations":[{"op":"add","path":"nickName","value":"x"}]}`, scimType: scimerr.TypeInvalidSyntax},
		{name: "WrongSchema", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"Operations":[{"op":"remove","path":"title"}]}`, scimType: scimerr.TypeInvalidSyntax},
		{name: "SchemasNotArray", body: `{"schemas":"urn:ietf:params:scim:api:messages:2.0:PatchOp","Operations":[]}`, scimType: scimerr.TypeInvalidSyntax},
		{name: "NoOperations", body: `{` + urn + `}`, scimType: scimerr.TypeInvalidValue},
		{name: "EmptyOperations", body: `{` + urn + `,"Operations":[]}`, scimType: scimerr.TypeInvalidValue},
		{name: "TooManyOperations", body: `{` + urn + `,"Operations":[` + many + `]}`, scimType: scimerr.TypeInvalidValue},
		{name: "UnknownOp", body: `{` + urn + `,"Operations":[{"op":"move","path":"title"}]}`, scimType: scimerr.TypeInvalidSyntax},
		{name: "MissingOp", body: `{` + urn + `,"Operations":[{"path":"title"}]}`, scimType: scimerr.TypeInvalidSyntax},
		{name: "OperationNotObject", body: `{` + urn + `,"Operations":["add"]}`, scimType: scimerr.TypeInvalidSyntax},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := patch.ParseRequest([]byte(tc.body))
			if tc.scimType == "" {
				require.NoError(t, err)
				require.Len(t, req.Operations, tc.ops)
				return
			}
			require.Error(t, err)
			se := scimerr.As(err)
			require.NotNil(t, se, "%v", err)
			require.Equal(t, tc.scimType, se.ScimType, "%v", err)
			require.NotEmpty(t, se.Detail)
		})
	}
}

// TestApplyErrors checks that every kind of bad operation fails with the
// right scimType and leaves the input untouched, and that one bad operation
// rejects the whole patch.
func TestApplyErrors(t *testing.T) {
	t.Parallel()
	reg := schema.Default()
	tests := []struct {
		name     string
		group    bool
		ops      string
		scimType scimerr.Type
	}{
		{name: "UnknownAttribute", ops: `[{"op":"replace","path":"shoeSize","value":44}]`, scimType: scimerr.TypeInvalidPath},
		{name: "UnknownSubAttribute", ops: `[{"op":"replace","path":"name.nickName","value":"x"}]`, scimType: scimerr.TypeInvalidPath},
		{name: "UnknownExtensionAttribute", ops: `[{"op":"add","path":"` + ent + `:shoeSize","value":"x"}]`, scimType: scimerr.TypeInvalidPath},
		{name: "UnknownSchema", ops: `[{"op":"add","path":"urn:example:params:scim:schemas:Custom:tag","value":"x"}]`, scimType: scimerr.TypeInvalidPath},
		{name: "UnknownKeyWithoutPath", ops: `[{"op":"replace","value":{"displayName":"x","shoeSize":44}}]`, scimType: scimerr.TypeInvalidPath},
		{name: "UnknownFilterSubAttribute", ops: `[{"op":"replace","path":"emails[kind eq \"work\"].value","value":"x"}]`, scimType: scimerr.TypeInvalidPath},
		{name: "UnknownSubAttributeAfterFilter", ops: `[{"op":"replace","path":"emails[type eq \"work\"].street","value":"x"}]`, scimType: scimerr.TypeInvalidPath},
		{name: "FilterOnSimpleAttribute", ops: `[{"op":"remove","path":"userName[value eq \"x\"]"}]`, scimType: scimerr.TypeInvalidPath},
		{name: "MalformedPath", ops: `[{"op":"add","path":"emails[type eq","value":"x"}]`, scimType: scimerr.TypeInvalidPath},
		{name: "MalformedPathDots", ops: `[{"op":"add","path":"name..givenName","value":"x"}]`, scimType: scimerr.TypeInvalidPath},
		{name: "MalformedPathBracket", ops: `[{"op":"remove","path":"emails]"}]`, scimType: scimerr.TypeInvalidPath},
		{name: "ReadOnlyID", ops: `[{"op":"replace","path":"id","value":"x"}]`, scimType: scimerr.TypeMutability},
		{name: "ReadOnlyMeta", ops: `[{"op":"remove","path":"meta"}]`, scimType: scimerr.TypeMutability},
		{name: "ReadOnlyMetaSub", ops: `[{"op":"replace","path":"meta.lastModified","value":"2020-01-01T00:00:00Z"}]`, scimType: scimerr.TypeMutability},
		{name: "ReadOnlyGroups", ops: `[{"op":"add","path":"groups","value":[{"value":"g"}]}]`, scimType: scimerr.TypeMutability},
		{name: "ReadOnlyManagerDisplayName", ops: `[{"op":"replace","path":"manager.displayName","value":"Boss"}]`, scimType: scimerr.TypeMutability},
		{name: "BooleanNotBoolean", ops: `[{"op":"Replace","path":"active","value":"maybe"}]`, scimType: scimerr.TypeInvalidValue},
		{name: "StringNotString", ops: `[{"op":"replace","path":"userName","value":5}]`, scimType: scimerr.TypeInvalidValue},
		{name: "ComplexNotObject", ops: `[{"op":"replace","path":"name","value":"Barbara"}]`, scimType: scimerr.TypeInvalidValue},
		{name: "UnknownSubAttributeInValue", ops: `[{"op":"add","path":"emails","value":[{"value":"x","kind":"work"}]}]`, scimType: scimerr.TypeInvalidValue},
		{name: "ManyValuesForOneElement", ops: `[{"op":"replace","path":"emails[type eq \"work\"]","value":[{"value":"a"},{"value":"b"}]}]`, scimType: scimerr.TypeInvalidValue},
		{name: "BadValueInPathlessKey", ops: `[{"op":"replace","value":{"active":"nope"}}]`, scimType: scimerr.TypeInvalidValue},
		{name: "RemoveWithoutPath", ops: `[{"op":"remove"}]`, scimType: scimerr.TypeNoTarget},
		{name: "RemoveCoreURNPath", ops: `[{"op":"remove","path":"urn:ietf:params:scim:schemas:core:2.0:User"}]`, scimType: scimerr.TypeNoTarget},
		{name: "UnknownOp", ops: `[{"op":"move","path":"title"}]`, scimType: scimerr.TypeInvalidSyntax},
		{name: "AddWithoutValue", ops: `[{"op":"add","path":"title"}]`, scimType: scimerr.TypeInvalidValue},
		{name: "ReplaceWithoutValue", ops: `[{"op":"replace","path":"title"}]`, scimType: scimerr.TypeInvalidValue},
		{name: "PathlessWithoutValue", ops: `[{"op":"replace"}]`, scimType: scimerr.TypeInvalidValue},
		{name: "PathlessValueNotObject", ops: `[{"op":"add","value":[{"title":"x"}]}]`, scimType: scimerr.TypeInvalidValue},
		{name: "PathlessValueNull", ops: `[{"op":"replace","value":null}]`, scimType: scimerr.TypeInvalidValue},
		{name: "ExtensionValueNotObject", ops: `[{"op":"add","path":"` + ent + `","value":"Sales"}]`, scimType: scimerr.TypeInvalidValue},
		{name: "NoMatchNotSeedable", ops: `[{"op":"replace","path":"emails[value ew \"nowhere.example\"].type","value":"work"}]`, scimType: scimerr.TypeNoTarget},
		{name: "NoMatchOrFilter", ops: `[{"op":"add","path":"emails[type eq \"other\" or type eq \"x\"].value","value":"a@b"}]`, scimType: scimerr.TypeNoTarget},
		{name: "NoMatchContradiction", ops: `[{"op":"add","path":"emails[type eq \"other\" and type eq \"x\"].value","value":"a@b"}]`, scimType: scimerr.TypeNoTarget},
		{name: "SingleValuedFilterMismatch", ops: `[{"op":"replace","path":"manager[value eq \"someone-else\"].value","value":"x"}]`, scimType: scimerr.TypeNoTarget},
		{name: "SubOfMultiValuedWithNothing", ops: `[{"op":"add","path":"ims.value","value":"x"}]`, scimType: scimerr.TypeNoTarget},
		{name: "TwoPrimaries", ops: `[{"op":"add","path":"emails","value":[{"value":"a@x","primary":true},{"value":"b@x","primary":true}]}]`, scimType: scimerr.TypeInvalidValue},
		{name: "TwoPrimariesByFilter", ops: `[{"op":"replace","path":"emails[type pr].primary","value":true}]`, scimType: scimerr.TypeInvalidValue},
		{name: "SecondOperationInvalid", ops: `[{"op":"replace","path":"displayName","value":"Changed"},{"op":"replace","path":"shoeSize","value":1}]`, scimType: scimerr.TypeInvalidPath},
		{name: "LastOperationInvalid", ops: `[{"op":"remove","path":"emails"},{"op":"add","path":"nickName","value":"x"},{"op":"remove"}]`, scimType: scimerr.TypeNoTarget},
		{name: "ValueNotJSON", ops: `[{"op":"add","path":"title","value":"x"}]`, scimType: scimerr.TypeInvalidSyntax},
		{name: "UserHasNoMembers", ops: `[{"op":"add","path":"members","value":[{"value":"x"}]}]`, scimType: scimerr.TypeInvalidPath},
		{name: "MemberWithoutValue", group: true, ops: `[{"op":"add","path":"members","value":[{"value":"a"},{"display":"b"}]}]`, scimType: scimerr.TypeInvalidValue},
		{name: "MemberValueNotString", group: true, ops: `[{"op":"Remove","path":"members","value":[{"value":7}]}]`, scimType: scimerr.TypeInvalidValue},
		{name: "MemberNotObject", group: true, ops: `[{"op":"add","path":"members","value":["a"]}]`, scimType: scimerr.TypeInvalidValue},
		{name: "MemberUnknownSubAttribute", group: true, ops: `[{"op":"add","path":"members","value":[{"value":"a","role":"owner"}]}]`, scimType: scimerr.TypeInvalidValue},
		{name: "MemberAddWithoutValue", group: true, ops: `[{"op":"add","path":"members"}]`, scimType: scimerr.TypeInvalidValue},
		{name: "MemberAddWithOtherFilter", group: true, ops: `[{"op":"add","path":"members[type eq \"User\"]","value":[{"value":"a"}]}]`, scimType: scimerr.TypeInvalidPath},
		{name: "MemberAddWithFilterOtherID", group: true, ops: `[{"op":"add","path":"members[value eq \"a\"]","value":{"value":"b"}}]`, scimType: scimerr.TypeInvalidValue},
		{name: "MemberReplaceWithFilterNoValue", group: true, ops: `[{"op":"replace","path":"members[value eq \"a\"]"}]`, scimType: scimerr.TypeInvalidValue},
		{name: "MemberReplaceWithFilterNoID", group: true, ops: `[{"op":"replace","path":"members[value eq \"a\"]","value":{"display":"B"}}]`, scimType: scimerr.TypeInvalidValue},
		{name: "MemberReplaceValueNotString", group: true, ops: `[{"op":"replace","path":"members[value eq \"a\"].value","value":{"value":"b"}}]`, scimType: scimerr.TypeInvalidValue},
		{name: "MemberAddSubAttribute", group: true, ops: `[{"op":"add","path":"members[value eq \"a\"].value","value":"b"}]`, scimType: scimerr.TypeInvalidPath},
		{name: "MemberSubAttribute", group: true, ops: `[{"op":"replace","path":"members[value eq \"a\"].display","value":"A"}]`, scimType: scimerr.TypeInvalidPath},
		{name: "MemberPathlessWithoutValue", group: true, ops: `[{"op":"add","value":{"members":[{"$ref":null}]}}]`, scimType: scimerr.TypeInvalidValue},
		{name: "GroupReadOnlyID", group: true, ops: `[{"op":"replace","path":"id","value":"x"}]`, scimType: scimerr.TypeMutability},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rt, doc, pristine := reg.User(), bjensen(), bjensen()
			if tc.group {
				rt, doc, pristine = reg.Group(), map[string]any{"displayName": "g"}, map[string]any{"displayName": "g"}
			}
			list := ops(t, tc.ops)
			if tc.name == "ValueNotJSON" {
				list[0].Value = json.RawMessage(`"x" "y"`)
			}
			res, err := patch.Apply(rt, doc, list)
			require.Error(t, err)
			se := scimerr.As(err)
			require.NotNil(t, se, "%v", err)
			require.Equal(t, tc.scimType, se.ScimType, "%v", err)
			require.Equal(t, 400, se.Status)
			require.Zero(t, res, "a failed patch returns nothing")
			require.Equal(t, pristine, doc, "a failed patch leaves the input untouched")
			if tc.scimType != scimerr.TypeInvalidValue || !strings.HasPrefix(tc.name, "TwoPrimaries") {
				require.Contains(t, se.Detail, fmt.Sprintf("Operations[%d]", len(list)-1), "the detail names the failing operation")
			}
		})
	}
}

// TestImmutable checks RFC 7644 §3.5.2: an immutable attribute may be added
// while it has no value, and not changed afterwards. No attribute of the
// default schemas outside group members is immutable, so a custom resource
// type stands in.
func TestImmutable(t *testing.T) {
	t.Parallel()
	rt := &schema.ResourceType{
		ID: "Device", Name: "Device", Endpoint: "/Devices",
		Schema: &schema.Schema{ID: "urn:example:params:scim:schemas:core:2.0:Device", Name: "Device", Attributes: []*schema.Attribute{
			schema.Str("displayName"),
			schema.Str("serial", schema.Mut(schema.Immutable)),
			schema.Cplx("owner", []*schema.Attribute{
				schema.Str("value", schema.Mut(schema.Immutable)),
				schema.Str("display"),
			}),
			schema.Cplx("ports", []*schema.Attribute{
				schema.Str("value", schema.Mut(schema.Immutable)),
				schema.Str("type"),
			}, schema.Multi),
		}},
	}
	tests := []struct {
		name     string
		before   map[string]any
		ops      string
		after    map[string]any
		scimType scimerr.Type
	}{
		{name: "AddWhenUnassigned", before: map[string]any{}, ops: `[{"op":"add","path":"serial","value":"S1"}]`, after: map[string]any{"serial": "S1"}},
		{name: "ReplaceWithSameValue", before: map[string]any{"serial": "S1"}, ops: `[{"op":"replace","value":{"serial":"S1","displayName":"d"}}]`, after: map[string]any{"serial": "S1", "displayName": "d"}},
		{name: "Change", before: map[string]any{"serial": "S1"}, ops: `[{"op":"replace","path":"serial","value":"S2"}]`, scimType: scimerr.TypeMutability},
		{name: "AddOverExisting", before: map[string]any{"serial": "S1"}, ops: `[{"op":"add","path":"serial","value":"S2"}]`, scimType: scimerr.TypeMutability},
		{name: "Remove", before: map[string]any{"serial": "S1"}, ops: `[{"op":"remove","path":"serial"}]`, scimType: scimerr.TypeMutability},
		{name: "RemoveAbsent", before: map[string]any{}, ops: `[{"op":"remove","path":"serial"}]`, after: map[string]any{}},
		{name: "SubAddWhenUnassigned", before: map[string]any{"owner": map[string]any{"display": "A"}}, ops: `[{"op":"add","path":"owner.value","value":"u1"}]`,
			after: map[string]any{"owner": map[string]any{"display": "A", "value": "u1"}}},
		{name: "SubChange", before: map[string]any{"owner": map[string]any{"value": "u1"}}, ops: `[{"op":"replace","path":"owner.value","value":"u2"}]`, scimType: scimerr.TypeMutability},
		{name: "SubChangeByMerge", before: map[string]any{"owner": map[string]any{"value": "u1"}}, ops: `[{"op":"replace","path":"owner","value":{"value":"u2"}}]`, scimType: scimerr.TypeMutability},
		{name: "SubRemove", before: map[string]any{"owner": map[string]any{"value": "u1", "display": "A"}}, ops: `[{"op":"remove","path":"owner.value"}]`, scimType: scimerr.TypeMutability},
		{name: "SubOtherChanges", before: map[string]any{"owner": map[string]any{"value": "u1"}}, ops: `[{"op":"add","path":"owner","value":{"value":"u1","display":"B"}}]`,
			after: map[string]any{"owner": map[string]any{"value": "u1", "display": "B"}}},
		{name: "ElementSubChange", before: map[string]any{"ports": []any{map[string]any{"value": "p1", "type": "usb"}}}, ops: `[{"op":"replace","path":"ports[type eq \"usb\"].value","value":"p2"}]`, scimType: scimerr.TypeMutability},
		{name: "ElementReplaceKeepsSub", before: map[string]any{"ports": []any{map[string]any{"value": "p1", "type": "usb"}}}, ops: `[{"op":"replace","path":"ports[type eq \"usb\"]","value":{"value":"p1","type":"usb-c"}}]`,
			after: map[string]any{"ports": []any{map[string]any{"value": "p1", "type": "usb-c"}}}},
		{name: "ElementRemoveAllowed", before: map[string]any{"ports": []any{map[string]any{"value": "p1", "type": "usb"}}}, ops: `[{"op":"remove","path":"ports[type eq \"usb\"]"}]`,
			after: map[string]any{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := patch.Apply(rt, tc.before, ops(t, tc.ops))
			if tc.scimType != "" {
				require.Error(t, err)
				require.Equal(t, tc.scimType, scimerr.As(err).ScimType, "%v", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.after, res.Attrs)
		})
	}
}

// TestChanges pins the Change list, which drives audit and the "no-op → 204"
// decision: one entry per effective change, with canonical paths.
func TestChanges(t *testing.T) {
	t.Parallel()
	reg := schema.Default()
	tests := []struct {
		name string
		ops  string
		want []patch.Change
	}{
		{name: "CanonicalSpelling", ops: `[{"op":"REPLACE","path":"NAME.GIVENNAME","value":"B"},{"op":"add","path":"EMAILS[TYPE eq \"other\"].VALUE","value":"o@x"}]`,
			want: []patch.Change{{Op: "replace", Path: "name.givenName"}, {Op: "add", Path: `emails[type eq "other"].value`}}},
		{name: "ExtensionPaths", ops: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:Department","value":"D"},{"op":"add","value":{"` + ent + `":{"costCenter":"C"}}}]`,
			want: []patch.Change{{Op: "replace", Path: ent + ":department"}, {Op: "add", Path: ent + ":costCenter"}}},
		{name: "CoreURNPathIsPlain", ops: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:core:2.0:User:title","value":"CEO"}]`,
			want: []patch.Change{{Op: "replace", Path: "title"}}},
		{name: "PathlessKeysOnlyChanged", ops: `[{"op":"replace","value":{"title":"Tour Guide","nickName":"B","name.familyName":"Jensen"}}]`,
			want: []patch.Change{{Op: "replace", Path: "nickName"}}},
		{name: "PathlessFilterKey", ops: `[{"op":"add","value":{"emails[type eq \"other\"].value":"o@x","phoneNumbers[type eq \"work\"].value":"555"}}]`,
			want: []patch.Change{{Op: "add", Path: `emails[type eq "other"].value`}, {Op: "add", Path: `phoneNumbers[type eq "work"].value`}}},
		{name: "LegacyDottedExtensionPath", ops: `[{"op":"Replace","path":"` + ent + `.department","value":"D"}]`,
			want: []patch.Change{{Op: "replace", Path: ent + ":department"}}},
		{name: "NoOps", ops: `[{"op":"add","path":"emails","value":{"value":"babs@jensen.org","type":"home"}},{"op":"remove","path":"ims"},{"op":"Replace","path":"active","value":"true"}]`,
			want: nil},
		{name: "SetTwice", ops: `[{"op":"replace","path":"title","value":"CEO"},{"op":"replace","path":"title","value":"CTO"}]`,
			want: []patch.Change{{Op: "replace", Path: "title"}, {Op: "replace", Path: "title"}}},
		{name: "SetThenRestore", ops: `[{"op":"replace","path":"title","value":"CEO"},{"op":"replace","path":"title","value":"Tour Guide"}]`,
			want: nil},
		{name: "RemoveThenAddBack", ops: `[{"op":"remove","path":"emails"},{"op":"add","path":"emails","value":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}]}]`,
			want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := patch.Apply(reg.User(), bjensen(), ops(t, tc.ops))
			require.NoError(t, err)
			require.Equal(t, tc.want, res.Changes)
		})
	}
}

// TestNilInput checks that a resource without attributes can be patched.
func TestNilInput(t *testing.T) {
	t.Parallel()
	res, err := patch.Apply(schema.Default().User(), nil, ops(t, `[{"op":"add","path":"emails[type eq \"work\"].value","value":"w@x"}]`))
	require.NoError(t, err)
	require.Equal(t, map[string]any{"emails": []any{map[string]any{"type": "work", "value": "w@x"}}}, res.Attrs)

	res, err = patch.Apply(schema.Default().User(), nil, nil)
	require.NoError(t, err)
	require.Empty(t, res.Attrs)
	require.NotNil(t, res.Attrs)
}

// A value filter in a PATCH path cannot compare a sub-attribute that is
// never returned: whether the operation found a target would reveal it.
func TestValueFilterRefusesNeverReturned(t *testing.T) {
	t.Parallel()
	rt := &schema.ResourceType{
		ID: "Vault", Name: "Vault", Endpoint: "/Vaults",
		Schema: &schema.Schema{ID: "urn:example:Vault", Name: "Vault", Attributes: []*schema.Attribute{
			schema.Cplx("keys", []*schema.Attribute{
				schema.Str("value"), schema.Str("type"), schema.Str("secret", schema.Ret(schema.ReturnedNever)),
			}, schema.Multi),
		}},
	}
	attrs := map[string]any{"keys": []any{map[string]any{"value": "k1", "type": "a", "secret": "s3cret"}}}
	for _, tc := range []struct {
		name string
		op   patch.Operation
	}{
		{"RemoveBySw", patch.Operation{Op: "remove", Path: `keys[secret sw "s"]`}},
		{"ReplaceByEq", patch.Operation{Op: "replace", Path: `keys[secret eq "s3cret"].type`, Value: json.RawMessage(`"b"`)}},
		{"AddByPr", patch.Operation{Op: "add", Path: `keys[type eq "a" and secret pr].type`, Value: json.RawMessage(`"b"`)}},
		{"NotCaseFolded", patch.Operation{Op: "remove", Path: `KEYS[not (SECRET ew "t")]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := patch.Apply(rt, attrs, []patch.Operation{tc.op})
			se := scimerr.As(err)
			require.NotNil(t, se, "%v", err)
			require.Equal(t, scimerr.TypeInvalidFilter, se.ScimType)
			require.Contains(t, se.Detail, "never returned")
		})
	}
	res, err := patch.Apply(rt, attrs, []patch.Operation{{Op: "remove", Path: `keys[type eq "a"]`}})
	require.NoError(t, err, "filters on returned sub-attributes still work")
	require.NotContains(t, res.Attrs, "keys")
}
