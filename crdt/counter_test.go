package crdt_test

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/crdt/crdttest"
	"github.com/converge-go/converge/vclock"
	"pgregory.net/rapid"
)

// amountGen draws increments, mostly small, sometimes huge to reach the
// saturation paths.
var amountGen = rapid.OneOf(rapid.Uint64Range(0, 5), rapid.Uint64Range(0, math.MaxUint64))

func TestGCounter(t *testing.T) {
	crdttest.Check(t, crdttest.Spec[*crdt.GCounter]{
		New: func() *crdt.GCounter { return new(crdt.GCounter) },
		Op: rapid.Custom(func(t *rapid.T) crdttest.Op[*crdt.GCounter] {
			n := amountGen.Draw(t, "n")
			return crdttest.Op[*crdt.GCounter]{
				Name: fmt.Sprintf("inc %d", n), Arg: n,
				Apply: func(r *crdttest.Replica, c *crdt.GCounter) *crdt.GCounter { return c.Inc(r.ID, n) },
			}
		}),
		Model: func(t *rapid.T, h *crdttest.History[*crdt.GCounter], final *crdt.GCounter) {
			// Each replica's count is the saturating sum of its increments.
			want := map[vclock.ReplicaID]uint64{}
			for _, e := range h.Events {
				want[e.Replica] = satAdd(want[e.Replica], e.Op.Arg.(uint64))
				if want[e.Replica] == 0 {
					delete(want, e.Replica)
				}
			}
			if got := maps.Collect(final.All()); !maps.Equal(got, want) {
				t.Fatalf("counts %v, want %v", got, want)
			}
			var sum uint64
			for _, n := range want {
				sum = satAdd(sum, n)
			}
			if got := final.Value(); got != sum {
				t.Fatalf("Value() = %d, want %d", got, sum)
			}
		},
	})
}

func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return math.MaxUint64
	}
	return a + b
}

func TestPNCounter(t *testing.T) {
	crdttest.Check(t, crdttest.Spec[*crdt.PNCounter]{
		New: func() *crdt.PNCounter { return new(crdt.PNCounter) },
		Op: rapid.Custom(func(t *rapid.T) crdttest.Op[*crdt.PNCounter] {
			n := rapid.Uint64Range(0, 1000).Draw(t, "n")
			if rapid.Bool().Draw(t, "dec") {
				return crdttest.Op[*crdt.PNCounter]{
					Name: fmt.Sprintf("dec %d", n), Arg: -int64(n),
					Apply: func(r *crdttest.Replica, c *crdt.PNCounter) *crdt.PNCounter { return c.Dec(r.ID, n) },
				}
			}
			return crdttest.Op[*crdt.PNCounter]{
				Name: fmt.Sprintf("inc %d", n), Arg: int64(n),
				Apply: func(r *crdttest.Replica, c *crdt.PNCounter) *crdt.PNCounter { return c.Inc(r.ID, n) },
			}
		}),
		Model: func(t *rapid.T, h *crdttest.History[*crdt.PNCounter], final *crdt.PNCounter) {
			var want int64
			for _, e := range h.Events {
				want += e.Op.Arg.(int64)
			}
			if got := final.Value(); got != want {
				t.Fatalf("Value() = %d, want %d", got, want)
			}
		},
	})
}

func TestGCounterSaturates(t *testing.T) {
	var c crdt.GCounter
	c.Inc("a", math.MaxUint64-1)
	c.Inc("a", 5)
	c.Inc("b", 3)
	if got := c.Get("a"); got != math.MaxUint64 {
		t.Errorf("Get(a) = %d, want %d", got, uint64(math.MaxUint64))
	}
	if got := c.Value(); got != math.MaxUint64 {
		t.Errorf("Value() = %d, want %d", got, uint64(math.MaxUint64))
	}
}

