package crdt_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/vclock"
)

// A replica that lost its state and writes again under the same ReplicaID
// issues the dots of its old writes a second time, for other data. Merge
// cannot be commutative on such a pair, so ValidateMerge must refuse it,
// in both directions, wherever the two writes sit in the states.

func checkRefusedBothWays[T interface {
	ValidateMerge(T) error
}](t *testing.T, name string, x, y T) {
	t.Helper()
	for _, dir := range []struct {
		what string
		m, o T
	}{{"x.ValidateMerge(y)", x, y}, {"y.ValidateMerge(x)", y, x}} {
		err := dir.m.ValidateMerge(dir.o)
		var ve *crdt.ValidationError
		if !errors.Is(err, crdt.ErrInconsistent) || !errors.As(err, &ve) {
			t.Errorf("%s: %s = %v, want a *ValidationError matching ErrInconsistent", name, dir.what, err)
		}
	}
}

// TestValidateMergeFindsADotReusedUnderAnotherKey: {a: Inc 5} and {b: Inc
// 7} written with the same dot were accepted, because validation compared
// only the keys both states hold; x.Merge(y) kept {a:5} and y.Merge(x)
// {b:7}.
func TestValidateMergeFindsADotReusedUnderAnotherKey(t *testing.T) {
	const r vclock.ReplicaID = "r"
	t.Run("ORMap of CCounter", func(t *testing.T) {
		var x, y crdt.ORMap[string, *crdt.CCounter]
		x.Update("a", func(c *crdt.CCounter) *crdt.CCounter { return c.Inc(r, 5) })
		y.Update("b", func(c *crdt.CCounter) *crdt.CCounter { return c.Inc(r, 7) })
		checkRefusedBothWays(t, "counters", &x, &y)
	})
	t.Run("List, one position with two values", func(t *testing.T) {
		var x, y crdt.List[string]
		x.Insert(r, 0, "hat")
		y.Insert(r, 0, "scarf")
		checkRefusedBothWays(t, "list values", &x, &y)
	})
	t.Run("List, one position with two origins", func(t *testing.T) {
		var x, y crdt.List[string]
		x.Append(r, "hat", "scarf")
		y.Append(r, "hat")
		y.Insert(r, 0, "scarf") // r:2 again, before r:1
		checkRefusedBothWays(t, "list origins", &x, &y)
	})
	t.Run("ORMap of ORSet", func(t *testing.T) {
		var x, y crdt.ORMap[string, *crdt.ORSet[string]]
		x.Update("a", func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(r, "hat") })
		y.Update("b", func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(r, "hat") })
		checkRefusedBothWays(t, "sets", &x, &y)
	})
	t.Run("ORMap of MVRegister", func(t *testing.T) {
		var x, y crdt.ORMap[string, *crdt.MVRegister[string]]
		x.Update("a", func(m *crdt.MVRegister[string]) *crdt.MVRegister[string] { return m.Set(r, "hat") })
		y.Update("b", func(m *crdt.MVRegister[string]) *crdt.MVRegister[string] { return m.Set(r, "hat") })
		checkRefusedBothWays(t, "registers", &x, &y)
	})
	t.Run("ORMap of LWWRegister", func(t *testing.T) {
		var x, y crdt.ORMap[string, *crdt.LWWRegister[string]]
		x.Update("a", func(l *crdt.LWWRegister[string]) *crdt.LWWRegister[string] { return l.Set(r, "hat", 5) })
		y.Update("b", func(l *crdt.LWWRegister[string]) *crdt.LWWRegister[string] { return l.Set(r, "hat", 5) })
		checkRefusedBothWays(t, "lww registers", &x, &y)
	})
	t.Run("ORMap of List", func(t *testing.T) {
		var x, y crdt.ORMap[string, *crdt.List[string]]
		x.Update("a", func(l *crdt.List[string]) *crdt.List[string] { return l.Insert(r, 0, "hat") })
		y.Update("b", func(l *crdt.List[string]) *crdt.List[string] { return l.Insert(r, 0, "hat") })
		checkRefusedBothWays(t, "lists", &x, &y)
	})
	t.Run("ORMap of List, a dot under another key both hold", func(t *testing.T) {
		var x, y crdt.ORMap[string, *crdt.List[string]]
		coat := x.Update("b", func(l *crdt.List[string]) *crdt.List[string] { return l.Insert("s", 0, "coat") })
		x.Update("a", func(l *crdt.List[string]) *crdt.List[string] { return l.Insert(r, 0, "hat") })
		y.Merge(coat)
		y.Update("b", func(l *crdt.List[string]) *crdt.List[string] { return l.Insert(r, 0, "hat") })
		checkRefusedBothWays(t, "lists of one key", &x, &y)
	})
	t.Run("ORMap of List, a tombstone's dot under another key", func(t *testing.T) {
		var x, y crdt.ORMap[string, *crdt.List[string]]
		x.Update("a", func(l *crdt.List[string]) *crdt.List[string] { return l.Insert(r, 0, "hat") })
		x.Remove("a") // r:1 stays in a, a tombstone, and a is hidden
		y.Update("b", func(l *crdt.List[string]) *crdt.List[string] { return l.Insert(r, 0, "scarf") })
		checkRefusedBothWays(t, "a tombstone and an element", &x, &y)
	})
	t.Run("ORMap of List, one position with two origins", func(t *testing.T) {
		var x, y crdt.ORMap[string, *crdt.List[string]]
		x.Update("a", func(l *crdt.List[string]) *crdt.List[string] { return l.Append(r, "hat", "scarf") })
		y.Update("a", func(l *crdt.List[string]) *crdt.List[string] { return l.Append(r, "hat") })
		y.Update("a", func(l *crdt.List[string]) *crdt.List[string] { return l.Insert(r, 0, "scarf") }) // r:2 again, before r:1
		checkRefusedBothWays(t, "list origins", &x, &y)
	})
	t.Run("ORMap of List, a deletion's dot under another key", func(t *testing.T) {
		var x, y, z crdt.ORMap[string, *crdt.List[string]]
		d := x.Update("a", func(l *crdt.List[string]) *crdt.List[string] { return l.Insert(r, 0, "hat") })
		y.Merge(d)
		del := y.Update("a", func(l *crdt.List[string]) *crdt.List[string] { return l.Delete(0) })
		z.Update("b", func(l *crdt.List[string]) *crdt.List[string] { return l.Insert(r, 0, "scarf") })
		checkRefusedBothWays(t, "a deletion and an element", del, &z)
	})
	t.Run("nested ORMap", func(t *testing.T) {
		var x, y crdt.ORMap[string, *crdt.ORMap[string, *crdt.CCounter]]
		inc := func(k string) func(*crdt.ORMap[string, *crdt.CCounter]) *crdt.ORMap[string, *crdt.CCounter] {
			return func(m *crdt.ORMap[string, *crdt.CCounter]) *crdt.ORMap[string, *crdt.CCounter] {
				return m.Update(k, func(c *crdt.CCounter) *crdt.CCounter { return c.Inc(r, 1) })
			}
		}
		x.Update("a", inc("p"))
		y.Update("a", inc("q"))
		checkRefusedBothWays(t, "same outer key, other inner key", &x, &y)
	})
	t.Run("one element of a set of a map, and a delta", func(t *testing.T) {
		var x, y crdt.ORMap[string, *crdt.ORSet[string]]
		x.Update("a", func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(r, "hat") })
		d := y.Update("a", func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(r, "scarf") })
		checkRefusedBothWays(t, "same key, other element", &x, d)
	})
	t.Run("ORSet", func(t *testing.T) {
		var x, y crdt.ORSet[string]
		x.Add(r, "hat")
		checkRefusedBothWays(t, "sets", &x, y.Add(r, "scarf"))
	})
	t.Run("MVRegister", func(t *testing.T) {
		var x, y crdt.MVRegister[string]
		x.Set(r, "hat")
		checkRefusedBothWays(t, "registers", &x, y.Set(r, "scarf"))
	})
	t.Run("CCounter", func(t *testing.T) {
		var x, y crdt.CCounter
		x.Inc(r, 5)
		checkRefusedBothWays(t, "counters", &x, y.Inc(r, 7))
	})
}

