package main

import (
	"math/rand/v2"
	"time"

	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/merge/sim"
	"github.com/converge-go/converge/vclock"
)

// The CRDT design replicates through converge's own machinery, as a
// service that imports it would: each region keeps each data set in a
// merge.Replica (see crdtStore), the four Replicas of a data set are
// peers of one another, and the bytes their Sync and Receive return
// travel over the world's Sim, with its latencies, the partition and the
// outage. Messages are handed over as they come, in whatever order the
// network delivers them, with no stream or sequence of the program's
// own in between; and these messages, unlike the client requests and the
// other designs' streams and logs, also go through the faults below,
// which merge/sim applies to every message of a Sim alike (and which the
// request-and-reply traffic here does not survive).
const (
	mergeLoss         = 0.01                   // messages dropped
	mergeDuplicate    = 0.01                   // messages delivered twice
	mergeReorder      = 0.01                   // messages held back ...
	mergeReorderDelay = 100 * time.Millisecond // ... by up to this, so that later ones overtake them
	mergeBuffer       = 512                    // deltas kept per data set: a peer further behind gets the full state
)

// A mergeMsg is a message of converge's replication protocol between two
// regions' Replicas of data set set. seq numbers it on its link, so that
// the program can count the deliveries that came out of order; the
// Replicas never see it.
type mergeMsg struct {
	set dataSet
	seq uint32
	b   []byte
}

// A syncer is what the program calls on a merge.Replica of any data set.
type syncer interface {
	AddPeer(id vclock.ReplicaID) error
	Sync(id vclock.ReplicaID) ([]byte, error)
	SyncDigest(id vclock.ReplicaID) ([]byte, error)
	ReceiveFrom(from vclock.ReplicaID, msg []byte) ([]byte, error)
	Lag() []merge.PeerLag
	Stats() merge.Stats
}

func (s *crdtStore) set(k dataSet) syncer {
	switch k {
	case profileData:
		return s.profiles
	case cartData:
		return s.carts
	}
	return s.likes
}

// crdtSys is the node program of the CRDT design.
type crdtSys struct {
	w   *world
	rng *rand.Rand // the faults' draws

	// What the simulator tracks of which writes each region's state
	// holds (see track): pend[n][o] lists origin o's writes beyond n's
	// frontier, in order; got[n][id] whether n holds write id.
	pend   [nRegions][nRegions][]int32
	got    [nRegions][]bool
	byItem [][]int32 // the writes accepted to each cart line

	// Per link (from, to): messages numbered, and, at the receiver,
	// which were delivered and the next number after the largest.
	sent [nRegions][nRegions]uint32
	seen [nRegions][nRegions][]bool
	top  [nRegions][nRegions]uint32

	faults mergeFaults
}

// mergeFaults counts what the network did to the merge messages.
type mergeFaults struct {
	lost, duplicated, delayed int // copies dropped, sent twice, held back
	reordered                 int // deliveries after a later message of their link
	duplicates                int // deliveries of a message already delivered
	refused                   int // messages Receive refused
}

func newCRDT(w *world) *crdtSys {
	s := &crdtSys{w: w, rng: w.s.Rand("merge faults"), byItem: make([][]int32, nItems)}
	for n := range nRegions {
		r := w.reps[n]
		opts := func(k dataSet) []merge.Option {
			return []merge.Option{merge.WithClock(r.clock), merge.WithMaxDeltas(mergeBuffer),
				merge.WithRandom(w.s.Entropy("incarnation " + regionNames[n] + " " + dataSetNames[k]))}
		}
		r.crdt = &crdtStore{
			profiles: merge.New(r.rid, func() *profileMap { return new(profileMap) }, opts(profileData)...),
			carts:    merge.New(r.rid, func() *cartMap { return new(cartMap) }, opts(cartData)...),
			likes:    merge.New(r.rid, func() *likeMap { return new(likeMap) }, opts(likeData)...),
		}
		s.got[n] = make([]bool, len(w.writes))
	}
	for n := range nRegions {
		for k := range nDataSets {
			for p := range nRegions {
				if p != n {
					if err := w.reps[n].crdt.set(k).AddPeer(w.reps[p].rid); err != nil {
						panic(err) // ids are distinct and non-empty
					}
				}
			}
		}
		w.s.Every(streamTick, streamTick, func() bool {
			s.tick(n)
			return true
		})
	}
	w.s.OnStatus(func(id sim.NodeID, up bool) {
		if up && int(id) < nRegions {
			s.recover(int(id))
		}
	})
	return s
}