func TestPNCounterValueClamps(t *testing.T) {
	var c crdt.PNCounter
	c.Dec("a", math.MaxUint64)
	if got := c.Value(); got != math.MinInt64 {
		t.Errorf("Value() = %d, want %d", got, int64(math.MinInt64))
	}
	c.Inc("b", math.MaxUint64)
	c.Inc("c", math.MaxUint64)
	if got := c.Value(); got != 0 {
		t.Errorf("Value() = %d, want 0 (both halves saturated)", got)
	}
	var d crdt.PNCounter
	d.Inc("a", math.MaxUint64)
	if got := d.Value(); got != math.MaxInt64 {
		t.Errorf("Value() = %d, want %d", got, int64(math.MaxInt64))
	}
}

func TestCounterDeltaIsSmall(t *testing.T) {
	var c crdt.GCounter
	for _, id := range []vclock.ReplicaID{"a", "b", "c"} {
		c.Inc(id, 1)
	}
	d := c.Inc("b", 2)
	if got := maps.Collect(d.All()); !maps.Equal(got, map[vclock.ReplicaID]uint64{"b": 3}) {
		t.Fatalf("delta holds %v, want {b:3}", got)
	}
	if d := new(crdt.GCounter).Inc("a", 0); d.Value() != 0 || len(maps.Collect(d.All())) != 0 {
		t.Fatalf("Inc by 0 of a new replica gave a non-empty delta")
	}
}

var counterIDs = []vclock.ReplicaID{"us-east", "us-west", "eu-west", "ap-south"}

func BenchmarkBaselineMapIncrement(b *testing.B) {
	m := map[string]uint64{}
	for _, id := range counterIDs {
		m[string(id)] = 1
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m[string(counterIDs[i&3])]++
	}
}

func BenchmarkGCounterInc(b *testing.B) {
	var c crdt.GCounter
	for _, id := range counterIDs {
		c.Inc(id, 1)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Inc(counterIDs[i&3], 1)
	}
}

func FuzzGCounterUnmarshalBinary(f *testing.F) {
	var c crdt.GCounter
	f.Add(mustMarshal(f, c.Inc("us-east", 3)))
	c.Inc("eu-west", 1<<40)
	f.Add(mustMarshal(f, &c))
	f.Fuzz(func(t *testing.T, in []byte) {
		var got crdt.GCounter
		if err := got.UnmarshalBinary(in); err != nil {
			return
		}
		if out, _ := got.MarshalBinary(); !bytes.Equal(out, in) {
			t.Fatalf("accepted non-canonical input %x, canonical %x", in, out)
		}
	})
}

func FuzzPNCounterUnmarshalBinary(f *testing.F) {
	var c crdt.PNCounter
	f.Add(mustMarshal(f, c.Inc("us-east", 3)))
	f.Add(mustMarshal(f, c.Dec("eu-west", 7)))
	f.Add(mustMarshal(f, &c))
	f.Fuzz(func(t *testing.T, in []byte) {
		var got crdt.PNCounter
		if err := got.UnmarshalBinary(in); err != nil {
			return
		}
		if out, _ := got.MarshalBinary(); !bytes.Equal(out, in) {
			t.Fatalf("accepted non-canonical input %x, canonical %x", in, out)
		}
	})
}

// TestCounterDeltaGroups: a delta is a counter like any other; counting
// into it (as a sender batching deltas does) keeps what it held.
func TestCounterDeltaGroups(t *testing.T) {
	var c crdt.GCounter
	d := c.Inc("us-east", 1)
	d.Inc("eu-west", 2)
	if d.Value() != 3 {
		t.Fatalf("delta group Value() = %d, want 3", d.Value())
	}
	d.Merge(c.Inc("us-east", 4))
	if d.Value() != 7 {
		t.Fatalf("delta group Value() = %d, want 7", d.Value())
	}
	var p crdt.PNCounter
	pd := p.Inc("us-east", 5)
	pd.Dec("eu-west", 2)
	if pd.Value() != 3 {
		t.Fatalf("PNCounter delta group Value() = %d, want 3", pd.Value())
	}
}
