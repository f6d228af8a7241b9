// Command client-and-api-go is Paylent's example of a third-party web application and the API
// it calls, in one program:
//
//   - the "Third-Party Documents App" on http://localhost:3000, a confidential OAuth client
//     that signs people in with Paylent (Authorization Code with PKCE, state and nonce),
//     keeps their tokens on the server, refreshes them, and logs out (revocation and
//     RP-initiated logout); it uses golang.org/x/oauth2 and github.com/coreos/go-oidc/v3;
//   - the Documents API on http://localhost:4100, a resource server protected by Paylent
//     access tokens with github.com/paylent/paylent/resourceserver.
//
// It uses Paylent only as any outsider would: over HTTP (and NATS for revocation events).
// Configuration comes from environment variables or a .env file; see README.md.
//
//	cd examples/client-and-api-go && go run .
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := loadConfig(os.LookupEnv, ".env")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("stopped", "err", err)
		os.Exit(1)
	}
}

// run serves the app and the API until ctx ends or one of them fails.
func run(ctx context.Context, cfg config, log *slog.Logger) error {
	a, err := start(ctx, cfg, log)
	if err != nil {
		return err
	}
	return a.wait(ctx)
}

// example is the two servers, running.
type example struct {
	client  *webClient
	api     *documentsAPI
	servers []*http.Server
	failed  chan error
	log     *slog.Logger
}

// start listens on both addresses, reads Paylent's discovery document and keys, and serves
// in the background.
func start(ctx context.Context, cfg config, log *slog.Logger) (*example, error) {
	var lc net.ListenConfig
	apiLn, err := lc.Listen(ctx, "tcp", cfg.APIAddr)
	if err != nil {
		return nil, fmt.Errorf("API_ADDR: %w", err)
	}
	clientLn, err := lc.Listen(ctx, "tcp", cfg.ClientAddr)
	if err != nil {
		apiLn.Close()
		return nil, fmt.Errorf("CLIENT_ADDR: %w", err)
	}
	hc := newHTTPClient()
	api, err := newDocumentsAPI(ctx, cfg, hc, log.With("component", "api"))
	if err != nil {
		apiLn.Close()
		clientLn.Close()
		return nil, err
	}
	client, err := newWebClient(ctx, cfg, hc, log.With("component", "client"))
	if err != nil {
		api.close()
		apiLn.Close()
		clientLn.Close()
		return nil, err
	}
	e := &example{client: client, api: api, failed: make(chan error, 2), log: log}
	for _, s := range []struct {
		ln net.Listener
		h  http.Handler
	}{{apiLn, api.handler()}, {clientLn, client.handler()}} {
		srv := &http.Server{Handler: s.h, ReadHeaderTimeout: 10 * time.Second}
		e.servers = append(e.servers, srv)
		go func() {
			if err := srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
				e.failed <- err
			}
		}()
	}
	log.Info("Documents API is serving", "addr", apiLn.Addr().String(), "identifier", cfg.APIIdentifier)
	log.Info("Third-Party Documents App is serving: open it in a browser", "url", cfg.ClientURL, "addr", clientLn.Addr().String(),
		"issuer", cfg.Issuer)
	return e, nil
}

// wait serves until ctx ends or a server fails, then shuts both down.
func (e *example) wait(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-e.failed:
	}
	e.stop()
	return err
}

// stop shuts both servers down (in-flight requests get 5 s) and ends the revocation watch.
func (e *example) stop() {
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range e.servers {
		if err := srv.Shutdown(shutdown); err != nil {
			e.log.Warn("shutdown", "err", err)
		}
	}
	e.api.close()
}
