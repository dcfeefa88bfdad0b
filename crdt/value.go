package crdt

import (
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/internal/wire"
)

// Value is the constraint on the values of an [ORMap]: the causal types of
// this package, whose stores can live in the map's causal context —
// *ORSet[E], *RWSet[E], *EWFlag, *DWFlag, *MVRegister[V],
// *LWWRegister[V], *CCounter, *GCounter, *PNCounter, *List[E] and
// *ORMap[K, V] itself, so maps nest. A GCounter or PNCounter in a map
// keeps one entry per replica, each with a dot in the map's context (see
// [PNCounter]); a List gives each element a dot of the map's context and
// keeps its deleted elements as tombstones (see [List], "Inside an
// ORMap"). Its methods are unexported: a value must share the map's
// context to be removed without forgetting what concurrent updates need,
// which only these types know how to do.
type Value[V any] interface {
	// inNew returns a new empty value living in ctx, partial or full;
	// it is called on the zero V.
	inNew(ctx *dotCtx, partial bool) V
	// inJoin joins o (the zero V: an empty full value) into the receiver,
	// with contexts and numbering from env.
	inJoin(o V, env *joinEnv)
	// inEmpty reports whether the value holds no dot.
	inEmpty() bool
	// inDots calls yield for every dot the value holds.
	inDots(yield func(dot))
	// inClone copies the value into one living in ctx.
	inClone(ctx *dotCtx) V
	// inEqual compares stores; tr maps the receiver's replica indices to
	// o's.
	inEqual(o V, tr []uint32) bool
	// inAppend appends the value as a nested array [kind, fields...],
	// replicas numbered by pos.
	inAppend(b []byte, pos []uint32) []byte
	// inRead reads a nested value written by inAppend into a new value
	// living in ctx; full forbids a partial value.
	inRead(r *wire.Reader, ctx *dotCtx, full bool) V
	// inFull drops the delta bookkeeping of the value and all it holds.
	inFull()
	// inCtx returns the context of a root value, such as a mutator's delta.
	inCtx() *dotCtx
	// inCheck records, for c, the dots o holds that the receiver has
	// seen but does not hold alike (see checker); the receiver may be nil,
	// for a key the receiving map lacks.
	inCheck(o V, c *checker)
	// inMaxTimestamp returns the largest timestamp of a write the value
	// holds, at any depth (registers), or 0.
	inMaxTimestamp() hlc.Timestamp
	// inClamp drops the value's dots that k drops; the root has clamped
	// its context.
	inClamp(k keeper)
	// inHidden reports whether the value holds dots but shows nothing: a
	// List whose every element is deleted. The map keeps such a value,
	// for the inserts concurrent with the deletions, and reports its key
	// absent. It is false for an empty value.
	inHidden() bool
	// inTombs reports whether values of the type keep tombstones: data a
	// join keeps whatever the contexts say, so that a merge must visit
	// the value even when the receiver has seen all its dots, and a
	// removal deletes what the value shows rather than forgetting its
	// dots (such a type implements remover). It is called on the zero V.
	inTombs() bool
}

// A remover is a Value that keeps tombstones (inTombs): inRemove deletes
// everything the value shows, keeping its tombstones, and returns the
// delta, as one of its mutators would. ORMap.Remove calls it.
type remover[V any] interface {
	inRemove() V
}

var (
	_ Value[*ORSet[string]]            = (*ORSet[string])(nil)
	_ Value[*RWSet[string]]            = (*RWSet[string])(nil)
	_ Value[*EWFlag]                   = (*EWFlag)(nil)
	_ Value[*DWFlag]                   = (*DWFlag)(nil)
	_ Value[*MVRegister[string]]       = (*MVRegister[string])(nil)
	_ Value[*LWWRegister[string]]      = (*LWWRegister[string])(nil)
	_ Value[*CCounter]                 = (*CCounter)(nil)
	_ Value[*GCounter]                 = (*GCounter)(nil)
	_ Value[*PNCounter]                = (*PNCounter)(nil)
	_ Value[*List[string]]             = (*List[string])(nil)
	_ Value[*ORMap[string, *CCounter]] = (*ORMap[string, *CCounter])(nil)

	_ remover[*List[string]]                 = (*List[string])(nil)
	_ remover[*ORMap[string, *List[string]]] = (*ORMap[string, *List[string]])(nil)
)

// The types whose values are their dots show what they hold and keep no
// tombstones.

func (s *ORSet[E]) inHidden() bool       { return false }
func (s *ORSet[E]) inTombs() bool        { return false }
func (s *RWSet[E]) inHidden() bool       { return false }
func (s *RWSet[E]) inTombs() bool        { return false }
func (f *EWFlag) inHidden() bool         { return false }
func (f *EWFlag) inTombs() bool          { return false }
func (f *DWFlag) inHidden() bool         { return false }
func (f *DWFlag) inTombs() bool          { return false }
func (m *MVRegister[V]) inHidden() bool  { return false }
func (m *MVRegister[V]) inTombs() bool   { return false }
func (r *LWWRegister[V]) inHidden() bool { return false }
func (r *LWWRegister[V]) inTombs() bool  { return false }
func (c *CCounter) inHidden() bool       { return false }
func (c *CCounter) inTombs() bool        { return false }
func (c *GCounter) inHidden() bool       { return false }
func (c *GCounter) inTombs() bool        { return false }
func (c *PNCounter) inHidden() bool      { return false }
func (c *PNCounter) inTombs() bool       { return false }

