package scimhttp_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// on returns a view of e for the subtest t, so that parallel subtests
// sharing one server fail their own test, not the parent's. The variables
// are shared; subtests only read them.
func (e *env) on(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// TestBodiesDecodedStrictly checks that every SCIM body (resources, PATCH,
// Bulk, .search) that is not UTF-8 or names one key twice, compared
// case-insensitively (RFC 7643 §2.1), is refused with invalidSyntax instead
// of being altered or decided by chance, and that nothing is stored.
func TestBodiesDecodedStrictly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.replay([]step{{name: "Create", method: http.MethodPost, path: "/Users", status: http.StatusCreated,
		body: `{"userName":"strict@example.com","nickName":"Kept"}`, save: map[string]string{"u": "id"}}})
	const bulk = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[{"method":"POST","bulkId":"b","path":"/Users","data":%s}]}`
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		detail string
	}{
		{"PostInvalidUTF8", http.MethodPost, "/Users", "{\"userName\":\"bad\xffname@example.com\"}", "UTF-8"},
		{"PostLoneSurrogate", http.MethodPost, "/Users", `{"userName":"s\ud800@example.com"}`, "surrogate"},
		{"PutInvalidUTF8", http.MethodPut, "/Users/{{u}}", "{\"userName\":\"strict@example.com\",\"nickName\":\"\xc3\"}", "UTF-8"},
		{"PatchInvalidUTF8", http.MethodPatch, "/Users/{{u}}", `{` + patchOp + ",\"Operations\":[{\"op\":\"replace\",\"path\":\"nickName\",\"value\":\"\xe9\"}]}", "UTF-8"},
		{"SearchInvalidUTF8", http.MethodPost, "/Users/.search", "{\"filter\":\"userName eq \\\"\xff\\\"\"}", "UTF-8"},
		{"RootSearchInvalidUTF8", http.MethodPost, "/.search", "{\"filter\":\"userName eq \\\"\xff\\\"\"}", "UTF-8"},
		{"BulkInvalidUTF8", http.MethodPost, "/Bulk", fmt.Sprintf(bulk, "{\"userName\":\"\xff\"}"), "UTF-8"},
		{"PostKeysDifferInCase", http.MethodPost, "/Users", `{"userName":"case@example.com","nickName":"a","NICKNAME":"b"}`, `"nickName" and "NICKNAME"`},
		{"PostComplexKeys", http.MethodPost, "/Users", `{"userName":"case@example.com","name":{"givenName":"a","GivenName":"b"}}`, `"givenName" and "GivenName"`},
		{"PostExtensionKeys", http.MethodPost, "/Users", `{"userName":"case@example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"a","DEPARTMENT":"b"}}`, `"department" and "DEPARTMENT"`},
		{"PutKeysDifferInCase", http.MethodPut, "/Users/{{u}}", `{"userName":"strict@example.com","nickName":"a","nickname":"b"}`, `"nickName" and "nickname"`},
		{"PatchValueKeys", http.MethodPatch, "/Users/{{u}}", `{` + patchOp + `,"Operations":[{"op":"replace","value":{"nickName":"a","NickName":"b"}}]}`, `"nickName" and "NickName"`},
		{"PatchOperationKeys", http.MethodPatch, "/Users/{{u}}", `{` + patchOp + `,"Operations":[{"op":"replace","path":"nickName","value":"a","Value":"b"}]}`, `"value" and "Value"`},
		{"SearchKeys", http.MethodPost, "/Users/.search", `{"filter":"userName pr","FILTER":"nickName pr"}`, `"filter" and "FILTER"`},
		{"BulkDataKeys", http.MethodPost, "/Bulk", fmt.Sprintf(bulk, `{"userName":"case@example.com","nickName":"a","NICKNAME":"b"}`), `"nickName" and "NICKNAME"`},
	}
	t.Run("Refused", func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				r := e.on(t).do(tc.method, tc.path, tc.body)
				require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
				requireSCIMError(t, r, http.StatusBadRequest)
				require.Equal(t, "invalidSyntax", r.JSON["scimType"], "%s", r.Body)
				require.Contains(t, r.JSON["detail"], tc.detail)
			})
		}
	})
	r := e.do(http.MethodGet, "/Users", "")
	require.Equal(t, 1, total(r), "nothing was created: %s", r.Body)
	require.Equal(t, "Kept", path(resources(r)[0], "nickName"), "nothing was changed")
}

