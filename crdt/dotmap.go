package crdt

import (
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/converge-go/converge/vclock"
)

// A dotMap is the state shared by ORSet and RWSet: a dot store, a causal
// context, and the bookkeeping that makes delta merges cost O(delta).
//
// # Deltas
//
// In the delta-CRDT papers a join must visit every element of the receiving
// state, because the other side's context may cover a dot of any of them.
// For a delta that would make every merge O(state). A mutator's delta has a
// stronger property: its context only covers dots of the elements it lists.
// Such a state is marked partial, and lists an element whose dots it removed
// in gone. Joining a partial state visits only what it lists; joining two
// partial states keeps the result partial; joining anything with a full
// state gives a full state, which drops gone. The merge result is the same
// as the paper's join either way; partial only says which elements can
// change.
//
// # Roots and nested stores
//
// A dotMap at the top level owns its causal context (the root). Inside an
// ORMap it shares the map's: ctx points to the root's context, so dots are
// unique across the whole map and a removed key leaves nothing behind.
type dotMap[E comparable] struct {
	ctx     *dotCtx // the root's context; nil until the first write
	st      dotStore[E]
	gone    map[E]struct{} // partial only: listed elements with no dots
	partial bool
	nrm     int // elements holding a removal-tagged dot
}

// deltaParts is storage for a one-element delta, allocated together with
// its set so that a mutator's delta costs one allocation.
type deltaParts[E comparable] struct {
	ctx dotCtx
	ids [1]vclock.ReplicaID
	ent [1]ctxEntry
	cl  [2]uint64
	es  [1]storeEntry[E]
}

// root returns m's context, creating it for a zero value.
func (m *dotMap[E]) root() *dotCtx {
	if m.ctx == nil {
		m.ctx = &dotCtx{}
	}
	return m.ctx
}

func hasRm(ds []tdot) bool {
	for _, d := range ds {
		if d.rm {
			return true
		}
	}
	return false
}

// rmOf reports whether e, stored as v, holds a removal-tagged dot.
func (m *dotMap[E]) rmOf(e E, v uint64) bool {
	if v != 0 {
		return v&packTag != 0
	}
	return hasRm(m.st.extra[e])
}

// replace sets e's dots to ds, keeping nrm and the live counts right; had
// and v describe e's current entry.
func (m *dotMap[E]) replace(e E, v uint64, had bool, ds []tdot) {
	if had {
		if v != 0 {
			d := unpack(v)
			m.ctx.ent[d.r].live--
			if d.rm {
				m.nrm--
			}
		} else {
			old := m.st.extra[e]
			for _, d := range old {
				m.ctx.ent[d.r].live--
			}
			if hasRm(old) {
				m.nrm--
			}
		}
	}
	for _, d := range ds {
		m.ctx.ent[d.r].live++
	}
	if hasRm(ds) {
		m.nrm++
	}
	m.st.set(e, ds)
}

// putNew stores absent element e, whose table hash is h (or 0), with the
// single packed dot pv.
func (m *dotMap[E]) putNew(e E, h uint32, pv uint64) {
	d := unpack(pv)
	m.ctx.ent[d.r].live++
	if d.rm {
		m.nrm++
	}
	m.st.insert(e, h, pv)
}

// write gives e a new dot of replica id, tagged rm, replacing every dot of e
// this state holds, and fills d with the delta.
func (m *dotMap[E]) write(id vclock.ReplicaID, e E, rm bool, d *dotMap[E], p *deltaParts[E]) {
	ctx := m.root()
	r := ctx.intern(id)
	nd := tdot{ctx.next(r), rm}
	d.ctx = &p.ctx
	ctx.edited(d.ctx)
	h := m.st.hashFor(e)
	v, had := m.st.getH(e, h)
	d.partial = true
	if m.gone != nil {
		delete(m.gone, e)
	}
	if pv, ok := pack(nd); ok && !had {
		m.putNew(e, h, pv)
		p.ids[0] = id
		p.ent[0].live = 1
		if nd.c == 1 {
			p.ent[0].top = 1
		} else {
			p.cl[0] = nd.c
			p.ent[0].cloud = p.cl[:1]
		}
		dv, _ := pack(tdot{dot{0, nd.c}, rm})
		p.es[0] = storeEntry[E]{e, dv}
		p.ctx.ids, p.ctx.ent, d.st.small = p.ids[:], p.ent[:], p.es[:]
		if rm {
			d.nrm = 1
		}
		return
	}
	// e held dots: the delta's context holds them and the new one. It is
	// built in p's storage, replica 0 being id, and outgrows it only
	// when e held dots of other replicas or several of id's.
	var ob [2]tdot
	old := m.st.expand(e, v, had, ob[:0])
	m.replace(e, v, had, []tdot{nd})
	p.ids[0] = id
	p.ent[0].cloud = p.cl[:0]
	p.ctx.ids, p.ctx.ent, d.st.small = p.ids[:], p.ent[:], p.es[:0]
	for _, od := range old {
		d.ctx.add(dot{d.ctx.intern(ctx.ids[od.r]), od.c})
	}
	d.ctx.add(dot{0, nd.c})
	if w := &d.ctx.ent[0]; len(w.cloud) == 0 {
		w.cloud = nil
	}
	d.replace(e, 0, false, []tdot{{dot{0, nd.c}, rm}})
}

