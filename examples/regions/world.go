package main

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/converge-go/converge/merge/sim"
)

// Timing of the machinery every design shares.
const (
	clientTimeout  = 2 * time.Second  // a write not acknowledged by then is rejected
	healthEvery    = 10 * time.Second // health checks of each region
	healthMisses   = 3                // failed checks before a region is declared down
	dnsTTL         = 60 * time.Second // clients follow a DNS change after this
	staleAfter     = time.Second      // a read missing a write acknowledged this long ago is stale
	checkEvery     = 10 * time.Millisecond
	convergeWithin = 2 * time.Minute
)

// A scenario is the one set of faults every design goes through, laid
// out on the run's duration d: at the default 10 minutes, a partition
// between the US and Europe from 2:00 to 3:00 and a us-east outage from
// 5:00 to 10:00, when the workload ends.
type scenario struct {
	duration               time.Duration
	skew                   time.Duration // of eu-west's clocks
	partStart, partEnd     time.Duration
	outageStart, outageEnd time.Duration
	// ttl is how long clients keep a region's address after health
	// checks declare it down: dnsTTL for DNS failover, 0 for anycast or
	// a global load balancer, which moves traffic at once.
	ttl time.Duration
	// spikeCap, if not 0, is how many log entries one batch of the async
	// design's log shipping may carry from spikeStart to the outage: a
	// load spike on the replication link (a bulk job sharing it), which
	// makes the replicas trail by the backlog.
	spikeCap   int
	spikeStart time.Duration
}

func newScenario(d, skew time.Duration) scenario {
	return scenario{
		duration:  d,
		skew:      skew,
		partStart: d / 5, partEnd: d * 3 / 10,
		outageStart: d / 2, outageEnd: d,
		ttl:        dnsTTL,
		spikeStart: d/2 - d/10,
	}
}

// A write is one write op as the simulator tracks it: what the design did
// with it, and its place in the true causal order.
type write struct {
	op     *op
	id     int32
	item   int32
	kind   opKind
	client sim.NodeID // the client node that sent it
	entry  int        // the region the client reached

	issued, ackAt time.Duration
	done          bool // the client has its answer, or gave up
	acked         bool

	// Set when a replica accepts the write (makes it part of its state
	// or log): the origin replica, its sequence number there, and deps,
	// what the origin knew of every replica's writes at that moment —
	// the write's causal past, as a vector clock.
	accepted   bool
	acceptedAt time.Duration
	origin     int
	oseq       int32
	deps       [nRegions]int32
	// ts orders the write in last-writer-wins designs (ranked), ties
	// broken by origin.
	ranked bool
	ts     uint64
	// extra lists the writes b's origin held beyond its frontier when it
	// accepted it (the CRDT design: see replica.extra); part of deps.
	extra []int32
	mark  *mark // the CRDT design: what tells which states hold the write
	// conflict is set when a replica applies the write and another
	// write to the item, concurrent with it (see replica.meet).
	conflict bool
}

// before reports whether a happened before b: b's origin knew of a when
// it accepted b.
func (a *write) before(b *write) bool {
	return b.deps[a.origin] >= a.oseq || len(b.extra) > 0 && slices.Contains(b.extra, a.id)
}

// outranks reports whether a wins over b by last-writer-wins.
func (a *write) outranks(b *write) bool {
	return a.ts > b.ts || a.ts == b.ts && a.origin > b.origin
}

// ackRec is a write acknowledged to its client, for the stale-read check.
type ackRec struct {
	at   time.Duration
	pmax int32 // the largest oseq acknowledged from the origin so far, on the item
}

// A system is one design's node program: what the server node of each
// region does with the writes clients send it and the messages of its
// peers.
type system interface {
	// write handles w, which reached region n's servers; reply answers
	// the client (possibly later, possibly never).
	write(n int, w *write, reply func(ok bool))
	// receive handles a design message from node from to node n.
	receive(n, from int, m any)
	// detected tells the design that health checks declared region n
	// down (failover controllers act on it).
	detected(n int)
}

// A world runs one design through the scenario on its own Sim.
type world struct {
	design *design
	sc     scenario
	wl     *workload
	s      *sim.Sim
	sys    system
	reps   [nRegions]*replica
	writes []write

	msgs []any // messages in flight: the bytes on the wire index this

	// Routing: clients resolve their region's endpoint by DNS; a region
	// declared down is dropped from DNS, and clients follow after the TTL.
	dnsDown  [nRegions]bool
	misses   [nRegions]int
	detected [nRegions]time.Duration

	// Measurements.
	reads, staleReads int
	crossReads        *crossReads          // the CRDT design's read strategies, or nil
	residency         residencyReads       // reads of data kept in eu-west, from elsewhere
	acks              [][nRegions][]ackRec // per item, per origin
	converged         bool
	convergedAt       time.Duration
	notes             []string
}

