package main_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/paylent/paylent/internal/pgtest"
	"github.com/paylent/paylent/resourceserver"
)

// sharedNATS is a nats-server run in-process with deploy/nats/nats-server.conf, its
// identities made with `paylent nats keygen`.
type sharedNATS struct {
	url   string
	creds map[string]string // role (and nkeys_conf) → file
}

func startSharedNATS(t *testing.T) *sharedNATS {
	t.Helper()
	return startSharedNATSWith(t, nil)
}

// startSharedNATSWith is startSharedNATS with the server's TLS (nil: plain).
func startSharedNATSWith(t *testing.T, tlsConfig *tls.Config) *sharedNATS {
	t.Helper()
	dir := t.TempDir()
	code, out, errOut := cli(t, nil, "nats", "keygen", "--dir", filepath.Join(dir, "credentials"), "--json")
	if code != 0 {
		t.Fatalf("nats keygen: %d %s%s", code, out, errOut)
	}
	n := &sharedNATS{}
	if err := json.Unmarshal([]byte(out), &n.creds); err != nil || n.creds["subscriber"] == "" {
		t.Fatalf("nats keygen --json: %q %v", out, err)
	}
	conf, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nats", "nats-server.conf"))
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
	opts.Host, opts.Port, opts.HTTPPort, opts.StoreDir, opts.NoSigs, opts.NoLog = "127.0.0.1", server.RANDOM_PORT, 0, t.TempDir(), true, true
	if tlsConfig != nil {
		opts.TLSConfig, opts.TLS, opts.TLSVerify = tlsConfig, true, false
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(ns.Shutdown)
	n.url = ns.ClientURL()
	if tlsConfig != nil && !strings.HasPrefix(n.url, "tls://") {
		n.url = "tls://" + strings.TrimPrefix(n.url, "nats://")
	}
	return n
}

// testCA makes a CA and a server certificate for 127.0.0.1 signed by it: the server's TLS
// configuration, and the CA's PEM file (what NATS_CA names).
func testCA(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, srvKey := key(), key()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "paylent test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srv := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "nats"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}}}, caFile
}

// A NATS that speaks only TLS: with NATS_CA naming the CA that signed its certificate,
// Paylent serves over it (relay and instance identities); without it, or with another CA,
// start is refused with a message that names NATS_CA.
func TestSharedNATSOverTLS(t *testing.T) {
	t.Parallel()
	serverTLS, caFile := testCA(t)
	n := startSharedNATSWith(t, serverTLS)
	_, otherCA := testCA(t)
	shared := []string{"DATABASE_URL=" + pgtest.URL(t), "NATS_URL=" + n.url, "NATS_CREDS=" + n.creds["instance"],
		"PAYLENT_NATS_RELAY_CREDS=" + n.creds["relay"], "PAYLENT_MASTER_KEY=" + strings.Repeat("5a", 32)}
	for name, extra := range map[string][]string{"no NATS_CA": nil, "another CA": {"NATS_CA=" + otherCA}} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, "serve")
			cmd.Env = append(os.Environ(), append(append(shared[:len(shared):len(shared)], "PAYLENT_HTTP_ADDR=127.0.0.1:0",
				"PAYLENT_DATA_DIR="+dataDir(t)), extra...)...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "set NATS_CA") {
				t.Fatalf("serve without the right CA: %v\n%s", err, out)
			}
		})
	}
	withCA := append(shared[:len(shared):len(shared)], "NATS_CA="+caFile)
	a := serve(t, append(withCA, "PAYLENT_DATA_DIR="+dataDir(t)))
	cliEnv := append(withCA, "PAYLENT_DATA_DIR="+dataDir(t), "PAYLENT_PUBLIC_DOMAIN="+a.domain)
	if code, out, errOut := cli(t, cliEnv, "env", "create", "--account", "acme", "--slug", "acme-tls"); code != 0 {
		t.Fatalf("env create: %d %s%s", code, out, errOut)
	}
	a.waitReady("acme-tls", 30*time.Second)
	code, out, errOut := cli(t, cliEnv, "clients", "create", "--env", "acme-tls", "--json", "--name", "svc",
		"--type", "confidential", "--grant", "client_credentials")
	var c registered
	if code != 0 || json.Unmarshal([]byte(out), &c) != nil {
		t.Fatalf("clients create: %d %s%s", code, out, errOut)
	}
	eventually(t, 10*time.Second, "a token over a TLS NATS", func() bool {
		code, body := a.post("acme-tls", "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, c.ID, c.Secret)
		return code == http.StatusOK && body["access_token"] != nil
	})
	// The relay published over TLS: a subscriber (trusting the CA) reads the new environment's events.
	opt, err := resourceserver.NATSCredentials(n.creds["subscriber"])
	if err != nil {
		t.Fatal(err)
	}
	sub, err := nats.Connect(n.url, opt, nats.RootCAs(caFile))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	js, _ := jetstream.New(sub)
	eventually(t, 10*time.Second, "events on the stream", func() bool {
		st, err := js.Stream(t.Context(), "PAYLENT_EVENTS")
		if err != nil {
			return false
		}
		info, err := st.Info(t.Context())
		return err == nil && info.State.Msgs > 0
	})
}

