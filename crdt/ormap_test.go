package crdt_test

import (
	"fmt"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/crdt/crdttest"
	"pgregory.net/rapid"
)

var mapKeys = rapid.SampledFrom([]string{"k1", "k2", "k3"})
var setElems = rapid.SampledFrom([]string{"a", "b", "c"})

type cartOp struct {
	kind string // "add", "rm", "rmkey"
	key  string
	elem string
}

// TestORMapOfSets checks the laws and the reset semantics: an element is
// in key k's set iff some add of it was observed by no later operation on
// that element of k, nor by a removal of k.
func TestORMapOfSets(t *testing.T) {
	t.Parallel()
	type M = crdt.ORMap[string, *crdt.ORSet[string]]
	crdttest.Check(t, crdttest.Spec[*M]{
		New: func() *M { return new(M) },
		Op: rapid.Custom(func(t *rapid.T) crdttest.Op[*M] {
			op := cartOp{rapid.SampledFrom([]string{"add", "add", "rm", "rmkey"}).Draw(t, "kind"), mapKeys.Draw(t, "key"), setElems.Draw(t, "elem")}
			return crdttest.Op[*M]{
				Name: fmt.Sprint(op), Arg: op,
				Apply: func(r *crdttest.Replica, m *M) *M {
					switch op.kind {
					case "add":
						return m.Update(op.key, func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(r.ID, op.elem) })
					case "rm":
						return m.Update(op.key, func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Remove(op.elem) })
					}
					return m.Remove(op.key)
				},
			}
		}),
		Invariant: func(t *rapid.T, m *M) {
			internalOK(t, m)
			for k, s := range m.All() {
				if s.Len() == 0 {
					t.Fatalf("key %s present with an empty set", k)
				}
			}
		},
		Model: func(t *rapid.T, h *crdttest.History[*M], final *M) {
			want := map[string]map[string]bool{}
			for _, a := range h.Events {
				op := a.Op.Arg.(cartOp)
				if op.kind != "add" {
					continue
				}
				observed := false
				for _, j := range h.Events {
					jo := j.Op.Arg.(cartOp)
					if jo.key == op.key && (jo.kind == "rmkey" || jo.elem == op.elem) && h.HappenedBefore(a.Index, j.Index) {
						observed = true
						break
					}
				}
				if !observed {
					if want[op.key] == nil {
						want[op.key] = map[string]bool{}
					}
					want[op.key][op.elem] = true
				}
			}
			if final.Len() != len(want) {
				t.Fatalf("map %v, want keys %v", final, want)
			}
			for k, elems := range want {
				s, ok := final.Get(k)
				if !ok || s.Len() != len(elems) {
					t.Fatalf("key %s: %v, want %v (map %v)", k, s, elems, final)
				}
				for e := range elems {
					if !s.Contains(e) {
						t.Fatalf("key %s lacks %s (map %v)", k, e, final)
					}
				}
			}
		},
	})
}

type counterOp struct {
	kind string // "inc", "dec", "reset", "rmkey"
	key  string
	n    uint64
}

// TestORMapOfCounters: a key's counter is the sum of the increments no
// later reset or removal of the key observed.
func TestORMapOfCounters(t *testing.T) {
	t.Parallel()
	type M = crdt.ORMap[string, *crdt.CCounter]
	crdttest.Check(t, crdttest.Spec[*M]{
		New:       func() *M { return new(M) },
		Invariant: internalOK[*M],
		Op: rapid.Custom(func(t *rapid.T) crdttest.Op[*M] {
			op := counterOp{rapid.SampledFrom([]string{"inc", "inc", "dec", "reset", "rmkey"}).Draw(t, "kind"), mapKeys.Draw(t, "key"), rapid.Uint64Range(1, 5).Draw(t, "n")}
			return crdttest.Op[*M]{
				Name: fmt.Sprint(op), Arg: op,
				Apply: func(r *crdttest.Replica, m *M) *M {
					switch op.kind {
					case "inc":
						return m.Update(op.key, func(c *crdt.CCounter) *crdt.CCounter { return c.Inc(r.ID, op.n) })
					case "dec":
						return m.Update(op.key, func(c *crdt.CCounter) *crdt.CCounter { return c.Dec(r.ID, op.n) })
					case "reset":
						return m.Update(op.key, func(c *crdt.CCounter) *crdt.CCounter { return c.Reset() })
					}
					return m.Remove(op.key)
				},
			}
		}),
		Model: func(t *rapid.T, h *crdttest.History[*M], final *M) {
			want := map[string]int64{}
			present := map[string]bool{}
			for _, a := range h.Events {
				op := a.Op.Arg.(counterOp)
				if op.kind != "inc" && op.kind != "dec" {
					continue
				}
				observed := false
				for _, j := range h.Events {
					jo := j.Op.Arg.(counterOp)
					if jo.key == op.key && (jo.kind == "reset" || jo.kind == "rmkey") && h.HappenedBefore(a.Index, j.Index) {
						observed = true
						break
					}
				}
				if !observed {
					present[op.key] = true
					if op.kind == "inc" {
						want[op.key] += int64(op.n)
					} else {
						want[op.key] -= int64(op.n)
					}
				}
			}
			if final.Len() != len(present) {
				t.Fatalf("map %v, want keys %v", final, present)
			}
			for k := range present {
				c, ok := final.Get(k)
				if !ok || c.Value() != want[k] {
					t.Fatalf("key %s = %v, want %d (map %v)", k, c, want[k], final)
				}
			}
		},
	})
}
