package main

import (
	"strings"
	"testing"
	"time"
)

func TestThousands(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0"}, {999.4, "999"}, {999.5, "1,000"}, {12345.6, "12,346"}, {1234567, "1,234,567"}, {-4321, "-4,321"},
	} {
		if got := thousands(tc.in); got != tc.want {
			t.Errorf("thousands(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLatencyNote(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	if got, want := latencyNote(lat), "p50 50.00 ms, p99 99.00 ms"; got != want {
		t.Errorf("latencyNote = %q, want %q", got, want)
	}
	if got := latencyNote(nil); got != "" {
		t.Errorf("latencyNote(nil) = %q, want empty", got)
	}
}

func TestReportTable(t *testing.T) {
	rs := []result{
		newResult("append x1", 500, 2*time.Second),
		newResult("raw insert+commit x1", 2000, 2*time.Second),
	}
	rs[0].Ceiling = "raw insert+commit x1"
	rs[1].IsCeiling = true
	linkCeilings(rs)
	if rs[0].Ratio != 0.25 {
		t.Fatalf("ratio = %v, want 0.25", rs[0].Ratio)
	}
	rp := &report{Results: rs, Targets: []target{
		newTarget("gain", "x", "append x32 ÷ append x1", 5, 4.99),
		newTarget("rebuild", "events/s", "rebuild", 50_000, 61_000),
	}}
	var b strings.Builder
	rp.writeText(&b)
	out := b.String()
	for _, want := range []string{
		"| append x1            |   500 |    2.00 |   250 | 0.25 × raw insert+commit x1 |       |",
		"| raw insert+commit x1 | 2,000 |    2.00 | 1,000 | (ceiling)                   |       |",
		"| -------------------- | ----: | ------: | ----: | --------------------------- | ----- |",
		"| append x32 ÷ append x1 |           ≥ 5.00× |           4.99× | MISS   |",
		"| rebuild                | ≥ 50,000 events/s | 61,000 events/s | PASS   |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// Every row of a table has as many cells as its header.
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "|") && strings.Count(line, "|") != 7 && strings.Count(line, "|") != 5 {
			t.Errorf("ragged row: %q", line)
		}
	}
}
