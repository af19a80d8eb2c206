package push

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func op(data string) string {
	return `{"method":"POST","bulkId":"x","path":"/Users","data":` + data + `}`
}

func request(ops ...string) string {
	return `{"schemas":["` + BulkRequestSchema + `"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

const user = `"schemas":["` + UserSchema + `"]`

func TestParseBulkRequest(t *testing.T) {
	t.Parallel()
	many := make([]string, MaxOperations+1)
	for i := range many {
		many[i] = op(`{` + user + `,"externalId":"e` + fmt.Sprint(i) + `"}`)
	}
	for _, tc := range []struct {
		name, body string
		want       error
		ops        int
	}{
		{"One", request(op(`{` + user + `,"externalId":"e1"}`)), nil, 1},
		{"Fifty", request(many[:MaxOperations]...), nil, MaxOperations},
		{"LowerCaseOperations", `{"schemas":["` + BulkRequestSchema + `"],"operations":[` + op(`{}`) + `]}`, nil, 1},
		{"FailOnErrors", `{"schemas":["` + BulkRequestSchema + `"],"failOnErrors":1,"Operations":[` + op(`{}`) + `]}`, nil, 1},
		{"FiftyOne", request(many...), ErrTooManyOperations, 0},
		{"NotJSON", `{"schemas":`, ErrBadRequest, 0},
		{"Array", `[]`, ErrBadRequest, 0},
		{"TrailingData", request(op(`{}`)) + `{}`, ErrBadRequest, 0},
		{"NoSchema", `{"Operations":[` + op(`{}`) + `]}`, ErrBadRequest, 0},
		{"NoOperations", request(), ErrBadRequest, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := ParseBulkRequest([]byte(tc.body))
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			require.Len(t, req.Operations, tc.ops)
		})
	}
}

func TestRecords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		op       string
		anchor   string
		rejected string
	}{
		{"Valid", op(`{` + user + `,"externalId":"e1","userName":"a","active":false}`), "e1", ""},
		{"EnterpriseExtension", op(`{"schemas":["` + UserSchema + `","` + EnterpriseSchema + `"],"externalId":"e1","` + EnterpriseSchema + `":{"department":"Sales"}}`), "e1", ""},
		{"LowerCaseMethod", `{"method":"post","path":"/Users","data":{` + user + `,"externalId":"e1"}}`, "e1", ""},
		{"Put", `{"method":"PUT","path":"/Users","data":{` + user + `,"externalId":"e1"}}`, "", "only POST"},
		{"Delete", `{"method":"DELETE","path":"/Users/1"}`, "", "only POST"},
		{"Groups", `{"method":"POST","path":"/Groups","data":{` + user + `,"externalId":"e1"}}`, "", "records go to /Users"},
		{"NoData", `{"method":"POST","path":"/Users"}`, "", "data must be a JSON object"},
		{"DataArray", op(`[]`), "", "data must be a JSON object"},
		{"NoSchemas", op(`{"externalId":"e1"}`), "", "data.schemas must contain"},
		{"NoExternalID", op(`{` + user + `,"userName":"a"}`), "", "externalId is required"},
		{"BlankExternalID", op(`{` + user + `,"externalId":"  "}`), "", "externalId is required"},
		{"NumericExternalID", op(`{` + user + `,"externalId":7}`), "", "externalId is required"},
		{"ActiveString", op(`{` + user + `,"externalId":"e1","active":"true"}`), "", "active must be true or false"},
		{"UserNameNumber", op(`{` + user + `,"externalId":"e1","userName":1}`), "", "userName must be a string"},
		{"ExtensionNotObject", op(`{` + user + `,"externalId":"e1","` + EnterpriseSchema + `":"x"}`), "", "must be a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := ParseBulkRequest([]byte(request(tc.op)))
			require.NoError(t, err)
			recs, rejected := req.Records()
			if tc.rejected != "" {
				require.Empty(t, recs)
				require.Len(t, rejected, 1)
				require.Contains(t, rejected[0].Reason, tc.rejected)
				return
			}
			require.Empty(t, rejected)
			require.Len(t, recs, 1)
			require.Equal(t, tc.anchor, recs[0].ExternalID)
		})
	}
}

// TestRecordsSameExternalID pins that the last of several records with one
// externalId wins and the earlier are rejected as superseded, in order.
func TestRecordsSameExternalID(t *testing.T) {
	t.Parallel()
	req, err := ParseBulkRequest([]byte(request(
		op(`{`+user+`,"externalId":"e1","userName":"first"}`),
		op(`{`+user+`,"externalId":"e2"}`),
		op(`{`+user+`,"externalId":"e1","userName":"second"}`),
		op(`{`+user+`,"externalId":"e1","userName":"third"}`),
	)))
	require.NoError(t, err)
	recs, rejected := req.Records()
	require.Len(t, recs, 2)
	require.Equal(t, "e1", recs[0].ExternalID)
	require.Equal(t, "third", recs[0].UserName)
	require.Equal(t, 3, recs[0].Op)
	require.Len(t, rejected, 2)
	require.Equal(t, 0, rejected[0].Op)
	require.Equal(t, 2, rejected[1].Op)
	require.Contains(t, rejected[1].Reason, "superseded by operation 3")
}

// FuzzParseBulkRequest checks that any body either is refused or yields
// records that are each a JSON object with a non-empty externalId, with no
// externalId twice, and every operation accounted for once.
func FuzzParseBulkRequest(f *testing.F) {
	f.Add([]byte(request(op(`{` + user + `,"externalId":"e1","active":true}`))))
	f.Add([]byte(request(op(`{`+user+`,"externalId":"e1"}`), op(`{`+user+`,"externalId":"e1"}`))))
	f.Add([]byte(request(`{"method":"DELETE"}`)))
	f.Add([]byte(`{"schemas":["` + BulkRequestSchema + `"],"Operations":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseBulkRequest(body)
		if err != nil {
			return
		}
		require.LessOrEqual(t, len(req.Operations), MaxOperations)
		recs, rejected := req.Records()
		require.Equal(t, len(req.Operations), len(recs)+len(rejected))
		seen := map[string]bool{}
		for _, r := range recs {
			require.NotEmpty(t, strings.TrimSpace(r.ExternalID))
			require.False(t, seen[r.ExternalID], "externalId %q twice", r.ExternalID)
			seen[r.ExternalID] = true
			var doc map[string]any
			require.NoError(t, json.Unmarshal(r.Data, &doc))
			require.Equal(t, r.ExternalID, doc["externalId"])
		}
	})
}
