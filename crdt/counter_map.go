package crdt

import (
	"cmp"
	"slices"

	"github.com/converge-go/converge/internal/vv"
	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
)

// A GCounter or PNCounter inside an ORMap (an "embedded counter", as in
// riak_dt's map) keeps one entry per replica: that replica's counts, and
// one dot in the map's context. An increment by replica r replaces r's
// entry (old dot d₁, counts) by (new dot d₂, counts+n); the delta holds the
// new entry with d₁ and d₂ in its context, so that a merge drops the old
// entry. Removing the key takes away the entries whose dots the remover
// had seen: after a removal concurrent with an increment by r, the key
// comes back with r's whole count — every increment r had made to it
// since r last saw the key removed, those the remover had seen included —
// and every other replica's count is gone. State is O(replicas) a key,
// against a CCounter's one entry per increment; a CCounter, in return,
// keeps exactly the increments the remover had not seen.
//
// The store is a dotFun of counts: the join of dot stores, unchanged. A
// replica holds at most one entry of its own (its later increments
// replace it), but another replica may briefly hold two entries of r:
// r's entry that a removal took away at r, which has not reached it yet,
// and r's entry written after that removal. Both count, until the removal
// arrives. (Letting r's larger dot win instead, as riak_dt does over a
// version-vector context, is not backed by a context with gaps, and can
// make the result depend on the order of merges; see docs/design.md.)
// The fields of GCounter and PNCounter that
// the top level uses hold the sums, for the read methods.

// counts is a replica's entry in a nested counter: increments and, for a
// PNCounter, decrements.
type counts struct{ p, n uint64 }

// emStore is the store of a nested counter.
type emStore = dotFun[counts]

// addSat adds, saturating at the largest uint64.
func addSat(a, b uint64) uint64 {
	if s := a + b; s >= a {
		return s
	}
	return ^uint64(0)
}

// emInc adds (dp, dn) to replica id's entry of f, under a new dot, and
// returns the delta: the new entry, with the replaced dots and the new one
// in its context.
func emInc(f *emStore, id vclock.ReplicaID, dp, dn uint64) (*emStore, counts) {
	nd, d := f.newDot(id)
	var c counts
	keep := f.es[:0]
	for _, x := range f.es {
		if x.d.r != nd.r {
			keep = append(keep, x)
			continue
		}
		// At most one at the replica itself; more only if f was another
		// replica's state, whose entries of id all count.
		c = counts{addSat(c.p, x.v.p), addSat(c.n, x.v.n)}
		d.ctx.add(dot{d.ctx.intern(id), x.d.c})
		f.ctx.ent[x.d.r].live--
	}
	clear(f.es[len(keep):])
	c = counts{addSat(c.p, dp), addSat(c.n, dn)}
	f.es = append(keep, funEntry[counts]{nd, c})
	dd := dot{d.ctx.intern(id), nd.c}
	d.ctx.add(dd)
	d.ctx.ent[dd.r].live++
	d.es = []funEntry[counts]{{dd, c}}
	return d, c
}

// setSum sets id's sum in v to n, which the caller knows exactly.
func setSum(v *vv.Vector[vclock.ReplicaID], id vclock.ReplicaID, n uint64) {
	i, ok := v.Search(id)
	switch {
	case ok && n == 0:
		*v = slices.Delete(*v, i, i+1)
	case ok:
		(*v)[i].N = n
	case n > 0:
		*v = slices.Insert(*v, i, vv.Entry[vclock.ReplicaID]{ID: id, N: n})
	}
}

// oneSum returns the sums of a delta holding one entry, of id.
func oneSum(id vclock.ReplicaID, n uint64) vv.Vector[vclock.ReplicaID] {
	if n == 0 {
		return nil
	}
	return vv.Vector[vclock.ReplicaID]{{ID: id, N: n}}
}

// emSums returns the sums of f's increments and decrements per replica.
func emSums(f *emStore) (p, n vv.Vector[vclock.ReplicaID]) {
	for _, x := range f.es {
		id := f.ctx.ids[x.d.r]
		p.Add(id, x.v.p)
		n.Add(id, x.v.n)
	}
	return p, n
}

