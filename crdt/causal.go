package crdt

import (
	"fmt"
	"slices"
	"strings"

	"github.com/converge-go/converge/internal/vv"
	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
)

// The causal types (ORSet, RWSet, MVRegister, EWFlag, DWFlag, CCounter,
// ORMap and the LWWRegister nested in one) pair a dot
// store with a causal context, after Almeida, Shoker and Baquero's
// delta-state CRDTs. Inside one state, replicas are interned: a dot is a
// small replica index plus a counter, so the dot stores hold integers, not
// strings. The index order is the order replicas were first met; encodings
// write replicas sorted by ID and remap the indices.

// maxDotCounter bounds the counters decoders accept, as vclock.MaxCounter.
const maxDotCounter = vclock.MaxCounter

// A dot is replica ctx.ids[r]'s c-th event.
type dot struct {
	r uint32
	c uint64
}

// A dotCtx is a causal context over an interned replica table: for each
// replica, the contiguous run 1..top and a sorted cloud of counters beyond a
// gap. Like vclock.Context it is always compact: every cloud counter is
// above top+1.
type dotCtx struct {
	ids   []vclock.ReplicaID
	ent   []ctxEntry                  // parallel to ids
	index map[vclock.ReplicaID]uint32 // built once ids outgrow a linear scan
	// gone lists the retired writers (retire.go): every dot of a writer
	// it covers counts as seen, whether or not an entry lists it.
	gone []IDRange
	// edits counts changes: in a root, those made through its mutators;
	// in a delta, the mutator calls it joins (1 for a mutator's delta,
	// summed by merge). ORMap.Update compares the two to catch a callback
	// that returns fewer deltas than it made. It is not encoded.
	edits uint64
}

// edited counts a change made through root x, whose delta has context d.
func (x *dotCtx) edited(d *dotCtx) {
	x.edits++
	d.edits = 1
}

type ctxEntry struct {
	top     uint64
	cloud   []uint64
	live    uint64 // dots of this replica held in the store (kept by dotMap)
	retired bool   // the context's gone ranges cover this replica
}

// shown reports whether the encoding lists the entry: it holds dots, and
// is not a retired writer's of which the store holds none (the gone
// ranges stand for those).
func (e *ctxEntry) shown() bool { return !e.empty() && (!e.retired || e.live > 0) }

// size is the number of dots the entry holds.
func (e *ctxEntry) size() uint64 { return e.top + uint64(len(e.cloud)) }

// ctxBuf is the number of replicas an encoder orders in arrays of its own
// before it allocates.
const ctxBuf = 8

// linearIDs is how many replicas are looked up by a scan before an index
// map pays for itself.
const linearIDs = 8

// lookup returns the index of replica id.
func (x *dotCtx) lookup(id vclock.ReplicaID) (uint32, bool) {
	if x == nil {
		return 0, false
	}
	if x.index != nil {
		i, ok := x.index[id]
		return i, ok
	}
	for i, v := range x.ids {
		if v == id {
			return uint32(i), true
		}
	}
	return 0, false
}

// intern returns the index of replica id, adding it if new.
func (x *dotCtx) intern(id vclock.ReplicaID) uint32 {
	if i, ok := x.lookup(id); ok {
		return i
	}
	i := uint32(len(x.ids))
	x.ids = append(x.ids, id)
	x.ent = append(x.ent, ctxEntry{retired: x.covers(id)})
	if x.index != nil {
		x.index[id] = i
	} else if len(x.ids) > linearIDs {
		x.index = make(map[vclock.ReplicaID]uint32, 2*len(x.ids))
		for j, v := range x.ids {
			x.index[v] = uint32(j)
		}
	}
	return i
}

func (e *ctxEntry) empty() bool { return e.top == 0 && len(e.cloud) == 0 }

// hasDots reports whether x holds any dot.
func (x *dotCtx) hasDots() bool {
	if x == nil {
		return false
	}
	for i := range x.ent {
		if !x.ent[i].empty() {
			return true
		}
	}
	return false
}

// next returns a new dot of replica r — one past the largest seen — and
// adds it.
func (x *dotCtx) next(r uint32) dot {
	e := &x.ent[r]
	if e.retired {
		panic("crdt: writer " + string(x.ids[r]) + " is retired: it may not write again")
	}
	if len(e.cloud) == 0 {
		e.top++
		return dot{r, e.top}
	}
	c := e.cloud[len(e.cloud)-1] + 1
	e.cloud = append(e.cloud, c)
	return dot{r, c}
}

