package main

import (
	"fmt"
	"log"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/vclock"
	"github.com/hashicorp/memberlist"
)

// maxBroadcast is the largest message queued for broadcast. A broadcast
// rides in a UDP packet of memberlist's UDPBufferSize (1400 bytes) with
// its own messages; a larger delta would never fit and would sit in the
// queue forever, so it is not queued at all and reaches the other nodes
// with the next push/pull of the full state.
const maxBroadcast = 1024

// A node is one member of the cluster: a memberlist member holding a
// replica of the cart and of the likes. It is safe for concurrent use:
// memberlist calls its Delegate methods from its own goroutines, so one
// mutex guards the CRDTs, which are not safe for concurrent use. It must
// not be copied.
type node struct {
	cluster string           // memberlist's Label: packets of other clusters are dropped
	id      vclock.ReplicaID // the writer's id in the CRDTs, kept across restarts
	name    string           // the memberlist name: id@incarnation, new for each start
	log     *log.Logger      // where refused messages are reported

	ml      atomic.Pointer[memberlist.Memberlist] // set once Create returns
	queue   memberlist.TransmitLimitedQueue       // deltas waiting to be gossiped
	refused atomic.Int64                          // messages dropped as malformed or inconsistent

	mu    sync.Mutex
	cart  crdt.ORSet[string]
	likes crdt.PNCounter
}

var _ memberlist.Delegate = (*node)(nil)

// newNode returns a node of cluster with empty state, not yet on the
// network. incarnation tells this start of replica id from earlier ones:
// memberlist refuses a known name at a new address until it has declared
// the old one dead, so a restarted node takes a new name.
func newNode(cluster string, id vclock.ReplicaID, incarnation int, logger *log.Logger) *node {
	n := &node{cluster: cluster, id: id, name: fmt.Sprintf("%s@%d", id, incarnation), log: logger}
	// A delta is sent RetransmitMult·⌈log10(members+1)⌉ times in all, one
	// send per member that a gossip round picks (GossipNodes of them, at
	// random), and receivers do not pass it on. DefaultLocalConfig's
	// multiplier, 2, lets a delta reach 2 members at most, one of them
	// perhaps dead and not yet known to be; 4 covers small clusters, and
	// push/pull repairs the rest.
	n.queue.RetransmitMult = 4
	n.queue.NumNodes = func() int {
		if ml := n.ml.Load(); ml != nil {
			return ml.NumMembers()
		}
		return 1
	}
	return n
}

// config returns the memberlist configuration of n on 127.0.0.1, with
// logger for memberlist's own logs. The intervals are DefaultLocalConfig's,
// shortened (a push/pull every 200 ms instead of 15 s) so that a test
// converges in a fraction of a second; on a real network keep the
// defaults.
func (n *node) config(logger *log.Logger) *memberlist.Config {
	c := memberlist.DefaultLocalConfig()
	c.Name = n.name
	// A member's port, once it dies, may go to a node of another cluster
	// while the living still probe and push/pull to it; without a label
	// the two clusters would merge, members and states alike.
	c.Label = n.cluster
	c.BindAddr = "127.0.0.1"
	c.BindPort = 0 // the kernel picks a free port; memberlist uses it for TCP and UDP
	c.GossipInterval = 20 * time.Millisecond
	c.PushPullInterval = 200 * time.Millisecond
	c.ProbeInterval = 200 * time.Millisecond
	c.ProbeTimeout = 100 * time.Millisecond
	c.Delegate = n
	c.Logger = logger
	return c
}

// start puts n on the network with configuration c, as n.config returns
// it or adjusted.
func (n *node) start(c *memberlist.Config) error {
	ml, err := memberlist.Create(c)
	if err != nil {
		return fmt.Errorf("%s: %w", n.name, err)
	}
	n.ml.Store(ml)
	return nil
}

// join joins the cluster of seeds. memberlist's join is a push/pull with
// each seed, so when join returns n has merged the full state of every
// seed it reached. It fails only if it reached none.
func (n *node) join(seeds ...*node) error {
	addrs := make([]string, len(seeds))
	for i, s := range seeds {
		addrs[i] = s.addr()
	}
	if _, err := n.ml.Load().Join(addrs); err != nil {
		return fmt.Errorf("%s joins %v: %w", n.name, addrs, err)
	}
	return nil
}

// addr returns the address n listens on, host:port.
func (n *node) addr() string { return n.ml.Load().LocalNode().Address() }

// port returns the TCP and UDP port n listens on.
func (n *node) port() int { return int(n.ml.Load().LocalNode().Port) }

// members returns the number of members n believes alive or suspects,
// itself included.
func (n *node) members() int { return n.ml.Load().NumMembers() }

// kill stops n as a crash would: without leaving the cluster, which
// learns of it by failed probes. memberlist's Shutdown returns once n's
// listeners are closed, so n's port is free again.
func (n *node) kill() error { return n.ml.Load().Shutdown() }

// addToCart adds item as n and gossips the delta.
func (n *node) addToCart(item string) {
	n.write(func() values { return values{cart: n.cart.Add(n.id, item)} })
}

