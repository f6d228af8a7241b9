package resourceserver_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/paylent/paylent/internal/ports"
	"github.com/paylent/paylent/resourceserver"
)

const (
	itEnv = "examples-dev"
	apiA  = "http://localhost:4100"
	apiB  = "http://localhost:4200"
)

// The package against the real thing: `paylent serve` on its embedded default (private
// PostgreSQL, embedded NATS), set up with its CLI, tokens from its token endpoint.
func TestAgainstPaylent(t *testing.T) {
	if paylentBinary == "" {
		t.Skip("-short: no Paylent binary")
	}
	start := time.Now()
	r := newRig(t)
	t.Logf("Paylent ready, configured, verifiers warm in %s", time.Since(start).Round(time.Millisecond))
	t.Run("audience", r.audience)
	t.Run("revocation", r.revocation)
	t.Run("opaque", r.opaqueTokens)
	t.Run("key rotation", r.keyRotation)
	t.Run("nats identities", r.natsIdentities)
	t.Logf("total %s", time.Since(start).Round(time.Millisecond))
}

// rig is a Paylent with two APIs (A with docs:read, B with billing:read), a JWT client and
// an opaque-token client, and verifiers: for A, for B, for A watching revocations, and for A
// with introspection (watching too).
type rig struct {
	p                               *paylent
	backend, opaque                 credentials
	forA, forB, watching, introspec *resourceserver.Verifier
	nc                              *nats.Conn // the subscriber identity, as a downstream service has it
	natsErrs                        *asyncErrors
}

func newRig(t *testing.T) *rig {
	p := startPaylent(t)
	p.cli("apis", "create", "--env", itEnv, "--identifier", apiA, "--name", "Documents API")
	p.cli("apis", "create", "--env", itEnv, "--identifier", apiB, "--name", "Billing API")
	p.cli("scopes", "create", "--env", itEnv, "--api", apiA, "--name", "docs:read", "--description", "Read documents")
	p.cli("scopes", "create", "--env", itEnv, "--api", apiB, "--name", "billing:read", "--description", "Read invoices")
	r := &rig{p: p, natsErrs: &asyncErrors{}}
	r.backend = p.client(itEnv, "--name", "Backend", "--type", "confidential", "--grant", "client_credentials",
		"--scope", "docs:read", "--scope", "billing:read")
	r.opaque = p.client(itEnv, "--name", "Opaque backend", "--type", "confidential", "--grant", "client_credentials",
		"--scope", "docs:read", "--token-format", "opaque")
	nc := p.connectAs("subscriber", r.natsErrs, nats.MaxReconnects(-1))
	r.nc = nc
	verifier := func(audience string, watch bool, intro *resourceserver.Introspection) *resourceserver.Verifier {
		v, err := resourceserver.New(resourceserver.Config{Issuer: p.issuer(itEnv), Audience: audience,
			HTTPClient: loopbackClient(), Introspection: intro})
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Prefetch(t.Context()); err != nil {
			t.Fatal(err)
		}
		if watch {
			if _, err := v.WatchRevocations(t.Context(), nc, itEnv); err != nil {
				t.Fatal(err)
			}
		}
		return v
	}
	r.forA, r.forB, r.watching = verifier(apiA, false, nil), verifier(apiB, false, nil), verifier(apiA, true, nil)
	r.introspec = verifier(apiA, true, &resourceserver.Introspection{ClientID: r.backend.ID, ClientSecret: r.backend.Secret})
	return r
}

// A token for API A passes A's verifier and not B's.
func (r *rig) audience(t *testing.T) {
	tok := r.p.token(itEnv, r.backend, "docs:read")
	c := accept(t, r.forA, tok)
	if c.ClientID != r.backend.ID || c.Subject != r.backend.ID || !c.HasScope("docs:read") || c.Issuer != r.p.issuer(itEnv) {
		t.Errorf("claims: %+v", c)
	}
	refuse(t, r.forB, tok, "not meant for this API")
	accept(t, r.forB, r.p.token(itEnv, r.backend, "billing:read"))
}

// A revoked JWT is refused within 100 ms with the watch, and accepted without it.
func (r *rig) revocation(t *testing.T) {
	tok := r.p.token(itEnv, r.backend, "docs:read")
	accept(t, r.watching, tok)
	r.p.revoke(itEnv, r.backend, tok)
	refusedWithin(t, r.watching, tok, 100*time.Millisecond)
	accept(t, r.forA, tok) // without a watch, a JWT lives until exp
}

// Opaque tokens pass by introspection; a revocation overrules the cached answer.
func (r *rig) opaqueTokens(t *testing.T) {
	tok := r.p.token(itEnv, r.opaque, "docs:read")
	if strings.Count(tok, ".") == 2 {
		t.Fatalf("not an opaque token: %s", tok)
	}
	refuse(t, r.forA, tok, "opaque access tokens are not accepted")
	accept(t, r.introspec, tok)
	r.p.revoke(itEnv, r.opaque, tok)
	refusedWithin(t, r.introspec, tok, 100*time.Millisecond)
}

