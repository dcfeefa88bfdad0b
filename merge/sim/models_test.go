package sim_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge/sim"
	"github.com/converge-go/converge/vclock"
)

// op returns an operation at node n (replica "n0", "n1", ...) at time at,
// reads due for writes up to 500 ms before.
func op(rng *rand.Rand, n sim.NodeID, at time.Duration) sim.Op {
	return sim.Op{Node: n, Replica: vclock.ReplicaID([]string{"n0", "n1", "n2"}[n]), At: at, Horizon: at - 500*ms, Rand: rng}
}

// TestORSetModel plays an add at node 0 and a remove at node 1 by hand,
// and checks the reads of node 2 as it merges them, and the lost-write
// count of final states with and without them.
func TestORSetModel(t *testing.T) {
	// With Size 1, the first write adds (nothing is live) and the second
	// removes with probability 1/2: find a seed whose second write
	// removes, then replay it with reads in between, which draw from
	// another source.
	seed := uint64(1)
	for ; ; seed++ {
		rng := rand.New(rand.NewPCG(seed, 2))
		m := &sim.ORSetModel{Size: 1}
		a, b := m.New(), m.New()
		b.Merge(m.Write(op(rng, 0, 0), a))
		if m.Write(op(rng, 1, sec), b); b.Len() == 0 {
			break
		}
	}
	writes, reads := rand.New(rand.NewPCG(seed, 2)), rand.New(rand.NewPCG(0, 0))
	m := &sim.ORSetModel{Size: 1}
	a, b, c := m.New(), m.New(), m.New()
	read := func(at time.Duration) bool { return m.Read(op(reads, 2, at), c) }

	add := m.Write(op(writes, 0, 0), a)
	b.Merge(add)
	if read(400 * ms) {
		t.Errorf("read at 400 ms stale, though the add is 400 ms old")
	}
	if !read(600 * ms) {
		t.Errorf("read at 600 ms not stale, though node 2 misses a 600-ms-old add")
	}
	if n := m.Lost(c); n != 1 {
		t.Errorf("Lost(state without the add) = %d, want 1", n)
	}
	if n := m.Lost(a); n != 0 {
		t.Errorf("Lost(state with the add) = %d, want 0", n)
	}

	rm := m.Write(op(writes, 1, sec), b)
	if b.Len() != 0 {
		t.Fatalf("second write left %d elements at node 1, want a remove", b.Len())
	}
	if read(1200 * ms) {
		t.Errorf("read at 1.2 s stale: node 2 says absent, right since the remove at 1 s")
	}
	c.Merge(add)
	if read(1200 * ms) {
		t.Errorf("read at 1.2 s stale: node 2 says present, right until the remove at 1 s, 200 ms ago")
	}
	if !read(1600 * ms) {
		t.Errorf("read at 1.6 s not stale: node 2 still shows an element removed 600 ms ago")
	}
	if n := m.Lost(c); n != 1 {
		t.Errorf("Lost(state without the remove) = %d, want 1", n)
	}
	c.Merge(rm)
	if read(1600 * ms) {
		t.Errorf("read at 1.6 s stale after merging the remove")
	}
	if n := m.Lost(c); n != 0 {
		t.Errorf("Lost(state with both) = %d, want 0", n)
	}
}

// TestCounterModel checks reads and lost writes of the counter against
// hand-merged states.
func TestCounterModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := &sim.CounterModel{}
	a, b := m.New(), m.New()
	var deltas []*crdt.PNCounter
	for k := 0; k < 4; k++ { // node 0 writes at 0, 100, 200, 300 ms
		deltas = append(deltas, m.Write(op(rng, 0, time.Duration(k)*100*ms), a))
	}
	read := func(at time.Duration) bool { return m.Read(op(rng, 1, at), b) }
	if read(499 * ms) {
		t.Errorf("read at 499 ms stale: no write is 500 ms old")
	}
	if !read(500 * ms) {
		t.Errorf("read at 500 ms not stale: node 1 misses the write at 0")
	}
	b.Merge(deltas[0])
	b.Merge(deltas[1])
	if read(600 * ms) {
		t.Errorf("read at 600 ms stale, though node 1 has the writes at 0 and 100 ms")
	}
	if !read(700 * ms) {
		t.Errorf("read at 700 ms not stale, though node 1 misses the write at 200 ms")
	}
	if n := m.Lost(b); n != 2 {
		t.Errorf("Lost(first two writes) = %d, want 2", n)
	}
	b.Merge(deltas[3]) // the last write's delta carries the node's totals
	if n := m.Lost(b); n != 0 || b.Value() != a.Value() {
		t.Errorf("Lost(all writes) = %d, value %d; want 0, %d", n, b.Value(), a.Value())
	}
	if m.Read(op(rng, 0, sec), a) {
		t.Errorf("a node's read is stale for its own writes")
	}
}
