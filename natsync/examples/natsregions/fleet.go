package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/converge-go/converge/boltstore"
	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/merge/sim"
	"github.com/converge-go/converge/natsync"
	"github.com/converge-go/converge/natsync/internal/natstest"
	"github.com/converge-go/converge/vclock"
	"github.com/nats-io/nats.go"
)

var regions = []string{sim.USEast, sim.USWest, sim.EUWest, sim.APSouth}

// The region that goes down, and the two regions whose gateway is cut.
const (
	downRegion = 3 // ap-south
	cutA, cutB = 0, 2
)

// The data sets every node holds, each a keyspace of its own: set i is
// the NATS set name sets[i].
const (
	carts = iota
	likes
	profiles
	nSets
)

var sets = [nSets]string{"carts", "likes", "profiles"}

// Keys per set: the writes pick one at random.
var keysPerSet = [nSets]int{300, 100, 50}

func setNames() string { return strings.Join(sets[:], ", ") }

type (
	cartKS    = merge.Keyspace[string, *crdt.ORSet[string]]
	likeKS    = merge.Keyspace[string, *crdt.GCounter]
	profileKS = merge.Keyspace[string, *crdt.LWWRegister[string]]
)

// A keyspace is what the program reads of a keyspace of any set.
type keyspace interface {
	natsync.Node
	Root() uint64
	Len() int
	Close() error
}

// A node is one app process of a region: three durable keyspaces, each
// on a bbolt file of its own, a NATS connection and a Transport per
// keyspace while the region is up.
type node struct {
	id     vclock.ReplicaID
	region int
	dir    string // the node's files
	peers  []vclock.ReplicaID
	rng    *rand.Rand // the writer's draws

	mu       sync.Mutex // guards what follows
	carts    *cartKS
	likes    *likeKS
	profiles *profileKS
	nc       *nats.Conn
	ts       [nSets]*natsync.Transport // nil while the region is down
	writes   [nSets]int
}

// open opens n's keyspaces from their files, as a node process does
// when it starts, and adds every other node as a peer.
func (n *node) open() error {
	var err error
	n.carts, err = openKS[string](n, carts, func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) })
	if err == nil {
		n.likes, err = openKS[string](n, likes, func() *crdt.GCounter { return new(crdt.GCounter) })
	}
	if err == nil {
		n.profiles, err = openKS[string](n, profiles, func() *crdt.LWWRegister[string] { return new(crdt.LWWRegister[string]) })
	}
	return err
}

// openKS opens keyspace set of node n on its bbolt file.
func openKS[K merge.Key, T crdt.State[T]](n *node, set int, newState func() T) (*merge.Keyspace[K, T], error) {
	store, err := boltstore.Open(filepath.Join(n.dir, sets[set]+".db"))
	if err != nil {
		return nil, err
	}
	ks, err := merge.OpenKeyspace[K](n.id, newState, store)
	if err != nil {
		store.Close()
		return nil, err
	}
	for _, p := range n.peers {
		if err := ks.AddPeer(p); err != nil {
			ks.Close()
			return nil, err
		}
	}
	return ks, nil
}

// close closes n's keyspaces and their files, as a node process that
// stops does.
func (n *node) close() {
	for _, ks := range n.keyspaces() {
		if ks != nil {
			ks.Close()
		}
	}
}

// keyspaces returns n's keyspaces, nil while n is stopped (n.mu held or
// n's region up).
func (n *node) keyspaces() [nSets]keyspace {
	if n.carts == nil {
		return [nSets]keyspace{}
	}
	return [nSets]keyspace{n.carts, n.likes, n.profiles}
}

// A fleet is the WAN and every node.
type fleet struct {
	cfg   config
	wan   *natstest.WAN
	dir   string // the nodes' files
	nodes []*node
	start time.Time

	stopW chan struct{}
	wg    sync.WaitGroup // the writers
}

// oneWay is the latency the WAN's proxies add between two regions: half
// of the middle of merge/sim's round-trip range.
func oneWay(from, to string) time.Duration {
	rtt := sim.DefaultLatency()[sim.LinkBetween(from, to)]
	return (rtt.Min + rtt.Max) / 4
}

func startFleet(cfg config) (*fleet, error) {
	dir, err := os.MkdirTemp("", "natsregions")
	if err != nil {
		return nil, err
	}
	wan, err := natstest.StartWAN(regions, oneWay)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	f := &fleet{cfg: cfg, wan: wan, dir: dir, stopW: make(chan struct{})}
	var ids []vclock.ReplicaID
	for r, name := range regions {
		for i := range cfg.nodes {
			id := vclock.ReplicaID(fmt.Sprintf("%s-%d", name, i+1))
			ids = append(ids, id)
			f.nodes = append(f.nodes, &node{
				id: id, region: r, dir: filepath.Join(dir, string(id)),
				rng: rand.New(rand.NewPCG(cfg.seed, uint64(len(ids)))),
			})
		}
	}
	for _, n := range f.nodes {
		for _, p := range ids {
			if p != n.id {
				n.peers = append(n.peers, p)
			}
		}
		if err := os.Mkdir(n.dir, 0o755); err != nil {
			f.stop()
			return nil, err
		}
		if err := f.start1(n); err != nil {
			f.stop()
			return nil, err
		}
	}
	f.start = time.Now()
	return f, nil
}

