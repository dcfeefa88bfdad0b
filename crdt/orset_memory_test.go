package crdt_test

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/converge-go/converge/crdt"
)

// heapHeld returns the heap that the value built by build keeps alive, by
// runtime.ReadMemStats after garbage collection, the way the map baseline
// is measured too. Strings are made inside build, so each structure is
// charged for the strings it holds.
func heapHeld(build func() any) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := build()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	if after.HeapAlloc < before.HeapAlloc {
		return 0
	}
	return after.HeapAlloc - before.HeapAlloc
}

func elem(i int) string { return "element-" + strconv.Itoa(i) }

// TestORSetMemory: after 100k adds and 50k removes of distinct strings, the
// heap an ORSet holds is at most 1.6× what a map[string]struct{} of the
// 50k survivors holds.
func TestORSetMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 100k elements; skipped in -short mode")
	}
	baseline := heapHeld(func() any {
		m := map[string]struct{}{}
		for i := 50_000; i < 100_000; i++ {
			m[elem(i)] = struct{}{}
		}
		return m
	})
	set := heapHeld(func() any {
		s := new(crdt.ORSet[string])
		for i := range 100_000 {
			s.Add("us-east", elem(i))
		}
		for i := range 50_000 {
			s.Remove(elem(i))
		}
		if s.Len() != 50_000 {
			t.Fatalf("Len() = %d, want 50000", s.Len())
		}
		return s
	})
	ratio := float64(set) / float64(baseline)
	t.Logf("ORSet holds %d bytes, map[string]struct{} %d: %.2f×", set, baseline, ratio)
	if ratio > 1.6 {
		t.Errorf("ORSet holds %.2f× the plain map, want at most 1.6×", ratio)
	}
}

// TestORSetNoTombstones: after 100k adds and 100k removes of distinct
// elements by one writer, the encoding holds only the compacted causal
// context (at most 64 bytes) and the heap the set holds after a GC is at
// most 25% of its peak.
func TestORSetNoTombstones(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 100k elements; skipped in -short mode")
	}
	var s *crdt.ORSet[string]
	var peak uint64
	final := heapHeld(func() any {
		peak = heapHeld(func() any {
			s = new(crdt.ORSet[string])
			for i := range 100_000 {
				s.Add("us-east", elem(i))
			}
			return s
		})
		for i := range 100_000 {
			s.Remove(elem(i))
		}
		return s
	})
	// final was measured from before the peak was built: it is what the
	// set holds once emptied.
	t.Logf("peak %d bytes, after removing everything %d bytes (%.1f%%)", peak, final, 100*float64(final)/float64(peak))
	if float64(final) > 0.25*float64(peak) {
		t.Errorf("emptied set holds %d bytes, more than 25%% of its peak %d", final, peak)
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("encoding of the emptied set: %d bytes: %x", len(b), b)
	if len(b) > 64 {
		t.Errorf("encoding is %d bytes, want at most 64", len(b))
	}
}

// TestORSetAddDeltaSize: one Add's delta encodes to at most 64 bytes with a
// 16-byte replica id and a 16-byte element, deep into a replica's history.
func TestORSetAddDeltaSize(t *testing.T) {
	const id = "eu-west-1-node07" // 16 bytes
	var s crdt.ORSet[string]
	for i := range 70_000 { // counters past 65535 take 5 bytes
		s.Add(id, elem(i))
	}
	d := s.Add(id, "sku-000000000042")
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("delta: %d bytes: %x", len(b), b)
	if len(b) > 64 {
		t.Errorf("Add's delta encodes to %d bytes, want at most 64", len(b))
	}
}

// TestORSetSparseEncodingAllocates: encoding a set whose few survivors
// are far apart in their writer's history allocates for the survivors,
// not for the history between them.
func TestORSetSparseEncodingAllocates(t *testing.T) {
	var s crdt.ORSet[string]
	for i := range 100_000 {
		s.Add("us-east", elem(i))
	}
	for i := 1; i < 99_999; i++ {
		s.Remove(elem(i))
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b, err := s.MarshalBinary()
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<10 {
		t.Errorf("encoding 2 elements (%d bytes) allocated %d bytes", len(b), got)
	}
}

// TestValidateMergeKeepsNothing: validating a stale delta against a
// 100k-element ORSet — the delta's dot is one the set has since removed,
// so the check takes its slow path over all the set's dots — leaves the
// heap the set holds within 1.1× of what it held before. (An index of
// every dot, built by the check and kept for the state's life, once grew
// such a set's heap by 78%.)
func TestValidateMergeKeepsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 100k elements; skipped in -short mode")
	}
	var s *crdt.ORSet[string]
	var stale *crdt.ORSet[string]
	held := heapHeld(func() any {
		s = new(crdt.ORSet[string])
		stale = s.Add("us-east", "gone")
		for i := range 100_000 {
			s.Add("us-east", elem(i))
		}
		s.Remove("gone")
		return s
	})
	grown := heapHeld(func() any {
		if err := s.ValidateMerge(stale); err != nil {
			t.Fatalf("a stale delta is valid: %v", err)
		}
		return nil
	})
	runtime.KeepAlive(s)
	ratio := float64(held+grown) / float64(held)
	t.Logf("set holds %d bytes; after ValidateMerge of a stale delta %d more (%.3f×)", held, grown, ratio)
	if ratio > 1.1 {
		t.Errorf("ValidateMerge left %d bytes behind: %.3f× the set, want at most 1.1×", grown, ratio)
	}
}
