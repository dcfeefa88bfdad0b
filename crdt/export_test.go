package crdt

import (
	"fmt"

	"github.com/converge-go/converge/vclock"
)

// This file lets the external tests check the bookkeeping each type keeps
// beside its state — counts that queries and joins trust — on every state
// the property tests reach or decode.

// checkLive compares the live counts of ctx with a recount of the dots
// that dots lists, and checks that each of them is in ctx.
func checkLive(ctx *dotCtx, dots func(yield func(dot))) error {
	if ctx == nil {
		var n int
		dots(func(dot) { n++ })
		if n > 0 {
			return fmt.Errorf("%d dots without a context", n)
		}
		return nil
	}
	live := make([]uint64, len(ctx.ent))
	var err error
	dots(func(d dot) {
		if int(d.r) >= len(live) || !ctx.has(d) {
			err = fmt.Errorf("dot %d:%d not in the context", d.r, d.c)
			return
		}
		live[d.r]++
	})
	if err != nil {
		return err
	}
	for i := range ctx.ent {
		if ctx.ent[i].live != live[i] {
			return fmt.Errorf("replica %s: live %d, recount %d", ctx.ids[i], ctx.ent[i].live, live[i])
		}
	}
	return nil
}

// CheckInternal verifies s's bookkeeping.
func (s *ORSet[E]) CheckInternal() error { return s.m.checkBookkeeping() }

// CheckInternal verifies s's bookkeeping.
func (s *RWSet[E]) CheckInternal() error { return s.m.checkBookkeeping() }

// Forget removes e the way an ORSet does — the dots observed, whatever
// their tags — through the core the sets share, and returns the delta.
func (s *RWSet[E]) Forget(e E) *RWSet[E] {
	d := &RWSet[E]{}
	s.m.forget(e, &d.m)
	return d
}

// CheckInternal verifies f's bookkeeping.
func (f *EWFlag) CheckInternal() error { return f.m.checkBookkeeping() }

// CheckInternal verifies f's bookkeeping.
func (f *DWFlag) CheckInternal() error { return f.m.checkBookkeeping() }

// CheckInternal verifies r's bookkeeping.
func (r *MVRegister[V]) CheckInternal() error { return checkLive(r.f.ctx, r.f.dots) }

// CheckInternal verifies c's bookkeeping.
func (c *CCounter) CheckInternal() error { return checkLive(c.f.ctx, c.f.dots) }

// CheckInternal verifies m's bookkeeping: the live counts of the context
// its values share, that no key is in two of the held, hidden and gone
// sets, that hidden values are hidden and held ones not, and, at every
// depth, that every value lives in the root's context.
func (m *ORMap[K, V]) CheckInternal() error {
	if err := m.checkIn(m.ctx); err != nil {
		return err
	}
	return checkLive(m.ctx, m.inDots)
}

func (m *ORMap[K, V]) checkIn(root *dotCtx) error {
	if m.ctx != root {
		return fmt.Errorf("a nested map outside the root's context")
	}
	for k := range m.gone {
		if _, ok := m.m[k]; ok {
			return fmt.Errorf("key %v both held and gone", k)
		}
		if _, ok := m.tombs[k]; ok {
			return fmt.Errorf("key %v both hidden and gone", k)
		}
	}
	if len(m.gone) > 0 && !m.partial {
		return fmt.Errorf("a full state has gone keys")
	}
	for k, v := range m.tombs {
		if _, ok := m.m[k]; ok {
			return fmt.Errorf("key %v both held and hidden", k)
		}
		if !v.inHidden() {
			return fmt.Errorf("hidden key %v shows its value", k)
		}
	}
	for k, v := range m.m {
		if v.inEmpty() || v.inHidden() {
			return fmt.Errorf("key %v held with an empty or hidden value", k)
		}
	}
	for _, vs := range [2]map[K]V{m.m, m.tombs} {
		for k, v := range vs {
			if v.inCtx() != root {
				return fmt.Errorf("key %v: a value outside the root's context", k)
			}
			if c, ok := any(v).(interface{ checkIn(*dotCtx) error }); ok {
				if err := c.checkIn(root); err != nil {
					return fmt.Errorf("key %v: %w", k, err)
				}
			}
		}
	}
	return nil
}

// checkIn verifies a List inside a map: its own bookkeeping, and that it
// lives in root.
func (l *List[E]) checkIn(root *dotCtx) error {
	if l.ctx != root {
		return fmt.Errorf("a list outside the root's context")
	}
	return l.CheckInternal()
}

