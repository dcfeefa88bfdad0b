package crdt

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
)

// A dotFun maps dots to values: the store of MVRegister (one value per
// concurrent write), CCounter (one amount per increment) and of an
// LWWRegister inside an ORMap. Like a dotMap it lives in a root's causal
// context, its own at the top level or an ORMap's when nested.
type dotFun[V any] struct {
	ctx *dotCtx
	es  []funEntry[V] // one per dot, unordered
}

type funEntry[V any] struct {
	d dot
	v V
}

// root returns f's context, creating it for a zero value.
func (f *dotFun[V]) root() *dotCtx {
	if f.ctx == nil {
		f.ctx = &dotCtx{}
	}
	return f.ctx
}

// newDot returns a new dot of replica id in f's context, and a delta that
// will hold it, with a context of its own.
func (f *dotFun[V]) newDot(id vclock.ReplicaID) (dot, *dotFun[V]) {
	ctx := f.root()
	nd := ctx.next(ctx.intern(id))
	ctx.ent[nd.r].live++
	d := &dotFun[V]{ctx: &dotCtx{}}
	ctx.edited(d.ctx)
	return nd, d
}

// replace sets v as the only value, written by a new dot of replica id,
// and returns the delta: the new entry, and in its context every dot it
// replaced.
func (f *dotFun[V]) replace(id vclock.ReplicaID, v V) *dotFun[V] {
	nd, d := f.newDot(id)
	for _, x := range f.es {
		d.ctx.add(dot{d.ctx.intern(f.ctx.ids[x.d.r]), x.d.c})
		f.ctx.ent[x.d.r].live--
	}
	dd := dot{d.ctx.intern(id), nd.c}
	d.ctx.add(dd)
	d.ctx.ent[dd.r].live++
	d.es = []funEntry[V]{{dd, v}}
	clear(f.es)
	f.es = append(f.es[:0], funEntry[V]{nd, v})
	return d
}

// add adds v, written by a new dot of replica id, beside the values held,
// and returns the delta holding the new entry alone.
func (f *dotFun[V]) add(id vclock.ReplicaID, v V) *dotFun[V] {
	nd, d := f.newDot(id)
	dd := dot{d.ctx.intern(id), nd.c}
	d.ctx.add(dd)
	d.ctx.ent[dd.r].live++
	d.es = []funEntry[V]{{dd, v}}
	f.es = append(f.es, funEntry[V]{nd, v})
	return d
}

// clearAll removes every entry and returns the delta: their dots in its
// context.
func (f *dotFun[V]) clearAll() *dotFun[V] {
	d := &dotFun[V]{ctx: &dotCtx{}}
	if len(f.es) > 0 {
		f.ctx.edited(d.ctx)
	}
	for _, x := range f.es {
		d.ctx.add(dot{d.ctx.intern(f.ctx.ids[x.d.r]), x.d.c})
		f.ctx.ent[x.d.r].live--
	}
	f.es = nil
	return d
}

// merge joins o into f; both are roots.
func (f *dotFun[V]) merge(o *dotFun[V]) {
	if f == o {
		return
	}
	env := newJoinEnv(f.root(), o.ctx)
	f.join(o, env)
	env.merge()
}

// join joins o's entries into f's with contexts and numbering from env: an
// entry survives unless the other side has seen its dot and does not hold
// it. o nil stands for an empty store. Contexts are merged by the root.
func (f *dotFun[V]) join(o *dotFun[V], env *joinEnv) {
	var theirs []funEntry[V]
	if o != nil && len(o.es) > 0 {
		theirs = make([]funEntry[V], len(o.es))
		for i, y := range o.es {
			theirs[i] = funEntry[V]{env.toM(y.d), y.v}
		}
	}
	// Stores are small (siblings, a counter's events since its last
	// reset); index them only when a scan would cost more.
	var mine, hers map[dot]struct{}
	if len(f.es)*len(theirs) > 64 {
		mine, hers = dotSet(f.es), dotSet(theirs)
	}
	holds := func(es []funEntry[V], set map[dot]struct{}, d dot) bool {
		if set != nil {
			_, ok := set[d]
			return ok
		}
		for _, x := range es {
			if x.d == d {
				return true
			}
		}
		return false
	}
	changed := false
	keep := f.es[:0:0]
	for _, x := range f.es {
		if holds(theirs, hers, x.d) || !env.oHas(x.d) {
			keep = append(keep, x)
		} else {
			env.m.ent[x.d.r].live--
			changed = true
		}
	}
	for _, y := range theirs {
		if !holds(f.es, mine, y.d) && !env.m.has(y.d) {
			keep = append(keep, y)
			env.m.ent[y.d.r].live++
			changed = true
		}
	}
	if changed {
		f.es = keep
	}
}

