package crdt

import (
	"cmp"
	"slices"

	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
	"github.com/vmihailenco/msgpack/v5"
)

// The encoding of a List (docs/wire-format.md, "List"):
//
//	[1, 30, replicas, deletions, runs]
//
// replicas: every replica an element, an origin or a deletion names, in
// byte order. deletions: one group per replica, in replica order, flat:
// replica, count k, then k ranges as (gap, length), the gap of the first
// from counter 0, of the others from the end of the one before (at least
// 1: ranges are maximal). runs: flat, in order of replica then counter:
// replica, gap from the end of the replica's previous run (from counter
// 1 for its first), length, left origin, right origin, then the values of
// the elements of the run not deleted. A run is a maximal sequence of
// elements of one replica with consecutive counters, each with the one
// before as left origin and all with one right origin. An origin is nil
// (none), a positive integer d for the element of the run's replica with
// counter start-d, or [replica, counter] for another replica's.

// A lrun is a run of elements while encoding.
type lrun struct {
	r     int // replica position
	start uint64
	n     uint64
	items []int32 // in counter order
}

// AppendBinary appends the encoding of l: [1, 30, replicas, deletions,
// runs] (docs/wire-format.md). O(n log n) for n elements, O(n) when each
// replica's elements arrived in counter order.
func (l *List[E]) AppendBinary(b []byte) ([]byte, error) {
	pos, sorted := l.replicaOrder()
	b = wire.AppendHeader(b, wire.KindList, 3)
	b = wire.AppendArrayLen(b, len(sorted))
	for _, r := range sorted {
		b = wire.AppendString(b, string(l.reps[r].id))
	}
	b = l.appendDeletions(b, pos)
	return l.appendRuns(b, pos), nil
}

// replicaOrder returns the position of each replica l refers to in byte
// order (-1 for one it does not refer to), and the replicas in that order.
func (l *List[E]) replicaOrder() ([]int, []uint32) {
	used := l.usedReps()
	var sorted []uint32
	for r, u := range used {
		if u {
			sorted = append(sorted, uint32(r))
		}
	}
	l.sortReps(sorted)
	pos := make([]int, len(l.reps))
	for i := range pos {
		pos[i] = -1
	}
	for i, r := range sorted {
		pos[r] = i
	}
	return pos, sorted
}

// sortReps sorts replica indices by ID.
func (l *List[E]) sortReps(rs []uint32) {
	slices.SortFunc(rs, func(a, b uint32) int { return cmp.Compare(l.reps[a].id, l.reps[b].id) })
}

// usedReps reports, for each replica, whether an element, an origin or a
// deletion of l names it.
func (l *List[E]) usedReps() []bool {
	used := make([]bool, len(l.reps))
	for i := range int32(l.items.len()) {
		it := l.items.at(i)
		for _, x := range [3]lid{it.id, it.left, it.right} {
			if x.r != noRep {
				used[x.r] = true
			}
		}
	}
	for g := range l.ghosts.all {
		used[g.r] = true
	}
	return used
}

// A pdot is an identity with its replica's position, for sorting.
type pdot struct {
	p int
	c uint64
}

func cmpPdot(a, b pdot) int {
	if a.p != b.p {
		return cmp.Compare(a.p, b.p)
	}
	return cmp.Compare(a.c, b.c)
}