// has reports whether d was seen.
func (x *dotCtx) has(d dot) bool {
	if x == nil || int(d.r) >= len(x.ent) || d.c == 0 {
		return false
	}
	e := &x.ent[d.r]
	if d.c <= e.top || e.retired {
		return true
	}
	if len(e.cloud) == 0 {
		return false
	}
	_, found := slices.BinarySearch(e.cloud, d.c)
	return found
}

// add records d as seen.
func (x *dotCtx) add(d dot) {
	e := &x.ent[d.r]
	switch {
	case d.c <= e.top:
	case d.c == e.top+1:
		e.top++
		if len(e.cloud) > 0 {
			e.compact()
		}
	default:
		i, found := slices.BinarySearch(e.cloud, d.c)
		if !found {
			e.cloud = slices.Insert(e.cloud, i, d.c)
		}
	}
}

// compact folds into top every cloud counter that continues it.
func (e *ctxEntry) compact() {
	k := 0
	for k < len(e.cloud) && e.cloud[k] <= e.top+1 {
		e.top = max(e.top, e.cloud[k])
		k++
	}
	if k == len(e.cloud) {
		e.cloud = nil
	} else if k > 0 {
		e.cloud = slices.Clone(e.cloud[k:])
	}
}

// translate returns, for each replica index of o, the index of the same
// replica in x, interning the ones x lacks.
func (x *dotCtx) translate(o *dotCtx) []uint32 {
	if o == nil {
		return nil
	}
	tr := make([]uint32, len(o.ids))
	for i, id := range o.ids {
		tr[i] = x.intern(id)
	}
	return tr
}

// merge adds every dot of o to x; tr is x.translate(o).
func (x *dotCtx) merge(o *dotCtx, tr []uint32) {
	if o == nil {
		return
	}
	x.edits += o.edits
	if len(o.gone) > 0 {
		x.retire(o.gone)
	}
	for i := range o.ent {
		oe := &o.ent[i]
		if oe.empty() {
			continue
		}
		e := &x.ent[tr[i]]
		e.top = max(e.top, oe.top)
		if len(oe.cloud) > 0 && !coversCounters(e.top, e.cloud, oe.cloud) {
			e.cloud = vv.UnionSorted(e.cloud, oe.cloud)
		}
		// Drop cloud counters now covered, fold those that continue top.
		k := 0
		for k < len(e.cloud) && e.cloud[k] <= e.top {
			k++
		}
		e.cloud = e.cloud[k:]
		if len(e.cloud) > 0 {
			e.compact()
		}
		if len(e.cloud) == 0 {
			e.cloud = nil
		}
	}
}

// coversCounters reports whether every counter of b is at most top or in
// a, both ascending: then the union is a, and nothing need be allocated —
// the usual case when a delta arrives twice or its dots came before.
func coversCounters(top uint64, a, b []uint64) bool {
	i := 0
	for _, c := range b {
		if c <= top {
			continue
		}
		for i < len(a) && a[i] < c {
			i++
		}
		if i == len(a) || a[i] != c {
			return false
		}
	}
	return true
}

// clone returns an independent copy of x; nil gives an empty context.
func (x *dotCtx) clone() *dotCtx {
	if x == nil {
		return &dotCtx{}
	}
	out := &dotCtx{ids: slices.Clone(x.ids), ent: make([]ctxEntry, len(x.ent)), edits: x.edits, gone: slices.Clone(x.gone)}
	for i, e := range x.ent {
		out.ent[i] = ctxEntry{e.top, slices.Clone(e.cloud), e.live, e.retired}
	}
	if x.index != nil {
		out.index = make(map[vclock.ReplicaID]uint32, len(x.index))
		for id, i := range x.index {
			out.index[id] = i
		}
	}
	return out
}

// equal reports whether x and o hold the same dots, whatever their replica
// numbering.
func (x *dotCtx) equal(o *dotCtx) bool {
	if x == nil {
		x = &dotCtx{}
	}
	if o == nil {
		o = &dotCtx{}
	}
	if !slices.Equal(x.gone, o.gone) {
		return false
	}
	n := 0
	for i := range x.ent {
		e := &x.ent[i]
		if !e.shown() {
			continue
		}
		n++
		j, ok := o.lookup(x.ids[i])
		if !ok || e.top != o.ent[j].top || !slices.Equal(e.cloud, o.ent[j].cloud) {
			return false
		}
	}
	for i := range o.ent {
		if o.ent[i].shown() {
			n--
		}
	}
	return n == 0
}

