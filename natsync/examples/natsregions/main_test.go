package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// lastOf returns the last sample of the phase named name.
func lastOf(t *testing.T, rep *report, name string) sample {
	t.Helper()
	var s sample
	found := false
	for _, x := range rep.samples {
		if x.phase == name {
			s, found = x, true
		}
	}
	if !found {
		t.Fatalf("no sample of phase %q", name)
	}
	return s
}

// TestConclusions runs a short timeline and checks what the program
// prints: nothing lost and every node equal after the heal; an outage
// shows in the lag of every other region, growing with the outage; a cut
// gateway in the lag of the two regions it joins, not of the others; a
// region back from an outage catches up; and every lag back to 0 once
// the writes stop.
func TestConclusions(t *testing.T) {
	const phase = 1500 * time.Millisecond
	var out bytes.Buffer
	rep, err := run(&out, config{phase: phase, nodes: 1, every: 50 * time.Millisecond, seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	if !rep.converged {
		t.Fatal("the nodes did not converge after the writes stopped")
	}
	if rep.missing != [nSets]int{} {
		t.Errorf("writes missing on some node: %v, want none", rep.missing)
	}
	if rep.writes[carts] == 0 || rep.writes[likes] == 0 || rep.writes[profiles] == 0 {
		t.Errorf("writes per set: %v, want some to each", rep.writes)
	}
	if rep.refused != 0 || rep.malformed != 0 {
		t.Errorf("%d messages refused, %d bundles malformed, want none", rep.refused, rep.malformed)
	}
	if rep.crossBytes == 0 {
		t.Error("no bytes crossed a gateway")
	}

	down := lastOf(t, rep, regions[downRegion]+" down")
	if down.lag[downRegion] != -1 {
		t.Errorf("%s's lag while down: %v, want it shown down", regions[downRegion], down.lag[downRegion])
	}
	for r := range regions {
		if r != downRegion && down.lag[r] < (phase/2).Seconds() {
			t.Errorf("%s's lag at the end of %s's outage: %.2fs, want at least %v: its writes to %s wait",
				regions[r], regions[downRegion], down.lag[r], phase/2, regions[downRegion])
		}
	}

	back := lastOf(t, rep, regions[downRegion]+" back")
	if back.maxLag() >= (phase / 2).Seconds() {
		t.Errorf("after %s came back, the lags stayed at %v: not caught up in three phases", regions[downRegion], back.lag)
	}

	cut := lastOf(t, rep, regions[cutA]+"/"+regions[cutB]+" cut")
	for _, r := range []int{cutA, cutB} {
		if cut.lag[r] < (phase / 2).Seconds() {
			t.Errorf("%s's lag at the end of the cut: %.2fs, want at least %v", regions[r], cut.lag[r], phase/2)
		}
	}
	for r := range regions {
		if r != cutA && r != cutB && cut.lag[r] > min(cut.lag[cutA], cut.lag[cutB])/2 {
			t.Errorf("%s's lag at the end of the cut: %.2fs, want under half the cut regions' (%.2fs, %.2fs): its gateways stayed up",
				regions[r], cut.lag[r], cut.lag[cutA], cut.lag[cutB])
		}
	}

	quiet := rep.samples[len(rep.samples)-1]
	if quiet.phase != "quiet" || quiet.unacked != 0 || quiet.lag != [4]float64{} {
		t.Errorf("last row %+v, want the quiet row with every lag 0 and nothing unacknowledged", quiet)
	}
	if !strings.Contains(out.String(), "every node of every keyspace equal") {
		t.Error("the output does not say when the nodes converged")
	}
}

// TestBadFlags checks that flags out of range are refused with a reason.
func TestBadFlags(t *testing.T) {
	for _, cfg := range []config{
		{phase: 100 * time.Millisecond, nodes: 1, every: time.Millisecond},
		{phase: time.Second, nodes: 0, every: time.Millisecond},
		{phase: time.Second, nodes: 1, every: 0},
	} {
		if _, err := run(&bytes.Buffer{}, cfg); err == nil || !strings.Contains(err.Error(), "want") {
			t.Errorf("run(%+v): got %v, want an error saying what is wanted", cfg, err)
		}
	}
}
