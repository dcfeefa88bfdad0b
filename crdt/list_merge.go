package crdt

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/converge-go/converge/vclock"
)

// Integration: placing an element received from another replica.
//
// An element goes between its left origin and its right origin. Other
// elements found there were inserted concurrently; FugueMax orders them
// (the scan of integrate, after diamond-types' integrate): an element whose
// left origin lies before ours ends the scan, one whose left origin lies
// after ours is passed over (it belongs to a subtree we pass), and among
// elements with our left origin, those with our right origin are ordered
// by replica id, and one with a right origin nearer than ours is passed
// over provisionally, with the elements after it, until an element shows
// which side the new one belongs to. The order this gives depends only on
// the set of elements, provided each is placed after both its origins.

// totalOf returns the total index of the placed element id, or def for
// noID.
func (l *List[E]) totalOf(id lid, def int) int {
	if id.r == noRep {
		return def
	}
	x, _ := l.find(id)
	t, _ := index(l.items.at(x).leaf, x)
	return t
}

// integrate places item x, whose origins are placed.
func (l *List[E]) integrate(x int32) {
	l.q.ensure()
	it := l.items.at(x)
	lt := l.totalOf(it.left, -1)
	rt := l.totalOf(it.right, l.q.total())
	if lt >= rt {
		// No correct replica writes a right origin before the left one;
		// the element goes after its left origin, and a decoder refuses it.
		l.bad = true
	}
	t := l.scan(x, lt, rt)
	n, off := l.q.atTotal(t)
	l.place(x, n, off)
}

// scan returns the total index at which item x goes, given the total
// indices of its origins.
func (l *List[E]) scan(x int32, lt, rt int) int {
	t := lt + 1
	if t >= rt {
		return t
	}
	it := l.items.at(x)
	end := l.q.total()
	n, off := l.q.atTotal(t)
	scanning, start := false, t
	for ; t < rt; t++ {
		if off == len(n.slots) {
			n, off = n.next, 0
		}
		o := slotItem(n.slots[off])
		off++
		other := l.items.at(o)
		olt := lt // siblings, the common case, share the left origin
		if other.left != it.left {
			olt = l.totalOf(other.left, -1)
		}
		if olt < lt {
			break
		}
		if olt > lt {
			continue
		}
		if other.right == it.right {
			if l.less(x, o) {
				break
			}
			scanning = false
			continue
		}
		if l.totalOf(other.right, end) < rt {
			if !scanning {
				scanning, start = true, t
			}
		} else {
			scanning = false
		}
	}
	if scanning {
		return start
	}
	return t
}

// less orders two concurrent siblings: by replica id, then counter.
func (l *List[E]) less(x, y int32) bool {
	a, b := l.items.at(x).id, l.items.at(y).id
	if a.r != b.r {
		return l.reps[a.r].id < l.reps[b.r].id
	}
	return a.c < b.c
}

// missing returns an origin of x that is not placed, if any.
func (l *List[E]) missing(x int32) (lid, bool) {
	it := l.items.at(x)
	for _, o := range [2]lid{it.left, it.right} {
		if o.r == noRep {
			continue
		}
		if y, ok := l.find(o); !ok || l.items.at(y).leaf == nil {
			return o, true
		}
	}
	return lid{}, false
}

// settle places item x if its origins are placed, then every item that
// waited for it, and so on; an item with an origin missing waits for it.
func (l *List[E]) settle(x int32) {
	if l.items.at(x).leaf != nil {
		return
	}
	if o, ok := l.missing(x); ok {
		if l.wait != nil {
			l.wait[o] = append(l.wait[o], x)
		}
		return
	}
	var buf [8]int32
	stack := append(buf[:0], x)
	for len(stack) > 0 {
		y := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if l.items.at(y).leaf != nil {
			continue
		}
		if o, ok := l.missing(y); ok {
			if l.wait != nil {
				l.wait[o] = append(l.wait[o], y)
			}
			continue
		}
		l.integrate(y)
		l.npend--
		if l.npend == 0 {
			l.wait = nil
			continue
		}
		if l.wait == nil {
			stack = append(stack, l.buildWait()...)
		}
		ws := l.wait[l.items.at(y).id]
		delete(l.wait, l.items.at(y).id)
		stack = append(stack, ws...)
	}
}

// buildWait builds the index of waiting items by the origin each waits
// for, on first use (a delta, full of waiting items, never needs it), and
// returns the waiting items whose origins are all placed now.
func (l *List[E]) buildWait() []int32 {
	l.wait = make(map[lid][]int32)
	var ready []int32
	for i := range int32(l.items.len()) {
		if l.items.at(i).leaf == nil {
			if o, ok := l.missing(int32(i)); ok {
				l.wait[o] = append(l.wait[o], int32(i))
			} else {
				ready = append(ready, int32(i))
			}
		}
	}
	return ready
}

