package crdt

import (
	"slices"

	"github.com/converge-go/converge/vclock"
)

// Clamping. A replica that takes a state from a peer which relays events
// of a third replica may want only the part it can check: the events
// that third replica has shown it (package merge does this). Clamp(id, n)
// makes a state as if it had seen no event of id beyond n: such events
// leave the causal context, and the data they wrote leaves the store.
// The result is a state some replica could have held — one that had not
// received those events — so it merges like any other; the rest arrives
// when the peer sends the state again, once it can be checked.

// clamp drops from e every counter above n; the caller drops the dots
// held above n from the store, which keeps live right.
func (e *ctxEntry) clamp(n uint64) {
	if e.top > n {
		e.top = n
	}
	k := len(e.cloud)
	for k > 0 && e.cloud[k-1] > n {
		k--
	}
	if k == 0 {
		e.cloud = nil
	} else {
		e.cloud = e.cloud[:k:k]
	}
}

// clamp drops the events of replica id above n from the context, and
// returns id's index, or false if x has no such event.
func (x *dotCtx) clamp(id vclock.ReplicaID, n uint64) (uint32, bool) {
	r, ok := x.lookup(id)
	if !ok {
		return 0, false
	}
	e := &x.ent[r]
	if e.top <= n && (len(e.cloud) == 0 || e.cloud[len(e.cloud)-1] <= n) {
		return 0, false
	}
	e.clamp(n)
	return r, true
}

// A keeper says which counters of one replica (index r in the root) a
// clamp keeps.
type keeper struct {
	r    uint32
	keep func(c uint64) bool
}

// drops reports whether d is a dot the clamp removes.
func (k keeper) drops(d dot) bool { return d.r == k.r && !k.keep(d.c) }

// below keeps the counters up to n.
func below(r uint32, n uint64) keeper {
	return keeper{r, func(c uint64) bool { return c <= n }}
}

// clampStore drops every dot of replica r above n from the store; an
// element left with no dot leaves it (a delta does not list it as gone:
// its context no longer says anything of those dots).
func (m *dotMap[E]) clampStore(k keeper) {
	type change struct {
		e    E
		v    uint64
		keep []tdot
	}
	var changes []change
	var buf []tdot
	m.st.all(func(e E, v uint64) bool {
		buf = m.st.expand(e, v, true, buf[:0])
		var keep []tdot
		dropped := false
		for _, d := range buf {
			if k.drops(d.dot) {
				dropped = true
			} else {
				keep = append(keep, d)
			}
		}
		if dropped {
			changes = append(changes, change{e, v, keep})
		}
		return true
	})
	for _, c := range changes {
		m.replace(c.e, c.v, true, c.keep)
	}
}

func (m *dotMap[E]) clamp(id vclock.ReplicaID, n uint64) {
	if m.ctx == nil {
		return
	}
	if r, ok := m.ctx.clamp(id, n); ok {
		m.clampStore(below(r, n))
	}
}

// clampStore drops every entry the keeper drops.
func (f *dotFun[V]) clampStore(k keeper) {
	keep := f.es[:0]
	for _, x := range f.es {
		if k.drops(x.d) {
			f.ctx.ent[x.d.r].live--
		} else {
			keep = append(keep, x)
		}
	}
	clear(f.es[len(keep):])
	f.es = keep
}

func (f *dotFun[V]) clamp(id vclock.ReplicaID, n uint64) {
	if f.ctx == nil {
		return
	}
	if r, ok := f.ctx.clamp(id, n); ok {
		f.clampStore(below(r, n))
	}
}

// Clamp removes from s every event of replica id beyond counter n: those
// dots leave its causal context, and elements they added leave the set
// unless another dot holds them. O(n) if s holds such events, else
// O(replicas).
func (s *ORSet[E]) Clamp(id vclock.ReplicaID, n uint64) { s.m.clamp(id, n) }

// Clamp removes from s every event of replica id beyond counter n (see
// [ORSet.Clamp]).
func (s *RWSet[E]) Clamp(id vclock.ReplicaID, n uint64) { s.m.clamp(id, n) }

// Clamp removes from f every event of replica id beyond counter n (see
// [ORSet.Clamp]).
func (f *EWFlag) Clamp(id vclock.ReplicaID, n uint64) { f.m.clamp(id, n) }

// Clamp removes from f every event of replica id beyond counter n (see
// [ORSet.Clamp]).
func (f *DWFlag) Clamp(id vclock.ReplicaID, n uint64) { f.m.clamp(id, n) }

