package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	composeConfigArg = regexp.MustCompile(`"--config", "([^"]+)"`)
	composeFileMount = regexp.MustCompile(`(?m)^\s+- \./([^:\s]+):(/[^:\s]+)(?::ro)?\s*$`)
	composeNodeName  = regexp.MustCompile(`NATS_SERVER_NAME: (\S+)`)
)

// Every NATS configuration docker-compose.yml starts nats-server with is mounted from a file
// of the repository, and nats-server accepts it (`nats-server -t`) laid out as the
// containers see it: beside the files it includes, with the identities `paylent nats keygen`
// makes. (scripts/compose-check.sh has docker-compose parse the file itself.)
func TestComposeNATSConfigsParse(t *testing.T) {
	t.Parallel()
	compose, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	mounts := map[string]string{} // container path → repository file
	for _, m := range composeFileMount.FindAllStringSubmatch(string(compose), -1) {
		mounts[m[2]] = m[1]
	}
	configs := map[string]bool{}
	for _, m := range composeConfigArg.FindAllStringSubmatch(string(compose), -1) {
		configs[m[1]] = true
	}
	names := composeNodeName.FindAllStringSubmatch(string(compose), -1)
	if len(configs) == 0 || len(names) < 3 {
		t.Fatalf("docker-compose.yml: nats configurations %v, node names %v; want a config and three named nodes", configs, names)
	}
	bin := natsServerBinary(t)
	for target := range configs {
		dir := t.TempDir() // the container's configuration directory
		for path, file := range mounts {
			if filepath.Dir(path) != filepath.Dir(target) {
				continue
			}
			b, err := os.ReadFile(filepath.Join("..", "..", file))
			if err != nil {
				t.Fatalf("docker-compose.yml mounts ./%s: %v", file, err)
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(path)), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, filepath.Base(target))); err != nil {
			t.Fatalf("nats-server is started with %s, which no volume of docker-compose.yml mounts", target)
		}
		if code, out, errOut := cli(t, nil, "nats", "keygen", "--dir", filepath.Join(dir, "credentials")); code != 0 {
			t.Fatalf("nats keygen: %d %s%s", code, out, errOut)
		}
		for _, name := range names {
			cmd := exec.Command(bin, "-t", "-c", filepath.Base(target))
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "NATS_SERVER_NAME="+name[1])
			if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "is valid") {
				t.Errorf("nats-server -t -c %s (node %s): %v\n%s", target, name[1], err, out)
			}
		}
	}
}
