package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The cells of the protocol suite, in print order.
const (
	cellBare        = "bare fiber"
	cellTokenJWT    = "token jwt"
	cellTokenOpaque = "token opaque"
	cellIntrospect  = "introspect opaque"
	cellJWKS        = "jwks"
	ceilingRS256    = "RS256 signatures/s"
)

var cellOrder = []string{cellBare, cellTokenJWT, cellTokenOpaque, cellIntrospect, cellJWKS}

// cell is one endpoint (or the bare handler) at one connection count.
type cell struct {
	Name        string  `json:"cell"`
	Connections int     `json:"connections"`
	Requests    int64   `json:"requests"` // answered 2xx while timed
	Errors      int64   `json:"errors"`   // answered otherwise, or not at all
	FirstError  string  `json:"first_error,omitempty"`
	Seconds     float64 `json:"seconds"`
	Rate        float64 `json:"requests_per_second"`
	P50         float64 `json:"p50_ms"`
	P99         float64 `json:"p99_ms"`
	Ceiling     string  `json:"ceiling,omitempty"`
	CeilingRate float64 `json:"ceiling_rate,omitempty"`
	Ratio       float64 `json:"ratio_to_ceiling,omitempty"`
	IsCeiling   bool    `json:"is_ceiling,omitempty"`
	CPU         cpuUse  `json:"cpu_cores"`
	// Repeats counts slices measured again because other processes disturbed them (the
	// least disturbed attempt of a slice is kept).
	Repeats int `json:"repeated_slices"`
}

// hostMachine describes where the protocol suite ran.
type hostMachine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	Memory   string `json:"memory"`
	Kernel   string `json:"kernel"`
	Go       string `json:"go"`
	Date     string `json:"date"`
}

func hostInfo() hostMachine {
	m := hostMachine{CPUs: runtime.NumCPU(), CPUModel: procField("/proc/cpuinfo", "model name"), Memory: "unknown",
		Kernel: strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")),
		Go:     runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		Date:   time.Now().UTC().Format("2006-01-02 15:04 UTC")}
	if kb, err := strconv.ParseFloat(strings.Fields(procField("/proc/meminfo", "MemTotal") + " 0")[0], 64); err == nil && kb > 0 {
		m.Memory = fmt.Sprintf("%.0f GiB", kb/(1<<20))
	}
	return m
}

type protoSettings struct {
	Duration       float64 `json:"seconds_per_cell"`
	Warmup         float64 `json:"warmup_seconds"`
	Slices         int     `json:"slices_per_cell"`
	Connections    []int   `json:"connections"`
	ServerLogLevel string  `json:"server_log_level"`
	Revocations    int     `json:"revocations"`
	ClaimsBytes    int     `json:"access_token_claims_bytes"`
}

// protoReport is everything one protocol run measured.
type protoReport struct {
	Machine    hostMachine      `json:"machine"`
	Config     protoSettings    `json:"config"`
	RS256      signResult       `json:"rs256_ceiling"`
	Cells      []cell           `json:"cells"`
	Revocation revocationResult `json:"revocation"`
	Events     eventCheck       `json:"events"`
	Targets    []target         `json:"targets"`
}

func (rp *protoReport) add(name string, conns int, r loadResult, repeats int) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	rp.Cells = append(rp.Cells, cell{Name: name, Connections: conns, Requests: r.ok, Errors: r.errors,
		FirstError: r.firstError, Seconds: r.elapsed.Seconds(), Rate: r.rate(), P50: ms(r.quantile(0.50)),
		P99: ms(r.quantile(0.99)), IsCeiling: name == cellBare, CPU: r.cpu, Repeats: repeats})
}

func (rp *protoReport) find(name string, conns int) (cell, bool) {
	for _, c := range rp.Cells {
		if c.Name == name && c.Connections == conns {
			return c, true
		}
	}
	return cell{}, false
}

// finish relates every cell to its ceiling and checks the targets.
func (rp *protoReport) finish() {
	slices.SortStableFunc(rp.Cells, func(a, b cell) int {
		if d := slices.Index(cellOrder, a.Name) - slices.Index(cellOrder, b.Name); d != 0 {
			return d
		}
		return slices.Index(rp.Config.Connections, a.Connections) - slices.Index(rp.Config.Connections, b.Connections)
	})
	for i, c := range rp.Cells {
		switch {
		case c.IsCeiling:
			continue
		case c.Name == cellTokenJWT:
			rp.Cells[i].Ceiling, rp.Cells[i].CeilingRate = ceilingRS256, rp.RS256.Rate
		default:
			bare, _ := rp.find(cellBare, c.Connections)
			rp.Cells[i].Ceiling, rp.Cells[i].CeilingRate = fmt.Sprintf("%s x%d", cellBare, c.Connections), bare.Rate
		}
		if rp.Cells[i].CeilingRate > 0 {
			rp.Cells[i].Ratio = c.Rate / rp.Cells[i].CeilingRate
		}
	}
	rp.Targets = rp.targets()
}

