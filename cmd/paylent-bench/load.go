package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// request is the one request a cell sends over and over, built once.
type request struct {
	method, path, body, auth string
}

// loadResult is what one or more timed slices of a closed loop measured.
type loadResult struct {
	ok, errors int64
	elapsed    time.Duration
	latencies  []time.Duration // of the 2xx answers; sorted() before quantile
	firstError string
	cpu        cpuUse
}

func (r loadResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ok) / r.elapsed.Seconds()
}

func (r loadResult) quantile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[int(p*float64(len(r.latencies)-1))]
}

// loadGen drives one HTTP server on loopback: each of N workers owns one keep-alive
// HTTP/1.1 connection to addr (fasthttp, so that the generator leaves as much of the shared
// CPUs to the server as it can) and sends the next request as soon as the answer is in.
type loadGen struct {
	addr string // 127.0.0.1:port, dialled
	host string // sent as Host
	cpu  *cpuProbe
}

// worker is one connection's closed loop.
type worker struct {
	hc         *fasthttp.HostClient
	req        *fasthttp.Request
	resp       *fasthttp.Response
	lat        []time.Duration
	ok, errors int64
	warmOK     int64 // 2xx answers during the warm-up
	firstError string
}

func (g *loadGen) newWorker(rq request) *worker {
	w := &worker{
		hc: &fasthttp.HostClient{Addr: g.addr, MaxConns: 1, MaxIdemponentCallAttempts: 1,
			NoDefaultUserAgentHeader: true, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
			MaxConnWaitTimeout: 10 * time.Second, MaxIdleConnDuration: time.Minute},
		req: fasthttp.AcquireRequest(), resp: fasthttp.AcquireResponse(),
		lat: make([]time.Duration, 0, 1<<14),
	}
	w.req.SetRequestURI("http://" + g.host + rq.path)
	w.req.Header.SetMethod(rq.method)
	w.req.Header.SetUserAgent("paylent-bench")
	if rq.auth != "" {
		w.req.Header.Set(fasthttp.HeaderAuthorization, rq.auth)
	}
	if rq.body != "" {
		w.req.Header.SetContentType("application/x-www-form-urlencoded")
		w.req.SetBodyString(rq.body)
	}
	return w
}

// loop sends requests until deadline; record keeps latencies and counts.
func (w *worker) loop(ctx context.Context, deadline time.Time, record bool) {
	for ctx.Err() == nil && time.Now().Before(deadline) {
		t0 := time.Now()
		err := w.hc.Do(w.req, w.resp)
		d := time.Since(t0)
		if !record {
			if code := w.resp.StatusCode(); err == nil && code >= 200 && code <= 299 {
				w.warmOK++
			} else if err != nil {
				time.Sleep(10 * time.Millisecond)
			}
			continue
		}
		switch code := w.resp.StatusCode(); {
		case err != nil:
			w.fail(err.Error())
			time.Sleep(10 * time.Millisecond) // do not spin on a dead server
		case code < 200 || code > 299:
			w.fail(fmt.Sprintf("HTTP %d %.200s", code, w.resp.Body()))
		default:
			w.ok++
			w.lat = append(w.lat, d)
		}
	}
}

func (w *worker) fail(what string) {
	if w.errors == 0 {
		w.firstError = what
	}
	w.errors++
}

func (w *worker) close() {
	w.hc.CloseIdleConnections()
	fasthttp.ReleaseRequest(w.req)
	fasthttp.ReleaseResponse(w.resp)
}

// session is conns open connections of a loadGen to one endpoint. It is warmed up once and
// then timed in slices that alternate with other sessions (so that an endpoint and its
// ceiling see the same drift of a shared virtual machine).
type session struct {
	g  *loadGen
	ws []*worker
}

func (g *loadGen) open(rq request, conns int) *session {
	s := &session{g: g, ws: make([]*worker, conns)}
	for i := range s.ws {
		s.ws[i] = g.newWorker(rq)
	}
	return s
}

func (s *session) close() {
	for _, w := range s.ws {
		w.close()
	}
}

// phase runs every connection's loop for d and returns when the last answer is in.
func (s *session) phase(ctx context.Context, d time.Duration, record bool) time.Duration {
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for _, w := range s.ws {
		wg.Go(func() { w.loop(ctx, deadline, record) })
	}
	wg.Wait()
	return time.Since(start)
}

// warm runs the connections untimed for d and returns the 2xx answers.
func (s *session) warm(ctx context.Context, d time.Duration) int64 {
	s.phase(ctx, d, false)
	var n int64
	for _, w := range s.ws {
		n, w.warmOK = n+w.warmOK, 0
	}
	return n
}

// slice times the connections for d. The elapsed time runs until the last request in
// flight is answered.
func (s *session) slice(ctx context.Context, d time.Duration) (loadResult, error) {
	before := s.g.cpu.sample()
	elapsed := s.phase(ctx, d, true)
	r := loadResult{elapsed: elapsed, cpu: s.g.cpu.since(before)}
	for _, w := range s.ws {
		r.ok += w.ok
		r.errors += w.errors
		r.latencies = append(r.latencies, w.lat...)
		if r.firstError == "" {
			r.firstError = w.firstError
		}
		w.ok, w.errors, w.lat, w.firstError = 0, 0, w.lat[:0], ""
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	if r.ok == 0 {
		return r, errors.New("no request succeeded: " + r.firstError)
	}
	return r, nil
}

// merge adds slice o to r; CPU use is averaged over the time.
func (r *loadResult) merge(o loadResult) {
	a, b := r.elapsed.Seconds(), o.elapsed.Seconds()
	if a+b > 0 {
		w := func(x, y float64) float64 { return (x*a + y*b) / (a + b) }
		r.cpu = cpuUse{Server: w(r.cpu.Server, o.cpu.Server), Postgres: w(r.cpu.Postgres, o.cpu.Postgres),
			Generator: w(r.cpu.Generator, o.cpu.Generator), Other: w(r.cpu.Other, o.cpu.Other), Idle: w(r.cpu.Idle, o.cpu.Idle)}
	}
	r.ok += o.ok
	r.errors += o.errors
	r.elapsed += o.elapsed
	r.latencies = append(r.latencies, o.latencies...)
	if r.firstError == "" {
		r.firstError = o.firstError
	}
}

// sorted sorts the latencies, for quantiles.
func (r *loadResult) sorted() { slices.Sort(r.latencies) }
