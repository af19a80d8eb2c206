package schema_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/schema"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	rt := schema.Default().User()
	tests := []struct {
		uri, name, sub string
		wantURN        string
		wantAttr       string
		wantSub        string
		wantErr        bool
	}{
		{name: "USERNAME", wantURN: schema.UserURN, wantAttr: "userName"},
		{name: "name", sub: "GIVENNAME", wantURN: schema.UserURN, wantAttr: "name", wantSub: "givenName"},
		{name: "id", wantAttr: "id"},
		{name: "meta", sub: "lastModified", wantAttr: "meta", wantSub: "lastModified"},
		{name: "department", wantURN: schema.EnterpriseUserURN, wantAttr: "department"},
		{uri: schema.EnterpriseUserURN, name: "manager", sub: "value", wantURN: schema.EnterpriseUserURN, wantAttr: "manager", wantSub: "value"},
		{uri: schema.UserURN, name: "userName", wantURN: schema.UserURN, wantAttr: "userName"},
		{uri: schema.UserURN, name: "externalId", wantAttr: "externalId"},
		{name: "shoeSize", wantErr: true},
		{name: "userName", sub: "x", wantErr: true},
		{name: "name", sub: "x", wantErr: true},
		{uri: "urn:example:nope", name: "x", wantErr: true},
	}
	for _, tc := range tests {
		r, err := rt.Resolve(tc.uri, tc.name, tc.sub)
		if tc.wantErr {
			require.Error(t, err, "%+v", tc)
			continue
		}
		require.NoError(t, err, "%+v", tc)
		require.Equal(t, tc.wantURN, r.SchemaURN)
		require.Equal(t, tc.wantAttr, r.Attr.Name)
		if tc.wantSub != "" {
			require.Equal(t, tc.wantSub, r.Sub.Name)
		}
	}
}

func TestSplitURN(t *testing.T) {
	t.Parallel()
	rt := schema.Default().User()
	urn, rest := rt.SplitURN("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value")
	require.Equal(t, schema.EnterpriseUserURN, urn)
	require.Equal(t, "manager.value", rest)
	urn, rest = rt.SplitURN("name.givenName")
	require.Empty(t, urn)
	require.Equal(t, "name.givenName", rest)
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	reg := schema.Default()
	require.Len(t, reg.Schemas(), 3)
	require.NotNil(t, reg.Schema("URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER"))
	require.Equal(t, "/Groups", reg.ResourceType("group").Endpoint)
	pw := reg.User().Schema.Attr("password")
	require.Equal(t, schema.WriteOnly, pw.Mutability)
	require.Equal(t, schema.ReturnedNever, pw.Returned)
	require.True(t, reg.User().Schema.Attr("emails").HasPrimary())
	require.Equal(t, schema.UniqueServer, reg.User().Schema.Attr("userName").Uniqueness)
}
