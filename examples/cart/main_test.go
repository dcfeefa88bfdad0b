package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCart runs the program and checks its conclusion from its own
// output: every region ends with the same cart, in which the socks added
// in ap-south concurrently with us-east's remove survive it, and the
// scarf removed after its add was seen is gone.
func TestCart(t *testing.T) {
	out := output(t)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	i := indexOf(lines, "After replication:")
	if i < 0 || len(lines) < i+5 {
		t.Fatalf("no final carts in the output:\n%s", out)
	}
	const want = "{hat:1 socks:2}"
	for _, l := range lines[i+1 : i+4] {
		region, cart, _ := strings.Cut(strings.TrimSpace(l), " ")
		if cart = strings.TrimSpace(cart); cart != want {
			t.Errorf("%s: got cart %q, want %s", region, cart, want)
		}
	}
	conclusion := lines[len(lines)-1]
	if !strings.HasPrefix(conclusion, "conclusion: every region holds "+want+";") ||
		!strings.Contains(conclusion, "the 2 added concurrently in ap-south survive") {
		t.Errorf("got conclusion %q, want the union %s with ap-south's 2 socks", conclusion, want)
	}
	// The story happened as told: the remove and the add were concurrent.
	for _, event := range []string{
		"1.000s  us-east   removes socks (had 1)",
		"1.000s  ap-south  adds 2 socks",
	} {
		if !strings.Contains(out, event) {
			t.Errorf("output lacks %q; got:\n%s", event, out)
		}
	}
}

// TestCartDeterministic checks that two runs print the same output.
func TestCartDeterministic(t *testing.T) {
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

func indexOf(lines []string, s string) int {
	for i, l := range lines {
		if l == s {
			return i
		}
	}
	return -1
}
