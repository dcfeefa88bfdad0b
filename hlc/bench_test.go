package hlc_test

import (
	"testing"
	"time"

	"github.com/converge-go/converge/hlc"
)

// Sinks keep the compiler from discarding results.
var (
	sinkTime time.Time
	sinkTS   hlc.Timestamp
	sinkErr  error
)

// BenchmarkTimeNow is the baseline: Clock.Now reads time.Now and should
// cost little more.
func BenchmarkTimeNow(b *testing.B) {
	b.ReportAllocs()
	var t time.Time
	for i := 0; i < b.N; i++ {
		t = time.Now()
	}
	sinkTime = t
}

func BenchmarkTimeNowParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var t time.Time
		for pb.Next() {
			t = time.Now()
		}
		sinkTime = t
	})
}

func BenchmarkNow(b *testing.B) {
	b.ReportAllocs()
	var c hlc.Clock
	var ts hlc.Timestamp
	for i := 0; i < b.N; i++ {
		ts = c.Now()
	}
	sinkTS = ts
}

// BenchmarkNowParallel has every goroutine contend for the one word.
func BenchmarkNowParallel(b *testing.B) {
	b.ReportAllocs()
	var c hlc.Clock
	b.RunParallel(func(pb *testing.PB) {
		var ts hlc.Timestamp
		for pb.Next() {
			ts = c.Now()
		}
		sinkTS = ts
	})
}

// BenchmarkNowFake is Now with WithPhysicalClock: the cost of the clock
// alone, and of the indirect call.
func BenchmarkNowFake(b *testing.B) {
	b.ReportAllocs()
	var ns int64 = 1_800_000_000_000_000_000
	c := hlc.New(hlc.WithPhysicalClock(func() int64 { return ns }))
	var ts hlc.Timestamp
	for i := 0; i < b.N; i++ {
		ts = c.Now()
	}
	sinkTS = ts
}

// BenchmarkUpdate receives a remote timestamp a little ahead of the local
// clock: the common case of a peer with a slightly faster clock.
func BenchmarkUpdate(b *testing.B) {
	b.ReportAllocs()
	var c hlc.Clock
	remote := hlc.FromTime(time.Now().Add(10 * time.Millisecond))
	var ts hlc.Timestamp
	var err error
	for i := 0; i < b.N; i++ {
		ts, err = c.Update(remote)
	}
	sinkTS, sinkErr = ts, err
}

func BenchmarkUpdateParallel(b *testing.B) {
	b.ReportAllocs()
	var c hlc.Clock
	remote := hlc.FromTime(time.Now().Add(10 * time.Millisecond))
	b.RunParallel(func(pb *testing.PB) {
		var ts hlc.Timestamp
		var err error
		for pb.Next() {
			ts, err = c.Update(remote)
		}
		sinkTS, sinkErr = ts, err
	})
}

func BenchmarkString(b *testing.B) {
	b.ReportAllocs()
	ts := hlc.FromTime(time.Date(2026, 11, 25, 17, 38, 35, 123e6, time.UTC)) + 42
	var s string
	for i := 0; i < b.N; i++ {
		s = ts.String()
	}
	_ = s
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	var ts hlc.Timestamp
	var err error
	for i := 0; i < b.N; i++ {
		ts, err = hlc.Parse("2026-11-25T17:38:35.123Z/42")
	}
	sinkTS, sinkErr = ts, err
}

func BenchmarkAppendBinary(b *testing.B) {
	b.ReportAllocs()
	ts := hlc.MaxTimestamp
	buf := make([]byte, 0, 16)
	for i := 0; i < b.N; i++ {
		buf, _ = ts.AppendBinary(buf[:0])
	}
}

func BenchmarkUnmarshalBinary(b *testing.B) {
	b.ReportAllocs()
	data, _ := hlc.MaxTimestamp.MarshalBinary()
	var ts hlc.Timestamp
	var err error
	for i := 0; i < b.N; i++ {
		err = ts.UnmarshalBinary(data)
	}
	sinkTS, sinkErr = ts, err
}
