package patch_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/patch"
	"github.com/rosterhq/roster/internal/scim/resource"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
)

// goldenBodies returns the PatchOp bodies of the golden cases whose name
// contains the word, as fuzz seeds.
func goldenBodies(f *testing.F, word string) [][]byte {
	f.Helper()
	dirs, err := filepath.Glob(filepath.Join("testdata", "patch", "*"))
	require.NoError(f, err)
	var out [][]byte
	for _, d := range dirs {
		if !strings.Contains(filepath.Base(d), word) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, "ops.json"))
		require.NoError(f, err)
		out = append(out, b)
	}
	return out
}

// FuzzApply applies fuzzed operations to a fixed user. Apply must never
// panic; a failure must be a *scimerr.Error; a success must leave the input
// untouched and return a document in normalized form with at most one
// primary value per attribute.
func FuzzApply(f *testing.F) {
	for _, body := range goldenBodies(f, "-user-") {
		var req patch.Request
		require.NoError(f, json.Unmarshal(body, &req))
		ops, err := json.Marshal(req.Operations)
		require.NoError(f, err)
		f.Add(ops)
	}
	for _, s := range []string{
		`[{"op":"add","path":"emails[type eq \"work\" and primary eq true].display","value":"W"}]`,
		`[{"op":"replace","path":"emails[not (type eq \"work\")].primary","value":"True"}]`,
		`[{"op":"remove","path":"emails.type"},{"op":"add","path":"emails.display","value":"x"}]`,
		`[{"op":"replace","path":"roles[primary eq true and type eq \"x\"]","value":{"value":"r","primary":true}}]`,
		`[{"op":"add","path":"x509Certificates","value":[{"value":"TUlJ"}]},{"op":"remove","path":"x509Certificates","value":{"value":"TUlJ"}}]`,
		`[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":null,"name":{"givenName":null}}}]`,
		`[{"op":"replace","path":"manager","value":[]},{"op":"add","path":"manager[value eq \"m\"].displayName","value":"M"}]`,
		`[{"op":"add","path":"phoneNumbers[type eq \"work\" and value eq \"1\"]","value":{"type":null}}]`,
	} {
		f.Add([]byte(s))
	}
	rt := schema.Default().User()
	f.Fuzz(func(t *testing.T, data []byte) {
		var ops []patch.Operation
		if json.Unmarshal(data, &ops) != nil {
			return
		}
		doc := bjensen()
		res, err := patch.Apply(rt, doc, ops)
		require.Equal(t, bjensen(), doc, "Apply modified its input")
		if err != nil {
			require.NotNil(t, scimerr.As(err), "error %v is not a *scimerr.Error", err)
			require.Zero(t, res)
			return
		}
		require.NoError(t, noEmptyIn(res.Attrs))
		require.NoError(t, resource.CheckPrimary(rt, res.Attrs))
		again, err := resource.Normalize(rt, res.Attrs)
		require.NoError(t, err)
		require.Equal(t, res.Attrs, again, "the result is not in normalized form")
		for _, c := range res.Changes {
			require.Contains(t, []string{"add", "replace", "remove"}, c.Op)
			require.NotEmpty(t, c.Path)
		}
		if len(res.Changes) == 0 {
			require.Equal(t, bjensen(), res.Attrs, "a patch without changes must not change the document")
		}
		require.Empty(t, res.Members, "a user has no members")
	})
}

// FuzzApplyOperation fuzzes two operations given field by field, which
// reaches far more paths and values than mutating a JSON array does. The
// checks are those of FuzzApply.
func FuzzApplyOperation(f *testing.F) {
	for _, body := range goldenBodies(f, "-user-") {
		var req patch.Request
		require.NoError(f, json.Unmarshal(body, &req))
		first := req.Operations[0]
		second := req.Operations[len(req.Operations)-1]
		f.Add(first.Op, first.Path, []byte(first.Value), second.Op, second.Path, []byte(second.Value))
	}
	rt := schema.Default().User()
	f.Fuzz(func(t *testing.T, op1, path1 string, value1 []byte, op2, path2 string, value2 []byte) {
		ops := []patch.Operation{
			{Op: op1, Path: path1, Value: value1},
			{Op: op2, Path: path2, Value: value2},
		}
		doc := bjensen()
		res, err := patch.Apply(rt, doc, ops)
		require.Equal(t, bjensen(), doc, "Apply modified its input")
		if err != nil {
			require.NotNil(t, scimerr.As(err), "error %v is not a *scimerr.Error", err)
			require.Zero(t, res)
			return
		}
		require.NoError(t, noEmptyIn(res.Attrs))
		require.NoError(t, resource.CheckPrimary(rt, res.Attrs))
		again, err := resource.Normalize(rt, res.Attrs)
		require.NoError(t, err)
		require.Equal(t, res.Attrs, again, "the result is not in normalized form")
		if len(res.Changes) == 0 {
			require.Equal(t, bjensen(), res.Attrs, "a patch without changes must not change the document")
		}
	})
}

