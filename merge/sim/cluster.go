package sim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// Defaults of a [ClusterConfig] field left zero.
const (
	DefaultOps            = 10000
	DefaultOpInterval     = time.Millisecond // Duration = Ops × DefaultOpInterval
	DefaultReadFraction   = 0.25
	DefaultSyncEvery      = 50 * time.Millisecond
	DefaultStaleAfter     = 500 * time.Millisecond
	DefaultConvergeWithin = 2 * time.Minute
	DefaultCheckEvery     = 10 * time.Millisecond
)

// A ClusterConfig configures the replication layer: the workload, the
// protocol's timing and the measurements. The zero ClusterConfig is valid;
// each field says its default.
type ClusterConfig struct {
	// Ops is the number of operations, reads and writes, to run; 0 means
	// DefaultOps.
	Ops int
	// Duration is the virtual time over which the operations are spread
	// evenly, from the time Run is called; 0 means Ops ×
	// DefaultOpInterval (1,000 operations a second).
	Duration time.Duration
	// ReadFraction is the share of operations that are reads; 0 means
	// DefaultReadFraction, a negative value no reads.
	ReadFraction float64

	// SyncEvery is the period of each node's sync tick, which sends each
	// peer what Replica.Sync returns for it; 0 means DefaultSyncEvery.
	// Each node ticks at its own phase, drawn at random.
	SyncEvery time.Duration
	// SkipRecoveryDigest turns off what a node does when it comes back
	// from an outage: send each peer a digest (Replica.SyncDigest), so
	// that a peer whose state differs answers with its full state at
	// once instead of after its retransmission timeout, which backs off
	// to 8 times its value (8 s by default) while a peer is silent.
	SkipRecoveryDigest bool
	// ReplicaOptions are passed to merge.New after merge.WithClock;
	// ClockOptions to the hlc.New of each node's clock, after
	// hlc.WithPhysicalClock.
	ReplicaOptions []merge.Option
	ClockOptions   []hlc.Option

	// StaleAfter is the staleness bound of reads: a read is stale if its
	// node's state does not yet reflect a write accepted at another node
	// more than StaleAfter earlier. 0 means DefaultStaleAfter.
	StaleAfter time.Duration
	// ConvergeWithin bounds the quiescent phase (see Cluster.Run); 0
	// means DefaultConvergeWithin.
	ConvergeWithin time.Duration
	// CheckEvery is the period of the convergence check during the
	// quiescent phase, and so the resolution of the convergence time; 0
	// means DefaultCheckEvery.
	CheckEvery time.Duration
}

// An Op is one operation of the workload, as a [Model] sees it.
type Op struct {
	Node    NodeID
	Replica vclock.ReplicaID // for a write, the writer ID to write as (merge.Replica.Writer)
	At      time.Duration    // virtual time
	// Horizon is, for a read, At − StaleAfter: the read is stale if the
	// state does not reflect a write accepted at or before Horizon.
	Horizon time.Duration
	// Rand is the workload's random source: draw from it, and from
	// nothing else, for the run to be reproducible.
	Rand *rand.Rand
}

// A Model drives a state type through a [Cluster]: it makes the states,
// draws the writes, and judges reads and the final state against the
// writes it made. Its methods are called on the simulation's goroutine,
// one at a time; Write and Read run inside Replica.Update and
// Replica.Read, under the replica's lock, so they must not call the
// Replica. A Model keeps the history of one run: use a new one for each
// Cluster.
type Model[T crdt.State[T]] interface {
	// New returns a new, empty state.
	New() T
	// Write draws a write, applies it to state as node op.Replica and
	// returns the delta, as a crdt mutator does. The write counts as
	// accepted at op.At.
	Write(op Op, state T) (delta T)
	// Read draws a read of state, the state of node op.Node, and reports
	// whether it is stale: whether state fails to reflect a write
	// accepted at or before op.Horizon.
	Read(op Op, state T) (stale bool)
	// Lost returns the number of accepted writes whose effect is missing
	// from state, a state all replicas converged to.
	Lost(state T) int
}

// A Summarizer is a Model that can summarize a state cheaply: states
// with different summaries must differ. The convergence check compares
// summaries before it compares digests, which cost an encoding of each
// state that changed.
type Summarizer[T any] interface {
	Summary(state T) uint64
}