// TestMultiValuedNeedsArray checks that a resource body giving a single
// value for a multi-valued attribute is a type mismatch (RFC 7643 §2.4),
// answered like any other with invalidValue, on POST and PUT, and in the
// value of a PATCH without a path, which is a partial resource body. A
// PATCH value for a multi-valued path may still be a single element.
func TestMultiValuedNeedsArray(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.replay([]step{{name: "Create", method: http.MethodPost, path: "/Users", status: http.StatusCreated,
		body: `{"userName":"multi@example.com","emails":[{"value":"m@example.com","type":"work"}]}`, save: map[string]string{"u": "id"}}})
	tests := []struct {
		name   string
		method string
		path   string
		body   string
	}{
		{"PostEmailsObject", http.MethodPost, "/Users", `{"userName":"one@example.com","emails":{"value":"one@example.com","type":"work"}}`},
		{"PostPhoneNumbersString", http.MethodPost, "/Users", `{"userName":"one@example.com","phoneNumbers":"+1 555 0100"}`},
		{"PostMembersObject", http.MethodPost, "/Groups", `{"displayName":"G","members":{"value":"{{u}}"}}`},
		{"PutEmailsObject", http.MethodPut, "/Users/{{u}}", `{"userName":"multi@example.com","emails":{"value":"x@example.com"}}`},
		{"PatchNoPathReplaceEmailsObject", http.MethodPatch, "/Users/{{u}}",
			patchOps(`{"op":"replace","value":{"emails":{"value":"x@example.com","type":"work"}}}`)},
		{"PatchNoPathAddPhoneNumbersString", http.MethodPatch, "/Users/{{u}}",
			patchOps(`{"op":"add","value":{"phoneNumbers":"+1 555 0100"}}`)},
	}
	t.Run("Refused", func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				r := e.on(t).do(tc.method, tc.path, tc.body)
				require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
				requireSCIMError(t, r, http.StatusBadRequest)
				require.Equal(t, "invalidValue", r.JSON["scimType"], "%s", r.Body)
				require.Contains(t, r.JSON["detail"], "JSON array")
			})
		}
	})
	r := e.do(http.MethodGet, "/Users/{{u}}", "")
	require.Equal(t, "m@example.com", path(r.JSON, "emails.0.value"), "%s", r.Body)
	require.Len(t, r.JSON["emails"], 1, "%s", r.Body)
	require.Nil(t, r.JSON["phoneNumbers"], "%s", r.Body)
	require.Equal(t, 1, total(e.do(http.MethodGet, "/Users", "")))

	// RFC 7644 §3.5.2.1: a value for the path "emails" is "a new value",
	// one element or several; Entra sends one.
	r = e.do(http.MethodPatch, "/Users/{{u}}", patchOps(`{"op":"add","path":"emails","value":{"value":"n@example.com","type":"home"}}`))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "n@example.com", path(r.JSON, "emails.1.value"), "%s", r.Body)
}

// patchOps is a PatchOp body with the given operations.
func patchOps(ops ...string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

// TestDuplicatesMergedAlike checks that POST, PUT and PATCH apply one rule
// to duplicate elements of a multi-valued attribute (RFC 7643 §2.4): the
// same type and value, the value compared case-insensitively since emails
// are not caseExact, are merged and the first is kept.
func TestDuplicatesMergedAlike(t *testing.T) {
	t.Parallel()
	const dups = `"emails":[{"value":"d@example.com","type":"work"},{"value":"D@EXAMPLE.COM","type":"work","display":"second"},{"value":"d@example.com","type":"home"}]`
	want := []any{
		map[string]any{"value": "d@example.com", "type": "work"},
		map[string]any{"value": "d@example.com", "type": "home"},
	}
	post := func(body string) step {
		return step{name: "Post", method: http.MethodPost, path: "/Users", status: http.StatusCreated,
			body: body, save: map[string]string{"u": "id"}}
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"Post", []step{post(`{"userName":"dup@example.com",` + dups + `}`)}},
		{"Put", []step{
			post(`{"userName":"dup@example.com"}`),
			{name: "Put", method: http.MethodPut, path: "/Users/{{u}}", status: http.StatusOK,
				body: `{"userName":"dup@example.com",` + dups + `}`},
		}},
		{"PatchAdd", []step{
			post(`{"userName":"dup@example.com","emails":[{"value":"d@example.com","type":"work"}]}`),
			{name: "PatchAdd", method: http.MethodPatch, path: "/Users/{{u}}", status: http.StatusOK,
				body: `{` + patchOp + `,"Operations":[{"op":"add","path":"emails","value":[{"value":"D@EXAMPLE.COM","type":"work","display":"second"},{"value":"d@example.com","type":"home"}]}]}`},
		}},
		{"PatchReplace", []step{
			post(`{"userName":"dup@example.com"}`),
			{name: "PatchReplace", method: http.MethodPatch, path: "/Users/{{u}}", status: http.StatusOK,
				body: `{` + patchOp + `,"Operations":[{"op":"replace",` + strings.Replace(dups, `"emails":`, `"path":"emails","value":`, 1) + `}]}`},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.replay(tc.steps)
			r := e.do(http.MethodGet, "/Users/{{u}}", "")
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			require.Equal(t, want, r.JSON["emails"], "%s", r.Body)
		})
	}
}
