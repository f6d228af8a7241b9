package resourceserver

import (
	"bytes"
	"fmt"
	"os"

	"github.com/nats-io/nats.go"
)

// NATSCredentials returns the nats.Option that authenticates with the credentials file at
// path: Paylent's subscriber identity for a service that watches revocations. The file is
// either an nkey seed (what `paylent nats credentials --role subscriber` points to for the
// embedded server, and what `paylent nats keygen` writes for a shared NATS), or a .creds file
// holding a user JWT and its seed (a NATS server in operator mode, e.g. made with nsc).
//
//	opt, err := resourceserver.NATSCredentials(os.Getenv("NATS_CREDS"))
//	...
//	nc, err := nats.Connect(natsURL, opt, nats.MaxReconnects(-1))
//
// The error names the file, never its content.
func NATSCredentials(path string) (nats.Option, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nats credentials: %w", err)
	}
	defer clear(data)
	if bytes.Contains(data, []byte("BEGIN NATS USER JWT")) {
		return nats.UserCredentials(path), nil
	}
	opt, err := nats.NkeyOptionFromSeed(path)
	if err != nil {
		return nil, fmt.Errorf("nats credentials %s: neither an nkey seed nor a .creds file (user JWT and seed)", path)
	}
	return opt, nil
}
