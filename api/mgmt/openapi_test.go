package mgmt

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
)

// The OpenAPI document and the served routes are the same set, with the same scopes.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openapiDoc, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi.json: %v %s", err, doc.OpenAPI)
	}
	var documented, served []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			scope := ""
			if len(op.Security) == 1 && len(op.Security[0]["bearer"]) == 1 {
				scope = op.Security[0]["bearer"][0]
			}
			documented = append(documented, strings.ToUpper(method)+" "+path+" "+scope)
		}
	}
	for _, r := range Routes() {
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		served = append(served, r.Method+" "+strings.Join(parts, "/")+" "+r.Scope)
	}
	sort.Strings(documented)
	sort.Strings(served)
	if strings.Join(documented, "\n") != strings.Join(served, "\n") {
		t.Errorf("documented:\n%s\nserved:\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
}