// A Cluster runs a merge.Replica on every node of a [Sim], connected in a
// full mesh through the Sim's network, and plays a workload on them.
// Make one with [NewCluster], then call Run once.
type Cluster[T crdt.State[T]] struct {
	sim   *Sim
	model Model[T]
	cfg   ClusterConfig
	ids   []vclock.ReplicaID
	reps  []*merge.Replica[T]
	rng   *rand.Rand

	// Workload.
	start   time.Duration
	next    int // operations run
	op      Op
	opFn    func()
	writeFn func(vclock.ReplicaID, T) T
	readFn  func(T)
	stale   bool
	up      []NodeID

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

// NewCluster puts a replica of model's state type on every node of s, each
// with an hlc.Clock reading the node's physical clock, and each a peer of
// every other: it takes over the nodes' Handlers and schedules their sync
// ticks. It fails if cfg is inconsistent.
func NewCluster[T crdt.State[T]](s *Sim, model Model[T], cfg ClusterConfig) (*Cluster[T], error) {
	cfg.fill()
	if cfg.Ops < 0 || cfg.Duration < 0 || cfg.ReadFraction > 1 || cfg.SyncEvery < 0 ||
		cfg.StaleAfter < 0 || cfg.ConvergeWithin < 0 || cfg.CheckEvery < 0 {
		return nil, fmt.Errorf("sim: invalid ClusterConfig %+v", cfg)
	}
	c := &Cluster[T]{sim: s, model: model, cfg: cfg, rng: s.Rand("workload")}
	for _, n := range s.nodes {
		c.ids = append(c.ids, vclock.ReplicaID(n.Name))
		c.nodes = append(c.nodes, NodeReport{Node: n.Name, Region: n.Region})
	}
	for i := range s.nodes {
		clock := hlc.New(append([]hlc.Option{hlc.WithPhysicalClock(s.PhysicalClock(NodeID(i)))}, cfg.ClockOptions...)...)
		opts := append([]merge.Option{merge.WithClock(clock), merge.WithRandom(s.Entropy("incarnation " + string(c.ids[i])))}, cfg.ReplicaOptions...)
		r := merge.New(c.ids[i], model.New, opts...)
		for j, id := range c.ids {
			if j != i {
				if err := r.AddPeer(id); err != nil {
					return nil, err
				}
			}
		}
		c.reps = append(c.reps, r)
	}
	ticks := s.Rand("ticks")
	for i := range s.nodes {
		id := NodeID(i)
		s.Handle(id, HandlerFunc(func(from NodeID, msg []byte) { c.receive(id, from, msg) }))
		s.Every(s.now+time.Duration(ticks.Int64N(int64(cfg.SyncEvery)+1)), cfg.SyncEvery, func() bool {
			c.tick(id)
			return true
		})
	}
	if !cfg.SkipRecoveryDigest {
		s.OnStatus(func(id NodeID, up bool) {
			if up {
				c.recover(id)
			}
		})
	}
	c.opFn = c.runOp
	c.writeFn = func(w vclock.ReplicaID, st T) T {
		c.op.Replica = w
		return c.model.Write(c.op, st)
	}
	c.readFn = func(st T) { c.stale = c.model.Read(c.op, st) }
	return c, nil
}

// fill sets the defaults of the fields cfg leaves zero.
func (cfg *ClusterConfig) fill() {
	if cfg.Ops == 0 {
		cfg.Ops = DefaultOps
	}
	if cfg.Duration == 0 {
		cfg.Duration = time.Duration(cfg.Ops) * DefaultOpInterval
	}
	if cfg.ReadFraction == 0 {
		cfg.ReadFraction = DefaultReadFraction
	}
	if cfg.SyncEvery == 0 {
		cfg.SyncEvery = DefaultSyncEvery
	}
	if cfg.StaleAfter == 0 {
		cfg.StaleAfter = DefaultStaleAfter
	}
	if cfg.ConvergeWithin == 0 {
		cfg.ConvergeWithin = DefaultConvergeWithin
	}
	if cfg.CheckEvery == 0 {
		cfg.CheckEvery = DefaultCheckEvery
	}
}

// Replica returns node id's replica, for probes between events; calling
// it changes the run only through its clock readings (Lag reads the
// clock).
func (c *Cluster[T]) Replica(id NodeID) *merge.Replica[T] { return c.reps[id] }

// Sim returns the Sim the Cluster runs on.
func (c *Cluster[T]) Sim() *Sim { return c.sim }

func (c *Cluster[T]) fail(err error) {
	c.errs++
	if c.firstErr == nil {
		c.firstErr = err
	}
}

// tick is node id's sync tick: one delta-group (or full state) per peer
// that needs one.
func (c *Cluster[T]) tick(id NodeID) {
	if !c.sim.Up(id) {
		return
	}
	r := c.reps[id]
	for j, peer := range c.ids {
		if NodeID(j) == id {
			continue
		}
		msg, err := r.Sync(peer)
		if err != nil {
			c.fail(err)
			continue
		}
		if msg != nil {
			c.sim.Send(id, NodeID(j), msg)
		}
	}
	n := &c.nodes[id]
	for _, l := range r.Lag() {
		n.MaxUnacked = max(n.MaxUnacked, l.Unacked)
		n.MaxOldestUnacked = max(n.MaxOldestUnacked, l.OldestUnacked)
	}
}

func (c *Cluster[T]) receive(id, from NodeID, msg []byte) {
	reply, err := c.reps[id].Receive(msg)
	if err != nil {
		c.refused++
		if c.firstErr == nil {
			c.firstErr = err
		}
	}
	if reply != nil {
		c.sim.Send(id, from, reply)
	}
}

// recover sends every peer a digest, for a node back from an outage.
func (c *Cluster[T]) recover(id NodeID) {
	for j, peer := range c.ids {
		if NodeID(j) == id {
			continue
		}
		msg, err := c.reps[id].SyncDigest(peer)
		if err != nil {
			c.fail(err)
			continue
		}
		c.sim.Send(id, NodeID(j), msg)
	}
}

// opAt returns the virtual time of operation k.
func (c *Cluster[T]) opAt(k int) time.Duration {
	return c.start + time.Duration(int64(k)*int64(c.cfg.Duration)/int64(c.cfg.Ops))
}

// runOp runs the next operation at a random node that is up, and
// schedules the one after.
func (c *Cluster[T]) runOp() {
	s := c.sim
	c.up = c.up[:0]
	for i := range s.nodes {
		if s.Up(NodeID(i)) {
			c.up = append(c.up, NodeID(i))
		}
	}
	if len(c.up) == 0 {
		c.rejected++
	} else {
		id := c.up[c.rng.IntN(len(c.up))]
		c.op = Op{Node: id, Replica: c.ids[id], At: s.now, Horizon: s.now - c.cfg.StaleAfter, Rand: c.rng}
		n := &c.nodes[id]
		if c.rng.Float64() < c.cfg.ReadFraction {
			c.reps[id].Read(c.readFn)
			n.Reads++
			if c.stale {
				n.StaleReads++
			}
		} else {
			if err := c.reps[id].Update(c.writeFn); err != nil {
				c.fail(err)
			}
			n.Writes++
			c.lastWrite = s.now
		}
	}
	c.next++
	if c.next < c.cfg.Ops {
		s.Schedule(c.opAt(c.next), c.opFn)
	}
}

// Run plays the workload, then runs a quiescent phase until the replicas
// converge, and returns the report. The workload's operations start at
// Now and are spread evenly over cfg.Duration; each runs at a node drawn
// at random among those up (none up: it is rejected), as a read with
// probability ReadFraction, else as a write. The quiescent phase starts
// at the later of the last operation and the end of the last fault the
// Sim has scheduled; from then on, every CheckEvery, Run compares the
// replicas' digests, and stops at the first check that finds them all
// equal, or after ConvergeWithin. Run may be called once.
func (c *Cluster[T]) Run() Report {
	if c.ran {
		panic("sim: Cluster.Run called twice")
	}
	c.ran = true
	s := c.sim
	c.start = s.now
	quiet := s.LastHeal()
	if c.cfg.Ops > 0 {
		s.Schedule(c.start, c.opFn)
		quiet = max(quiet, c.opAt(c.cfg.Ops-1))
	}
	quiet = max(quiet, s.now)
	s.Every(quiet, c.cfg.CheckEvery, func() bool {
		if c.equal() {
			c.converged, c.convergedAt = true, s.now
			s.Stop()
			return false
		}
		return true
	})
	s.Run(quiet + c.cfg.ConvergeWithin)
	return c.report(quiet)
}

// equal reports whether every replica holds the same state.
func (c *Cluster[T]) equal() bool {
	if m, ok := any(c.model).(Summarizer[T]); ok {
		var first uint64
		for i, r := range c.reps {
			var v uint64
			r.Read(func(st T) { v = m.Summary(st) })
			if i == 0 {
				first = v
			} else if v != first {
				return false
			}
		}
	}
	first, err := c.reps[0].Digest()
	if err != nil {
		c.fail(err)
		return false
	}
	for _, r := range c.reps[1:] {
		d, err := r.Digest()
		if err != nil {
			c.fail(err)
			return false
		}
		if d != first {
			return false
		}
	}
	return true
}

func (c *Cluster[T]) report(quiet time.Duration) Report {
	s := c.sim
	rep := Report{
		Seed:       s.seed,
		Regions:    len(s.regions),
		Ops:        c.next,
		Rejected:   c.rejected,
		StaleAfter: c.cfg.StaleAfter,
		LastWrite:  c.lastWrite,
		LastHeal:   s.lastHeal,
		Quiet:      quiet,
		Converged:  c.converged,
		End:        s.now,
		Refused:    c.refused,
		Errors:     c.errs,
		Links:      s.Traffic(),
		Total:      s.TotalTraffic(),
	}
	if c.firstErr != nil {
		rep.FirstError = c.firstErr.Error()
	}
	if c.converged {
		rep.ConvergedAt = c.convergedAt
		rep.ConvergenceTime = c.convergedAt - quiet
	}
	for i, r := range c.reps {
		n := &c.nodes[i]
		n.MessagesSent, n.BytesSent, n.FullStatesSent = 0, 0, 0
		for _, l := range r.Lag() {
			n.MessagesSent += l.MessagesSent
			n.BytesSent += l.BytesSent
			n.FullStatesSent += l.FullStatesSent
		}
		rep.Writes += n.Writes
		rep.Reads += n.Reads
		rep.StaleReads += n.StaleReads
		rep.FullStates += n.FullStatesSent
		// Lost writes: once converged every replica gives the same
		// count, so one is checked; otherwise the worst is reported.
		if i == 0 || !c.converged {
			var lost int
			r.Read(func(st T) { lost = c.model.Lost(st) })
			rep.LostWrites = max(rep.LostWrites, lost)
		}
	}
	rep.Nodes = append([]NodeReport(nil), c.nodes...)
	return rep
}