// Merge joins o into l: the union of their elements and of their
// deletions. It is commutative, associative and idempotent, and does not
// change o. O(k log n) for k elements of o that l lacks, plus O(m) for
// an o of m elements.
//
// A List inside an ORMap merges only with another from a map, such as the
// delta of one of its mutators (to join the deltas of one Update callback):
// merging a top-level List into it changes nothing.
func (l *List[E]) Merge(o *List[E]) {
	if l.ctx != nil {
		l.mergeIn(o)
		return
	}
	if o == l {
		return
	}
	m := make(lidMap, len(o.reps))
	l.intern(o, m, true)
	l.joinItems(o, m, nil)
	for g := range o.ghosts.all {
		l.deleteID(m.at(g))
	}
	l.edits += o.edits
}

// A lidMap maps the ids of another List to a List's: entry i is the
// List's number for the other's replica i.
type lidMap []uint32

// at returns id in the List's numbering.
func (m lidMap) at(id lid) lid {
	if id.r == noRep {
		return noID
	}
	return lid{id.c, m[id.r]}
}

// intern interns o's replicas in l and fills m (of len(o.reps)) with
// their numbers; raise also raises l's top counter of each replica to
// o's.
func (l *List[E]) intern(o *List[E], m lidMap, raise bool) {
	for i := range o.reps {
		m[i] = l.rep(o.reps[i].id)
		if raise {
			e := &l.reps[m[i]]
			e.top = max(e.top, o.reps[i].top)
		}
	}
}

// joinItems joins o's items into l, their ids mapped by m: an item
// l holds is hidden if o deleted it; one l lacks is added, if admit (nil:
// every one) lets it in, hidden if o deleted it, and placed.
func (l *List[E]) joinItems(o *List[E], m lidMap, admit func(lid) bool) {
	var added []int32
	for i := range int32(o.items.len()) {
		it := o.items.at(i)
		id := m.at(it.id)
		if y, ok := l.find(id); ok {
			if it.del {
				l.hideItem(y)
			}
			continue
		}
		if admit != nil && !admit(id) {
			continue
		}
		x := l.addItem(litem[E]{id: id, left: m.at(it.left), right: m.at(it.right), v: it.v})
		if it.del {
			l.hideItem(x)
		}
		l.npend++
		added = append(added, x)
	}
	for _, x := range added {
		l.settle(x)
	}
}

// deleteID deletes the element id, or records its deletion.
func (l *List[E]) deleteID(id lid) {
	if x, ok := l.find(id); ok {
		l.hideItem(x)
		return
	}
	l.addGhost(id)
}

// Clone returns an independent copy of l. O(n). The copy of a List inside
// an ORMap is a top-level List of the same elements, positions and
// deletions.
func (l *List[E]) Clone() *List[E] {
	c := &List[E]{
		items: l.items.clone(),
		reps:  slices.Clone(l.reps),
		idx:   make([]lidx, len(l.idx)),
		q:     l.q, // read by rebuild, then replaced
		npend: l.npend,
		edits: l.edits,
	}
	for i := range l.idx {
		c.idx[i] = l.idx[i].clone()
	}
	if l.repIdx != nil {
		c.repIdx = make(map[vclock.ReplicaID]uint32, len(l.repIdx))
		for k, v := range l.repIdx {
			c.repIdx[k] = v
		}
	}
	c.ghosts = l.ghosts.clone()
	c.rebuild()
	return c
}

// rebuild rebuilds the tree from the slots of the old one, setting every
// item's leaf.
func (l *List[E]) rebuild() {
	slots := make([]int32, 0, l.q.total())
	for s := range l.q.all {
		slots = append(slots, s)
	}
	for i := range int32(l.items.len()) {
		l.items.at(i).leaf = nil
	}
	l.q = build(slots, func(s int32, n *lnode) { l.items.at(slotItem(s)).leaf = n })
}

// Equal reports whether l and o hold the same elements, with the same
// origins, values and deletions, and the same deletions of elements they
// do not hold. O(n).
func (l *List[E]) Equal(o *List[E]) bool {
	if l.items.len() != o.items.len() || l.ghosts.len() != o.ghosts.len() || l.npend != o.npend {
		return false
	}
	k := kindOf[E]()
	var ba, bb []byte
	for i := range int32(l.items.len()) {
		a := l.items.at(i)
		y, ok := o.lookup(l, a.id)
		if !ok {
			return false
		}
		b := o.items.at(y)
		if a.del != b.del || !o.same(l, b.left, a.left) || !o.same(l, b.right, a.right) {
			return false
		}
		if !a.del {
			ba, bb = appendElem(ba[:0], k, a.v), appendElem(bb[:0], k, b.v)
			if !bytes.Equal(ba, bb) {
				return false
			}
		}
	}
	for g := range l.ghosts.all {
		r, ok := o.findRep(l.reps[g.r].id)
		if !ok {
			return false
		}
		if !o.ghosts.has(lid{g.c, r}) {
			return false
		}
	}
	return true
}

// lookup finds in o the item of l with identity id.
func (o *List[E]) lookup(l *List[E], id lid) (int32, bool) {
	r, ok := o.findRep(l.reps[id.r].id)
	if !ok {
		return 0, false
	}
	return o.find(lid{id.c, r})
}