// FuzzApplyGroup applies fuzzed operations to a group, checking the member
// operations Apply hands back.
func FuzzApplyGroup(f *testing.F) {
	for _, body := range goldenBodies(f, "-group-") {
		var req patch.Request
		require.NoError(f, json.Unmarshal(body, &req))
		ops, err := json.Marshal(req.Operations)
		require.NoError(f, err)
		f.Add(ops)
	}
	rt := schema.Default().Group()
	f.Fuzz(func(t *testing.T, data []byte) {
		var ops []patch.Operation
		if json.Unmarshal(data, &ops) != nil {
			return
		}
		res, err := patch.Apply(rt, map[string]any{"displayName": "g"}, ops)
		if err != nil {
			require.NotNil(t, scimerr.As(err), "error %v is not a *scimerr.Error", err)
			return
		}
		require.NoError(t, noEmptyIn(res.Attrs))
		require.NotContains(t, res.Attrs, "members")
		for _, m := range res.Members {
			seen := map[string]bool{}
			for _, id := range m.IDs {
				require.NotEmpty(t, id)
				require.False(t, seen[id], "duplicate id %q", id)
				seen[id] = true
			}
			switch m.Op {
			case "add":
				require.NotEmpty(t, m.IDs)
				require.Nil(t, m.Filter)
				require.False(t, m.All)
			case "replace":
				require.False(t, m.All)
				require.False(t, m.Filter != nil && m.Selected != nil, "a replace selects by Filter or by Selected, not both: %+v", m)
				require.False(t, m.MustSelect && m.Filter == nil && m.Selected == nil, "MustSelect without a selection: %+v", m)
			case "remove":
				n := 0
				if len(m.IDs) > 0 {
					n++
				}
				if m.Filter != nil {
					n++
				}
				if m.All {
					n++
				}
				require.Equal(t, 1, n, "a remove has exactly one of IDs, Filter and All: %+v", m)
			default:
				t.Fatalf("unexpected member op %q", m.Op)
			}
		}
	})
}

// FuzzParseRequest checks that ParseRequest never panics, fails only with
// *scimerr.Error, and accepts only bodies that meet RFC 7644 §3.5.2.
func FuzzParseRequest(f *testing.F) {
	for _, body := range goldenBodies(f, "-") {
		f.Add(body)
	}
	f.Add([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members","value":[{"value":"u1"}]}]}`))
	f.Add([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := patch.ParseRequest(body)
		if err != nil {
			require.NotNil(t, scimerr.As(err), "error %v is not a *scimerr.Error", err)
			return
		}
		found := false
		for _, s := range req.Schemas {
			found = found || strings.EqualFold(strings.TrimSpace(s), schema.PatchOpURN)
		}
		require.True(t, found)
		require.NotEmpty(t, req.Operations)
		require.LessOrEqual(t, len(req.Operations), patch.MaxOperations)
		for _, op := range req.Operations {
			require.Contains(t, []string{"add", "replace", "remove"}, strings.ToLower(strings.TrimSpace(op.Op)))
		}
	})
}

// noEmptyIn reports a nil value, empty array or empty object anywhere among
// the attributes of doc, which itself may be empty.
func noEmptyIn(doc map[string]any) error {
	for k, v := range doc {
		if err := noEmpty(v); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

// noEmpty reports a nil value, empty array or empty object anywhere in v.
func noEmpty(v any) error {
	switch x := v.(type) {
	case nil:
		return fmt.Errorf("nil value")
	case map[string]any:
		if len(x) == 0 {
			return fmt.Errorf("empty object")
		}
		for k, e := range x {
			if err := noEmpty(e); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
	case []any:
		if len(x) == 0 {
			return fmt.Errorf("empty array")
		}
		for i, e := range x {
			if err := noEmpty(e); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
	}
	return nil
}
