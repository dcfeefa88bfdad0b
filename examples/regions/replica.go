package main

import (
	"slices"

	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge/sim"
	"github.com/converge-go/converge/vclock"
)

// A rule is how a replica folds a write into an item.
type rule uint8

const (
	// inOrder applies writes in the order they arrive: a log, or one
	// writer per item.
	inOrder rule = iota
	// lastWriter keeps, per item, the write with the largest timestamp.
	lastWriter
	// merged keeps the items in converge's CRDTs, each data set in a
	// merge.Replica (see crdtSys).
	merged
)

// A clockKind is where a last-writer-wins design takes its timestamps.
type clockKind uint8

const (
	noClock   clockKind = iota
	wallClock           // the node's physical clock, skew and all
	hybrid              // an hlc.Clock over it, updated on every receipt
)

// A cell is an item's value in the designs that keep plain values. For a
// profile field it is the write that set it; for a cart line, whether the
// line is in the cart; for a like counter, the count. prov is the
// simulator's record of which likes the count includes — the design
// never reads it.
type cell struct {
	wid  int32 // the write that made this value; -1 for none
	node int8
	ts   uint64
	n    int64
	prov *prov
}

type prov struct {
	wid  int32
	next *prov
}

// An entry carries a write between replicas: in the log designs a
// command that each replica applies in log order; in the stream designs
// the value the origin computed (hasCell). A hidden entry carries only
// the write's place in its origin's stream, not its data: the regional
// design streams EU-homed users' profiles and carts that way, so that
// they stay in eu-west.
type entry struct {
	w       *write // nil for a leader's no-op
	term    int32
	c       cell
	hasCell bool
	hidden  bool
}

// A replica is a region's copy of the data, with the bookkeeping the
// simulator needs: which writes it has applied (frontier, per origin),
// what it knows of (vc, the vector clock that stamps its writes' causal
// past) and a hash of every item's visible value, to tell equal replicas
// apart cheaply.
type replica struct {
	w     *world
	id    int
	rid   vclock.ReplicaID
	rule  rule
	clock *hlc.Clock
	phys  func() int64

	cells []cell
	crdt  *crdtStore

	frontier [nRegions]int32 // writes applied, per origin (applied in origin order)
	vc       [nRegions]int32 // writes known of, per origin, transitively
	seq      int32           // writes this replica originated
	last     []int32         // the last write applied to each item; -1 for none
	obs      []uint64        // hash of each item's visible value
	sum      uint64          // xor of obs, over the items every region keeps
	// extra lists the writes applied beyond the prefix frontier counts:
	// the CRDT design merges deltas in whatever order they arrive, so a
	// region may hold a write of an origin and not an earlier one.
	extra []int32
	// holds marks the writes whose data this replica took in, for the
	// residency count; heldEU counts the bytes of EU-homed users' data
	// among them.
	holds  []bool
	heldEU int64

	// Streams: the active-active and regional designs send each of
	// their own writes to every peer, in order, with retransmission.
	own      []*entry
	acked    [nRegions]int32
	progress [nRegions]int64 // virtual time of the last ack progress, ns
	held     [nRegions]map[int32]*entry
}

func newReplica(w *world, id int, ru rule) *replica {
	r := &replica{w: w, id: id, rid: vclock.ReplicaID(regionNames[id]), rule: ru, obs: make([]uint64, nItems), last: make([]int32, nItems),
		holds: make([]bool, len(w.writes))}
	for i := range r.last {
		r.last[i] = -1
	}
	r.phys = w.s.PhysicalClock(sim.NodeID(id))
	r.clock = hlc.New(hlc.WithPhysicalClock(r.phys))
	if ru != merged { // the CRDT design's data lives in merge.Replicas (newCRDT)
		r.cells = make([]cell, nItems)
		for i := range r.cells {
			r.cells[i].wid = -1
		}
	}
	for i := range r.obs {
		r.obs[i] = mix(uint64(i), 0)
		if !w.pinned(int32(i)) {
			r.sum ^= r.obs[i]
		}
	}
	for i := range r.held {
		r.held[i] = map[int32]*entry{}
	}
	return r
}