// appendDeletions appends every deletion, of elements held or not, as
// ranges.
func (l *List[E]) appendDeletions(b []byte, pos []int) []byte {
	var ds []pdot
	for i := range int32(l.items.len()) {
		if it := l.items.at(i); it.del {
			ds = append(ds, pdot{pos[it.id.r], it.id.c})
		}
	}
	for g := range l.ghosts.all {
		ds = append(ds, pdot{pos[g.r], g.c})
	}
	slices.SortFunc(ds, cmpPdot)
	// Count the values first: the array header comes before them.
	type rng struct{ start, n uint64 }
	type group struct {
		p  int
		rs []rng
	}
	var gs []group
	for _, d := range ds {
		if len(gs) == 0 || gs[len(gs)-1].p != d.p {
			gs = append(gs, group{p: d.p})
		}
		g := &gs[len(gs)-1]
		if k := len(g.rs); k > 0 && g.rs[k-1].start+g.rs[k-1].n == d.c {
			g.rs[k-1].n++
		} else {
			g.rs = append(g.rs, rng{d.c, 1})
		}
	}
	n := 0
	for _, g := range gs {
		n += 2 + 2*len(g.rs)
	}
	b = wire.AppendArrayLen(b, n)
	for _, g := range gs {
		b = wire.AppendUint(b, uint64(g.p))
		b = wire.AppendUint(b, uint64(len(g.rs)))
		end := uint64(0)
		for _, r := range g.rs {
			b = wire.AppendUint(b, r.start-end)
			b = wire.AppendUint(b, r.n)
			end = r.start + r.n
		}
	}
	return b
}

// runs returns l's elements as maximal runs, in order of replica position
// and counter.
func (l *List[E]) runs(pos []int) []lrun {
	order := make([]int32, l.items.len())
	for i := range order {
		order[i] = int32(i)
	}
	key := func(x int32) pdot { return pdot{pos[l.items.at(x).id.r], l.items.at(x).id.c} }
	if !slices.IsSortedFunc(order, func(a, b int32) int { return cmpPdot(key(a), key(b)) }) {
		slices.SortFunc(order, func(a, b int32) int { return cmpPdot(key(a), key(b)) })
	}
	var runs []lrun
	for k, x := range order {
		it := l.items.at(x)
		if len(runs) > 0 {
			ru := &runs[len(runs)-1]
			prev := l.items.at(order[k-1])
			if prev.id.r == it.id.r && prev.id.c+1 == it.id.c && it.left == prev.id && it.right == prev.right {
				ru.n++
				ru.items = ru.items[:len(ru.items)+1]
				continue
			}
		}
		runs = append(runs, lrun{r: pos[it.id.r], start: it.id.c, n: 1, items: order[k : k+1]})
	}
	return runs
}

// appendRuns appends the runs with their values.
func (l *List[E]) appendRuns(b []byte, pos []int) []byte {
	runs := l.runs(pos)
	k := kindOf[E]()
	n := 5 * len(runs)
	for i := range int32(l.items.len()) {
		if !l.items.at(i).del {
			n++
		}
	}
	b = wire.AppendArrayLen(b, n)
	prevR, end := -1, uint64(1)
	for _, ru := range runs {
		if ru.r != prevR {
			prevR, end = ru.r, 1
		}
		first := l.items.at(ru.items[0])
		b = wire.AppendUint(b, uint64(ru.r))
		b = wire.AppendUint(b, ru.start-end)
		b = wire.AppendUint(b, ru.n)
		b = l.appendOrigin(b, pos, first.id, first.left)
		b = l.appendOrigin(b, pos, first.id, first.right)
		for _, x := range ru.items {
			if it := l.items.at(x); !it.del {
				b = appendElem(b, k, it.v)
			}
		}
		end = ru.start + ru.n
	}
	return b
}

// appendOrigin appends origin o of the first element id of a run.
func (l *List[E]) appendOrigin(b []byte, pos []int, id, o lid) []byte {
	switch {
	case o.r == noRep:
		return wire.AppendNil(b)
	case o.r == id.r:
		return wire.AppendUint(b, id.c-o.c)
	}
	b = wire.AppendArrayLen(b, 2)
	b = wire.AppendUint(b, uint64(pos[o.r]))
	return wire.AppendUint(b, o.c)
}

// MarshalBinary returns the canonical encoding of l.
func (l *List[E]) MarshalBinary() ([]byte, error) { return l.AppendBinary(nil) }

