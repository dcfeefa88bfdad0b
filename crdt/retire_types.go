package crdt

import "github.com/converge-go/converge/vclock"

// The Retire methods of the causal types. Each retires the IDs of
// IDRange{lo, hi} in the state (see IDRange and the doc of package crdt,
// "Retiring writers") and returns the delta that retires them elsewhere:
// for a set, a flag or a map, a delta holding the range alone; for an
// MVRegister or a CCounter, whose deltas speak for every dot, a copy of
// the state, range included. Retire is idempotent; it fails only with
// ErrBadRange. The Retired methods list the state's retired ranges in
// their canonical order.

// retiredSet returns a partial dotMap delta that holds only ctx.
func retiredSet[E comparable](ctx *dotCtx) dotMap[E] {
	return dotMap[E]{ctx: ctx, partial: true}
}

// Retire retires the writers lo..hi: see IDRange. Every dot of theirs
// counts as seen; the elements they added stay, and their entries leave
// the context once no element holds their dots.
func (s *ORSet[E]) Retire(lo, hi vclock.ReplicaID) (*ORSet[E], error) {
	d, err := retire(s, func(s *ORSet[E]) *dotCtx { return s.m.root() }, IDRange{lo, hi})
	if err != nil {
		return nil, err
	}
	return &ORSet[E]{m: retiredSet[E](d)}, nil
}

// Retired returns the retired ranges of s.
func (s *ORSet[E]) Retired() []IDRange { return s.m.ctx.retiredRanges() }

// Retire retires the writers lo..hi, as [ORSet.Retire] does.
func (s *RWSet[E]) Retire(lo, hi vclock.ReplicaID) (*RWSet[E], error) {
	d, err := retire(s, func(s *RWSet[E]) *dotCtx { return s.m.root() }, IDRange{lo, hi})
	if err != nil {
		return nil, err
	}
	return &RWSet[E]{m: retiredSet[E](d)}, nil
}

// Retired returns the retired ranges of s.
func (s *RWSet[E]) Retired() []IDRange { return s.m.ctx.retiredRanges() }

// Retire retires the writers lo..hi, as [ORSet.Retire] does.
func (f *EWFlag) Retire(lo, hi vclock.ReplicaID) (*EWFlag, error) {
	d, err := retire(f, func(f *EWFlag) *dotCtx { return f.m.root() }, IDRange{lo, hi})
	if err != nil {
		return nil, err
	}
	return &EWFlag{m: retiredSet[bool](d)}, nil
}

// Retired returns the retired ranges of f.
func (f *EWFlag) Retired() []IDRange { return f.m.ctx.retiredRanges() }

// Retire retires the writers lo..hi, as [ORSet.Retire] does.
func (f *DWFlag) Retire(lo, hi vclock.ReplicaID) (*DWFlag, error) {
	d, err := retire(f, func(f *DWFlag) *dotCtx { return f.m.root() }, IDRange{lo, hi})
	if err != nil {
		return nil, err
	}
	return &DWFlag{m: retiredSet[bool](d)}, nil
}

// Retired returns the retired ranges of f.
func (f *DWFlag) Retired() []IDRange { return f.m.ctx.retiredRanges() }

// Retire retires the writers lo..hi, as [ORSet.Retire] does; the delta is
// a copy of the register, since a register's delta speaks for every dot.
func (m *MVRegister[V]) Retire(lo, hi vclock.ReplicaID) (*MVRegister[V], error) {
	d, err := retire(m, func(m *MVRegister[V]) *dotCtx { return m.f.root() }, IDRange{lo, hi})
	if err != nil {
		return nil, err
	}
	out := m.Clone()
	out.f.ctx.edits = d.edits
	return out, nil
}

// Retired returns the retired ranges of m.
func (m *MVRegister[V]) Retired() []IDRange { return m.f.ctx.retiredRanges() }

// Retire retires the writers lo..hi, as [ORSet.Retire] does: their
// increments still count. The delta is a copy of the counter.
func (c *CCounter) Retire(lo, hi vclock.ReplicaID) (*CCounter, error) {
	d, err := retire(c, func(c *CCounter) *dotCtx { return c.f.root() }, IDRange{lo, hi})
	if err != nil {
		return nil, err
	}
	out := c.Clone()
	out.f.ctx.edits = d.edits
	return out, nil
}

// Retired returns the retired ranges of c.
func (c *CCounter) Retired() []IDRange { return c.f.ctx.retiredRanges() }

// Retire retires the writers lo..hi in the map's context, which every
// value at every depth shares, as [ORSet.Retire] does. The delta holds
// the range and no key.
func (m *ORMap[K, V]) Retire(lo, hi vclock.ReplicaID) (*ORMap[K, V], error) {
	d, err := retire(m, func(m *ORMap[K, V]) *dotCtx { return m.root() }, IDRange{lo, hi})
	if err != nil {
		return nil, err
	}
	return &ORMap[K, V]{ctx: d, partial: true}, nil
}

// Retired returns the retired ranges of m.
func (m *ORMap[K, V]) Retired() []IDRange { return m.ctx.retiredRanges() }