// mix is splitmix64's finalizer over an item and its value.
func mix(item, v uint64) uint64 {
	x := item<<40 ^ v ^ 0x9e3779b97f4a7c15
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// originate makes wr a write of this replica (stamp) and applies it.
func (r *replica) originate(wr *write, ck clockKind, compute bool) *entry {
	e := r.stamp(wr, ck, compute)
	r.apply(e)
	return e
}

// stamp makes wr a write of this replica: numbers it, stamps its causal
// past and, in timestamped designs, its time. With compute, the entry
// carries the value computed here (read-modify-write for likes);
// otherwise it is a command each replica applies in log order. The
// replica knows of the write from then on, applied or not: a log leader
// orders its writes when it appends them, before they commit.
func (r *replica) stamp(wr *write, ck clockKind, compute bool) *entry {
	r.seq++
	wr.accepted, wr.acceptedAt = true, r.w.now()
	wr.origin, wr.oseq, wr.deps = r.id, r.seq, r.vc
	if len(r.extra) > 0 {
		wr.extra = slices.Clone(r.extra)
	}
	switch ck {
	case wallClock:
		wr.ranked, wr.ts = true, uint64(r.phys()/1000) // µs
	case hybrid:
		wr.ranked, wr.ts = true, uint64(r.clock.Now())
	}
	e := &entry{w: wr}
	switch {
	case r.rule == merged:
		wr.mark = r.crdt.mutate(wr)
	case compute:
		e.c, e.hasCell = r.next(wr), true
	}
	r.know(wr)
	r.take(wr)
	return e
}

// next computes the value wr gives its item, from the value here.
func (r *replica) next(wr *write) cell {
	c := cell{wid: wr.id, node: int8(wr.origin), ts: wr.ts}
	switch wr.kind {
	case opCartAdd:
		c.n = 1
	case opLike:
		cur := r.cells[wr.item]
		c.n = cur.n + 1
		c.prov = &prov{wr.id, cur.prov}
	}
	return c
}

// apply folds an entry into the replica.
func (r *replica) apply(e *entry) {
	wr := e.w
	if wr == nil {
		return
	}
	o := wr.origin
	r.frontier[o] = max(r.frontier[o], wr.oseq)
	r.know(wr)
	if e.hidden {
		return // its data stays at its origin
	}
	r.meet(wr)
	r.take(wr)
	switch r.rule {
	case merged:
		// The data is in the merge.Replica already: the origin's Update
		// put it there.
	case lastWriter:
		if o != r.id && r.w.design.clock == hybrid {
			// A timestamp beyond the max offset is refused, and the clock
			// left as it was: the HLC's guarantee needs bounded skew.
			_, _ = r.clock.Update(hlc.Timestamp(wr.ts))
		}
		c := e.c
		cur := &r.cells[wr.item]
		if cur.wid >= 0 && !(c.ts > cur.ts || c.ts == cur.ts && c.node > cur.node) {
			return
		}
		*cur = c
	default:
		if e.hasCell {
			r.cells[wr.item] = e.c
		} else {
			r.cells[wr.item] = r.next(wr)
		}
	}
	r.observe(wr.item)
}

// meet marks wr and the last write to its item applied here as
// conflicting if they are concurrent: the replica holds two writes to
// one item, neither made with knowledge of the other, and the design
// must resolve them (or, for a CRDT counter, simply add them up).
func (r *replica) meet(wr *write) {
	if prev := r.last[wr.item]; prev >= 0 {
		p := &r.w.writes[prev]
		if !p.before(wr) && !wr.before(p) {
			p.conflict, wr.conflict = true, true
		}
	}
	r.last[wr.item] = wr.id
}

// dropExtra takes write id off the writes held beyond the frontier.
func (r *replica) dropExtra(id int32) {
	if i := slices.Index(r.extra, id); i >= 0 {
		r.extra = slices.Delete(r.extra, i, i+1)
	}
}

// know merges a write's causal past into the replica's.
func (r *replica) know(wr *write) {
	for i, d := range wr.deps {
		r.vc[i] = max(r.vc[i], d)
	}
	r.vc[wr.origin] = max(r.vc[wr.origin], wr.oseq)
}

// value returns the visible value of an item.
func (r *replica) value(item int32) uint64 {
	if r.crdt != nil {
		return r.crdt.value(item)
	}
	c := &r.cells[item]
	if kindOf(item) == profileItem {
		return uint64(c.wid + 1)
	}
	return uint64(c.n)
}

// observe updates the hash of an item's value. The CRDT design compares
// its states' digests instead, and keeps none.
func (r *replica) observe(item int32) {
	if r.rule == merged {
		return
	}
	h := mix(uint64(item), r.value(item))
	if !r.w.pinned(item) {
		r.sum ^= r.obs[item] ^ h
	}
	r.obs[item] = h
}

// take records that the replica holds wr's data: for the residency
// count, the bytes of an EU-homed user's profile or cart write that a
// region other than eu-west takes in, once per region and write.
func (r *replica) take(wr *write) {
	if r.holds[wr.id] {
		return
	}
	r.holds[wr.id] = true
	if r.id != euWest && euPersonal(wr.item) {
		r.heldEU += int64(recordBytes(wr.item))
	}
}

// snapshot copies the replica's data and bookkeeping, for a leader to
// send a follower that must start over.
func (r *replica) snapshot() *replica {
	c := *r
	c.cells = slices.Clone(r.cells)
	c.obs = slices.Clone(r.obs)
	c.last = slices.Clone(r.last)
	return &c
}

// install replaces the data with a snapshot's, keeping the identity.
func (r *replica) install(s *replica) {
	r.cells = slices.Clone(s.cells)
	r.obs = slices.Clone(s.obs)
	r.last = slices.Clone(s.last)
	r.sum, r.frontier, r.vc = s.sum, s.frontier, s.vc
	for i := range r.cells {
		if c := &r.cells[i]; c.wid >= 0 {
			r.take(&r.w.writes[c.wid])
		}
	}
}