// The dotMap-based types share these helpers.

func (m *dotMap[E]) inDots(yield func(dot)) {
	var buf []tdot
	m.st.all(func(e E, v uint64) bool {
		buf = m.st.expand(e, v, true, buf[:0])
		for _, d := range buf {
			yield(d.dot)
		}
		return true
	})
}

// inAppend writes [kind, partial, entries, gone].
func (m *dotMap[E]) inAppend(b []byte, pos []uint32, k wire.Kind, tagged bool) []byte {
	b = wire.AppendArrayLen(b, 4)
	b = wire.AppendUint(b, uint64(k))
	b = wire.AppendBool(b, m.partial)
	return m.appendStore(b, pos, tagged)
}

// readNested reads the array header and kind of a nested value.
func readNested(r *wire.Reader, k wire.Kind, n int) {
	at := r.Offset()
	if !r.ExpectArray(n) {
		return
	}
	if got := r.Uint(); !r.Failed() && got != uint64(k) {
		r.FailAt(at, "nested value of kind "+wire.Kind(got).String()+", want "+k.String())
	}
}

func readNestedDotMap[E comparable](r *wire.Reader, ctx *dotCtx, full bool, k wire.Kind, tagged bool) dotMap[E] {
	readNested(r, k, 4)
	at := r.Offset()
	partial := r.Bool()
	if !r.Failed() && partial && full {
		r.FailAt(at, "a partial value inside a full state")
	}
	return readDotStore[E](r, ctx, partial, tagged)
}

func (s *ORSet[E]) inNew(ctx *dotCtx, partial bool) *ORSet[E] {
	return &ORSet[E]{m: dotMap[E]{ctx: ctx, partial: partial}}
}

func (s *ORSet[E]) inJoin(o *ORSet[E], env *joinEnv) {
	if o == nil {
		s.m.join(nil, env)
		return
	}
	s.m.join(&o.m, env)
}

func (s *ORSet[E]) inEmpty() bool                         { return s.m.st.len() == 0 }
func (s *ORSet[E]) inDots(yield func(dot))                { s.m.inDots(yield) }
func (s *ORSet[E]) inClone(ctx *dotCtx) *ORSet[E]         { return &ORSet[E]{m: s.m.cloneIn(ctx)} }
func (s *ORSet[E]) inEqual(o *ORSet[E], tr []uint32) bool { return s.m.equalStore(&o.m, tr) }
func (s *ORSet[E]) inFull()                               { s.m.makeFull() }
func (s *ORSet[E]) inCtx() *dotCtx                        { return s.m.ctx }
func (s *ORSet[E]) inCheck(o *ORSet[E], c *checker) {
	var st *dotMap[E]
	if s != nil {
		st = &s.m
	}
	st.check(&o.m, c)
}

func (s *ORSet[E]) inAppend(b []byte, pos []uint32) []byte {
	return s.m.inAppend(b, pos, wire.KindORSet, false)
}

func (s *ORSet[E]) inRead(r *wire.Reader, ctx *dotCtx, full bool) *ORSet[E] {
	return &ORSet[E]{m: readNestedDotMap[E](r, ctx, full, wire.KindORSet, false)}
}

func (s *RWSet[E]) inNew(ctx *dotCtx, partial bool) *RWSet[E] {
	return &RWSet[E]{m: dotMap[E]{ctx: ctx, partial: partial}}
}

func (s *RWSet[E]) inJoin(o *RWSet[E], env *joinEnv) {
	if o == nil {
		s.m.join(nil, env)
		return
	}
	s.m.join(&o.m, env)
}

func (s *RWSet[E]) inEmpty() bool                         { return s.m.st.len() == 0 }
func (s *RWSet[E]) inDots(yield func(dot))                { s.m.inDots(yield) }
func (s *RWSet[E]) inClone(ctx *dotCtx) *RWSet[E]         { return &RWSet[E]{m: s.m.cloneIn(ctx)} }
func (s *RWSet[E]) inEqual(o *RWSet[E], tr []uint32) bool { return s.m.equalStore(&o.m, tr) }
func (s *RWSet[E]) inFull()                               { s.m.makeFull() }
func (s *RWSet[E]) inCtx() *dotCtx                        { return s.m.ctx }
func (s *RWSet[E]) inCheck(o *RWSet[E], c *checker) {
	var st *dotMap[E]
	if s != nil {
		st = &s.m
	}
	st.check(&o.m, c)
}

func (s *RWSet[E]) inAppend(b []byte, pos []uint32) []byte {
	return s.m.inAppend(b, pos, wire.KindRWSet, true)
}

func (s *RWSet[E]) inRead(r *wire.Reader, ctx *dotCtx, full bool) *RWSet[E] {
	return &RWSet[E]{m: readNestedDotMap[E](r, ctx, full, wire.KindRWSet, true)}
}