// After `paylent keys rotate`, old tokens still pass and new ones carry the new kid, with
// the same verifiers.
func (r *rig) keyRotation(t *testing.T) {
	old := r.p.token(itEnv, r.backend, "docs:read")
	var rotated struct{ Primary string }
	if err := json.Unmarshal([]byte(r.p.cli("keys", "rotate", "--env", itEnv, "--json")), &rotated); err != nil || rotated.Primary == "" {
		t.Fatalf("keys rotate: %v", err)
	}
	if kid(old) == rotated.Primary {
		t.Fatal("the old token already carries the new primary kid")
	}
	var fresh string
	for deadline := time.Now().Add(10 * time.Second); kid(fresh) != rotated.Primary; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("new tokens still signed with %s, not %s", kid(fresh), rotated.Primary)
		}
		fresh = r.p.token(itEnv, r.backend, "docs:read")
	}
	for _, v := range []*resourceserver.Verifier{r.forA, r.watching} {
		accept(t, v, old)
		accept(t, v, fresh)
	}
}

func accept(t *testing.T, v *resourceserver.Verifier, tok string) *resourceserver.Claims {
	t.Helper()
	c, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	return c
}

func refuse(t *testing.T, v *resourceserver.Verifier, tok, why string) {
	t.Helper()
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, resourceserver.ErrInvalidToken) || !strings.Contains(err.Error(), why) {
		t.Errorf("got %v, want invalid_token %q", err, why)
	}
}

// refusedWithin polls until v refuses tok as revoked, failing after within.
func refusedWithin(t *testing.T, v *resourceserver.Verifier, tok string, within time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		_, err := v.Verify(t.Context(), tok)
		if err != nil {
			if !strings.Contains(err.Error(), "revoked") {
				t.Fatalf("refused for another reason: %v", err)
			}
			t.Logf("refused %s after the revocation answered", time.Since(start).Round(time.Microsecond))
			return
		}
		if time.Since(start) > within {
			t.Fatalf("revoked token still accepted after %s", within)
		}
		time.Sleep(time.Millisecond)
	}
}

// kid is a JWT's kid ("" for anything else).
func kid(tok string) string {
	h, _, ok := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(h)
	var hdr struct{ Kid string }
	if !ok || err != nil || json.Unmarshal(raw, &hdr) != nil {
		return ""
	}
	return hdr.Kid
}

// The embedded NATS refuses anonymous clients; the subscriber and instance identities cannot
// publish events (NATS reports a permission violation), and Paylent keeps serving. That the
// subscriber reads the stream is the revocation subtest: this process is a downstream service.
func (r *rig) natsIdentities(t *testing.T) {
	if _, err := nats.Connect("nats://" + r.p.natsAddr); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("anonymous connect: %v, want an authorization violation", err)
	}
	forged := []byte(`{"envelope_version":1,"id":"forged","environment":"examples-dev","type":"client.registered","position":999999}`)
	const subject = "paylent.events.examples-dev.client.registered"
	if err := r.nc.Publish(subject, forged); err != nil {
		t.Fatal(err)
	}
	r.natsErrs.waitFor(t, subject)
	instanceErrs := &asyncErrors{}
	instance := r.p.connectAs("instance", instanceErrs)
	if err := instance.Publish(subject, forged); err != nil {
		t.Fatal(err)
	}
	instanceErrs.waitFor(t, subject)

	resp, err := loopbackClient().Get(r.p.issuer(itEnv) + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("readyz after the refused publishes: %d", resp.StatusCode)
	}
	accept(t, r.forA, r.p.token(itEnv, r.backend, "docs:read"))
}

// connectAs connects to the embedded NATS as a downstream service does: URL and credentials
// file from `paylent nats credentials`.
func (p *paylent) connectAs(role string, errs *asyncErrors, opts ...nats.Option) *nats.Conn {
	p.t.Helper()
	var out struct {
		URL   string `json:"nats_url"`
		File  string `json:"credentials_file"`
		Inbox string `json:"inbox_prefix"`
	}
	if err := json.Unmarshal([]byte(p.cli("nats", "credentials", "--role", role, "--json")), &out); err != nil {
		p.t.Fatal(err)
	}
	if out.URL != "nats://"+p.natsAddr {
		p.t.Errorf("nats credentials: URL %s, want nats://%s", out.URL, p.natsAddr)
	}
	if fi, err := os.Stat(out.File); err != nil || fi.Mode().Perm() != 0o600 {
		p.t.Errorf("credentials file %s: %v %v, want mode 0600", out.File, fi.Mode().Perm(), err)
	}
	creds, err := resourceserver.NATSCredentials(out.File)
	if err != nil {
		p.t.Fatal(err)
	}
	nc, err := nats.Connect(out.URL, append([]nats.Option{creds, nats.CustomInboxPrefix(out.Inbox), errs.handler()}, opts...)...)
	if err != nil {
		p.t.Fatalf("connect as %s: %v", role, err)
	}
	p.t.Cleanup(nc.Close)
	return nc
}

