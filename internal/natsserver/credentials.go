package natsserver

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nkeys"
)

// NkeysConf is the file, beside the seeds, that names each role's public nkey as a
// nats-server configuration variable (PAYLENT_RELAY_NKEY, ...): deploy/nats/nats-server.conf
// includes it. It holds no secret.
const NkeysConf = "nkeys.conf"

// Credentials are the roles' nkey seeds in one directory: <role>.nk, each readable by its
// owner only.
type Credentials struct {
	dir    string
	public map[Role]string
}

// EnsureCredentials loads the roles' seeds from dir, creating the directory (0700) and any
// missing seed (0600) first, and (re)writes NkeysConf. Concurrent callers end up with the
// same seeds: a seed is only ever created, never replaced.
func EnsureCredentials(dir string) (*Credentials, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create nats credentials directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("nats credentials directory: %w", err)
	}
	c := &Credentials{dir: dir, public: map[Role]string{}}
	var conf strings.Builder
	conf.WriteString("# Written by paylent: the public nkeys of Paylent's NATS identities, for nats-server's\n" +
		"# configuration (deploy/nats/nats-server.conf includes this file). No secret here: the\n" +
		"# seeds are the .nk files beside it.\n")
	for _, r := range Roles {
		pub, err := ensureSeed(c.Path(r), r)
		if err != nil {
			return nil, err
		}
		c.public[r] = pub
		fmt.Fprintf(&conf, "%s: %q\n", r.confVariable(), pub)
	}
	if err := writeFileAtomic(filepath.Join(dir, NkeysConf), []byte(conf.String()), 0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", NkeysConf, err)
	}
	return c, nil
}

// Dir is the directory holding the seeds.
func (c *Credentials) Dir() string { return c.dir }

// Path is the role's seed file, for nats.NkeyOptionFromSeed (or NATS_CREDS).
func (c *Credentials) Path(r Role) string { return filepath.Join(c.dir, string(r)+".nk") }

// PublicKey is the role's public nkey.
func (c *Credentials) PublicKey(r Role) string { return c.public[r] }

// confVariable names the role's public key in NkeysConf.
func (r Role) confVariable() string { return "PAYLENT_" + strings.ToUpper(string(r)) + "_NKEY" }

// ensureSeed returns the public key of the seed at path, creating the seed when missing.
func ensureSeed(path string, r Role) (string, error) {
	if pub, err := readSeed(path); err == nil || !errors.Is(err, os.ErrNotExist) {
		return pub, err
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", fmt.Errorf("create %s nkey: %w", r, err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Paylent's NATS %s identity: an nkey seed. SECRET: anyone holding it connects as %s.\n", r, r)
	fmt.Fprintf(&b, "-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n", seed)
	if err := createOnce(path, b.Bytes()); err != nil {
		return "", fmt.Errorf("write %s nkey: %w", r, err)
	}
	return readSeed(path)
}

// createOnce writes a secret file (0600) unless it exists: of concurrent writers, the first
// one's content stays and is the one every caller reads back.
func createOnce(path string, content []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(content)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return werr
	}
	// Link, not rename: a file written meanwhile by another process wins.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return nil
}

// readSeed returns the public key of the user seed at path, refusing a file others can read.
func readSeed(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("nats credentials %s: readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	kp, err := nkeys.ParseDecoratedNKey(data)
	if err != nil {
		return "", fmt.Errorf("nats credentials %s: not an nkey seed", path)
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil || !nkeys.IsValidPublicUserKey(pub) {
		return "", fmt.Errorf("nats credentials %s: not a user nkey seed", path)
	}
	return pub, nil
}

// writeFileAtomic replaces path with data.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return werr
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
