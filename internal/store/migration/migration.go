// Package migration reads the schema migrations a storage backend embeds:
// files named migrations/NNNN_name.up.sql (or DIR/NNNN_name.up.sql for a
// backend that keeps one directory per dialect, such as the jobs host),
// applied in the order of NNNN. How they are applied (transactions, locks,
// the table that records them) is each backend's own.
package migration

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Load returns the migrations in fsys's migrations directory, in order. A
// file misnamed or two sharing a version is an error.
func Load(fsys fs.FS) ([]Migration, error) { return LoadDir(fsys, "migrations") }

// LoadDir returns the migrations in the directory dir of fsys, in order,
// with the rules of Load.
func LoadDir(fsys fs.FS, dir string) ([]Migration, error) {
	paths, err := fs.Glob(fsys, path.Join(dir, "*.up.sql"))
	if err != nil {
		return nil, fmt.Errorf("list migrations in %s: %w", dir, err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, file := range paths {
		base := strings.TrimSuffix(strings.TrimPrefix(file, dir+"/"), ".up.sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 4 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.up.sql", file)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, file, v)
		}
		seen[v] = file
		body, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", file, err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Latest returns the version of the last migration in fsys, 0 if there is
// none or they cannot be read (opening the store fails on the same error).
func Latest(fsys fs.FS) int {
	ms, err := Load(fsys)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}