// forget removes every dot of e this state holds, and fills d with the
// delta: those dots in its context, e in gone.
func (m *dotMap[E]) forget(e E, d *dotMap[E]) {
	d.partial = true
	d.ctx = &dotCtx{}
	v, had := m.st.get(e)
	if !had {
		return
	}
	m.ctx.edited(d.ctx)
	old := m.st.expand(e, v, had, nil)
	m.replace(e, v, had, nil)
	for _, od := range old {
		d.ctx.add(dot{d.ctx.intern(m.ctx.ids[od.r]), od.c})
	}
	d.gone = map[E]struct{}{e: {}}
	if m.partial {
		if m.gone == nil {
			m.gone = make(map[E]struct{})
		}
		m.gone[e] = struct{}{}
	}
}

// merge joins o into m; both are roots.
func (m *dotMap[E]) merge(o *dotMap[E]) {
	if m == o {
		return
	}
	env := newJoinEnv(m.root(), o.ctx)
	m.join(o, env)
	env.merge()
}

// join joins o's store into m's, with contexts and numbering from env; o
// nil stands for an empty full store (a key o no longer has). It does not
// merge the contexts: the root does, once.
func (m *dotMap[E]) join(o *dotMap[E], env *joinEnv) {
	if o == nil {
		o = &dotMap[E]{}
	}
	j := joiner[E]{m: m, o: o, env: env, partial: m.partial && o.partial}
	if o.st.t != nil {
		// o's elements come in hash order: make room first (see makeRoom).
		k := o.st.len()
		if !o.partial {
			k = 0
			o.st.all(func(e E, v uint64) bool {
				if !j.covered(e, v) {
					k++
				}
				return true
			})
		}
		m.st.makeRoom(k)
		defer m.st.fit()
	}
	if o.partial {
		o.st.allH(func(e E, h uint32, v uint64) bool {
			j.elem(e, h, v, true)
			return true
		})
	} else {
		// A full o: first drop from m every dot o has seen and no longer
		// holds; then only o's dots m has not seen can change m, so an
		// element of o whose dots m has all seen needs no lookup in m.
		if env.anyRemoved {
			j.dropSeen()
		}
		o.st.allH(func(e E, h uint32, v uint64) bool {
			if !j.covered(e, v) {
				j.elem(e, h, v, true)
			}
			return true
		})
	}
	for e := range o.gone {
		j.elem(e, 0, 0, false)
	}
	if !j.partial {
		m.makeFull()
	}
}

// makeFull marks m a full state, dropping the delta bookkeeping.
func (m *dotMap[E]) makeFull() {
	m.partial = false
	m.gone = nil
}

type joiner[E comparable] struct {
	m, o       *dotMap[E]
	env        *joinEnv
	partial    bool // the result is partial
	mine, hers []tdot
	keep       []tdot
}

// covered reports whether m's context holds every dot o holds for e,
// stored in o as v.
func (j *joiner[E]) covered(e E, v uint64) bool {
	if v != 0 {
		return j.env.m.has(j.env.toM(unpack(v).dot))
	}
	for _, d := range j.o.st.extra[e] {
		if !j.env.m.has(j.env.toM(d.dot)) {
			return false
		}
	}
	return true
}

// oHolds reports whether o holds dot d, in m's numbering, for element e.
func (j *joiner[E]) oHolds(e E, d tdot) bool {
	ov, ok := j.o.st.get(e)
	if !ok {
		return false
	}
	if ov != 0 {
		od := unpack(ov)
		od.dot = j.env.toM(od.dot)
		return od == d
	}
	for _, od := range j.o.st.extra[e] {
		od.dot = j.env.toM(od.dot)
		if od == d {
			return true
		}
	}
	return false
}