// connect connects as a downstream service would, with the role's credentials file.
func (n *sharedNATS) connect(t *testing.T, role, inbox string, errs *natsErrors) *nats.Conn {
	t.Helper()
	opt, err := resourceserver.NATSCredentials(n.creds[role])
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(n.url, opt, nats.CustomInboxPrefix(inbox), errs.handler())
	if err != nil {
		t.Fatalf("connect as %s: %v", role, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// natsErrors collects what NATS reports asynchronously on a connection.
type natsErrors struct {
	mu   sync.Mutex
	errs []string
}

func (e *natsErrors) handler() nats.Option {
	return nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.errs = append(e.errs, err.Error())
	})
}

func (e *natsErrors) violation(subject string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.errs {
		if strings.Contains(s, "Permissions Violation") && strings.Contains(s, subject) {
			return true
		}
	}
	return false
}

// Paylent on a shared NATS configured as documented: the relay publishes with its identity,
// the instance follows and keeps rate limits with its own, a downstream service reads the
// stream with the subscriber identity from another process; nobody else publishes events,
// anonymous clients are refused, and Paylent keeps serving.
func TestSharedNATSWithIdentities(t *testing.T) {
	t.Parallel()
	n := startSharedNATS(t)
	shared := []string{"DATABASE_URL=" + pgtest.URL(t), "NATS_URL=" + n.url, "NATS_CREDS=" + n.creds["instance"],
		"PAYLENT_NATS_RELAY_CREDS=" + n.creds["relay"], "PAYLENT_MASTER_KEY=" + strings.Repeat("5a", 32)}
	a := serve(t, append(shared, "PAYLENT_DATA_DIR="+dataDir(t))) // rate limits on: the KV bucket is used
	cliEnv := append(shared, "PAYLENT_DATA_DIR="+dataDir(t), "PAYLENT_PUBLIC_DOMAIN="+a.domain)

	subErrs := &natsErrors{}
	sub := n.connect(t, "subscriber", "_INBOX", subErrs)
	js, _ := jetstream.New(sub)
	var cons jetstream.Consumer
	eventually(t, 30*time.Second, "the relay created the stream", func() bool {
		var err error
		cons, err = js.OrderedConsumer(t.Context(), "PAYLENT_EVENTS", jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{"paylent.events.acme-nats.>"}})
		return err == nil
	})
	types := make(chan string, 100)
	cc, err := cons.Consume(func(m jetstream.Msg) { types <- strings.TrimPrefix(m.Subject(), "paylent.events.acme-nats.") })
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Stop()
	if code, out, errOut := cli(t, cliEnv, "env", "create", "--account", "acme", "--slug", "acme-nats"); code != 0 {
		t.Fatalf("env create: %d %s%s", code, out, errOut)
	}
	select {
	case typ := <-types:
		t.Logf("the subscriber read %s", typ)
	case <-time.After(30 * time.Second):
		t.Fatal("the subscriber saw no event of the new environment")
	}
	a.waitReady("acme-nats", 30*time.Second)

	if _, err := nats.Connect(n.url); !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("anonymous connect: %v, want an authorization violation", err)
	}
	forged := []byte(`{"envelope_version":1,"id":"forged","environment":"acme-nats","type":"client.registered","position":999999}`)
	const subject = "paylent.events.acme-nats.client.registered"
	instErrs := &natsErrors{}
	for _, c := range []struct {
		nc   *nats.Conn
		errs *natsErrors
	}{{sub, subErrs}, {n.connect(t, "instance", "_INBOX_PAYLENT_INSTANCE", instErrs), instErrs}} {
		if err := c.nc.Publish(subject, forged); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "permission violation", func() bool { return c.errs.violation(subject) })
	}

	// Paylent keeps serving: ready, and a new client gets a token.
	a.waitReady("acme-nats", 10*time.Second)
	code, out, errOut := cli(t, cliEnv, "clients", "create", "--env", "acme-nats", "--json", "--name", "svc",
		"--type", "confidential", "--grant", "client_credentials")
	var c registered
	if code != 0 || json.Unmarshal([]byte(out), &c) != nil {
		t.Fatalf("clients create: %d %s%s", code, out, errOut)
	}
	eventually(t, 10*time.Second, "a token", func() bool {
		code, body := a.post("acme-nats", "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, c.ID, c.Secret)
		return code == http.StatusOK && body["access_token"] != nil
	})
	a.stop()
	if out := a.output(); strings.Contains(out, "level=ERROR") || strings.Contains(out, "anonymous") {
		t.Errorf("paylent logged errors or ran anonymous:\n%s", out)
	}
}

