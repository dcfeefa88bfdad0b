// Command gossip replicates a shopping cart (a crdt.ORSet) and a like
// counter (a crdt.PNCounter) between three nodes that form a cluster with
// github.com/hashicorp/memberlist on 127.0.0.1. Every node writes; then one
// node is killed, the others write on, and the killed node restarts with
// an empty state, joins again and catches up.
//
//	go run ./examples/gossip
//
// prints
//
//	3 nodes gossip on 127.0.0.1: n1 n2 n3
//	n1 adds socks, likes 10; n2 adds scarf, likes 20, unlikes 5; n3 adds hat, likes 30
//	converged: cart={hat scarf socks} likes=55
//	n3 killed; while it is down n1 removes hat and adds gloves, n2 unlikes 3
//	n3 restarted empty: cart={} likes=0; it joins n1 and n2
//	n1 cart={scarf socks gloves} likes=52
//	n2 cart={scarf socks gloves} likes=52
//	n3 cart={scarf socks gloves} likes=52
//	n3 caught up; all 3 nodes equal: true; messages refused: 0
//	converged in 20 ms
//
// Only the last line varies from run to run: the time from the restart to
// the moment every node holds the same state. The restarted node does not
// bring back the hat it added before the crash: it starts empty, and what
// it gets from the others already says the hat was removed.
//
// The tests (go test ./examples/gossip) run a cluster of four, with a
// remove and a concurrent re-add while a node is down; run each way of
// travel below alone; keep two clusters apart; and feed nodes malformed
// and forged messages.
//
// # How the values travel
//
// Deltas by broadcast. Every write returns a delta, as crdt's mutators
// do. The node encodes it and queues it in a
// memberlist.TransmitLimitedQueue; memberlist piggybacks queued messages
// on its gossip and probe packets (UDP), and the receivers merge them in
// NotifyMsg. A delta is sent a few times in all, to random members, and
// receivers do not pass it on, so a broadcast may miss a node — lost, down,
// or not yet joined. Deltas of more than 1 KiB are not broadcast at all.
//
// Full state by push/pull. Every PushPullInterval each node connects (TCP)
// to a random member and the two exchange their Delegate.LocalState, which
// each merges in MergeRemoteState; a joining node does the same with each
// node it joins, before Join returns. This repairs whatever the broadcasts
// missed: merging is idempotent, commutative and associative, so a delta
// that arrives twice, late, or after a state that holds it does no harm.
// A restarted node, empty, gets everything in its join.
//
// # Wire format
//
// Both carry the same message: a version byte (1), then for each value,
// in tag order, a tag byte (1 cart, 2 likes), a uvarint length and the
// value's canonical encoding as MarshalBinary writes it
// (docs/wire-format.md) — a delta in a broadcast, the full state in a
// push/pull, which merge alike. A node decodes what it receives within
// bounds, checks it with ValidateMerge, and merges all of it or nothing; a
// refused message is logged, counted and dropped, never a panic.
//
// # Cluster label
//
// Every run, and every test, gives its cluster a random memberlist Label,
// which memberlist puts on every packet and stream and checks on receipt.
// Without it, clusters on one host can meet — a dead member's port may be
// taken by a node of another cluster, which the living still probe and
// push/pull with — and merge, states included. A label is no
// authentication: across a real network, also set memberlist's SecretKey,
// which encrypts and authenticates the traffic.
//
// # Why not merge.Replica
//
// merge.Replica is anti-entropy of its own — numbered deltas, per-peer
// acknowledgements, retransmission, a full-state fallback, digests — over
// messages addressed to one peer, each of which may get a reply.
// memberlist already does what that machinery is for: dissemination by
// gossip and repair by push/pull, with messages to no one in particular.
// Running a Replica inside them would repair twice, and its per-peer
// acknowledgements would have no channel to travel on; so this example
// merges plain deltas and states, which is all the CRDTs need. The price
// is the push/pull: it sends the full state, so its bytes grow with the
// state, not with the changes. The alternative is to use memberlist for
// membership alone — EventDelegate's NotifyJoin and NotifyLeave calling
// AddPeer and RemovePeer — and to carry Replica.Sync's messages with
// SendReliable on a timer of your own; choose it when states are large,
// or to get per-peer lag figures (Replica.Lag).
//
// # Restarts
//
// A restarted node is a new memberlist member — it takes the name id@2,
// because memberlist refuses a known name at another address until it has
// declared the old one dead — but writes as the same crdt ReplicaID. It
// must not write before it has caught up: its writes would reuse the event
// ids (dots) of its writes before the crash, and the other nodes would
// refuse them (crdt.ErrInconsistent). When Join returns the node has
// merged the state of every node it joined; that suffices if one of them
// had every write of the crashed node. Where that is not sure, wait for a
// push/pull with every member, or give each incarnation a ReplicaID of its
// own, at the cost of one more entry in every causal context and counter,
// for good.
package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/converge-go/converge/vclock"
)

