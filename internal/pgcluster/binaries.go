package pgcluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrNoBinaries is wrapped by the error FindBinaries returns when the PostgreSQL server
// binaries are not installed.
var ErrNoBinaries = errors.New("PostgreSQL server binaries not found")

// FindBinaries returns the directory that holds initdb, pg_ctl and postgres. It looks on
// PATH, then at `pg_config --bindir`, then at the newest /usr/lib/postgresql/*/bin.
func FindBinaries() (dir string, err error) {
	return findBinaries("/usr/lib/postgresql")
}

// findBinaries is FindBinaries with Debian's versioned directories under debianRoot.
func findBinaries(debianRoot string) (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && hasBinaries(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
		if hasBinaries(filepath.Dir(p)) {
			return filepath.Dir(p), nil
		}
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); d != "" && hasBinaries(d) {
			return d, nil
		}
	}
	for _, d := range debianBinDirs(debianRoot) {
		if hasBinaries(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf(`%w: install them with "apt-get install -y postgresql" (Debian/Ubuntu) or put initdb and pg_ctl on PATH`, ErrNoBinaries)
}

// hasBinaries reports whether dir holds every server binary as an executable file.
func hasBinaries(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// debianBinDirs lists root/<version>/bin, newest version first.
func debianBinDirs(root string) []string {
	matches, _ := filepath.Glob(filepath.Join(root, "*", "bin"))
	version := func(p string) float64 {
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(p)), 64)
		if err != nil {
			return -1
		}
		return v
	}
	sort.SliceStable(matches, func(i, j int) bool { return version(matches[i]) > version(matches[j]) })
	return matches
}
