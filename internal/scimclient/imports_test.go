package scimclient_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// imports returns the imports of the non-test Go files under dir, by file.
func imports(t *testing.T, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			out[path] = append(out[path], p)
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// TestImportRules keeps the client a leaf over the protocol core, so that
// validate, bench and the engine can all use it, and keeps the protocol
// core free of net/http.
func TestImportRules(t *testing.T) {
	t.Parallel()
	for file, imps := range imports(t, ".") {
		for _, p := range imps {
			std := !strings.Contains(strings.Split(p, "/")[0], ".")
			core := strings.HasPrefix(p, "github.com/rosterhq/roster/internal/scim/")
			require.True(t, std || core, "%s imports %s: the client may import only the standard library and internal/scim/...", file, p)
		}
	}
	for file, imps := range imports(t, "../scim") {
		for _, p := range imps {
			require.False(t, p == "net/http" || strings.HasPrefix(p, "net/http/"), "%s imports %s: the protocol core does not speak HTTP", file, p)
		}
	}
}
