package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// bareFiberCommand is the hidden subcommand that serves the bare handler ceiling.
const bareFiberCommand = "bare-fiber"

// barePath is the bare handler's route.
const barePath = "/bare"

// bareBody is the bare handler's static answer.
var bareBody = []byte(`{"status":"ok","handler":"bare fiber"}`)

// runBareFiber serves a fiber v2 app with one handler answering bareBody until interrupted:
// the least any fiber endpoint costs, measured in its own process as the server is.
func runBareFiber(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("paylent-bench "+bareFiberCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "where to listen")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get(barePath, func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(bareBody)
	})
	served := make(chan error, 1)
	go func() { served <- app.Listen(*addr) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
		return app.ShutdownWithTimeout(5 * time.Second)
	}
}

// startBareFiber runs this tool's bare-fiber subcommand as a child process on a free port
// and waits until it answers.
func startBareFiber(ctx context.Context, dir string) (*child, int, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, 0, err
	}
	port, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	c, err := startChild("bare fiber", self, []string{bareFiberCommand, "--addr", fmt.Sprintf("127.0.0.1:%d", port)},
		os.Environ(), dir+"/bare-fiber.log")
	if err != nil {
		return nil, 0, err
	}
	s := newSite(port)
	err = waitFor(ctx, c, 30*time.Second, "bare fiber answers", func() bool {
		code, _, err := s.do(ctx, "GET", barePath, "", "")
		return err == nil && code == 200
	})
	return c, port, err
}

// signResult is the RS256 ceiling: signatures per second in this process.
type signResult struct {
	Signatures   int64   `json:"signatures"`
	Seconds      float64 `json:"seconds"`
	Rate         float64 `json:"signatures_per_second"`
	Goroutines   int     `json:"goroutines"`
	PayloadBytes int     `json:"payload_bytes"`
	CPU          cpuUse  `json:"cpu_cores"`
	Repeats      int     `json:"repeated_slices"`
}

// rs256Signer signs a payload with a precomputed 2048-bit RSA key from GOMAXPROCS
// goroutines, the way api/oauth/mint.go signs an access token: jws.Sign with RS256, the
// *rsa.PrivateKey itself, kid and typ in new protected headers each time. It is timed in
// slices like the endpoints (it implements slicer).
type rs256Signer struct {
	key     *rsa.PrivateKey
	payload []byte
	cpu     *cpuProbe
}

func newRS256Signer(payload []byte, cpu *cpuProbe) (*rs256Signer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	key.Precompute()
	s := &rs256Signer{key: key, payload: payload, cpu: cpu}
	if err := s.sign(); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return s, nil
}

func (s *rs256Signer) sign() error {
	hdr := jws.NewHeaders()
	if err := errors.Join(hdr.Set(jws.KeyIDKey, "bench-key-1"), hdr.Set(jws.TypeKey, "at+jwt")); err != nil {
		return err
	}
	_, err := jws.Sign(s.payload, jws.WithKey(jwa.RS256, s.key, jws.WithProtectedHeaders(hdr)))
	return err
}

func (s *rs256Signer) warm(ctx context.Context, d time.Duration) int64 {
	s.slice(ctx, d) //nolint:errcheck // untimed
	return 0
}

func (s *rs256Signer) close() {}

// slice signs from GOMAXPROCS goroutines for d; ok counts the signatures.
func (s *rs256Signer) slice(ctx context.Context, d time.Duration) (loadResult, error) {
	n := runtime.GOMAXPROCS(0)
	var count atomic.Int64
	errs := make([]error, n)
	var wg sync.WaitGroup
	before := s.cpu.sample()
	start := time.Now()
	deadline := start.Add(d)
	for g := range n {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				if errs[g] = s.sign(); errs[g] != nil {
					return
				}
				count.Add(1)
			}
		})
	}
	wg.Wait()
	r := loadResult{ok: count.Load(), elapsed: time.Since(start), cpu: s.cpu.since(before)}
	return r, errors.Join(append(errs, ctx.Err())...)
}

// result summarises the signer's slices.
func (s *rs256Signer) result(r loadResult, repeats int) signResult {
	return signResult{Signatures: r.ok, Seconds: r.elapsed.Seconds(), Rate: r.rate(), Goroutines: runtime.GOMAXPROCS(0),
		PayloadBytes: len(s.payload), CPU: r.cpu, Repeats: repeats}
}
