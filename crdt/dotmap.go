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
type dotMap[E comparable] struct {
	ctx     dotCtx
	st      dotStore[E]
	gone    map[E]struct{} // partial only: listed elements with no dots
	partial bool
	nrm     int // elements holding a removal-tagged dot
}

// deltaParts is storage for a one-element delta, allocated together with
// its set so that a mutator's delta costs one allocation.
type deltaParts[E comparable] struct {
	ids [1]vclock.ReplicaID
	ent [1]ctxEntry
	cl  [1]uint64
	es  [1]storeEntry[E]
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

// putNew stores absent element e with the single packed dot pv.
func (m *dotMap[E]) putNew(e E, pv uint64) {
	d := unpack(pv)
	m.ctx.ent[d.r].live++
	if d.rm {
		m.nrm++
	}
	m.st.put(e, pv)
}

// write gives e a new dot of replica id, tagged rm, replacing every dot of e
// this state holds, and fills d with the delta.
func (m *dotMap[E]) write(id vclock.ReplicaID, e E, rm bool, d *dotMap[E], p *deltaParts[E]) {
	r := m.ctx.intern(id)
	nd := tdot{m.ctx.next(r), rm}
	v, had := m.st.get(e)
	d.partial = true
	if m.gone != nil {
		delete(m.gone, e)
	}
	if pv, ok := pack(nd); ok && !had {
		m.putNew(e, pv)
		p.ids[0] = id
		p.ent[0].live = 1
		if nd.c == 1 {
			p.ent[0].top = 1
		} else {
			p.cl[0] = nd.c
			p.ent[0].cloud = p.cl[:]
		}
		dv, _ := pack(tdot{dot{0, nd.c}, rm})
		p.es[0] = storeEntry[E]{e, dv}
		d.ctx.ids, d.ctx.ent, d.st.small = p.ids[:], p.ent[:], p.es[:]
		return
	}
	old := m.st.expand(e, v, had, nil)
	m.replace(e, v, had, []tdot{nd})
	for _, od := range old {
		d.ctx.add(dot{d.ctx.intern(m.ctx.ids[od.r]), od.c})
	}
	dr := d.ctx.intern(id)
	d.ctx.add(dot{dr, nd.c})
	d.replace(e, 0, false, []tdot{{dot{dr, nd.c}, rm}})
}

// forget removes every dot of e this state holds, and fills d with the
// delta: those dots in its context, e in gone.
func (m *dotMap[E]) forget(e E, d *dotMap[E]) {
	d.partial = true
	v, had := m.st.get(e)
	if !had {
		return
	}
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

// merge joins o into m.
func (m *dotMap[E]) merge(o *dotMap[E]) {
	if m == o {
		return
	}
	tr := m.ctx.translate(&o.ctx)
	back := make([]uint32, len(m.ctx.ids)) // m index → o index + 1; 0: o lacks it
	for i, j := range tr {
		back[j] = uint32(i) + 1
	}
	j := joiner[E]{m: m, o: o, tr: tr, back: back, partial: m.partial && o.partial}
	if o.partial {
		o.st.all(func(e E, v uint64) bool {
			j.elem(e, v, true)
			return true
		})
	} else {
		// A full o: first drop from m every dot o has seen and no longer
		// holds; then only o's dots m has not seen can change m, so an
		// element of o whose dots m has all seen needs no lookup in m.
		j.dropSeen()
		o.st.all(func(e E, v uint64) bool {
			if !j.covered(e, v) {
				j.elem(e, v, true)
			}
			return true
		})
	}
	for e := range o.gone {
		j.elem(e, 0, false)
	}
	m.ctx.merge(&o.ctx, tr)
	m.partial = j.partial
	if !m.partial {
		m.gone = nil
	}
}

type joiner[E comparable] struct {
	m, o       *dotMap[E]
	tr, back   []uint32
	partial    bool // the result is partial
	mine, hers []tdot
	keep       []tdot
}

// oHas reports whether o's context holds d, a dot in m's numbering.
func (j *joiner[E]) oHas(d dot) bool {
	oi := j.back[d.r]
	return oi != 0 && j.o.ctx.has(dot{oi - 1, d.c})
}

// covered reports whether m's context holds every dot o holds for e,
// stored in o as v.
func (j *joiner[E]) covered(e E, v uint64) bool {
	if v != 0 {
		d := unpack(v)
		return j.m.ctx.has(dot{j.tr[d.r], d.c})
	}
	for _, d := range j.o.st.extra[e] {
		if !j.m.ctx.has(dot{j.tr[d.r], d.c}) {
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
		od.r = j.tr[od.r]
		return od == d
	}
	for _, od := range j.o.st.extra[e] {
		od.r = j.tr[od.r]
		if od == d {
			return true
		}
	}
	return false
}

// dropSeen removes from m every dot that o, a full state, has seen but no
// longer holds for the same element: o removed or overwrote it.
func (j *joiner[E]) dropSeen() {
	m, o := j.m, j.o
	// Only dots of replicas whose dots o has removed — o's context holds
	// more of them than its store — can be dropped. Usually there are none,
	// or few, and the scan is skipped or cheap.
	need := make([]bool, len(m.ctx.ent))
	any := false
	for i := range o.ctx.ent {
		if oe := &o.ctx.ent[i]; oe.live < oe.size() && !m.ctx.ent[j.tr[i]].empty() {
			need[j.tr[i]] = true
			any = true
		}
	}
	if !any {
		return
	}
	seen := func(d dot) bool { return need[d.r] && j.oHas(d) }
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

// elem joins o's entry for e (v, or nothing when listed is false) into m.
func (j *joiner[E]) elem(e E, v uint64, listed bool) {
	m, o := j.m, j.o
	mv, mok := m.st.get(e)
	if listed && v != 0 && (!mok || mv != 0) {
		// Fast path: each side holds at most one packed dot.
		od := unpack(v)
		od.r = j.tr[od.r]
		keepO := !m.ctx.has(od.dot)
		if !mok {
			if keepO {
				if pv, ok := pack(od); ok {
					m.putNew(e, pv)
				} else {
					m.replace(e, 0, false, []tdot{od})
				}
				if m.gone != nil {
					delete(m.gone, e)
				}
			} else if j.partial {
				j.markGone(e)
			}
			return
		}
		md := unpack(mv)
		if md == od {
			return
		}
		keepM := !j.oHas(md.dot)
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
		return
	}
	j.mine = m.st.expand(e, mv, mok, j.mine[:0])
	j.hers = j.hers[:0]
	if listed {
		for _, d := range o.st.expand(e, v, true, nil) {
			d.r = j.tr[d.r]
			j.hers = append(j.hers, d)
		}
	}
	j.keep = j.keep[:0]
	for _, d := range j.mine {
		if slices.Contains(j.hers, d) || !j.oHas(d.dot) {
			j.keep = append(j.keep, d)
		}
	}
	for _, d := range j.hers {
		if !slices.Contains(j.mine, d) && !m.ctx.has(d.dot) {
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

// clone returns an independent copy of m.
func (m *dotMap[E]) clone() dotMap[E] {
	out := dotMap[E]{ctx: m.ctx.clone(), st: m.st.clone(), partial: m.partial, nrm: m.nrm}
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
	if m.partial != o.partial || len(m.gone) != len(o.gone) || m.st.len() != o.st.len() || !m.ctx.equal(&o.ctx) {
		return false
	}
	for e := range m.gone {
		if _, ok := o.gone[e]; !ok {
			return false
		}
	}
	// m index → o index; every replica of a stored dot is in both contexts.
	tr := make([]uint32, len(m.ctx.ids))
	for i, id := range m.ctx.ids {
		j, ok := o.ctx.lookup(id)
		if !ok {
			j = ^uint32(0)
		}
		tr[i] = j
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

// validate reports a dot that o holds under another element, or with
// another tag, than m holds or held it. m is trusted; o is not.
func (m *dotMap[E]) validate(o *dotMap[E], typ string) error {
	var index map[dot]tagged[E] // m's dots, built only if needed
	var mine, hers []tdot
	var err error
	o.st.all(func(e E, v uint64) bool {
		hers = o.st.expand(e, v, true, hers[:0])
		mine = mine[:0]
		loaded := false
		for _, od := range hers {
			mi, ok := m.ctx.lookup(o.ctx.ids[od.r])
			if !ok {
				continue
			}
			md := tdot{dot{mi, od.c}, od.rm}
			if !m.ctx.has(md.dot) {
				continue
			}
			if !loaded {
				mine, loaded = m.st.dots(e, mine), true
			}
			if slices.Contains(mine, md) {
				continue
			}
			if index == nil {
				index = m.dotIndex()
			}
			if x, ok := index[md.dot]; ok && (x.e != e || x.rm != md.rm) {
				err = &ValidationError{Type: typ, Reason: fmt.Sprintf("dot %s:%d carries %v here and %v in the other state", o.ctx.ids[od.r], od.c, x.e, e)}
				return false
			}
		}
		return true
	})
	return err
}

type tagged[E any] struct {
	e  E
	rm bool
}

// dotIndex maps every dot m holds to its element.
func (m *dotMap[E]) dotIndex() map[dot]tagged[E] {
	index := make(map[dot]tagged[E], m.st.len())
	var buf []tdot
	m.st.all(func(e E, v uint64) bool {
		buf = m.st.expand(e, v, true, buf[:0])
		for _, d := range buf {
			index[d.dot] = tagged[E]{e, d.rm}
		}
		return true
	})
	return index
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
