package resource_test

import (
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/resource"
	"github.com/rosterhq/roster/internal/scim/schema"
)

// requireSameAsMarshal checks that AppendJSON writes what json.Marshal
// writes, or fails as it does.
func requireSameAsMarshal(t *testing.T, v any) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	got, err := resource.AppendJSON([]byte("prefix"), v)
	if wantErr != nil {
		require.Error(t, err)
		return
	}
	require.NoError(t, err)
	require.Equal(t, "prefix"+string(want), string(got))
}

func TestAppendJSONValues(t *testing.T) {
	t.Parallel()
	for _, v := range []any{
		nil, true, false, 0, -7, int64(math.MaxInt64), 1.5, 1e21, 1e-7, math.NaN(),
		json.Number("12"), json.Number(""), json.Number("x"),
		"", "plain", `q"uote`, `back\slash`, "tab\tnew\nline\r\b\f\x01\x1f\x7f",
		"<b>&amp;</b>", "Zoë Ünal 山田", "\u2028\u2029", "bad\xffutf8", "\xe2\x80",
		map[string]any(nil), map[string]any{}, []any(nil), []any{}, []string(nil), []string{},
		map[string]any{"b": 1, "a": []any{"x", nil, map[string]any{"<": ">"}}, "é": []string{"z", "&"}},
		map[string]string{"other": "type"}, time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC),
		[]any{math.Inf(1)},
	} {
		requireSameAsMarshal(t, v)
	}
}

// TestAppendJSONCorpus encodes every JSON file under the repository's
// testdata directories (PATCH cases, IdP exchanges), decoded as a request
// body is (json.Number) and as plain JSON (float64), and rendered as a
// response or event is.
func TestAppendJSONCorpus(t *testing.T) {
	t.Parallel()
	reg := schema.Default()
	n := 0
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") || !strings.Contains(path, "testdata") {
			return err
		}
		body, err := os.ReadFile(path)
		require.NoError(t, err)
		var plain any
		if json.Unmarshal(body, &plain) != nil {
			return nil
		}
		requireSameAsMarshal(t, plain)
		if doc, err := resource.Decode(body); err == nil {
			requireSameAsMarshal(t, doc)
			for _, rt := range []string{schema.UserResource, schema.GroupResource} {
				requireSameAsMarshal(t, resource.Render(reg.ResourceType(rt), "id-1", doc, resource.Meta{
					Created: time.Unix(1, 0), Modified: time.Unix(2, 0), Version: 3, Location: "https://x/<&>",
				}))
			}
		}
		n++
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, n, 100)
}

func FuzzAppendJSON(f *testing.F) {
	f.Add(`{"userName":"a<b","name":{"givenName":"Zoë"},"emails":[{"value":"x@y","primary":true}],"n":1.5e300}`)
	f.Add("\"bad\xff\u2028\"")
	f.Fuzz(func(t *testing.T, body string) {
		var plain any
		if json.Unmarshal([]byte(body), &plain) == nil {
			requireSameAsMarshal(t, plain)
		}
		requireSameAsMarshal(t, body)
		if doc, err := resource.Decode([]byte(body)); err == nil {
			requireSameAsMarshal(t, doc)
		}
	})
}

// BenchmarkEncodeUser encodes an Entra-shaped user as a create's response
// and event payload hold it, with json.Marshal (the encoding before issue
// 15 step 2) and with AppendJSON.
func BenchmarkEncodeUser(b *testing.B) {
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
	"externalId":"0a1b2c3d-4e5f-6789-abcd-ef0123456789","userName":"adele.vance.1234@contoso.example","active":true,
	"displayName":"Adele Vance","title":"Retail Manager","preferredLanguage":"en-US",
	"name":{"formatted":"Adele Vance","familyName":"Vance","givenName":"Adele"},
	"emails":[{"primary":true,"type":"work","value":"adele.vance.1234@contoso.example"}],
	"phoneNumbers":[{"type":"work","value":"+1 425 555 0109"},{"type":"mobile","value":"+1 425 555 0110"}],
	"addresses":[{"type":"work","streetAddress":"1 Main St","locality":"Redmond","region":"WA","postalCode":"98052","country":"US","formatted":"1 Main St Redmond WA 98052 US","primary":true}],
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"1234","department":"Retail","costCenter":"CC-17","organization":"Contoso","manager":{"value":"m-1"}}}`
	attrs, err := resource.Decode([]byte(body))
	require.NoError(b, err)
	delete(attrs, "schemas")
	doc := resource.Render(schema.Default().User(), "2819c223-7f76-453a-919d-413861904646", attrs, resource.Meta{
		Created: time.Unix(1e9, 0), Modified: time.Unix(1e9, 0), Version: 1,
		Location: "http://127.0.0.1/scim/v2/default/Users/2819c223-7f76-453a-919d-413861904646",
	})
	b.Run("Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := resource.AppendJSON(make([]byte, 0, 1024), doc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
