package crdt

import (
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/converge-go/converge/vclock"
	"github.com/vmihailenco/msgpack/v5"
)

// A List is a sequence CRDT: an ordered list of elements that replicas
// insert into and delete from concurrently, converging to one order. It
// serves playlists, to-do lists, comment threads, the paragraphs of a
// document, or the characters of a text (List[rune]).
//
// # Positions and order
//
// Every insert creates an element with an identity of its own, its
// [Position]: the writer's replica id and a counter, like a dot. The
// element records its left and right origins, the elements it was
// inserted between. A deleted element stays as a tombstone (its identity
// and origins, without its value), so that later and concurrent inserts
// next to it still find their place: an index changes as elements come
// and go, a Position does not ([List.PositionAt], [List.IndexOf]).
//
// Concurrent inserts are ordered by the FugueMax algorithm (Weidner and
// Kleppmann, "The Art of the Fugue: Minimizing Interleaving in
// Collaborative Text Editing", 2023), in the YATA-style formulation with
// left and right origins that diamond-types uses: the result depends only
// on the set of elements, never on the order replicas received them.
// Its guarantee is non-interleaving: when two replicas concurrently
// insert runs at the same place — both typing forward, both typing
// backward (every insert before the previous one), or one of each —
// each run stays contiguous in the merged list, and the run of the
// replica whose id is smaller in byte order comes first. Elements
// inserted between two others always stay between them.
//
// # Errors and indices
//
// Mutators never panic on an index. Insert and InsertAll clamp the index
// to [0, Len()]: a negative index inserts at the front, one beyond the
// end appends. Delete and DeleteRange ignore the part of a range that is
// outside the list, and return an empty delta when nothing is deleted.
// A writer's counter is bounded by [vclock.MaxCounter]; an insert beyond
// it (2^63-1 inserts by one replica id) is ignored.
//
// # Deltas
//
// Every mutator returns a delta: a List holding just the new elements
// (with their origins) or the positions deleted. A delta merges into any
// replica, in any order, any number of times: an element whose origins a
// replica has not received yet waits, held in the state but not in its
// order, until they arrive; a deletion of an element not received yet
// waits for the element. Len, At and the iterators see only the placed
// elements.
//
// # Cost
//
// The order is a B+ tree of the elements with subtree counts, and each
// element is found from its Position through a map: At, PositionAt,
// IndexOf, Insert and Delete cost O(log n) for a list of n elements,
// tombstones included; merging a delta of k elements costs O(k log n),
// plus the elements concurrent inserts at the same place pass over: k
// elements inserted concurrently at one place, each with its own origins,
// cost O(k²) to place in the worst case, as in every algorithm of the
// YATA family. A state from an untrusted peer can be built to hit that
// case; bound DecodeOptions.MaxElements for such peers.
// Memory is about 80 bytes per element, tombstones included, plus the
// values: a List does not collect tombstones, as no replica can tell that
// every other has seen a deletion. Inside an ORMap, a replica's inserts
// into one list have consecutive counters only while it writes no other
// key in between: each break starts a run of its own in the encoding, and
// a gap of more than 64 counters gives the element an entry in a Go map of
// the identity index rather than a slot of its dense part.
//
// # Claims
//
// A List has Version (the largest counter of each writer among its
// elements and deletions), Clamp and Edits, for package merge. It holds no
// timestamps, so it has no MaxTimestamp.
//
// # Inside an ORMap
//
// A List can be an [ORMap] value (ORMap[K, *List[E]]: a playlist per
// user, the comments of each post). There an element's Position is a dot
// of the map's causal context — an insert takes its writer's next event
// counter in the whole map — so that the map's Version, Clamp, Edits and
// ValidateMerge see every element, and a dot reused under another key is
// refused. Inside an Update callback the mutators work as at the top
// level; DeleteAt deletes only an element the list holds, Merge joins only
// the deltas of lists inside a map, Clone returns a top-level copy, Clamp
// does nothing (clamp the map), and Version and Edits are the map's.
//
// Removing the key clears the list and keeps its tombstones:
// [ORMap.Remove] deletes every element the remover holds, as
// DeleteRange would, waiting ones included. An element inserted
// concurrently with the removal survives in its place, ordered by the
// tombstones of its neighbours: once both have merged, the key shows
// exactly the elements the remover had not seen, in their order, and
// inserts next to them work as before. A key whose list holds tombstones
// only is absent — Get, Contains, Len and Keys leave it out, as a key
// whose value is empty — but its list is kept, encoded with the map and
// merged, and Update hands it to the callback, so that a later insert
// finds its neighbours too. (A key whose only element not deleted waits
// for an origin is present, its list empty until the origin arrives.) A
// removed key thus costs what its list cost, O(elements ever inserted),
// as a top-level List does: tombstones are never collected.
//
// The map's other values forget, on removal, the dots the remover had
// observed. A List cannot: an element inserted concurrently next to a
// forgotten one would name origins no replica holds any longer, and could
// never be placed; and a deletion must leave the element as a tombstone
// for the elements that name it as an origin.
//
// The zero List is empty and ready to use. A List is not safe for
// concurrent use; use [List.Clone] rather than copying a value.
type List[E any] struct {
	items  itemStore[E]
	reps   []lrep
	idx    []lidx                      // by replica, as reps; may be shorter
	repIdx map[vclock.ReplicaID]uint32 // beyond 8 replicas
	q      seq
	ghosts ghostSet        // deletions of elements not held
	wait   map[lid][]int32 // pending items by the origin they wait for; nil until needed
	npend  int32           // items not placed in q
	bad    bool            // an item's right origin lies before its left one
	edits  uint64
	// ctx is, inside an ORMap, the map's causal context — for the delta of
	// a mutator of such a list, the delta's — and nil at the top level
	// (list_map.go).
	ctx *dotCtx
}

