package crdt_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/crdt/crdttest"
	"pgregory.net/rapid"
)

// orsetOp draws an add or a remove of one of n elements.
func orsetOp[E comparable](elem *rapid.Generator[E]) *rapid.Generator[crdttest.Op[*crdt.ORSet[E]]] {
	return rapid.Custom(func(t *rapid.T) crdttest.Op[*crdt.ORSet[E]] {
		e := elem.Draw(t, "elem")
		if rapid.IntRange(0, 2).Draw(t, "kind") == 0 {
			return crdttest.Op[*crdt.ORSet[E]]{
				Name: fmt.Sprintf("remove %v", e), Arg: e,
				Apply: func(r *crdttest.Replica, s *crdt.ORSet[E]) *crdt.ORSet[E] { return s.Remove(e) },
			}
		}
		return crdttest.Op[*crdt.ORSet[E]]{
			Name: fmt.Sprintf("add %v", e), Arg: e,
			Apply: func(r *crdttest.Replica, s *crdt.ORSet[E]) *crdt.ORSet[E] { return s.Add(r.ID, e) },
		}
	})
}

// orsetModel checks the add-wins rule: an element is present iff some add
// of it was observed by no later operation on it. An add or a remove of x
// observes every add of x that had reached its replica — an add replaces
// the dots it observes, a remove takes them away — so with causal delivery
// this is "some add is not causally followed by a remove". Deltas here are
// delivered in any order, so an add observed only by a later add that a
// remove then observed is gone too, which the transitive rule says and the
// plain visibility relation would not.
func orsetModel[E comparable](t *rapid.T, h *crdttest.History[*crdt.ORSet[E]], final *crdt.ORSet[E]) {
	want := map[E]bool{}
	for _, a := range h.Events {
		if a.Op.Name[:3] != "add" {
			continue
		}
		e := a.Op.Arg.(E)
		observed := false
		for _, j := range h.Events {
			if j.Op.Arg.(E) == e && h.HappenedBefore(a.Index, j.Index) {
				observed = true
				break
			}
		}
		if !observed {
			want[e] = true
		}
	}
	got := map[E]bool{}
	for e := range final.All() {
		got[e] = true
	}
	for e := range want {
		if !got[e] {
			t.Fatalf("%v missing: an add of it was observed by no later operation (set %v)", e, final)
		}
	}
	for e := range got {
		if !want[e] {
			t.Fatalf("%v present: every add of it was observed by a later operation (set %v)", e, final)
		}
	}
}

func orsetInvariant[E comparable](t *rapid.T, s *crdt.ORSet[E]) {
	internalOK(t, s)
	n := 0
	for e := range s.All() {
		n++
		if !s.Contains(e) {
			t.Fatalf("All lists %v, Contains says no", e)
		}
	}
	if n != s.Len() {
		t.Fatalf("Len() = %d, All lists %d", s.Len(), n)
	}
}

func TestORSet(t *testing.T) {
	crdttest.Check(t, crdttest.Spec[*crdt.ORSet[string]]{
		New:       func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) },
		Op:        orsetOp(rapid.SampledFrom([]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"})),
		Invariant: orsetInvariant[string],
		Model:     orsetModel[string],
	})
}

func TestORSetFewElements(t *testing.T) {
	// Two elements: adds and removes of the same element collide often.
	crdttest.Check(t, crdttest.Spec[*crdt.ORSet[int]]{
		New:       func() *crdt.ORSet[int] { return new(crdt.ORSet[int]) },
		Op:        orsetOp(rapid.IntRange(-1, 0)),
		Invariant: orsetInvariant[int],
		Model:     orsetModel[int],
	})
}

type orPoint struct{ X, Y int16 }

func TestORSetStructElements(t *testing.T) {
	t.Parallel()
	crdttest.Check(t, crdttest.Spec[*crdt.ORSet[orPoint]]{
		New:       func() *crdt.ORSet[orPoint] { return new(crdt.ORSet[orPoint]) },
		Op:        orsetOp(rapid.SampledFrom([]orPoint{{0, 0}, {1, -1}, {300, 2}, {-300, 7}})),
		Invariant: orsetInvariant[orPoint],
		Model:     orsetModel[orPoint],
	})
}

func TestORSetConcurrentAddRemove(t *testing.T) {
	var us, eu crdt.ORSet[string]
	eu.Merge(us.Add("us", "x"))
	rm := eu.Remove("x")     // eu observed us's add
	add := us.Add("us", "x") // concurrent re-add at us
	us.Merge(rm)
	eu.Merge(add)
	if !us.Contains("x") || !eu.Contains("x") {
		t.Fatalf("concurrent add lost: us %v, eu %v, want x in both", &us, &eu)
	}
	if !us.Equal(&eu) {
		t.Fatalf("replicas differ: %v vs %v", &us, &eu)
	}
}

