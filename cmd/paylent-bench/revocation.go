package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/paylent/paylent/resourceserver"
)

// revocationSubject is where a resource server learns that a token of the environment was
// revoked (docs/EVENTS.md).
const revocationSubject = "paylent.events." + benchEnv + ".token.revoked"

// latencies summarises a sample in milliseconds.
type latencies struct {
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func summarise(sample []time.Duration) latencies {
	if len(sample) == 0 {
		return latencies{}
	}
	s := slices.Sorted(slices.Values(sample))
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	q := func(p float64) float64 { return ms(s[int(p*float64(len(s)-1))]) }
	return latencies{P50: q(0.50), P99: q(0.99), Max: ms(s[len(s)-1])}
}

// revocationResult is the revocation-to-subscriber latency.
type revocationResult struct {
	Revocations int `json:"revocations"`
	// NATS runs from just before the revocation request is sent until token.revoked with
	// the token's jti arrives at a plain NATS subscriber.
	NATS latencies `json:"to_nats_subscriber"`
	// HTTP runs from the same instant until the 200 answer to the revocation.
	HTTP latencies `json:"to_http_answer"`
	// Missing counts revocations whose event did not arrive within 5 s.
	Missing int `json:"missing"`
}

// revocationWatch is a plain NATS subscriber to the environment's token.revoked events, as a
// resource server would have, that reports when the event of a given jti arrives.
type revocationWatch struct {
	nc      *nats.Conn
	mu      sync.Mutex
	waiting map[string]chan time.Time
}

func watchRevocations(natsURL, creds string) (*revocationWatch, error) {
	key, err := resourceserver.NATSCredentials(creds)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(natsURL, key, nats.Name("paylent-bench revocation subscriber"))
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", natsURL, err)
	}
	w := &revocationWatch{nc: nc, waiting: map[string]chan time.Time{}}
	if _, err := nc.Subscribe(revocationSubject, w.receive); err != nil {
		nc.Close()
		return nil, err
	}
	if err := nc.Flush(); err != nil {
		nc.Close()
		return nil, err
	}
	return w, nil
}

func (w *revocationWatch) receive(m *nats.Msg) {
	at := time.Now()
	var env struct {
		Data struct {
			JTI string `json:"jti"`
		} `json:"data"`
	}
	if json.Unmarshal(m.Data, &env) != nil {
		return
	}
	w.mu.Lock()
	ch := w.waiting[env.Data.JTI]
	delete(w.waiting, env.Data.JTI)
	w.mu.Unlock()
	if ch != nil {
		ch <- at
	}
}

// expect returns a channel that receives the arrival time of jti's revocation.
func (w *revocationWatch) expect(jti string) <-chan time.Time {
	ch := make(chan time.Time, 1)
	w.mu.Lock()
	w.waiting[jti] = ch
	w.mu.Unlock()
	return ch
}

// measureRevocation issues a JWT and revokes it, n times in a row with a short pause, and
// times the revocation's arrival at a NATS subscriber of the embedded server, connected with
// the subscriber credential (creds) as a downstream service is. It returns the tokens issued,
// for the event count.
func measureRevocation(ctx context.Context, s *site, natsURL, creds string, cl registered, n int) (revocationResult, int64, error) {
	w, err := watchRevocations(natsURL, creds)
	if err != nil {
		return revocationResult{}, 0, err
	}
	defer w.nc.Close()
	auth := basicAuth(cl)
	var res revocationResult
	var issued int64
	var toNATS, toHTTP []time.Duration
	for range n {
		tok, err := s.issue(ctx, auth)
		if err != nil {
			return res, issued, err
		}
		issued++
		jti, err := jwtID(tok)
		if err != nil {
			return res, issued, err
		}
		arrived := w.expect(jti)
		t0 := time.Now()
		code, body, err := s.do(ctx, http.MethodPost, "/oauth/revoke", "token="+url.QueryEscape(tok), auth)
		answered := time.Since(t0)
		if err != nil || code != http.StatusOK {
			return res, issued, fmt.Errorf("revoke: %d %s %v", code, body, err)
		}
		toHTTP = append(toHTTP, answered)
		select {
		case at := <-arrived:
			toNATS = append(toNATS, at.Sub(t0))
		case <-time.After(5 * time.Second):
			res.Missing++
		case <-ctx.Done():
			return res, issued, ctx.Err()
		}
		res.Revocations++
		time.Sleep(20 * time.Millisecond)
	}
	res.NATS, res.HTTP = summarise(toNATS), summarise(toHTTP)
	return res, issued, nil
}

// issue asks for a client_credentials token and returns it.
func (s *site) issue(ctx context.Context, auth string) (string, error) {
	code, body, err := s.do(ctx, http.MethodPost, "/oauth/token", tokenBody, auth)
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err != nil || code != http.StatusOK || json.Unmarshal(body, &tr) != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("token request: %d %.300s %v", code, body, err)
	}
	return tr.AccessToken, nil
}

// jwtClaims returns the decoded claims (payload) of a compact JWS.
func jwtClaims(tok string) ([]byte, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	return base64.RawURLEncoding.DecodeString(parts[1])
}

func jwtID(tok string) (string, error) {
	payload, err := jwtClaims(tok)
	if err != nil {
		return "", err
	}
	var c struct {
		JTI string `json:"jti"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.JTI == "" {
		return "", fmt.Errorf("access token has no jti: %v", err)
	}
	return c.JTI, nil
}

// basicAuth is RFC 6749 §2.3.1's client_secret_basic.
func basicAuth(cl registered) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(cl.ID)+":"+url.QueryEscape(cl.Secret)))
}

// eventCheck compares the tokens the server handed out with the token.issued events in its
// log: every issued token must be an event.
type eventCheck struct {
	TokensIssued int64 `json:"tokens_issued"`
	IssuedEvents int64 `json:"token_issued_events"`
	RevokeEvents int64 `json:"token_revoked_events"`
}

// countEvents reads the environment's whole log with `paylent events` and counts token
// events.
func countEvents(ctx context.Context, bin string, env []string) (issued, revoked int64, err error) {
	cmd := exec.CommandContext(ctx, bin, "events", "--env", benchEnv)
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			cmd.Process.Kill() //nolint:errcheck // we stop reading
			cmd.Wait()         //nolint:errcheck // the decode error is the news
			return 0, 0, fmt.Errorf("paylent events: not NDJSON: %w", err)
		}
		switch e.Type {
		case "token.issued":
			issued++
		case "token.revoked":
			revoked++
		}
	}
	if err := errors.Join(sc.Err(), cmd.Wait()); err != nil {
		return 0, 0, fmt.Errorf("paylent events: %w\n%s", err, stderr.String())
	}
	return issued, revoked, nil
}
