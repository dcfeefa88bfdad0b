package crdt_test

import (
	"bytes"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/vclock"
	"pgregory.net/rapid"
)

// clampable is what the clamp property needs of a type.
type clampable[T any] interface {
	Clamp(vclock.ReplicaID, uint64)
	Version() *vclock.Clock
	Merge(T)
	Clone() T
	Equal(T) bool
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}

var clampIDs = []vclock.ReplicaID{"a", "b", "c"}

// checkClamp is the property of Clamp on states built by random ops:
// the clamped state claims no event of the writer beyond n, keeps its
// bookkeeping, is below the state (merging it back changes nothing),
// round-trips through its encoding, and merges with other states like
// any state does (commutatively).
func checkClamp[T clampable[T]](t *testing.T, newState func() T, op func(t *rapid.T, id vclock.ReplicaID, s T)) {
	rapid.Check(t, func(t *rapid.T) {
		// s and o are two replicas' states: o saw s up to a point, then
		// both wrote on, as different writers (one writer's dots are
		// never issued twice).
		run := func(s T, ids []vclock.ReplicaID, label string) {
			for i := rapid.IntRange(0, 8).Draw(t, label); i > 0; i-- {
				op(t, rapid.SampledFrom(ids).Draw(t, "id"), s)
			}
		}
		s := newState()
		run(s, clampIDs, "shared ops")
		o := s.Clone()
		run(s, clampIDs[:2], "s ops")
		run(o, clampIDs[2:], "o ops")
		if rapid.Bool().Draw(t, "s saw o") {
			s.Merge(o.Clone())
		}
		id := rapid.SampledFrom(clampIDs).Draw(t, "clamp id")
		n := rapid.Uint64Range(0, 6).Draw(t, "clamp n")
		x := s.Clone()
		x.Clamp(id, n)
		if got := x.Version().Get(id); got > n {
			t.Fatalf("after Clamp(%s, %d): Version()[%s] = %d", id, n, id, got)
		}
		if ci, ok := any(x).(interface{ CheckInternal() error }); ok {
			if err := ci.CheckInternal(); err != nil {
				t.Fatalf("after Clamp: %v", err)
			}
		}
		back := s.Clone()
		back.Merge(x)
		if !back.Equal(s) {
			t.Fatalf("the clamped state is not below the state: merging it changed %v", s)
		}
		b, err := x.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		y := newState()
		if err := y.UnmarshalBinary(b); err != nil {
			t.Fatalf("the clamped state does not decode: %v", err)
		}
		if !y.Equal(x) {
			t.Fatal("the clamped state does not round-trip")
		}
		xo, ox := x.Clone(), o.Clone()
		xo.Merge(o)
		ox.Merge(x)
		b1, _ := xo.MarshalBinary()
		b2, _ := ox.MarshalBinary()
		if !bytes.Equal(b1, b2) {
			t.Fatal("merging the clamped state is not commutative")
		}
	})
}

var clampElems = rapid.SampledFrom([]string{"p", "q", "r", "s"})

func TestClampORSet(t *testing.T) {
	checkClamp(t, func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }, func(t *rapid.T, id vclock.ReplicaID, s *crdt.ORSet[string]) {
		if e := clampElems.Draw(t, "e"); rapid.Bool().Draw(t, "add") {
			s.Add(id, e)
		} else {
			s.Remove(e)
		}
	})
}

func TestClampMVRegister(t *testing.T) {
	checkClamp(t, func() *crdt.MVRegister[string] { return new(crdt.MVRegister[string]) }, func(t *rapid.T, id vclock.ReplicaID, s *crdt.MVRegister[string]) {
		s.Set(id, clampElems.Draw(t, "v"))
	})
}

func TestClampCCounter(t *testing.T) {
	checkClamp(t, func() *crdt.CCounter { return new(crdt.CCounter) }, func(t *rapid.T, id vclock.ReplicaID, c *crdt.CCounter) {
		c.Inc(id, rapid.Uint64Range(1, 5).Draw(t, "n"))
	})
}

