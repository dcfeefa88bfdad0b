package crdt_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/crdt/crdttest"
	"pgregory.net/rapid"
)

func TestRWSet(t *testing.T) {
	t.Parallel()
	crdttest.Check(t, crdttest.Spec[*crdt.RWSet[string]]{
		New: func() *crdt.RWSet[string] { return new(crdt.RWSet[string]) },
		Op: rapid.Custom(func(t *rapid.T) crdttest.Op[*crdt.RWSet[string]] {
			e := rapid.SampledFrom([]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}).Draw(t, "elem")
			if rapid.Bool().Draw(t, "remove") {
				return crdttest.Op[*crdt.RWSet[string]]{
					Name: "remove " + e, Arg: e,
					Apply: func(r *crdttest.Replica, s *crdt.RWSet[string]) *crdt.RWSet[string] { return s.Remove(r.ID, e) },
				}
			}
			return crdttest.Op[*crdt.RWSet[string]]{
				Name: "add " + e, Arg: e,
				Apply: func(r *crdttest.Replica, s *crdt.RWSet[string]) *crdt.RWSet[string] { return s.Add(r.ID, e) },
			}
		}),
		Invariant: func(t *rapid.T, s *crdt.RWSet[string]) {
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
		},
		// Remove wins: among the operations on x that no other operation on
		// x observed, there is an add and no remove.
		Model: func(t *rapid.T, h *crdttest.History[*crdt.RWSet[string]], final *crdt.RWSet[string]) {
			for _, x := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
				adds, removes := 0, 0
				for _, a := range h.Events {
					if a.Op.Arg != x {
						continue
					}
					maximal := true
					for _, b := range h.Events {
						if b.Op.Arg == x && h.HappenedBefore(a.Index, b.Index) {
							maximal = false
							break
						}
					}
					if maximal && a.Op.Name[:3] == "add" {
						adds++
					} else if maximal {
						removes++
					}
				}
				if want := adds > 0 && removes == 0; final.Contains(x) != want {
					t.Fatalf("Contains(%s) = %v, want %v (%d concurrent adds, %d concurrent removes)", x, !want, want, adds, removes)
				}
			}
		},
	})
}

func TestRWSetRemoveWins(t *testing.T) {
	var us, eu crdt.RWSet[string]
	eu.Merge(us.Add("us", "x"))
	add := us.Add("us", "x") // concurrent with eu's remove
	rm := eu.Remove("eu", "x")
	us.Merge(rm)
	eu.Merge(add)
	if us.Contains("x") || eu.Contains("x") || !us.Equal(&eu) {
		t.Fatalf("got us %v, eu %v; want both empty and equal", &us, &eu)
	}
	us.Merge(us.Add("us", "x")) // an add that observed the remove
	if !us.Contains("x") {
		t.Fatal("an add after the remove lost")
	}
}

// TestRWSetValidateMergeTag: one dot is one event, so the same dot as an
// add in one state and as a remove in another is reported, not merged.
func TestRWSetValidateMergeTag(t *testing.T) {
	var a, b crdt.RWSet[string]
	a.Add("us-east", "x")    // us-east:1 adds x
	b.Remove("us-east", "x") // us-east:1 removes x: no correct replica does both
	for _, tt := range []struct {
		name string
		m, o *crdt.RWSet[string]
	}{{"add then remove", &a, &b}, {"remove then add", &b, &a}} {
		err := tt.m.ValidateMerge(tt.o)
		var ve *crdt.ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, crdt.ErrInconsistent) {
			t.Errorf("%s: ValidateMerge = %v, want a ValidationError", tt.name, err)
		}
	}
	var c crdt.RWSet[string]
	c.Merge(&a)
	if err := a.ValidateMerge(&c); err != nil {
		t.Errorf("a state and its copy: %v", err)
	}
}

func FuzzRWSetUnmarshalBinary(f *testing.F) {
	var s crdt.RWSet[string]
	f.Add(mustMarshal(f, s.Add("us", "a")))
	f.Add(mustMarshal(f, s.Remove("eu", "b")))
	f.Add(mustMarshal(f, &s))
	f.Fuzz(func(t *testing.T, in []byte) {
		var got crdt.RWSet[string]
		if err := got.UnmarshalBinary(in); err != nil {
			return
		}
		out, _ := got.MarshalBinary()
		if !bytes.Equal(out, in) {
			t.Fatalf("accepted non-canonical input %x, canonical %x", in, out)
		}
	})
}