// same reports whether origin a of o and origin b of l are one element.
func (o *List[E]) same(l *List[E], a, b lid) bool {
	if a.r == noRep || b.r == noRep {
		return a.r == b.r
	}
	return a.c == b.c && o.reps[a.r].id == l.reps[b.r].id
}

// ValidateMerge returns a *ValidationError if an element of o is one of
// l's (the same Position) with other origins, or with another value while
// neither has deleted it: two writers sharing a replica id, or a faulty
// peer. O(m) for an o of m elements.
func (l *List[E]) ValidateMerge(o *List[E]) error {
	k := kindOf[E]()
	for i := range int32(o.items.len()) {
		b := o.items.at(i)
		x, ok := l.lookup(o, b.id)
		if !ok {
			continue
		}
		a := l.items.at(x)
		reason := ""
		switch {
		case !l.same(o, a.left, b.left) || !l.same(o, a.right, b.right):
			reason = "origins"
		case !a.del && !b.del && !bytes.Equal(appendElem(nil, k, a.v), appendElem(nil, k, b.v)):
			reason = "values"
		default:
			continue
		}
		id := o.reps[b.id.r].id
		return &ValidationError{
			Type:   "List",
			Reason: fmt.Sprintf("element %s:%d has different %s", id, b.id.c, reason),
			Writer: id, Counter: b.id.c,
		}
	}
	return nil
}

// Version returns, for each replica, the largest counter among the
// elements it wrote that l holds and the deletions of its elements l
// records. O(replicas). Inside an ORMap it returns the counters of the
// map's context, as the other values of a map do.
func (l *List[E]) Version() *vclock.Clock {
	if l.ctx != nil {
		return l.ctx.version()
	}
	m := make(map[vclock.ReplicaID]uint64)
	for _, e := range l.reps {
		if e.top > 0 {
			m[e.id] = e.top
		}
	}
	return vclock.FromMap(m)
}

// VersionOf returns Version().Get(id) without building the clock.
func (l *List[E]) VersionOf(id vclock.ReplicaID) uint64 {
	if l.ctx != nil {
		return l.ctx.versionOf(id)
	}
	for _, e := range l.reps {
		if e.id == id {
			return e.top
		}
	}
	return 0
}

// Edits returns the count of changes l records (see [ORSet.Edits]);
// inside an ORMap, the map's context counts them.
func (l *List[E]) Edits() uint64 {
	if l.ctx != nil {
		return l.ctx.editCount()
	}
	return l.edits
}

// Clamp drops every element of replica id beyond counter n, and every
// deletion of one, as if l had never received them; elements placed
// after one of them, as its neighbours, wait for it again. O(n log n).
// A List inside an ORMap shares the map's context with the map's other
// values: clamp the map (ORMap.Clamp reaches every value); Clamp of the
// list does nothing.
func (l *List[E]) Clamp(id vclock.ReplicaID, n uint64) {
	if l.ctx != nil {
		return
	}
	r, ok := l.findRep(id)
	if !ok || l.reps[r].top <= n {
		return
	}
	l.clampBy(func(x lid) bool { return x.r == r && x.c > n })
}

// clampBy rebuilds l without the elements and deletions drop names.
func (l *List[E]) clampBy(drop func(lid) bool) {
	out := &List[E]{edits: l.edits, ctx: l.ctx}
	out.reps = make([]lrep, len(l.reps))
	for i, e := range l.reps {
		out.reps[i].id = e.id
	}
	if len(l.reps) > 8 {
		out.repIdx = make(map[vclock.ReplicaID]uint32, len(l.reps))
		for i, e := range l.reps {
			out.repIdx[e.id] = uint32(i)
		}
	}
	for g := range l.ghosts.all {
		if !drop(g) {
			out.addGhost(g)
		}
	}
	out.rebuildFrom(&l.items, drop)
	*l = *out
}

// rebuildFrom adds the items not dropped, in order of identity, and
// places them.
func (l *List[E]) rebuildFrom(items *itemStore[E], drop func(lid) bool) {
	order := make([]int32, 0, items.len())
	for i := range int32(items.len()) {
		if !drop(items.at(int32(i)).id) {
			order = append(order, int32(i))
		}
	}
	slices.SortFunc(order, func(a, b int32) int { return l.cmpID(items.at(a).id, items.at(b).id) })
	for _, i := range order {
		it := *items.at(i)
		it.leaf = nil
		del := it.del
		it.del = false
		x := l.addItem(it)
		if del {
			l.hideItem(x)
		}
		l.npend++
	}
	l.wait = make(map[lid][]int32)
	for x := range int32(l.items.len()) {
		l.settle(int32(x))
	}
	if l.npend == 0 {
		l.wait = nil
	}
}

// cmpID orders identities by replica id, then counter.
func (l *List[E]) cmpID(a, b lid) int {
	if a.r != b.r {
		if l.reps[a.r].id < l.reps[b.r].id {
			return -1
		}
		return 1
	}
	switch {
	case a.c < b.c:
		return -1
	case a.c > b.c:
		return 1
	}
	return 0
}