func clientNode(region int) sim.NodeID { return sim.NodeID(nRegions + region) }

// newWorld builds the Sim: a server node in each region (eu-west's clock
// skewed), a client node beside each (users reach their region's servers
// over 1–2 ms), the latency table of sim.DefaultLatency between regions, the
// partition and the outage.
func newWorld(d *design, sc scenario, wl *workload, seed uint64) (*world, error) {
	var regions []sim.Region
	for i, name := range regionNames {
		r := sim.Region{Name: name, Nodes: 1}
		if i == euWest {
			r.Skew = sc.skew
		}
		regions = append(regions, r)
	}
	for _, name := range regionNames {
		regions = append(regions, sim.Region{Name: "clients@" + name, Nodes: 1})
	}
	base := sim.DefaultLatency()
	lat := map[sim.Link]sim.RTT{}
	for i, a := range regions {
		for j := i + 1; j < len(regions); j++ {
			ra, rb := regionNames[i%nRegions], regionNames[j%nRegions]
			rtt := sim.RTT{Min: time.Millisecond, Max: 2 * time.Millisecond}
			if ra != rb {
				rtt = base[sim.LinkBetween(ra, rb)]
			}
			lat[sim.Link{A: a.Name, B: regions[j].Name}] = rtt
		}
	}
	us := []string{sim.USEast, sim.USWest, "clients@" + sim.USEast, "clients@" + sim.USWest}
	eu := []string{sim.EUWest, "clients@" + sim.EUWest}
	s, err := sim.New(sim.Config{
		Seed:       seed,
		Regions:    regions,
		Latency:    lat,
		Partitions: []sim.Partition{{Start: sc.partStart, End: sc.partEnd, A: us, B: eu}},
		Outages:    []sim.Outage{{Start: sc.outageStart, End: sc.outageEnd, Region: sim.USEast}},
	})
	if err != nil {
		return nil, err
	}
	w := &world{design: d, sc: sc, wl: wl, s: s, acks: make([][nRegions][]ackRec, nItems)}
	for i := range w.detected {
		w.detected[i] = -1
	}
	w.writes = make([]write, 0, wl.writes)
	for i := range wl.ops {
		o := &wl.ops[i]
		if o.kind != opRead {
			w.writes = append(w.writes, write{op: o, id: int32(len(w.writes)), item: o.item, kind: o.kind})
		}
	}
	for i := range nRegions {
		w.reps[i] = newReplica(w, i, d.rule)
	}
	for id := range s.Nodes() {
		id := sim.NodeID(id)
		s.Handle(id, sim.HandlerFunc(func(from sim.NodeID, msg []byte) { w.receive(id, from, msg) }))
	}
	w.sys = d.build(w)
	if d.key == "crdt" {
		w.crossReads = newCrossReads()
	}
	return w, nil
}

// send sends m from node from to node to through the Sim.
func (w *world) send(from, to int, m any) {
	b := binary.LittleEndian.AppendUint32(make([]byte, 0, 4), uint32(len(w.msgs)))
	w.msgs = append(w.msgs, m)
	w.s.Send(sim.NodeID(from), sim.NodeID(to), b)
}

// ship sends replication message m, of size bytes on the wire, from
// node from to node to.
func (w *world) ship(from, to int, m any, size int) {
	w.send(from, to, m)
}

func (w *world) now() time.Duration { return w.s.Now() }
func (w *world) up(n int) bool      { return w.s.Up(sim.NodeID(n)) }

// Client ↔ server messages.
type (
	clientWrite struct{ w *write }
	clientRead  struct{ o *op }
	clientReply struct {
		w  *write
		ok bool
	}
)

func (w *world) receive(to, from sim.NodeID, b []byte) {
	m := w.msgs[binary.LittleEndian.Uint32(b)]
	switch m := m.(type) {
	case clientWrite:
		n, wr := int(to), m.w
		w.sys.write(n, wr, func(ok bool) { w.send(n, int(wr.client), clientReply{wr, ok}) })
	case clientRead:
		w.read(int(to), m.o)
	case clientReply:
		w.answer(m.w, m.ok)
	default:
		w.sys.receive(int(to), int(from), m)
	}
}

// route returns the region whose servers a client in region loc
// reaches: its own, unless DNS dropped it, then the nearest other.
func (w *world) route(loc int) int {
	if !w.dnsDown[loc] {
		return loc
	}
	for _, r := range nearest[loc] {
		if !w.dnsDown[r] {
			return r
		}
	}
	return loc
}

// nearest lists, for each region, the others by round trip.
var nearest = [nRegions][]int{
	usEast:  {usWest, euWest, apSouth},
	usWest:  {usEast, euWest, apSouth},
	euWest:  {usEast, usWest, apSouth},
	apSouth: {usWest, usEast, euWest},
}