// TestValidateMergeFindsADotReusedInACounterMap: a dot of a nested
// GCounter or PNCounter reused under another key, or for other counts
// under the same key, is refused both ways.
func TestValidateMergeFindsADotReusedInACounterMap(t *testing.T) {
	const r vclock.ReplicaID = "r"
	t.Run("ORMap of PNCounter", func(t *testing.T) {
		var x, y crdt.ORMap[string, *crdt.PNCounter]
		x.Update("a", func(c *crdt.PNCounter) *crdt.PNCounter { return c.Inc(r, 5) })
		y.Update("b", func(c *crdt.PNCounter) *crdt.PNCounter { return c.Dec(r, 7) })
		checkRefusedBothWays(t, "pn counters", &x, &y)
	})
	t.Run("ORMap of PNCounter, one key, other counts", func(t *testing.T) {
		var x, y crdt.ORMap[string, *crdt.PNCounter]
		x.Update("a", func(c *crdt.PNCounter) *crdt.PNCounter { return c.Inc(r, 5) })
		d := y.Update("a", func(c *crdt.PNCounter) *crdt.PNCounter { return c.Inc(r, 6) })
		checkRefusedBothWays(t, "same key, other count", &x, d)
	})
	t.Run("ORMap of GCounter", func(t *testing.T) {
		var x, y crdt.ORMap[string, *crdt.GCounter]
		x.Update("a", func(c *crdt.GCounter) *crdt.GCounter { return c.Inc(r, 5) })
		y.Update("b", func(c *crdt.GCounter) *crdt.GCounter { return c.Inc(r, 5) })
		checkRefusedBothWays(t, "g counters", &x, &y)
	})
}

