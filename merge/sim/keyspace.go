package sim

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// DefaultKeys is the number of keys a [KeyspaceCluster]'s operations draw
// from when [KeyspaceConfig].Keys is zero: a dataset of a million carts.
const DefaultKeys = 1_000_000

// DefaultBurst is how many messages a [KeyspaceCluster]'s sync tick takes
// from Keyspace.Sync per peer at most when [KeyspaceConfig].Burst is
// zero: at most 1024 keys a message, so 16,384 keys a tick.
const DefaultBurst = 16

// A KeyspaceConfig configures a [KeyspaceCluster]: the replication
// layer's [ClusterConfig] (its ReplicaOptions go to merge.NewKeyspace;
// SkipRecoveryDigest is not used: see RecoveryDigest) and the keyspace's
// own fields. The zero KeyspaceConfig is valid.
type KeyspaceConfig struct {
	ClusterConfig
	// RecoveryDigest makes a node back from an outage start a tree pass
	// with each peer (Keyspace.SyncDigest). It is off by default: the
	// node kept its state, its peers' catch-ups bring what it missed once
	// it answers their probes, and a tree pass over a large difference
	// costs several times the missed deltas (see merge's Keyspaces).
	RecoveryDigest bool
	// Keys is the number of keys the operations draw from, uniformly,
	// named "k0", "k1", ...; 0 means DefaultKeys. Only keys written hold
	// a state, so a run's memory follows its writes, not Keys.
	Keys int
	// Burst bounds the messages a sync tick sends a peer; 0 means
	// DefaultBurst.
	Burst int
	// Topology gives each node's peers; nil means a full mesh, no
	// forwarding.
	Topology Topology
}

// A Topology returns the peers of node id of s, each with the options it
// is added with (merge.Forward, merge.Remote). It must be symmetric: if
// a lists b, b lists a.
type Topology func(s *Sim, id NodeID) []Peer

// A Peer is a node a keyspace adds as a peer, with the options it adds it
// with.
type Peer struct {
	Node    NodeID
	Options []merge.PeerOption
}

// RegionRelays returns the region-aware partial mesh of merge's package
// documentation (Topologies): in each region, a ring with chords — each
// node a forwarding peer (merge.Forward) of the nodes 1 and stride places
// away on either side, in the region's node order — and the first node
// of each region its relay, a remote peer (merge.Remote) of every other
// region's relay. With regions of 25 nodes and stride 5, a node has 4
// peers in its region, a relay 3 more; each write crosses each region
// boundary once, and reaches every node of a region within 5 hops.
func RegionRelays(stride int) Topology {
	return func(s *Sim, id NodeID) []Peer {
		region := s.Node(id).Region
		local := s.RegionNodes(region)
		i := slices.Index(local, id)
		n := len(local)
		var out []Peer
		add := func(j NodeID, o merge.PeerOption) {
			if j != id && !slices.ContainsFunc(out, func(p Peer) bool { return p.Node == j }) {
				out = append(out, Peer{Node: j, Options: []merge.PeerOption{o}})
			}
		}
		for _, off := range []int{1, -1, stride, -stride} {
			add(local[((i+off)%n+n)%n], merge.Forward())
		}
		if i == 0 {
			for _, r := range s.Regions() {
				if r.Name != region {
					add(s.RegionNodes(r.Name)[0], merge.Remote())
				}
			}
		}
		slices.SortFunc(out, func(a, b Peer) int { return int(a.Node) - int(b.Node) })
		return out
	}
}

// A KeyspaceCluster runs a merge.Keyspace of string keys on every node of
// a [Sim], connected through the Sim's network in a full mesh or the
// [Topology] of its config, and plays a workload on them: each operation
// draws a key, uniformly among Keys, and runs as an operation of a
// [Model] of that key's state — one Model per key written, made by
// newModel (a read of a key never written reads the empty state and is
// not stale). Make one with [NewKeyspaceCluster], then call Run once.
type KeyspaceCluster[T crdt.State[T]] struct {
	driver
	newModel func() Model[T]
	models   map[string]Model[T]
	ks       []*merge.Keyspace[string, T]
	keys     int
	key      string // the key of the operation under way
	stale    bool
	deltas   uint64 // encoded size of the deltas written, their keys included
	scratch  []byte
	writeFn  func(vclock.ReplicaID, T) T
	readFn   func(T)
}