// cloneIn copies f's entries into a store living in ctx; values are copied
// shallowly.
func (f *dotFun[V]) cloneIn(ctx *dotCtx) dotFun[V] {
	return dotFun[V]{ctx: ctx, es: slices.Clone(f.es)}
}

// equalStore reports whether f and o hold the same dots with the same
// values (by encoding); tr maps f's replica indices to o's.
func (f *dotFun[V]) equalStore(o *dotFun[V], tr []uint32) bool {
	if len(f.es) != len(o.es) {
		return false
	}
	k := kindOf[V]()
	for _, x := range f.es {
		d := dot{tr[x.d.r], x.d.c}
		i := slices.IndexFunc(o.es, func(y funEntry[V]) bool { return y.d == d })
		if i < 0 || !bytes.Equal(appendElem(nil, k, x.v), appendElem(nil, k, o.es[i].v)) {
			return false
		}
	}
	return true
}

// sorted returns f's entries ordered by (pos[replica], counter).
func (f *dotFun[V]) sorted(pos []uint32) []funEntry[V] {
	s := slices.Clone(f.es)
	slices.SortFunc(s, func(a, b funEntry[V]) int {
		if c := cmp.Compare(pos[a.d.r], pos[b.d.r]); c != 0 {
			return c
		}
		return cmp.Compare(a.d.c, b.d.c)
	})
	return s
}

// appendStore appends the entries as one array of (replica, counter,
// value) triples, flattened, in dot order; replica is the position in the
// root's replica list.
func (f *dotFun[V]) appendStore(b []byte, pos []uint32) []byte {
	s := f.sorted(pos)
	b = wire.AppendArrayLen(b, 3*len(s))
	k := kindOf[V]()
	for _, x := range s {
		b = wire.AppendUint(b, uint64(pos[x.d.r]))
		b = wire.AppendUint(b, x.d.c)
		b = appendElem(b, k, x.v)
	}
	return b
}

// readStore reads what appendStore writes into f, whose context ctx (just
// read, numbered in list order) must hold every dot; dots must be strictly
// ascending.
func (f *dotFun[V]) readStore(r *wire.Reader, ctx *dotCtx) {
	f.ctx = ctx
	at := r.Offset()
	n := r.ArrayLen()
	if !r.Failed() && n%3 != 0 {
		r.FailAt(at, "entries are not (replica, counter, value) triples")
		return
	}
	if n > 0 {
		f.es = make([]funEntry[V], 0, r.Presize(n/3, sliceEntryBytes[funEntry[V]]()))
	}
	k := kindOf[V]()
	var prev dot
	for i := 0; i < n/3 && !r.Failed(); i++ {
		at := r.Offset()
		p, c := r.Uint(), r.Uint()
		if r.Failed() {
			return
		}
		d := dot{uint32(p), c}
		switch {
		case p >= uint64(len(ctx.ids)):
			r.FailAt(at, "entry names no listed replica")
			return
		case !ctx.has(d):
			r.FailAt(at, "entry's dot is not in the causal context")
			return
		case i > 0 && (d.r < prev.r || d.r == prev.r && d.c <= prev.c):
			r.FailAt(at, "entries out of order or repeated")
			return
		}
		v, _ := readElem[V](r, k)
		f.es = append(f.es, funEntry[V]{d, v})
		ctx.ent[d.r].live++
		prev = d
	}
}

// dots calls yield for every dot f holds.
func (f *dotFun[V]) dots(yield func(dot)) {
	for _, x := range f.es {
		yield(x.d)
	}
}

// check records, for c, the dots o holds that f has seen but does not
// hold with the same value. f may be nil: a key the receiving map lacks.
func (f *dotFun[V]) check(o *dotFun[V], c *checker) {
	k := kindOf[V]()
	f.checkWith(o, c, func(x, y V) bool { return compareEncoded(k, x, y) == 0 })
}

// checkWith is check with same telling whether two values are the same.
func (f *dotFun[V]) checkWith(o *dotFun[V], c *checker, same func(x, y V) bool) {
	for _, y := range o.es {
		md, ok := c.seen(y.d)
		if !ok {
			continue
		}
		held := false
		if f != nil {
			for _, x := range f.es {
				if x.d == md {
					held = same(x.v, y.v)
					break
				}
			}
		}
		if !held {
			c.differs(md)
		}
	}
}

// validate checks o against f, both roots (see checker).
func (f *dotFun[V]) validate(o *dotFun[V], typ string) error {
	return validateRoot(typ, f.ctx, o.ctx, func(c *checker) { f.check(o, c) }, f.dots)
}

// dotSet indexes the dots of es.
func dotSet[V any](es []funEntry[V]) map[dot]struct{} {
	s := make(map[dot]struct{}, len(es))
	for _, x := range es {
		s[x.d] = struct{}{}
	}
	return s
}