var (
	_ msgpack.CustomEncoder = (*List[string])(nil)
	_ msgpack.CustomDecoder = (*List[string])(nil)
)

// A Position identifies one element of a [List] for as long as the list
// exists, whatever is inserted or deleted around it: the replica that
// inserted it and that replica's counter. Positions are comparable, so
// they serve as map keys (a cursor, an anchor of a comment).
type Position struct {
	Replica vclock.ReplicaID
	Counter uint64
}

// lid is the identity of an element inside one List: the index of its
// replica in reps, and its counter.
type lid struct {
	c uint64
	r uint32
}

const noRep = ^uint32(0)

// noID is the origin "none": the start of the list for a left origin, its
// end for a right one.
var noID = lid{r: noRep}

type litem[E any] struct {
	id, left, right lid
	leaf            *lnode // nil while the item waits for an origin
	v               E
	del             bool
}

type lrep struct {
	id  vclock.ReplicaID
	top uint64 // the largest counter of an element or a deletion
}

// An lidx finds the items of one replica: dense[k] is the item of
// counter base+1+k (-1 for none), sparse those outside that window.
type lidx struct {
	base   uint64
	dense  []int32
	sparse map[uint64]int32
}

// maxGap is the largest gap in a replica's counters that its dense
// index fills rather than going to the map.
const maxGap = 64

func (e *lidx) find(c uint64) (int32, bool) {
	if k := c - e.base - 1; c > e.base && k < uint64(len(e.dense)) && e.dense[k] >= 0 {
		return e.dense[k], true
	}
	if e.sparse != nil {
		x, ok := e.sparse[c]
		return x, ok
	}
	return 0, false
}

func (e *lidx) add(c uint64, x int32) {
	if len(e.dense) == 0 && e.sparse == nil {
		e.base = c - 1
	}
	switch k := c - e.base - 1; {
	case c <= e.base:
	case k < uint64(len(e.dense)):
		e.dense[k] = x
		return
	case k-uint64(len(e.dense)) <= maxGap:
		for uint64(len(e.dense)) < k {
			e.dense = append(e.dense, -1)
		}
		e.dense = append(e.dense, x)
		return
	}
	if e.sparse == nil {
		e.sparse = make(map[uint64]int32)
	}
	e.sparse[c] = x
}

func (e *lidx) clone() lidx {
	c := *e
	c.dense = slices.Clone(e.dense)
	if e.sparse != nil {
		c.sparse = make(map[uint64]int32, len(e.sparse))
		for k, v := range e.sparse {
			c.sparse[k] = v
		}
	}
	return c
}

// Insert inserts e at index i as replica id and returns the delta. The
// index is clamped to [0, Len()].
func (l *List[E]) Insert(id vclock.ReplicaID, i int, e E) *List[E] {
	es := [1]E{e}
	return l.insert(id, i, es[:])
}

// InsertAll inserts es at index i, in order, as replica id, and returns
// the delta, which holds them all. The index is clamped to [0, Len()].
func (l *List[E]) InsertAll(id vclock.ReplicaID, i int, es ...E) *List[E] {
	return l.insert(id, i, es)
}

// Append appends es as replica id and returns the delta.
func (l *List[E]) Append(id vclock.ReplicaID, es ...E) *List[E] {
	return l.insert(id, l.Len(), es)
}

