package crdt_test

import (
	"bytes"
	"errors"
	"runtime"
	"strconv"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/vclock"
)

type counterMap = crdt.ORMap[string, *crdt.CCounter]

// counters builds a map of n keys whose counters replica id incremented
// once each.
func counters(id string, n, from int) *counterMap {
	m := new(counterMap)
	for i := from; i < from+n; i++ {
		m.Update("item-"+strconv.Itoa(i), func(c *crdt.CCounter) *crdt.CCounter { return c.Inc(vclock.ReplicaID(id), 1) })
	}
	return m
}

// TestORMapNestedDeltaSize: in a 10k-key map, a nested counter increment's
// delta encodes to at most 96 bytes.
func TestORMapNestedDeltaSize(t *testing.T) {
	m := counters("eu-west-1-node07", 10_000, 0)
	d := m.Update("item-4242", func(c *crdt.CCounter) *crdt.CCounter { return c.Inc("eu-west-1-node07", 1) })
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("delta: %d bytes: %x", len(b), b)
	if len(b) > 96 {
		t.Errorf("nested increment delta is %d bytes, want at most 96", len(b))
	}
	// Two maps deep, still one dot's worth.
	outer := new(crdt.ORMap[string, *counterMap])
	for i := range 100 {
		outer.Update("cart-"+strconv.Itoa(i), func(in *counterMap) *counterMap {
			return in.Update("sku-1", func(c *crdt.CCounter) *crdt.CCounter { return c.Inc("us-east", 1) })
		})
	}
	d2 := outer.Update("cart-7", func(in *counterMap) *counterMap {
		return in.Update("sku-1", func(c *crdt.CCounter) *crdt.CCounter { return c.Inc("us-east", 1) })
	})
	b2, _ := d2.MarshalBinary()
	t.Logf("two levels deep: %d bytes", len(b2))
	if len(b2) > 96 {
		t.Errorf("two-level nested increment delta is %d bytes, want at most 96", len(b2))
	}
}

// BenchmarkORMapMerge merges two 10k-key maps of counters written by two
// replicas over half-shared keys after a shared history; keys/s counts
// both inputs.
func BenchmarkORMapMerge(b *testing.B) {
	x := counters("us-east", 5_000, 0)
	y := x.Clone()
	for i := 5_000; i < 10_000; i++ {
		k := "item-" + strconv.Itoa(i)
		x.Update(k, func(c *crdt.CCounter) *crdt.CCounter { return c.Inc("us-east", 1) })
	}
	for i := 10_000; i < 15_000; i++ {
		k := "item-" + strconv.Itoa(i)
		y.Update(k, func(c *crdt.CCounter) *crdt.CCounter { return c.Inc("eu-west", 1) })
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		z := x.Clone()
		runtime.GC()
		b.StartTimer()
		z.Merge(y)
		if z.Len() != 15_000 {
			b.Fatalf("Len() = %d, want 15000", z.Len())
		}
	}
	b.ReportMetric(float64(20_000*b.N)/b.Elapsed().Seconds(), "keys/s")
}

func BenchmarkORMapNestedIncrement(b *testing.B) {
	m := counters("us-east", 10_000, 0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Update("item-4242", func(c *crdt.CCounter) *crdt.CCounter { return c.Inc("us-east", 1) })
		if i%1000 == 999 { // keep the counter's event list bounded
			m.Update("item-4242", func(c *crdt.CCounter) *crdt.CCounter { return c.Reset() })
		}
	}
}