// toContext converts x to a vclock.Context. The retired ranges have no
// place in one: the entries they stand for are left out.
func (x *dotCtx) toContext() *vclock.Context {
	var c vclock.Context
	if x == nil {
		return &c
	}
	for i := range x.ent {
		e := &x.ent[i]
		if !e.shown() {
			continue
		}
		if e.top > 0 {
			c.Merge(vclock.ContextOf(vclock.FromMap(map[vclock.ReplicaID]uint64{x.ids[i]: e.top})))
		}
		for _, n := range e.cloud {
			c.Add(vclock.Dot{Replica: x.ids[i], Counter: n})
		}
	}
	return &c
}

// order returns the indices of x's non-empty replicas sorted by ID, and
// pos, which maps an index to its position in that order, each in the
// storage of the slice passed for it when it has room.
func (x *dotCtx) order(sorted, pos []uint32) ([]uint32, []uint32) {
	if x == nil {
		return nil, nil
	}
	sorted = sorted[:0]
	for i := range x.ids {
		if x.ent[i].shown() {
			sorted = append(sorted, uint32(i))
		}
	}
	slices.SortFunc(sorted, func(a, b uint32) int { return strings.Compare(string(x.ids[a]), string(x.ids[b])) })
	if cap(pos) < len(x.ids) {
		pos = make([]uint32, len(x.ids))
	}
	pos = pos[:len(x.ids)]
	clear(pos)
	for p, i := range sorted {
		pos[i] = uint32(p)
	}
	return sorted, pos
}

// appendTo appends the context as two fields: the replicas [id...] sorted
// by ID, then for each of them, in the same order, its run and cloud as
// [top, [counter...]] flattened into one array, followed in that array by
// the retired ranges as lo, hi pairs. It returns the position of each
// replica index in that order, for encoding dots, in pos's storage if it
// has room (a caller passes an array of its own, so that encoding a state
// of a few replicas allocates nothing).
func (x *dotCtx) appendTo(b []byte, pos []uint32) ([]byte, []uint32) {
	var buf [ctxBuf]uint32
	sorted, pos := x.order(buf[:0], pos)
	b = wire.AppendArrayLen(b, len(sorted))
	for _, i := range sorted {
		b = wire.AppendString(b, string(x.ids[i]))
	}
	var gone []IDRange
	if x != nil {
		gone = x.gone
	}
	b = wire.AppendArrayLen(b, 2*len(sorted)+2*len(gone))
	for _, i := range sorted {
		e := &x.ent[i]
		b = wire.AppendUint(b, e.top)
		b = wire.AppendArrayLen(b, len(e.cloud))
		for _, c := range e.cloud {
			b = wire.AppendUint(b, c)
		}
	}
	for _, g := range gone {
		b = wire.AppendString(wire.AppendString(b, string(g.Lo)), string(g.Hi))
	}
	return b, pos
}

// checkRange returns an error matching vclock.ErrCounterRange if a counter
// of x is beyond what decoders accept: a state whose context claimed every
// event of a replica, and which that replica then wrote to. Encoders call
// it first, so that they never write what a decoder refuses.
func (x *dotCtx) checkRange() error {
	if x == nil {
		return nil
	}
	for i := range x.ent {
		e := &x.ent[i]
		c := e.top
		if len(e.cloud) > 0 {
			c = max(c, e.cloud[len(e.cloud)-1])
		}
		if c > maxDotCounter {
			return fmt.Errorf("crdt: counter %d of replica %q cannot be encoded: %w", c, x.ids[i], vclock.ErrCounterRange)
		}
	}
	return nil
}

// readCtx reads the two fields appendTo writes and checks that they are
// canonical: replicas strictly ascending, every replica with a run or a
// cloud, cloud counters strictly ascending and above top+1, and every
// counter at most maxDotCounter.
func readCtx(r *wire.Reader) *dotCtx {
	var x *dotCtx
	n := r.ArrayLen()
	switch {
	case n == 1 && !r.Failed():
		// The context of one replica, as most small states' are: one
		// allocation for the context and both lists.
		one := &struct {
			ctx dotCtx
			ids [1]vclock.ReplicaID
			ent [1]ctxEntry
		}{}
		x = &one.ctx
		x.ids, x.ent = one.ids[:0], one.ent[:0]
	case n > 0:
		x = &dotCtx{ids: make([]vclock.ReplicaID, 0, r.Presize(n, sliceEntryBytes[vclock.ReplicaID]()))}
	default:
		x = &dotCtx{}
	}
	for i := 0; i < n && !r.Failed(); i++ {
		at := r.Offset()
		id := vclock.ReplicaID(r.Str())
		if i > 0 && id <= x.ids[i-1] {
			r.FailAt(at, "replica "+string(id)+" out of order or repeated")
			return x
		}
		x.ids = append(x.ids, id)
	}
	at := r.Offset()
	m := r.ArrayLen()
	if !r.Failed() && (m < 2*len(x.ids) || m%2 != 0) {
		r.FailAt(at, "causal context does not match the replica list")
		return x
	}
	if cap(x.ent) >= len(x.ids) {
		x.ent = x.ent[:len(x.ids)]
	} else {
		x.ent = make([]ctxEntry, len(x.ids))
	}
	for i := 0; i < len(x.ids) && !r.Failed(); i++ {
		x.readEntry(r, i)
	}
	x.gone = readRanges(r, (m-2*len(x.ids))/2)
	for i, id := range x.ids {
		x.ent[i].retired = x.covers(id)
	}
	if len(x.ids) > linearIDs {
		x.index = make(map[vclock.ReplicaID]uint32, len(x.ids))
		for i, id := range x.ids {
			x.index[id] = uint32(i)
		}
	}
	return x
}

