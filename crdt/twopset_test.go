package crdt_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/crdt/crdttest"
	"pgregory.net/rapid"
)

// twoPOp is the Arg of a TwoPSet operation.
type twoPOp[E comparable] struct {
	remove bool
	e      E
}

func TestTwoPSet(t *testing.T) { checkTwoPSet(t, setStrings) }
func TestTwoPSetStruct(t *testing.T) {
	t.Parallel()
	checkTwoPSet(t, setPoints)
}

func checkTwoPSet[E comparable](t *testing.T, pool []E) {
	crdttest.Check(t, crdttest.Spec[*crdt.TwoPSet[E]]{
		New: func() *crdt.TwoPSet[E] { return new(crdt.TwoPSet[E]) },
		Op: rapid.Custom(func(t *rapid.T) crdttest.Op[*crdt.TwoPSet[E]] {
			e := rapid.SampledFrom(pool).Draw(t, "e")
			// Adds twice as often as removes, so that elements live a while.
			if rapid.IntRange(0, 2).Draw(t, "kind") == 0 {
				return crdttest.Op[*crdt.TwoPSet[E]]{
					Name: fmt.Sprintf("remove %v", e), Arg: twoPOp[E]{true, e},
					Apply: func(_ *crdttest.Replica, s *crdt.TwoPSet[E]) *crdt.TwoPSet[E] { return s.Remove(e) },
				}
			}
			return crdttest.Op[*crdt.TwoPSet[E]]{
				Name: fmt.Sprintf("add %v", e), Arg: twoPOp[E]{false, e},
				Apply: func(_ *crdttest.Replica, s *crdt.TwoPSet[E]) *crdt.TwoPSet[E] { return s.Add(e) },
			}
		}),
		Invariant: func(t *rapid.T, s *crdt.TwoPSet[E]) {
			checkSetView(t, s.All(), s.Len(), s.Contains, gsetKey[E])
		},
		Model: func(t *rapid.T, h *crdttest.History[*crdt.TwoPSet[E]], final *crdt.TwoPSet[E]) {
			// An element is in the set if it was added and never removed,
			// whatever the order of the add and the remove.
			added, removed := map[E]bool{}, map[E]bool{}
			for _, e := range h.Events {
				op := e.Op.Arg.(twoPOp[E])
				if op.remove {
					removed[op.e] = true
				} else {
					added[op.e] = true
				}
			}
			want := map[E]bool{}
			for e := range added {
				if !removed[e] {
					want[e] = true
				}
			}
			checkSetModel(t, pool, want, final.All(), final.Contains)
		},
	})
}

func TestTwoPSetRemoveIsFinal(t *testing.T) {
	var s crdt.TwoPSet[string]
	s.Add("a")
	s.Remove("a")
	d := s.Add("a")
	if s.Contains("a") || s.Len() != 0 {
		t.Fatalf("re-added element: Contains %t, Len %d; want false, 0", s.Contains("a"), s.Len())
	}
	// The delta of the ignored Add carries the removal, so that it cannot
	// show "a" at a replica that has not heard of the removal yet.
	var other crdt.TwoPSet[string]
	other.Add("a")
	other.Merge(d)
	if other.Contains("a") {
		t.Fatalf("delta of an Add after Remove revived the element elsewhere")
	}
	if !other.Equal(&s) {
		t.Fatalf("got %v, want %v", &other, &s)
	}
}

func TestTwoPSetRemoveNeverAdded(t *testing.T) {
	var s crdt.TwoPSet[string]
	s.Remove("ghost")
	if s.Contains("ghost") || s.Len() != 0 {
		t.Fatalf("Contains(ghost) = %t, Len() = %d; want false, 0", s.Contains("ghost"), s.Len())
	}
	// The removal is recorded: a concurrent add elsewhere loses.
	var other crdt.TwoPSet[string]
	other.Add("ghost")
	other.Merge(&s)
	if other.Contains("ghost") {
		t.Fatalf("got ghost present after merging its removal, want absent")
	}
	b, _ := s.MarshalBinary()
	if want := []byte{0x94, 1, 19, 0x90, 0x91, 0xa5, 'g', 'h', 'o', 's', 't'}; !bytes.Equal(b, want) {
		t.Fatalf("MarshalBinary() = %x, want %x", b, want)
	}
}

func TestTwoPSetNormalizes(t *testing.T) {
	// The same history in two orders: remove then add, add then remove.
	var x, y crdt.TwoPSet[string]
	x.Remove("a")
	x.Add("a")
	x.Add("b")
	y.Add("b")
	y.Add("a")
	y.Remove("a")
	if !x.Equal(&y) {
		t.Fatalf("not Equal: %v and %v", &x, &y)
	}
	xb, _ := x.MarshalBinary()
	yb, _ := y.MarshalBinary()
	want := []byte{0x94, 1, 19, 0x91, 0xa1, 'b', 0x91, 0xa1, 'a'}
	if !bytes.Equal(xb, want) || !bytes.Equal(yb, want) {
		t.Fatalf("MarshalBinary() = %x and %x, want %x", xb, yb, want)
	}
	if got := slices.Collect(x.All()); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("All() = %q, want [b]", got)
	}
	if got := x.String(); got != "{b}" {
		t.Fatalf("String() = %q, want {b}", got)
	}
}

