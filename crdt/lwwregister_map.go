package crdt

import (
	"cmp"

	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
)

// An LWWRegister inside an ORMap keeps its concurrent writes as siblings,
// each with a dot in the map's context, and reads the latest: the join of
// dot stores needs every write no other has observed, or a removal that
// observed only the winner would let a replica still holding the loser
// disagree with one that had dropped it.

// setIn writes v as replica id with a new dot, replacing every write held,
// and returns the delta: the write, with the replaced dots in its context.
func (r *LWWRegister[V]) setIn(id vclock.ReplicaID, v V, ts hlc.Timestamp) *LWWRegister[V] {
	nd := r.ctx.next(r.ctx.intern(id))
	r.ctx.ent[nd.r].live++
	d := &LWWRegister[V]{set: true, ts: ts, id: id, v: v, ctx: &dotCtx{}}
	r.ctx.edited(d.ctx)
	for _, s := range r.sibs {
		d.ctx.add(dot{d.ctx.intern(r.ctx.ids[s.d.r]), s.d.c})
		r.ctx.ent[s.d.r].live--
	}
	dd := dot{d.ctx.intern(id), nd.c}
	d.ctx.add(dd)
	d.ctx.ent[dd.r].live++
	d.sibs = []lwwSibling[V]{{dd, ts, id, v}}
	clear(r.sibs)
	r.sibs = append(r.sibs[:0], lwwSibling[V]{nd, ts, id, v})
	r.set, r.ts, r.id, r.v = true, ts, id, v
	return d
}

// pick sets the read fields to the latest sibling.
func (r *LWWRegister[V]) pick() {
	var zero V
	r.set, r.ts, r.id, r.v = false, 0, "", zero
	for _, s := range r.sibs {
		w := &LWWRegister[V]{set: true, ts: s.ts, id: s.id, v: s.v}
		if !r.set || compareWrites(w, r) > 0 {
			r.set, r.ts, r.id, r.v = true, s.ts, s.id, s.v
		}
	}
}

func (r *LWWRegister[V]) inNew(ctx *dotCtx, _ bool) *LWWRegister[V] {
	return &LWWRegister[V]{ctx: ctx}
}

// inJoin keeps each write unless the other side has seen its dot and does
// not hold it, then reads the latest.
func (r *LWWRegister[V]) inJoin(o *LWWRegister[V], env *joinEnv) {
	var theirs []lwwSibling[V]
	if o != nil {
		for _, s := range o.sibs {
			s.d = env.toM(s.d)
			theirs = append(theirs, s)
		}
	}
	has := func(ss []lwwSibling[V], d dot) bool {
		for _, s := range ss {
			if s.d == d {
				return true
			}
		}
		return false
	}
	var keep []lwwSibling[V]
	for _, s := range r.sibs {
		if has(theirs, s.d) || !env.oHas(s.d) {
			keep = append(keep, s)
		} else {
			env.m.ent[s.d.r].live--
		}
	}
	for _, s := range theirs {
		if !has(r.sibs, s.d) && !env.m.has(s.d) {
			keep = append(keep, s)
			env.m.ent[s.d.r].live++
		}
	}
	r.sibs = keep
	r.pick()
}

func (r *LWWRegister[V]) inEmpty() bool { return len(r.sibs) == 0 }

func (r *LWWRegister[V]) inDots(yield func(dot)) {
	for _, s := range r.sibs {
		yield(s.d)
	}
}

func (r *LWWRegister[V]) inClone(ctx *dotCtx) *LWWRegister[V] {
	c := r.Clone()
	c.ctx = ctx
	c.sibs = append([]lwwSibling[V](nil), r.sibs...)
	return c
}

func (r *LWWRegister[V]) inEqual(o *LWWRegister[V], tr []uint32) bool {
	if len(r.sibs) != len(o.sibs) {
		return false
	}
	k := kindOf[V]()
	for _, s := range r.sibs {
		d := dot{tr[s.d.r], s.d.c}
		found := false
		for _, t := range o.sibs {
			if t.d == d {
				found = t.ts == s.ts && t.id == s.id && compareEncoded(k, t.v, s.v) == 0
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (r *LWWRegister[V]) inFull()        {}
func (r *LWWRegister[V]) inCtx() *dotCtx { return r.ctx }

func (r *LWWRegister[V]) inCheck(o *LWWRegister[V], c *checker) {
	k := kindOf[V]()
	for _, t := range o.sibs {
		md, ok := c.seen(t.d)
		if !ok {
			continue
		}
		same := false
		if r != nil {
			for _, s := range r.sibs {
				if s.d == md {
					same = s.ts == t.ts && s.id == t.id && compareEncoded(k, s.v, t.v) == 0
					break
				}
			}
		}
		if !same {
			c.differs(md)
		}
	}
}

// inAppend writes [kind, [replica, counter, timestamp, value, ...]], writes
// in dot order. The writer is the dot's replica, so it is not written
// again.
func (r *LWWRegister[V]) inAppend(b []byte, pos []uint32) []byte {
	s := append([]lwwSibling[V](nil), r.sibs...)
	sortSiblings(s, pos)
	b = wire.AppendArrayLen(b, 2)
	b = wire.AppendUint(b, uint64(wire.KindLWWRegister))
	b = wire.AppendArrayLen(b, 4*len(s))
	k := kindOf[V]()
	for _, x := range s {
		b = wire.AppendUint(b, uint64(pos[x.d.r]))
		b = wire.AppendUint(b, x.d.c)
		b = wire.AppendUint(b, uint64(x.ts))
		b = appendElem(b, k, x.v)
	}
	return b
}

func sortSiblings[V any](s []lwwSibling[V], pos []uint32) {
	for i := 1; i < len(s); i++ { // insertion sort: siblings are few
		for j := i; j > 0 && lessDot(s[j].d, s[j-1].d, pos); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func lessDot(a, b dot, pos []uint32) bool {
	if c := cmp.Compare(pos[a.r], pos[b.r]); c != 0 {
		return c < 0
	}
	return a.c < b.c
}

func (r *LWWRegister[V]) inRead(rd *wire.Reader, ctx *dotCtx, _ bool) *LWWRegister[V] {
	out := &LWWRegister[V]{ctx: ctx}
	readNested(rd, wire.KindLWWRegister, 2)
	at := rd.Offset()
	n := rd.ArrayLen()
	if !rd.Failed() && n%4 != 0 {
		rd.FailAt(at, "writes are not (replica, counter, timestamp, value) tuples")
		return out
	}
	if n > 0 {
		out.sibs = make([]lwwSibling[V], 0, rd.Presize(n/4, sliceEntryBytes[lwwSibling[V]]()))
	}
	k := kindOf[V]()
	var prev dot
	for i := 0; i < n/4 && !rd.Failed(); i++ {
		at := rd.Offset()
		p, c := rd.Uint(), rd.Uint()
		if rd.Failed() {
			return out
		}
		d := dot{uint32(p), c}
		switch {
		case p >= uint64(len(ctx.ids)) || !ctx.has(d):
			rd.FailAt(at, "the write's dot is not in the causal context")
			return out
		case i > 0 && (d.r < prev.r || d.r == prev.r && d.c <= prev.c):
			rd.FailAt(at, "writes out of order or repeated")
			return out
		}
		prev = d
		ts := hlc.Timestamp(rd.Uint())
		v, _ := readElem[V](rd, k)
		out.sibs = append(out.sibs, lwwSibling[V]{d, ts, ctx.ids[d.r], v})
		ctx.ent[d.r].live++
	}
	out.pick()
	return out
}
