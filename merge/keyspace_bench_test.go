package merge_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// The benchmarks of this file build keyspaces of up to a million keys,
// which takes seconds and a few hundred MB: they skip under -short. The
// figures that matter are in BENCHMARKS.md, with the command.

type cartMap = crdt.ORMap[string, *set]

func skipShort(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a keyspace of up to a million keys; skipped with -short")
	}
}

// loadKeyspace returns a keyspace with one peer, "eu-west", holding n
// keys cart-0 … cart-(n-1), each a set of one item.
func loadKeyspace(b *testing.B, n int, opts ...merge.Option) *merge.Keyspace[string, *set] {
	b.Helper()
	ks := merge.NewKeyspace[string]("us-east", newSet, opts...)
	if err := ks.AddPeer("eu-west"); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if err := ks.Update(fmt.Sprintf("cart-%d", i), add("item-0")); err != nil {
			b.Fatal(err)
		}
	}
	return ks
}

// loadORMap returns a Replica of one ORMap with one peer holding the same
// data as loadKeyspace.
func loadORMap(b *testing.B, n int) *merge.Replica[*cartMap] {
	b.Helper()
	r := merge.New("us-east", func() *cartMap { return new(cartMap) })
	if err := r.AddPeer("eu-west"); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		k := fmt.Sprintf("cart-%d", i)
		err := r.Update(func(w vclock.ReplicaID, m *cartMap) *cartMap {
			return m.Update(k, func(s *set) *set { return s.Add(w, "item-0") })
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return r
}

// BenchmarkKeyspaceUpdate measures an Update of one key, a random one of
// a million, each a set of one item re-added (the state keeps its size),
// with a peer so that the delta is buffered; the baseline is the same
// change made by Replica.Update in one ORMap of the same million keys.
func BenchmarkKeyspaceUpdate(b *testing.B) {
	skipShort(b)
	const n = 1_000_000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("cart-%d", i)
	}
	b.Run("keyspace", func(b *testing.B) {
		ks := loadKeyspace(b, n)
		rng := rand.New(rand.NewPCG(1, 2))
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if err := ks.Update(keys[rng.IntN(n)], add("item-0")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ormap-replica", func(b *testing.B) {
		r := loadORMap(b, n)
		rng := rand.New(rand.NewPCG(1, 2))
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			k := keys[rng.IntN(n)]
			err := r.Update(func(w vclock.ReplicaID, m *cartMap) *cartMap {
				return m.Update(k, func(s *set) *set { return s.Add(w, "item-0") })
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkKeyspaceCatchUp measures the bytes two keyspaces of 100,000
// keys exchange until equal after one missed 10,000 of the other's
// updates, more than its buffer (the default 4096 deltas) holds: by a
// catch-up (the peer fell behind the buffer), and by a tree pass
// (SyncDigest, what a restart or a suspicion starts); and the same after
// 100 missed updates. bytes/op is every
// byte both ways; x-deltas divides it by the encoded size of the missed
// deltas (key and delta each).
func BenchmarkKeyspaceCatchUp(b *testing.B) {
	skipShort(b)
	for _, bc := range []struct {
		name   string
		missed int
		tree   bool
	}{
		{"catch-up", 10_000, false},
		{"tree", 10_000, true},
		// 100 missed updates: within the buffer, plain deltas; and the
		// tree pass a restart would start for the same difference.
		{"catch-up-100", 100, false},
		{"tree-100", 100, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var total, deltas int
			var c *ksCluster
			round := 0
			for b.Loop() {
				b.StopTimer()
				var d int
				if bc.missed >= 1000 || c == nil {
					c, d = missedUpdates(b, 100_000, bc.missed)
				} else {
					// A few missed updates cost far less than building the
					// keyspaces: miss them again on the equal pair.
					round++
					d = miss(b, c, 100_000, bc.missed, round)
				}
				if bc.tree {
					msg, err := c.ks[0].SyncDigest(c.ids[1])
					if err != nil {
						b.Fatal(err)
					}
					c.queue = append(c.queue, packet{0, 1, msg})
				}
				c.bytes = 0
				b.StartTimer()
				c.deliverAll()
				c.settle()
				b.StopTimer()
				if bc.missed >= 1000 {
					c.requireConverged()
				} else if c.ks[0].Root() != c.ks[1].Root() || c.ks[0].Len() != c.ks[1].Len() {
					b.Fatal("not converged") // the full comparison costs more than the run
				}
				total, deltas = c.bytes, d
				b.StartTimer()
			}
			b.ReportMetric(float64(total), "bytes/op")
			b.ReportMetric(float64(total)/float64(deltas), "x-deltas")
		})
	}
}

// missedUpdates returns two connected keyspaces of n equal keys after
// us-east made missed updates, to distinct keys, that eu-west did not
// receive, and the encoded size of their deltas.
func missedUpdates(b *testing.B, n, missed int) (*ksCluster, int) {
	c := newKSCluster(b, 2)
	for i := range n {
		c.update(0, fmt.Sprintf("cart-%d", i), add("item-0"))
		if i%1000 == 999 {
			c.sync(0, 1)
			c.deliverAll()
		}
	}
	c.settle()
	return c, miss(b, c, n, missed, 0)
}

// miss makes missed updates at us-east, to distinct keys of the n, that
// eu-west does not receive yet, and returns the encoded size of their
// deltas; round tells the items of one call from another's.
func miss(b *testing.B, c *ksCluster, n, missed, round int) int {
	deltas := 0
	for i := range missed {
		key := fmt.Sprintf("cart-%d", (i*7919+round)%n)
		c.update(0, key, func(w vclock.ReplicaID, s *set) *set {
			d := s.Add(w, fmt.Sprintf("item-%d-%d", round, i+1))
			deltas += len(key) + 1 + len(encode(b, d))
			return d
		})
	}
	return deltas
}

// BenchmarkKeyspaceEqual measures a tree pass between two equal
// keyspaces of a million keys: the CPU of the exchange (SyncDigest, the
// peer's Receive, the answer's Receive, the Syncs that end the pass) and
// its bytes, both ways.
func BenchmarkKeyspaceEqual(b *testing.B) {
	skipShort(b)
	c := newKSCluster(b, 2, merge.WithMaxDeltas(1<<20), merge.WithMaxBufferBytes(1<<30))
	for i := range 1_000_000 {
		c.update(0, fmt.Sprintf("cart-%d", i), add("item-0"))
	}
	c.settle()
	if c.ks[0].Root() != c.ks[1].Root() || c.ks[1].Len() != 1_000_000 {
		b.Fatal("the keyspaces differ")
	}
	b.ReportAllocs()
	b.ResetTimer()
	var total int
	for b.Loop() {
		c.advance(2 * merge.DefaultRetransmitTimeout)
		c.bytes = 0
		msg, err := c.ks[0].SyncDigest(c.ids[1])
		if err != nil || msg == nil {
			b.Fatalf("SyncDigest: %v, %v", msg, err)
		}
		c.queue = append(c.queue, packet{0, 1, msg})
		c.deliverAll()
		c.sync(0, 1)
		c.deliverAll()
		total = c.bytes
	}
	b.ReportMetric(float64(total), "bytes/op")
	if l := c.ks[0].Lag()[0]; l.Agreed == 0 {
		b.Fatal("no agreement")
	}
}

// BenchmarkKeyspaceMemory measures the heap a keyspace of a million keys
// holds, each a set of one item, with one peer (so its delta buffer
// full), against the same data in one ORMap (crdt.ORMap of the same
// sets): B/key each, and their ratio.
func BenchmarkKeyspaceMemory(b *testing.B) {
	skipShort(b)
	const n = 1_000_000
	var ks, m float64
	for b.Loop() {
		ks, m = keyspaceHeap(b, n)
	}
	b.ReportMetric(ks/n, "keyspace-B/key")
	b.ReportMetric(m/n, "ormap-B/key")
	b.ReportMetric(ks/m, "ratio")
}

// TestKeyspaceMemory: a keyspace of 100,000 one-item sets, with a peer,
// holds at most 1.5× the heap one ORMap of the same sets holds.
func TestKeyspaceMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a keyspace of 100,000 keys; skipped with -short")
	}
	const n = 100_000
	ks, m := keyspaceHeap(t, n)
	t.Logf("keyspace %.1f B/key, ORMap %.1f B/key: %.2f×", ks/n, m/n, ks/m)
	if ks > 1.5*m {
		t.Errorf("a keyspace of %d sets holds %.0f bytes, %.2f× the %.0f of one ORMap; want at most 1.5×", n, ks, ks/m, m)
	}
}

// keyspaceHeap returns the heap held by a keyspace of n keys cart-0 …
// cart-(n−1), each a set of one item, with a peer, and by one ORMap of the
// same sets.
func keyspaceHeap(tb testing.TB, n int) (keyspace, ormap float64) {
	clock := hlc.New(hlc.WithPhysicalClock(func() int64 { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixNano() }))
	before := heap()
	ks := merge.NewKeyspace[string]("us-east", newSet, merge.WithClock(clock))
	if err := ks.AddPeer("eu-west"); err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		if err := ks.Update(fmt.Sprintf("cart-%d", i), add("item-0")); err != nil {
			tb.Fatal(err)
		}
	}
	keyspace = float64(heap() - before)
	runtime.KeepAlive(ks)
	ks = nil

	before = heap()
	m := new(cartMap)
	w := vclock.ReplicaID("us-east~0000000000001")
	for i := range n {
		m.Update(fmt.Sprintf("cart-%d", i), func(s *set) *set { return s.Add(w, "item-0") })
	}
	ormap = float64(heap() - before)
	runtime.KeepAlive(m)
	return keyspace, ormap
}

// heap returns the live heap after a collection.
func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
