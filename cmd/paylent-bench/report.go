package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// result is one measured row: a benchmark of Paylent code, or a ceiling (plain PostgreSQL,
// NATS or disk work with none of Paylent's guarantees) measured in the same run.
type result struct {
	Name    string  `json:"name"`
	Ops     int64   `json:"ops"`
	Seconds float64 `json:"seconds"`
	Rate    float64 `json:"ops_per_second"`
	// Ceiling names the row this one is compared with; empty on ceilings themselves.
	Ceiling string `json:"ceiling,omitempty"`
	// Ratio is Rate divided by the ceiling's rate.
	Ratio float64 `json:"ratio_to_ceiling,omitempty"`
	Note  string  `json:"note,omitempty"`
	// IsCeiling marks the raw reference rows.
	IsCeiling bool `json:"is_ceiling,omitempty"`
}

func newResult(name string, ops int64, elapsed time.Duration) result {
	r := result{Name: name, Ops: ops, Seconds: elapsed.Seconds()}
	if r.Seconds > 0 {
		r.Rate = float64(ops) / r.Seconds
	}
	return r
}

// target is one goal of an issue, checked against this run's numbers.
type target struct {
	Name string  `json:"name"`
	Want float64 `json:"want_at_least"` // at most, when AtMost
	Got  float64 `json:"measured"`
	Met  bool    `json:"met"`
	// AtMost turns the goal into an upper bound (latencies, errors).
	AtMost   bool   `json:"at_most,omitempty"`
	Unit     string `json:"unit"`
	Describe string `json:"describe"`
}

func newTarget(name, unit, describe string, want, got float64) target {
	return target{Name: name, Want: want, Got: got, Met: got >= want, Unit: unit, Describe: describe}
}

func newTargetAtMost(name, unit, describe string, want, got float64) target {
	return target{Name: name, Want: want, Got: got, Met: got <= want, AtMost: true, Unit: unit, Describe: describe}
}

// report is everything one run measured.
type report struct {
	Machine machine  `json:"machine"`
	Config  settings `json:"config"`
	Results []result `json:"results"`
	// GroupCommit is requests per commit of each append benchmark.
	GroupCommit map[string]float64 `json:"group_commit_requests_per_commit"`
	Targets     []target           `json:"targets"`
}

// settings are the run's parameters, as reported.
type settings struct {
	Events        int     `json:"events"`
	Duration      float64 `json:"append_seconds"`
	Appenders     int     `json:"appenders"`
	EventBytes    int     `json:"append_event_data_bytes"`
	LogEventBytes int     `json:"log_event_data_bytes"`
}

// linkCeilings fills Ratio of every row whose Ceiling names another row.
func linkCeilings(rs []result) {
	byName := map[string]float64{}
	for _, r := range rs {
		byName[r.Name] = r.Rate
	}
	for i, r := range rs {
		if c, ok := byName[r.Ceiling]; ok && c > 0 {
			rs[i].Ratio = r.Rate / c
		}
	}
}

func (rp *report) find(name string) result {
	for _, r := range rp.Results {
		if r.Name == name {
			return r
		}
	}
	return result{}
}

// writeText prints the report as Markdown, ready to paste into docs/BENCHMARKS.md.
func (rp *report) writeText(w io.Writer) {
	m := rp.Machine
	fmt.Fprintf(w, "Machine: %d CPUs (%s), %s RAM, %s; %s; PostgreSQL %s (%s); NATS server %s; %s; %s\n\n",
		m.CPUs, m.CPUModel, m.Memory, m.Kernel, m.Disk, m.PostgreSQL, m.PostgresDurability, m.NATS, m.Go, m.Date)
	fmt.Fprintf(w, "Run: %d events in the log, appends timed for %.0fs each, %d concurrent appenders, "+
		"append event data %d bytes, log event data %d bytes.\n\n",
		rp.Config.Events, rp.Config.Duration, rp.Config.Appenders, rp.Config.EventBytes, rp.Config.LogEventBytes)
	writeResults(w, rp.Results)
	fmt.Fprintln(w)
	writeTargets(w, rp.Targets)
}

func writeResults(w io.Writer, rs []result) {
	rows := [][]string{{"benchmark", "ops", "seconds", "ops/s", "vs ceiling", "notes"}}
	for _, r := range rs {
		vs := "—"
		switch {
		case r.IsCeiling:
			vs = "(ceiling)"
		case r.Ceiling != "":
			vs = fmt.Sprintf("%.2f × %s", r.Ratio, r.Ceiling)
		}
		rows = append(rows, []string{r.Name, thousands(float64(r.Ops)), fmt.Sprintf("%.2f", r.Seconds),
			thousands(r.Rate), vs, r.Note})
	}
	writeTable(w, rows, []bool{false, true, true, true, false, false})
}

func writeTargets(w io.Writer, ts []target) {
	rows := [][]string{{"target", "wanted", "measured", "result"}}
	for _, t := range ts {
		verdict := "MISS"
		if t.Met {
			verdict = "PASS"
		}
		bound := "≥ "
		if t.AtMost {
			bound = "≤ "
		}
		rows = append(rows, []string{t.Describe, bound + formatValue(t.Want, t.Unit), formatValue(t.Got, t.Unit), verdict})
	}
	writeTable(w, rows, []bool{false, true, true, false})
}

func formatValue(v float64, unit string) string {
	switch unit {
	case "x":
		return fmt.Sprintf("%.2f×", v)
	case "ms":
		return fmt.Sprintf("%.2f ms", v)
	}
	return thousands(v) + " " + unit
}

// writeTable prints a Markdown table whose columns line up in a terminal too.
func writeTable(w io.Writer, rows [][]string, right []bool) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			width[i] = max(width[i], len([]rune(cell)))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, cell := range cells {
			pad := strings.Repeat(" ", width[i]-len([]rune(cell)))
			if right[i] {
				b.WriteString(" " + pad + cell + " |")
			} else {
				b.WriteString(" " + cell + pad + " |")
			}
		}
		fmt.Fprintln(w, b.String())
	}
	line(rows[0])
	sep := make([]string, len(width))
	for i, n := range width {
		sep[i] = strings.Repeat("-", n)
		if right[i] {
			sep[i] = sep[i][1:] + ":"
		}
	}
	line(sep)
	for _, row := range rows[1:] {
		line(row)
	}
}

// thousands formats v rounded to an integer with comma separators: 12345.6 → "12,346".
func thousands(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// latencyNote summarises per-operation latencies: "p50 1.23 ms, p99 4.56 ms".
func latencyNote(sorted []time.Duration) string {
	if len(sorted) == 0 {
		return ""
	}
	q := func(p float64) time.Duration { return sorted[int(p*float64(len(sorted)-1))] }
	ms := func(d time.Duration) string {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64)
	}
	return "p50 " + ms(q(0.50)) + " ms, p99 " + ms(q(0.99)) + " ms"
}