// emEqual reports whether f and o hold the same dots with the same counts;
// tr maps f's replica indices to o's.
func emEqual(f, o *emStore, tr []uint32) bool {
	if len(f.es) != len(o.es) {
		return false
	}
	for _, x := range f.es {
		d := dot{tr[x.d.r], x.d.c}
		i := slices.IndexFunc(o.es, func(y funEntry[counts]) bool { return y.d == d })
		if i < 0 || o.es[i].v != x.v {
			return false
		}
	}
	return true
}

// emCheck records, for c, the dots o holds that f has seen but does not
// hold with the same counts; f may be nil, for a key the receiver lacks.
func emCheck(f, o *emStore, c *checker) {
	f.checkWith(o, c, func(x, y counts) bool { return x == y })
}

// emAppend writes [kind, [replica, counter, increments(, decrements), ...]],
// entries in dot order; decrements only for a PNCounter (pn).
func emAppend(b []byte, f *emStore, pos []uint32, k wire.Kind, pn bool) []byte {
	s := slices.Clone(f.es)
	slices.SortFunc(s, func(a, b funEntry[counts]) int {
		if c := cmp.Compare(pos[a.d.r], pos[b.d.r]); c != 0 {
			return c
		}
		return cmp.Compare(a.d.c, b.d.c)
	})
	w := 3
	if pn {
		w = 4
	}
	b = wire.AppendArrayLen(b, 2)
	b = wire.AppendUint(b, uint64(k))
	b = wire.AppendArrayLen(b, w*len(s))
	for _, x := range s {
		b = wire.AppendUint(b, uint64(pos[x.d.r]))
		b = wire.AppendUint(b, x.d.c)
		b = wire.AppendUint(b, x.v.p)
		if pn {
			b = wire.AppendUint(b, x.v.n)
		}
	}
	return b
}

// emRead reads what emAppend writes into a store living in ctx. Every dot
// must be in ctx, the dots strictly ascending.
func emRead(r *wire.Reader, ctx *dotCtx, k wire.Kind, pn bool) *emStore {
	f := &emStore{ctx: ctx}
	readNested(r, k, 2)
	w := 3
	if pn {
		w = 4
	}
	at := r.Offset()
	n := r.ArrayLen()
	if !r.Failed() && n%w != 0 {
		r.FailAt(at, "entries are not (replica, counter, counts) tuples")
		return f
	}
	if n > 0 {
		f.es = make([]funEntry[counts], 0, r.Presize(n/w, sliceEntryBytes[funEntry[counts]]()))
	}
	var prev dot
	for i := 0; i < n/w && !r.Failed(); i++ {
		at := r.Offset()
		p, c := r.Uint(), r.Uint()
		if r.Failed() {
			return f
		}
		d := dot{uint32(p), c}
		switch {
		case p >= uint64(len(ctx.ids)):
			r.FailAt(at, "entry names no listed replica")
			return f
		case !ctx.has(d):
			r.FailAt(at, "entry's dot is not in the causal context")
			return f
		case i > 0 && (d.r < prev.r || d.r == prev.r && d.c <= prev.c):
			r.FailAt(at, "entries out of order or repeated")
			return f
		}
		var v counts
		v.p = r.Uint()
		if pn {
			v.n = r.Uint()
		}
		f.es = append(f.es, funEntry[counts]{d, v})
		ctx.ent[d.r].live++
		prev = d
	}
	return f
}

// emClone copies f into a store living in ctx.
func emClone(f *emStore, ctx *dotCtx) *emStore {
	c := f.cloneIn(ctx)
	return &c
}

// GCounter as an ORMap value.

// sync recomputes the sums from the nested store.
func (c *GCounter) sync() {
	c.v, _ = emSums(c.em)
	c.one = vv.Entry[vclock.ReplicaID]{}
}

// incIn is Inc for a counter inside an ORMap, writing the delta into d.
func (c *GCounter) incIn(id vclock.ReplicaID, n uint64, d *GCounter) {
	em, sum := emInc(c.em, id, n, 0)
	*d = GCounter{em: em, v: oneSum(id, sum.p)}
	setSum(&c.v, id, sum.p) // id's entries were replaced by one
}

// mergeIn is Merge for a counter inside an ORMap: o must be one too (the
// delta of a mutator of one), else there is nothing to join.
func (c *GCounter) mergeIn(o *GCounter) {
	if o.em != nil {
		c.em.merge(o.em)
		c.sync()
	}
}