// asyncErrors collects what NATS reports asynchronously on a connection.
type asyncErrors struct {
	mu   sync.Mutex
	errs []string
}

func (a *asyncErrors) handler() nats.Option {
	return nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.errs = append(a.errs, err.Error())
	})
}

// waitFor waits for a permission violation naming subject.
func (a *asyncErrors) waitFor(t *testing.T, subject string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		a.mu.Lock()
		for _, e := range a.errs {
			if strings.Contains(e, "Permissions Violation") && strings.Contains(e, subject) {
				a.mu.Unlock()
				return
			}
		}
		a.mu.Unlock()
	}
	t.Fatalf("no permission violation for %s; errors: %v", subject, a.errs)
}

// paylent is one `paylent serve` process on its embedded default.
type paylent struct {
	t        *testing.T
	env      []string
	port     int
	natsAddr string
	mu       sync.Mutex
	out      bytes.Buffer
	exited   chan error
}

func (p *paylent) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func startPaylent(t *testing.T) *paylent {
	t.Helper()
	// The private PostgreSQL runs as the postgres user when root: t.TempDir (0700) is out of
	// its reach.
	dir, err := os.MkdirTemp("", "paylent-rs-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	p := &paylent{t: t, port: freePort(t), natsAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), exited: make(chan error, 1)}
	p.env = append(os.Environ(), "PAYLENT_DATA_DIR="+dir+"/data", fmt.Sprintf("PAYLENT_HTTP_ADDR=127.0.0.1:%d", p.port),
		fmt.Sprintf("PAYLENT_PUBLIC_DOMAIN=localhost:%d", p.port), "PAYLENT_NATS_LISTEN="+p.natsAddr, "PAYLENT_RATE_LIMITS=off",
		"PAYLENT_KEY_POOL=2") // the pool's path, without seconds of a core spent on 64 keys
	cmd := exec.Command(paylentBinary, "serve")
	cmd.Env, cmd.Stdout, cmd.Stderr = p.env, p, p
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt) //nolint:errcheck // may be gone
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck // may be gone
		}
		if t.Failed() {
			p.mu.Lock()
			t.Logf("paylent output:\n%s", p.out.String())
			p.mu.Unlock()
		}
	})
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := loopbackClient().Get(p.issuer("examples-dev") + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case err := <-p.exited:
			t.Fatalf("paylent serve exited: %v\n%s", err, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("paylent serve not ready")
		}
	}
}

func (p *paylent) issuer(env string) string {
	return fmt.Sprintf("http://%s.localhost:%d", env, p.port)
}

// cli runs a paylent command beside the server and returns its standard output.
func (p *paylent) cli(args ...string) string {
	p.t.Helper()
	cmd := exec.Command(paylentBinary, args...)
	cmd.Env = p.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		p.t.Fatalf("paylent %v: %v\n%s%s", args, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

type credentials struct {
	ID     string `json:"client_id"`
	Secret string `json:"client_secret"`
}

// client creates a client and waits until the server knows it.
func (p *paylent) client(env string, args ...string) credentials {
	p.t.Helper()
	var c credentials
	if err := json.Unmarshal([]byte(p.cli(append([]string{"clients", "create", "--env", env, "--json"}, args...)...)), &c); err != nil {
		p.t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if code, _ := p.post(env, "/oauth/revoke", url.Values{"token": {"unknown"}}, c); code == http.StatusOK {
			return c
		}
		if time.Now().After(deadline) {
			p.t.Fatal("client not known to the server")
		}
	}
}

func (p *paylent) token(env string, c credentials, scope string) string {
	p.t.Helper()
	code, body := p.post(env, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}, c)
	tok, _ := body["access_token"].(string)
	if code != http.StatusOK || tok == "" {
		p.t.Fatalf("token: %d %v", code, body)
	}
	return tok
}

func (p *paylent) revoke(env string, c credentials, tok string) {
	p.t.Helper()
	if code, body := p.post(env, "/oauth/revoke", url.Values{"token": {tok}}, c); code != http.StatusOK {
		p.t.Fatalf("revoke: %d %v", code, body)
	}
}

func (p *paylent) post(env, path string, form url.Values, c credentials) (int, map[string]any) {
	p.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.issuer(env)+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	resp, err := loopbackClient().Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m) //nolint:errcheck // revocation answers are empty
	return resp.StatusCode, m
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := ports.Free()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
