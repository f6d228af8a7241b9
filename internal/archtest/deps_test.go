package archtest

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/paylent/paylent/"

// allowed lists, per top-level area, the areas of ours it may import (itself is always
// allowed). Areas not listed (cmd) may import anything.
var allowed = map[string][]string{
	"domain":      {},
	"eventstore":  {"domain"},
	"projections": {"domain", "eventstore", "internal/eventsig"},
	"tenants":     {"domain", "projections"},
	// The operations layer: every state change the faces offer.
	"app":        {"domain", "eventstore", "projections", "tenants", "internal/secret", "internal/keygen"},
	"api":        {"domain", "app", "eventstore", "projections", "tenants", "internal/secret", "internal/eventsig"},
	"workers":    {"domain", "eventstore", "projections", "tenants", "internal/secret", "internal/keygen", "internal/eventsig"},
	"migrations": {},
	// The resource-server package is what outsiders import: nothing of ours.
	"resourceserver": {},
	// Examples use Paylent as outsiders do: over HTTP, plus the resource-server package.
	"examples": {"resourceserver"},
	"internal": {"migrations"},
}

// prometheus is the metrics client: only internal/metrics (the families) and cmd (the
// registry and its listener) reach it. Components declare the observer interface they call
// (api.RequestObserver, eventstore.AppendObserver, ...) and are handed *metrics.Metrics.
const prometheus = "github.com/prometheus/"

// thirdPartyDenied names modules an area must not reach, even indirectly.
var thirdPartyDenied = map[string][]string{
	"domain":         {"github.com/", "golang.org/x/"},
	"eventstore":     {prometheus},
	"projections":    {prometheus},
	"tenants":        {prometheus},
	"app":            {prometheus},
	"api":            {prometheus},
	"workers":        {prometheus},
	"resourceserver": {prometheus},
}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
}

// area is the top-level directory of a package, or internal/<name> for the shared
// internals (which are areas of their own, so that allowing one allows no other).
func area(path string) string {
	rest := strings.TrimPrefix(path, module)
	a, sub, _ := strings.Cut(rest, "/")
	if a == "internal" && sub != "" {
		name, _, _ := strings.Cut(sub, "/")
		return "internal/" + name
	}
	return a
}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "-deps=false", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		seen++
		from := area(p.ImportPath)
		ok, limited := allowed[from]
		if strings.HasPrefix(from, "internal/") {
			ok, limited = allowed["internal"], true
			if from == "internal/keygen" { // seals keys into the domain's key material
				ok = append(ok[:len(ok):len(ok)], "domain")
			}
			if from == "internal/eventsig" { // signs and verifies envelopes by their chain hash
				ok = append(ok[:len(ok):len(ok)], "domain", "eventstore")
			}
			ok = append(ok[:len(ok):len(ok)], "internal/pgcluster", "internal/natsserver", "internal/secret", "internal/ports")
		}
		if limited {
			for _, imp := range p.Imports {
				if !strings.HasPrefix(imp, module) {
					continue
				}
				to := area(imp)
				if to != from && !contains(ok, to) {
					t.Errorf("%s imports %s: %s may import only %v", p.ImportPath, imp, from, ok)
				}
			}
		}
		for _, dep := range p.Deps {
			for _, denied := range thirdPartyDenied[from] {
				if strings.HasPrefix(dep, denied) && !strings.HasPrefix(dep, module) {
					t.Errorf("%s depends on %s: %s must stay free of third-party code", p.ImportPath, dep, from)
				}
			}
		}
	}
	if seen < 10 {
		t.Fatalf("go list reported only %d packages", seen)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// loopCallers are the only places that may run the command loop: the operations layer, the
// workers and the event store itself.
var loopCallers = []string{"app/", "workers/", "eventstore/"}

// TestOnlyOperationsRunTheCommandLoop fails when a non-test Go file outside loopCallers
// runs the command loop. No face is exempt: the OAuth and login flows are operations too.
//
// The heuristic, chosen over type-checking the whole module (golang.org/x/tools/go/packages
// is heavy for a unit test): parse each file with go/parser and flag every selector named
// Execute, called or taken as a method value, whose receiver expression's text ends in
// "Loop" or "loop" (h.Loop.Execute, db.loop.Execute, loop.Execute, d.Deps.Loop.Execute).
// Every *eventstore.Loop in this code base is held under such a name; a loop renamed to
// something else would slip past, and the faces' Deps no longer carry one at all.
func TestOnlyOperationsRunTheCommandLoop(t *testing.T) {
	root := filepath.Join("..", "..")
	allowedHits := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if name := d.Name(); rel != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		calls, err := loopExecutes(path)
		if err != nil {
			return err
		}
		switch {
		case hasPrefix(rel, loopCallers):
			allowedHits += len(calls)
		default:
			for _, c := range calls {
				t.Errorf("%s:%s runs the command loop (%s): call an operation of app/ instead", rel, c.line, c.expr)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The heuristic must see the operations layer's own calls, or it sees nothing.
	if allowedHits < 10 {
		t.Fatalf("found only %d command-loop calls in %v: the heuristic no longer matches", allowedHits, loopCallers)
	}
}

type loopCall struct{ line, expr string }

// loopExecutes finds the selectors X.Execute in a file whose X's text ends in Loop or loop.
func loopExecutes(path string) ([]loopCall, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var out []loopCall
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Execute" {
			return true
		}
		if x := types.ExprString(sel.X); strings.HasSuffix(x, "Loop") || strings.HasSuffix(x, "loop") {
			pos := fset.Position(sel.Pos())
			out = append(out, loopCall{line: strconv.Itoa(pos.Line), expr: x + ".Execute"})
		}
		return true
	})
	return out, nil
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
