package main_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// clusterLoad is a bounded, steady load on the cluster's instances: client-credentials
// tokens (a third of them revoked at once on another instance), and clients and users
// created through the Management API. It records every 2xx so that the test can find each
// one's event afterwards; everything else (refusals while a fault lasts) is only counted.
type clusterLoad struct {
	env    string
	client registered
	mgmt   string // Management API bearer token

	mu       sync.Mutex
	insts    []*clusterInstance
	down     map[int]bool
	next     int
	issued   map[string]string // jti → token
	revoked  []string          // jti
	clients  map[int64]string  // position → client_id
	users    map[int64]string  // position → user_id
	ok       int
	phase    string         // what the cluster is going through, for the failures' keys
	failures map[string]int // "phase: op status" → count
}

func newClusterLoad(env string, client registered, mgmt string, insts []*clusterInstance) *clusterLoad {
	return &clusterLoad{env: env, client: client, mgmt: mgmt, insts: insts, down: map[int]bool{}, phase: "steady",
		issued: map[string]string{}, clients: map[int64]string{}, users: map[int64]string{}, failures: map[string]int{}}
}

// run sends up to maxOps operations, rate per second, over workers goroutines, until ctx ends.
func (l *clusterLoad) run(ctx context.Context, maxOps, rate, workers int) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				l.op(n)
			}
		}()
	}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer func() {
		tick.Stop()
		close(jobs)
		wg.Wait()
	}()
	for n := 0; n < maxOps; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		select {
		case <-ctx.Done():
			return
		case jobs <- n:
		}
	}
}

// pick returns a live instance, round robin, and the one after it (for revocations).
func (l *clusterLoad) pick() (*clusterInstance, *clusterInstance) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var live []*clusterInstance
	for i, ci := range l.insts {
		if !l.down[i] {
			live = append(live, ci)
		}
	}
	l.next++
	return live[l.next%len(live)], live[(l.next+1)%len(live)]
}

// setDown takes an instance out of (or back into) the rotation.
func (l *clusterLoad) setDown(i int, down bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down[i] = down
}

func (l *clusterLoad) op(n int) {
	a, b := l.pick()
	switch {
	case n%20 == 0:
		body := fmt.Sprintf(`{"name":"load %d","type":"confidential","grant_types":["client_credentials"]}`, n)
		code, m := a.do("POST", l.env, "/api/v1/clients", "application/json", body, "Bearer "+l.mgmt)
		c, _ := m["client"].(map[string]any)
		if pos, _ := m["position"].(float64); code == 201 && c != nil && pos > 0 {
			l.record(func() { l.clients[int64(pos)], _ = c["client_id"].(string) })
			return
		}
		l.fail("client", code)
	case n%20 == 10:
		body := fmt.Sprintf(`{"email":"load-%d@example.com","name":"Load %d","password":"a long passphrase %d"}`, n, n, n)
		code, m := a.do("POST", l.env, "/api/v1/users", "application/json", body, "Bearer "+l.mgmt)
		u, _ := m["user"].(map[string]any)
		if pos, _ := m["position"].(float64); code == 201 && u != nil && pos > 0 {
			l.record(func() { l.users[int64(pos)], _ = u["user_id"].(string) })
			return
		}
		l.fail("user", code)
	default:
		tok, code := l.token(a)
		if tok == "" {
			l.fail("token", code)
			return
		}
		jti := jwtID(tok)
		l.record(func() { l.issued[jti] = tok })
		if n%3 != 0 {
			return
		}
		if code := l.revoke(b, tok); code != 200 {
			l.fail("revoke", code)
			return
		}
		l.record(func() { l.revoked = append(l.revoked, jti) })
	}
}

func (l *clusterLoad) token(ci *clusterInstance) (string, int) {
	code, m := ci.do("POST", l.env, "/oauth/token", "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"client_credentials"}}.Encode(), basicAuth(l.client.ID, l.client.Secret))
	tok, _ := m["access_token"].(string)
	if code != 200 {
		tok = ""
	}
	return tok, code
}

func (l *clusterLoad) revoke(ci *clusterInstance, tok string) int {
	code, _ := ci.do("POST", l.env, "/oauth/revoke", "application/x-www-form-urlencoded",
		url.Values{"token": {tok}}.Encode(), basicAuth(l.client.ID, l.client.Secret))
	return code
}

// active introspects tok on an instance: (active, answered).
func (l *clusterLoad) active(ci *clusterInstance, tok string) (bool, bool) {
	code, m := ci.do("POST", l.env, "/oauth/introspect", "application/x-www-form-urlencoded",
		url.Values{"token": {tok}}.Encode(), basicAuth(l.client.ID, l.client.Secret))
	active, _ := m["active"].(bool)
	return active, code == 200
}

func (l *clusterLoad) record(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f()
	l.ok++
}

func (l *clusterLoad) fail(op string, code int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures[fmt.Sprintf("%s: %s %d", l.phase, op, code)]++
}

// during names what the cluster goes through from now on (refusals are counted by phase).
func (l *clusterLoad) during(phase string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.phase = phase
}

func (l *clusterLoad) succeeded() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ok
}

// waitProgress waits until n more operations succeeded: the cluster serves through the fault.
func (l *clusterLoad) waitProgress(t *testing.T, n int, what string) {
	t.Helper()
	from := l.succeeded()
	eventually(t, time.Minute, what+": load goes on", func() bool { return l.succeeded() >= from+n })
}

func (l *clusterLoad) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%d ok (%d tokens, %d revoked, %d clients, %d users); refused or lost, by phase: %v",
		l.ok, len(l.issued), len(l.revoked), len(l.clients), len(l.users), l.failures)
}

// jwtID is the jti claim of a JWT (not verified: the test only matches it with events).
func jwtID(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		JTI string `json:"jti"`
	}
	json.Unmarshal(b, &claims) //nolint:errcheck // an empty jti fails the test later
	return claims.JTI
}
