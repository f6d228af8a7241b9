package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
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

// The README's shell examples (all but the scripts that start or test the project) run as
// written against a real server: the commands use bin/paylent, the host and port of the
// quick start, and one another's output.
func TestREADMECommandsRun(t *testing.T) {
	t.Parallel()
	s := startOne(t)
	s.run(t, "env", "create", "--account", "examples", "--slug", "examples-dev")
	s.a.waitReady("examples-dev", 30*time.Second)
	doc, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	script := "set -euo pipefail\n"
	for _, m := range shellBlock.FindAllStringSubmatch(string(doc), -1) {
		if !strings.HasPrefix(m[1], "scripts/") {
			script += m[1]
		}
	}
	script = strings.NewReplacer(
		"bin/paylent ", `"$PAYLENT_BIN" `,
		"acme-test", "acme-readme", // the stack made acme-test already
		"examples-dev.localhost:4000", s.a.host("examples-dev"),
		"http://127.0.0.1:4000", fmt.Sprintf("http://127.0.0.1:%d", s.a.port),
	).Replace(script)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = t.TempDir()
	cmd.Env = append(append(os.Environ(), s.cliEnv...), "PAYLENT_BIN="+binary)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README examples failed: %v\n%s", err, out)
	}
	for _, want := range []string{`"ready"`, "intact", `"scope":"reports:read"`, `"active":true`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the README examples' output lacks %s:\n%s", want, out)
		}
	}
}