func TestClampList(t *testing.T) {
	checkClamp(t, func() *crdt.List[string] { return new(crdt.List[string]) }, func(t *rapid.T, id vclock.ReplicaID, l *crdt.List[string]) {
		i := rapid.IntRange(0, l.Len()).Draw(t, "i")
		if l.Len() > 0 && rapid.IntRange(0, 2).Draw(t, "op") == 0 {
			l.Delete(i)
			return
		}
		l.Insert(id, i, clampElems.Draw(t, "e"))
	})
}

func TestClampORMap(t *testing.T) {
	type m = crdt.ORMap[string, *crdt.ORSet[string]]
	checkClamp(t, func() *m { return new(m) }, func(t *rapid.T, id vclock.ReplicaID, s *m) {
		k, e := clampElems.Draw(t, "k"), clampElems.Draw(t, "e")
		switch rapid.IntRange(0, 2).Draw(t, "op") {
		case 0:
			s.Update(k, func(v *crdt.ORSet[string]) *crdt.ORSet[string] { return v.Add(id, e) })
		case 1:
			s.Update(k, func(v *crdt.ORSet[string]) *crdt.ORSet[string] { return v.Remove(e) })
		default:
			s.Remove(k)
		}
	})
}

func TestClampORMapOfLWW(t *testing.T) {
	type m = crdt.ORMap[string, *crdt.LWWRegister[string]]
	checkClamp(t, func() *m { return new(m) }, func(t *rapid.T, id vclock.ReplicaID, s *m) {
		k := clampElems.Draw(t, "k")
		ts := rapid.Uint64Range(1, 9).Draw(t, "ts")
		s.Update(k, func(v *crdt.LWWRegister[string]) *crdt.LWWRegister[string] {
			return v.Set(id, clampElems.Draw(t, "v"), hlc.Timestamp(ts))
		})
	})
}

func TestClampORMapOfCounters(t *testing.T) {
	type pm = crdt.ORMap[string, *crdt.PNCounter]
	checkClamp(t, func() *pm { return new(pm) }, func(t *rapid.T, id vclock.ReplicaID, s *pm) {
		k := clampElems.Draw(t, "k")
		n := rapid.Uint64Range(1, 3).Draw(t, "n")
		switch rapid.IntRange(0, 2).Draw(t, "op") {
		case 0:
			s.Update(k, func(v *crdt.PNCounter) *crdt.PNCounter { return v.Inc(id, n) })
		case 1:
			s.Update(k, func(v *crdt.PNCounter) *crdt.PNCounter { return v.Dec(id, n) })
		default:
			s.Remove(k)
		}
	})
	type gm = crdt.ORMap[string, *crdt.GCounter]
	checkClamp(t, func() *gm { return new(gm) }, func(t *rapid.T, id vclock.ReplicaID, s *gm) {
		k := clampElems.Draw(t, "k")
		if rapid.IntRange(0, 3).Draw(t, "op") == 0 {
			s.Remove(k)
			return
		}
		s.Update(k, func(v *crdt.GCounter) *crdt.GCounter { return v.Inc(id, rapid.Uint64Range(1, 3).Draw(t, "n")) })
	})
}

func TestClampCounters(t *testing.T) {
	checkClamp(t, func() *crdt.GCounter { return new(crdt.GCounter) }, func(t *rapid.T, id vclock.ReplicaID, c *crdt.GCounter) {
		c.Inc(id, rapid.Uint64Range(1, 3).Draw(t, "n"))
	})
	checkClamp(t, func() *crdt.PNCounter { return new(crdt.PNCounter) }, func(t *rapid.T, id vclock.ReplicaID, c *crdt.PNCounter) {
		if rapid.Bool().Draw(t, "inc") {
			c.Inc(id, rapid.Uint64Range(1, 3).Draw(t, "n"))
		} else {
			c.Dec(id, rapid.Uint64Range(1, 3).Draw(t, "n"))
		}
	})
}
