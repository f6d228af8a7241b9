package natsserver

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestEnsureCredentials(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nats", "credentials")
	// Two processes starting at once (paylent serve and the CLI) end up with the same seeds.
	var wg sync.WaitGroup
	got := make([]*Credentials, 4)
	for i := range got {
		wg.Go(func() {
			c, err := EnsureCredentials(dir)
			if err != nil {
				t.Error(err)
			}
			got[i] = c
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	c := got[0]
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v %v, want 0700", fi.Mode().Perm(), err)
	}
	conf, err := os.ReadFile(filepath.Join(dir, NkeysConf))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range Roles {
		pub := c.PublicKey(r)
		for _, o := range got[1:] {
			if o.PublicKey(r) != pub {
				t.Errorf("%s: concurrent starts made different keys", r)
			}
		}
		if !strings.HasPrefix(pub, "U") || seen[pub] {
			t.Errorf("%s: public key %q", r, pub)
		}
		seen[pub] = true
		fi, err := os.Stat(c.Path(r))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s seed mode %v %v, want 0600", r, fi.Mode().Perm(), err)
		}
		if !strings.Contains(string(conf), r.confVariable()+`: "`+pub+`"`) {
			t.Errorf("%s missing from %s:\n%s", r, NkeysConf, conf)
		}
		seed, _ := os.ReadFile(c.Path(r))
		if strings.Contains(string(conf), strings.Split(string(seed), "\n")[2]) {
			t.Errorf("%s holds the %s seed", NkeysConf, r)
		}
	}
	// A later start keeps the keys.
	again, err := EnsureCredentials(dir)
	if err != nil || again.PublicKey(RoleRelay) != c.PublicKey(RoleRelay) {
		t.Errorf("second start: %v, relay key changed", err)
	}
	// A seed others can read is refused, by name and without its content.
	if err := os.Chmod(c.Path(RoleSubscriber), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureCredentials(dir); err == nil || !strings.Contains(err.Error(), "subscriber.nk") || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable seed: %v", err)
	}
}