func TestORSetRemoveLeavesNoMetadata(t *testing.T) {
	var s crdt.ORSet[string]
	for i := range 1000 {
		s.Add("us-east", "item-"+strconv.Itoa(i))
	}
	for i := range 1000 {
		s.Remove("item-" + strconv.Itoa(i))
	}
	b, _ := s.MarshalBinary()
	var empty crdt.ORSet[string]
	eb, _ := empty.MarshalBinary()
	// Only the compacted context remains: one replica and its run.
	if len(b) > len(eb)+len("us-east")+8 {
		t.Fatalf("encoding of an emptied set is %d bytes (%x), want at most %d", len(b), b, len(eb)+len("us-east")+8)
	}
	if s.Len() != 0 {
		t.Fatalf("Len() = %d, want 0", s.Len())
	}
}

func TestORSetDeltaMergeTouchesOnlyListed(t *testing.T) {
	var a crdt.ORSet[string]
	for i := range 100 {
		a.Add("a", strconv.Itoa(i))
	}
	b := a.Clone()
	d := b.Remove("7")
	if !d.IsDelta() || a.IsDelta() {
		t.Fatalf("IsDelta: delta %v, state %v; want true, false", d.IsDelta(), a.IsDelta())
	}
	a.Merge(d)
	if a.Contains("7") || a.Len() != 99 {
		t.Fatalf("after merging the remove delta: Contains(7) %v, Len %d; want false, 99", a.Contains("7"), a.Len())
	}
	if !a.Equal(b) {
		t.Fatal("replica that merged the delta differs from the one that removed")
	}
}

func TestORSetValidateMerge(t *testing.T) {
	var a, b crdt.ORSet[string]
	a.Add("shared-id", "x")
	b.Add("shared-id", "y") // same replica id, same counter, another element
	err := a.ValidateMerge(&b)
	if !errors.Is(err, crdt.ErrInconsistent) {
		t.Fatalf("got %v, want ErrInconsistent", err)
	}
	var ve *crdt.ValidationError
	if !errors.As(err, &ve) || ve.Type != "ORSet" {
		t.Fatalf("got %#v, want a *ValidationError for ORSet", err)
	}
	c := a.Clone()
	d := c.Add("other", "z")
	if err := a.ValidateMerge(d); err != nil {
		t.Fatalf("valid delta refused: %v", err)
	}
	if err := a.ValidateMerge(c); err != nil {
		t.Fatalf("valid state refused: %v", err)
	}
	// A dot this replica removed cannot be checked: nothing of the removed
	// element is kept. Merging then ignores the other element's dot, as it
	// would for any dot already removed.
	e := a.Clone()
	e.Remove("x")
	if err := e.ValidateMerge(&b); err != nil {
		t.Fatalf("dot removed here: got %v, want nil (removed elements leave nothing to compare)", err)
	}
}

func TestORSetDecodeRejects(t *testing.T) {
	var s crdt.ORSet[string]
	s.Add("a", "x")
	s.Add("a", "y")
	good, _ := s.MarshalBinary()
	for _, tt := range []struct {
		name string
		in   []byte
	}{
		{"truncated", good[:len(good)-1]},
		{"trailing", append(slices.Clone(good), 0)},
		{"wrong kind", append([]byte{good[0], good[1], 0x10}, good[3:]...)},
		{"dot outside context", bytes.Replace(slices.Clone(good), []byte{0x92, 0x02, 0x90}, []byte{0x92, 0x01, 0x90}, 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			into := s.Clone()
			err := into.UnmarshalBinary(tt.in)
			if !errors.Is(err, crdt.ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed (input %x)", err, tt.in)
			}
			if !into.Equal(&s) {
				t.Fatal("a failed decode changed the set")
			}
		})
	}
}

func FuzzORSetUnmarshalBinary(f *testing.F) {
	var s crdt.ORSet[string]
	for _, e := range []string{"a", "b", "c"} {
		f.Add(mustMarshal(f, s.Add("us", e)))
	}
	f.Add(mustMarshal(f, s.Remove("b")))
	f.Add(mustMarshal(f, &s))
	var other crdt.ORSet[string]
	other.Add("eu", "a")
	s.Merge(&other)
	f.Add(mustMarshal(f, &s))
	// Retired writers: a range, a state that still holds a dot of one.
	d, err := s.Retire("eu", "eu")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mustMarshal(f, d))
	f.Add(mustMarshal(f, &s))
	f.Fuzz(func(t *testing.T, in []byte) {
		var got crdt.ORSet[string]
		if err := got.UnmarshalBinary(in); err != nil {
			return
		}
		out, err := got.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("accepted non-canonical input %x, canonical %x", in, out)
		}
	})
}

func mustMarshal(f testing.TB, v interface{ MarshalBinary() ([]byte, error) }) []byte {
	b, err := v.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	return b
}
