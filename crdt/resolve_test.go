package crdt_test

import (
	"slices"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/vclock"
	"pgregory.net/rapid"
)

// epoch is the physical time the tests' clocks start at.
var epoch = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixNano()

type stampedProfile struct {
	Name  string
	Email string
}

func TestStampedRoundTrip(t *testing.T) {
	clock := hlc.New(hlc.WithPhysicalClock(func() int64 { return epoch }))
	var m crdt.MVRegister[crdt.Stamped[stampedProfile]]
	m.Set("us-east", crdt.Stamp(stampedProfile{"Ada", "ada@example.com"}, "us-east", clock))
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got crdt.MVRegister[crdt.Stamped[stampedProfile]]
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !got.Equal(&m) {
		t.Fatalf("got %v, want %v", &got, &m)
	}
	if s := got.Values()[0]; s.Value.Name != "Ada" || s.By != "us-east" || s.At == 0 {
		t.Fatalf("got %+v", s)
	}
}

// TestLastWriterWinsMatchesLWWRegister: writes stored both in an
// LWWRegister and, stamped, in an MVRegister, delivered in any order;
// once every replica has every write, LastWriterWins over the MVRegister's
// siblings reads what the LWWRegister holds.
func TestLastWriterWinsMatchesLWWRegister(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		type replica struct {
			id    vclock.ReplicaID
			clock *hlc.Clock
			lww   crdt.LWWRegister[string]
			mv    crdt.MVRegister[crdt.Stamped[string]]
		}
		now := epoch
		var reps []*replica
		for _, id := range []vclock.ReplicaID{"us-east", "eu-west", "ap-south"} {
			skew := rapid.Int64Range(-int64(50*time.Millisecond), int64(50*time.Millisecond)).Draw(t, "skew")
			reps = append(reps, &replica{id: id, clock: hlc.New(hlc.WithPhysicalClock(func() int64 { return now + skew }), hlc.WithMaxOffset(0))})
		}
		steps := rapid.IntRange(1, 30).Draw(t, "steps")
		for s := 0; s < steps; s++ {
			now += rapid.Int64Range(0, int64(20*time.Millisecond)).Draw(t, "elapse")
			r := reps[rapid.IntRange(0, 2).Draw(t, "at")]
			if rapid.Bool().Draw(t, "write") {
				v := crdt.Stamp(rapid.SampledFrom([]string{"red", "green", "blue"}).Draw(t, "v"), r.id, r.clock)
				r.lww.Set(r.id, v.Value, v.At)
				r.mv.Set(r.id, v)
				continue
			}
			o := reps[rapid.IntRange(0, 2).Draw(t, "from")]
			r.clock.Update(o.clock.Now())
			r.lww.Merge(&o.lww)
			r.mv.Merge(&o.mv)
		}
		for _, r := range reps {
			for _, o := range reps {
				r.lww.Merge(&o.lww)
				r.mv.Merge(&o.mv)
			}
		}
		for _, r := range reps {
			want, ok := r.lww.Stamped()
			got, ok2 := r.mv.Resolve(crdt.LastWriterWins[string])
			if ok != ok2 || got != want {
				t.Fatalf("%s: LastWriterWins read %v (%v), LWWRegister holds %v (%v); siblings %v", r.id, got, ok2, want, ok, r.mv.Values())
			}
		}
	})
}

func TestResolveSiblingsSettle(t *testing.T) {
	var a, b crdt.MVRegister[int]
	if _, ok := a.Resolve(func([]int) int { panic("called") }); ok {
		t.Fatal("Resolve of an unwritten register reported a value")
	}
	if _, d, ok := a.Settle("us-east", func([]int) int { panic("called") }); ok || d != nil {
		t.Fatal("Settle of an unwritten register")
	}
	a.Set("us-east", 3)
	if v, d, ok := a.Settle("us-east", func([]int) int { panic("called") }); !ok || v != 3 || d != nil {
		t.Fatalf("Settle of one value: got %v, %v, %v", v, d, ok)
	}
	b.Set("eu-west", 5)
	a.Merge(&b)
	b.Merge(&a)
	maxOf := func(vs []int) int { return slices.Max(vs) }
	if vs, conflict := a.Siblings(); !conflict || !slices.Equal(vs, []int{5, 3}) {
		t.Fatalf("Siblings: got %v, %v; want [5 3] (eu-west < us-east by ID), true", vs, conflict)
	}
	if v, ok := a.Resolve(maxOf); !ok || v != 5 {
		t.Fatalf("Resolve: got %v, %v", v, ok)
	}
	v, d, ok := a.Settle("us-east", maxOf)
	if !ok || v != 5 || d == nil {
		t.Fatalf("Settle: got %v, %v, %v", v, d, ok)
	}
	b.Merge(d)
	if vs, conflict := b.Siblings(); conflict || !slices.Equal(vs, []int{5}) {
		t.Fatalf("after settling: got %v, %v", vs, conflict)
	}
}

func TestStampedUnset(t *testing.T) {
	var r crdt.LWWRegister[string]
	if _, ok := r.Stamped(); ok {
		t.Fatal("Stamped of an unset register reported a write")
	}
}

func TestNewer(t *testing.T) {
	a := crdt.Stamped[int]{At: 5, By: "a"}
	b := crdt.Stamped[int]{At: 5, By: "b"}
	c := crdt.Stamped[int]{At: 6, By: "a"}
	if !b.Newer(a) || a.Newer(b) || !c.Newer(b) || a.Newer(a) {
		t.Fatal("Newer is not (At, By) order")
	}
	if got := crdt.LastWriterWins([]crdt.Stamped[int]{a, c, b}); got != c {
		t.Fatalf("got %v, want %v", got, c)
	}
}
