package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
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

// thirdPartyDenied names modules an area must not reach, even indirectly.
var thirdPartyDenied = map[string][]string{
	"domain": {"github.com/", "golang.org/x/"},
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
			ok = append(ok[:len(ok):len(ok)], "internal/pgcluster", "internal/natsserver", "internal/secret")
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