func (c *GCounter) inNew(ctx *dotCtx, _ bool) *GCounter {
	return &GCounter{em: &emStore{ctx: ctx}}
}

func (c *GCounter) inJoin(o *GCounter, env *joinEnv) {
	var oe *emStore
	if o != nil {
		oe = o.em
	}
	c.em.join(oe, env)
	c.sync()
}

func (c *GCounter) inEmpty() bool          { return len(c.em.es) == 0 }
func (c *GCounter) inDots(yield func(dot)) { c.em.dots(yield) }
func (c *GCounter) inClone(ctx *dotCtx) *GCounter {
	d := &GCounter{em: emClone(c.em, ctx)}
	d.sync()
	return d
}
func (c *GCounter) inEqual(o *GCounter, tr []uint32) bool { return emEqual(c.em, o.em, tr) }
func (c *GCounter) inFull()                               {}
func (c *GCounter) inCtx() *dotCtx                        { return c.em.ctx }

func (c *GCounter) inCheck(o *GCounter, k *checker) {
	var f *emStore
	if c != nil {
		f = c.em
	}
	emCheck(f, o.em, k)
}

func (c *GCounter) inAppend(b []byte, pos []uint32) []byte {
	return emAppend(b, c.em, pos, wire.KindGCounter, false)
}

func (c *GCounter) inRead(r *wire.Reader, ctx *dotCtx, _ bool) *GCounter {
	out := &GCounter{em: emRead(r, ctx, wire.KindGCounter, false)}
	out.sync()
	return out
}

// PNCounter as an ORMap value.

// sync recomputes both halves' sums from the nested store.
func (c *PNCounter) sync() {
	c.p.v, c.n.v = emSums(c.em)
	c.p.one, c.n.one = vv.Entry[vclock.ReplicaID]{}, vv.Entry[vclock.ReplicaID]{}
}

// addIn is Inc and Dec for a counter inside an ORMap, writing the delta
// into d.
func (c *PNCounter) addIn(id vclock.ReplicaID, dp, dn uint64, d *PNCounter) {
	em, sum := emInc(c.em, id, dp, dn)
	*d = PNCounter{em: em}
	d.p.v, d.n.v = oneSum(id, sum.p), oneSum(id, sum.n)
	setSum(&c.p.v, id, sum.p) // id's entries were replaced by one
	setSum(&c.n.v, id, sum.n)
}

// mergeIn is Merge for a counter inside an ORMap (see GCounter.mergeIn).
func (c *PNCounter) mergeIn(o *PNCounter) {
	if o.em != nil {
		c.em.merge(o.em)
		c.sync()
	}
}

func (c *PNCounter) inNew(ctx *dotCtx, _ bool) *PNCounter {
	return &PNCounter{em: &emStore{ctx: ctx}}
}

func (c *PNCounter) inJoin(o *PNCounter, env *joinEnv) {
	var oe *emStore
	if o != nil {
		oe = o.em
	}
	c.em.join(oe, env)
	c.sync()
}

func (c *PNCounter) inEmpty() bool          { return len(c.em.es) == 0 }
func (c *PNCounter) inDots(yield func(dot)) { c.em.dots(yield) }
func (c *PNCounter) inClone(ctx *dotCtx) *PNCounter {
	d := &PNCounter{em: emClone(c.em, ctx)}
	d.sync()
	return d
}
func (c *PNCounter) inEqual(o *PNCounter, tr []uint32) bool { return emEqual(c.em, o.em, tr) }
func (c *PNCounter) inFull()                                {}
func (c *PNCounter) inCtx() *dotCtx                         { return c.em.ctx }

func (c *PNCounter) inCheck(o *PNCounter, k *checker) {
	var f *emStore
	if c != nil {
		f = c.em
	}
	emCheck(f, o.em, k)
}

func (c *PNCounter) inAppend(b []byte, pos []uint32) []byte {
	return emAppend(b, c.em, pos, wire.KindPNCounter, true)
}

func (c *PNCounter) inRead(r *wire.Reader, ctx *dotCtx, _ bool) *PNCounter {
	out := &PNCounter{em: emRead(r, ctx, wire.KindPNCounter, true)}
	out.sync()
	return out
}
