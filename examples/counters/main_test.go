package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestCounters runs the program and checks its conclusion from its own
// output: the likes minus the unlikes add up to the true count, every
// region's replicated counter reads exactly that once converged, and the
// network did lose and duplicate messages — enough to throw the naive
// counters off.
func TestCounters(t *testing.T) {
	out := output(t)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 4 {
		t.Fatalf("output too short:\n%s", out)
	}
	var likes, unlikes, total, reads int
	conclusion := lines[len(lines)-1]
	if _, err := fmt.Sscanf(conclusion, "conclusion: %d likes - %d unlikes = %d, and every region's PNCounter reads %d: exact",
		&likes, &unlikes, &total, &reads); err != nil {
		t.Fatalf("conclusion %q: %v", conclusion, err)
	}
	if likes-unlikes != total || reads != total || likes == 0 || unlikes == 0 {
		t.Errorf("got %d likes - %d unlikes = %d, read %d; want an exact count", likes, unlikes, total, reads)
	}

	// The converged line: every region reads the true count.
	converged := lines[len(lines)-4]
	var tm float64
	var truth int
	if _, err := fmt.Sscanf(converged, "%fs true %d reads:", &tm, &truth); err != nil || truth != total {
		t.Fatalf("converged line %q: got true count %d (%v), want %d", converged, truth, err, total)
	}
	_, rest, _ := strings.Cut(converged, "reads: ")
	rest, _, _ = strings.Cut(rest, "  (")
	for _, r := range strings.Split(rest, ", ") {
		var region string
		var v int
		if _, err := fmt.Sscanf(r, "%s %d", &region, &v); err != nil || v != total {
			t.Errorf("region read %q: got %d (%v), want %d", r, v, err, total)
		}
	}

	// The network was faulty, and the naive counters show it.
	var sent, naive, lost, dup int
	if _, err := fmt.Sscanf(lines[len(lines)-3], "network: %d messages sent (%d of them naive), %d lost, %d duplicated",
		&sent, &naive, &lost, &dup); err != nil {
		t.Fatalf("network line %q: %v", lines[len(lines)-3], err)
	}
	if lost == 0 || dup == 0 {
		t.Errorf("got %d lost and %d duplicated messages, want some of each", lost, dup)
	}
	_, rest, _ = strings.Cut(lines[len(lines)-2], "arrival): ")
	wrong := 0
	for _, r := range strings.Split(rest, ", ") {
		var region string
		var v int
		if _, err := fmt.Sscanf(r, "%s %d", &region, &v); err != nil {
			t.Fatalf("naive count %q: %v", r, err)
		}
		if v != total {
			wrong++
		}
	}
	if wrong == 0 {
		t.Errorf("every naive counter is exact: the network did not test the PNCounter")
	}
}

// TestCountersDeterministic checks that two runs print the same output.
func TestCountersDeterministic(t *testing.T) {
	if a, b := output(t), output(t); a != b {
		t.Errorf("two runs differ:\n%s\n---\n%s", a, b)
	}
}

func output(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	if err := run(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}