// dropSeen removes from m every dot that o, a full state, has seen but no
// longer holds for the same element: o removed or overwrote it.
func (j *joiner[E]) dropSeen() {
	m := j.m
	seen := j.env.seenRemoved
	type change struct {
		e    E
		v    uint64
		keep []tdot
	}
	var changes []change
	m.st.all(func(e E, v uint64) bool {
		if v != 0 {
			if d := unpack(v); seen(d.dot) && !j.oHolds(e, d) {
				changes = append(changes, change{e, v, nil})
			}
			return true
		}
		ds := m.st.extra[e]
		if !slices.ContainsFunc(ds, func(d tdot) bool { return seen(d.dot) }) {
			return true
		}
		var keep []tdot
		for _, d := range ds {
			if !seen(d.dot) || j.oHolds(e, d) {
				keep = append(keep, d)
			}
		}
		if len(keep) < len(ds) {
			changes = append(changes, change{e, v, keep})
		}
		return true
	})
	for _, c := range changes {
		m.replace(c.e, c.v, true, c.keep)
	}
}

// elem joins o's entry for e (v, or nothing when listed is false) into m;
// h is e's table hash, or 0 if o keeps none. Every table hashes with one
// seed, so o's hash serves m's table.
func (j *joiner[E]) elem(e E, h uint32, v uint64, listed bool) {
	m := j.m
	if h == 0 {
		h = m.st.hashFor(e)
	}
	mv, mok := m.st.getH(e, h)
	if listed && v != 0 && (!mok || mv != 0) {
		j.packed(e, h, unpack(v), mv, mok)
		return
	}
	j.expanded(e, h, v, mv, mok, listed)
}

// packed joins o's one dot od of e (o's numbering) into m's, which holds
// at most one, packed in mv (mok: m holds e): the fast path.
func (j *joiner[E]) packed(e E, h uint32, od tdot, mv uint64, mok bool) {
	m := j.m
	od.dot = j.env.toM(od.dot)
	keepO := !j.env.m.has(od.dot)
	if !mok {
		switch {
		case keepO:
			if pv, ok := pack(od); ok {
				m.putNew(e, h, pv)
			} else {
				m.replace(e, 0, false, []tdot{od})
			}
			if m.gone != nil {
				delete(m.gone, e)
			}
		case j.partial:
			j.markGone(e)
		}
		return
	}
	md := unpack(mv)
	if md == od {
		return
	}
	keepM := !j.env.oHas(md.dot)
	switch {
	case keepM && keepO:
		m.replace(e, mv, true, sortDots([]tdot{md, od}))
	case keepO:
		m.replace(e, mv, true, []tdot{od})
	case !keepM:
		m.replace(e, mv, true, nil)
		if j.partial {
			j.markGone(e)
		}
	}
}

// expanded joins o's dots of e (stored as v; listed: o lists e) into m's
// (stored as mv; mok: m holds e), any number on either side.
func (j *joiner[E]) expanded(e E, h uint32, v, mv uint64, mok, listed bool) {
	m := j.m
	j.mine = m.st.expand(e, mv, mok, j.mine[:0])
	j.hers = j.hers[:0]
	if listed {
		for _, d := range j.o.st.expand(e, v, true, nil) {
			d.dot = j.env.toM(d.dot)
			j.hers = append(j.hers, d)
		}
	}
	j.keep = j.keep[:0]
	for _, d := range j.mine {
		if slices.Contains(j.hers, d) || !j.env.oHas(d.dot) {
			j.keep = append(j.keep, d)
		}
	}
	for _, d := range j.hers {
		if !slices.Contains(j.mine, d) && !j.env.m.has(d.dot) {
			j.keep = append(j.keep, d)
		}
	}
	if len(j.keep) == 0 {
		if mok {
			m.replace(e, mv, true, nil)
		}
		if j.partial {
			j.markGone(e)
		}
		return
	}
	if !slices.Equal(j.keep, j.mine) {
		m.replace(e, mv, mok, sortDots(slices.Clone(j.keep)))
	}
	if m.gone != nil {
		delete(m.gone, e)
	}
}

func (j *joiner[E]) markGone(e E) {
	if j.m.gone == nil {
		j.m.gone = make(map[E]struct{})
	}
	j.m.gone[e] = struct{}{}
}

