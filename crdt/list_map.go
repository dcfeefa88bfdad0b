package crdt

import (
	"bytes"

	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
)

// A List inside an ORMap (ORMap[K, *List[E]]) lives in the map's causal
// context. An element's identity is a dot of that context: an insert by
// replica r takes r's next dot, so that the map's Version, Clamp, Edits
// and ValidateMerge see every element, and a dot names one event across
// the whole map.
//
// The dots a nested List holds — those inDots yields and the context's
// live counts count — are the dots of all its elements, deleted or not,
// and of the deletions it records of elements it has not received yet
// (ghosts, as at the top level). A List never gives a dot back: a
// deleted element stays as a tombstone, so that an insert next to it,
// concurrent with the deletion or with the removal of the key, finds its
// place. A dot the context has seen is therefore either held by exactly
// one List as an element or a ghost, or belongs to another key or to
// another kind of event: the join adds an element of the other side
// unless the receiver has seen its dot without holding it, and then only
// to apply a ghost.
//
// Deleting an element makes it a tombstone; the delta holds the deletion
// as a ghost, with the dot in its context. Removing the key deletes every
// element the remover holds, waiting ones included, the same way
// (inRemove); the key is then hidden: absent from the map's Get, Contains,
// Len and Keys, its list kept in ORMap.tombs, encoded with the map and
// merged like any value. An insert next to one of its tombstones — an
// Update of the hidden key, or a concurrent insert merged in — shows the
// key again with that element alone.
//
// The join never drops an element, so, unlike the dot stores, it does
// not depend on whether the other side is a delta: a nested List has no
// partial flag, and its encoding [30, replicas, deletions, runs] is the
// top-level one without the version, its positions indexing the map's
// replica list, then the replicas listed in the value, which only an
// origin can name (the delta of an insert after another replica's element
// holds no dot of that replica).

// crep returns l.ctx's index of l's replica r. It is looked up each time
// (a scan of up to 8 replicas, a map beyond) rather than kept, so that
// every List, the top-level deltas included, stays as small as it was.
func (l *List[E]) crep(r uint32) uint32 { return l.ctx.intern(l.reps[r].id) }

// dotOf returns the dot of l's element id in l.ctx.
func (l *List[E]) dotOf(id lid) dot { return dot{l.crep(id.r), id.c} }

// hold counts the dot of id, which l now holds, in l.ctx's live counts.
func (l *List[E]) hold(id lid) { l.ctx.ent[l.crep(id.r)].live++ }

// lastCounter returns the largest counter of e's run and cloud.
func (e *ctxEntry) lastCounter() uint64 {
	if len(e.cloud) > 0 {
		return max(e.top, e.cloud[len(e.cloud)-1])
	}
	return e.top
}

// newDelta returns an empty delta of a list inside a map: a List with a
// context of its own.
func newDelta[E any]() *List[E] { return &List[E]{ctx: &dotCtx{}} }

// insertIn is insert for a list inside an ORMap: each element takes the
// next dot of replica id in the map's context.
func (l *List[E]) insertIn(id vclock.ReplicaID, i int, es []E) *List[E] {
	d := newDelta[E]()
	r := l.rep(id)
	cr := l.crep(r)
	if len(es) == 0 || l.ctx.ent[cr].lastCounter() > vclock.MaxCounter-uint64(len(es)) {
		return d
	}
	l.ctx.edited(d.ctx)
	l.q.ensure()
	n, off, left, right := l.slotBefore(max(min(i, l.Len()), 0))
	dr := d.rep(id)
	dl, drt := d.translate(l, left), d.translate(l, right)
	dc := d.crep(dr)
	for _, e := range es {
		c := l.ctx.next(cr).c
		l.ctx.ent[cr].live++
		x := l.addItem(litem[E]{id: lid{c, r}, left: left, right: right, v: e})
		n, off = l.place(x, n, off)
		d.addItem(litem[E]{id: lid{c, dr}, left: dl, right: drt, v: e})
		d.ctx.add(dot{dc, c})
		d.ctx.ent[dc].live++
		left, dl = lid{c, r}, lid{c, dr}
	}
	d.npend = int32(d.items.len())
	for x := range int32(d.items.len()) {
		d.settle(x)
	}
	return d
}

// ghostOf records in d, a delta, the deletion of l's element id: a ghost,
// with its dot in d's context.
func (d *List[E]) ghostOf(l *List[E], id lid) {
	g := lid{id.c, d.rep(l.reps[id.r].id)}
	d.addGhost(g)
	d.ctx.add(d.dotOf(g))
	d.hold(g)
}

