package vclock

import (
	"fmt"
	"maps"
	"testing"

	"github.com/converge-go/converge/internal/vv"
	"pgregory.net/rapid"
)

var replicaGen = rapid.SampledFrom([]ReplicaID{"", "a", "b", "c", "eu-west", "us-east", "ap-south"})

// countsGen draws a replica → count map that may hold explicit zeros.
var countsGen = rapid.MapOf(replicaGen, rapid.OneOf(rapid.Just[uint64](0), rapid.Uint64Range(0, 4), rapid.Uint64Range(0, MaxCounter)))

// modelCompare is the partial order by brute force: every replica named by
// either side, a missing one counting as zero.
func modelCompare(a, b map[ReplicaID]uint64) Order {
	le, ge := true, true
	for _, id := range keysOf(a, b) {
		if a[id] > b[id] {
			le = false
		}
		if a[id] < b[id] {
			ge = false
		}
	}
	switch {
	case le && ge:
		return Equal
	case le:
		return Before
	case ge:
		return After
	}
	return Concurrent
}

func keysOf(ms ...map[ReplicaID]uint64) []ReplicaID {
	seen := map[ReplicaID]bool{}
	var out []ReplicaID
	for _, m := range ms {
		for id := range m {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

// rawClock builds a clock that keeps explicit zero entries, which FromMap
// drops, to check that the algorithms treat them as absent.
func rawClock(m map[ReplicaID]uint64) *Clock {
	c := FromMap(m)
	for id, n := range m {
		if n == 0 {
			i, _ := c.e.Search(id)
			c.e = append(c.e[:i], append(vv.Vector[ReplicaID]{{ID: id}}, c.e[i:]...)...)
		}
	}
	return c
}

func TestCompareMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := countsGen.Draw(t, "a"), countsGen.Draw(t, "b")
		want := modelCompare(a, b)
		if got := FromMap(a).Compare(FromMap(b)); got != want {
			t.Fatalf("FromMap(%v).Compare(%v) = %v, want %v", a, b, got, want)
		}
		if got := rawClock(a).Compare(rawClock(b)); got != want {
			t.Fatalf("with explicit zeros, %v.Compare(%v) = %v, want %v", a, b, got, want)
		}
		if got, want := FromMap(a).Descends(FromMap(b)), want == Equal || want == After; got != want {
			t.Fatalf("%v.Descends(%v) = %v, want %v", a, b, got, want)
		}
	})
}

func TestExplicitZeroEqualsEmpty(t *testing.T) {
	zero := map[ReplicaID]uint64{"a": 0}
	if got := FromMap(zero).Compare(&Clock{}); got != Equal {
		t.Errorf("{a:0}.Compare({}) = %v, want Equal", got)
	}
	if got := rawClock(zero).Compare(&Clock{}); got != Equal {
		t.Errorf("raw {a:0}.Compare({}) = %v, want Equal", got)
	}
	if got := (&Clock{}).Compare(rawClock(zero)); got != Equal {
		t.Errorf("{}.Compare(raw {a:0}) = %v, want Equal", got)
	}
	if got := FromMap(zero).Len(); got != 0 {
		t.Errorf("FromMap({a:0}).Len() = %d, want 0", got)
	}
	var nilClock *Clock
	if got := nilClock.Compare(rawClock(zero)); got != Equal {
		t.Errorf("nil.Compare(raw {a:0}) = %v, want Equal", got)
	}
}

func toMap(c *Clock) map[ReplicaID]uint64 {
	return maps.Collect(c.All())
}

func TestMergeIsPointwiseMax(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := countsGen.Draw(t, "a"), countsGen.Draw(t, "b")
		c := FromMap(a)
		c.Merge(FromMap(b))
		want := map[ReplicaID]uint64{}
		for _, id := range keysOf(a, b) {
			if m := max(a[id], b[id]); m > 0 {
				want[id] = m
			}
		}
		if got := toMap(c); !maps.Equal(got, want) {
			t.Fatalf("%v merged with %v = %v, want %v", a, b, got, want)
		}
		if !c.Descends(FromMap(a)) || !c.Descends(FromMap(b)) {
			t.Fatalf("merge %v does not descend from both inputs", c)
		}
	})
}

