package exampletest

import (
	"os/exec"
	"strings"
	"testing"
)

// The examples use Paylent as an outsider would: over HTTP and NATS, plus the public
// resource-server package. Their programs (not their tests, which start the real server)
// must not import anything else of this module.
func TestExamplesImportOnlyTheResourceServerPackage(t *testing.T) {
	const module = "github.com/paylent/paylent/"
	allowed := map[string]bool{module + "resourceserver": true, module + "resourceserver/rsfiber": true}
	for _, pkg := range []string{module + "examples/client-and-api-go", module + "examples/cli-login"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, module) && dep != pkg && !allowed[dep] {
				t.Errorf("%s imports %s: examples may use only HTTP, NATS and the resourceserver package", pkg, dep)
			}
		}
	}
}