// readEntry reads entry i of x, its run and its cloud, and checks them.
func (x *dotCtx) readEntry(r *wire.Reader, i int) {
	e := &x.ent[i]
	at := r.Offset()
	e.top = r.Uint()
	k := r.ArrayLen()
	if k > 0 {
		e.cloud = make([]uint64, 0, r.Presize(k, sliceEntryBytes[uint64]()))
	}
	low := e.top + 1
	for j := 0; j < k && !r.Failed(); j++ {
		c := r.Uint()
		if !r.Failed() && (c <= low || c > maxDotCounter) {
			r.FailAt(at, "cloud of replica "+string(x.ids[i])+" not compact, not ascending or out of range")
			return
		}
		e.cloud = append(e.cloud, c)
		low = c
	}
	if !r.Failed() && (e.empty() || e.top > maxDotCounter) {
		r.FailAt(at, "replica "+string(x.ids[i])+" has an empty or out-of-range context")
	}
}

// A joinEnv holds what every store of one root needs to join another
// root's stores: both contexts as they were before the join, and the
// replica numbering between them. The contexts are merged once, at the
// root, after every store has joined.
type joinEnv struct {
	m, o *dotCtx
	tr   []uint32 // o index → m index
	back []uint32 // m index → o index + 1; 0: o lacks the replica
	// removed[r] reports whether o's context holds dots of m's replica r
	// that no store of o holds: only such dots can make a full store of o
	// drop anything from m.
	removed    []bool
	anyRemoved bool
}

// newJoinEnv prepares to join o's stores into m's; it interns o's replicas
// into m.
func newJoinEnv(m, o *dotCtx) *joinEnv {
	env := &joinEnv{m: m, o: o, tr: m.translate(o)}
	env.back = make([]uint32, len(m.ids))
	for i, j := range env.tr {
		env.back[j] = uint32(i) + 1
	}
	env.removed = make([]bool, len(m.ids))
	if o != nil {
		for i := range o.ent {
			if oe := &o.ent[i]; (oe.live < oe.size() || oe.retired) && !m.ent[env.tr[i]].empty() {
				env.removed[env.tr[i]] = true
				env.anyRemoved = true
			}
		}
		if len(o.gone) > 0 {
			// o has seen every dot of the writers it retired, listed or
			// not.
			for r := range m.ent {
				if !env.removed[r] && !m.ent[r].empty() && o.covers(m.ids[r]) {
					env.removed[r] = true
					env.anyRemoved = true
				}
			}
		}
	}
	return env
}

// oHas reports whether o's context holds d, a dot in m's numbering.
func (env *joinEnv) oHas(d dot) bool {
	if oi := env.back[d.r]; oi != 0 {
		return env.o.has(dot{oi - 1, d.c})
	}
	return env.o != nil && len(env.o.gone) > 0 && d.c != 0 && env.o.covers(env.m.ids[d.r])
}

// seenRemoved reports whether o, a full state, has seen d (m's numbering)
// and may have removed it.
func (env *joinEnv) seenRemoved(d dot) bool {
	return env.removed[d.r] && env.oHas(d)
}

// toM converts a dot of o to m's numbering.
func (env *joinEnv) toM(d dot) dot { return dot{env.tr[d.r], d.c} }

// merge finishes a root join: it merges o's context into m's.
func (env *joinEnv) merge() { env.m.merge(env.o, env.tr) }

// idMap maps each replica index of a to the index of the same replica in
// b, or ^0 if b lacks it.
func idMap(a, b *dotCtx) []uint32 {
	if a == nil {
		return nil
	}
	tr := make([]uint32, len(a.ids))
	for i, id := range a.ids {
		j, ok := b.lookup(id)
		if !ok {
			j = ^uint32(0)
		}
		tr[i] = j
	}
	return tr
}
