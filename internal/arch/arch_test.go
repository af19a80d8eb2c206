package arch

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/rosterhq/roster"

// A layer may import its own packages and those of the layers before it,
// never those after it. A package belongs to the first layer one of whose
// prefixes it has ("internal/store" matches that package only;
// "internal/scim/" every package below it).
var layers = []struct {
	name string
	pkgs []string
}{
	{"protocol core", []string{"internal/scim/"}},
	{"outbound SCIM client", []string{"internal/scimclient"}},
	{"storage interface", []string{"internal/store", "internal/store/sqlfilter", "internal/store/migration", "internal/store/rerun"}},
	{"storage backends", []string{"internal/store/"}},
	{"services", []string{
		"internal/credential", "internal/audit", "internal/directory", "internal/tenant", "internal/admin",
		"internal/webhook", "internal/feed", "internal/background", "internal/jobs", "internal/provision",
	}},
	{"HTTP and tools", []string{"internal/server", "internal/validate", "internal/loadgen", "internal/ui"}},
	{"wiring and commands", []string{"internal/app", "internal/cli", "cmd/", "examples/", ""}},
}

// writers are the packages allowed to write through a store.Writer: the
// services, and the storage packages that implement and test it.
var writers = []string{
	"internal/audit", "internal/directory", "internal/tenant", "internal/admin", "internal/webhook",
	"internal/feed", "internal/jobs", "internal/provision", "internal/store",
}

// Further rules, each a package prefix and what it may import of Roster.
var onlyImports = map[string][]string{
	// The outbound client speaks the protocol and nothing else.
	"internal/scimclient": {"internal/scim/"},
	// The UI is a leaf of templates and assets.
	"internal/ui": {},
}

// testOnly are packages that runtime code never imports.
var testOnly = []string{"internal/store/storetest", "internal/store/pgtest", "internal/store/backendtest", "internal/jobs/jobstest", "internal/provision/source/ldapsource/slapdtest", "internal/app/apptest", "internal/provision/notify/smtptest"}

// matches reports whether package p has the prefix: "a/" matches what is
// below a, "a" matches a and what is below a, "" matches everything.
func matches(p, prefix string) bool {
	switch {
	case prefix == "":
		return true
	case strings.HasSuffix(prefix, "/"):
		return strings.HasPrefix(p, prefix)
	}
	return p == prefix || strings.HasPrefix(p, prefix+"/")
}

// layerOf returns the index of p's layer.
func layerOf(p string) int {
	for i, l := range layers {
		for _, prefix := range l.pkgs {
			exact := prefix != "" && !strings.HasSuffix(prefix, "/") && i == 2 // the storage interface lists exact packages
			if (exact && p == prefix) || (!exact && matches(p, prefix)) {
				return i
			}
		}
	}
	return len(layers) - 1
}

// pkg is one package of the module, as its non-test files are.
type pkg struct {
	imports map[string]bool // Roster packages it imports, module-relative
	others  map[string]bool // other packages it imports: the standard library and modules
	writes  []string        // positions where it names store.Writer or a part of it
}

