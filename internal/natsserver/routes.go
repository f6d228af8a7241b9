package natsserver

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// RoutesConf is the file, beside the seeds, that authenticates the routes between the nodes
// of a NATS cluster (deploy/nats/nats-cluster.conf includes it): the route user and password
// every node requires of a node that connects, and the routes to the other nodes with those
// credentials. It holds the route password: a secret, mode 0600.
const RoutesConf = "routes.conf"

// routeSecret is the file the route password is made into, once.
const routeSecret = "route.secret"

// RouteUser is the user nodes authenticate routes as.
const RouteUser = "paylent-route"

// DefaultRoutes are the cluster's nodes as docker-compose.yml names them.
var DefaultRoutes = []string{"nats-1:6222", "nats-2:6222", "nats-3:6222"}

// EnsureRoutes makes the route password once (kept across calls, like the seeds) and
// (re)writes RoutesConf with routes to hosts ("host:port" each). Without it a cluster's
// route port lets any server that reaches it join, read every event and publish past every
// identity's rights.
func (c *Credentials) EnsureRoutes(hosts []string) (string, error) {
	if len(hosts) == 0 {
		return "", errors.New("nats routes: name at least one node (host:port)")
	}
	for _, h := range hosts {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" || port == "" || strings.ContainsAny(h, "@/?#\" \t\r\n\\") {
			return "", fmt.Errorf("nats route %q: want host:port", h)
		}
	}
	pw, err := ensureRoutePassword(filepath.Join(c.dir, routeSecret))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("# Written by paylent nats keygen: the credentials of the routes between the NATS nodes\n" +
		"# (deploy/nats/nats-cluster.conf includes this file). SECRET: whoever holds the password\n" +
		"# can join the cluster as a node.\n")
	fmt.Fprintf(&b, "PAYLENT_ROUTE_USER: %q\nPAYLENT_ROUTE_PASSWORD: %q\nPAYLENT_ROUTES: [\n", RouteUser, pw)
	for _, h := range hosts {
		fmt.Fprintf(&b, "  %q\n", "nats-route://"+RouteUser+":"+pw+"@"+h)
	}
	b.WriteString("]\n")
	path := filepath.Join(c.dir, RoutesConf)
	if err := writeFileAtomic(path, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", RoutesConf, err)
	}
	return path, nil
}

// ensureRoutePassword reads the route password at path, making it first when missing.
func ensureRoutePassword(path string) (string, error) {
	if pw, err := readRoutePassword(path); err == nil || !errors.Is(err, os.ErrNotExist) {
		return pw, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	if err := createOnce(path, []byte(base64.RawURLEncoding.EncodeToString(raw)+"\n")); err != nil {
		return "", fmt.Errorf("write the route password: %w", err)
	}
	return readRoutePassword(path)
}

func readRoutePassword(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("nats route password %s: readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	pw := strings.TrimSpace(string(b))
	if len(pw) < 32 || strings.ContainsAny(pw, "@/:\" ") {
		return "", fmt.Errorf("nats route password %s: not one this command made", path)
	}
	return pw, nil
}
