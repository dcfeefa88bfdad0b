package crdt

import (
	"bytes"
	"cmp"
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
// It fails, writing nothing, if a counter is beyond what decoders accept.
func (m *dotMap[E]) appendTo(b []byte, tagged bool) ([]byte, error) {
	if err := m.ctx.checkRange(); err != nil {
		return b, err
	}
	b = wire.AppendBool(b, m.partial)
	var pb [ctxBuf]uint32
	b, pos := m.ctx.appendTo(b, pb[:0])
	return m.appendStoreSized(b, pos, tagged, true), nil
}

// sortByCounter orders one replica's dots by counter. A replica's counters
// are usually dense — most of 1..top are held — so they are placed by
// counter in one pass; sparse ones are sorted.
func sortByCounter[E any](items []dotItem[E]) []dotItem[E] {
	lo, hi := ^uint64(0), uint64(0)
	for _, it := range items {
		c := it.c &^ rmBit
		lo, hi = min(lo, c), max(hi, c)
	}
	span := hi - lo + 1
	if span > 2*uint64(len(items)) {
		slices.SortFunc(items, func(a, b dotItem[E]) int { return cmp.Compare(a.c&^rmBit, b.c&^rmBit) })
		return items
	}
	slots := make([]dotItem[E], span) // a zero c marks an empty slot
	for _, it := range items {
		slots[(it.c&^rmBit)-lo] = it
	}
	out := items[:0]
	for _, it := range slots {
		if it.c != 0 {
			out = append(out, it)
		}
	}
	return out
}

// appendStore appends entries and gone, as appendTo describes, with
// replicas numbered by pos, their positions in the root's replica list.
func (m *dotMap[E]) appendStore(b []byte, pos []uint32, tagged bool) []byte {
	return m.appendStoreSized(b, pos, tagged, false)
}

// rmBit marks a removal-tagged dot in a sort key: counters stay below it.
const rmBit = 1 << 63

type dotItem[E any] struct {
	c uint64 // counter, | rmBit if removal-tagged
	e E
}

// appendStoreSized is appendStore; root says that m owns its context, so
// that the context's live counts size the buckets exactly (in a nested
// store they count the dots of the whole map).
func (m *dotMap[E]) appendStoreSized(b []byte, pos []uint32, tagged, root bool) []byte {
	k := kindOf[E]()
	var few [maxFewDots]posItem[E]
	if items, ok := m.fewDots(pos, few[:0]); ok {
		b = appendFewDots(b, k, items, tagged)
	} else {
		buckets := m.buckets(pos, root)
		held := 0
		for _, items := range buckets {
			if len(items) > 0 {
				held++
			}
		}
		b = wire.AppendArrayLen(b, 2*held)
		for p, items := range buckets {
			if len(items) > 0 {
				b = appendDots(b, k, uint64(p), sortByCounter(items), tagged)
			}
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

// appendDots appends the dots of the replica at position p, sorted by
// counter: p, then [gap, element, ...].
func appendDots[E any](b []byte, k elemKind, p uint64, items []dotItem[E], tagged bool) []byte {
	b = wire.AppendUint(b, p)
	b = wire.AppendArrayLen(b, 2*len(items))
	var prev uint64
	for _, it := range items {
		c := it.c &^ rmBit
		g := c - prev
		prev = c
		if tagged {
			g = g<<1 | it.c>>63
		}
		b = wire.AppendUint(b, g)
		b = appendElem(b, k, it.e)
	}
	return b
}

// maxFewDots is the number of dots an encoder orders in arrays of its own;
// a store holding more groups them in buckets it allocates.
const maxFewDots = 8

// A posItem is a dot to encode and the position of its replica.
type posItem[E any] struct {
	p uint32
	dotItem[E]
}

// fewDots appends m's dots to buf, sorted by replica position and then
// counter, if they are at most maxFewDots; ok is false if there are more.
func (m *dotMap[E]) fewDots(pos []uint32, buf []posItem[E]) (items []posItem[E], ok bool) {
	if m.st.len() > maxFewDots {
		return nil, false
	}
	var ex [maxFewDots]tdot
	items, ok = buf[:0], true
	m.st.all(func(e E, v uint64) bool {
		ds := m.st.expand(e, v, true, ex[:0])
		if len(items)+len(ds) > maxFewDots {
			ok = false
			return false
		}
		for _, d := range ds {
			c := d.c
			if d.rm {
				c |= rmBit
			}
			items = append(items, posItem[E]{pos[d.r], dotItem[E]{c, e}})
		}
		return true
	})
	if !ok {
		return nil, false
	}
	for i := 1; i < len(items); i++ { // insertion sort: a few items
		for j := i; j > 0 && items[j].before(&items[j-1]); j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
	return items, true
}

// before orders dots by replica position, then counter.
func (a *posItem[E]) before(b *posItem[E]) bool {
	if a.p != b.p {
		return a.p < b.p
	}
	return a.c&^rmBit < b.c&^rmBit
}

// appendFewDots appends the entries field of items, which fewDots sorted.
func appendFewDots[E any](b []byte, k elemKind, items []posItem[E], tagged bool) []byte {
	held := 0
	for i := range items {
		if i == 0 || items[i].p != items[i-1].p {
			held++
		}
	}
	b = wire.AppendArrayLen(b, 2*held)
	var group [maxFewDots]dotItem[E]
	for i := 0; i < len(items); {
		n := 0
		for j := i; j < len(items) && items[j].p == items[i].p; j++ {
			group[n] = items[j].dotItem
			n++
		}
		b = appendDots(b, k, uint64(items[i].p), group[:n], tagged)
		i += n
	}
	return b
}

// buckets returns m's dots grouped by the position of their replica in
// the encoding (pos), unsorted; root sizes each group by the context's
// live count.
func (m *dotMap[E]) buckets(pos []uint32, root bool) [][]dotItem[E] {
	nrep := 0
	if m.ctx != nil {
		for i := range m.ctx.ent {
			if m.ctx.ent[i].shown() {
				nrep++
			}
		}
	}
	buckets := make([][]dotItem[E], nrep)
	if root && m.ctx != nil {
		for i := range m.ctx.ent {
			if e := &m.ctx.ent[i]; e.shown() && e.live > 0 {
				buckets[pos[i]] = make([]dotItem[E], 0, e.live)
			}
		}
	}
	key := func(d tdot) uint64 {
		if d.rm {
			return d.c | rmBit
		}
		return d.c
	}
	var buf []tdot
	m.st.all(func(e E, v uint64) bool {
		if v != 0 {
			d := unpack(v)
			p := pos[d.r]
			buckets[p] = append(buckets[p], dotItem[E]{key(d), e})
			return true
		}
		buf = m.st.expand(e, 0, true, buf[:0])
		for _, d := range buf {
			p := pos[d.r]
			buckets[p] = append(buckets[p], dotItem[E]{key(d), e})
		}
		return true
	})
	return buckets
}

// readDotMap reads the fields appendTo writes and checks every invariant:
// a canonical context, every dot in it and appearing once, counters
// ascending within a replica, gone sorted, disjoint from the elements and
// empty unless partial.
func readDotMap[E comparable](r *wire.Reader, tagged bool) dotMap[E] {
	partial := r.Bool()
	ctx := readCtx(r)
	m := readDotStore[E](r, ctx, partial, tagged)
	ctx.checkShown(r)
	return m
}

// readDotStore reads the entries and gone fields into a store living in
// ctx, the root's context just read; gone must be empty unless partial.
func readDotStore[E comparable](r *wire.Reader, ctx *dotCtx, partial, tagged bool) dotMap[E] {
	m := dotMap[E]{ctx: ctx, partial: partial}
	// Size the table once, but never beyond what the input could fill (an
	// element takes at least 8 bytes in any set worth a table) nor beyond
	// the Reader's allowance.
	if n := min(countEntries(*r), r.Remaining()/8); n > smallStore {
		m.st.reserve(r.Presize(n, tableEntryBytes[E]()))
	}
	entries := *r
	if dups := m.readEntries(r, tagged); len(dups) > 0 && !r.Failed() {
		m.rereadDups(entries, dups, tagged)
	}
	m.readGone(r)
	return m
}

// readEntries reads the entries field — for each replica of the context,
// in order, its dots as (counter gap, element) pairs — into m. In a
// table, an element seen for the first time is inserted with one probe
// and recognized as new by it, saving a lookup per element; one seen
// again (it has several dots) lost its first value to the insert, and
// readEntries returns those elements, whose dots must be read again.
func (m *dotMap[E]) readEntries(r *wire.Reader, tagged bool) (dups map[E]struct{}) {
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
		if !r.Failed() && (p64 >= uint64(len(m.ctx.ids)) || int(p64) <= prevP) {
			r.FailAt(at, "entries name no listed replica, or replicas out of order")
			break
		}
		p := int(p64)
		prevP = p
		at = r.Offset()
		n := r.ArrayLen()
		if !r.Failed() && (n == 0 || n%2 != 0) {
			r.FailAt(at, "entries of replica "+string(m.ctx.ids[p])+" are not (gap, element) pairs")
			break
		}
		var c uint64
		for i := 0; i < n/2 && !r.Failed(); i++ {
			d, ok := m.readDot(r, p, &c, tagged)
			if !ok {
				break
			}
			e, _ := readKey[E](r, k)
			if r.Failed() {
				break
			}
			buf = m.insertRead(e, d, &dups, buf)
		}
	}
	return dups
}

// readDot reads the counter gap (and, tagged, the removal tag) of replica
// p's next dot after counter *c, advances *c and checks that the dot is
// in the context.
func (m *dotMap[E]) readDot(r *wire.Reader, p int, c *uint64, tagged bool) (tdot, bool) {
	at := r.Offset()
	g := r.Uint()
	var rm bool
	if tagged {
		rm = g&1 == 1
		g >>= 1
	}
	if r.Failed() {
		return tdot{}, false
	}
	if g == 0 || g > maxDotCounter-*c {
		r.FailAt(at, "dot counter gap is zero or out of range")
		return tdot{}, false
	}
	*c += g
	d := tdot{dot{uint32(p), *c}, rm}
	if !m.ctx.has(d.dot) {
		r.FailAt(at, "dot "+string(m.ctx.ids[p])+":"+strconv.FormatUint(*c, 10)+" is not in the causal context")
		return tdot{}, false
	}
	return d, true
}

// insertRead adds dot d of element e, just read, to m, keeping the live
// and removal counts; an element a table already holds goes to *dups
// instead (see readEntries). buf is scratch space, returned for reuse.
func (m *dotMap[E]) insertRead(e E, d tdot, dups *map[E]struct{}, buf []tdot) []tdot {
	if pv, ok := pack(d); ok && m.st.t != nil {
		if m.st.putH(e, 0, pv) {
			m.ctx.ent[d.r].live++
			if d.rm {
				m.nrm++
			}
		} else {
			if *dups == nil {
				*dups = make(map[E]struct{})
			}
			(*dups)[e] = struct{}{}
		}
		return buf
	}
	v, had := m.st.get(e)
	switch {
	case !had:
		if pv, ok := pack(d); ok {
			m.putNew(e, 0, pv)
		} else {
			m.replace(e, 0, false, []tdot{d})
		}
	case v == 0:
		// Dots arrive in (replica, counter) order: append in place, so
		// an element with k dots costs O(k), not O(k²).
		m.st.extra[e] = append(m.st.extra[e], d)
		m.ctx.ent[d.r].live++
		if d.rm && !hasRm(m.st.extra[e][:len(m.st.extra[e])-1]) {
			m.nrm++
		}
	default:
		buf = append(m.st.expand(e, v, had, buf[:0]), d)
		m.replace(e, v, had, buf)
	}
	return buf
}

// readGone reads the gone field: the elements a partial state (a delta)
// removed, strictly ascending by encoding, none of them with dots.
func (m *dotMap[E]) readGone(r *wire.Reader) {
	k := kindOf[E]()
	at := r.Offset()
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
			m.gone = make(map[E]struct{}, r.Presize(n, mapEntryBytes[E, struct{}]()))
		}
		m.gone[e] = struct{}{}
	}
}

// countEntries returns how many (gap, element) pairs the entries at r
// hold, reading a copy of r: the decoder sizes its map once instead of
// growing it. On malformed input it returns what it counted; the real
// read reports the error.
func countEntries(r wire.Reader) int {
	n := 0
	groups := r.ArrayLen()
	for g := 0; g < groups/2 && !r.Failed(); g++ {
		r.Uint()
		k := r.ArrayLen()
		n += k / 2
		for i := 0; i < k && !r.Failed(); i++ {
			r.Raw()
		}
	}
	return n
}

// rereadDups reads the entries again from r, which the first pass has
// validated, and gives each element of dups all its dots; then it counts
// live dots and removal tags afresh.
func (m *dotMap[E]) rereadDups(r wire.Reader, dups map[E]struct{}, tagged bool) {
	all := make(map[E][]tdot, len(dups))
	k := kindOf[E]()
	groups := r.ArrayLen()
	for g := 0; g < groups/2; g++ {
		p := uint32(r.Uint())
		n := r.ArrayLen()
		var c uint64
		for i := 0; i < n/2; i++ {
			gap := r.Uint()
			rm := false
			if tagged {
				rm = gap&1 == 1
				gap >>= 1
			}
			c += gap
			e, _ := readElem[E](&r, k)
			if _, ok := dups[e]; ok {
				all[e] = append(all[e], tdot{dot{p, c}, rm})
			}
		}
	}
	for e, ds := range all {
		m.st.set(e, ds)
	}
	for i := range m.ctx.ent {
		m.ctx.ent[i].live = 0
	}
	m.nrm = 0
	var buf []tdot
	m.st.all(func(e E, v uint64) bool {
		buf = m.st.expand(e, v, true, buf[:0])
		for _, d := range buf {
			m.ctx.ent[d.r].live++
		}
		if hasRm(buf) {
			m.nrm++
		}
		return true
	})
}