// deleteIn is DeleteRange, cut to [0, Len()), for a list inside an ORMap.
func (l *List[E]) deleteIn(i, j int) *List[E] {
	d := newDelta[E]()
	if i >= j {
		return d
	}
	l.ctx.edited(d.ctx)
	for k := i; k < j; k++ {
		n, off, _ := l.q.atVisible(i)
		x := n.slots[off]
		l.hideItem(x)
		d.ghostOf(l, l.items.at(x).id)
	}
	return d
}

// deleteAtIn is DeleteAt for a list inside an ORMap.
func (l *List[E]) deleteAtIn(pos Position) *List[E] {
	d := newDelta[E]()
	r, ok := l.findRep(pos.Replica)
	if !ok || pos.Counter == 0 {
		return d
	}
	x, ok := l.find(lid{pos.Counter, r})
	if !ok || l.items.at(x).del {
		return d
	}
	l.ctx.edited(d.ctx)
	l.hideItem(x)
	d.ghostOf(l, l.items.at(x).id)
	return d
}

// inRemove deletes every element not deleted, placed or waiting, and
// returns the delta: ORMap.Remove of the list's key.
func (l *List[E]) inRemove() *List[E] {
	d := newDelta[E]()
	for x := range int32(l.items.len()) {
		it := l.items.at(x)
		if it.del {
			continue
		}
		if d.ctx.edits == 0 {
			l.ctx.edited(d.ctx)
		}
		l.hideItem(x)
		d.ghostOf(l, it.id)
	}
	return d
}

// mergeIn is Merge for a list inside an ORMap: o must be one too (the
// delta of a mutator of one), else there is nothing to join.
func (l *List[E]) mergeIn(o *List[E]) {
	if o == l || o.ctx == nil {
		return
	}
	env := newJoinEnv(l.ctx, o.ctx)
	l.inJoin(o, env)
	env.merge()
}

// inJoin joins o's elements and deletions into l, which lives in env.m;
// o nil is a key the other side lacks, which takes nothing away. An
// element of o that l lacks is added, unless env.m has seen its dot: then
// the dot is another key's (a correct state holds every dot of its own
// elements), except where l records the element's deletion as a ghost,
// and the element arrives a tombstone.
func (l *List[E]) inJoin(o *List[E], env *joinEnv) {
	if o == nil || o == l {
		return
	}
	m := make(lidMap, len(o.reps))
	l.intern(o, m, false)
	l.joinItems(o, m, func(id lid) bool {
		if l.ghosts.has(id) {
			return true // the ghost's dot, held already, becomes the tombstone's
		}
		if env.m.has(l.dotOf(id)) {
			return false
		}
		l.hold(id)
		return true
	})
	for g := range o.ghosts.all {
		id := m.at(g)
		if y, ok := l.find(id); ok {
			l.hideItem(y)
			continue
		}
		if l.ghosts.has(id) || env.m.has(l.dotOf(id)) {
			continue
		}
		l.addGhost(id)
		l.hold(id)
	}
}

func (l *List[E]) inNew(ctx *dotCtx, _ bool) *List[E] { return &List[E]{ctx: ctx} }

func (l *List[E]) inEmpty() bool { return l.items.len() == 0 && l.ghosts.len() == 0 }

// inHidden reports whether l holds tombstones or ghosts only: no element
// not deleted, placed or waiting.
func (l *List[E]) inHidden() bool {
	if l.Len() > 0 || l.inEmpty() {
		return false
	}
	if l.npend > 0 {
		for x := range int32(l.items.len()) {
			if it := l.items.at(x); it.leaf == nil && !it.del {
				return false
			}
		}
	}
	return true
}

func (l *List[E]) inTombs() bool { return true }

func (l *List[E]) inDots(yield func(dot)) {
	for x := range int32(l.items.len()) {
		yield(l.dotOf(l.items.at(x).id))
	}
	for g := range l.ghosts.all {
		yield(l.dotOf(g))
	}
}

func (l *List[E]) inClone(ctx *dotCtx) *List[E] {
	c := l.Clone()
	c.ctx = ctx
	return c
}

func (l *List[E]) inEqual(o *List[E], _ []uint32) bool { return l.Equal(o) }
func (l *List[E]) inFull()                             {}
func (l *List[E]) inCtx() *dotCtx                      { return l.ctx }

// inClamp drops the elements and deletions whose dots k drops; elements
// placed after a dropped one wait for it again.
func (l *List[E]) inClamp(k keeper) {
	n := 0
	drop := func(id lid) bool { return k.drops(l.dotOf(id)) }
	for x := range int32(l.items.len()) {
		if drop(l.items.at(x).id) {
			n++
		}
	}
	for g := range l.ghosts.all {
		if drop(g) {
			n++
		}
	}
	if n == 0 {
		return
	}
	l.ctx.ent[k.r].live -= uint64(n)
	l.clampBy(drop)
}

