// Package exampletest starts what the examples' tests run against, as an outsider would: the
// real `paylent serve` on its embedded default (built once per test binary), driven over
// HTTP and its CLI, and a headless Chromium.
package exampletest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Env is the environment the embedded default seeds, and the one the examples use.
const Env = "examples-dev"

// binary is the paylent executable Main built.
var binary string

// Main builds the paylent binary, runs the tests and removes the binary. Call it from
// TestMain. With -short nothing is built, and the tests that need the server skip.
func Main(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "paylent-examples-bin-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "paylent")
	out, err := exec.Command("go", "build", "-o", binary, "github.com/paylent/paylent/cmd/paylent").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build paylent: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Paylent is one `paylent serve` process on its embedded default (private PostgreSQL,
// embedded NATS), on free ports.
type Paylent struct {
	t            *testing.T
	env          []string
	port         int
	natsAddr     string
	DemoPassword string // the seeded demo user's, read from the first start's output
	// OperatorPassword is the seeded dashboard operator's (operator@example.com).
	OperatorPassword string

	mu     sync.Mutex
	out    bytes.Buffer
	exited chan error
}

func (p *Paylent) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *Paylent) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

var (
	demoLine     = regexp.MustCompile(`demo user: demo@example\.com / (\S+)`)
	operatorLine = regexp.MustCompile(`operator: +operator@example\.com / (\S+)`)
)

// Start runs `paylent serve` and returns once examples-dev is ready and the demo user's
// password has been printed. It is stopped (Ctrl-C) when the test ends.
func Start(t *testing.T) *Paylent {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no Paylent server")
	}
	if binary == "" {
		t.Fatal("exampletest.Main did not run: call it from TestMain")
	}
	// The private PostgreSQL runs as the postgres user when we are root: t.TempDir (0700)
	// is out of its reach.
	dir, err := os.MkdirTemp("", "paylent-examples-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	p := &Paylent{t: t, port: FreePort(t), natsAddr: fmt.Sprintf("127.0.0.1:%d", FreePort(t)), exited: make(chan error, 1)}
	p.env = append(os.Environ(), "PAYLENT_DATA_DIR="+filepath.Join(dir, "data"),
		fmt.Sprintf("PAYLENT_HTTP_ADDR=127.0.0.1:%d", p.port), fmt.Sprintf("PAYLENT_PUBLIC_DOMAIN=localhost:%d", p.port),
		"PAYLENT_NATS_LISTEN="+p.natsAddr, "PAYLENT_RATE_LIMITS=off",
		"PAYLENT_KEY_POOL=2") // the pool's path, without seconds of a core spent on 64 keys
	cmd := exec.Command(binary, "serve")
	cmd.Env, cmd.Stdout, cmd.Stderr = p.env, p, p
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt) //nolint:errcheck // it may be gone
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck // it may be gone
			<-p.exited
		}
		if t.Failed() {
			t.Logf("paylent output:\n%s", p.output())
		}
	})
	Eventually(t, 120*time.Second, "paylent serve ready with the demo user", func() bool {
		select {
		case err := <-p.exited:
			t.Fatalf("paylent serve exited: %v\n%s", err, p.output())
		default:
		}
		m := demoLine.FindStringSubmatch(p.output())
		if m == nil {
			return false
		}
		p.DemoPassword = m[1]
		if m := operatorLine.FindStringSubmatch(p.output()); m != nil {
			p.OperatorPassword = m[1]
		}
		resp, err := LoopbackClient().Get(p.Issuer() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	// The key manager creates examples-dev's first signing keys a moment after the start.
	// A verifier that read the JWKS before that would refuse tokens until its next fetch
	// (at most one per 10 s), so wait for them.
	Eventually(t, 30*time.Second, "examples-dev's signing keys", func() bool {
		var jwks struct{ Keys []json.RawMessage }
		resp, err := LoopbackClient().Get(p.Issuer() + "/.well-known/jwks.json")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&jwks) == nil && len(jwks.Keys) > 0
	})
	return p
}

// Issuer is examples-dev's issuer, e.g. http://examples-dev.localhost:41234.
func (p *Paylent) Issuer() string { return fmt.Sprintf("http://%s.localhost:%d", Env, p.port) }

// DashboardURL is the dashboard's address, e.g. http://dashboard.localhost:41234.
func (p *Paylent) DashboardURL() string { return fmt.Sprintf("http://dashboard.localhost:%d", p.port) }

// NATSURL is where the embedded NATS server listens.
func (p *Paylent) NATSURL() string { return "nats://" + p.natsAddr }

// NATSCreds is the subscriber credentials file, as `paylent nats credentials` names it.
func (p *Paylent) NATSCreds() string {
	p.t.Helper()
	var out struct {
		File string `json:"credentials_file"`
	}
	if err := json.Unmarshal([]byte(p.CLI("nats", "credentials", "--role", "subscriber", "--json")), &out); err != nil || out.File == "" {
		p.t.Fatalf("nats credentials: %v", err)
	}
	return out.File
}

// CLI runs a paylent command beside the server and returns its standard output.
func (p *Paylent) CLI(args ...string) string {
	p.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = p.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		p.t.Fatalf("paylent %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// Credentials are what `paylent clients create --json` prints.
type Credentials struct {
	ID     string `json:"client_id"`
	Secret string `json:"client_secret"`
}

// CreateClient runs `paylent clients create --env examples-dev --json ARGS...` and waits
// until the server knows the client.
func (p *Paylent) CreateClient(args ...string) Credentials {
	p.t.Helper()
	var c Credentials
	out := p.CLI(append([]string{"clients", "create", "--env", Env, "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.ID == "" {
		p.t.Fatalf("clients create: %v: %s", err, out)
	}
	// A revocation request of an unknown token is 200 once the client authenticates, 401
	// before it is known. Public clients authenticate with their client_id alone.
	Eventually(p.t, 10*time.Second, "client known to the server", func() bool {
		code, _ := p.Post("/oauth/revoke", url.Values{"token": {"unknown"}}, c)
		return code == http.StatusOK
	})
	return c
}

// WaitScopes waits until discovery lists every one of scopes (the server's catalog has
// them).
func (p *Paylent) WaitScopes(scopes ...string) {
	p.t.Helper()
	Eventually(p.t, 10*time.Second, "scopes in discovery", func() bool {
		var doc struct {
			Scopes []string `json:"scopes_supported"`
		}
		resp, err := LoopbackClient().Get(p.Issuer() + "/.well-known/openid-configuration")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		if json.NewDecoder(resp.Body).Decode(&doc) != nil {
			return false
		}
		have := map[string]bool{}
		for _, s := range doc.Scopes {
			have[s] = true
		}
		for _, s := range scopes {
			if !have[s] {
				return false
			}
		}
		return true
	})
}

// Post sends a form to the issuer, authenticating as c (HTTP Basic for a confidential
// client, client_id in the form for a public one), and decodes a JSON answer.
func (p *Paylent) Post(path string, form url.Values, c Credentials) (int, map[string]any) {
	p.t.Helper()
	if c.Secret == "" {
		form.Set("client_id", c.ID)
	}
	req, _ := http.NewRequest(http.MethodPost, p.Issuer()+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.Secret != "" {
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	}
	resp, err := LoopbackClient().Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m) //nolint:errcheck // revocation answers are empty
	return resp.StatusCode, m
}

// LoopbackClient dials every host on 127.0.0.1: Go does not resolve *.localhost.
func LoopbackClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return dialer.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		},
	}}
}

// FreePort is a TCP port that was free a moment ago. It is picked below Linux's ephemeral
// range (32768–60999), where no bind to port 0 and no connection's source port can take it
// before the server binds it (as the project's internal/ports does; examples import none
// of the project's internals).
func FreePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		p := 20000 + rand.IntN(12000)
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			ln.Close()
			return p
		}
	}
	t.Fatal("no free port in 100 tries")
	return 0
}

// Eventually polls cond every 20 ms until it holds, failing the test after within.
func Eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
	}
}
