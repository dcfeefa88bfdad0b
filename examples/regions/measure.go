package main

import (
	"slices"
	"time"
)

// A result is what one design did with the workload.
type result struct {
	design *design

	writes, acked, rejected int
	lost, conflicting       int
	againstCausality        int
	converged               bool
	convergence             time.Duration           // from the last heal
	p50, p99                time.Duration           // write latency, acknowledged writes
	p50By                   [nRegions]time.Duration // by where the user was
	reads, staleReads       int
	crossReads              *crossReads // the CRDT design's read strategies, or nil

	// Rejected writes by where the user was, during the partition and
	// during the outage.
	rejectedInPartition [nRegions]int
	rejectedInOutage    [nRegions]int
	// resume is when, after the outage began, a user in us-east first
	// had a write acknowledged; 0 if none was.
	resume time.Duration
	// The acknowledgement times of the lost writes, relative to the
	// start of the outage (only for writes lost around it).
	lostFrom, lostTo time.Duration
	lostNearOutage   int
	// lostBefore is how long before the outage the earliest lost write
	// acknowledged before it was: for the async design, how far its
	// replicas trailed when us-east failed.
	lostBefore time.Duration

	notes []string

	// The CRDT design: what its merge.Replicas and the network did.
	merge *mergeSummary

	// Data residency: bytes of EU-homed users' profiles and carts that
	// servers outside eu-west took in (heldEU), the regions holding any
	// (holdingEU, eu-west included), and the reads of such data that
	// regions elsewhere served from eu-west (residency).
	heldEU    int64
	holdingEU int
	residency residencyReads
}

// measure judges the run against the true history of the writes. The
// converged state is read at us-west, which no fault takes down (and
// data the design keeps in eu-west only, at eu-west).
func (w *world) measure() result {
	res := result{
		design: w.design, writes: len(w.writes), converged: w.converged,
		reads: w.reads, staleReads: w.staleReads, crossReads: w.crossReads,
		notes: w.notes, residency: w.residency,
	}
	for _, r := range w.reps {
		res.heldEU += r.heldEU
		if r.id == euWest || r.heldEU > 0 {
			res.holdingEU++
		}
	}
	if w.converged {
		res.convergence = w.convergedAt - w.sc.outageEnd
	}
	if cs, ok := w.sys.(*crdtSys); ok {
		sum := cs.summary()
		res.merge = &sum
	}
	var lat []time.Duration
	var latBy [nRegions][]time.Duration
	byItem := make([][]*write, nItems)
	for i := range w.writes {
		wr := &w.writes[i]
		if wr.accepted {
			byItem[wr.item] = append(byItem[wr.item], wr)
		}
		if !wr.acked {
			res.noteRejected(w.sc, wr)
			continue
		}
		res.acked++
		res.noteResumed(w.sc, wr)
		lat = append(lat, wr.ackAt-wr.issued)
		latBy[wr.op.loc] = append(latBy[wr.op.loc], wr.ackAt-wr.issued)
	}
	res.p50, res.p99 = quantile(lat, 50), quantile(lat, 99)
	for i := range latBy {
		res.p50By[i] = quantile(latBy[i], 50)
	}
	w.judgeAll(&res, byItem)
	return res
}

// judgeAll counts the lost, conflicting and against-causality writes of
// each item, by the state the replicas converged to.
func (w *world) judgeAll(res *result, byItem [][]*write) {
	for item, ws := range byItem {
		final := w.reps[usWest]
		if w.pinned(int32(item)) {
			final = w.reps[euWest] // the only region that keeps it
		}
		j := w.judge(final, int32(item), ws)
		for _, wr := range ws {
			if !wr.acked {
				continue
			}
			if !j.inEffect(wr) {
				res.lost++
				if j.against(wr) {
					res.againstCausality++
				}
				res.noteLost(w.sc, wr)
			}
			if j.resolves && wr.conflict {
				res.conflicting++
			}
		}
	}
}

// noteRejected counts a rejected write, by when and where its user was.
func (res *result) noteRejected(sc scenario, wr *write) {
	res.rejected++
	loc := int(wr.op.loc)
	switch at := wr.op.at; {
	case at >= sc.partStart && at < sc.partEnd:
		res.rejectedInPartition[loc]++
	case at >= sc.outageStart && at < sc.outageEnd:
		res.rejectedInOutage[loc]++
	}
}

