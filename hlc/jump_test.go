package hlc

import (
	"testing"
	"time"
)

// TestJumps: a wall clock that steps against the monotonic clock by more
// than the max offset is counted once per step, forward or backward; the
// drift of a few milliseconds is not.
func TestJumps(t *testing.T) {
	var mono int64
	saved := monoNs
	monoNs = func() int64 { return mono }
	defer func() { monoNs = saved }()
	var c Clock
	wall := int64(1_800_000_000_000) * int64(time.Millisecond)
	step := func(d time.Duration, jump time.Duration) {
		mono += int64(d)
		wall += int64(d + jump)
		c.checkJump(wall)
	}
	step(0, 0)
	step(10*time.Millisecond, 3*time.Millisecond) // drift
	step(10*time.Millisecond, time.Second)        // NTP steps forward
	step(10*time.Millisecond, 0)
	step(10*time.Millisecond, -2*time.Second) // and back
	step(10*time.Millisecond, 0)
	step(100*time.Microsecond, 0) // within the same ~1 ms: not checked again
	if got := c.Stats(); got.ForwardJumps != 1 || got.BackwardJumps != 1 {
		t.Fatalf("got %+v, want one jump each way", got)
	}
}

// TestRaise: a floor raised into a running Clock holds every later
// Timestamp above it, whatever the max offset; a lower one does nothing.
func TestRaise(t *testing.T) {
	c := New(WithPhysicalClock(func() int64 { return int64(time.Second) }))
	c.Now()
	floor := MakeTimestamp(10_000_000, 0)
	c.Raise(floor)
	if got := c.Now(); got <= floor {
		t.Fatalf("Now() = %v after Raise(%v)", got, floor)
	}
	last := c.Last()
	c.Raise(5)
	if c.Last() != last {
		t.Fatal("a lower floor moved the clock")
	}
}
