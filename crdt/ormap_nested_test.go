package crdt_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/crdt/crdttest"
	"pgregory.net/rapid"
)

// An innerOp changes a map value and returns its delta.
type innerOp[V any] struct {
	name  string
	apply func(r *crdttest.Replica, v V) V
}

func inner[V any](name string, apply func(r *crdttest.Replica, v V) V) innerOp[V] {
	return innerOp[V]{name, apply}
}

// mapOp draws an update of a key with an inner operation, or a removal.
func mapOp[V crdt.Value[V]](ops *rapid.Generator[innerOp[V]]) *rapid.Generator[innerOp[*crdt.ORMap[string, V]]] {
	return rapid.Custom(func(t *rapid.T) innerOp[*crdt.ORMap[string, V]] {
		k := mapKeys.Draw(t, "key")
		if rapid.IntRange(0, 4).Draw(t, "remove") == 0 {
			return inner("remove "+k, func(r *crdttest.Replica, m *crdt.ORMap[string, V]) *crdt.ORMap[string, V] { return m.Remove(k) })
		}
		op := ops.Draw(t, "inner")
		return inner(k+": "+op.name, func(r *crdttest.Replica, m *crdt.ORMap[string, V]) *crdt.ORMap[string, V] {
			return m.Update(k, func(v V) V { return op.apply(r, v) })
		})
	})
}

var (
	orsetOps = rapid.Custom(func(t *rapid.T) innerOp[*crdt.ORSet[string]] {
		e := setElems.Draw(t, "elem")
		if rapid.Bool().Draw(t, "rm") {
			return inner("remove "+e, func(r *crdttest.Replica, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Remove(e) })
		}
		return inner("add "+e, func(r *crdttest.Replica, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(r.ID, e) })
	})
	rwsetOps = rapid.Custom(func(t *rapid.T) innerOp[*crdt.RWSet[string]] {
		e := setElems.Draw(t, "elem")
		if rapid.Bool().Draw(t, "rm") {
			return inner("remove "+e, func(r *crdttest.Replica, s *crdt.RWSet[string]) *crdt.RWSet[string] { return s.Remove(r.ID, e) })
		}
		return inner("add "+e, func(r *crdttest.Replica, s *crdt.RWSet[string]) *crdt.RWSet[string] { return s.Add(r.ID, e) })
	})
	ewOps = rapid.Custom(func(t *rapid.T) innerOp[*crdt.EWFlag] {
		if rapid.Bool().Draw(t, "enable") {
			return inner("enable", func(r *crdttest.Replica, f *crdt.EWFlag) *crdt.EWFlag { return f.Enable(r.ID) })
		}
		return inner("disable", func(r *crdttest.Replica, f *crdt.EWFlag) *crdt.EWFlag { return f.Disable(r.ID) })
	})
	dwOps = rapid.Custom(func(t *rapid.T) innerOp[*crdt.DWFlag] {
		if rapid.Bool().Draw(t, "enable") {
			return inner("enable", func(r *crdttest.Replica, f *crdt.DWFlag) *crdt.DWFlag { return f.Enable(r.ID) })
		}
		return inner("disable", func(r *crdttest.Replica, f *crdt.DWFlag) *crdt.DWFlag { return f.Disable(r.ID) })
	})
	mvOps = rapid.Custom(func(t *rapid.T) innerOp[*crdt.MVRegister[string]] {
		v := setElems.Draw(t, "value")
		return inner("set "+v, func(r *crdttest.Replica, m *crdt.MVRegister[string]) *crdt.MVRegister[string] { return m.Set(r.ID, v) })
	})
	lwwOps = rapid.Custom(func(t *rapid.T) innerOp[*crdt.LWWRegister[string]] {
		v := setElems.Draw(t, "value")
		return inner("set "+v, func(r *crdttest.Replica, m *crdt.LWWRegister[string]) *crdt.LWWRegister[string] {
			return m.Set(r.ID, v, r.Clock.Now())
		})
	})
	ccOps = rapid.Custom(func(t *rapid.T) innerOp[*crdt.CCounter] {
		n := rapid.Uint64Range(1, 3).Draw(t, "n")
		switch rapid.IntRange(0, 3).Draw(t, "kind") {
		case 0:
			return inner("dec", func(r *crdttest.Replica, c *crdt.CCounter) *crdt.CCounter { return c.Dec(r.ID, n) })
		case 1:
			return inner("reset", func(r *crdttest.Replica, c *crdt.CCounter) *crdt.CCounter { return c.Reset() })
		}
		return inner("inc", func(r *crdttest.Replica, c *crdt.CCounter) *crdt.CCounter { return c.Inc(r.ID, n) })
	})
	gcOps = rapid.Custom(func(t *rapid.T) innerOp[*crdt.GCounter] {
		n := rapid.Uint64Range(0, 3).Draw(t, "n")
		if rapid.IntRange(0, 3).Draw(t, "twice") == 0 {
			return inner("inc twice", func(r *crdttest.Replica, c *crdt.GCounter) *crdt.GCounter {
				d := c.Inc(r.ID, n)
				d.Merge(c.Inc(r.ID, 1))
				return d
			})
		}
		return inner("inc", func(r *crdttest.Replica, c *crdt.GCounter) *crdt.GCounter { return c.Inc(r.ID, n) })
	})
	// listValueOps edit a List in a map; "insert, delete" joins the
	// deltas of two mutators, and can leave the list with tombstones only.
	listValueOps = rapid.Custom(func(t *rapid.T) innerOp[*crdt.List[string]] {
		i := rapid.IntRange(-1, 6).Draw(t, "i")
		v := setElems.Draw(t, "v")
		switch rapid.IntRange(0, 5).Draw(t, "kind") {
		case 0:
			return inner(fmt.Sprintf("delete %d", i), func(r *crdttest.Replica, l *crdt.List[string]) *crdt.List[string] { return l.Delete(i) })
		case 1:
			j := rapid.IntRange(0, 6).Draw(t, "j")
			return inner(fmt.Sprintf("delete %d..%d", i, j), func(r *crdttest.Replica, l *crdt.List[string]) *crdt.List[string] { return l.DeleteRange(i, j) })
		case 2:
			return inner(fmt.Sprintf("delete at position of %d", i), func(r *crdttest.Replica, l *crdt.List[string]) *crdt.List[string] {
				p, _ := l.PositionAt(i)
				return l.DeleteAt(p)
			})
		case 3:
			return inner(fmt.Sprintf("insert %s%s at %d", v, v, i), func(r *crdttest.Replica, l *crdt.List[string]) *crdt.List[string] {
				return l.InsertAll(r.ID, i, v, v)
			})
		case 4:
			return inner(fmt.Sprintf("insert %s at %d, delete it", v, i), func(r *crdttest.Replica, l *crdt.List[string]) *crdt.List[string] {
				d := l.Insert(r.ID, i, v)
				d.Merge(l.Delete(max(min(i, l.Len()-1), 0)))
				return d
			})
		}
		return inner(fmt.Sprintf("insert %s at %d", v, i), func(r *crdttest.Replica, l *crdt.List[string]) *crdt.List[string] { return l.Insert(r.ID, i, v) })
	})
	pnOps = rapid.Custom(func(t *rapid.T) innerOp[*crdt.PNCounter] {
		n := rapid.Uint64Range(0, 3).Draw(t, "n")
		switch rapid.IntRange(0, 3).Draw(t, "kind") {
		case 0:
			return inner("dec", func(r *crdttest.Replica, c *crdt.PNCounter) *crdt.PNCounter { return c.Dec(r.ID, n) })
		case 1:
			return inner("inc, dec", func(r *crdttest.Replica, c *crdt.PNCounter) *crdt.PNCounter {
				d := c.Inc(r.ID, n)
				d.Merge(c.Dec(r.ID, 1))
				return d
			})
		}
		return inner("inc", func(r *crdttest.Replica, c *crdt.PNCounter) *crdt.PNCounter { return c.Inc(r.ID, n) })
	})
)

