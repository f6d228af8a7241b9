// Command cli-login signs a user in to Paylent from a terminal, as a public OAuth client
// (no secret: a program on someone's machine cannot keep one) with the Authorization Code
// flow, PKCE (S256), state and nonce, and a loopback redirect URI (RFC 8252 §7.3): it
// listens on http://127.0.0.1:<port>/callback, opens the browser on Paylent's login page,
// receives the code, exchanges it, verifies the ID token, prints the granted scopes, and
// saves the tokens in the user's configuration directory, readable only by the user.
//
//	go run ./examples/cli-login --client-id CLIENT_ID
//
// See README.md for registering the client.
package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// options are the command line's.
type options struct {
	issuer, clientID, scope, tokenFile string
	port                               int
	noBrowser                          bool
	timeout                            time.Duration
}

func main() {
	opts, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cli-login:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	open := openBrowser
	if opts.noBrowser {
		open = func(string) error { return errors.New("--no-browser") }
	}
	if err := login(ctx, opts, os.Stdout, open); err != nil {
		fmt.Fprintln(os.Stderr, "cli-login:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("cli-login", flag.ContinueOnError)
	fs.SetOutput(stderr)
	issuer := getenv("PAYLENT_ISSUER")
	if issuer == "" {
		issuer = "http://examples-dev.localhost:4000"
	}
	fs.StringVar(&o.issuer, "issuer", issuer, "the Paylent environment's issuer (env PAYLENT_ISSUER)")
	fs.StringVar(&o.clientID, "client-id", getenv("CLIENT_ID"), "the public client's id (env CLIENT_ID)")
	fs.IntVar(&o.port, "port", 0, "loopback port of the redirect URI http://127.0.0.1:PORT/callback (0: any free port; register http://127.0.0.1/callback)")
	fs.StringVar(&o.scope, "scope", "openid profile", "space-separated scopes to ask for")
	fs.StringVar(&o.tokenFile, "token-file", "", "where to save the tokens (default: <user config dir>/paylent-cli-login/tokens.json)")
	fs.BoolVar(&o.noBrowser, "no-browser", false, "do not open a browser; only print the URL to visit")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for the login in the browser")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var errs []error
	if o.clientID == "" {
		errs = append(errs, errors.New("--client-id (or CLIENT_ID) is required: register a public client as README.md shows"))
	}
	if o.port < 0 || o.port > 65535 {
		errs = append(errs, fmt.Errorf("--port %d is not a TCP port", o.port))
	}
	if o.tokenFile == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			errs = append(errs, fmt.Errorf("no user configuration directory (%w): give --token-file", err))
		}
		o.tokenFile = filepath.Join(dir, "paylent-cli-login", "tokens.json")
	}
	o.issuer = strings.TrimSuffix(o.issuer, "/")
	return o, errors.Join(errs...)
}

// callbackResult is what the redirect brought back.
type callbackResult struct {
	code string
	err  error
}

// login runs the whole flow. open is asked to show the authorization URL in a browser; the
// URL is printed too, so the user can open it by hand when that fails.
func login(ctx context.Context, o options, out io.Writer, open func(string) error) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	hc := newHTTPClient()
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, hc), o.issuer)
	if err != nil {
		return fmt.Errorf("read Paylent's discovery document at %s: %w", o.issuer, err)
	}
	// RFC 8252 §7.3: the loopback IP literal, not "localhost" (which may resolve elsewhere
	// or to IPv6 only), on a port the system picks; Paylent accepts any port for a
	// registered http://127.0.0.1/callback.
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", o.port))
	if err != nil {
		return fmt.Errorf("listen for the redirect on 127.0.0.1:%d: %w", o.port, err)
	}
	redirect := fmt.Sprintf("http://127.0.0.1:%d/callback", ln.Addr().(*net.TCPAddr).Port)
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInParams // a public client: client_id in the form, no secret
	conf := oauth2.Config{ClientID: o.clientID, Endpoint: endpoint, RedirectURL: redirect, Scopes: strings.Fields(o.scope)}
	state, nonce, verifier := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()

	results := make(chan callbackResult, 1)
	srv := &http.Server{Handler: callbackHandler(o.issuer, state, results), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // closed below
	defer srv.Close()

	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	if err := open(authURL); err != nil {
		fmt.Fprintf(out, "Open this address in your browser to sign in:\n\n  %s\n\n", authURL)
	} else {
		fmt.Fprintf(out, "Your browser has been opened to sign in. If it did not open, visit:\n\n  %s\n\n", authURL)
	}
	fmt.Fprintf(out, "Waiting for the browser to come back to %s ...\n", redirect)
	var res callbackResult
	select {
	case res = <-results:
	case <-ctx.Done():
		return fmt.Errorf("no login: %w", ctx.Err())
	}
	if res.err != nil {
		return res.err
	}
	tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, hc), res.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return fmt.Errorf("exchange the code: %w", err)
	}
	who, err := verifyIDToken(ctx, provider.Verifier(&oidc.Config{ClientID: o.clientID}), tok, nonce)
	if err != nil {
		return fmt.Errorf("ID token: %w", err)
	}
	granted, _ := tok.Extra("scope").(string)
	if granted == "" {
		granted = o.scope // RFC 6749 §5.1: omitted when it is what was asked for
	}
	if err := saveTokens(o.tokenFile, savedTokens{Issuer: o.issuer, ClientID: o.clientID, Scope: granted, Subject: who.subject,
		AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, IDToken: who.raw, Expiry: tok.Expiry}); err != nil {
		return err
	}
	name := who.name
	if name == "" {
		name = who.subject
	}
	fmt.Fprintf(out, "Signed in as %s.\nGranted scopes: %s\nTokens saved to %s (readable only by you).\n", name, granted, o.tokenFile)
	return nil
}

// callbackHandler answers the redirect. Only a callback carrying our state counts: anything
// else (another program, a forged link) gets an error page and the login keeps waiting.
func callbackHandler(issuer, state string, results chan<- callbackResult) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, page("Sign-in refused", "This answer does not belong to the sign-in started in your terminal."))
			return
		}
		var res callbackResult
		switch {
		case q.Has("iss") && q.Get("iss") != issuer: // RFC 9207
			res.err = errors.New("the answer came from another issuer")
		case q.Get("error") != "":
			res.err = fmt.Errorf("Paylent answered %s: %s", q.Get("error"), q.Get("error_description"))
		case q.Get("code") == "":
			res.err = errors.New("the answer has no code")
		default:
			res.code = q.Get("code")
		}
		select {
		case results <- res:
		default: // a second answer for the same state: the first one counts
		}
		if res.err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, page("Sign-in failed", "Return to your terminal to see why."))
			return
		}
		fmt.Fprint(w, page("Signed in", "You can close this tab and return to your terminal."))
	})
	return mux
}

// page is a minimal, self-contained HTML page (the texts are constants).
func page(title, text string) string {
	return `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
		`<title>` + title + `</title><body style="font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto">` +
		`<h1 id="result">` + title + `</h1><p>` + text + `</p></body></html>`
}
