package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var shellBlock = regexp.MustCompile("(?s)```sh\n(.*?)```")

// The curl examples of docs/MANAGEMENT_API.md and the client-credentials example of the
// README run as written, against a real server.
func TestDocumentedExamplesRun(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to run the documented examples (scripts/test.sh installs it)", tool)
		}
	}
	s := startOne(t)
	s.run(t, "env", "create", "--account", "examples", "--slug", "examples-dev")
	s.run(t, "scopes", "create", "--env", "examples-dev", "--name", "read:documents", "--description", "Read documents")
	auto := s.client(t, "examples-dev", "--name", "Automation", "--type", "confidential", "--grant", "client_credentials",
		"--scope", "admin:read", "--scope", "admin:write", "--scope", "admin:users")
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "MANAGEMENT_API.md"))
	if err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for _, m := range shellBlock.FindAllStringSubmatch(string(doc), -1) {
		script.WriteString(m[1])
	}
	body := strings.NewReplacer(
		"PAYLENT=http://127.0.0.1:4000", fmt.Sprintf("PAYLENT=http://127.0.0.1:%d", s.a.port),
		"ENV_HOST=examples-dev.localhost:4000", "ENV_HOST="+s.a.host("examples-dev"),
	).Replace(script.String())
	dir := t.TempDir()
	cmd := exec.Command("bash", "-c", body)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CLIENT_ID="+auto.ID, "CLIENT_SECRET="+auto.Secret)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docs/MANAGEMENT_API.md examples failed: %v\n%s", err, out)
	}
	var created map[string]any
	raw, _ := os.ReadFile(filepath.Join(dir, "client.json"))
	if json.Unmarshal(raw, &created) != nil || created["client_secret"] == nil {
		t.Errorf("client.json: %s", raw)
	}
	for _, want := range []string{`"notes:read"`, `"session_lifetime":604800`, `"client.registered"`, `"head":`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the examples' output lacks %s:\n%s", want, out)
		}
	}
}