func (rp *protoReport) targets() []target {
	var ts []target
	best, found := cell{}, false
	for _, c := range rp.Cells {
		if c.Name == cellTokenJWT && (!found || c.Ratio > best.Ratio) {
			best, found = c, true
		}
	}
	if found {
		ts = append(ts, newTarget("jwt_issuance_share", "x",
			fmt.Sprintf("token jwt ÷ RS256 ceiling (best: x%d)", best.Connections), wantJWTShare, best.Ratio))
	}
	for _, name := range []string{cellIntrospect, cellJWKS} {
		for _, n := range rp.Config.Connections {
			if c, ok := rp.find(name, n); ok {
				ts = append(ts, newTarget(fmt.Sprintf("%s_share_x%d", strings.ReplaceAll(name, " ", "_"), n), "x",
					fmt.Sprintf("%s ÷ bare fiber, x%d", name, n), wantBareShare, c.Ratio))
			}
		}
	}
	n := slices.Max(rp.Config.Connections)
	if slices.Contains(rp.Config.Connections, targetConnections) {
		n = targetConnections
	}
	wantMs := float64(wantP99) / float64(time.Millisecond)
	for _, name := range cellOrder[1:] {
		if c, ok := rp.find(name, n); ok {
			ts = append(ts, newTargetAtMost(strings.ReplaceAll(name, " ", "_")+"_p99", "ms",
				fmt.Sprintf("p99 of %s, x%d", name, n), wantMs, c.P99))
		}
	}
	rev := newTargetAtMost("revocation_p99", "ms", "p99 revoke request → NATS subscriber", wantMs, rp.Revocation.NATS.P99)
	if rp.Revocation.Missing > 0 {
		rev.Met = false
		rev.Describe += fmt.Sprintf(" (%d never arrived)", rp.Revocation.Missing)
	}
	ts = append(ts, rev)
	ts = append(ts, newTarget("token_events", "events", "token.issued events ≥ tokens issued",
		float64(rp.Events.TokensIssued), float64(rp.Events.IssuedEvents)))
	var failed int64
	for _, c := range rp.Cells {
		failed += c.Errors
	}
	return append(ts, newTargetAtMost("failed_requests", "requests", "failed requests (non-2xx or no answer)", 0, float64(failed)))
}

// writeText prints the report as Markdown, ready to paste into docs/BENCHMARKS.md.
func (rp *protoReport) writeText(w io.Writer) {
	m, c := rp.Machine, rp.Config
	fmt.Fprintf(w, "Machine: %d CPUs (%s), %s RAM, %s; %s; %s\n\n", m.CPUs, m.CPUModel, m.Memory, m.Kernel, m.Go, m.Date)
	conns := make([]string, len(c.Connections))
	for i, n := range c.Connections {
		conns[i] = strconv.Itoa(n)
	}
	fmt.Fprintf(w, "Run: each cell warmed up for %gs, then timed for %gs in %d slices that alternate with the other cells "+
		"at the same connection count, at %s connections; server log level %s; access token claims %d bytes.\n\n",
		c.Warmup, c.Duration, c.Slices, strings.Join(conns, ", "), c.ServerLogLevel, c.ClaimsBytes)
	fmt.Fprintf(w, "Ceiling: %s RS256 signatures/s in-process (jws.Sign, precomputed 2048-bit key, %d-byte payload, "+
		"%d goroutines, %.1f s in slices that alternate with the cells).\n\n",
		thousands(rp.RS256.Rate), rp.RS256.PayloadBytes, rp.RS256.Goroutines, rp.RS256.Seconds)
	rows := [][]string{{"cell", "conns", "req/s", "p50 ms", "p99 ms", "errors", "vs ceiling", "CPU cores: tested · pg · gen · other · idle"}}
	var errs, disturbed []string
	for _, x := range rp.Cells {
		vs := "(ceiling)"
		if !x.IsCeiling {
			vs = fmt.Sprintf("%.2f × %s", x.Ratio, x.Ceiling)
		}
		if x.CPU.Other > disturbedCores {
			disturbed = append(disturbed, fmt.Sprintf("%s x%d", x.Name, x.Connections))
			vs += " †"
		}
		rows = append(rows, []string{x.Name, strconv.Itoa(x.Connections), thousands(x.Rate),
			fmt.Sprintf("%.2f", x.P50), fmt.Sprintf("%.2f", x.P99), thousands(float64(x.Errors)), vs,
			fmt.Sprintf("%.2f · %.2f · %.2f · %.2f · %.2f", x.CPU.Server, x.CPU.Postgres, x.CPU.Generator, x.CPU.Other, x.CPU.Idle)})
		if x.Errors > 0 {
			errs = append(errs, fmt.Sprintf("%s x%d: %d failed, first: %s", x.Name, x.Connections, x.Errors, x.FirstError))
		}
	}
	writeTable(w, rows, []bool{false, true, true, true, true, true, false, false})
	if len(errs) > 0 {
		fmt.Fprintf(w, "\n**This run had errors.** %s\n", strings.Join(errs, "; "))
	}
	if rp.RS256.CPU.Other > disturbedCores {
		disturbed = append(disturbed, "the RS256 ceiling")
	}
	if len(disturbed) > 0 {
		fmt.Fprintf(w, "\n† Disturbed: other processes used more than %.2f cores during %s, in every attempt.\n",
			disturbedCores, strings.Join(disturbed, ", "))
	}
	fmt.Fprintln(w)
	rv := rp.Revocation
	ms := func(v float64) string { return fmt.Sprintf("%.2f", v) }
	writeTable(w, [][]string{
		{"revocation (sequential)", "revocations", "p50 ms", "p99 ms", "max ms"},
		{"revoke request → token.revoked at a NATS subscriber", strconv.Itoa(rv.Revocations - rv.Missing), ms(rv.NATS.P50), ms(rv.NATS.P99), ms(rv.NATS.Max)},
		{"revoke request → HTTP 200", strconv.Itoa(rv.Revocations), ms(rv.HTTP.P50), ms(rv.HTTP.P99), ms(rv.HTTP.Max)},
	}, []bool{false, true, true, true, true})
	fmt.Fprintf(w, "\nEvents: %s tokens issued (2xx answers, warm-ups included), %s `token.issued` and %s `token.revoked` events in the log.\n\n",
		thousands(float64(rp.Events.TokensIssued)), thousands(float64(rp.Events.IssuedEvents)), thousands(float64(rp.Events.RevokeEvents)))
	writeTargets(w, rp.Targets)
}