// Clamp removes from m every event of replica id beyond counter n: those
// dots leave its causal context, and the values they wrote leave the
// register.
func (m *MVRegister[V]) Clamp(id vclock.ReplicaID, n uint64) { m.f.clamp(id, n) }

// Clamp removes from c every event of replica id beyond counter n: those
// dots leave its causal context, and their amounts leave the counter.
func (c *CCounter) Clamp(id vclock.ReplicaID, n uint64) { c.f.clamp(id, n) }

// Clamp removes from m every event of replica id beyond counter n, at
// every depth: those dots leave the map's causal context, the data they
// wrote leaves the values, and a key left without data leaves the map.
// O(n) if m holds such events, else O(replicas).
func (m *ORMap[K, V]) Clamp(id vclock.ReplicaID, n uint64) {
	if m.ctx == nil {
		return
	}
	if r, ok := m.ctx.clamp(id, n); ok {
		m.inClamp(below(r, n))
	}
}

func (m *ORMap[K, V]) inClamp(k keeper) {
	// Hidden values can only lose their last dot; a held one can become
	// hidden (a List whose visible elements were dropped), so tombs first.
	for key, v := range m.tombs {
		v.inClamp(k)
		if v.inEmpty() {
			delete(m.tombs, key)
		}
	}
	for key, v := range m.m {
		v.inClamp(k)
		switch {
		case v.inEmpty():
			delete(m.m, key)
		case v.inHidden():
			delete(m.m, key)
			if m.tombs == nil {
				m.tombs = make(map[K]V)
			}
			m.tombs[key] = v
		}
	}
}

func (s *ORSet[E]) inClamp(k keeper)      { s.m.clampStore(k) }
func (s *RWSet[E]) inClamp(k keeper)      { s.m.clampStore(k) }
func (f *EWFlag) inClamp(k keeper)        { f.m.clampStore(k) }
func (f *DWFlag) inClamp(k keeper)        { f.m.clampStore(k) }
func (m *MVRegister[V]) inClamp(k keeper) { m.f.clampStore(k) }
func (c *CCounter) inClamp(k keeper)      { c.f.clampStore(k) }
func (c *GCounter) inClamp(k keeper)      { c.em.clampStore(k); c.sync() }
func (c *PNCounter) inClamp(k keeper)     { c.em.clampStore(k); c.sync() }

func (r *LWWRegister[V]) inClamp(k keeper) {
	keep := r.sibs[:0]
	for _, s := range r.sibs {
		if k.drops(s.d) {
			r.ctx.ent[s.d.r].live--
		} else {
			keep = append(keep, s)
		}
	}
	clear(r.sibs[len(keep):])
	r.sibs = keep
	r.pick()
}

// Clamp lowers replica id's count to n, if it is above: the counter as if
// it had seen none of id's increments beyond n. A counter inside an ORMap
// shares the map's context with the map's other values: clamp the map
// (ORMap.Clamp reaches every value); Clamp of the counter does nothing.
func (c *GCounter) Clamp(id vclock.ReplicaID, n uint64) {
	if c.em != nil {
		return
	}
	if c.Get(id) <= n {
		return
	}
	c.own()
	i, _ := c.v.Search(id)
	if n == 0 {
		c.v = slices.Delete(c.v, i, i+1)
	} else {
		c.v[i].N = n
	}
}

// Clamp lowers replica id's increment and decrement counts to n, those
// that are above (see [PNCounter.Version]); inside an ORMap it does
// nothing, as [GCounter.Clamp].
func (c *PNCounter) Clamp(id vclock.ReplicaID, n uint64) {
	if c.em != nil {
		return
	}
	c.p.Clamp(id, n)
	c.n.Clamp(id, n)
}

// Clamp does nothing: a GSet counts no replica's events.
func (s *GSet[E]) Clamp(id vclock.ReplicaID, n uint64) {}

// Clamp does nothing: a TwoPSet counts no replica's events.
func (s *TwoPSet[E]) Clamp(id vclock.ReplicaID, n uint64) {}

// Clamp does nothing: an LWWMap counts no replica's events.
func (m *LWWMap[K, V]) Clamp(id vclock.ReplicaID, n uint64) {}

// Clamp removes, from a register inside an ORMap, the writes of replica
// id's events beyond counter n; a top-level register counts no events,
// and is left as it is.
func (r *LWWRegister[V]) Clamp(id vclock.ReplicaID, n uint64) {
	if r.ctx == nil {
		return
	}
	if ri, ok := r.ctx.clamp(id, n); ok {
		r.inClamp(below(ri, n))
	}
}
