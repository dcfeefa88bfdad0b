package crdt

import (
	"encoding/binary"
	"runtime"
	"testing"
)

// heapGrowth returns the least of three counts of the bytes f allocates.
func heapGrowth(f func()) uint64 {
	least := ^uint64(0)
	for range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	return least
}

// TestMapBytesBoundsRuntime: mapBytes is at least what a map[string]any
// sized for n entries takes once they are in, and mapEntryBytes at least
// what a presized map takes per entry.
func TestMapBytesBoundsRuntime(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items: allocation figures do not hold")
	}
	keys := make([]string, 5000)
	for i := range keys {
		keys[i] = string(binary.AppendUvarint(nil, uint64(i)))
	}
	var sink any
	for n := 0; n <= len(keys); n += 1 + n/8 {
		got := heapGrowth(func() {
			m := make(map[string]any, n)
			for _, k := range keys[:n] {
				m[k] = nil
			}
			sink = m
		})
		if want := mapBytes(n, mapSlot[string, any]()); got > uint64(want) {
			t.Errorf("map[string]any of %d entries took %d bytes, mapBytes says %d", n, got, want)
		}
		for _, c := range []struct {
			name  string
			make  func()
			entry int
		}{
			{"map[string]struct{}", func() { sink = make(map[string]struct{}, n) }, mapEntryBytes[string, struct{}]()},
			{"map[[16]int64]struct{}", func() { sink = make(map[[16]int64]struct{}, n) }, mapEntryBytes[[16]int64, struct{}]()},
			{"map[string]*int", func() { sink = make(map[string]*int, n) }, mapEntryBytes[string, *int]()},
		} {
			if got := heapGrowth(c.make); n > 8 && got > uint64(n*c.entry+mapHeader+64+8<<10) {
				t.Errorf("%s sized for %d took %d bytes, %d per entry; mapEntryBytes says %d", c.name, n, got, int(got)/n, c.entry)
			}
		}
	}
	_ = sink
}

// TestCounterIncAllocatesNothingUnused: the top-level Inc and Dec keep an
// unused delta off the heap.
func TestCounterIncAllocatesNothingUnused(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation")
	}
	var g GCounter
	var p PNCounter
	g.Inc("a", 1)
	p.Inc("a", 1)
	p.Dec("a", 1)
	if n := testing.AllocsPerRun(100, func() { g.Inc("a", 1); p.Inc("a", 1); p.Dec("a", 1) }); n != 0 {
		t.Fatalf("Inc and Dec allocate %v times", n)
	}
}

// TestUnmarshalKeepsReaderOnStack: UnmarshalBinary reads into a value on
// its stack, so that decoding an empty state of the types whose empty
// state holds no causal context allocates nothing: neither the value read
// nor the reader escapes (passed to a function value, both did).
func TestUnmarshalKeepsReaderOnStack(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation")
	}
	for _, v := range []interface {
		MarshalBinary() ([]byte, error)
		UnmarshalBinary([]byte) error
	}{new(GSet[string]), new(TwoPSet[string]), new(LWWMap[string, string]), new(LWWRegister[string])} {
		b, err := v.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() {
			if err := v.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%T: decoding its empty state allocates %v times", v, n)
		}
	}
}