// Delete deletes the element at index i and returns the delta; for an i
// outside [0, Len()) it deletes nothing and returns an empty delta.
func (l *List[E]) Delete(i int) *List[E] { return l.DeleteRange(i, i+1) }

// DeleteRange deletes the elements at indices i to j-1, as slices.Delete
// would, and returns the delta. The range is cut to [0, Len()); an empty
// range deletes nothing and returns an empty delta.
func (l *List[E]) DeleteRange(i, j int) *List[E] {
	i, j = max(i, 0), min(j, l.Len())
	if l.ctx != nil {
		return l.deleteIn(i, j)
	}
	// The delta of one deletion takes one allocation.
	type delta struct {
		l    List[E]
		reps [1]lrep
		few  [1]lid
	}
	dd := &delta{}
	d := &dd.l
	d.reps, d.ghosts.few = dd.reps[:0], dd.few[:0]
	if i >= j {
		return d
	}
	for k := i; k < j; k++ {
		// Each deletion shifts the rest down: delete at i, j-i times.
		n, off, _ := l.q.atVisible(i)
		x := n.slots[off]
		l.hideItem(x)
		it := l.items.at(x)
		d.addGhost(lid{it.id.c, d.rep(l.reps[it.id.r].id)})
	}
	l.edits++
	d.edits = 1
	return d
}

// DeleteAt deletes the element at pos and returns the delta. Deleting a
// position the list holds, placed or waiting, works as Delete; deleting
// one it does not hold yet records the deletion, which applies when the
// element arrives. A position deleted already, or with counter 0, gives
// an empty delta. Inside an ORMap, DeleteAt deletes only an element the
// list holds, and gives an empty delta for any other position: a counter
// the list has not received there is a dot of the map's, which may be
// another key's event, and recording its deletion would remove that.
func (l *List[E]) DeleteAt(pos Position) *List[E] {
	if l.ctx != nil {
		return l.deleteAtIn(pos)
	}
	d := &List[E]{}
	if pos.Counter == 0 || pos.Counter > vclock.MaxCounter {
		return d
	}
	id := lid{pos.Counter, l.rep(pos.Replica)}
	if x, ok := l.find(id); ok {
		if l.items.at(x).del {
			return d
		}
		l.hideItem(x)
	} else if l.ghosts.has(id) {
		return d
	} else {
		l.addGhost(id)
	}
	d.addGhost(lid{pos.Counter, d.rep(pos.Replica)})
	l.edits++
	d.edits = 1
	return d
}

// Len returns the number of elements, tombstones and waiting elements
// aside. O(1).
func (l *List[E]) Len() int { return l.q.visible() }

// At returns the element at index i, or false if i is outside
// [0, Len()). O(log n).
func (l *List[E]) At(i int) (E, bool) {
	if i < 0 || i >= l.Len() {
		var zero E
		return zero, false
	}
	n, off, _ := l.q.atVisible(i)
	return l.items.at(n.slots[off]).v, true
}

// PositionAt returns the position of the element at index i, or false if
// i is outside [0, Len()). O(log n).
func (l *List[E]) PositionAt(i int) (Position, bool) {
	if i < 0 || i >= l.Len() {
		return Position{}, false
	}
	n, off, _ := l.q.atVisible(i)
	return l.position(n.slots[off]), true
}

// IndexOf returns the index of the element at pos and true. For an
// element deleted since, it returns the index the element would have,
// that of the first element after it, and false: where a cursor at pos
// belongs. For a position the list does not hold, or holds but cannot
// place until an origin arrives, it returns -1 and false. O(log n).
func (l *List[E]) IndexOf(pos Position) (int, bool) {
	r, ok := l.findRep(pos.Replica)
	if !ok {
		return -1, false
	}
	x, ok := l.find(lid{pos.Counter, r})
	if !ok || l.items.at(x).leaf == nil {
		return -1, false
	}
	_, vis := index(l.items.at(x).leaf, x)
	return vis, !l.items.at(x).del
}

// All returns the elements with their indices, in order.
func (l *List[E]) All() iter.Seq2[int, E] {
	return func(yield func(int, E) bool) {
		i := 0
		for s := range l.q.all {
			if s >= 0 {
				if !yield(i, l.items.at(s).v) {
					return
				}
				i++
			}
		}
	}
}

// Values returns the elements in order.
func (l *List[E]) Values() iter.Seq[E] {
	return func(yield func(E) bool) {
		for s := range l.q.all {
			if s >= 0 && !yield(l.items.at(s).v) {
				return
			}
		}
	}
}

