package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// subcommands reads the "Commands:" section of a help text.
func subcommands(help string) []string {
	_, list, ok := strings.Cut(help, "\nCommands:\n")
	if !ok {
		return nil
	}
	list, _, _ = strings.Cut(list, "\n\n")
	var names []string
	for _, line := range strings.Split(list, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

// Every command and group answers --help (exit 0, a usage line), found by walking the tree
// from the root's help; help needs no working configuration.
// It runs the CLI in the test's process (run, as main does), not as a subprocess: the walk
// visits more than fifty commands.
func TestCLIHelpOnEveryCommand(t *testing.T) {
	t.Parallel()
	env := map[string]string{"PAYLENT_DATA_DIR": t.TempDir(), "PAYLENT_PUBLIC_SCHEME": "ftp"}
	cli := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), args, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	seen := 0
	var walk func(path []string)
	walk = func(path []string) {
		code, out, errOut := cli(append(slices.Clone(path), "--help")...)
		if code != 0 || !strings.Contains(out, "Usage") || errOut != "" {
			t.Errorf("paylent %s --help: exit %d\n%s%s", strings.Join(path, " "), code, out, errOut)
			return
		}
		seen++
		for _, sub := range subcommands(out) {
			if sub != "help" {
				walk(append(slices.Clone(path), sub))
			}
		}
	}
	walk(nil)
	if seen < 50 {
		t.Errorf("walked %d commands; the tree has more", seen)
	}
	for _, group := range []string{"clients", "scopes", "users", "env", "apis", "keys", "tokens", "operators", "nats", "projections", "mail"} {
		code, out, _ := cli("help", group)
		if code != 0 || !strings.Contains(out, "Usage: paylent "+group+" COMMAND") {
			t.Errorf("paylent help %s: %d %s", group, code, out)
		}
	}
}