// A credential NATS refuses, or none where NATS wants one, stops `paylent serve` at start
// with a message that names the variable and never shows the secret.
func TestNATSCredentialsRefusedAtStart(t *testing.T) {
	t.Parallel()
	n := startSharedNATS(t)
	stranger := t.TempDir()
	if code, out, errOut := cli(t, nil, "nats", "keygen", "--dir", stranger); code != 0 {
		t.Fatalf("nats keygen: %s%s", out, errOut)
	}
	notSeed := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notSeed, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"DATABASE_URL=" + pgtest.URL(t), "NATS_URL=" + n.url, "PAYLENT_MASTER_KEY=" + strings.Repeat("5a", 32),
		"PAYLENT_HTTP_ADDR=127.0.0.1:0"}
	for _, tc := range []struct {
		name string
		env  []string
		code int
		want string
	}{
		{"unknown instance key", []string{"NATS_CREDS=" + filepath.Join(stranger, "instance.nk")}, 1,
			"NATS refused the credentials in NATS_CREDS: authorization violation"},
		{"unknown relay key", []string{"NATS_CREDS=" + n.creds["instance"], "PAYLENT_NATS_RELAY_CREDS=" + filepath.Join(stranger, "relay.nk")}, 1,
			"NATS refused the credentials in PAYLENT_NATS_RELAY_CREDS: authorization violation"},
		{"no credentials", nil, 1, "NATS at NATS_URL requires credentials: set NATS_CREDS"},
		{"missing file", []string{"NATS_CREDS=/nonexistent/instance.nk"}, 1, "NATS_CREDS: nats credentials: open /nonexistent/instance.nk: no such file or directory"},
		{"not a seed", []string{"NATS_CREDS=" + notSeed}, 1, "neither an nkey seed nor a .creds file"},
		{"relay without instance", []string{"PAYLENT_NATS_RELAY_CREDS=" + n.creds["relay"]}, 2, "PAYLENT_NATS_RELAY_CREDS: set NATS_CREDS too"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, "serve")
			cmd.Env = append(os.Environ(), append(append(base[:len(base):len(base)], "PAYLENT_DATA_DIR="+dataDir(t)), tc.env...)...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != tc.code {
				t.Fatalf("serve: %v, want exit %d\n%s", err, tc.code, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
			seed, _ := os.ReadFile(filepath.Join(stranger, "instance.nk"))
			if s := strings.Split(string(seed), "\n")[2]; strings.Contains(string(out), s) {
				t.Error("the output shows a seed")
			}
		})
	}
}

// `paylent nats credentials` points a downstream service at the embedded server: URL and a
// 0600 seed the server uses too (made here when it has not run yet).
func TestNATSCredentialsCommand(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	env := []string{"PAYLENT_DATA_DIR=" + data, "PAYLENT_NATS_LISTEN=0.0.0.0:14222"}
	code, out, errOut := cli(t, env, "nats", "credentials", "--role", "subscriber")
	want := "NATS_URL=nats://127.0.0.1:14222\nNATS_CREDS=" + filepath.Join(data, "nats", "credentials", "subscriber.nk") + "\n"
	if code != 0 || out != want {
		t.Fatalf("nats credentials: %d %q %s, want %q", code, out, errOut, want)
	}
	if fi, err := os.Stat(filepath.Join(data, "nats", "credentials")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("credentials directory: %v %v", fi.Mode().Perm(), err)
	}
	if _, err := resourceserver.NATSCredentials(filepath.Join(data, "nats", "credentials", "subscriber.nk")); err != nil {
		t.Error(err)
	}
	for _, tc := range []struct {
		env  []string
		args []string
		code int
		want string
	}{
		{env, []string{"nats", "credentials", "--help"}, 0, "Usage: paylent nats credentials --role subscriber|instance|relay"},
		{env, []string{"nats", "credentials", "--role", "admin"}, 2, "--role must be subscriber, instance or relay"},
		{append(env, "NATS_URL=nats://127.0.0.1:4222"), []string{"nats", "credentials", "--role", "subscriber"}, 2, "paylent nats keygen"},
		{append(env, "NATS_CREDS=/x.nk"), []string{"nats", "credentials", "--role", "subscriber"}, 2, "NATS_CREDS: only with NATS_URL"},
		{env, []string{"nats", "keygen"}, 2, "--dir is required"},
	} {
		code, out, errOut := cli(t, tc.env, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("paylent %v: %d %s%s, want %d and %q", tc.args, code, out, errOut, tc.code, tc.want)
		}
	}
}
