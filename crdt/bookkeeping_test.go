package crdt_test

import (
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/crdt/crdttest"
	"pgregory.net/rapid"
)

// TestDotMapBookkeeping runs the sets' shared core — RWSet's adds and
// removes, and an ORSet-style remove — through the convergence checker
// and checks its bookkeeping on every state it reaches.
func TestDotMapBookkeeping(t *testing.T) {
	type set = *crdt.RWSet[string]
	elems := rapid.SampledFrom([]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"})
	crdttest.CheckConvergence(t, crdttest.Spec[set]{
		New: func() set { return new(crdt.RWSet[string]) },
		Op: rapid.Custom(func(t *rapid.T) crdttest.Op[set] {
			e := elems.Draw(t, "elem")
			switch rapid.IntRange(0, 2).Draw(t, "kind") {
			case 0:
				return crdttest.Op[set]{Name: "remove " + e, Apply: func(r *crdttest.Replica, s set) set { return s.Remove(r.ID, e) }}
			case 1:
				return crdttest.Op[set]{Name: "forget " + e, Apply: func(r *crdttest.Replica, s set) set { return s.Forget(e) }}
			}
			return crdttest.Op[set]{Name: "add " + e, Apply: func(r *crdttest.Replica, s set) set { return s.Add(r.ID, e) }}
		}),
		Invariant: func(t *rapid.T, s set) {
			if err := s.ValidateMerge(s); err != nil {
				t.Fatalf("a state conflicts with itself: %v", err)
			}
			if err := s.CheckInternal(); err != nil {
				t.Fatal(err)
			}
		},
	})
}