// load parses every non-test Go file of the module.
func load(t *testing.T) map[string]*pkg {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	pkgs := map[string]*pkg{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		if rel == "." {
			rel = ""
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		p := pkgs[rel]
		if p == nil {
			p = &pkg{imports: map[string]bool{}, others: map[string]bool{}}
			pkgs[rel] = p
		}
		storeName := ""
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			if ip != module && !strings.HasPrefix(ip, module+"/") {
				p.others[ip] = true
				continue
			}
			r := strings.TrimPrefix(strings.TrimPrefix(ip, module), "/")
			p.imports[r] = true
			if r == "internal/store" {
				storeName = "store"
				if imp.Name != nil {
					storeName = imp.Name.Name
				}
			}
		}
		if storeName != "" {
			full, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(full, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == storeName && strings.HasSuffix(sel.Sel.Name, "Writer") {
					p.writes = append(p.writes, fmt.Sprintf("%s (store.%s)", fset.Position(sel.Pos()), sel.Sel.Name))
				}
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

func TestLayers(t *testing.T) {
	t.Parallel()
	pkgs := load(t)
	if len(pkgs) < 10 {
		t.Fatalf("found only %d packages: is the test reading the module?", len(pkgs))
	}
	for _, name := range sortedKeys(pkgs) {
		p := pkgs[name]
		from := layerOf(name)
		for _, imp := range sortedKeys(p.imports) {
			if to := layerOf(imp); to > from {
				t.Errorf("%s (%s) imports %s (%s): a layer may import only itself and the layers before it",
					show(name), layers[from].name, imp, layers[to].name)
			}
			for prefix, allowed := range onlyImports {
				if matches(name, prefix) && !slices.ContainsFunc(allowed, func(a string) bool { return matches(imp, a) }) && !matches(imp, prefix) {
					t.Errorf("%s imports %s: it may import only %v of Roster", show(name), imp, allowed)
				}
			}
			for _, to := range testOnly {
				if imp == to && !matches(name, to) && !slices.Contains(testOnly, name) {
					t.Errorf("%s imports %s, which only tests may use", show(name), imp)
				}
			}
		}
		for _, imp := range sortedKeys(p.others) {
			if matches(name, "internal/scim/") && (imp == "net/http" || strings.HasPrefix(imp, "net/http/")) {
				t.Errorf("%s imports %s: the protocol core does not speak HTTP", name, imp)
			}
			if matches(name, "internal/scimclient") && strings.Contains(strings.Split(imp, "/")[0], ".") {
				t.Errorf("%s imports %s: the SCIM client imports only the standard library and the protocol core", name, imp)
			}
		}
		if len(p.writes) > 0 && !slices.ContainsFunc(writers, func(w string) bool { return matches(name, w) }) {
			t.Errorf("%s writes through the store's Writer, which only the services may: %s", show(name), strings.Join(p.writes, "; "))
		}
	}
}

// TestNoCircles checks that the components (a top-level package under
// internal/, with everything below it, such as "server" for
// internal/server/scimhttp) import each other without a circle. Go refuses
// circles between packages; this catches them between components, where
// they would make two parts of the architecture one.
func TestNoCircles(t *testing.T) {
	t.Parallel()
	pkgs := load(t)
	component := func(p string) string {
		parts := strings.Split(p, "/")
		if len(parts) >= 2 && parts[0] == "internal" {
			if parts[1] == "store" || parts[1] == "scim" {
				// Storage and the protocol core are layered inside
				// (interface, then backends): the layer test covers them.
				return strings.Join(parts[:min(3, len(parts))], "/")
			}
			return "internal/" + parts[1]
		}
		return p
	}
	graph := map[string]map[string]bool{}
	for name, p := range pkgs {
		c := component(name)
		if graph[c] == nil {
			graph[c] = map[string]bool{}
		}
		for imp := range p.imports {
			if d := component(imp); d != c {
				graph[c][d] = true
			}
		}
	}
	state := map[string]int{} // 1 visiting, 2 done
	var stack []string
	var visit func(c string)
	visit = func(c string) {
		state[c] = 1
		stack = append(stack, c)
		for _, d := range sortedKeys(graph[c]) {
			switch state[d] {
			case 0:
				visit(d)
			case 1:
				i := slices.Index(stack, d)
				t.Errorf("import circle between components: %s -> %s", strings.Join(stack[i:], " -> "), d)
			}
		}
		stack = stack[:len(stack)-1]
		state[c] = 2
	}
	for _, c := range sortedKeys(graph) {
		if state[c] == 0 {
			visit(c)
		}
	}
}

// TestRulesCatchViolations feeds the rules made-up imports, so that a
// mistake in them cannot make the checks above pass vacuously.
func TestRulesCatchViolations(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		from, to string
		ok       bool
	}{
		{"internal/scim/filter", "internal/store", false},
		{"internal/scim/patch", "internal/server/scimhttp", false},
		{"internal/scim/patch", "internal/provision/cycle", false},
		{"internal/store", "internal/directory", false},
		{"internal/store/sqlite", "internal/tenant", false},
		{"internal/directory", "internal/server/scimhttp", false},
		{"internal/tenant", "internal/app", false},
		{"internal/server/scimhttp", "internal/directory", true},
		{"internal/store/sqlite", "internal/store", true},
		{"internal/directory", "internal/scim/patch", true},
		{"internal/app", "internal/store/sqlite", true},
		{"", "internal/app", true},
	} {
		if got := layerOf(tc.to) <= layerOf(tc.from); got != tc.ok {
			t.Errorf("%s importing %s: allowed=%v, want %v", show(tc.from), tc.to, got, tc.ok)
		}
	}
	for _, p := range []string{"internal/server/scimhttp", "internal/cli", "internal/app", "internal/validate"} {
		if slices.ContainsFunc(writers, func(w string) bool { return matches(p, w) }) {
			t.Errorf("%s may write through the store's Writer; it must not", p)
		}
	}
}

func show(p string) string {
	if p == "" {
		return "the module root"
	}
	return p
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
