package crdt

import (
	"bytes"
	"slices"
	"strconv"

	"github.com/converge-go/converge/internal/wire"
)

// dotMapFields is the number of fields appendTo writes.
const dotMapFields = 5

// appendTo appends m's fields: partial, replicas, context, entries, gone.
//
// Entries are grouped by replica: for each replica holding dots, in the
// order of the replica list, its position in that list and an array
// [gap, element, gap, element, ...] with its dots in ascending counter
// order, each gap being the counter minus the previous one (the first is
// the counter itself). An element with several dots appears once per dot. With tagged, each gap is shifted left
// one bit and the low bit is the removal tag. Sorting by dot rather than by
// element makes the order canonical without comparing elements, and keeps
// gaps — and so the encoding — small.
func (m *dotMap[E]) appendTo(b []byte, tagged bool) []byte {
	b = wire.AppendBool(b, m.partial)
	b, pos := m.ctx.appendTo(b)
	return m.appendStore(b, pos, tagged)
}

// appendStore appends entries and gone, as appendTo describes, with
// replicas numbered by pos, their positions in the root's replica list.
func (m *dotMap[E]) appendStore(b []byte, pos []uint32, tagged bool) []byte {
	type item struct {
		c  uint64
		rm bool
		e  E
	}
	nrep := 0
	if m.ctx != nil {
		for i := range m.ctx.ent {
			if !m.ctx.ent[i].empty() {
				nrep++
			}
		}
	}
	buckets := make([][]item, nrep)
	var buf []tdot
	m.st.all(func(e E, v uint64) bool {
		if v != 0 {
			d := unpack(v)
			p := pos[d.r]
			buckets[p] = append(buckets[p], item{d.c, d.rm, e})
			return true
		}
		buf = m.st.expand(e, 0, true, buf[:0])
		for _, d := range buf {
			p := pos[d.r]
			buckets[p] = append(buckets[p], item{d.c, d.rm, e})
		}
		return true
	})
	k := kindOf[E]()
	held := 0
	for _, items := range buckets {
		if len(items) > 0 {
			held++
		}
	}
	b = wire.AppendArrayLen(b, 2*held)
	for p, items := range buckets {
		if len(items) == 0 {
			continue
		}
		b = wire.AppendUint(b, uint64(p))
		slices.SortFunc(items, func(a, b item) int {
			switch {
			case a.c < b.c:
				return -1
			case a.c > b.c:
				return 1
			}
			return 0
		})
		b = wire.AppendArrayLen(b, 2*len(items))
		var prev uint64
		for _, it := range items {
			g := it.c - prev
			prev = it.c
			if tagged {
				g <<= 1
				if it.rm {
					g |= 1
				}
			}
			b = wire.AppendUint(b, g)
			b = appendElem(b, k, it.e)
		}
	}
	gone := make([]E, 0, len(m.gone))
	for e := range m.gone {
		gone = append(gone, e)
	}
	sortElems(k, gone)
	b = wire.AppendArrayLen(b, len(gone))
	for _, e := range gone {
		b = appendElem(b, k, e)
	}
	return b
}

// readDotMap reads the fields appendTo writes and checks every invariant:
// a canonical context, every dot in it and appearing once, counters
// ascending within a replica, gone sorted, disjoint from the elements and
// empty unless partial.
func readDotMap[E comparable](r *wire.Reader, tagged bool) dotMap[E] {
	partial := r.Bool()
	return readDotStore[E](r, readCtx(r), partial, tagged)
}

// readDotStore reads the entries and gone fields into a store living in
// ctx, the root's context just read; gone must be empty unless partial.
func readDotStore[E comparable](r *wire.Reader, ctx *dotCtx, partial, tagged bool) dotMap[E] {
	m := dotMap[E]{ctx: ctx, partial: partial}
	k := kindOf[E]()
	at := r.Offset()
	groups := r.ArrayLen()
	if !r.Failed() && groups%2 != 0 {
		r.FailAt(at, "entries are not (replica, dots) pairs")
	}
	var buf []tdot
	prevP := -1
	for g := 0; g < groups/2 && !r.Failed(); g++ {
		at := r.Offset()
		p64 := r.Uint()
		if !r.Failed() && (p64 >= uint64(len(ctx.ids)) || int(p64) <= prevP) {
			r.FailAt(at, "entries name no listed replica, or replicas out of order")
			break
		}
		p := int(p64)
		prevP = p
		at = r.Offset()
		n := r.ArrayLen()
		if !r.Failed() && (n == 0 || n%2 != 0) {
			r.FailAt(at, "entries of replica "+string(ctx.ids[p])+" are not (gap, element) pairs")
			break
		}
		var c uint64
		for i := 0; i < n/2 && !r.Failed(); i++ {
			at := r.Offset()
			g := r.Uint()
			var rm bool
			if tagged {
				rm = g&1 == 1
				g >>= 1
			}
			if r.Failed() {
				break
			}
			if g == 0 || g > maxDotCounter-c {
				r.FailAt(at, "dot counter gap is zero or out of range")
				break
			}
			c += g
			d := tdot{dot{uint32(p), c}, rm}
			if !m.ctx.has(d.dot) {
				r.FailAt(at, "dot "+string(m.ctx.ids[p])+":"+strconv.FormatUint(c, 10)+" is not in the causal context")
				break
			}
			e, _ := readKey[E](r, k)
			if r.Failed() {
				break
			}
			v, had := m.st.get(e)
			switch {
			case !had:
				m.replace(e, 0, false, []tdot{d})
			case v == 0:
				// Dots arrive in (replica, counter) order: append in
				// place, so an element with k dots costs O(k), not O(k²).
				m.st.extra[e] = append(m.st.extra[e], d)
				m.ctx.ent[d.r].live++
				if d.rm && !hasRm(m.st.extra[e][:len(m.st.extra[e])-1]) {
					m.nrm++
				}
			default:
				buf = append(m.st.expand(e, v, had, buf[:0]), d)
				m.replace(e, v, had, buf)
			}
		}
	}
	at = r.Offset()
	n := r.ArrayLen()
	if n > 0 && !m.partial && !r.Failed() {
		r.FailAt(at, "a full state lists removed elements")
	}
	var prev []byte
	for i := 0; i < n && !r.Failed(); i++ {
		at := r.Offset()
		e, raw := readKey[E](r, k)
		if r.Failed() {
			break
		}
		if i > 0 && bytes.Compare(prev, raw) >= 0 {
			r.FailAt(at, "removed elements out of order or repeated")
			break
		}
		if _, ok := m.st.get(e); ok {
			r.FailAt(at, "a removed element also has dots")
			break
		}
		prev = raw
		if m.gone == nil {
			m.gone = make(map[E]struct{}, n)
		}
		m.gone[e] = struct{}{}
	}
	return m
}
