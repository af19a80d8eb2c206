package bulk

import (
	"slices"
	"testing"
)

// FuzzParse feeds arbitrary bodies through Parse, References, Resolve and
// Order: none may panic, Order must be a permutation of the operations, and
// Resolve with every bulkId known must leave no reference behind.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[{"method":"POST","path":"/Users","bulkId":"u1","data":{"userName":"a"}}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"failOnErrors":1,"Operations":[
			{"method":"POST","path":"/Groups","bulkId":"g","data":{"displayName":"g","members":[{"value":"bulkId:u"}]}},
			{"method":"POST","path":"/Users","bulkId":"u","data":{"userName":"b","manager":{"value":"bulkId:g"}}},
			{"method":"PATCH","path":"/Groups/bulkId:g","data":{"Operations":[{"op":"add","path":"members","value":[{"value":"bulkId:u"}]}]}},
			{"method":"DELETE","path":"/Users/123"}]}`,
		`{"Operations":[]}`,
		`{"schemas":["x"],"Operations":[{"method":"POST","bulkId":"a","data":"bulkId:a"}]}`,
		`[]`, `{`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := Parse(body, 50)
		if err != nil {
			return
		}
		order := Order(req.Operations)
		want := make([]int, len(req.Operations))
		for i := range want {
			want[i] = i
		}
		got := slices.Clone(order)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("Order is not a permutation: %v", order)
		}
		ids := map[string]string{}
		for _, op := range req.Operations {
			if op.BulkID != "" {
				ids[op.BulkID] = "id-" + op.BulkID
			}
		}
		for _, op := range req.Operations {
			resolved, err := Resolve(op, ids)
			if err != nil {
				continue
			}
			for _, r := range References(resolved) {
				if _, known := ids[r]; known {
					t.Fatalf("reference %q left after Resolve: %+v", r, resolved)
				}
			}
		}
	})
}
