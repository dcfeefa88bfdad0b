package merge_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

type set = crdt.ORSet[string]

// A ksCluster is a set of keyspaces of sets keyed by strings, peers of
// each other in a full mesh or a topology the test gives, with virtual
// clocks and a network the test controls packet by packet. It counts the
// bytes delivered.
type ksCluster struct {
	t     tb
	now   int64
	ids   []vclock.ReplicaID
	ks    []*merge.Keyspace[string, *set]
	peers [][]int // the peers of each keyspace, ascending
	queue []packet
	bytes int // bytes of the packets delivered
	seeds uint64
}

func newKSCluster(t tb, n int, opts ...merge.Option) *ksCluster {
	return newKSTopology(t, n, func(i, j int) (bool, []merge.PeerOption) { return true, nil }, opts...)
}

// newKSTopology makes n keyspaces; link(i, j) says whether keyspace i
// adds j as a peer, and with which options. The IDs are those of the
// regions for n ≤ 5, and ks0, ks1, ... beyond.
func newKSTopology(t tb, n int, link func(i, j int) (bool, []merge.PeerOption), opts ...merge.Option) *ksCluster {
	c := &ksCluster{t: t, now: epoch, peers: make([][]int, n)}
	for i := range n {
		id := vclock.ReplicaID(fmt.Sprintf("ks%d", i))
		if n <= len(regionIDs) {
			id = regionIDs[i]
		}
		c.ids = append(c.ids, id)
	}
	for i := 0; i < n; i++ {
		clock := hlc.New(hlc.WithPhysicalClock(func() int64 { return c.now }))
		c.seeds++
		all := append([]merge.Option{merge.WithClock(clock), merge.WithRandom(seeded(c.seeds + 100))}, opts...)
		c.ks = append(c.ks, merge.NewKeyspace[string](c.ids[i], newSet, all...))
	}
	for i, k := range c.ks {
		for j, id := range c.ids {
			ok, popts := link(i, j)
			if i == j || !ok {
				continue
			}
			if err := k.AddPeer(id, popts...); err != nil {
				t.Fatal(err)
			}
			c.peers[i] = append(c.peers[i], j)
		}
	}
	return c
}

func (c *ksCluster) advance(d time.Duration) { c.now += int64(d) }

func (c *ksCluster) update(i int, key string, f func(vclock.ReplicaID, *set) *set) {
	c.t.Helper()
	if err := c.ks[i].Update(key, f); err != nil {
		c.t.Fatal(err)
	}
}

// sync queues every message keyspace i has for j.
func (c *ksCluster) sync(i, j int) {
	c.t.Helper()
	for n := 0; ; n++ {
		msg, err := c.ks[i].Sync(c.ids[j])
		if err != nil {
			c.t.Fatalf("%s.Sync(%s): %v", c.ids[i], c.ids[j], err)
		}
		if msg == nil {
			return
		}
		if n > 10000 {
			c.t.Fatalf("%s.Sync(%s) never returns nil", c.ids[i], c.ids[j])
		}
		c.queue = append(c.queue, packet{i, j, msg})
	}
}

func (c *ksCluster) syncAll() {
	for i := range c.ks {
		for _, j := range c.peers[i] {
			c.sync(i, j)
		}
	}
}

func (c *ksCluster) take(k int) packet {
	p := c.queue[k]
	c.queue = append(c.queue[:k], c.queue[k+1:]...)
	return p
}

func (c *ksCluster) deliver(p packet) {
	c.t.Helper()
	c.bytes += len(p.data)
	reply, err := c.ks[p.to].Receive(p.data)
	if err != nil {
		c.t.Fatalf("%s.Receive(%v): %v", c.ids[p.to], p, err)
	}
	if reply != nil {
		c.queue = append(c.queue, packet{p.to, p.from, reply})
	}
}

func (c *ksCluster) deliverAll() {
	c.t.Helper()
	for n := 0; len(c.queue) > 0; n++ {
		if n > 1000000 {
			c.t.Fatalf("messages never stop: %v", c.queue[:5])
		}
		c.deliver(c.take(0))
	}
}

// settle runs rounds of sync-everyone-and-deliver-everything, letting the
// retransmission timeout pass between rounds, until a round sends
// nothing, and returns the rounds run. Within a round, keyspaces sync
// again until nothing is due, as a transport calling Sync every few
// milliseconds would: acknowledgements go at the next Sync.
func (c *ksCluster) settle() int {
	c.t.Helper()
	for round := 0; round < 20; round++ {
		c.advance(2 * merge.DefaultRetransmitTimeout)
		c.syncAll()
		if len(c.queue) == 0 {
			return round
		}
		for n := 0; len(c.queue) > 0; n++ {
			if n > 1000 {
				c.t.Fatalf("round %d: messages never stop", round)
			}
			c.deliverAll()
			c.syncAll()
		}
	}
	c.t.Fatalf("no quiescence after 20 rounds")
	return 0
}

// snapshot returns the encoding of every key's state of keyspace i.
func (c *ksCluster) snapshot(i int) map[string][]byte {
	out := map[string][]byte{}
	for k, s := range c.ks[i].All() {
		out[k] = encode(c.t, s)
	}
	return out
}

// diff describes how keyspace i differs from keyspace 0, or returns "".
func (c *ksCluster) diff(i int) string {
	want, got := c.snapshot(0), c.snapshot(i)
	for k, w := range want {
		if g, ok := got[k]; !ok {
			return fmt.Sprintf("key %q: %s lacks it", k, c.ids[i])
		} else if !bytes.Equal(g, w) {
			return fmt.Sprintf("key %q: got %x, want %x", k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			return fmt.Sprintf("key %q: %s has it, %s not", k, c.ids[i], c.ids[0])
		}
	}
	if c.ks[i].Root() != c.ks[0].Root() {
		return fmt.Sprintf("same keys and states, roots %x and %x", c.ks[i].Root(), c.ks[0].Root())
	}
	return ""
}

func (c *ksCluster) requireConverged() {
	c.t.Helper()
	for i := range c.ks[1:] {
		if d := c.diff(i + 1); d != "" {
			c.t.Fatalf("%s differs from %s: %s", c.ids[i+1], c.ids[0], d)
		}
	}
}
