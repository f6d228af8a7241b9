package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// benchEnv is the environment the embedded default seeds on first start.
const benchEnv = "examples-dev"

// child is a process the protocol suite started: the paylent server or the bare fiber app.
type child struct {
	name   string
	cmd    *exec.Cmd
	logf   *os.File
	exited chan struct{}
	err    error // set before exited closes
}

// startChild starts bin with args in its own process group (a Ctrl-C in the terminal reaches
// only us, and we stop the children in order), its output going to logPath.
func startChild(name, bin string, args, env []string, logPath string) (*child, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, f, f
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, logf: f, exited: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) running() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// stop interrupts the child (the server drains HTTP, stops its workers, NATS and
// PostgreSQL) and waits; after grace it kills it.
func (c *child) stop(grace time.Duration, log *slog.Logger) {
	defer c.logf.Close()
	if !c.running() {
		return
	}
	c.cmd.Process.Signal(os.Interrupt) //nolint:errcheck // it may have exited meanwhile
	select {
	case <-c.exited:
		if c.err != nil {
			log.Warn("child exited with an error after Ctrl-C", "child", c.name, "err", c.err)
		}
	case <-time.After(grace):
		log.Error("child did not stop after Ctrl-C; killing it", "child", c.name, "after", grace)
		c.cmd.Process.Kill() //nolint:errcheck // best effort
		<-c.exited
	}
}

// tail returns the last n lines of a log file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// moduleRoot is the directory of the go.mod this tool belongs to (go run runs from anywhere
// inside the module).
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("find the module root (run inside the repository): %v", err)
	}
	return filepath.Dir(gomod), nil
}

// buildPaylent builds ./cmd/paylent into dir, as an operator would build it.
func buildPaylent(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "paylent")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/paylent")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/paylent: %w\n%s", err, out)
	}
	return bin, nil
}

// serverEnv is the process environment of `paylent serve` and of the CLI beside it: the
// embedded default (no DATABASE_URL, NATS_URL or master key from our own environment).
func serverEnv(dataDir string, httpPort, natsPort int, logLevel string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PAYLENT_") || k == "DATABASE_URL" || strings.HasPrefix(k, "NATS_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"PAYLENT_DATA_DIR="+dataDir,
		fmt.Sprintf("PAYLENT_HTTP_ADDR=127.0.0.1:%d", httpPort),
		fmt.Sprintf("PAYLENT_PUBLIC_DOMAIN=localhost:%d", httpPort),
		fmt.Sprintf("PAYLENT_NATS_LISTEN=127.0.0.1:%d", natsPort),
		"PAYLENT_RATE_LIMITS=off",
		"PAYLENT_LOG_LEVEL="+logLevel)
}

// stopPostgres stops a private cluster the server left behind (it was killed, or died):
// SIGINT to the postmaster is PostgreSQL's fast shutdown. It waits until the postmaster is
// gone, so that the data directory can be removed.
func stopPostgres(pgDir string, log *slog.Logger) {
	pid := postmasterPID(pgDir)
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return
	}
	log.Warn("stopping the PostgreSQL the server left running", "pid", pid)
	syscall.Kill(pid, syscall.SIGINT) //nolint:errcheck // checked by the loop below
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
	}
	log.Error("PostgreSQL did not stop", "pid", pid, "dir", pgDir)
}

// site talks to the server the way every client in the suite does: dial 127.0.0.1, send
// Host <env>.localhost:<port> (Go does not resolve *.localhost).
type site struct {
	port int
	host string
	hc   *http.Client
}

func newSite(port int) *site {
	return &site{port: port, host: fmt.Sprintf("%s.localhost:%d", benchEnv, port),
		hc: &http.Client{Timeout: 10 * time.Second}}
}

// do sends one request and returns the status and body.
func (s *site) do(ctx context.Context, method, path, body, auth string) (int, []byte, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, fmt.Sprintf("http://127.0.0.1:%d%s", s.port, path), r)
	if err != nil {
		return 0, nil, err
	}
	req.Host = s.host
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// waitFor polls cond every 50 ms until it holds, the server exits, or within passes.
func waitFor(ctx context.Context, srv *child, within time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(within)
	for !cond() {
		if srv != nil && !srv.running() {
			return fmt.Errorf("%s: the server exited (%v)", what, srv.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %s", what, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// ready reports whether /readyz answers 200: database and NATS up, projections caught up
// with the log.
func (s *site) ready(ctx context.Context) bool {
	code, _, err := s.do(ctx, http.MethodGet, "/readyz", "", "")
	return err == nil && code == http.StatusOK
}

// jwksKeys is how many keys the environment's JWKS publishes.
func (s *site) jwksKeys(ctx context.Context) int {
	code, body, err := s.do(ctx, http.MethodGet, "/.well-known/jwks.json", "", "")
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err != nil || code != http.StatusOK || json.Unmarshal(body, &doc) != nil {
		return 0
	}
	return len(doc.Keys)
}

// cli runs a paylent CLI command beside the server (same data directory: it attaches to the
// server's private cluster) and returns its standard output.
func cli(ctx context.Context, bin string, env []string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("paylent %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// registered is what `paylent clients create --json` prints.
type registered struct {
	ID     string `json:"client_id"`
	Secret string `json:"client_secret"`
}

func createClient(ctx context.Context, bin string, env []string, name string, extra ...string) (registered, error) {
	args := append([]string{"clients", "create", "--env", benchEnv, "--name", name, "--type", "confidential",
		"--grant", "client_credentials", "--scope", benchScope, "--json"}, extra...)
	out, err := cli(ctx, bin, env, args...)
	if err != nil {
		return registered{}, err
	}
	var r registered
	if err := json.Unmarshal(out, &r); err != nil || r.ID == "" || r.Secret == "" {
		return registered{}, errors.Join(fmt.Errorf("clients create printed %q", out), err)
	}
	return r, nil
}
