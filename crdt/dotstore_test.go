package crdt

import (
	"testing"

	"github.com/converge-go/converge/internal/wire"
)

// These tests hold the dot store to the memory policy its comments state:
// a slice up to smallStore elements, a table beyond, a table rebuilt once it
// has lost half its peak, and room reserved only in an empty store.

func storeOf(n int) *dotStore[int] {
	var s dotStore[int]
	for i := range n {
		pv, _ := pack(tdot{dot{0, uint64(i + 1)}, false})
		s.put(i, pv)
	}
	return &s
}

func TestDotStoreSmallThenTable(t *testing.T) {
	s := storeOf(smallStore)
	if s.t != nil || len(s.small) != smallStore {
		t.Fatalf("%d elements: table %v, slice of %d; want a slice", smallStore, s.t != nil, len(s.small))
	}
	s = storeOf(smallStore + 1)
	if s.t == nil || s.small != nil || s.len() != smallStore+1 || s.peak != smallStore+1 {
		t.Fatalf("%d elements: table of %d (peak %d), slice of %d; want a table", smallStore+1, s.len(), s.peak, len(s.small))
	}
	for i := range smallStore + 1 {
		if v, ok := s.get(i); !ok || unpack(v).c != uint64(i+1) {
			t.Fatalf("element %d lost in the move to a table", i)
		}
	}
}

func TestDotStorePeakAndRebuild(t *testing.T) {
	s := storeOf(100)
	if s.peak != 100 {
		t.Fatalf("peak %d after 100 puts, want 100", s.peak)
	}
	for i := range 49 {
		s.del(i)
	}
	if s.peak != 100 || s.len() != 51 {
		t.Fatalf("after 49 deletes: peak %d, %d elements; want 100, 51 (no rebuild yet)", s.peak, s.len())
	}
	s.del(49)
	if s.peak != 50 || s.len() != 50 {
		t.Fatalf("at half the peak: peak %d, %d elements; want a rebuilt table of 50", s.peak, s.len())
	}
	// Rebuilt again at 25 and 12; at 6 — half of 12, and few enough for a
	// slice — the table gives way to a slice.
	for i := 50; i < 93; i++ {
		s.del(i)
	}
	if s.t == nil || s.peak != 12 {
		t.Fatalf("at 7 elements: table %v, peak %d; want a table, peak 12", s.t != nil, s.peak)
	}
	s.del(93)
	if s.t != nil || len(s.small) != 6 {
		t.Fatalf("at 6 elements: table %v, slice of %d; want a slice", s.t != nil, len(s.small))
	}
	for i := 94; i < 100; i++ {
		if _, ok := s.get(i); !ok {
			t.Fatalf("element %d lost in a rebuild", i)
		}
	}
}

func TestDotStoreReserve(t *testing.T) {
	var s dotStore[int]
	s.reserve(smallStore)
	if s.t != nil {
		t.Fatal("reserve(smallStore) made a table; a slice holds that many")
	}
	s.reserve(100)
	if s.t == nil || s.peak != 100 {
		t.Fatalf("reserve(100): table %v, peak %d; want a table, peak 100", s.t != nil, s.peak)
	}
	full := storeOf(3)
	full.reserve(100)
	if full.t != nil {
		t.Fatal("reserve on a store holding elements replaced it")
	}
	big := storeOf(20)
	big.reserve(1000)
	if big.peak != 20 || big.len() != 20 {
		t.Fatal("reserve on a table holding elements replaced it")
	}
}

func TestPackBounds(t *testing.T) {
	for _, tt := range []struct {
		d  tdot
		ok bool
	}{
		{tdot{dot{0, 1}, false}, true},
		{tdot{dot{7, packCounterMask}, true}, true},
		{tdot{dot{packMaxReplica - 1, 5}, false}, true},
		{tdot{dot{0, 0}, false}, false},
		{tdot{dot{0, packCounterMask + 1}, false}, false},
		{tdot{dot{packMaxReplica, 5}, false}, false},
	} {
		v, ok := pack(tt.d)
		if ok != tt.ok {
			t.Errorf("pack(%v) ok = %v, want %v", tt.d, ok, tt.ok)
			continue
		}
		if ok && (v == 0 || unpack(v) != tt.d) {
			t.Errorf("unpack(pack(%v)) = %v (packed %x)", tt.d, unpack(v), v)
		}
	}
}

// TestCountEntries: the decoder sizes its map by this count, so it must be
// the number of (gap, element) pairs, across replica groups.
func TestCountEntries(t *testing.T) {
	var s ORSet[string]
	for _, e := range []string{"a", "b", "c"} {
		s.Add("us-east", e)
	}
	for _, e := range []string{"d", "e"} {
		s.Add("eu-west", e)
	}
	s.Add("ap-south", "f")
	b, err := s.m.appendTo(nil, false)
	if err != nil {
		t.Fatal(err)
	}
	r := wire.NewReader(b, wire.Limits{})
	r.Bool()
	readCtx(&r)
	if r.Failed() {
		t.Fatal(r.Err())
	}
	if n := countEntries(r); n != 6 {
		t.Fatalf("countEntries = %d, want 6", n)
	}
}
