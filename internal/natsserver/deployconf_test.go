package natsserver_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/paylent/paylent/internal/natsserver"
)

// deployConfig loads deploy/nats/nats-server.conf as nats-server would, with fresh identities
// in credentials/ beside it, on a random port with the store in a temporary directory.
func deployConfig(t *testing.T) (*server.Options, *natsserver.Credentials) {
	t.Helper()
	conf, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nats", "nats-server.conf"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	creds, err := natsserver.EnsureCredentials(filepath.Join(dir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "nats-server.conf")
	if err := os.WriteFile(path, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("deploy/nats/nats-server.conf: %v", err)
	}
	opts.Host, opts.Port, opts.HTTPPort, opts.StoreDir, opts.NoSigs = "127.0.0.1", server.RANDOM_PORT, 0, t.TempDir(), true
	return opts, creds
}

// The documented configuration grants each identity exactly the embedded server's rights,
// and has no anonymous user.
func TestDeployConfigMatchesRoles(t *testing.T) {
	opts, creds := deployConfig(t)
	if opts.NoAuthUser != "" || len(opts.Users) != 0 || !opts.JetStream {
		t.Errorf("no_auth_user %q, %d password users, jetstream %v", opts.NoAuthUser, len(opts.Users), opts.JetStream)
	}
	byKey := map[string]*server.NkeyUser{}
	for _, u := range opts.Nkeys {
		byKey[u.Nkey] = u
	}
	if len(byKey) != len(natsserver.Roles) {
		t.Errorf("%d nkey users, want %d", len(byKey), len(natsserver.Roles))
	}
	for _, r := range natsserver.Roles {
		u := byKey[creds.PublicKey(r)]
		if u == nil {
			t.Errorf("%s: no user for its nkey", r)
			continue
		}
		if !reflect.DeepEqual(u.Permissions, r.Permissions()) {
			t.Errorf("%s: the config grants\n%+v %+v\nthe embedded server\n%+v %+v", r, u.Permissions.Publish, u.Permissions.Subscribe,
				r.Permissions().Publish, r.Permissions().Subscribe)
		}
	}
}
