package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// settle waits until the projections have caught up with the log (readyz) and the whole
// machine is idle (the server, its PostgreSQL, and whatever else runs here), so that neither
// one cell's backlog nor another program bills the next measurement. An idle machine is
// waited for up to cfg.quietWait; after that the measurement goes ahead, and its CPU
// accounting shows the disturbance.
func (r *protoRun) settle(ctx context.Context, cfg protoConfig) error {
	if err := waitFor(ctx, r.server, time.Minute, "readyz", func() bool { return r.site.ready(ctx) }); err != nil {
		return r.withLog(err)
	}
	deadline := time.Now().Add(cfg.quietWait)
	for {
		busy0, idle0 := systemTicks()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		busy1, idle1 := systemTicks()
		if total := busy1 - busy0 + idle1 - idle0; total <= 0 || float64(busy1-busy0)/float64(total) < 0.1 {
			return nil // under 10% of all CPUs busy
		}
		if time.Now().After(deadline) {
			r.log.Warn("the machine is still busy; measuring anyway", "waited", cfg.quietWait)
			return nil
		}
	}
}

// attempt runs fn after settling, and again (up to cfg.retries times) while other
// processes took more than disturbedCores during it. It keeps the least disturbed result.
func (r *protoRun) attempt(ctx context.Context, cfg protoConfig, what string, fn func() (loadResult, error)) (loadResult, int, error) {
	var best loadResult
	tries := 0
	for tries <= cfg.retries {
		if err := r.settle(ctx, cfg); err != nil {
			return best, tries, err
		}
		tries++
		res, err := fn()
		if err != nil {
			return res, tries, err
		}
		if tries == 1 || res.cpu.Other < best.cpu.Other {
			best = res
		}
		if res.cpu.Other <= disturbedCores {
			break
		}
		r.log.Warn("other processes used the CPUs during the measurement", "what", what,
			"other_cores", fmt.Sprintf("%.2f", res.cpu.Other), "attempt", tries)
	}
	return best, tries, nil
}

// protoRounds is how many alternating slices each cell is timed in.
const protoRounds = 5

// slicer is what a round times: a session of connections to an endpoint, or the RS256
// signer.
type slicer interface {
	warm(ctx context.Context, d time.Duration) int64 // returns the 2xx answers
	slice(ctx context.Context, d time.Duration) (loadResult, error)
	close()
}

// cellSeries is one cell at one connection count, accumulated over its slices.
type cellSeries struct {
	name    string
	s       slicer
	token   bool // it issues tokens (they are counted against the log)
	res     loadResult
	repeats int
}

// measure times, for each connection count, the RS256 ceiling, the bare fiber ceiling and
// the endpoints: each warmed up once, then timed in protoRounds slices of
// duration/protoRounds that take turns (the order rotating), so that a ratio compares
// numbers taken over the same half minute. The RS256 ceiling adds up its slices of every
// connection count.
func (r *protoRun) measure(ctx context.Context, cfg protoConfig, rp *protoReport, jwtCl, opaqueCl registered, claims []byte, opaque string) error {
	probe := &cpuProbe{server: r.server.pid, pgDir: r.pgDir}
	signer, err := newRS256Signer(claims, probe)
	if err != nil {
		return err
	}
	cells := []struct {
		name string
		rq   request
	}{
		{cellTokenJWT, request{method: http.MethodPost, path: "/oauth/token", body: tokenBody, auth: basicAuth(jwtCl)}},
		{cellTokenOpaque, request{method: http.MethodPost, path: "/oauth/token", body: tokenBody, auth: basicAuth(opaqueCl)}},
		{cellIntrospect, request{method: http.MethodPost, path: "/oauth/introspect", body: "token=" + url.QueryEscape(opaque),
			auth: basicAuth(opaqueCl)}},
		{cellJWKS, request{method: http.MethodGet, path: "/.well-known/jwks.json"}},
	}
	server := &loadGen{addr: fmt.Sprintf("127.0.0.1:%d", r.site.port), host: r.site.host, cpu: probe}
	bareAddr := fmt.Sprintf("127.0.0.1:%d", r.barePort)
	bare := &loadGen{addr: bareAddr, host: bareAddr, cpu: &cpuProbe{server: r.bare.pid, pgDir: r.pgDir}}
	var signed loadResult
	signRepeats := 0
	for _, n := range cfg.connections {
		ss := []*cellSeries{{name: ceilingRS256, s: signer},
			{name: cellBare, s: bare.open(request{method: http.MethodGet, path: barePath}, n)}}
		for _, c := range cells {
			if cfg.cells == nil || cfg.cells[c.name] {
				ss = append(ss, &cellSeries{name: c.name, s: server.open(c.rq, n), token: c.rq.path == "/oauth/token"})
			}
		}
		err := r.rounds(ctx, cfg, n, ss)
		for _, x := range ss {
			x.s.close()
		}
		if err != nil {
			return err
		}
		signed.merge(ss[0].res)
		signRepeats += ss[0].repeats
		for _, x := range ss[1:] {
			x.res.sorted()
			rp.add(x.name, n, x.res, x.repeats)
		}
	}
	rp.RS256 = signer.result(signed, signRepeats)
	return r.settle(ctx, cfg)
}

// rounds warms up every series at n connections and times them in alternating slices.
func (r *protoRun) rounds(ctx context.Context, cfg protoConfig, n int, ss []*cellSeries) error {
	for _, x := range ss {
		if err := r.settle(ctx, cfg); err != nil {
			return err
		}
		r.log.Info("warming up", "cell", x.name, "connections", n, "for", cfg.warmup)
		if got := x.s.warm(ctx, cfg.warmup); x.token {
			r.issued += got
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	d := cfg.duration / protoRounds
	r.log.Info("measuring", "connections", n, "cells", len(ss), "slices", protoRounds, "of", d)
	for i := range protoRounds {
		for j := range ss {
			x := ss[(i+j)%len(ss)]
			res, tries, err := r.attempt(ctx, cfg, fmt.Sprintf("%s x%d", x.name, n), func() (loadResult, error) {
				res, err := x.s.slice(ctx, d)
				if x.token {
					r.issued += res.ok
				}
				return res, err
			})
			if err != nil {
				return r.withLog(fmt.Errorf("%s x%d: %w", x.name, n, err))
			}
			x.res.merge(res)
			x.repeats += tries - 1
		}
	}
	return nil
}