// timeout bounds every wait: for membership, and for convergence.
const timeout = 10 * time.Second

// quiet discards memberlist's logs, which report every failed contact
// with the killed node.
var quiet = log.New(io.Discard, "", 0)

func main() {
	if err := run(os.Stdout, log.New(os.Stderr, "gossip: ", 0)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run plays the scenario of the package documentation, printing to out,
// and reports refused messages to logger. It shuts every node down before
// it returns, releasing their ports.
func run(out io.Writer, logger *log.Logger) error {
	cluster := newCluster()
	var started []*node
	defer func() {
		for _, n := range started {
			n.kill() // a second Shutdown of a killed node does nothing
		}
	}()
	start := func(id vclock.ReplicaID, incarnation int) (*node, error) {
		n := newNode(cluster, id, incarnation, logger)
		if err := n.start(n.config(quiet)); err != nil {
			return nil, err
		}
		started = append(started, n)
		return n, nil
	}

	var nodes []*node
	for _, id := range []vclock.ReplicaID{"n1", "n2", "n3"} {
		n, err := start(id, 1)
		if err != nil {
			return err
		}
		if len(nodes) > 0 {
			if err := n.join(nodes[0]); err != nil {
				return err
			}
		}
		nodes = append(nodes, n)
	}
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	if err := waitFor(timeout, "full membership", func() bool {
		return n1.members() == 3 && n2.members() == 3 && n3.members() == 3
	}); err != nil {
		return err
	}
	fmt.Fprintln(out, "3 nodes gossip on 127.0.0.1: n1 n2 n3")

	n1.addToCart("socks")
	n1.like(10)
	n2.addToCart("scarf")
	n2.like(20)
	n2.unlike(5)
	n3.addToCart("hat")
	n3.like(30)
	fmt.Fprintln(out, "n1 adds socks, likes 10; n2 adds scarf, likes 20, unlikes 5; n3 adds hat, likes 30")
	if err := waitFor(timeout, "convergence", func() bool { return converged(nodes) }); err != nil {
		return err
	}
	fmt.Fprintf(out, "converged: %v\n", n1)

	if err := n3.kill(); err != nil {
		return err
	}
	n1.removeFromCart("hat")
	n1.addToCart("gloves")
	n2.unlike(3)
	fmt.Fprintln(out, "n3 killed; while it is down n1 removes hat and adds gloves, n2 unlikes 3")

	begin := time.Now()
	n3, err := start("n3", 2)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "n3 restarted empty: %v; it joins n1 and n2\n", n3)
	if err := n3.join(n1, n2); err != nil {
		return err
	}
	nodes[2] = n3
	if err := waitFor(timeout, "convergence after the restart", func() bool { return converged(nodes) }); err != nil {
		return err
	}
	took := time.Since(begin)

	var refused int64
	for _, n := range started {
		refused += n.refused.Load()
	}
	for _, n := range nodes {
		fmt.Fprintf(out, "%s %v\n", n.id, n)
	}
	fmt.Fprintf(out, "n3 caught up; all %d nodes equal: %v; messages refused: %d\n", len(nodes), converged(nodes), refused)
	fmt.Fprintf(out, "converged in %d ms\n", took.Milliseconds())
	return nil
}
