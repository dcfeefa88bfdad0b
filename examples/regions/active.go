package main

import "time"

// Stream timing: the active-active and regional-primary designs send
// every write to every peer at once, and resend what a peer has not
// acknowledged after streamRTO, as a TCP connection that reconnects does.
const (
	streamTick = 100 * time.Millisecond
	streamRTO  = time.Second
)

// Messages of the streams, and of forwarding a write to the node that
// accepts it. A forwarded write carries its reply: the context the
// forwarding app server keeps for the request.
type (
	streamBatch struct {
		origin  int
		entries []*entry
	}
	streamAck struct {
		origin int
		upto   int32
	}
	fwdWrite struct {
		w     *write
		reply func(bool)
	}
	fwdReply struct {
		ok    bool
		reply func(bool)
	}
)

// streams is the node program of the designs in which a region accepts
// writes on its own and streams them to the others: active-active (every
// region accepts every write) and regional primary (a write is accepted
// only by its item's owner region, the others forward it there).
type streams struct {
	w        *world
	clock    clockKind
	regional bool
}

func newStreams(w *world, ck clockKind, regional bool) *streams {
	a := &streams{w: w, clock: ck, regional: regional}
	for n := range nRegions {
		w.s.Every(streamTick, streamTick, func() bool {
			a.tick(n)
			return true
		})
	}
	return a
}

func (a *streams) write(n int, wr *write, reply func(bool)) {
	if a.regional {
		if home := ownerOf(wr.item); home != n {
			a.w.send(n, home, fwdWrite{wr, reply})
			return
		}
	}
	a.accept(n, wr)
	reply(true)
}

// accept makes wr a write of region n and streams it to every peer.
func (a *streams) accept(n int, wr *write) {
	r := a.w.reps[n]
	e := r.originate(wr, a.clock, true)
	if a.w.pinned(wr.item) {
		e = &entry{w: wr, hidden: true} // the stream carries its place, not its data
	}
	r.own = append(r.own, e)
	now := int64(a.w.now())
	for p := range nRegions {
		if p == n {
			continue
		}
		if int(r.acked[p]) == len(r.own)-1 {
			r.progress[p] = now // the stream was idle: time the new write
		}
		a.w.send(n, p, streamBatch{n, r.own[len(r.own)-1:]})
	}
}

// tick resends to each peer what it has not acknowledged in streamRTO.
func (a *streams) tick(n int) {
	if !a.w.up(n) {
		return
	}
	r := a.w.reps[n]
	now := int64(a.w.now())
	for p := range nRegions {
		if p == n || int(r.acked[p]) >= len(r.own) || now-r.progress[p] < int64(streamRTO) {
			continue
		}
		r.progress[p] = now
		a.w.send(n, p, streamBatch{n, r.own[r.acked[p]:len(r.own):len(r.own)]})
	}
}

func (a *streams) receive(n, from int, m any) {
	switch m := m.(type) {
	case fwdWrite:
		a.accept(n, m.w)
		a.w.send(n, from, fwdReply{true, m.reply})
	case fwdReply:
		m.reply(m.ok)
	case streamBatch:
		r := a.w.reps[n]
		o := m.origin
		for _, e := range m.entries {
			if s := e.w.oseq; s > r.frontier[o]+1 {
				r.held[o][s] = e // overtook an earlier one: hold it
			} else if s == r.frontier[o]+1 {
				r.apply(e)
			}
		}
		for {
			e, ok := r.held[o][r.frontier[o]+1]
			if !ok {
				break
			}
			delete(r.held[o], e.w.oseq)
			r.apply(e)
		}
		a.w.send(n, from, streamAck{o, r.frontier[o]})
	case streamAck:
		r := a.w.reps[n]
		if m.upto > r.acked[from] {
			r.acked[from] = m.upto
			r.progress[from] = int64(a.w.now())
		}
	}
}

func (a *streams) detected(int) {}