// write accepts wr at region n: Update, then Sync to every peer at once.
func (s *crdtSys) write(n int, wr *write, reply func(bool)) {
	s.w.reps[n].originate(wr, noClock, false)
	s.got[n][wr.id] = true
	if kindOf(wr.item) == cartItem {
		s.byItem[wr.item] = append(s.byItem[wr.item], wr.id)
	}
	for m := range nRegions {
		if m != n {
			s.pend[m][n] = append(s.pend[m][n], wr.id)
		}
	}
	s.push(n, setOf(wr.item))
	reply(true)
}

// push sends every peer what region n's Replica of data set k has for
// it.
func (s *crdtSys) push(n int, k dataSet) {
	st := s.w.reps[n].crdt.set(k)
	for p := range nRegions {
		if p == n {
			continue
		}
		b, err := st.Sync(s.w.reps[p].rid)
		if err != nil {
			panic(err) // encoding the program's own states
		}
		if b != nil {
			s.send(n, p, k, b)
		}
	}
}

// tick is region n's sync timer: retransmissions and repairs.
func (s *crdtSys) tick(n int) {
	if !s.w.up(n) {
		return
	}
	for k := range nDataSets {
		s.push(n, k)
	}
}

// recover sends every peer a digest, for a region back from an outage,
// as sim.Cluster does: peers that moved on answer with their state.
func (s *crdtSys) recover(n int) {
	for k := range nDataSets {
		st := s.w.reps[n].crdt.set(k)
		for p := range nRegions {
			if p != n {
				b, err := st.SyncDigest(s.w.reps[p].rid)
				if err != nil {
					panic(err)
				}
				s.send(n, p, k, b)
			}
		}
	}
}

// send hands a merge message to the network, through the faults.
func (s *crdtSys) send(from, to int, k dataSet, b []byte) {
	m := mergeMsg{set: k, seq: s.sent[from][to], b: b}
	s.sent[from][to]++
	if s.rng.Float64() < mergeLoss {
		s.faults.lost++
		return
	}
	copies := 1
	if s.rng.Float64() < mergeDuplicate {
		copies = 2
		s.faults.duplicated++
	}
	for range copies {
		if s.rng.Float64() < mergeReorder {
			s.faults.delayed++
			s.w.s.After(time.Duration(s.rng.Int64N(int64(mergeReorderDelay))), func() { s.w.ship(from, to, m, len(b)) })
			continue
		}
		s.w.ship(from, to, m, len(b))
	}
}

func (s *crdtSys) receive(n, from int, msg any) {
	m, ok := msg.(mergeMsg)
	if !ok {
		return
	}
	s.delivered(n, from, m.seq)
	st := s.w.reps[n].crdt.set(m.set)
	reply, err := st.ReceiveFrom(s.w.reps[from].rid, m.b)
	if err != nil {
		s.faults.refused++
	}
	if reply != nil {
		s.send(n, from, m.set, reply)
	}
	s.track(n, m.set)
}

// delivered counts a delivery that comes after a later message of its
// link, or again.
func (s *crdtSys) delivered(to, from int, seq uint32) {
	seen := &s.seen[to][from]
	for uint32(len(*seen)) <= seq {
		*seen = append(*seen, false)
	}
	if (*seen)[seq] {
		s.faults.duplicates++
		return
	}
	(*seen)[seq] = true
	if top := &s.top[to][from]; seq+1 < *top {
		s.faults.reordered++
	} else {
		*top = seq + 1
	}
}

