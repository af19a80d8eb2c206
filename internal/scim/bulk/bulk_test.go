package bulk_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/bulk"
	"github.com/rosterhq/roster/internal/scim/scimerr"
)

func TestParse(t *testing.T) {
	t.Parallel()
	const urn = `"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]`
	tests := []struct {
		name   string
		body   string
		status int
	}{
		{"Valid", `{` + urn + `,"Operations":[{"method":"post","path":"/Users","bulkId":"a","data":{}}]}`, 0},
		{"NotJSON", `{`, 400},
		{"NoSchema", `{"Operations":[{"method":"DELETE","path":"/Users/1"}]}`, 400},
		{"NoOperations", `{` + urn + `,"Operations":[]}`, 400},
		{"TooMany", `{` + urn + `,"Operations":[{"method":"DELETE","path":"/Users/1"},{"method":"DELETE","path":"/Users/2"},{"method":"DELETE","path":"/Users/3"}]}`, 413},
		{"BadMethod", `{` + urn + `,"Operations":[{"method":"GET","path":"/Users"}]}`, 400},
		{"PostWithoutBulkId", `{` + urn + `,"Operations":[{"method":"POST","path":"/Users"}]}`, 400},
		{"DuplicateBulkId", `{` + urn + `,"Operations":[{"method":"POST","path":"/Users","bulkId":"a"},{"method":"POST","path":"/Users","bulkId":"a"}]}`, 400},
		{"RelativePath", `{` + urn + `,"Operations":[{"method":"DELETE","path":"Users/1"}]}`, 400},
		{"NegativeFailOnErrors", `{` + urn + `,"failOnErrors":-1,"Operations":[{"method":"DELETE","path":"/Users/1"}]}`, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := bulk.Parse([]byte(tc.body), 2)
			if tc.status == 0 {
				require.NoError(t, err)
				require.Equal(t, "POST", req.Operations[0].Method)
				return
			}
			require.Equal(t, tc.status, scimerr.As(err).Status, "%v", err)
		})
	}
}

func TestOrderAndResolve(t *testing.T) {
	t.Parallel()
	ops := []bulk.Operation{
		{Method: "POST", Path: "/Groups", BulkID: "g", Data: json.RawMessage(`{"members":[{"value":"bulkId:u"}]}`)},
		{Method: "POST", Path: "/Users", BulkID: "u", Data: json.RawMessage(`{"userName":"a"}`)},
		{Method: "PATCH", Path: "/Users/bulkId:u", Data: json.RawMessage(`{}`)},
		{Method: "POST", Path: "/Groups", BulkID: "x", Data: json.RawMessage(`{"members":[{"value":"bulkId:y"}]}`)},
		{Method: "POST", Path: "/Groups", BulkID: "y", Data: json.RawMessage(`{"members":[{"value":"bulkId:x"}]}`)},
	}
	require.Equal(t, []int{1, 2, 0, 3, 4}, bulk.Order(ops), "forward references wait; a cycle comes last")
	require.Equal(t, []string{"u"}, bulk.References(ops[0]))

	op, err := bulk.Resolve(ops[0], map[string]string{"u": "id-1"})
	require.NoError(t, err)
	require.JSONEq(t, `{"members":[{"value":"id-1"}]}`, string(op.Data))
	op, err = bulk.Resolve(ops[2], map[string]string{"u": "id-1"})
	require.NoError(t, err)
	require.Equal(t, "/Users/id-1", op.Path)
	_, err = bulk.Resolve(ops[3], map[string]string{})
	require.Error(t, err)
	require.Equal(t, scimerr.TypeInvalidValue, scimerr.As(err).ScimType)
}
