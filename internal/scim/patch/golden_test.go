package patch_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
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

var update = flag.Bool("update", false, "rewrite the expected outputs of the golden PATCH cases")

// goldenMemberOp is the JSON form of a patch.MemberOp in members.json.
type goldenMemberOp struct {
	Op     string   `json:"op"`
	IDs    []string `json:"ids,omitempty"`
	Filter string   `json:"filter,omitempty"`
	All    bool     `json:"all,omitempty"`
	// Selected and MustSelect are those of a replace with a value path.
	Selected   []string `json:"selected,omitempty"`
	MustSelect bool     `json:"mustSelect,omitempty"`
}

// goldenChange is the JSON form of a patch.Change in changes.json.
type goldenChange struct {
	Op   string `json:"op"`
	Path string `json:"path"`
}

// TestGolden replays the cases under testdata/patch. Each case directory is
// named <source>-<resource>-<what>, where source is rfc (the examples of
// RFC 7644 §3.5.2), entra, entra-flag (Entra with aadOptscim062020), okta or
// roster, and resource is user or group. It holds:
//
//	before.json   the stored resource, in normalized form
//	ops.json      the PatchOp request body, as the client sent it
//	after.json    the expected Result.Attrs
//	changes.json  the expected Result.Changes
//	members.json  the expected Result.Members, if any
//	error.json    {"scimType": ...} when the patch must fail instead
//
// Run with -update to rewrite after.json, changes.json and members.json.
func TestGolden(t *testing.T) {
	t.Parallel()
	reg := schema.Default()
	root := filepath.Join("testdata", "patch")
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	for _, entry := range entries {
		if !entry.IsDir() {
			continue
		}
		name := entry.Name()
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(root, name)
			rt := caseResourceType(t, reg, name)
			before := readDoc(t, filepath.Join(dir, "before.json"))
			pristine := readDoc(t, filepath.Join(dir, "before.json"))
			body, err := os.ReadFile(filepath.Join(dir, "ops.json"))
			require.NoError(t, err)

			req, err := patch.ParseRequest(body)
			var res patch.Result
			if err == nil {
				res, err = patch.Apply(rt, before, req.Operations)
			}
			require.Equal(t, pristine, before, "Apply must not modify its input")

			if want, ok := readOptional(t, filepath.Join(dir, "error.json")); ok {
				var e struct {
					ScimType string `json:"scimType"`
				}
				require.NoError(t, json.Unmarshal(want, &e))
				require.Error(t, err)
				se := scimerr.As(err)
				require.NotNil(t, se, "error %v is not a *scimerr.Error", err)
				require.Equal(t, e.ScimType, string(se.ScimType), "%v", err)
				require.Zero(t, res)
				return
			}
			require.NoError(t, err)
			checkNormalized(t, rt, res.Attrs)

			changes := make([]goldenChange, 0, len(res.Changes))
			for _, c := range res.Changes {
				changes = append(changes, goldenChange{Op: c.Op, Path: c.Path})
			}
			var members []goldenMemberOp
			for _, m := range res.Members {
				g := goldenMemberOp{Op: m.Op, IDs: m.IDs, All: m.All, Selected: m.Selected, MustSelect: m.MustSelect}
				if m.Filter != nil {
					g.Filter = m.Filter.String()
				}
				members = append(members, g)
			}
			golden(t, filepath.Join(dir, "after.json"), res.Attrs)
			golden(t, filepath.Join(dir, "changes.json"), changes)
			if len(members) > 0 || fileExists(filepath.Join(dir, "members.json")) {
				golden(t, filepath.Join(dir, "members.json"), members)
			}

			// Every PATCH is idempotent: a retried request changes nothing.
			again, err := patch.Apply(rt, res.Attrs, req.Operations)
			require.NoError(t, err, "re-applying the patch to its result")
			require.Empty(t, again.Changes, "re-applying the patch to its result")
			require.Equal(t, res.Attrs, again.Attrs)
		})
	}
}

// caseResourceType returns the resource type a case name says: the segment
// after the source is "user" or "group".
func caseResourceType(t *testing.T, reg *schema.Registry, name string) *schema.ResourceType {
	t.Helper()
	for _, seg := range strings.Split(name, "-") {
		switch seg {
		case "user":
			return reg.User()
		case "group":
			return reg.Group()
		}
	}
	t.Fatalf("case %q names no resource type (user or group)", name)
	return nil
}

// readDoc reads a resource in normalized form.
func readDoc(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func readOptional(t *testing.T, path string) ([]byte, bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false
	}
	require.NoError(t, err)
	return b, true
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// golden compares v, as indented JSON, with the file at path, or rewrites
// the file when -update is set.
func golden(t *testing.T, path string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(v))
	if *update {
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test -update")
	require.JSONEq(t, string(want), buf.String(), "%s", path)
}

// checkNormalized asserts the invariants of the normalized form on a PATCH
// result: no nil values, no empty arrays or objects, values the normalizer
// would produce itself, and at most one primary value per attribute.
func checkNormalized(t *testing.T, rt *schema.ResourceType, attrs map[string]any) {
	t.Helper()
	require.NoError(t, noEmptyIn(attrs))
	require.NoError(t, resource.CheckPrimary(rt, attrs))
	again, err := resource.Normalize(rt, attrs)
	require.NoError(t, err)
	require.Equal(t, attrs, again, "the result is not in normalized form")
}