// track brings the simulator's record of region n up to its state after
// a merge into data set k: which writes of each origin the state now
// holds. A write found held is met at once; the frontier,
// and with it what n's next writes count as their causal past, advances
// over the writes held in order; one held beyond a gap waits in
// replica.extra until the gap fills.
func (s *crdtSys) track(n int, k dataSet) {
	r := s.w.reps[n]
	var ctx *vclock.Context // read once, when first needed
	var vv *vclock.Clock
	for o := range nRegions {
		q := s.pend[n][o]
		for _, id := range q {
			wr := &s.w.writes[id]
			if s.got[n][id] || setOf(wr.item) != k {
				continue
			}
			if ctx == nil {
				ctx = r.crdt.context(k)
				vv = ctx.VersionVector()
			}
			if !s.holds(n, wr, ctx, vv) {
				continue
			}
			s.got[n][id] = true
			r.meet(wr)
			r.take(wr)
			r.extra = append(r.extra, id)
		}
		i := 0
		for ; i < len(q) && s.got[n][q[i]]; i++ {
			wr := &s.w.writes[q[i]]
			r.frontier[o] = wr.oseq
			r.know(wr)
			r.dropExtra(wr.id)
		}
		s.pend[n][o] = q[i:]
	}
}

// holds reports whether region n's state, whose data set's context is
// ctx, holds write wr, as far as the simulator's bookkeeping needs: a
// write that issued a dot, once the context has it (the state then shows
// the write, or a write that replaced it); a cart line's removal, which
// issues none, once the context has every dot it removed and the line
// shows none of the adds it removed — is absent, or present by an add the
// removal did not remove.
func (s *crdtSys) holds(n int, wr *write, ctx *vclock.Context, vv *vclock.Clock) bool {
	if wr.kind != opCartRemove {
		return ctx.Contains(wr.mark.dot)
	}
	if !covers(ctx, vv, wr.mark.ctx) {
		return false
	}
	if !s.w.reps[n].crdt.present(wr.item) {
		return true
	}
	for _, id := range s.byItem[wr.item] {
		a := &s.w.writes[id]
		if a.kind == opCartAdd && s.got[n][id] && !wr.mark.ctx.Contains(a.mark.dot) && s.live(n, a) {
			// An add the removal did not remove may be what shows.
			return s.w.reps[n].crdt.mergeNoop(wr.mark.removal)
		}
	}
	return false // what shows is an add the removal removes: it has not arrived
}

// live reports whether region n may still show cart add a: no other
// write to the line that n holds replaced or removed it.
func (s *crdtSys) live(n int, a *write) bool {
	for _, id := range s.byItem[a.item] {
		if b := &s.w.writes[id]; b != a && s.got[n][id] && b.mark.ctx.Contains(a.mark.dot) {
			return false
		}
	}
	return true
}

func (s *crdtSys) detected(int) {}

// agree reports whether the four regions' states of every data set are
// equal, by their digests (merge.Replica.Digest), as sim.Cluster checks
// convergence.
func (s *crdtSys) agree() bool {
	for k := range nDataSets {
		var first merge.Digest
		for n := range nRegions {
			d, err := s.w.reps[n].crdt.digest(k)
			if err != nil {
				panic(err) // encoding the program's own states
			}
			if n == 0 {
				first = d
			} else if d != first {
				return false
			}
		}
	}
	return true
}

// A mergeSummary is what the CRDT design's Replicas counted, and the
// network did to their messages.
type mergeSummary struct {
	messages, bytes, fullStates uint64
	rejected                    uint64
	faults                      mergeFaults
}

func (s *crdtSys) summary() mergeSummary {
	sum := mergeSummary{faults: s.faults}
	for n := range nRegions {
		for k := range nDataSets {
			st := s.w.reps[n].crdt.set(k)
			for _, l := range st.Lag() {
				sum.messages += l.MessagesSent
				sum.bytes += l.BytesSent
				sum.fullStates += l.FullStatesSent
			}
			sum.rejected += st.Stats().Rejected
		}
	}
	return sum
}