// UnmarshalBinary replaces l with the list encoded in b. It accepts only
// the canonical encoding; on error l is unchanged. Each element, deleted
// or not, counts against DecodeOptions.MaxElements, since a run of
// deleted elements is written as its length alone.
func (l *List[E]) UnmarshalBinary(b []byte) error { return l.unmarshal(b, wire.Limits{}) }

func (l *List[E]) unmarshal(b []byte, lim wire.Limits) error {
	var v List[E]
	r := wire.NewReader(b, lim)
	v.readValue(&r)
	return keep(l, v, &r, "List")
}

// EncodeMsgpack implements msgpack.CustomEncoder with the bytes of
// MarshalBinary.
func (l *List[E]) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeTo(enc, l) }

// DecodeMsgpack implements msgpack.CustomDecoder as UnmarshalBinary does.
func (l *List[E]) DecodeMsgpack(dec *msgpack.Decoder) error { return decodeFrom(dec, l, "List") }

// A listReader decodes a List. It reads replicas by position: at the top
// level, positions index the list's own replica list, read first; inside
// an ORMap (ctx set), they index the map's replica list, then the list's
// own, which holds only replicas the map's lacks.
type listReader[E any] struct {
	r     *wire.Reader
	l     *List[E]
	ctx   *dotCtx            // inside an ORMap: the map's context
	extra []vclock.ReplicaID // inside an ORMap: the replicas after the map's
	npos  int                // positions
	// The tables below are by slot. At the top level a slot is a
	// position; inside an ORMap, slots go to positions as they are met, so
	// that a value costs what it names, not what the map's replica list
	// holds (slotOf, beyond 8 slots).
	slotOf map[int]int
	pos    []int         // the position
	pr     []uint32      // the replica in l
	used   []bool        // at the top level: named by the value
	dels   [][][2]uint64 // ranges [start, end)
	cur    []int         // the first range a later run may meet
}

// readValue reads a top-level List into l, which must be zero.
func (l *List[E]) readValue(r *wire.Reader) {
	r.Header(wire.KindList, 3)
	d := listReader[E]{r: r, l: l}
	d.replicas()
	d.deletions()
	d.runs()
	if r.Failed() {
		return
	}
	for i, u := range d.used {
		if !u {
			r.Fail("replica " + string(l.reps[i].id) + " is not used")
			return
		}
	}
	d.finish()
}

// finish records the deletions of elements the list lacks and places the
// elements.
func (d *listReader[E]) finish() {
	r, l := d.r, d.l
	d.ghosts()
	if r.Failed() {
		return
	}
	if l.items.len() > 1 {
		// A lone element has no other to wait for; settle builds the
		// index of waiting elements if one arrives later.
		l.wait = make(map[lid][]int32)
	}
	for x := range int32(l.items.len()) {
		l.settle(int32(x))
	}
	if l.npend == 0 {
		l.wait = nil
	}
	if l.bad {
		r.Fail("an element's right origin lies before its left origin")
	}
}

func (d *listReader[E]) replicas() {
	r := d.r
	n := r.ArrayLen()
	d.l.reps = make([]lrep, 0, r.Presize(n, 24))
	for i := 0; i < n && !r.Failed(); i++ {
		at := r.Offset()
		id := vclock.ReplicaID(r.Str())
		if i > 0 && id <= d.l.reps[i-1].id && !r.Failed() {
			r.FailAt(at, "replicas not in ascending order")
		}
		d.l.reps = append(d.l.reps, lrep{id: id})
	}
	if n > 8 {
		d.l.repIdx = make(map[vclock.ReplicaID]uint32, r.Presize(n, 32))
		for i, e := range d.l.reps {
			d.l.repIdx[e.id] = uint32(i)
		}
	}
	n = len(d.l.reps)
	d.npos = n
	d.pos, d.pr = make([]int, n), make([]uint32, n)
	for i := range n {
		d.pos[i], d.pr[i] = i, uint32(i)
	}
	d.used = make([]bool, n)
	d.dels = make([][][2]uint64, n)
	d.cur = make([]int, n)
}

