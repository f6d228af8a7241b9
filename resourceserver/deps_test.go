package resourceserver

import (
	"os/exec"
	"strings"
	"testing"
)

// The package is what services outside Paylent import: it must not reach any other package
// of this module, and net/http users must not link fiber.
func TestDependencies(t *testing.T) {
	const module = "github.com/paylent/paylent/"
	for pkg, denied := range map[string][]string{
		module + "resourceserver":         {"github.com/gofiber/", "github.com/valyala/"},
		module + "resourceserver/rsfiber": nil,
	} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, module) && dep != module+"resourceserver" && dep != pkg {
				t.Errorf("%s depends on %s: it may use only HTTP and NATS to reach Paylent", pkg, dep)
			}
			for _, d := range denied {
				if strings.HasPrefix(dep, d) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