// removeFromCart removes item, as far as n has seen it added, and gossips
// the delta.
func (n *node) removeFromCart(item string) {
	n.write(func() values { return values{cart: n.cart.Remove(item)} })
}

// like adds k likes as n and gossips the delta.
func (n *node) like(k uint64) {
	n.write(func() values { return values{likes: n.likes.Inc(n.id, k)} })
}

// unlike takes k likes away as n and gossips the delta.
func (n *node) unlike(k uint64) {
	n.write(func() values { return values{likes: n.likes.Dec(n.id, k)} })
}

// write runs a mutator under the lock and queues the delta it returns
// for broadcast.
func (n *node) write(mutate func() values) {
	n.mu.Lock()
	msg, err := encodeMessage(mutate())
	n.mu.Unlock()
	if err != nil {
		n.log.Printf("%s: encoding a delta: %v", n.name, err) // the push/pull will carry it
		return
	}
	if len(msg) <= maxBroadcast {
		n.queue.QueueBroadcast(broadcast(msg))
	}
}

// receive decodes a message, checks it against n's state and merges it:
// all of it or, if any value is malformed or inconsistent, none of it.
func (n *node) receive(b []byte, via string) {
	v, err := decodeMessage(b)
	if err == nil {
		err = n.apply(v)
	}
	if err != nil {
		n.refused.Add(1)
		n.log.Printf("%s: refused a message (%s): %v", n.name, via, err)
	}
}

// apply validates every value of v against n's state, then merges them.
// ValidateMerge refuses a value no correct replica could have sent — one
// event (dot) carrying another element than here — which a merge would
// otherwise spread to every node for good.
func (n *node) apply(v values) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if v.cart != nil {
		if err := n.cart.ValidateMerge(v.cart); err != nil {
			return err
		}
	}
	if v.likes != nil {
		if err := n.likes.ValidateMerge(v.likes); err != nil {
			return err
		}
	}
	if v.cart != nil {
		n.cart.Merge(v.cart)
	}
	if v.likes != nil {
		n.likes.Merge(v.likes)
	}
	return nil
}

// snapshot returns copies of n's values.
func (n *node) snapshot() (*crdt.ORSet[string], *crdt.PNCounter) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cart.Clone(), n.likes.Clone()
}

// String formats n's values as cart={...} likes=N.
func (n *node) String() string {
	cart, likes := n.snapshot()
	return fmt.Sprintf("cart=%v likes=%d", cart, likes.Value())
}

// sameAs reports whether n and o hold Equal values. It holds one lock at
// a time, so that two calls in opposite directions cannot deadlock.
func (n *node) sameAs(o *node) bool {
	cart, likes := o.snapshot()
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cart.Equal(cart) && n.likes.Equal(likes)
}

// converged reports whether every node holds the same values.
func converged(nodes []*node) bool {
	for _, o := range nodes[1:] {
		if !nodes[0].sameAs(o) {
			return false
		}
	}
	return true
}

// waitFor polls cond until it holds, and fails after timeout.
func waitFor(timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("gossip: no %s after %v", what, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// The memberlist.Delegate methods.

// NodeMeta returns no metadata: the state travels in LocalState.
func (n *node) NodeMeta(limit int) []byte { return nil }

// NotifyMsg merges a delta gossiped by another node. memberlist calls it
// from its UDP receive loop, so it must not block: it takes the lock for
// one validation and merge, of a delta's size.
func (n *node) NotifyMsg(b []byte) { n.receive(b, "broadcast") }

// GetBroadcasts returns the deltas to piggyback on memberlist's next
// gossip or probe packet.
func (n *node) GetBroadcasts(overhead, limit int) [][]byte {
	return n.queue.GetBroadcasts(overhead, limit)
}

// LocalState returns n's full state, for memberlist's push/pull: every
// PushPullInterval with a random member, and when a node joins.
func (n *node) LocalState(join bool) []byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	b, err := encodeMessage(values{cart: &n.cart, likes: &n.likes})
	if err != nil {
		n.log.Printf("%s: encoding the state: %v", n.name, err)
		return nil
	}
	return b
}

// MergeRemoteState merges the full state a push/pull brought.
func (n *node) MergeRemoteState(b []byte, join bool) { n.receive(b, "push/pull") }

// A broadcast is one encoded delta in memberlist's broadcast queue.
type broadcast []byte

var _ memberlist.UniqueBroadcast = broadcast(nil)

// Invalidates returns false: a delta never replaces an earlier one, since
// each carries a different change; it is the receiver's merge that joins
// them.
func (b broadcast) Invalidates(memberlist.Broadcast) bool { return false }

// Message returns the encoded delta.
func (b broadcast) Message() []byte { return b }

// Finished is called once the delta has been sent its number of times.
// Nothing needs to know: a node that missed it gets it by push/pull.
func (b broadcast) Finished() {}

// UniqueBroadcast marks deltas as never invalidating each other, which
// spares the queue a scan on every insert.
func (b broadcast) UniqueBroadcast() {}

// newCluster returns a new cluster label: random, so that clusters started
// at the same time on one host — tests, or runs of this program — never
// join each other.
func newCluster() string { return fmt.Sprintf("converge-gossip-%016x", rand.Uint64()) }