// NewKeyspaceCluster puts a keyspace of newModel's state type on every
// node of s, each with an hlc.Clock reading the node's physical clock,
// peers as cfg.Topology says: it takes over the nodes' Handlers and
// schedules their sync ticks. It fails if cfg is inconsistent or the
// topology is not symmetric.
func NewKeyspaceCluster[T crdt.State[T]](s *Sim, newModel func() Model[T], cfg KeyspaceConfig) (*KeyspaceCluster[T], error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	if cfg.Keys == 0 {
		cfg.Keys = DefaultKeys
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Keys < 0 || cfg.Burst < 0 {
		return nil, fmt.Errorf("sim: invalid KeyspaceConfig: %d keys, burst %d", cfg.Keys, cfg.Burst)
	}
	c := &KeyspaceCluster[T]{driver: newDriver(s, cfg.ClusterConfig), newModel: newModel, models: map[string]Model[T]{}, keys: cfg.Keys}
	c.burst, c.digest = cfg.Burst, cfg.RecoveryDigest
	c.peers = make([][]NodeID, len(s.nodes))
	links, err := topology(s, cfg.Topology)
	if err != nil {
		return nil, err
	}
	newState := newModel().New
	for i := range s.nodes {
		k := merge.NewKeyspace[string](c.ids[i], newState, c.options(NodeID(i))...)
		for _, p := range links[i] {
			if err := k.AddPeer(c.ids[p.Node], p.Options...); err != nil {
				return nil, err
			}
			c.peers[i] = append(c.peers[i], p.Node)
		}
		c.ks = append(c.ks, k)
		c.eps = append(c.eps, k)
	}
	c.setHooks()
	c.equal = c.equalRoots
	c.lost = c.lostAt
	c.begin()
	return c, nil
}

// setHooks sets what an operation does: draw a key, and write or read
// it through that key's Model, made on its first write; a write counts
// its delta's encoded size.
func (c *KeyspaceCluster[T]) setHooks() {
	c.writeFn = func(w vclock.ReplicaID, st T) T {
		c.op.Replica = w
		m := c.models[c.key]
		if m == nil {
			m = c.newModel()
			c.models[c.key] = m
		}
		d := m.Write(c.op, st)
		if v := reflect.ValueOf(d); v.Kind() == reflect.Pointer && v.IsNil() {
			return d
		}
		if b, err := d.AppendBinary(c.scratch[:0]); err == nil {
			c.deltas += uint64(len(c.key) + len(b))
			c.scratch = b[:0]
		}
		return d
	}
	c.readFn = func(st T) { c.stale = c.models[c.key].Read(c.op, st) }
	c.write = func(id NodeID) error {
		c.key = c.drawKey()
		return c.ks[id].Update(c.key, c.writeFn)
	}
	c.read = func(id NodeID) bool {
		c.key, c.stale = c.drawKey(), false
		if c.models[c.key] != nil {
			c.ks[id].Read(c.key, c.readFn)
		}
		return c.stale
	}
}

// topology returns each node's peers under top (a full mesh if nil), and
// fails if it is not symmetric.
func topology(s *Sim, top Topology) ([][]Peer, error) {
	links := make([][]Peer, len(s.nodes))
	for i, peers := range fullMesh(len(s.nodes)) {
		if top != nil {
			links[i] = top(s, NodeID(i))
			continue
		}
		for _, j := range peers {
			links[i] = append(links[i], Peer{Node: j})
		}
	}
	for i, peers := range links {
		for _, p := range peers {
			if int(p.Node) < 0 || int(p.Node) >= len(s.nodes) || int(p.Node) == i {
				return nil, fmt.Errorf("sim: the topology gives node %s the peer %d", s.nodes[i].Name, p.Node)
			}
			if !slices.ContainsFunc(links[p.Node], func(q Peer) bool { return int(q.Node) == i }) {
				return nil, fmt.Errorf("sim: the topology is not symmetric: %s lists %s, which does not list it", s.nodes[i].Name, s.nodes[p.Node].Name)
			}
		}
	}
	return links, nil
}

func (c *KeyspaceCluster[T]) drawKey() string { return "k" + strconv.Itoa(c.rng.IntN(c.keys)) }

// equalRoots reports whether every keyspace has the same root hash: the
// same keys with the same states, but for a chance of about 2^-64.
func (c *KeyspaceCluster[T]) equalRoots() bool {
	first := c.ks[0].Root()
	for _, k := range c.ks[1:] {
		if k.Root() != first {
			return false
		}
	}
	return true
}

// lostAt returns the writes keyspace i misses, summed over the keys.
func (c *KeyspaceCluster[T]) lostAt(i int) int {
	lost := 0
	for key, m := range c.models {
		c.ks[i].Read(key, func(st T) { lost += m.Lost(st) })
	}
	return lost
}

// Keyspace returns node id's keyspace, for probes between events.
func (c *KeyspaceCluster[T]) Keyspace(id NodeID) *merge.Keyspace[string, T] { return c.ks[id] }

// Sim returns the Sim the KeyspaceCluster runs on.
func (c *KeyspaceCluster[T]) Sim() *Sim { return c.sim }

// Run plays the workload, then a quiescent phase until the keyspaces
// converge — every root hash equal — and returns the report, as
// [Cluster.Run] does. The report's DeltaBytes is the encoded size of the
// deltas written, keys included, and its FullStates counts the
// keyspaces' catch-ups and tree passes.
func (c *KeyspaceCluster[T]) Run() Report {
	rep := c.run()
	rep.DeltaBytes = c.deltas
	return rep
}