// slot returns the slot of position p, giving it one inside an ORMap.
func (d *listReader[E]) slot(p int) int {
	if d.ctx == nil {
		return p
	}
	if d.slotOf != nil {
		if s, ok := d.slotOf[p]; ok {
			return s
		}
	} else if s := slices.Index(d.pos, p); s >= 0 {
		return s
	}
	ids, i := d.ctx.ids, p
	if i >= len(ids) {
		ids, i = d.extra, i-len(ids)
	}
	s := len(d.pos)
	d.pos = append(d.pos, p)
	d.pr = append(d.pr, d.l.rep(ids[i]))
	d.dels = append(d.dels, nil)
	d.cur = append(d.cur, 0)
	switch {
	case d.slotOf != nil:
		d.slotOf[p] = s
	case len(d.pos) > 8:
		d.slotOf = make(map[int]int, 16)
		for s, q := range d.pos {
			d.slotOf[q] = s
		}
	}
	return s
}

// named reports whether the value names position p.
func (d *listReader[E]) named(p int) bool {
	if d.slotOf != nil {
		_, ok := d.slotOf[p]
		return ok
	}
	return slices.Contains(d.pos, p)
}

// replica reads a replica position and returns its slot.
func (d *listReader[E]) replica() int {
	at := d.r.Offset()
	p := d.r.Uint()
	if d.r.Failed() {
		return 0
	}
	if p >= uint64(d.npos) {
		d.r.FailAt(at, "replica position out of range")
		return 0
	}
	s := d.slot(int(p))
	if d.used != nil {
		d.used[s] = true
	}
	return s
}

// held checks, inside an ORMap, that the dot of an element (read at
// offset at) or of a deletion (at < 0) at position p, counter c, is in the
// map's context, and counts it live.
func (d *listReader[E]) held(at, p int, c uint64) {
	if d.ctx == nil {
		return
	}
	if p < len(d.ctx.ids) && d.ctx.has(dot{uint32(p), c}) {
		d.ctx.ent[p].live++
		return
	}
	if at < 0 {
		d.r.Fail("a deletion's dot is not in the causal context")
	} else {
		d.r.FailAt(at, "an element's dot is not in the causal context")
	}
}

// count reads a positive count or length of counters starting after
// base, and claims it from the element budget.
func (d *listReader[E]) count(base uint64) uint64 {
	at := d.r.Offset()
	n := d.r.Uint()
	if d.r.Failed() {
		return 0
	}
	if n == 0 || n > vclock.MaxCounter-base {
		d.r.FailAt(at, "length out of range")
		return 0
	}
	if !d.r.Claim(at, int(n)) {
		return 0
	}
	return n
}

func (d *listReader[E]) deletions() {
	r := d.r
	left := r.ArrayLen()
	prev := -1
	for left > 0 && !r.Failed() {
		at := r.Offset()
		s := d.replica()
		k := r.Uint()
		if r.Failed() {
			return
		}
		p := d.pos[s]
		if p <= prev || left < 2 || k == 0 || k > uint64(left-2)/2 {
			r.FailAt(at, "deletions not canonical")
			return
		}
		prev = p
		left -= 2 + 2*int(k)
		d.ranges(s, int(k))
	}
	if left < 0 && !r.Failed() {
		r.Fail("deletions not canonical")
	}
}

// ranges reads the k deleted ranges of the replica of slot s.
func (d *listReader[E]) ranges(s, k int) {
	r := d.r
	end := uint64(0)
	for j := 0; j < k && !r.Failed(); j++ {
		at := r.Offset()
		gap := r.Uint()
		if r.Failed() {
			return
		}
		if gap == 0 || gap > vclock.MaxCounter-end {
			r.FailAt(at, "deletion range not canonical")
			return
		}
		start := end + gap
		n := d.count(start - 1)
		end = start + n
		d.dels[s] = append(d.dels[s], [2]uint64{start, end})
	}
}