func TestMergeLaws(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b, c := FromMap(countsGen.Draw(t, "a")), FromMap(countsGen.Draw(t, "b")), FromMap(countsGen.Draw(t, "c"))
		join := func(x, y *Clock) *Clock { z := x.Clone(); z.Merge(y); return z }
		if ab, ba := join(a, b), join(b, a); !ab.Equal(ba) {
			t.Fatalf("not commutative: %v vs %v", ab, ba)
		}
		if l, r := join(join(a, b), c), join(a, join(b, c)); !l.Equal(r) {
			t.Fatalf("not associative: %v vs %v", l, r)
		}
		if aa := join(a, a); !aa.Equal(a) {
			t.Fatalf("not idempotent: %v merged with itself = %v", a, aa)
		}
		self := a.Clone()
		self.Merge(self)
		if !self.Equal(a) {
			t.Fatalf("merging a clock into itself changed it: %v, want %v", self, a)
		}
	})
}

func TestTick(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ids := rapid.SliceOf(replicaGen).Draw(t, "ticks")
		var c Clock
		model := map[ReplicaID]uint64{}
		for _, id := range ids {
			before := c.Clone()
			model[id]++
			if got := c.Tick(id); got != model[id] {
				t.Fatalf("Tick(%q) = %d, want %d", id, got, model[id])
			}
			if got := c.Compare(before); got != After {
				t.Fatalf("after Tick, Compare(before) = %v, want After", got)
			}
		}
		if got := toMap(&c); !maps.Equal(got, model) {
			t.Fatalf("clock %v, want %v", got, model)
		}
		for id, n := range model {
			if got := c.Get(id); got != n {
				t.Fatalf("Get(%q) = %d, want %d", id, got, n)
			}
		}
		if got := c.Get("never"); got != 0 {
			t.Fatalf("Get of an unseen replica = %d, want 0", got)
		}
	})
}

func TestMergeInPlaceDoesNotAliasArgument(t *testing.T) {
	a := FromMap(map[ReplicaID]uint64{"a": 1})
	b := FromMap(map[ReplicaID]uint64{"a": 2, "b": 1})
	a.Merge(b)
	a.Tick("b")
	if got := b.Get("b"); got != 1 {
		t.Fatalf("ticking the merged clock changed the argument: b.Get(b) = %d, want 1", got)
	}
}

func TestTickOverflowPanics(t *testing.T) {
	c := FromMap(map[ReplicaID]uint64{"a": 1<<64 - 1})
	defer func() {
		if recover() == nil {
			t.Fatal("Tick past the end of uint64 did not panic")
		}
	}()
	c.Tick("a")
}

func TestOrderString(t *testing.T) {
	for o, want := range map[Order]string{Equal: "Equal", Before: "Before", After: "After", Concurrent: "Concurrent", 9: "Order(9)"} {
		if got := o.String(); got != want {
			t.Errorf("Order(%d).String() = %q, want %q", int(o), got, want)
		}
	}
	if got, want := FromMap(map[ReplicaID]uint64{"b": 2, "a": 1}).String(), "{a:1 b:2}"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func BenchmarkCompare16(b *testing.B) {
	x, y := map[ReplicaID]uint64{}, map[ReplicaID]uint64{}
	for i := range 16 {
		id := ReplicaID(fmt.Sprintf("region-%02d", i))
		x[id], y[id] = uint64(100+i), uint64(100+i)
	}
	y["region-07"]++ // one difference: the whole walk is needed to know
	cx, cy := FromMap(x), FromMap(y)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if cx.Compare(cy) != Before {
			b.Fatal("wrong order")
		}
	}
}

func BenchmarkMerge16(b *testing.B) {
	x, y := map[ReplicaID]uint64{}, map[ReplicaID]uint64{}
	for i := range 16 {
		id := ReplicaID(fmt.Sprintf("region-%02d", i))
		x[id], y[id] = uint64(100+i), uint64(100+16-i)
	}
	cx, cy := FromMap(x), FromMap(y)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cx.Merge(cy)
	}
}

func BenchmarkTick(b *testing.B) {
	c := FromMap(map[ReplicaID]uint64{"us-east": 1, "eu-west": 1, "ap-south": 1})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Tick("eu-west")
	}
}