// noteResumed keeps the earliest acknowledgement of a write by a us-east
// user during the outage.
func (res *result) noteResumed(sc scenario, wr *write) {
	if at := wr.op.at; wr.op.loc == usEast && at >= sc.outageStart && at < sc.outageEnd {
		if r := wr.ackAt - sc.outageStart; res.resume == 0 || r < res.resume {
			res.resume = r
		}
	}
}

// noteLost records when a lost write was acknowledged, against the
// outage's start.
func (res *result) noteLost(sc scenario, wr *write) {
	if d := sc.outageStart - wr.ackAt; d > res.lostBefore {
		res.lostBefore = d
	}
	if d := wr.ackAt - sc.outageStart; d > -10*time.Second && d < 10*time.Second {
		if res.lostNearOutage == 0 || d < res.lostFrom {
			res.lostFrom = d
		}
		if res.lostNearOutage == 0 || d > res.lostTo {
			res.lostTo = d
		}
		res.lostNearOutage++
	}
}

// outranked reports whether a write that happened before wr outranks
// it by last-writer-wins: wr can never win over a write it had seen.
func outranked(wr *write, ws []*write) bool {
	for _, x := range ws {
		if x.ranked && x != wr && x.before(wr) && x.outranks(wr) {
			return true
		}
	}
	return false
}

// A judgement tells which writes to one item the final state reflects.
type judgement struct {
	// inEffect reports whether the final state reflects wr: shows it, or
	// shows a write made by someone who had seen it.
	inEffect func(wr *write) bool
	// against reports whether a write not in effect lost to a write it
	// had seen: resolved against causality. Under last-writer-wins, that
	// is a write that happened before it and carries a later timestamp.
	against func(wr *write) bool
	// resolves tells whether concurrent writes to the item are conflicts
	// the design resolves (false for a CRDT counter, whose concurrent
	// increments simply add up).
	resolves bool
}

func (w *world) judge(r *replica, item int32, ws []*write) judgement {
	if r.crdt != nil {
		return w.judgeCRDT(r, item, ws)
	}
	c := r.cells[item]
	var f *write
	if c.wid >= 0 {
		f = &w.writes[c.wid]
	}
	j := judgement{resolves: true}
	// A design that orders every write of an item in one place resolves
	// no conflict, so none against causality: a write it loses is rolled
	// back with the log it was in, not ranked below another.
	j.against = func(*write) bool { return false }
	if w.design.rule == lastWriter {
		j.against = func(wr *write) bool { return outranked(wr, ws) }
	}
	if kindOf(item) == likeItem {
		counted := map[int32]bool{}
		for p := c.prov; p != nil; p = p.next {
			counted[p.wid] = true
		}
		j.inEffect = func(wr *write) bool { return counted[wr.id] }
		return j
	}
	j.inEffect = func(wr *write) bool { return f != nil && (f == wr || wr.before(f)) }
	return j
}

// judgeCRDT judges the CRDT design's state by the semantics of its types.
func (w *world) judgeCRDT(r *replica, item int32, ws []*write) judgement {
	s := r.crdt
	switch kindOf(item) {
	case profileItem:
		var sibs []*write
		for _, id := range s.siblings(item) {
			sibs = append(sibs, &w.writes[id])
		}
		return judgement{
			resolves: true,
			inEffect: func(wr *write) bool {
				for _, f := range sibs {
					if f == wr || wr.before(f) {
						return true
					}
				}
				return false
			},
			against: func(wr *write) bool {
				for _, f := range sibs {
					if f.before(wr) {
						return true
					}
				}
				return false
			},
		}
	case likeItem:
		return judgement{
			inEffect: func(wr *write) bool {
				return wr.mark.likeNo <= s.likesBy(item, wr.mark.dot.Replica)
			},
			against: func(*write) bool { return false },
		}
	}
	// A cart line is add-wins: it must be present if and only if some add
	// was seen by no remove. The writes contradicted by the final state
	// are lost: the unseen adds of a line missing, the removes of a line
	// present though every add was removed.
	unseen := map[*write]bool{}
	for _, a := range ws {
		if a.kind != opCartAdd {
			continue
		}
		seen := false
		for _, x := range ws {
			if x.kind == opCartRemove && a.before(x) {
				seen = true
				break
			}
		}
		if !seen {
			unseen[a] = true
		}
	}
	present := s.present(item)
	return judgement{
		resolves: true,
		inEffect: func(wr *write) bool {
			if present {
				return len(unseen) > 0 || wr.kind == opCartAdd
			}
			return !unseen[wr]
		},
		against: func(*write) bool { return false },
	}
}

// quantile returns the q-th percentile of ds, which it sorts; 0 if ds
// is empty.
func quantile(ds []time.Duration, q int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)*q/100]
}