func (d *listReader[E]) runs() {
	r := d.r
	left := r.ArrayLen()
	prevR, end := -1, uint64(1)
	lastRight, haveLast := noID, false // the previous run of the replica
	for left > 0 && !r.Failed() {
		at := r.Offset()
		s := d.replica()
		gap := r.Uint()
		if r.Failed() {
			return
		}
		p := d.pos[s]
		if p < prevR {
			r.FailAt(at, "runs not in replica order")
			return
		}
		if p != prevR {
			prevR, end, haveLast = p, 1, false
		}
		if gap > vclock.MaxCounter-end {
			r.FailAt(at, "counter out of range")
			return
		}
		h := lrunHead{p: p, s: s, r: d.pr[s], start: end + gap, at: at}
		h.n = d.count(h.start - 1)
		h.left = d.origin(&h)
		h.right = d.origin(&h)
		if r.Failed() {
			return
		}
		if haveLast && gap == 0 && h.left == (lid{h.start - 1, h.r}) && h.right == lastRight {
			r.FailAt(at, "run not maximal")
			return
		}
		if h.left != noID && h.left == h.right {
			r.FailAt(at, "an element's origins are one element")
			return
		}
		left -= 5 + d.elements(&h, left-5)
		end = h.start + h.n
		lastRight, haveLast = h.right, true
	}
	if left < 0 && !r.Failed() {
		r.Fail("runs array too short")
	}
}

type lrunHead struct {
	p, s, at    int    // position, slot, offset of the run
	r           uint32 // replica in the list
	start, n    uint64
	left, right lid
}

// origin reads an origin of the first element of run h.
func (d *listReader[E]) origin(h *lrunHead) lid {
	r := d.r
	at := r.Offset()
	if r.IsNil() {
		return noID
	}
	c, ok := r.Peek()
	if ok && c>>4 == 0x9 {
		if !r.ExpectArray(2) {
			return noID
		}
		q := d.replica()
		cnt := r.Uint()
		if r.Failed() {
			return noID
		}
		if q == h.s || cnt == 0 || cnt > vclock.MaxCounter {
			r.FailAt(at, "origin not canonical")
			return noID
		}
		return lid{cnt, d.pr[q]}
	}
	dist := r.Uint()
	if !r.Failed() && (dist == 0 || dist >= h.start) {
		r.FailAt(at, "origin out of range")
	}
	return lid{h.start - dist, h.r}
}

// elements adds the elements of run h, reading the values of those not
// deleted, and returns how many values it read; at most max.
func (d *listReader[E]) elements(h *lrunHead, maxVals int) int {
	r, l := d.r, d.l
	k := kindOf[E]()
	rs := d.dels[h.s][d.cur[h.s]:]
	vals := 0
	left := h.left
	for c := h.start; c < h.start+h.n && !r.Failed(); c++ {
		for len(rs) > 0 && rs[0][1] <= c {
			rs = rs[1:]
		}
		del := len(rs) > 0 && rs[0][0] <= c
		it := litem[E]{id: lid{c, h.r}, left: left, right: h.right}
		if !del {
			if vals == maxVals {
				r.Fail("runs array too short")
				return vals
			}
			it.v, _ = readElem[E](r, k)
			vals++
		}
		d.held(h.at, h.p, c)
		x := l.addItem(it)
		if del {
			l.hideItem(x)
		}
		l.npend++
		left = it.id
	}
	d.cur[h.s] = len(d.dels[h.s]) - len(rs)
	return vals
}

// ghosts records the deletions of elements the list does not hold.
func (d *listReader[E]) ghosts() {
	l := d.l
	for s, rs := range d.dels {
		p, r := d.pos[s], d.pr[s]
		for _, rg := range rs {
			for c := rg[0]; c < rg[1]; c++ {
				id := lid{c, r}
				if _, ok := l.find(id); !ok {
					d.held(-1, p, c)
					if d.r.Failed() {
						return
					}
					l.addGhost(id)
				}
			}
			e := &l.reps[r]
			e.top = max(e.top, rg[1]-1)
		}
	}
}
