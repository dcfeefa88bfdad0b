package vclock

import (
	"bytes"
	"slices"
	"testing"

	"github.com/converge-go/converge/internal/vv"
	"pgregory.net/rapid"
)

var smallReplicaGen = rapid.SampledFrom([]ReplicaID{"a", "b", "c"})

// dotGen draws dots with small counters so that runs, gaps and repeats all
// happen often.
var dotGen = rapid.Custom(func(t *rapid.T) Dot {
	return Dot{smallReplicaGen.Draw(t, "replica"), rapid.Uint64Range(0, 12).Draw(t, "counter")}
})

// universe is every dot the generators can produce, plus one beyond.
func universe() []Dot {
	var out []Dot
	for _, id := range []ReplicaID{"a", "b", "c", "z"} {
		for n := uint64(0); n <= 14; n++ {
			out = append(out, Dot{id, n})
		}
	}
	return out
}

// checkMembership fails unless c contains exactly the dots of model.
func checkMembership(t *rapid.T, c *Context, model map[Dot]bool) {
	t.Helper()
	for _, d := range universe() {
		if got, want := c.Contains(d), model[d]; got != want {
			t.Fatalf("Contains(%v) = %v, want %v (context %v)", d, got, want, c)
		}
	}
}

// checkCompact fails unless c keeps its invariant.
func checkCompact(t *rapid.T, c *Context) {
	t.Helper()
	for id, s := range c.cloud {
		if len(s) == 0 {
			t.Fatalf("empty cloud kept for %q", id)
		}
		if s[0] <= c.vv.Get(id)+1 {
			t.Fatalf("cloud %v of %q is covered by or continues the version vector %v", s, id, &c.vv)
		}
		if !slices.IsSorted(s) || len(slices.Compact(slices.Clone(s))) != len(s) {
			t.Fatalf("cloud %v of %q not strictly ascending", s, id)
		}
	}
	for _, e := range c.vv.e {
		if e.N == 0 {
			t.Fatalf("zero entry for %q in the version vector", e.ID)
		}
	}
}

func TestContextContainsAfterAdd(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		dots := rapid.SliceOf(dotGen).Draw(t, "dots")
		var c Context
		model := map[Dot]bool{}
		for _, d := range dots {
			c.Add(d)
			if d.Counter > 0 {
				model[d] = true
			}
			if d.Counter > 0 && !c.Contains(d) {
				t.Fatalf("Contains(%v) = false right after Add", d)
			}
			checkCompact(t, &c)
		}
		checkMembership(t, &c, model)

		// Any other order of the same adds gives the same context.
		perm := rapid.Permutation(dots).Draw(t, "perm")
		var p Context
		for _, d := range perm {
			p.Add(d)
		}
		if !p.Equal(&c) {
			t.Fatalf("adds in another order give %v, want %v", &p, &c)
		}
		pb, _ := p.MarshalBinary()
		cb, _ := c.MarshalBinary()
		if !bytes.Equal(pb, cb) {
			t.Fatalf("same dots, different bytes: %x vs %x", pb, cb)
		}
	})
}

func TestContextNext(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var c Context
		for _, d := range rapid.SliceOf(dotGen).Draw(t, "dots") {
			c.Add(d)
		}
		id := smallReplicaGen.Draw(t, "id")
		before := c.Clone()
		d := c.Next(id)
		if before.Contains(d) {
			t.Fatalf("Next(%q) = %v, which was already seen", id, d)
		}
		for n := d.Counter + 1; n <= 14; n++ {
			if before.Contains(Dot{id, n}) {
				t.Fatalf("Next(%q) = %v, below the seen dot %v", id, d, Dot{id, n})
			}
		}
		if !c.Contains(d) || c.Max(id) != d.Counter {
			t.Fatalf("after Next(%q) = %v: Contains %v, Max %d", id, d, c.Contains(d), c.Max(id))
		}
	})
}

