package hlc_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/converge-go/converge/hlc"
)

// unixNano returns a physical clock stopped at the given UTC time, for
// deterministic output.
func unixNano(year int, month time.Month, day, hour, min, sec, ms int) func() int64 {
	ns := time.Date(year, month, day, hour, min, sec, ms*1e6, time.UTC).UnixNano()
	return func() int64 { return ns }
}

func ExampleClock() {
	// A real program uses the zero Clock or hlc.New(): the system clock.
	c := hlc.New(hlc.WithPhysicalClock(unixNano(2026, 11, 25, 17, 38, 35, 123)))
	a := c.Now()
	b := c.Now()
	fmt.Println(a)
	fmt.Println(b)
	fmt.Println(a < b, a.Time().Equal(b.Time()))
	// Output:
	// 2026-11-25T17:38:35.123Z/0
	// 2026-11-25T17:38:35.123Z/1
	// true true
}

func ExampleNew() {
	var pt int64 // a virtual physical clock, in Unix nanoseconds
	c := hlc.New(
		hlc.WithPhysicalClock(func() int64 { return pt }),
		hlc.WithMaxOffset(250*time.Millisecond),
	)
	pt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()
	fmt.Println(c.Now(), c.MaxOffset())
	// Output:
	// 2026-01-02T03:04:05.000Z/0 250ms
}

func ExampleClock_Now() {
	var pt int64 = time.Date(2026, 11, 25, 17, 38, 35, 123_000_001, time.UTC).UnixNano()
	c := hlc.New(hlc.WithPhysicalClock(func() int64 { return pt }))
	fmt.Println(c.Now()) // rounded up: never behind the physical clock
	fmt.Println(c.Now()) // same millisecond: the logical part orders
	pt += int64(5 * time.Millisecond)
	fmt.Println(c.Now()) // the physical clock moved on: logical back to 0
	pt -= int64(time.Second)
	fmt.Println(c.Now()) // the physical clock went back: the HLC does not
	// Output:
	// 2026-11-25T17:38:35.124Z/0
	// 2026-11-25T17:38:35.124Z/1
	// 2026-11-25T17:38:35.129Z/0
	// 2026-11-25T17:38:35.129Z/1
}

func ExampleClock_Update() {
	// Node a's clock runs 40 ms ahead of node b's.
	a := hlc.New(hlc.WithPhysicalClock(unixNano(2026, 11, 25, 17, 38, 35, 140)))
	b := hlc.New(hlc.WithPhysicalClock(unixNano(2026, 11, 25, 17, 38, 35, 100)))

	sent := a.Now() // a sends a message stamped sent
	received, err := b.Update(sent)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sent)
	fmt.Println(received) // after sent, though b's physical clock is behind
	fmt.Println(b.Now())  // and so is everything b does next
	fmt.Println(b.Stats().MaxRemoteOffset)
	// Output:
	// 2026-11-25T17:38:35.140Z/0
	// 2026-11-25T17:38:35.140Z/1
	// 2026-11-25T17:38:35.140Z/2
	// 40ms
}

func ExampleClock_Update_rejected() {
	c := hlc.New(hlc.WithPhysicalClock(unixNano(2026, 11, 25, 17, 38, 35, 0)))
	before := c.Last()
	future := hlc.FromTime(time.Date(2026, 11, 25, 17, 38, 36, 0, time.UTC))
	_, err := c.Update(future) // 1 s ahead, the bound is 500 ms
	fmt.Println(errors.Is(err, hlc.ErrClockOffset))
	fmt.Println(err)
	fmt.Println(c.Last() == before, c.Stats().Rejected)
	// Output:
	// true
	// hlc: remote timestamp 2026-11-25T17:38:36.000Z/0 is 1s ahead of the local clock, beyond the max offset of 500ms
	// true 1
}

func ExampleOffsetError() {
	c := hlc.New(hlc.WithPhysicalClock(unixNano(2026, 11, 25, 17, 38, 35, 0)))
	_, err := c.Update(hlc.FromTime(time.Date(2026, 11, 25, 17, 40, 0, 0, time.UTC)))
	var oe *hlc.OffsetError
	if errors.As(err, &oe) {
		fmt.Println(oe.Offset, "ahead, bound", oe.MaxOffset)
	}
	// Output:
	// 1m25s ahead, bound 500ms
}

func ExampleWithFloor() {
	// Before the restart: the clock issued timestamps up to last.
	old := hlc.New(hlc.WithPhysicalClock(unixNano(2026, 11, 25, 17, 38, 35, 0)))
	old.Now()
	last := old.Now()

	// After the restart the physical clock is 2 s behind; the floor keeps
	// the new clock ahead of everything the old one issued.
	restarted := hlc.New(
		hlc.WithPhysicalClock(unixNano(2026, 11, 25, 17, 38, 33, 0)),
		hlc.WithFloor(last),
	)
	next := restarted.Now()
	fmt.Println(last)
	fmt.Println(next, next > last)
	// Output:
	// 2026-11-25T17:38:35.000Z/1
	// 2026-11-25T17:38:35.000Z/2 true
}