// issue sends op k from its user's client.
func (w *world) issue(o *op, wr *write) {
	c := clientNode(int(o.loc))
	to := w.route(int(o.loc))
	if wr == nil {
		w.send(int(c), to, clientRead{o})
		return
	}
	wr.client, wr.entry, wr.issued = c, to, w.now()
	w.send(int(c), to, clientWrite{wr})
	w.s.After(clientTimeout, func() {
		if !wr.done {
			wr.done = true // rejected: the client saw no answer in time
		}
	})
}

// answer records the reply a client got.
func (w *world) answer(wr *write, ok bool) {
	if wr.done {
		return
	}
	wr.done = true
	if !ok {
		return
	}
	wr.acked, wr.ackAt = true, w.now()
	recs := &w.acks[wr.item][wr.origin]
	p := wr.oseq
	if n := len(*recs); n > 0 {
		p = max(p, (*recs)[n-1].pmax)
	}
	*recs = append(*recs, ackRec{at: wr.ackAt, pmax: p})
}

// read serves a read at region n's replica and judges it: stale if the
// replica has not applied a write to the item that some client had
// been acknowledged staleAfter earlier.
func (w *world) read(n int, o *op) {
	w.reads++
	if w.pinned(o.item) && n != euWest {
		w.readPinned(n, o)
		return
	}
	if w.stale(&w.reps[n].frontier, o.item) {
		w.staleReads++
	}
	if w.crossReads != nil {
		w.crossReads.read(w, n, o)
	}
}

// stale reports whether a replica that has applied frontier misses a
// write to item acknowledged staleAfter or more before.
func (w *world) stale(frontier *[nRegions]int32, item int32) bool {
	horizon := w.now() - staleAfter
	for origin, recs := range w.acks[item] {
		i, _ := slices.BinarySearchFunc(recs, horizon, func(a ackRec, t time.Duration) int {
			if a.at <= t {
				return -1
			}
			return 1
		})
		if i > 0 && frontier[origin] < recs[i-1].pmax {
			return true
		}
	}
	return false
}

// healthCheck is the out-of-band health checker: it probes every region
// every healthEvery, and declares one down after healthMisses failures;
// clients stop resolving it the scenario's ttl later.
func (w *world) healthCheck() bool {
	for n := range nRegions {
		if w.up(n) {
			w.misses[n] = 0
			continue
		}
		w.misses[n]++
		if w.misses[n] == healthMisses {
			w.detected[n] = w.now()
			w.s.After(w.sc.ttl, func() { w.dnsDown[n] = true })
			w.sys.detected(n)
		}
	}
	return true
}

// run plays the workload, then waits for the replicas to converge;
// progress is called with the share of the run done.
func (w *world) run(progress func(float64)) {
	s, sc := w.s, w.sc
	wi := 0
	for i := range w.wl.ops {
		o := &w.wl.ops[i]
		var wr *write
		if o.kind != opRead {
			wr = &w.writes[wi]
			wi++
		}
		s.Schedule(o.at, func() { w.issue(o, wr) })
	}
	s.Every(healthEvery, healthEvery, w.healthCheck)
	s.Every(sc.outageEnd, checkEvery, func() bool {
		if w.agree() {
			w.converged, w.convergedAt = true, s.Now()
			return false
		}
		return true
	})
	end := sc.duration + convergeWithin
	chunk := sc.duration / 50
	for t := chunk; ; t += chunk {
		s.Run(min(t, end))
		if progress != nil {
			progress(float64(min(t, sc.duration)) / float64(sc.duration))
		}
		// Stop once converged and a little of the aftermath has run.
		if t >= end || w.converged && t >= max(w.convergedAt, sc.duration)+sc.duration/20 {
			break
		}
	}
}

// agree reports whether every replica, all up, shows the same values:
// the same hash of every item's value, or, in the CRDT design, the same
// digest of every data set.
func (w *world) agree() bool {
	for n := range nRegions {
		if !w.up(n) {
			return false
		}
	}
	if cs, ok := w.sys.(*crdtSys); ok {
		return cs.agree()
	}
	for n := range nRegions {
		if w.reps[n].sum != w.reps[0].sum {
			return false
		}
	}
	return true
}

func (w *world) note(format string, args ...any) {
	w.notes = append(w.notes, fmt.Sprintf(format, args...))
}

// fmtAt formats a virtual time as m:ss.s for notes.
func fmtAt(t time.Duration) string {
	t = t.Round(100 * time.Millisecond)
	m := t / time.Minute
	s := (t - m*time.Minute).Seconds()
	return fmt.Sprintf("%d:%04.1f", m, s)
}

// nodeOf returns the server node of a region.
func nodeOf(region int) sim.NodeID { return sim.NodeID(region) }