func TestContextMergeIsUnion(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		build := func(label string) (*Context, map[Dot]bool) {
			c, m := &Context{}, map[Dot]bool{}
			for _, d := range rapid.SliceOf(dotGen).Draw(t, label) {
				c.Add(d)
				if d.Counter > 0 {
					m[d] = true
				}
			}
			return c, m
		}
		a, am := build("a")
		b, bm := build("b")
		c, _ := build("c")
		ab := a.Clone()
		ab.Merge(b)
		checkCompact(t, ab)
		union := map[Dot]bool{}
		for d := range am {
			union[d] = true
		}
		for d := range bm {
			union[d] = true
		}
		checkMembership(t, ab, union)

		ba := b.Clone()
		ba.Merge(a)
		if !ab.Equal(ba) {
			t.Fatalf("not commutative: %v vs %v", ab, ba)
		}
		l, r := ab.Clone(), b.Clone()
		l.Merge(c)
		r.Merge(c)
		r.Merge(a)
		if !l.Equal(r) {
			t.Fatalf("not associative: %v vs %v", l, r)
		}
		aa := a.Clone()
		aa.Merge(a)
		if !aa.Equal(a) {
			t.Fatalf("not idempotent: %v vs %v", aa, a)
		}
		if got := a.Clone(); !got.Equal(a) {
			t.Fatalf("Clone = %v, want %v", got, a)
		}
	})
}

// TestCompactKeepsMembership builds contexts that break the compact
// invariant on purpose — the public methods never leave one so — and checks
// that Compact restores it without changing membership.
func TestCompactKeepsMembership(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := &Context{}
		model := map[Dot]bool{}
		for _, id := range []ReplicaID{"a", "b", "c"} {
			top := rapid.Uint64Range(0, 6).Draw(t, "vv")
			if top > 0 {
				c.vv.e = append(c.vv.e, vv.Entry[ReplicaID]{ID: id, N: top})
			}
			for n := uint64(1); n <= top; n++ {
				model[Dot{id, n}] = true
			}
			cloud := rapid.SliceOfDistinct(rapid.Uint64Range(1, 12), func(n uint64) uint64 { return n }).Draw(t, "cloud")
			slices.Sort(cloud)
			if len(cloud) > 0 {
				if c.cloud == nil {
					c.cloud = map[ReplicaID][]uint64{}
				}
				c.cloud[id] = cloud
			}
			for _, n := range cloud {
				model[Dot{id, n}] = true
			}
		}
		checkMembership(t, c, model)
		c.Compact()
		checkCompact(t, c)
		checkMembership(t, c, model)
		again := c.Clone()
		again.Compact()
		if !again.Equal(c) {
			t.Fatalf("Compact is not idempotent: %v then %v", c, again)
		}
	})
}

func TestContextString(t *testing.T) {
	var c Context
	for _, d := range []Dot{{"a", 1}, {"a", 2}, {"a", 5}, {"b", 1}, {"c", 3}} {
		c.Add(d)
	}
	if got, want := c.String(), "{a:2 b:1} + [a:5 c:3]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	var cloud []Dot
	for d := range c.Cloud() {
		cloud = append(cloud, d)
	}
	if want := []Dot{{"a", 5}, {"c", 3}}; !slices.Equal(cloud, want) {
		t.Errorf("Cloud() = %v, want %v", cloud, want)
	}
	if got, want := c.VersionVector().String(), "{a:2 b:1}"; got != want {
		t.Errorf("VersionVector() = %q, want %q", got, want)
	}
}

func TestNilContextReadsEmpty(t *testing.T) {
	var c *Context
	if c.Contains(Dot{"a", 1}) || c.Max("a") != 0 || c.VersionVector().Len() != 0 || !c.Equal(&Context{}) {
		t.Fatal("a nil *Context does not read as empty")
	}
	var got Context
	got.Merge(c)
	if !got.Equal(&Context{}) {
		t.Fatalf("merging nil gave %v, want empty", &got)
	}
}

func BenchmarkContextAddInOrder(b *testing.B) {
	var c Context
	c.Add(Dot{"us-east", 1})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Add(Dot{"us-east", uint64(i + 2)})
	}
}

func BenchmarkContextContains(b *testing.B) {
	var c Context
	for _, id := range []ReplicaID{"us-east", "us-west", "eu-west", "ap-south"} {
		for n := uint64(1); n <= 1000; n++ {
			c.Add(Dot{id, n})
		}
		c.Add(Dot{id, 2000})
	}
	d := Dot{"eu-west", 2000}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !c.Contains(d) {
			b.Fatal("missing dot")
		}
	}
}