func (f *EWFlag) inNew(ctx *dotCtx, partial bool) *EWFlag {
	return &EWFlag{m: dotMap[bool]{ctx: ctx, partial: partial}}
}

func (f *EWFlag) inJoin(o *EWFlag, env *joinEnv) {
	if o == nil {
		f.m.join(nil, env)
		return
	}
	f.m.join(&o.m, env)
}

func (f *EWFlag) inEmpty() bool                       { return f.m.st.len() == 0 }
func (f *EWFlag) inDots(yield func(dot))              { f.m.inDots(yield) }
func (f *EWFlag) inClone(ctx *dotCtx) *EWFlag         { return &EWFlag{m: f.m.cloneIn(ctx)} }
func (f *EWFlag) inEqual(o *EWFlag, tr []uint32) bool { return f.m.equalStore(&o.m, tr) }
func (f *EWFlag) inFull()                             { f.m.makeFull() }
func (f *EWFlag) inCtx() *dotCtx                      { return f.m.ctx }
func (f *EWFlag) inCheck(o *EWFlag, c *checker) {
	var st *dotMap[bool]
	if f != nil {
		st = &f.m
	}
	st.check(&o.m, c)
}

func (f *EWFlag) inAppend(b []byte, pos []uint32) []byte {
	return f.m.inAppend(b, pos, wire.KindEWFlag, false)
}

func (f *EWFlag) inRead(r *wire.Reader, ctx *dotCtx, full bool) *EWFlag {
	return &EWFlag{m: checkFlag(r, readNestedDotMap[bool](r, ctx, full, wire.KindEWFlag, false))}
}

func (f *DWFlag) inNew(ctx *dotCtx, partial bool) *DWFlag {
	return &DWFlag{m: dotMap[bool]{ctx: ctx, partial: partial}}
}

func (f *DWFlag) inJoin(o *DWFlag, env *joinEnv) {
	if o == nil {
		f.m.join(nil, env)
		return
	}
	f.m.join(&o.m, env)
}

func (f *DWFlag) inEmpty() bool                       { return f.m.st.len() == 0 }
func (f *DWFlag) inDots(yield func(dot))              { f.m.inDots(yield) }
func (f *DWFlag) inClone(ctx *dotCtx) *DWFlag         { return &DWFlag{m: f.m.cloneIn(ctx)} }
func (f *DWFlag) inEqual(o *DWFlag, tr []uint32) bool { return f.m.equalStore(&o.m, tr) }
func (f *DWFlag) inFull()                             { f.m.makeFull() }
func (f *DWFlag) inCtx() *dotCtx                      { return f.m.ctx }
func (f *DWFlag) inCheck(o *DWFlag, c *checker) {
	var st *dotMap[bool]
	if f != nil {
		st = &f.m
	}
	st.check(&o.m, c)
}

func (f *DWFlag) inAppend(b []byte, pos []uint32) []byte {
	return f.m.inAppend(b, pos, wire.KindDWFlag, true)
}

func (f *DWFlag) inRead(r *wire.Reader, ctx *dotCtx, full bool) *DWFlag {
	return &DWFlag{m: checkFlag(r, readNestedDotMap[bool](r, ctx, full, wire.KindDWFlag, true))}
}

// The dotFun-based types: their stores are small, and have no partial
// flag.

func (m *MVRegister[V]) inNew(ctx *dotCtx, _ bool) *MVRegister[V] {
	return &MVRegister[V]{f: dotFun[V]{ctx: ctx}}
}

func (m *MVRegister[V]) inJoin(o *MVRegister[V], env *joinEnv) {
	if o == nil {
		m.f.join(nil, env)
		return
	}
	m.f.join(&o.f, env)
}

func (m *MVRegister[V]) inEmpty() bool          { return len(m.f.es) == 0 }
func (m *MVRegister[V]) inDots(yield func(dot)) { m.f.dots(yield) }
func (m *MVRegister[V]) inClone(ctx *dotCtx) *MVRegister[V] {
	return &MVRegister[V]{f: m.f.cloneIn(ctx)}
}
func (m *MVRegister[V]) inEqual(o *MVRegister[V], tr []uint32) bool {
	return m.f.equalStore(&o.f, tr)
}
func (m *MVRegister[V]) inFull()        {}
func (m *MVRegister[V]) inCtx() *dotCtx { return m.f.ctx }
func (m *MVRegister[V]) inCheck(o *MVRegister[V], c *checker) {
	var st *dotFun[V]
	if m != nil {
		st = &m.f
	}
	st.check(&o.f, c)
}

func (m *MVRegister[V]) inAppend(b []byte, pos []uint32) []byte {
	b = wire.AppendArrayLen(b, 2)
	b = wire.AppendUint(b, uint64(wire.KindMVRegister))
	return m.f.appendStore(b, pos)
}

func (m *MVRegister[V]) inRead(r *wire.Reader, ctx *dotCtx, _ bool) *MVRegister[V] {
	out := &MVRegister[V]{}
	readNested(r, wire.KindMVRegister, 2)
	out.f.readStore(r, ctx)
	return out
}