func FuzzORMapUnmarshalBinary(f *testing.F) {
	m := counters("us", 3, 0)
	f.Add(mustMarshal(f, m))
	f.Add(mustMarshal(f, m.Remove("item-1")))
	var sets crdt.ORMap[string, *crdt.ORMap[string, *crdt.ORSet[string]]]
	f.Add(mustMarshal(f, sets.Update("a", func(in *crdt.ORMap[string, *crdt.ORSet[string]]) *crdt.ORMap[string, *crdt.ORSet[string]] {
		return in.Update("b", func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add("eu", "x") })
	})))
	f.Add(mustMarshal(f, &sets))
	var pn crdt.ORMap[string, *crdt.PNCounter]
	pn.Update("a", func(c *crdt.PNCounter) *crdt.PNCounter { return c.Inc("us", 3) })
	f.Add(mustMarshal(f, pn.Update("a", func(c *crdt.PNCounter) *crdt.PNCounter { return c.Dec("eu", 1) })))
	f.Add(mustMarshal(f, &pn))
	var pn2 crdt.ORMap[string, *crdt.ORMap[string, *crdt.GCounter]]
	f.Add(mustMarshal(f, pn2.Update("a", func(in *crdt.ORMap[string, *crdt.GCounter]) *crdt.ORMap[string, *crdt.GCounter] {
		return in.Update("b", func(c *crdt.GCounter) *crdt.GCounter { return c.Inc("eu", 2) })
	})))
	f.Add(mustMarshal(f, &pn2))
	// Lists: elements, a removal's deletions, a hidden key, an insert
	// after another replica's element (the value lists that replica),
	// and two levels.
	var lists, other crdt.ORMap[string, *crdt.List[string]]
	f.Add(mustMarshal(f, lists.Update("a", func(l *crdt.List[string]) *crdt.List[string] { return l.Append("us", "x", "y") })))
	other.Merge(&lists)
	lists.Update("b", func(l *crdt.List[string]) *crdt.List[string] { return l.Append("eu", "z") })
	f.Add(mustMarshal(f, lists.Remove("a")))
	f.Add(mustMarshal(f, &lists))
	f.Add(mustMarshal(f, other.Update("a", func(l *crdt.List[string]) *crdt.List[string] { return l.Insert("eu", 1, "w") })))
	other.Merge(&lists)
	f.Add(mustMarshal(f, &other))
	var lists2 crdt.ORMap[string, *crdt.ORMap[string, *crdt.List[string]]]
	f.Add(mustMarshal(f, lists2.Update("a", func(in *crdt.ORMap[string, *crdt.List[string]]) *crdt.ORMap[string, *crdt.List[string]] {
		return in.Update("b", func(l *crdt.List[string]) *crdt.List[string] { return l.Append("eu", "x") })
	})))
	f.Add(mustMarshal(f, lists2.Remove("a")))
	f.Add(mustMarshal(f, &lists2))
	// Retired writers, one of them holding a List's element.
	rl, err := lists.Retire("eu", "us")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mustMarshal(f, rl))
	f.Add(mustMarshal(f, &lists))
	if _, err := sets.Retire("eu", "eu"); err != nil {
		f.Fatal(err)
	}
	f.Add(mustMarshal(f, &sets))
	// A List's runs stand for many elements in a few bytes: bound them.
	listOpts := crdt.DecodeOptions{MaxElements: 4096}
	f.Fuzz(func(t *testing.T, in []byte) {
		check := func(v interface {
			UnmarshalBinary([]byte) error
			MarshalBinary() ([]byte, error)
		}) {
			if err := v.UnmarshalBinary(in); err != nil {
				return
			}
			if out, _ := v.MarshalBinary(); !bytes.Equal(out, in) {
				t.Fatalf("accepted non-canonical input %x, canonical %x", in, out)
			}
		}
		check(new(counterMap))
		check(new(crdt.ORMap[string, *crdt.ORMap[string, *crdt.ORSet[string]]]))
		check(new(crdt.ORMap[string, *crdt.LWWRegister[string]]))
		check(new(crdt.ORMap[string, *crdt.PNCounter]))
		check(new(crdt.ORMap[string, *crdt.ORMap[string, *crdt.GCounter]]))
		checkLists := func(v interface {
			crdt.Unmarshaler
			MarshalBinary() ([]byte, error)
			CheckInternal() error
		}) {
			if err := listOpts.Unmarshal(in, v); err != nil {
				if !errors.Is(err, crdt.ErrMalformed) && !errors.Is(err, crdt.ErrUnsupported) {
					t.Fatalf("untyped error %v", err)
				}
				return
			}
			if err := v.CheckInternal(); err != nil {
				t.Fatalf("decoded %x: %v", in, err)
			}
			if out, _ := v.MarshalBinary(); !bytes.Equal(out, in) {
				t.Fatalf("accepted non-canonical input %x, canonical %x", in, out)
			}
		}
		checkLists(new(crdt.ORMap[string, *crdt.List[string]]))
		checkLists(new(crdt.ORMap[string, *crdt.ORMap[string, *crdt.List[string]]]))
	})
}

// BenchmarkORMapCounterFootprint builds a map of 1,000 keys, each
// incremented 1,000 times by four replicas in turn, once with PNCounter
// values and once with CCounter values, and reports the heap the map
// keeps and its encoded size: a PNCounter keeps one entry a replica, a
// CCounter one event an increment.
func BenchmarkORMapCounterFootprint(b *testing.B) {
	const keys, incs = 1000, 1000
	ids := []vclock.ReplicaID{"us-east", "us-west", "eu-west", "ap-south"}
	key := func(i int) string { return "page-" + strconv.Itoa(i) }
	run := func(b *testing.B, build func() interface{ MarshalBinary() ([]byte, error) }) {
		var heap uint64
		var enc int
		for b.Loop() {
			var m interface{ MarshalBinary() ([]byte, error) }
			heap = heapHeld(func() any { m = build(); return m })
			out, err := m.MarshalBinary()
			if err != nil {
				b.Fatal(err)
			}
			enc = len(out)
		}
		b.ReportMetric(float64(heap), "heap-B")
		b.ReportMetric(float64(enc), "encoded-B")
	}
	b.Run("PNCounter", func(b *testing.B) {
		run(b, func() interface{ MarshalBinary() ([]byte, error) } {
			m := new(crdt.ORMap[string, *crdt.PNCounter])
			for i := range keys {
				k := key(i)
				for j := range incs {
					m.Update(k, func(c *crdt.PNCounter) *crdt.PNCounter { return c.Inc(ids[j%4], 1) })
				}
			}
			return m
		})
	})
	b.Run("CCounter", func(b *testing.B) {
		run(b, func() interface{ MarshalBinary() ([]byte, error) } {
			m := new(crdt.ORMap[string, *crdt.CCounter])
			for i := range keys {
				k := key(i)
				for j := range incs {
					m.Update(k, func(c *crdt.CCounter) *crdt.CCounter { return c.Inc(ids[j%4], 1) })
				}
			}
			return m
		})
	})
}