// TestValidateMergeAcceptsRemovedDots: a dot the receiver has seen and no
// longer holds anywhere was removed; a stale delta or state that still
// holds it is consistent, wherever it sits.
func TestValidateMergeAcceptsRemovedDots(t *testing.T) {
	var x crdt.ORMap[string, *crdt.ORSet[string]]
	old := x.Clone()
	x.Update("a", func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add("r", "hat") })
	stale := x.Clone()
	x.Update("a", func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Remove("hat") })
	x.Update("b", func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add("r", "hat") })
	for _, o := range []*crdt.ORMap[string, *crdt.ORSet[string]]{old, stale} {
		if err := x.ValidateMerge(o); err != nil {
			t.Errorf("x.ValidateMerge(%v) = %v, want nil", o, err)
		}
		if err := o.ValidateMerge(&x); err != nil {
			t.Errorf("%v.ValidateMerge(x) = %v, want nil", o, err)
		}
	}
}

// TestEncoderNeverWritesWhatDecodersRefuse: a context claiming every
// event of a replica up to vclock.MaxCounter decodes; after one write of
// that replica, MarshalBinary wrote a counter its own UnmarshalBinary
// refuses, so every later message of the replica was refused. It now
// fails with an error matching vclock.ErrCounterRange, and nothing
// encodable is written.
func TestEncoderNeverWritesWhatDecodersRefuse(t *testing.T) {
	in, _ := hex.DecodeString("970114c2" + "91a161" + "92cf7fffffffffffffff90" + "90" + "90")
	var s crdt.ORSet[string]
	if err := s.UnmarshalBinary(in); err != nil {
		t.Fatalf("UnmarshalBinary: %v", err)
	}
	d := s.Add("a", "x")
	for name, v := range map[string]interface{ MarshalBinary() ([]byte, error) }{"state": &s, "delta": d} {
		b, err := v.MarshalBinary()
		if !errors.Is(err, vclock.ErrCounterRange) {
			var back crdt.ORSet[string]
			t.Errorf("%s: MarshalBinary = %x, %v (decoding it back: %v), want an error matching vclock.ErrCounterRange", name, b, err, back.UnmarshalBinary(b))
		}
	}
}

