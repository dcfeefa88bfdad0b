package merge_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

func TestKeyspaceDeltas(t *testing.T) {
	c := newKSCluster(t, 3)
	for i := range 300 {
		c.update(i%3, fmt.Sprintf("cart-%d", i%50), add(fmt.Sprintf("item-%d", i)))
	}
	c.update(1, "cart-7", remove("item-7"))
	c.settle()
	c.requireConverged()
	if got := c.ks[2].Len(); got != 50 {
		t.Errorf("Len: got %d, want 50", got)
	}
	var has bool
	c.ks[0].Read("cart-7", func(s *set) { has = s.Contains("item-7") })
	if has {
		t.Error("cart-7 still holds item-7 after its removal")
	}
	for i, k := range c.ks {
		s := k.Stats()
		if s.CatchUps != 0 || s.TreePasses != 0 || s.Rejected != 0 {
			t.Errorf("%s: got %+v, want no catch-up, tree pass or refusal: the buffer held every delta", c.ids[i], s)
		}
		if s.Buffered != 0 {
			t.Errorf("%s: %d deltas still buffered once every peer acknowledged them", c.ids[i], s.Buffered)
		}
	}
}

// TestKeyspaceBatches checks that a message carries the deltas of many
// keys, and that more keys than a message holds take several.
func TestKeyspaceBatches(t *testing.T) {
	c := newKSCluster(t, 2, merge.WithMaxDeltas(10000), merge.WithMaxBufferBytes(8<<20))
	for i := range 3000 {
		c.update(0, fmt.Sprintf("k%d", i), add("x"))
	}
	c.sync(0, 1)
	deltas := 0
	for _, p := range c.queue {
		if p.data[2] == 40 { // the kind of a keyspace's deltas
			deltas++
		}
	}
	if deltas != 3 {
		t.Errorf("3000 keys took %d messages of deltas, want 3 (1024 keys each)", deltas)
	}
	c.deliverAll()
	c.settle()
	c.requireConverged()
}

// TestKeyspaceCatchUp is the partition test: eu-west misses more of
// us-east's updates than us-east's buffer holds, and catches up with the
// states of the keys written since its acknowledgement — bytes
// proportional to the difference, not to the keyspace.
func TestKeyspaceCatchUp(t *testing.T) {
	const keys, missed = 10000, 1000
	c := newKSCluster(t, 2, merge.WithMaxDeltas(100))
	for i := range keys {
		c.update(0, fmt.Sprintf("cart-%d", i), add("item-0"))
		if i%50 == 49 { // connected: the buffer never overflows
			c.sync(0, 1)
			c.deliverAll()
			c.sync(1, 0) // the acknowledgement
			c.deliverAll()
		}
	}
	c.settle()
	c.requireConverged()
	if s := c.ks[0].Stats(); s.CatchUps != 0 {
		t.Fatalf("catch-ups while connected: %d", s.CatchUps)
	}

	// The partition: eu-west hears nothing while us-east writes ten times
	// what its buffer holds.
	var deltaBytes int
	for i := range missed {
		key := fmt.Sprintf("cart-%d", (i*7919)%keys)
		c.update(0, key, func(w vclock.ReplicaID, s *set) *set {
			d := s.Add(w, fmt.Sprintf("item-%d", i+1))
			deltaBytes += len(key) + 1 + len(encode(t, d))
			return d
		})
	}
	if l := c.ks[0].Lag()[0]; !l.NeedsFullState {
		t.Fatalf("eu-west does not need a catch-up: %+v", l)
	}
	c.bytes = 0
	c.settle()
	c.requireConverged()
	if s := c.ks[0].Stats(); s.CatchUps != 1 {
		t.Errorf("catch-ups: got %d, want 1", s.CatchUps)
	}
	if c.bytes > 2*deltaBytes {
		t.Errorf("catch-up moved %d bytes, want at most 2× the %d bytes of the missed deltas", c.bytes, deltaBytes)
	}
	t.Logf("catch-up of %d missed updates over %d keys: %d bytes, %.2f× the deltas' %d", missed, keys, c.bytes, float64(c.bytes)/float64(deltaBytes), deltaBytes)
}

