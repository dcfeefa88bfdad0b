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
	driver
	model   Model[T]
	reps    []*merge.Replica[T]
	writeFn func(vclock.ReplicaID, T) T
	readFn  func(T)
	stale   bool
}

// NewCluster puts a replica of model's state type on every node of s, each
// with an hlc.Clock reading the node's physical clock, and each a peer of
// every other: it takes over the nodes' Handlers and schedules their sync
// ticks. It fails if cfg is inconsistent.
func NewCluster[T crdt.State[T]](s *Sim, model Model[T], cfg ClusterConfig) (*Cluster[T], error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	c := &Cluster[T]{driver: newDriver(s, cfg), model: model}
	c.peers = fullMesh(len(s.nodes))
	for i := range s.nodes {
		r := merge.New(c.ids[i], model.New, c.options(NodeID(i))...)
		for _, j := range c.peers[i] {
			if err := r.AddPeer(c.ids[j]); err != nil {
				return nil, err
			}
		}
		c.reps = append(c.reps, r)
		c.eps = append(c.eps, r)
	}
	c.writeFn = func(w vclock.ReplicaID, st T) T {
		c.op.Replica = w
		return c.model.Write(c.op, st)
	}
	c.readFn = func(st T) { c.stale = c.model.Read(c.op, st) }
	c.write = func(id NodeID) error { return c.reps[id].Update(c.writeFn) }
	c.read = func(id NodeID) bool {
		c.reps[id].Read(c.readFn)
		return c.stale
	}
	c.equal = c.equalStates
	c.lost = func(i int) (lost int) {
		c.reps[i].Read(func(st T) { lost = c.model.Lost(st) })
		return lost
	}
	c.begin()
	return c, nil
}

// fill sets the defaults of the fields cfg leaves zero, and checks it.
func (cfg *ClusterConfig) fill() error {
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
	if cfg.Ops < 0 || cfg.Duration < 0 || cfg.ReadFraction > 1 || cfg.SyncEvery < 0 ||
		cfg.StaleAfter < 0 || cfg.ConvergeWithin < 0 || cfg.CheckEvery < 0 {
		return fmt.Errorf("sim: invalid ClusterConfig %+v", *cfg)
	}
	return nil
}

// Replica returns node id's replica, for probes between events; calling
// it changes the run only through its clock readings (Lag reads the
// clock).
func (c *Cluster[T]) Replica(id NodeID) *merge.Replica[T] { return c.reps[id] }

// Sim returns the Sim the Cluster runs on.
func (c *Cluster[T]) Sim() *Sim { return c.sim }

// Run plays the workload, then runs a quiescent phase until the replicas
// converge, and returns the report. The workload's operations start at
// Now and are spread evenly over cfg.Duration; each runs at a node drawn
// at random among those up (none up: it is rejected), as a read with
// probability ReadFraction, else as a write. The quiescent phase starts
// at the later of the last operation and the end of the last fault the
// Sim has scheduled; from then on, every CheckEvery, Run compares the
// replicas' digests, and stops at the first check that finds them all
// equal, or after ConvergeWithin. Run may be called once.
func (c *Cluster[T]) Run() Report { return c.run() }

// equalStates reports whether every replica holds the same state.
func (c *Cluster[T]) equalStates() bool {
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
