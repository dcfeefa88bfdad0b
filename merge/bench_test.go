package merge_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// syncBytes plays adds single-element adds spread round-robin over three
// regions, each region syncing with both others after every `every`
// adds, all messages delivered; it returns the bytes of every message
// sent, acknowledgements included, and the final number of elements.
// opts choose the protocol: the defaults for delta sync, WithMaxDeltas(0)
// for full-state sync, which sends the whole state every time.
func syncBytes(t tb, adds, every int, opts ...merge.Option) (total uint64, elems int) {
	c := newCluster(t, 3, newSet, opts...)
	for k := 0; k < adds; k++ {
		c.update(k%3, add(fmt.Sprintf("item-%05d", k)))
		if (k+1)%every == 0 || k == adds-1 {
			c.advance(50 * time.Millisecond)
			c.syncAll()
			c.deliverAll()
		}
	}
	for _, r := range c.reps {
		for _, l := range r.Lag() {
			total += l.BytesSent
		}
	}
	c.requireConverged()
	return total, c.reps[0].State().Len()
}

// TestDeltaSyncBytes is BenchmarkSyncBytes made small enough to run with
// every test: 2,000 adds, syncs every 50. Full-state sync costs O(adds²),
// delta sync O(adds), so the ratio only improves with more adds.
func TestDeltaSyncBytes(t *testing.T) {
	const adds = 2000
	delta, n := syncBytes(t, adds, 50)
	full, m := syncBytes(t, adds, 50, merge.WithMaxDeltas(0))
	if n != adds || m != adds {
		t.Fatalf("got %d and %d elements, want %d", n, m, adds)
	}
	ratio := float64(delta) / float64(full)
	t.Logf("%d adds: delta sync %d bytes, full-state sync %d bytes (%.2f%%)", adds, delta, full, 100*ratio)
	if ratio > 0.05 {
		t.Fatalf("delta sync sent %.1f%% of the bytes of full-state sync, want at most 5%%", 100*ratio)
	}
}

// BenchmarkSyncBytes plays 10,000 single-element adds over three regions,
// each syncing with the others every 100 adds, once with delta sync and
// once with full-state sync, and reports the bytes each sent.
func BenchmarkSyncBytes(b *testing.B) {
	b.ReportAllocs()
	var delta, full uint64
	for i := 0; i < b.N; i++ {
		delta, _ = syncBytes(b, 10000, 100)
		full, _ = syncBytes(b, 10000, 100, merge.WithMaxDeltas(0))
	}
	b.ReportMetric(float64(delta), "delta-bytes")
	b.ReportMetric(float64(full), "full-state-bytes")
	b.ReportMetric(100*float64(delta)/float64(full), "delta-%")
}

// BenchmarkRoundTrip measures the hot path: one local add, the message
// that carries it, its merge at the peer, and the acknowledgement.
func BenchmarkRoundTrip(b *testing.B) {
	b.ReportAllocs()
	c := newCluster(b, 2, newSet)
	a, p := c.reps[0], c.reps[1]
	elems := make([]string, 1024)
	for i := range elems {
		elems[i] = fmt.Sprint("item-", i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := elems[i%len(elems)]
		if err := a.Update(func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, e) }); err != nil {
			b.Fatal(err)
		}
		msg, err := a.Sync("eu-west")
		if err != nil || msg == nil {
			b.Fatal(msg, err)
		}
		reply, err := p.Receive(msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Receive(reply); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdate measures a local add with two peers, acknowledging
// every 100 adds so that the buffer stays small.
func BenchmarkUpdate(b *testing.B) {
	b.ReportAllocs()
	c := newCluster(b, 3, newSet)
	r := c.reps[0]
	elems := make([]string, 1024)
	for i := range elems {
		elems[i] = fmt.Sprint("item-", i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := elems[i%len(elems)]
		if err := r.Update(func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, e) }); err != nil {
			b.Fatal(err)
		}
		if i%100 == 99 {
			b.StopTimer()
			c.sync(0, 1)
			c.sync(0, 2)
			c.deliverAll()
			b.StartTimer()
		}
	}
}

// BenchmarkReceiveDuplicate measures Receive of a delta the replica
// already has: decoding, validation, the merge and the reply.
func BenchmarkReceiveDuplicate(b *testing.B) {
	b.ReportAllocs()
	c := newCluster(b, 2, newSet)
	c.update(0, add("x"))
	msg := c.sync(0, 1)
	c.deliverAll()
	r := c.reps[1]
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Receive(msg); err != nil {
			b.Fatal(err)
		}
	}
}