// writeCarts has keyspace i add item-0 to carts from to from+n−1.
func (c *ksCluster) writeCarts(i, from, n int) {
	c.t.Helper()
	for k := from; k < from+n; k++ {
		c.update(i, fmt.Sprintf("cart-%d", k), add("item-0"))
	}
}

// TestKeyspaceCatchUpAnswersTwice: the answer to a catch-up's states is
// lost; eu-west's next Sync answers again, and us-east does not send the
// states a second time.
func TestKeyspaceCatchUpAnswersTwice(t *testing.T) {
	c := newKSCluster(t, 2, merge.WithMaxDeltas(10))
	c.writeCarts(0, 0, 100)
	c.sync(0, 1)
	for len(c.queue) > 0 {
		p := c.take(0)
		if p.from == 0 {
			c.deliver(p)
		} // eu-west's answers are lost
	}
	c.advance(200 * time.Millisecond) // a tick: eu-west's next Sync
	c.sync(1, 0)
	c.deliverAll()
	c.settle()
	c.requireConverged()
	if s := c.ks[0].Stats(); s.CatchUps != 1 || s.StatesSent != 100 {
		t.Errorf("%+v, want 1 catch-up of 100 states", s)
	}
}

// TestKeyspaceCatchUpOutrun: eu-west has the first states of a catch-up
// when us-east writes past its buffer again, before the catch-up closes.
// The next catch-up sends only the keys written since: each state once;
// had the first states been lost, it sends them too.
func TestKeyspaceCatchUpOutrun(t *testing.T) {
	c := newKSCluster(t, 2, merge.WithMaxDeltas(10))
	c.writeCarts(0, 0, 100)
	c.sync(0, 1) // the catch-up's states
	c.deliverAll()
	if s := c.ks[0].Stats(); s.CatchUps != 1 || s.StatesSent != 100 {
		t.Fatalf("first catch-up: %+v, want 1 catch-up of 100 states", s)
	}
	c.writeCarts(0, 100, 20)
	c.settle()
	c.requireConverged()
	if s := c.ks[0].Stats(); s.CatchUps != 2 || s.StatesSent != 120 {
		t.Errorf("after the second catch-up: %+v, want 2 catch-ups of 120 states in all", s)
	}

	// The states lost, unanswered: the next catch-up sends them again.
	c = newKSCluster(t, 2, merge.WithMaxDeltas(10))
	c.writeCarts(0, 0, 100)
	c.sync(0, 1)
	c.queue = nil
	c.writeCarts(0, 100, 20)
	c.settle()
	c.requireConverged()
	if s := c.ks[0].Stats(); s.CatchUps != 2 || s.StatesSent != 220 {
		t.Errorf("after the states were lost: %+v, want 2 catch-ups of 220 states in all", s)
	}
}

func TestKeyspaceTreeAgrees(t *testing.T) {
	c := newKSCluster(t, 2)
	for i := range 2000 {
		c.update(i%2, fmt.Sprintf("k%d", i), add("x"))
	}
	c.settle()
	c.requireConverged()
	c.bytes = 0
	msg, err := c.ks[0].SyncDigest(c.ids[1])
	if err != nil || msg == nil {
		t.Fatalf("SyncDigest: %v, %v", msg, err)
	}
	c.queue = append(c.queue, packet{0, 1, msg})
	c.deliverAll()
	c.syncAll()
	c.deliverAll()
	if c.bytes > 300 {
		t.Errorf("equal keyspaces moved %d bytes to agree, want at most 300", c.bytes)
	}
	if l := c.ks[0].Lag()[0]; l.Agreed == 0 {
		t.Errorf("Agreed not set after an equal tree pass: %+v", l)
	}
	t.Logf("equality check: %d bytes", c.bytes)
}

