package resourceserver_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// paylentBinary is the real server, built once for the integration test ("" with -short).
var paylentBinary string

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		dir, err := os.MkdirTemp("", "paylent-rs-bin-*")
		if err != nil {
			panic(err)
		}
		paylentBinary = filepath.Join(dir, "paylent")
		out, err := exec.Command("go", "build", "-o", paylentBinary, "github.com/paylent/paylent/cmd/paylent").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build paylent: %v\n%s", err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}
