package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestHomeregion runs the program and checks its conclusion from its own
// output: with a home region no write conflicts or is lost and the
// travelling user's write pays the ap-south ↔ eu-west round trip
// (200–300 ms in sim.DefaultLatency); writing locally is faster but loses a write
// to a conflict.
func TestHomeregion(t *testing.T) {
	out := output(t)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	conclusion := lines[len(lines)-1]
	m := regexp.MustCompile(`^conclusion: home region: (\d+) conflicts?, (\d+) writes? lost, Ada's writes take (\d+)ms from (\S+); ` +
		`local writes: (\d+)ms, but (\d+) conflicts?, (\d+) writes? lost$`).FindStringSubmatch(conclusion)
	if m == nil {
		t.Fatalf("conclusion %q does not have the expected form", conclusion)
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	hc, hl, hms, from, lms, lc, ll := n(1), n(2), n(3), m[4], n(5), n(6), n(7)
	if hc != 0 || hl != 0 {
		t.Errorf("home region: got %d conflicts and %d writes lost, want none", hc, hl)
	}
	if from != "ap-south" || hms < 200 || hms > 300 {
		t.Errorf("home region: got a write of %dms from %s, want the ap-south ↔ eu-west round trip, 200–300ms", hms, from)
	}
	if lms >= hms {
		t.Errorf("local writes: got %dms, want less than the home region's %dms", lms, hms)
	}
	if lc == 0 || ll == 0 {
		t.Errorf("local writes: got %d conflicts and %d writes lost, want some", lc, ll)
	}

	// Each part's summary agrees with the conclusion.
	var summaries []string
	for _, l := range lines {
		if s, ok := strings.CutPrefix(l, "   then every region holds "); ok {
			summaries = append(summaries, s)
		}
	}
	want := []string{
		"{Tokyo, 1050 points}; conflicts: 0, writes lost: 0",
		"conflicts: 1, writes lost: 1 (city=Tokyo)",
	}
	if len(summaries) != 2 || summaries[0] != want[0] || !strings.HasSuffix(summaries[1], want[1]) {
		t.Errorf("got summaries %q, want %q", summaries, want)
	}
}

// TestHomeregionDeterministic checks that two runs print the same output.
func TestHomeregionDeterministic(t *testing.T) {
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