// TestKeyspaceTreeRepairs checks that a tree pass finds and repairs what
// no delta will bring: keys written into one keyspace behind the
// protocol's back.
func TestKeyspaceTreeRepairs(t *testing.T) {
	c := newKSCluster(t, 2)
	for i := range 5000 {
		c.update(0, fmt.Sprintf("k%d", i), add("x"))
	}
	c.settle()
	// A third keyspace writes into eu-west only (a relay the mesh lacks).
	other := newKSCluster(t, 3)
	for i := range 20 {
		other.update(2, fmt.Sprintf("k%d", i*97), add("y"))
	}
	if err := c.ks[1].AddPeer("ap-south"); err != nil {
		t.Fatal(err)
	}
	other.sync(2, 1)
	for _, p := range other.queue {
		if p.to == 1 {
			if _, err := c.ks[1].Receive(p.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if c.ks[0].Root() == c.ks[1].Root() {
		t.Fatal("the roots agree before the repair")
	}
	c.bytes = 0
	msg, err := c.ks[0].SyncDigest(c.ids[1])
	if err != nil {
		t.Fatal(err)
	}
	c.queue = append(c.queue, packet{0, 1, msg})
	c.deliverAll()
	for range 10 {
		c.syncAll()
		c.deliverAll()
	}
	c.requireConverged()
	t.Logf("tree repair of 20 keys among 5000: %d bytes", c.bytes)
}

func TestKeyspaceIntegerKeys(t *testing.T) {
	type id int16
	a := merge.NewKeyspace[id]("a", newCounter)
	b := merge.NewKeyspace[id]("b", newCounter)
	a.AddPeer("b")
	b.AddPeer("a")
	for _, k := range []id{-32768, -1, 0, 1, 127, 128, 32767} {
		a.Update(k, func(w vclock.ReplicaID, s *crdt.PNCounter) *crdt.PNCounter { return s.Inc(w, uint64(k)+40000) })
	}
	for range 4 {
		for _, pair := range [][2]*merge.Keyspace[id, *crdt.PNCounter]{{a, b}, {b, a}} {
			for {
				msg, err := pair[0].Sync(pair[1].ID())
				if err != nil {
					t.Fatal(err)
				}
				if msg == nil {
					break
				}
				if _, err := pair[1].Receive(msg); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if a.Root() != b.Root() || b.Len() != 7 {
		t.Fatalf("roots %x, %x; %d keys, want 7", a.Root(), b.Root(), b.Len())
	}
	var keys []id
	for k := range b.All() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []id{-32768, -1, 0, 1, 127, 128, 32767}) {
		t.Errorf("keys: got %v", keys)
	}
}

func TestKeyspaceRefusesStrangers(t *testing.T) {
	a := merge.NewKeyspace[string]("a", newSet)
	b := merge.NewKeyspace[string]("b", newSet)
	a.AddPeer("b")
	a.Update("k", add("x"))
	msg, _ := a.Sync("b")
	_, err := b.Receive(msg)
	if !errors.Is(err, merge.ErrUnknownPeer) {
		t.Fatalf("got %v, want ErrUnknownPeer", err)
	}
	if b.Len() != 0 {
		t.Errorf("a refused message changed the keyspace")
	}
}

// TestKeyspaceReceiveFrom checks that a message the transport says came
// from one peer, naming another as its sender, is refused whole, and
// that the same message from its sender is taken.
func TestKeyspaceReceiveFrom(t *testing.T) {
	a := merge.NewKeyspace[string]("a", newSet)
	b := merge.NewKeyspace[string]("b", newSet)
	a.AddPeer("b")
	b.AddPeer("a")
	b.AddPeer("c")
	a.Update("k", add("x"))
	msg, _ := a.Sync("b")
	if _, err := b.ReceiveFrom("c", msg); !errors.Is(err, merge.ErrMisaddressed) {
		t.Fatalf("a message of a through c: got %v, want ErrMisaddressed", err)
	}
	if b.Len() != 0 || b.Stats().Rejected != 1 {
		t.Fatalf("after the refusal: %d keys, %d rejected, want 0 and 1", b.Len(), b.Stats().Rejected)
	}
	if _, err := b.ReceiveFrom("", msg); err == nil {
		t.Error("ReceiveFrom with an empty sender: no error")
	}
	if _, err := b.ReceiveFrom("a", msg); err != nil {
		t.Fatalf("the message from a: %v", err)
	}
	var has bool
	b.Read("k", func(s *set) { has = s.Contains("x") })
	if !has {
		t.Error("the message from a was not merged")
	}
}