// Positions returns the elements' positions with their indices, in order.
func (l *List[E]) Positions() iter.Seq2[int, Position] {
	return func(yield func(int, Position) bool) {
		i := 0
		for s := range l.q.all {
			if s >= 0 {
				if !yield(i, l.position(s)) {
					return
				}
				i++
			}
		}
	}
}

// String formats l as [e1 e2 ...].
func (l *List[E]) String() string {
	var sb strings.Builder
	sb.WriteByte('[')
	for i, e := range l.All() {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprint(&sb, e)
	}
	sb.WriteByte(']')
	return sb.String()
}

func (l *List[E]) position(x int32) Position {
	id := l.items.at(x).id
	return Position{l.reps[id.r].id, id.c}
}

// insert is the body of the insert mutators.
func (l *List[E]) insert(id vclock.ReplicaID, i int, es []E) *List[E] {
	if l.ctx != nil {
		return l.insertIn(id, i, es)
	}
	// The delta of one insert takes one allocation.
	type delta struct {
		l     List[E]
		item  [1]litem[E]
		reps  [2]lrep
		idx   [1]lidx
		dense [1]int32
		pages [1][]litem[E]
	}
	dd := &delta{}
	d := &dd.l
	d.reps = dd.reps[:0]
	r := l.rep(id)
	if len(es) == 0 || l.reps[r].top > vclock.MaxCounter-uint64(len(es)) {
		return d
	}
	l.q.ensure()
	n, off, left, right := l.slotBefore(max(min(i, l.Len()), 0))
	if len(es) == 1 {
		dd.pages[0] = dd.item[:0]
		d.items.pages = dd.pages[:]
	}
	dr := d.rep(id)
	dd.idx[0].dense = dd.dense[:0]
	d.idx = dd.idx[:dr+1]
	dl, drt := d.translate(l, left), d.translate(l, right)
	for _, e := range es {
		c := l.reps[r].top + 1
		x := l.addItem(litem[E]{id: lid{c, r}, left: left, right: right, v: e})
		n, off = l.place(x, n, off)
		d.addItem(litem[E]{id: lid{c, dr}, left: dl, right: drt, v: e})
		left, dl = lid{c, r}, lid{c, dr}
	}
	d.npend = int32(d.items.len())
	for x := range int32(d.items.len()) {
		d.settle(int32(x)) // cheap: a delta's origins are mostly absent
	}
	l.edits++
	d.edits = 1
	return d
}

// slotBefore returns where an insert at index i goes, in front of the
// i-th element and after the tombstones before it, with the origins
// there: the slot before and the slot after.
func (l *List[E]) slotBefore(i int) (n *lnode, off int, left, right lid) {
	var t int
	if i < l.Len() {
		n, off, t = l.q.atVisible(i)
		right = l.items.at(n.slots[off]).id
	} else {
		t = l.q.total()
		n, off = l.q.atTotal(t)
		right = noID
	}
	left = noID
	switch {
	case off > 0:
		left = l.items.at(slotItem(n.slots[off-1])).id
	case t > 0:
		p, po := l.q.atTotal(t - 1)
		left = l.items.at(slotItem(p.slots[po])).id
	}
	return n, off, left, right
}

// translate returns the identity in d of the element id of l.
func (d *List[E]) translate(l *List[E], id lid) lid {
	if id.r == noRep {
		return noID
	}
	return lid{id.c, d.rep(l.reps[id.r].id)}
}

// place puts item x at offset off of leaf n and returns the leaf and
// offset just after it.
func (l *List[E]) place(x int32, n *lnode, off int) (*lnode, int) {
	s := x
	if l.items.at(x).del {
		s = ^x
	}
	l.items.at(x).leaf = n
	m := l.q.insert(n, off, s)
	off++
	if m != nil {
		for _, s := range m.slots {
			l.items.at(slotItem(s)).leaf = m
		}
		if off > len(n.slots) {
			return m, off - len(n.slots)
		}
	}
	return n, off
}

// hideItem deletes item x, placed or waiting, and drops its value.
func (l *List[E]) hideItem(x int32) {
	it := l.items.at(x)
	if it.del {
		return
	}
	it.del = true
	var zero E
	it.v = zero
	if it.leaf != nil {
		hide(it.leaf, x)
	}
}

// rep returns the index of replica id, adding it if new.
func (l *List[E]) rep(id vclock.ReplicaID) uint32 {
	if r, ok := l.findRep(id); ok {
		return r
	}
	r := uint32(len(l.reps))
	l.reps = append(l.reps, lrep{id: id})
	if l.repIdx != nil {
		l.repIdx[id] = r
	} else if len(l.reps) > 8 {
		l.repIdx = make(map[vclock.ReplicaID]uint32, 16)
		for i, e := range l.reps {
			l.repIdx[e.id] = uint32(i)
		}
	}
	return r
}

