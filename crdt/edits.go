package crdt

// Edits. A replica that keeps a state for its peers needs the delta of
// every change it makes; a callback that calls two mutators and returns
// the delta of one loses the other for every peer that syncs by deltas,
// silently. So each state counts the changes made through its mutators,
// and each delta the mutator calls it joins: merging adds the counts.
// Comparing the two, before and after the callback, catches the mistake
// (merge.Replica.Update and ORMap.Update panic on it). The counts are
// bookkeeping: they are not encoded and not compared by Equal.

// Edits returns the number of changes made through the mutators of s, if
// s is a state, or, if s is a delta, the number of mutator deltas joined
// into it; merging adds the other side's count. See the package
// documentation.
func (s *ORSet[E]) Edits() uint64 { return s.m.ctx.editCount() }

// Edits returns the count of changes s records (see [ORSet.Edits]).
func (s *RWSet[E]) Edits() uint64 { return s.m.ctx.editCount() }

// Edits returns the count of changes f records (see [ORSet.Edits]).
func (f *EWFlag) Edits() uint64 { return f.m.ctx.editCount() }

// Edits returns the count of changes f records (see [ORSet.Edits]).
func (f *DWFlag) Edits() uint64 { return f.m.ctx.editCount() }

// Edits returns the count of changes m records (see [ORSet.Edits]).
func (m *MVRegister[V]) Edits() uint64 { return m.f.ctx.editCount() }

// Edits returns the count of changes c records (see [ORSet.Edits]).
func (c *CCounter) Edits() uint64 { return c.f.ctx.editCount() }

// Edits returns the count of changes m records, at any depth (see
// [ORSet.Edits]).
func (m *ORMap[K, V]) Edits() uint64 { return m.ctx.editCount() }

// Edits returns the count of changes c records (see [ORSet.Edits]); inside
// an ORMap, the map's context counts them, as for the map's other values.
func (c *GCounter) Edits() uint64 {
	if c.em != nil {
		return c.em.ctx.editCount()
	}
	return c.edits
}

// Edits returns the count of changes c records (see [GCounter.Edits]).
func (c *PNCounter) Edits() uint64 {
	if c.em != nil {
		return c.em.ctx.editCount()
	}
	return c.p.edits + c.n.edits
}

// Edits returns the count of changes s records (see [ORSet.Edits]).
func (s *GSet[E]) Edits() uint64 { return s.edits }

// Edits returns the count of changes s records (see [ORSet.Edits]).
func (s *TwoPSet[E]) Edits() uint64 { return s.edits }

// Edits returns the count of changes m records (see [ORSet.Edits]).
func (m *LWWMap[K, V]) Edits() uint64 { return m.edits }

// Edits returns the count of changes r records (see [ORSet.Edits]); inside
// an ORMap, the map's.
func (r *LWWRegister[V]) Edits() uint64 {
	if r.ctx != nil {
		return r.ctx.editCount()
	}
	return r.edits
}

func (x *dotCtx) editCount() uint64 {
	if x == nil {
		return 0
	}
	return x.edits
}