// TestClaims: Version reports the largest event counter a state has seen
// per replica, MaxTimestamp the latest timestamp it carries.
func TestClaims(t *testing.T) {
	var s crdt.ORSet[string]
	s.Add("a", "x")
	s.Add("a", "y")
	d := s.Add("b", "x")
	s.Remove("y")
	var g crdt.GCounter
	g.Inc("a", 5)
	var p crdt.PNCounter
	p.Inc("a", 2)
	p.Dec("a", 3)
	p.Dec("b", 1)
	var m crdt.ORMap[string, *crdt.LWWRegister[string]]
	m.Update("k", func(r *crdt.LWWRegister[string]) *crdt.LWWRegister[string] { return r.Set("a", "v", 40) })
	m.Update("l", func(r *crdt.LWWRegister[string]) *crdt.LWWRegister[string] { return r.Set("b", "v", 70) })
	var w crdt.LWWMap[string, int]
	w.Set("a", "k", 1, 30)
	w.Delete("a", "k", 90)
	for _, tc := range []struct {
		name string
		got  *vclock.Clock
		want map[vclock.ReplicaID]uint64
	}{
		{"ORSet", s.Version(), map[vclock.ReplicaID]uint64{"a": 2, "b": 1}},
		{"ORSet delta", d.Version(), map[vclock.ReplicaID]uint64{"a": 1, "b": 1}},
		{"GCounter", g.Version(), map[vclock.ReplicaID]uint64{"a": 5}},
		{"PNCounter", p.Version(), map[vclock.ReplicaID]uint64{"a": 3, "b": 1}},
		{"ORMap", m.Version(), map[vclock.ReplicaID]uint64{"a": 1, "b": 1}},
		{"LWWMap", w.Version(), map[vclock.ReplicaID]uint64{}},
	} {
		if want := vclock.FromMap(tc.want); !tc.got.Equal(want) {
			t.Errorf("%s: Version() = %v, want %v", tc.name, tc.got, want)
		}
	}
	if got := m.MaxTimestamp(); got != 70 {
		t.Errorf("ORMap.MaxTimestamp() = %v, want 70", uint64(got))
	}
	if got := w.MaxTimestamp(); got != 90 {
		t.Errorf("LWWMap.MaxTimestamp() = %v, want 90 (the tombstone)", uint64(got))
	}
}

// TestORMapUpdateLosesNoChange: two mutations in one Update callback that
// returned only the last delta lost the first on every peer syncing by
// deltas, silently. The join of both deltas now carries both, and a
// callback that drops one panics.
func TestORMapUpdateLosesNoChange(t *testing.T) {
	type cart = crdt.ORMap[string, *crdt.ORSet[string]]
	var us, eu cart
	d := us.Update("alice", func(s *crdt.ORSet[string]) *crdt.ORSet[string] {
		d := s.Add("us", "hat")
		d.Merge(s.Add("us", "scarf"))
		return d
	})
	eu.Merge(d)
	if !eu.Equal(&us) {
		t.Errorf("after the delta of a joined Update: eu %v, us %v, want equal", &eu, &us)
	}
	for name, f := range map[string]func(s *crdt.ORSet[string]) *crdt.ORSet[string]{
		"last delta only": func(s *crdt.ORSet[string]) *crdt.ORSet[string] {
			s.Add("us", "gloves")
			return s.Add("us", "boots")
		},
		"a removal dropped": func(s *crdt.ORSet[string]) *crdt.ORSet[string] {
			s.Remove("hat")
			return s.Add("us", "boots")
		},
		"nothing returned": func(s *crdt.ORSet[string]) *crdt.ORSet[string] {
			s.Add("us", "gloves")
			return nil
		},
		"the value returned": func(s *crdt.ORSet[string]) *crdt.ORSet[string] {
			s.Add("us", "gloves")
			return s
		},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "ORMap.Update") {
					t.Errorf("%s: recovered %v, want a panic naming ORMap.Update", name, r)
				}
			}()
			us.Clone().Update("alice", f)
		}()
	}
	// A callback that removes nothing may return the empty delta.
	us.Update("bob", func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Remove("hat") })
}