func TestTwoPSetZeroValue(t *testing.T) {
	var s crdt.TwoPSet[int]
	if s.Len() != 0 || s.Contains(0) {
		t.Fatalf("zero TwoPSet: Len %d, Contains(0) %t; want 0, false", s.Len(), s.Contains(0))
	}
	b, _ := s.MarshalBinary()
	if want := []byte{0x94, 1, 19, 0x90, 0x90}; !bytes.Equal(b, want) {
		t.Fatalf("MarshalBinary() = %x, want %x", b, want)
	}
	if err := s.ValidateMerge(new(crdt.TwoPSet[int])); err != nil {
		t.Fatalf("ValidateMerge: got %v, want nil", err)
	}
}

func TestTwoPSetUnmarshalRejects(t *testing.T) {
	keep := new(crdt.TwoPSet[string])
	keep.Add("keep")
	keep.Remove("gone")
	checkRejects(t, keep, false, []decodeCase{
		{"nil", []byte{0xc0}, crdt.ErrMalformed},
		{"trailing byte", []byte{0x94, 1, 19, 0x90, 0x90, 0x90}, crdt.ErrMalformed},
	})
	checkRejects(t, keep, true, []decodeCase{
		{"empty input", nil, crdt.ErrMalformed},
		{"element in both sets", []byte{0x94, 1, 19, 0x91, 0xa1, 'a', 0x91, 0xa1, 'a'}, crdt.ErrMalformed},
		{"element in both, among others", []byte{0x94, 1, 19, 0x92, 0xa1, 'a', 0xa1, 'b', 0x92, 0xa1, 'b', 0xa1, 'c'}, crdt.ErrMalformed},
		{"added out of order", []byte{0x94, 1, 19, 0x92, 0xa1, 'b', 0xa1, 'a', 0x90}, crdt.ErrMalformed},
		{"removed out of order", []byte{0x94, 1, 19, 0x90, 0x92, 0xa1, 'b', 0xa1, 'a'}, crdt.ErrMalformed},
		{"added duplicate", []byte{0x94, 1, 19, 0x92, 0xa1, 'a', 0xa1, 'a', 0x90}, crdt.ErrMalformed},
		{"removed duplicate", []byte{0x94, 1, 19, 0x90, 0x92, 0xa1, 'a', 0xa1, 'a'}, crdt.ErrMalformed},
		{"one field", []byte{0x93, 1, 19, 0x90}, crdt.ErrMalformed},
		{"three fields", []byte{0x95, 1, 19, 0x90, 0x90, 0x90}, crdt.ErrMalformed},
		{"GSet kind", []byte{0x94, 1, 18, 0x90, 0x90}, crdt.ErrMalformed},
		{"unknown kind", []byte{0x94, 1, 0x7f, 0x90, 0x90}, crdt.ErrUnsupported},
		{"truncated", []byte{0x94, 1, 19, 0x91, 0xa1, 'a'}, crdt.ErrMalformed},
		{"truncated removed", []byte{0x94, 1, 19, 0x90, 0x92, 0xa1, 'a'}, crdt.ErrMalformed},
		{"removed not an array", []byte{0x94, 1, 19, 0x90, 0x80}, crdt.ErrMalformed},
		{"long array header", []byte{0x94, 1, 19, 0x90, 0xdc, 0x00, 0x00}, crdt.ErrMalformed},
		{"long string header", []byte{0x94, 1, 19, 0x90, 0x91, 0xd9, 0x01, 'a'}, crdt.ErrMalformed},
	})
}

func FuzzTwoPSetUnmarshalBinary(f *testing.F) {
	add := func(b []byte, err error) { f.Add(b) }
	var s crdt.TwoPSet[string]
	add(s.MarshalBinary())
	for i, e := range setStrings {
		s.Add(e)
		if i%3 == 0 {
			s.Remove(e)
		}
	}
	s.Remove("never added")
	add(s.MarshalBinary())
	var p crdt.TwoPSet[point]
	for _, e := range setPoints {
		p.Add(e)
	}
	p.Remove(setPoints[1])
	add(p.MarshalBinary())
	var n crdt.TwoPSet[int]
	n.Add(-1)
	n.Add(300)
	n.Remove(7)
	add(n.MarshalBinary())
	f.Fuzz(func(t *testing.T, in []byte) {
		fuzzCanonical(t, new(crdt.TwoPSet[string]), in)
		fuzzCanonical(t, new(crdt.TwoPSet[int]), in)
		fuzzCanonical(t, new(crdt.TwoPSet[point]), in)
	})
}