// checkMap runs crdttest on an ORMap whose values take the given
// operations.
func checkMap[V crdt.Value[V]](t *testing.T, ops *rapid.Generator[innerOp[V]]) {
	type M = crdt.ORMap[string, V]
	gen := mapOp(ops)
	crdttest.Check(t, crdttest.Spec[*M]{
		New:       func() *M { return new(M) },
		Skew:      200 * time.Millisecond,
		Invariant: internalOK[*M],
		Op: rapid.Custom(func(t *rapid.T) crdttest.Op[*M] {
			op := gen.Draw(t, "op")
			return crdttest.Op[*M]{Name: op.name, Apply: op.apply}
		}),
	})
}

func TestORMapOfEveryType(t *testing.T) {
	t.Parallel()
	t.Run("ORSet", func(t *testing.T) { checkMap(t, orsetOps) })
	t.Run("RWSet", func(t *testing.T) { checkMap(t, rwsetOps) })
	t.Run("EWFlag", func(t *testing.T) { checkMap(t, ewOps) })
	t.Run("DWFlag", func(t *testing.T) { checkMap(t, dwOps) })
	t.Run("MVRegister", func(t *testing.T) { checkMap(t, mvOps) })
	t.Run("LWWRegister", func(t *testing.T) { checkMap(t, lwwOps) })
	t.Run("CCounter", func(t *testing.T) { checkMap(t, ccOps) })
	t.Run("GCounter", func(t *testing.T) { checkMap(t, gcOps) })
	t.Run("PNCounter", func(t *testing.T) { checkMap(t, pnOps) })
	t.Run("List", func(t *testing.T) { checkMap(t, listValueOps) })
}

func TestORMapTwoLevels(t *testing.T) {
	t.Parallel()
	t.Run("ORSet", func(t *testing.T) { checkMap(t, mapOp(orsetOps)) })
	t.Run("RWSet", func(t *testing.T) { checkMap(t, mapOp(rwsetOps)) })
	t.Run("EWFlag", func(t *testing.T) { checkMap(t, mapOp(ewOps)) })
	t.Run("DWFlag", func(t *testing.T) { checkMap(t, mapOp(dwOps)) })
	t.Run("MVRegister", func(t *testing.T) { checkMap(t, mapOp(mvOps)) })
	t.Run("LWWRegister", func(t *testing.T) { checkMap(t, mapOp(lwwOps)) })
	t.Run("CCounter", func(t *testing.T) { checkMap(t, mapOp(ccOps)) })
	t.Run("GCounter", func(t *testing.T) { checkMap(t, mapOp(gcOps)) })
	t.Run("PNCounter", func(t *testing.T) { checkMap(t, mapOp(pnOps)) })
	t.Run("List", func(t *testing.T) { checkMap(t, mapOp(listValueOps)) })
}

func TestORMapThreeLevels(t *testing.T) {
	t.Parallel()
	checkMap(t, mapOp(mapOp(ccOps)))
}

func TestCCounter(t *testing.T) {
	crdttest.Check(t, crdttest.Spec[*crdt.CCounter]{
		New:       func() *crdt.CCounter { return new(crdt.CCounter) },
		Invariant: internalOK[*crdt.CCounter],
		Op: rapid.Custom(func(t *rapid.T) crdttest.Op[*crdt.CCounter] {
			op := ccOps.Draw(t, "op")
			return crdttest.Op[*crdt.CCounter]{Name: op.name, Apply: op.apply}
		}),
	})
}