func (l *List[E]) findRep(id vclock.ReplicaID) (uint32, bool) {
	if l.repIdx != nil {
		r, ok := l.repIdx[id]
		return r, ok
	}
	for i := range l.reps {
		if l.reps[i].id == id {
			return uint32(i), true
		}
	}
	return 0, false
}

// find returns the index of the item with identity id.
func (l *List[E]) find(id lid) (int32, bool) {
	if id.r >= uint32(len(l.idx)) {
		return 0, false
	}
	return l.idx[id.r].find(id.c)
}

// addItem appends it, not yet placed, and applies a deletion of it that
// was waiting.
func (l *List[E]) addItem(it litem[E]) int32 {
	x := l.items.push(it)
	for len(l.idx) <= int(it.id.r) {
		l.idx = append(l.idx, lidx{})
	}
	l.idx[it.id.r].add(it.id.c, x)
	e := &l.reps[it.id.r]
	e.top = max(e.top, it.id.c)
	if l.ghosts.len() > 0 {
		if l.ghosts.remove(it.id) {
			l.hideItem(x)
		}
	}
	return x
}

// addGhost records the deletion of id, an element l does not hold.
func (l *List[E]) addGhost(id lid) {
	l.ghosts.add(id)
	e := &l.reps[id.r]
	e.top = max(e.top, id.c)
}

// An itemStore holds the items in pages, so that a growing list never
// copies them: item x is pages[x>>pageBits][x&pageMask].
type itemStore[E any] struct {
	pages [][]litem[E]
	n     int
}

const (
	pageBits = 10
	pageMask = 1<<pageBits - 1
)

func (s *itemStore[E]) at(x int32) *litem[E] { return &s.pages[x>>pageBits][x&pageMask] }
func (s *itemStore[E]) len() int             { return s.n }

// push appends it and returns its index. The first page grows as a
// slice does; the others are allocated whole.
func (s *itemStore[E]) push(it litem[E]) int32 {
	x := s.n
	if x>>pageBits == len(s.pages) {
		c := 0
		if x > 0 {
			c = pageMask + 1
		}
		s.pages = append(s.pages, make([]litem[E], 0, c))
	}
	p := &s.pages[len(s.pages)-1]
	*p = append(*p, it)
	s.n++
	return int32(x)
}

func (s *itemStore[E]) clone() itemStore[E] {
	c := itemStore[E]{pages: make([][]litem[E], len(s.pages)), n: s.n}
	for i, p := range s.pages {
		c.pages[i] = slices.Clone(p)
	}
	return c
}

// A ghostSet is a set of identities: a slice up to 8, a map beyond.
type ghostSet struct {
	few []lid
	m   map[lid]struct{}
}

func (g *ghostSet) len() int {
	if g.m != nil {
		return len(g.m)
	}
	return len(g.few)
}

func (g *ghostSet) has(id lid) bool {
	if g.m != nil {
		_, ok := g.m[id]
		return ok
	}
	return slices.Contains(g.few, id)
}

// add adds id.
func (g *ghostSet) add(id lid) {
	switch {
	case g.has(id):
	case g.m != nil:
		g.m[id] = struct{}{}
	case len(g.few) < 8:
		g.few = append(g.few, id)
	default:
		g.m = make(map[lid]struct{}, 16)
		for _, x := range g.few {
			g.m[x] = struct{}{}
		}
		g.m[id] = struct{}{}
		g.few = nil
	}
}

// remove removes id and reports whether g held it.
func (g *ghostSet) remove(id lid) bool {
	if g.m != nil {
		_, ok := g.m[id]
		delete(g.m, id)
		return ok
	}
	if k := slices.Index(g.few, id); k >= 0 {
		g.few = slices.Delete(g.few, k, k+1)
		return true
	}
	return false
}

func (g *ghostSet) all(yield func(lid) bool) {
	if g.m != nil {
		for id := range g.m {
			if !yield(id) {
				return
			}
		}
		return
	}
	for _, id := range g.few {
		if !yield(id) {
			return
		}
	}
}

func (g *ghostSet) clone() ghostSet {
	c := ghostSet{few: slices.Clone(g.few)}
	if g.m != nil {
		c.m = make(map[lid]struct{}, len(g.m))
		for id := range g.m {
			c.m[id] = struct{}{}
		}
	}
	return c
}