// sortDots sorts dots by replica index, then counter.
func sortDots(ds []tdot) []tdot {
	slices.SortFunc(ds, func(a, b tdot) int {
		if a.r != b.r {
			if a.r < b.r {
				return -1
			}
			return 1
		}
		if a.c < b.c {
			return -1
		}
		if a.c > b.c {
			return 1
		}
		return 0
	})
	return ds
}

// clone returns an independent copy of a root.
func (m *dotMap[E]) clone() dotMap[E] { return m.cloneIn(m.ctx.clone()) }

// cloneIn copies m's store into a value living in ctx.
func (m *dotMap[E]) cloneIn(ctx *dotCtx) dotMap[E] {
	out := dotMap[E]{ctx: ctx, st: m.st.clone(), partial: m.partial, nrm: m.nrm}
	if len(m.gone) > 0 {
		out.gone = make(map[E]struct{}, len(m.gone))
		for e := range m.gone {
			out.gone[e] = struct{}{}
		}
	}
	return out
}

// equal reports whether m and o are the same state: same context, same
// dots per element (compared by replica ID), same partial flag and gone
// set.
func (m *dotMap[E]) equal(o *dotMap[E]) bool {
	return m.ctx.equal(o.ctx) && m.equalStore(o, idMap(m.ctx, o.ctx))
}

// equalStore compares the stores of m and o, whose contexts' numbering tr
// maps (m index → o index).
func (m *dotMap[E]) equalStore(o *dotMap[E], tr []uint32) bool {
	if m.partial != o.partial || len(m.gone) != len(o.gone) || m.st.len() != o.st.len() {
		return false
	}
	for e := range m.gone {
		if _, ok := o.gone[e]; !ok {
			return false
		}
	}
	eq := true
	var a, b []tdot
	m.st.all(func(e E, v uint64) bool {
		ov, ok := o.st.get(e)
		if !ok {
			eq = false
			return false
		}
		if v != 0 && ov != 0 {
			d := unpack(v)
			d.r = tr[d.r]
			eq = unpack(ov) == d
			return eq
		}
		a = m.st.expand(e, v, true, a[:0])
		b = o.st.expand(e, ov, true, b[:0])
		if len(a) != len(b) {
			eq = false
			return false
		}
		for _, d := range a {
			d.r = tr[d.r]
			if !slices.Contains(b, d) {
				eq = false
				return false
			}
		}
		return true
	})
	return eq
}

// check records, for c, the dots o holds that m has seen but does not
// hold for the same element with the same tag. m may be nil: a key the
// receiving map lacks.
func (m *dotMap[E]) check(o *dotMap[E], c *checker) {
	var mine, hers []tdot
	o.st.all(func(e E, v uint64) bool {
		hers = o.st.expand(e, v, true, hers[:0])
		loaded := false
		for _, od := range hers {
			md, ok := c.seen(od.dot)
			if !ok {
				continue
			}
			if !loaded {
				if mine, loaded = mine[:0], true; m != nil {
					mine = m.st.dots(e, mine)
				}
			}
			if !slices.Contains(mine, tdot{md, od.rm}) {
				c.differs(md)
			}
		}
		return true
	})
}

// validate checks o against m, both roots (see checker).
func (m *dotMap[E]) validate(o *dotMap[E], typ string) error {
	return validateRoot(typ, m.ctx, o.ctx, func(c *checker) { m.check(o, c) }, m.inDots)
}

// sorted returns the present elements in canonical order: all of them, or
// with removeWins, those holding no removal-tagged dot.
func (m *dotMap[E]) sorted(removeWins bool) iter.Seq[E] {
	return func(yield func(E) bool) {
		es := make([]E, 0, m.st.len())
		m.st.all(func(e E, v uint64) bool {
			if !removeWins || !m.rmOf(e, v) {
				es = append(es, e)
			}
			return true
		})
		sortElems(kindOf[E](), es)
		for _, e := range es {
			if !yield(e) {
				return
			}
		}
	}
}

// seqString formats a sequence as {e1 e2 ...}.
func seqString[E any](seq iter.Seq[E]) string {
	var sb strings.Builder
	sb.WriteByte('{')
	first := true
	for e := range seq {
		if !first {
			sb.WriteByte(' ')
		}
		first = false
		fmt.Fprint(&sb, e)
	}
	sb.WriteByte('}')
	return sb.String()
}
