package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/paylent/paylent/internal/natsserver"
)

// natsURLFile, beside the embedded server's store, holds the URL it listens on.
const natsURLFile = "client-url"

// natsCredentialsCommand says how a downstream service connects to the embedded NATS server
// as one of its identities: the URL and the credentials file (an nkey seed, 0600). The
// credentials are made here if the server has not run yet; it uses the same ones.
func natsCredentialsCommand() verb {
	var role string
	var asJSON bool
	v := newVerb("credentials --role subscriber|instance|relay [--json]", "the embedded NATS's URL and a credentials file",
		func(_ context.Context, env *cliEnv) error { return natsCredentials(env, role, asJSON) })
	v.cmd.Flags().StringVar(&role, "role", "", "identity: subscriber (read-only, for downstream services), instance or relay")
	v.cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	roles := make([]string, len(natsserver.Roles))
	for i, r := range natsserver.Roles {
		roles[i] = string(r)
	}
	completeWith(v.cmd, "role", roles...)
	return v
}

func natsCredentials(env *cliEnv, role string, asJSON bool) error {
	r := natsserver.Role(role)
	if !slices.Contains(natsserver.Roles, r) {
		return fmt.Errorf("%w: --role must be subscriber, instance or relay", errUsage)
	}
	if env.cfg.NATSURL != "" {
		return fmt.Errorf("%w: NATS_URL is set: identities on a shared NATS come from its configuration "+
			"(deploy/nats/nats-server.conf; make seeds with `paylent nats keygen --dir DIR`)", errUsage)
	}
	creds, err := natsserver.EnsureCredentials(embeddedCredentialsDir(env.cfg))
	if err != nil {
		return err
	}
	url := "nats://" + dialAddr(env.cfg.NATSListen)
	if b, err := os.ReadFile(filepath.Join(filepath.Dir(creds.Dir()), natsURLFile)); err == nil && strings.HasPrefix(string(b), "nats://") {
		url = strings.TrimSpace(string(b)) // where the server said it listens (it ran; maybe elsewhere)
	}
	if asJSON {
		return json.NewEncoder(env.stdout).Encode(map[string]string{"role": string(r), "nats_url": url,
			"credentials_file": creds.Path(r), "public_key": creds.PublicKey(r), "inbox_prefix": r.InboxPrefix()})
	}
	fmt.Fprintf(env.stdout, "NATS_URL=%s\nNATS_CREDS=%s\n", url, creds.Path(r))
	if r != natsserver.RoleSubscriber {
		fmt.Fprintf(env.stdout, "# connect with inbox prefix %s (nats.CustomInboxPrefix); replies come there\n", r.InboxPrefix())
	}
	return nil
}

// natsKeygenCommand makes the identities for a shared NATS: a seed per role and nkeys.conf
// with their public keys, which deploy/nats/nats-server.conf includes. Existing seeds are kept.
func natsKeygenCommand() verb {
	var dir string
	var routes []string
	var asJSON bool
	v := newVerb("keygen --dir DIR [--route HOST:PORT]... [--json]", "identities for a shared NATS (deploy/nats), and its cluster's route credentials",
		func(_ context.Context, env *cliEnv) error { return natsKeygen(env, dir, routes, asJSON) })
	v.cmd.Flags().StringVar(&dir, "dir", "", "directory for the seeds (made 0700; seeds 0600), "+natsserver.NkeysConf+" and "+natsserver.RoutesConf)
	v.cmd.Flags().StringArrayVar(&routes, "route", natsserver.DefaultRoutes,
		"a cluster node's route address, for "+natsserver.RoutesConf+" (repeatable; default: docker-compose.yml's nodes)")
	v.cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	required(v.cmd, "dir")
	if err := v.cmd.MarkFlagDirname("dir"); err != nil {
		panic(err)
	}
	return v
}

func natsKeygen(env *cliEnv, dir string, routes []string, asJSON bool) error {
	creds, err := natsserver.EnsureCredentials(dir)
	if err != nil {
		return err
	}
	routesConf, err := creds.EnsureRoutes(routes)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	out := map[string]string{"nkeys_conf": filepath.Join(creds.Dir(), natsserver.NkeysConf), "routes_conf": routesConf}
	for _, r := range natsserver.Roles {
		out[string(r)] = creds.Path(r)
	}
	if asJSON {
		return json.NewEncoder(env.stdout).Encode(out)
	}
	fmt.Fprintf(env.stdout, "public keys for nats-server: %s\n", out["nkeys_conf"])
	fmt.Fprintf(env.stdout, "route credentials for a cluster's nodes (secret): %s\n", routesConf)
	for _, r := range natsserver.Roles {
		fmt.Fprintf(env.stdout, "%-10s seed: %s\n", r, creds.Path(r))
	}
	fmt.Fprintln(env.stdout, "Instances: NATS_CREDS=<instance seed> PAYLENT_NATS_RELAY_CREDS=<relay seed>; downstream services: the subscriber seed.")
	return nil
}

// dialAddr is where a local client reaches a listen address: loopback for every interface.
func dialAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port)
}
