package main_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paylent/paylent/internal/natstest"
	"github.com/paylent/paylent/internal/pgtest"
)

// stack is two Paylent instances on one database and one NATS server, with the CLI beside
// them, and the test's environments: acme (with read:documents and write:documents) in
// account, and other in otherAccount. On a private stack (startStack, startOne) they are
// acme-test, other-env, acme and other; on the package's shared stacks (sharedStack,
// sharedOne) each test has its own.
type stack struct {
	a, b    *instance
	cliEnv  []string
	natsURL string
	dbURL   string

	acme, other           string // environment slugs
	account, otherAccount string // their accounts
	seq                   int64  // the test's number on a shared stack (0 on a private one)
}

// startStack starts a private two-instance stack: for tests that stop or restart its
// processes, change their configuration, or read everything they log.
func startStack(t *testing.T, extraEnv ...string) *stack {
	t.Helper()
	return startInstances(t, 2, extraEnv...)
}

// startOne is the private stack with a single instance (s.b is s.a).
func startOne(t *testing.T, extraEnv ...string) *stack {
	t.Helper()
	return startInstances(t, 1, extraEnv...)
}

func startInstances(t *testing.T, n int, extraEnv ...string) *stack {
	t.Helper()
	s := launch(t, n, extraEnv...)
	s.acme, s.other, s.account, s.otherAccount = "acme-test", "other-env", "acme", "other"
	s.populate(t)
	return s
}

// launch starts NATS, a database and n instances, with nothing in them.
func launch(t testing.TB, n int, extraEnv ...string) *stack {
	t.Helper()
	ns := natstest.Start(t)
	dbURL := pgtest.URL(t)
	// Tests send many requests from one address: limits are off unless a test turns them on.
	shared := append([]string{"DATABASE_URL=" + dbURL, "NATS_URL=" + ns.ClientURL(),
		"PAYLENT_MASTER_KEY=" + strings.Repeat("5a", 32), "PAYLENT_RATE_LIMITS=off"}, extraEnv...)
	a := serve(t, append(shared, "PAYLENT_DATA_DIR="+dataDir(t)))
	b := a
	if n > 1 {
		b = serve(t, append(shared, "PAYLENT_DATA_DIR="+dataDir(t), "PAYLENT_PUBLIC_DOMAIN="+a.domain))
		b.domain = a.domain
	}
	return &stack{a: a, b: b, natsURL: ns.ClientURL(), dbURL: dbURL,
		cliEnv: append(shared, "PAYLENT_DATA_DIR="+dataDir(t), "PAYLENT_PUBLIC_DOMAIN="+a.domain)}
}

// populate creates the test's environments and scopes and waits until both instances serve
// their keys.
func (s *stack) populate(t *testing.T) {
	t.Helper()
	s.runAll(t, []string{"env", "create", "--account", s.account, "--slug", s.acme},
		[]string{"env", "create", "--account", s.otherAccount, "--slug", s.other})
	s.runAll(t, []string{"scopes", "create", "--env", s.acme, "--name", "read:documents", "--description", "Read documents"},
		[]string{"scopes", "create", "--env", s.acme, "--name", "write:documents", "--description", "Write documents"})
	for _, inst := range []*instance{s.a, s.b} {
		for _, env := range []string{s.acme, s.other} {
			eventually(t, 30*time.Second, env+" has signing keys", func() bool {
				code, body := inst.get(inst.host(env), "/.well-known/jwks.json")
				keys, _ := body["keys"].([]any)
				return code == http.StatusOK && len(keys) >= 2
			})
		}
	}
}

func (s *stack) run(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := cli(t, s.cliEnv, args...)
	if code != 0 {
		t.Fatalf("paylent %v: exit %d\n%s%s", args, code, out, errOut)
	}
	return out
}

// runAll runs independent CLI commands at once and fails if any of them fails.
func (s *stack) runAll(t *testing.T, commands ...[]string) {
	t.Helper()
	failures := make([]string, len(commands))
	var wg sync.WaitGroup
	for n, args := range commands {
		wg.Go(func() {
			if code, out, errOut := cli(t, s.cliEnv, args...); code != 0 {
				failures[n] = fmt.Sprintf("paylent %v: exit %d\n%s%s", args, code, out, errOut)
			}
		})
	}
	wg.Wait()
	for _, f := range failures {
		if f != "" {
			t.Fatal(f)
		}
	}
}

type registered struct {
	ID     string `json:"client_id"`
	Secret string `json:"client_secret"`
}

func (s *stack) client(t *testing.T, env string, args ...string) registered {
	t.Helper()
	out := s.run(t, append([]string{"clients", "create", "--env", env, "--json"}, args...)...)
	var r registered
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.ID == "" {
		t.Fatalf("clients create: %q %v", out, err)
	}
	// Visible to both instances before use: revocation (not rate limited) of an unknown
	// token answers 200 once the client authenticates.
	for _, inst := range []*instance{s.a, s.b} {
		eventually(t, 5*time.Second, "client known", func() bool {
			form, id := url.Values{"token": {"unknown"}}, r.ID
			if r.Secret == "" { // a public client names itself in the body
				form.Set("client_id", r.ID)
				id = ""
			}
			code, _ := inst.post(env, "/oauth/revoke", form, id, r.Secret)
			return code == http.StatusOK
		})
	}
	return r
}

// loopback dials every *.localhost address on 127.0.0.1, as browsers do and Go does not.
var loopback = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
	DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	},
}}

// post sends a form to an environment's endpoint, with Basic credentials when id is set.
func (i *instance) post(env, path string, form url.Values, id, secret string) (int, map[string]any) {
	code, _, body := i.postRaw(env, path, "application/x-www-form-urlencoded", form.Encode(), id, secret)
	var m map[string]any
	json.Unmarshal(body, &m) //nolint:errcheck // some answers are empty
	return code, m
}

func (i *instance) postRaw(env, path, contentType, body, id, secret string) (int, http.Header, []byte) {
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d%s", i.port, path), strings.NewReader(body))
	req.Host = i.host(env)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		i.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// issuer is the issuer URL of env on this stack.
func (i *instance) issuer(env string) string { return "http://" + i.host(env) }

// postRawAuth posts with a raw Authorization header.
func (i *instance) postRawAuth(env, path, contentType, body, auth string) (int, http.Header, []byte) {
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d%s", i.port, path), strings.NewReader(body))
	req.Host = i.host(env)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		i.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func (i *instance) getRaw(env, path string) (int, http.Header, []byte) {
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", i.port, path), nil)
	req.Host = i.host(env)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		i.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// jsonHas reports whether a JSON object body has key = value.
func jsonHas(body []byte, key, value string) bool {
	var m map[string]any
	return json.Unmarshal(body, &m) == nil && m[key] == value
}