// inCheck records, for c, the dots of o's elements and deletions that the
// receiver has seen but l does not hold alike: an element with the same
// origins and, where neither has deleted it, the same value; or a
// deletion of it. l may be nil, for a key the receiving map lacks.
func (l *List[E]) inCheck(o *List[E], c *checker) {
	k := kindOf[E]()
	for i := range int32(o.items.len()) {
		b := o.items.at(i)
		md, ok := c.seen(o.dotOf(b.id))
		if !ok {
			continue
		}
		if l != nil {
			if x, found := l.lookup(o, b.id); found {
				a := l.items.at(x)
				if l.same(o, a.left, b.left) && l.same(o, a.right, b.right) &&
					(a.del || b.del || bytes.Equal(appendElem(nil, k, a.v), appendElem(nil, k, b.v))) {
					continue
				}
			} else if l.hasGhost(o, b.id) {
				continue
			}
		}
		c.differs(md)
	}
	for g := range o.ghosts.all {
		md, ok := c.seen(o.dotOf(g))
		if !ok {
			continue
		}
		if l != nil {
			if _, found := l.lookup(o, g); found || l.hasGhost(o, g) {
				continue
			}
		}
		c.differs(md)
	}
}

// hasGhost reports whether l records the deletion of o's element id.
func (l *List[E]) hasGhost(o *List[E], id lid) bool {
	r, ok := l.findRep(o.reps[id.r].id)
	return ok && l.ghosts.has(lid{id.c, r})
}

// mapOrder returns, for each replica of l, its position in the encoding
// of a list inside a map: its position pos in the map's replica list, or,
// for a replica that list lacks (named only by origins), a position after
// it, in the order of the replicas l lists, which it returns; -1 for a
// replica l does not name.
func (l *List[E]) mapOrder(pos []uint32) ([]int, []uint32) {
	used := l.usedReps()
	n := 0
	for i := range l.ctx.ent {
		if l.ctx.ent[i].shown() {
			n++
		}
	}
	p := make([]int, len(l.reps))
	var extra []uint32
	for r, u := range used {
		p[r] = -1
		if !u {
			continue
		}
		if c, ok := l.ctx.lookup(l.reps[r].id); ok && l.ctx.ent[c].shown() {
			p[r] = int(pos[c])
		} else {
			extra = append(extra, uint32(r))
		}
	}
	l.sortReps(extra)
	for i, r := range extra {
		p[r] = n + i
	}
	return p, extra
}

// nestedListClaim is what a List inside an ORMap counts against
// DecodeOptions.MaxElements for itself, beside its elements: its
// structure takes about 700 bytes, as much as 8 elements, so that many
// small lists stay within the bound of about 100 bytes per element
// counted.
const nestedListClaim = 8

// inAppend writes [30, replicas, deletions, runs]: the top-level fields,
// positions numbering the map's replicas, then the replicas listed.
func (l *List[E]) inAppend(b []byte, pos []uint32) []byte {
	p, extra := l.mapOrder(pos)
	b = wire.AppendArrayLen(b, 4)
	b = wire.AppendUint(b, uint64(wire.KindList))
	b = wire.AppendArrayLen(b, len(extra))
	for _, r := range extra {
		b = wire.AppendString(b, string(l.reps[r].id))
	}
	b = l.appendDeletions(b, p)
	return l.appendRuns(b, p)
}

// inRead reads what inAppend writes into a list living in ctx. Every
// element's and every deletion's dot must be in ctx; the replicas listed
// must be ascending, absent from the map's list, and each named by an
// origin.
func (l *List[E]) inRead(r *wire.Reader, ctx *dotCtx, _ bool) *List[E] {
	out := &List[E]{ctx: ctx}
	at := r.Offset()
	readNested(r, wire.KindList, 4)
	r.Claim(at, nestedListClaim)
	d := listReader[E]{r: r, l: out, ctx: ctx}
	n := r.ArrayLen()
	if n > 0 {
		d.extra = make([]vclock.ReplicaID, 0, r.Presize(n, sliceEntryBytes[vclock.ReplicaID]()))
	}
	for i := 0; i < n && !r.Failed(); i++ {
		at := r.Offset()
		id := vclock.ReplicaID(r.Str())
		if r.Failed() {
			break
		}
		if _, ok := ctx.lookup(id); ok || i > 0 && id <= d.extra[i-1] {
			r.FailAt(at, "a list's replicas not ascending, or in the map's")
			break
		}
		d.extra = append(d.extra, id)
	}
	d.npos = len(ctx.ids) + len(d.extra)
	d.deletions()
	d.runs()
	if r.Failed() {
		return out
	}
	for i, id := range d.extra {
		if !d.named(len(ctx.ids) + i) {
			r.Fail("replica " + string(id) + " is not used")
			return out
		}
	}
	d.finish()
	return out
}