// start1 starts node n: its keyspaces from their files, then its
// Transports.
func (f *fleet) start1(n *node) error {
	n.mu.Lock()
	err := n.open()
	n.mu.Unlock()
	if err != nil {
		return err
	}
	return f.connect(n)
}

// connect connects n to its region's server and starts its Transports.
func (f *fleet) connect(n *node) error {
	nc, err := natstest.Connect(f.wan.Servers[n.region].ClientURL())
	if err != nil {
		return err
	}
	var ts [nSets]*natsync.Transport
	for i, ks := range n.keyspaces() {
		if ts[i], err = natsync.New(nc, sets[i], ks); err != nil {
			for _, t := range ts[:i] {
				t.Close()
			}
			nc.Close()
			return err
		}
	}
	n.mu.Lock()
	n.nc, n.ts = nc, ts
	n.mu.Unlock()
	return nil
}

// stopNode stops n as its process would stop: its Transports and
// connection closed, then its keyspaces and their files.
func (n *node) stopNode() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, t := range n.ts {
		if t != nil {
			t.Close()
			n.ts[i] = nil
		}
	}
	if n.nc != nil {
		n.nc.Close()
		n.nc = nil
	}
	n.close()
	n.carts, n.likes, n.profiles = nil, nil, nil
}

// down stops region r: its nodes stop, its server shuts down.
func (f *fleet) down(r int) {
	for _, n := range f.nodes {
		if n.region == r {
			n.stopNode()
		}
	}
	f.wan.Servers[r].Shutdown()
	f.wan.Servers[r].WaitForShutdown()
}

// up starts region r again: its server on its ports, then — once every
// gateway to and from it is up again — its nodes, each from its files,
// as a new incarnation whose peers compare trees with it. Nodes started
// before the gateways would greet peers that cannot hear them yet: the
// greeting and the first retransmissions would be lost, the peers' timeouts
// back off (up to 8 s), and what the phase shows would be the servers'
// reconnect delay, which a loaded machine makes longer, rather than the
// catch-up.
func (f *fleet) up(r int) error {
	if err := f.wan.Restart(r); err != nil {
		return err
	}
	if err := f.wan.WaitGateways(10 * time.Second); err != nil {
		return err
	}
	for _, n := range f.nodes {
		if n.region == r {
			if err := f.start1(n); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *fleet) stop() {
	f.stopWriting()
	for _, n := range f.nodes {
		n.stopNode()
	}
	f.wan.Shutdown()
	os.RemoveAll(f.dir)
}

// startWriting starts every node's writer.
func (f *fleet) startWriting() {
	for _, n := range f.nodes {
		f.wg.Go(func() { f.write(n) })
	}
}

// stopWriting stops the writers and waits for them.
func (f *fleet) stopWriting() {
	select {
	case <-f.stopW:
	default:
		close(f.stopW)
	}
	f.wg.Wait()
}

// write writes to a random key of a random set of n every cfg.every,
// while n's region is up: 60% carts, 30% likes, 10% profiles.
func (f *fleet) write(n *node) {
	tick := time.NewTicker(f.cfg.every)
	defer tick.Stop()
	for seq := 0; ; seq++ {
		select {
		case <-f.stopW:
			return
		case <-tick.C:
		}
		n.mu.Lock()
		if n.ts[0] != nil {
			set := n.update(seq)
			n.writes[set]++
			n.ts[set].Notify()
		}
		n.mu.Unlock()
	}
}

// update makes n's write number seq and returns its set. An element, a
// like and a profile value name the node and the write, so that every
// write is told apart.
func (n *node) update(seq int) int {
	x := n.rng.Float64()
	v := fmt.Sprintf("%s/%d", n.id, seq)
	var err error
	var set int
	switch {
	case x < 0.6:
		set = carts
		err = n.carts.Update(key(n.rng, carts), func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, v) })
	case x < 0.9:
		set = likes
		err = n.likes.Update(key(n.rng, likes), func(w vclock.ReplicaID, c *crdt.GCounter) *crdt.GCounter { return c.Inc(w, 1) })
	default:
		set = profiles
		now := n.profiles.Clock().Now()
		err = n.profiles.Update(key(n.rng, profiles), func(w vclock.ReplicaID, r *crdt.LWWRegister[string]) *crdt.LWWRegister[string] {
			return r.Set(w, v, now)
		})
	}
	if err != nil {
		panic(err) // the program's own states always encode
	}
	return set
}

func key(rng *rand.Rand, set int) string {
	return fmt.Sprintf("%s-%d", sets[set][:len(sets[set])-1], rng.IntN(keysPerSet[set]))
}
