package crdt

import "fmt"

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
// its values share, and that no key is both held and gone.
func (m *ORMap[K, V]) CheckInternal() error {
	for k := range m.gone {
		if _, ok := m.m[k]; ok {
			return fmt.Errorf("key %v both held and gone", k)
		}
	}
	if len(m.gone) > 0 && !m.partial {
		return fmt.Errorf("a full state has gone keys")
	}
	return checkLive(m.ctx, m.inDots)
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
