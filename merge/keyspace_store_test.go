package merge_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
)

// reopen replaces keyspace i by one opened on store, with the cluster's
// clock and every other keyspace as a peer: the same keyspace, restarted.
// The one it replaces, if durable, is closed first.
func (c *ksCluster) reopen(i int, store merge.Store) {
	c.t.Helper()
	if c.ks[i] != nil {
		c.ks[i].Close()
	}
	clock := hlc.New(hlc.WithPhysicalClock(func() int64 { return c.now }))
	c.seeds++
	k, err := merge.OpenKeyspace[string](c.ids[i], newSet, store, merge.WithClock(clock), merge.WithRandom(seeded(c.seeds+100)))
	if err != nil {
		c.t.Fatal(err)
	}
	for j, id := range c.ids {
		if j != i {
			if err := k.AddPeer(id); err != nil {
				c.t.Fatal(err)
			}
		}
	}
	c.ks[i] = k
	// Drop what was in flight to or from the keyspace replaced.
	q := c.queue[:0]
	for _, p := range c.queue {
		if p.from != i && p.to != i {
			q = append(q, p)
		}
	}
	c.queue = q
}

// TestOpenKeyspaceRestores writes to a durable keyspace, its own updates
// and its peer's, restarts it from the store — before and after a
// compaction — and checks that it holds every key as before, writes as a
// new writer, and converges with its peer again without a refusal.
func TestOpenKeyspaceRestores(t *testing.T) {
	c := newKSCluster(t, 2)
	store := merge.NewMemoryStore()
	c.reopen(1, store)
	for i := range 200 {
		c.update(i%2, fmt.Sprintf("cart-%d", i%40), add(fmt.Sprint("item-", i)))
	}
	c.settle()
	c.requireConverged()
	before := c.snapshot(1)
	writer := c.ks[1].Writer()

	c.reopen(1, store)
	if got := c.snapshot(1); !equalSnapshots(got, before) {
		t.Fatalf("reopened: %d keys, want the %d it had", len(got), len(before))
	}
	if c.ks[1].Writer() == writer {
		t.Fatal("the reopened keyspace writes as its earlier incarnation")
	}
	if err := c.ks[1].Compact(); err != nil {
		t.Fatal(err)
	}
	c.update(1, "cart-new", add("after"))
	c.reopen(1, store)
	if _, ok := c.snapshot(1)["cart-new"]; !ok || len(c.snapshot(1)) != len(before)+1 {
		t.Fatalf("reopened after a compaction: %d keys, want %d with cart-new", len(c.snapshot(1)), len(before)+1)
	}
	c.update(1, "cart-7", add("after-restart"))
	c.update(0, "cart-8", add("peer-after"))
	c.settle()
	c.requireConverged()
	for i, k := range c.ks {
		if s := k.Stats(); s.Rejected != 0 {
			t.Errorf("%s refused %d messages: a restart must reuse no event", c.ids[i], s.Rejected)
		}
	}
}

// TestOpenKeyspaceStoresWhatItReceives checks that Receive returns only
// once the payloads it merged are on the store: the peer's writes are
// there after a restart, with nobody to send them again.
func TestOpenKeyspaceStoresWhatItReceives(t *testing.T) {
	c := newKSCluster(t, 2)
	store := merge.NewMemoryStore()
	c.reopen(1, store)
	for i := range 30 {
		c.update(0, fmt.Sprint("k", i), add("x"))
	}
	c.settle()
	c.ks[0].RemovePeer(c.ids[1]) // the peer is gone: only the store can bring them back
	c.reopen(1, store)
	if n := c.ks[1].Len(); n != 30 {
		t.Fatalf("after a restart: %d keys, want the peer's 30", n)
	}
}

// TestOpenKeyspaceClosed checks that a closed durable keyspace stores
// nothing more: Update fails with ErrClosed and leaves the store as it
// was.
func TestOpenKeyspaceClosed(t *testing.T) {
	store := merge.NewMemoryStore()
	ks, err := merge.OpenKeyspace[string]("a", newSet, store)
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.Update("k", add("x")); err != nil {
		t.Fatal(err)
	}
	if err := ks.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ks.Update("k", add("y")); !errors.Is(err, merge.ErrClosed) {
		t.Fatalf("Update after Close: got %v, want ErrClosed", err)
	}
	again, err := merge.OpenKeyspace[string]("a", newSet, store)
	if err != nil {
		t.Fatal(err)
	}
	var has bool
	again.Read("k", func(s *set) { has = s.Contains("y") })
	if has || again.Len() != 1 {
		t.Errorf("the store holds a write made after Close")
	}
}

// TestOpenKeyspaceRefusesAReplicasStore checks that the two layouts are
// not mistaken for each other.
func TestOpenKeyspaceRefusesAReplicasStore(t *testing.T) {
	store := merge.NewMemoryStore()
	r, err := merge.Open("a", newSet, store)
	if err != nil {
		t.Fatal(err)
	}
	r.Update(add("x"))
	if err := r.Compact(); err != nil {
		t.Fatal(err)
	}
	r.Update(add("y"))
	r.Close()
	if _, err := merge.OpenKeyspace[string]("a", newSet, store); err == nil {
		t.Error("OpenKeyspace on a Replica's store: no error")
	}
	if _, err := merge.OpenKeyspace[uint64]("a", func() *crdt.GCounter { return new(crdt.GCounter) }, store); err == nil {
		t.Error("OpenKeyspace with integer keys on a Replica's store: no error")
	}

	ks := merge.NewMemoryStore()
	k, err := merge.OpenKeyspace[string]("a", newSet, ks)
	if err != nil {
		t.Fatal(err)
	}
	k.Update("key", add("x"))
	k.Close()
	if _, err := merge.Open("a", newSet, ks); err == nil {
		t.Error("Open on a keyspace's store: no error")
	}
}

func equalSnapshots(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if string(b[k]) != string(v) {
			return false
		}
	}
	return true
}
