package sim

import (
	"math/rand/v2"
	"time"

	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// An endpoint is what a driver calls on a node's replication layer: a
// merge.Replica or a merge.Keyspace.
type endpoint interface {
	Sync(peer vclock.ReplicaID) ([]byte, error)
	SyncDigest(peer vclock.ReplicaID) ([]byte, error)
	Receive(msg []byte) ([]byte, error)
	Lag() []merge.PeerLag
}

// A driver is what a [Cluster] and a [KeyspaceCluster] share: it carries
// the messages of the endpoints on the nodes of a Sim, ticks them, plays
// the workload's operations at random nodes that are up, checks
// convergence in the quiescent phase and fills the common part of the
// report. The cluster supplies the endpoints and what an operation and
// the checks do.
type driver struct {
	sim    *Sim
	cfg    ClusterConfig
	ids    []vclock.ReplicaID
	eps    []endpoint
	peers  [][]NodeID // each node's peers, in ascending order
	burst  int        // messages a tick takes from Sync per peer, at most
	digest bool       // a node back from an outage sends each peer a digest
	rng    *rand.Rand

	// What the cluster does: an operation at node id (op is set), the
	// convergence check, and the lost writes that endpoint i shows.
	write func(id NodeID) error
	read  func(id NodeID) (stale bool)
	equal func() bool
	lost  func(i int) int

	// Workload.
	start time.Duration
	next  int // operations run
	op    Op
	opFn  func()
	up    []NodeID

	// Measurements.
	nodes       []NodeReport
	rejected    int
	refused     uint64
	errs        uint64
	firstErr    error
	lastWrite   time.Duration
	convergedAt time.Duration
	converged   bool
	ran         bool
}

// newDriver names the nodes of s and fills the defaults of cfg; the
// caller then sets the endpoints, the peers and the hooks, and calls
// begin.
func newDriver(s *Sim, cfg ClusterConfig) driver {
	d := driver{sim: s, cfg: cfg, burst: 1, digest: !cfg.SkipRecoveryDigest, rng: s.Rand("workload")}
	for _, n := range s.nodes {
		d.ids = append(d.ids, vclock.ReplicaID(n.Name))
		d.nodes = append(d.nodes, NodeReport{Node: n.Name, Region: n.Region})
	}
	return d
}

// options returns the options of node id's replica or keyspace: a clock
// reading the node's physical clock, incarnations drawn from the Sim's
// entropy, and cfg's.
func (d *driver) options(id NodeID) []merge.Option {
	clock := hlc.New(append([]hlc.Option{hlc.WithPhysicalClock(d.sim.PhysicalClock(id))}, d.cfg.ClockOptions...)...)
	return append([]merge.Option{merge.WithClock(clock), merge.WithRandom(d.sim.Entropy("incarnation " + string(d.ids[id])))}, d.cfg.ReplicaOptions...)
}

// fullMesh returns, for each node, every other node.
func fullMesh(n int) [][]NodeID {
	peers := make([][]NodeID, n)
	for i := range peers {
		for j := range n {
			if j != i {
				peers[i] = append(peers[i], NodeID(j))
			}
		}
	}
	return peers
}

// begin takes over the nodes' handlers and schedules their sync ticks.
func (d *driver) begin() {
	s := d.sim
	ticks := s.Rand("ticks")
	for i := range s.nodes {
		id := NodeID(i)
		s.Handle(id, HandlerFunc(func(from NodeID, msg []byte) { d.receive(id, from, msg) }))
		s.Every(s.now+time.Duration(ticks.Int64N(int64(d.cfg.SyncEvery)+1)), d.cfg.SyncEvery, func() bool {
			d.tick(id)
			return true
		})
	}
	if d.digest {
		s.OnStatus(func(id NodeID, up bool) {
			if up {
				d.recover(id)
			}
		})
	}
	d.opFn = d.runOp
}

func (d *driver) fail(err error) {
	d.errs++
	if d.firstErr == nil {
		d.firstErr = err
	}
}

// tick is node id's sync tick: what Sync has for each peer, up to burst
// messages a peer.
func (d *driver) tick(id NodeID) {
	if !d.sim.Up(id) {
		return
	}
	ep := d.eps[id]
	for _, j := range d.peers[id] {
		for range d.burst {
			msg, err := ep.Sync(d.ids[j])
			if err != nil {
				d.fail(err)
				break
			}
			if msg == nil {
				break
			}
			d.sim.Send(id, j, msg)
		}
	}
	n := &d.nodes[id]
	for _, l := range ep.Lag() {
		n.MaxUnacked = max(n.MaxUnacked, l.Unacked)
		n.MaxOldestUnacked = max(n.MaxOldestUnacked, l.OldestUnacked)
	}
}

func (d *driver) receive(id, from NodeID, msg []byte) {
	reply, err := d.eps[id].Receive(msg)
	if err != nil {
		d.refused++
		if d.firstErr == nil {
			d.firstErr = err
		}
	}
	if reply != nil {
		d.sim.Send(id, from, reply)
	}
}

// recover sends every peer a digest, for a node back from an outage.
func (d *driver) recover(id NodeID) {
	for _, j := range d.peers[id] {
		msg, err := d.eps[id].SyncDigest(d.ids[j])
		if err != nil {
			d.fail(err)
			continue
		}
		if msg != nil {
			d.sim.Send(id, j, msg)
		}
	}
}

// opAt returns the virtual time of operation k.
func (d *driver) opAt(k int) time.Duration {
	return d.start + time.Duration(int64(k)*int64(d.cfg.Duration)/int64(d.cfg.Ops))
}

// runOp runs the next operation at a random node that is up, and
// schedules the one after.
func (d *driver) runOp() {
	s := d.sim
	d.up = d.up[:0]
	for i := range s.nodes {
		if s.Up(NodeID(i)) {
			d.up = append(d.up, NodeID(i))
		}
	}
	if len(d.up) == 0 {
		d.rejected++
	} else {
		id := d.up[d.rng.IntN(len(d.up))]
		d.op = Op{Node: id, Replica: d.ids[id], At: s.now, Horizon: s.now - d.cfg.StaleAfter, Rand: d.rng}
		n := &d.nodes[id]
		if d.rng.Float64() < d.cfg.ReadFraction {
			n.Reads++
			if d.read(id) {
				n.StaleReads++
			}
		} else {
			if err := d.write(id); err != nil {
				d.fail(err)
			}
			n.Writes++
			d.lastWrite = s.now
		}
	}
	d.next++
	if d.next < d.cfg.Ops {
		s.Schedule(d.opAt(d.next), d.opFn)
	}
}

// run plays the workload and the quiescent phase (see Cluster.Run) and
// returns the report.
func (d *driver) run() Report {
	if d.ran {
		panic("sim: Run called twice")
	}
	d.ran = true
	s := d.sim
	d.start = s.now
	quiet := s.LastHeal()
	if d.cfg.Ops > 0 {
		s.Schedule(d.start, d.opFn)
		quiet = max(quiet, d.opAt(d.cfg.Ops-1))
	}
	quiet = max(quiet, s.now)
	s.Every(quiet, d.cfg.CheckEvery, func() bool {
		if d.equal() {
			d.converged, d.convergedAt = true, s.now
			s.Stop()
			return false
		}
		return true
	})
	s.Run(quiet + d.cfg.ConvergeWithin)
	return d.report(quiet)
}

func (d *driver) report(quiet time.Duration) Report {
	s := d.sim
	rep := Report{
		Seed:       s.seed,
		Regions:    len(s.regions),
		Ops:        d.next,
		Rejected:   d.rejected,
		StaleAfter: d.cfg.StaleAfter,
		LastWrite:  d.lastWrite,
		LastHeal:   s.lastHeal,
		Quiet:      quiet,
		Converged:  d.converged,
		End:        s.now,
		Refused:    d.refused,
		Errors:     d.errs,
		Links:      s.Traffic(),
		Total:      s.TotalTraffic(),
	}
	if d.firstErr != nil {
		rep.FirstError = d.firstErr.Error()
	}
	if d.converged {
		rep.ConvergedAt = d.convergedAt
		rep.ConvergenceTime = d.convergedAt - quiet
	}
	for i, ep := range d.eps {
		n := &d.nodes[i]
		n.MessagesSent, n.BytesSent, n.FullStatesSent = 0, 0, 0
		for _, l := range ep.Lag() {
			n.MessagesSent += l.MessagesSent
			n.BytesSent += l.BytesSent
			n.FullStatesSent += l.FullStatesSent
		}
		rep.Writes += n.Writes
		rep.Reads += n.Reads
		rep.StaleReads += n.StaleReads
		rep.FullStates += n.FullStatesSent
		// Lost writes: once converged every endpoint gives the same
		// count, so one is checked; otherwise the worst is reported.
		if i == 0 || !d.converged {
			rep.LostWrites = max(rep.LostWrites, d.lost(i))
		}
	}
	rep.Nodes = append([]NodeReport(nil), d.nodes...)
	return rep
}
