package main

import (
	"strings"
	"testing"
	"time"
)

func sampleReport() *protoReport {
	rp := &protoReport{Config: protoSettings{Connections: []int{2, 64}}, RS256: signResult{Rate: 2000}}
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	run := func(ok int64, p50, p99 float64, errs int64, other float64) loadResult {
		lat := make([]time.Duration, 100)
		for i := range lat {
			lat[i] = ms(p50)
		}
		lat[98], lat[99] = ms(p99), ms(p99) // the 99th of 100 (index 98) and the maximum
		return loadResult{ok: ok, errors: errs, elapsed: time.Second, latencies: lat, cpu: cpuUse{Other: other},
			firstError: map[bool]string{true: "HTTP 500 boom"}[errs > 0]}
	}
	// Added out of print order: finish sorts.
	rp.add(cellJWKS, 64, run(20_000, 2, 9, 0, 0), 1)
	rp.add(cellBare, 2, run(30_000, 0.05, 0.3, 0, 0), 1)
	rp.add(cellBare, 64, run(50_000, 1, 5, 0, 0.5), 3)
	rp.add(cellTokenJWT, 2, run(300, 6, 12, 0, 0), 1)
	rp.add(cellTokenJWT, 64, run(1_500, 40, 80, 2, 0), 1)
	rp.add(cellJWKS, 2, run(16_000, 0.1, 0.5, 0, 0), 1)
	rp.Revocation = revocationResult{Revocations: 10, NATS: latencies{P50: 3, P99: 5, Max: 6}}
	rp.Events = eventCheck{TokensIssued: 1800, IssuedEvents: 1800}
	rp.finish()
	return rp
}

func TestProtocolRatiosAndTargets(t *testing.T) {
	rp := sampleReport()
	var order []string
	for _, c := range rp.Cells {
		order = append(order, c.Name+"/"+c.Ceiling)
	}
	want := "bare fiber/,bare fiber/,token jwt/RS256 signatures/s,token jwt/RS256 signatures/s,jwks/bare fiber x2,jwks/bare fiber x64"
	if got := strings.Join(order, ","); got != want {
		t.Errorf("cells = %s\nwant    %s", got, want)
	}
	if c, _ := rp.find(cellTokenJWT, 64); c.Ratio != 0.75 {
		t.Errorf("token jwt x64 ratio = %v, want 0.75 (1500 / 2000)", c.Ratio)
	}
	if c, _ := rp.find(cellJWKS, 2); c.Ratio != 16_000.0/30_000 {
		t.Errorf("jwks x2 ratio = %v, want %v", c.Ratio, 16_000.0/30_000)
	}
	met := map[string]bool{}
	for _, tg := range rp.Targets {
		met[tg.Describe] = tg.Met
	}
	for describe, want := range map[string]bool{
		"token jwt ÷ RS256 ceiling (best: x64)":  true,
		"jwks ÷ bare fiber, x2":                  true,
		"jwks ÷ bare fiber, x64":                 false, // 0.40
		"p99 of token jwt, x64":                  false, // 80 ms
		"p99 of jwks, x64":                       true,
		"p99 revoke request → NATS subscriber":   true,
		"token.issued events ≥ tokens issued":    true,
		"failed requests (non-2xx or no answer)": false,
	} {
		got, ok := met[describe]
		if !ok || got != want {
			t.Errorf("target %q: met = %v (present %v), want %v", describe, got, ok, want)
		}
	}
	if _, ok := met["p99 of token opaque, x64"]; ok {
		t.Error("a target for a cell that was not measured")
	}
}

func TestProtocolReportText(t *testing.T) {
	var b strings.Builder
	sampleReport().writeText(&b)
	out := b.String()
	for _, want := range []string{
		"| token jwt  |    64 |  1,500 |  40.00 |  80.00 |      2 | 0.75 × RS256 signatures/s |",
		"| bare fiber |    64 | 50,000 |   1.00 |   5.00 |      0 | (ceiling) †               |",
		"**This run had errors.** token jwt x64: 2 failed, first: HTTP 500 boom",
		"† Disturbed: other processes used more than 0.15 cores during bare fiber x64",
		"| p99 of token jwt, x64                  |     ≤ 25.00 ms |     80.00 ms | MISS   |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		if n := strings.Count(line, "|"); n != 9 && n != 6 && n != 5 {
			t.Errorf("ragged row (%d bars): %q", n, line)
		}
	}
}

func TestProcTicks(t *testing.T) {
	ppid, ticks := procTicks("self")
	if ppid <= 0 || ticks < 0 {
		t.Skipf("no /proc here: ppid %d, ticks %d", ppid, ticks)
	}
	if busy, idle := systemTicks(); busy <= 0 || idle <= 0 {
		t.Errorf("systemTicks = %d, %d", busy, idle)
	}
}

func TestSummarise(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	if got := summarise(s); got != (latencies{P50: 50, P99: 99, Max: 100}) {
		t.Errorf("summarise = %+v", got)
	}
}