func ExampleWithMaxOffset() {
	c := hlc.New(
		hlc.WithPhysicalClock(unixNano(2026, 11, 25, 17, 38, 35, 0)),
		hlc.WithMaxOffset(0), // no bound: trust every peer
	)
	ts, err := c.Update(hlc.FromTime(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)))
	fmt.Println(ts, err)
	// Output:
	// 2027-01-01T00:00:00.000Z/1 <nil>
}

func ExampleClock_Last() {
	c := hlc.New(hlc.WithPhysicalClock(unixNano(2026, 11, 25, 17, 38, 35, 0)))
	fmt.Println(c.Last()) // nothing issued yet
	ts := c.Now()
	fmt.Println(c.Last() == ts)
	// Output:
	// 1970-01-01T00:00:00.000Z/0
	// true
}

func ExampleClock_Stats() {
	c := hlc.New(hlc.WithPhysicalClock(unixNano(2026, 11, 25, 17, 38, 35, 0)))
	for i := 0; i < 70_000; i++ { // more than 65536 in one millisecond
		c.Now()
	}
	_, _ = c.Update(hlc.FromTime(time.Date(2026, 11, 25, 17, 38, 35, 120e6, time.UTC))) // 120 ms ahead
	_, _ = c.Update(hlc.FromTime(time.Date(2026, 11, 25, 17, 38, 37, 0, time.UTC)))     // 2 s ahead
	fmt.Printf("%+v\n", c.Stats())
	// Output:
	// {Rejected:1 MaxRemoteOffset:2s LogicalOverflows:1 ForwardJumps:0 BackwardJumps:0}
}

func ExampleStats() {
	var c hlc.Clock
	s := c.Stats()
	if s.Rejected > 0 || s.MaxRemoteOffset > c.MaxOffset()/2 {
		fmt.Println("check the clocks")
	}
	fmt.Printf("%+v\n", s)
	// Output:
	// {Rejected:0 MaxRemoteOffset:0s LogicalOverflows:0 ForwardJumps:0 BackwardJumps:0}
}

func ExampleTimestamp() {
	ts := hlc.MakeTimestamp(1_795_628_315_123, 42)
	fmt.Printf("%#016x\n", uint64(ts)) // 48 bits of milliseconds, 16 of counter
	fmt.Println(ts.Physical(), ts.Logical())
	fmt.Println(ts.Time())
	fmt.Println(ts < ts+1, ts.Compare(ts+1))
	// Output:
	// 0x01a213c9b1f3002a
	// 1795628315123 42
	// 2026-11-25 17:38:35.123 +0000 UTC
	// true -1
}

func ExampleTimestamp_String() {
	fmt.Println(hlc.MakeTimestamp(1_795_628_315_123, 42))
	fmt.Println(hlc.Timestamp(0))
	fmt.Println(hlc.MaxTimestamp) // years after 9999 take a sign and six digits
	// Output:
	// 2026-11-25T17:38:35.123Z/42
	// 1970-01-01T00:00:00.000Z/0
	// +010889-08-02T05:31:50.655Z/65535
}

func ExampleParse() {
	ts, err := hlc.Parse("2026-11-25T17:38:35.123Z/42")
	fmt.Println(ts.Physical(), ts.Logical(), err)

	_, err = hlc.Parse("2026-11-25T17:38:35.123+01:00/42")
	fmt.Println(errors.Is(err, hlc.ErrSyntax))
	fmt.Println(err)
	// Output:
	// 1795628315123 42 <nil>
	// true
	// hlc: parsing timestamp "2026-11-25T17:38:35.123+01:00/42": want 'Z' at byte 23
}

func ExampleParseError() {
	_, err := hlc.Parse("2026-02-30T00:00:00.000Z/0")
	var pe *hlc.ParseError
	if errors.As(err, &pe) {
		fmt.Println(pe.Reason)
	}
	// Output:
	// day out of range
}

func ExampleMakeTimestamp() {
	// Decode a (milliseconds, counter) pair from another system.
	ts := hlc.MakeTimestamp(1_795_628_315_123, 7)
	fmt.Println(ts)
	// Output:
	// 2026-11-25T17:38:35.123Z/7
}

func ExampleFromTime() {
	// The lower bound for "stamped at or after 17:38:35.1234".
	since := hlc.FromTime(time.Date(2026, 11, 25, 17, 38, 35, 123_400_000, time.UTC))
	fmt.Println(since)
	// Output:
	// 2026-11-25T17:38:35.124Z/0
}

func ExampleTimestamp_MarshalBinary() {
	ts := hlc.MakeTimestamp(1_795_628_315_123, 42)
	b, _ := ts.MarshalBinary()
	fmt.Printf("% x\n", b) // [version 1, kind 1, ts] in msgpack

	var back hlc.Timestamp
	err := back.UnmarshalBinary(b)
	fmt.Println(back == ts, err)

	err = back.UnmarshalBinary(b[:5])
	fmt.Println(errors.Is(err, hlc.ErrMalformed))
	// Output:
	// 93 01 01 cf 01 a2 13 c9 b1 f3 00 2a
	// true <nil>
	// true
}
