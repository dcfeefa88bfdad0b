package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSplitbrain runs the program and checks its conclusion from its own
// output: no acknowledged write is lost, the final account holds every
// cart item and profile value written on either side and every like, and
// the regions converge soon after the heal.
func TestSplitbrain(t *testing.T) {
	out := output(t)
	lines := strings.Split(strings.TrimSpace(out), "\n")

	var lost, total int
	var after string
	conclusion := lines[len(lines)-1]
	if _, err := fmt.Sscanf(conclusion, "conclusion: %d of %d acknowledged writes lost; converged %s after the heal", &lost, &total, &after); err != nil {
		t.Fatalf("conclusion %q: %v", conclusion, err)
	}
	if lost != 0 || total == 0 {
		t.Errorf("got %d of %d writes lost, want 0 of some", lost, total)
	}
	if d, err := time.ParseDuration(after); err != nil || d <= 0 || d > 5*time.Second {
		t.Errorf("got convergence %q after the heal (%v), want within 5s", after, err)
	}

	var adds, likes, fields, sum int
	if _, err := fmt.Sscanf(lines[len(lines)-2], "acknowledged writes: %d cart adds + %d likes + %d profile fields = %d",
		&adds, &likes, &fields, &sum); err != nil {
		t.Fatalf("acknowledged writes %q: %v", lines[len(lines)-2], err)
	}
	_, overwritten, _ := strings.Cut(lines[len(lines)-2], "that saw it: ")
	if adds+likes+fields != sum || sum != total {
		t.Errorf("got %d + %d + %d = %d, and %d in the conclusion", adds, likes, fields, sum, total)
	}

	// Everything the story wrote is in the final account.
	final := map[string]string{}
	for _, l := range lines {
		for _, key := range []string{"cart", "likes", "profile"} {
			if v, ok := strings.CutPrefix(l, "  "+key+" "); ok {
				final[key] = strings.TrimSpace(v)
			}
		}
	}
	if got, want := final["likes"], fmt.Sprint(likes); got != want {
		t.Errorf("got %s likes, want %s", got, want)
	}
	nadds, nsets := 0, 0
	for _, l := range lines {
		var tm float64
		var region, item, field, value string
		if _, err := fmt.Sscanf(l, "%fs %s adds %s to the cart", &tm, &region, &item); err == nil {
			nadds++
			if !strings.Contains(" "+strings.Trim(final["cart"], "{}")+" ", " "+item+" ") {
				t.Errorf("cart %s lacks %s, added in %s", final["cart"], item, region)
			}
		}
		if _, err := fmt.Sscanf(l, "%fs %s sets %s to %q", &tm, &region, &field, &value); err == nil {
			nsets++
			if !strings.Contains(overwritten, fmt.Sprintf("%s=%q", field, value)) && !strings.Contains(final["profile"], value) {
				t.Errorf("profile %s lacks %s=%q, set in %s", final["profile"], field, value, region)
			}
		}
	}
	if nadds != adds || nsets != fields {
		t.Errorf("the story shows %d adds and %d field writes, the count %d and %d", nadds, nsets, adds, fields)
	}
	if !strings.Contains(final["profile"], "bio:{Bonjour Howdy}") {
		t.Errorf("profile %s: want both sides' bio kept", final["profile"])
	}
}

// TestSplitbrainDeterministic checks that two runs print the same output.
func TestSplitbrainDeterministic(t *testing.T) {
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