// CheckInternal verifies m's count of tombstones.
func (m *LWWMap[K, V]) CheckInternal() error {
	dead := 0
	for _, e := range m.m {
		if e.del {
			dead++
		}
	}
	if dead != m.dead {
		return fmt.Errorf("dead %d, recount %d", m.dead, dead)
	}
	return nil
}

// CheckInternal verifies l's bookkeeping: the tree's counts and leaf
// links, each item's leaf, slot and deletion agreeing, the count of
// waiting items, the identity index, the replicas' top counters, and
// every placed element lying between its origins.
func (l *List[E]) CheckInternal() error {
	if err := l.q.check(nil, l.q.root); err != nil {
		return err
	}
	seen := make(map[int32]int, l.items.len())
	t := 0
	for s := range l.q.all {
		x := slotItem(s)
		if int(x) >= l.items.len() {
			return fmt.Errorf("slot %d: no such item", s)
		}
		if _, dup := seen[x]; dup {
			return fmt.Errorf("item %d placed twice", x)
		}
		seen[x] = t
		t++
		if (s < 0) != l.items.at(x).del {
			return fmt.Errorf("item %d: slot and deletion disagree", x)
		}
	}
	pend := 0
	for i := range int32(l.items.len()) {
		it := l.items.at(i)
		if it.leaf == nil {
			pend++
			if _, ok := seen[int32(i)]; ok {
				return fmt.Errorf("item %d placed without a leaf", i)
			}
		} else if tot, _ := index(it.leaf, int32(i)); seen[int32(i)] != tot {
			return fmt.Errorf("item %d: leaf gives index %d, order %d", i, tot, seen[int32(i)])
		}
		if x, ok := l.find(it.id); !ok || x != int32(i) {
			return fmt.Errorf("item %d not found by identity", i)
		}
		if l.reps[it.id.r].top < it.id.c {
			return fmt.Errorf("item %d beyond its replica's top", i)
		}
		if err := l.checkOrigins(int32(i), seen); err != nil {
			return err
		}
	}
	if int32(pend) != l.npend {
		return fmt.Errorf("%d items wait, npend %d", pend, l.npend)
	}
	if len(seen)+pend != l.items.len() {
		return fmt.Errorf("%d items, %d placed, %d waiting", l.items.len(), len(seen), pend)
	}
	for g := range l.ghosts.all {
		if _, ok := l.find(g); ok {
			return fmt.Errorf("deletion of %d:%d recorded apart from its element", g.r, g.c)
		}
	}
	return nil
}

func (l *List[E]) checkOrigins(x int32, seen map[int32]int) error {
	it := l.items.at(x)
	if it.leaf == nil {
		return nil
	}
	at := seen[x]
	if it.left.r != noRep {
		y, ok := l.find(it.left)
		if !ok || l.items.at(y).leaf == nil || seen[y] >= at {
			return fmt.Errorf("item %d placed before its left origin", x)
		}
	}
	if it.right.r != noRep {
		y, ok := l.find(it.right)
		if !ok || l.items.at(y).leaf == nil || seen[y] <= at {
			return fmt.Errorf("item %d placed after its right origin", x)
		}
	}
	return nil
}

// check verifies the counts and parent links below n.
func (q *seq) check(parent, n *lnode) error {
	if n == nil {
		return nil
	}
	if n.parent != parent {
		return fmt.Errorf("node with a wrong parent")
	}
	tot, vis := 0, 0
	if n.kids == nil {
		for _, s := range n.slots {
			tot++
			if s >= 0 {
				vis++
			}
		}
	} else {
		for _, k := range n.kids {
			if err := q.check(n, k); err != nil {
				return err
			}
			tot += k.tot
			vis += k.vis
		}
	}
	if tot != n.tot || vis != n.vis {
		return fmt.Errorf("node counts %d/%d, recount %d/%d", n.tot, n.vis, tot, vis)
	}
	return nil
}

// Runs returns the number of runs l's encoding writes.
func (l *List[E]) Runs() int {
	pos, _ := l.replicaOrder()
	return len(l.runs(pos))
}

// DotsOf counts the dots of replica id that s's elements hold, by a walk
// of the store rather than the context's live counts.
func (s *ORSet[E]) DotsOf(id vclock.ReplicaID) (n int) {
	r, ok := s.m.ctx.lookup(id)
	if !ok {
		return 0
	}
	s.m.inDots(func(d dot) {
		if d.r == r {
			n++
		}
	})
	return n
}
