package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestProfile runs the program and checks its conclusion from its own
// output: every region's wall-clock register holds the earlier of the
// two writes, and every region's HLC register the later one.
func TestProfile(t *testing.T) {
	out := output(t)
	lines := strings.Split(strings.TrimSpace(out), "\n")

	var first, later string
	i := 0
	for ; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "True order: ") {
			if _, err := fmt.Sscanf(lines[i], "True order: %q", &first); err != nil {
				t.Fatalf("%q: %v", lines[i], err)
			}
			_, rest, _ := strings.Cut(lines[i], "then ")
			if _, err := fmt.Sscanf(rest, "%q", &later); err != nil {
				t.Fatalf("%q: %v", lines[i], err)
			}
			break
		}
	}
	if first == "" || later == "" || first == later {
		t.Fatalf("no true order of two writes in the output:\n%s", out)
	}
	rows := lines[i+2 : len(lines)-1]
	if len(rows) != 3 {
		t.Fatalf("got %d regions in the table, want 3:\n%s", len(rows), out)
	}
	for _, row := range rows {
		var region, wall, hybrid string
		if _, err := fmt.Sscanf(row, "%s %q %q", &region, &wall, &hybrid); err != nil {
			t.Fatalf("row %q: %v", row, err)
		}
		if wall != first {
			t.Errorf("%s: wall-clock LWW holds %q, want the earlier write %q", region, wall, first)
		}
		if hybrid != later {
			t.Errorf("%s: HLC LWW holds %q, want the later write %q", region, hybrid, later)
		}
	}
	const want = "conclusion: wall-clock LWW keeps the earlier write, HLC LWW keeps the later write"
	if got := lines[len(lines)-1]; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestProfileDeterministic checks that two runs print the same output.
func TestProfileDeterministic(t *testing.T) {
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
