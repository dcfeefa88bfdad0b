package merge

import (
	"slices"
	"strconv"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/vclock"
	"pgregory.net/rapid"
)

// TestWrittenSinceFollowsTheLog checks the keys a catch-up sends, found
// by walking the log of writes back, against a scan of every key, over
// random writes, relayed payloads, keys dropped, acknowledgements moving
// and reset, and catch-ups taking over others' keys; and that the runs
// take both ways, the log's and, once it was dropped or does not reach
// back, the scan's.
func TestWrittenSinceFollowsTheLog(t *testing.T) {
	var viaLog, viaScan int
	rapid.Check(t, func(t *rapid.T) {
		newSet := func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }
		ks := NewKeyspace[string]("us-east", newSet, WithMaxDeltas(rapid.IntRange(1, 600).Draw(t, "maxDeltas")))
		ks.mustInit()
		ks.AddPeer("eu-west", Forward())
		ks.AddPeer("ap-south", Remote())
		peers := []*kpeer[string]{ks.peers["eu-west"], ks.peers["ap-south"]}
		keys := make([]string, rapid.IntRange(1, 3000).Draw(t, "keys"))
		for i := range keys {
			keys[i] = strconv.Itoa(i)
		}
		for range rapid.IntRange(0, 10000).Draw(t, "steps") {
			k := keys[rapid.IntRange(0, len(keys)-1).Draw(t, "key")]
			switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
			case op < 5:
				ks.Update(k, func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, "x") })
			case op < 7:
				if s := ks.keys[k]; s != nil {
					p := rapid.SampledFrom(peers).Draw(t, "from")
					ks.relay(p, s, ksWire[string]{key: k, enc: []byte(k), payload: []byte{0}}, ks.clock.Now())
				}
			case op < 8:
				if s := ks.keys[k]; s != nil {
					if err := ks.rehash(s, newSet()); err != nil {
						t.Fatal(err)
					}
				}
			default:
				p := rapid.SampledFrom(peers).Draw(t, "acker")
				if rapid.IntRange(0, 9).Draw(t, "reset") == 0 {
					p.acked = 0
				} else {
					p.acked = rapid.Uint64Range(p.acked, ks.next).Draw(t, "ack")
				}
			}
		}
		for _, p := range peers {
			old := &ksPass[string]{}
			if rapid.Bool().Draw(t, "marked") {
				old.mark = rapid.Uint64Range(0, ks.next).Draw(t, "mark")
			}
			carried := map[string]bool{}
			for range rapid.IntRange(0, 8).Draw(t, "carried") {
				k := keys[rapid.IntRange(0, len(keys)-1).Draw(t, "carried key")]
				old.keys = append(old.keys, k)
				carried[k] = true
			}
			low := max(p.acked, old.mark)
			if ks.written.since(low, p.remote, carried) != nil {
				viaLog++
			} else {
				viaScan++
			}
			var want []string
			for _, s := range ks.scanSince(low, p.remote, carried) {
				want = append(want, s.key)
			}
			got := ks.writtenSince(p, old)
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("peer (remote %v), low %d: a catch-up sends %d keys, a scan finds %d; first difference: %v", p.remote, low, len(got), len(want), firstDifference(got, want))
			}
		}
	})
	if viaLog == 0 || viaScan == 0 {
		t.Fatalf("the runs took the log %d times and the scan %d times, want both", viaLog, viaScan)
	}
}

// firstDifference returns the first key of the sorted lists a and b that
// one holds and the other does not.
func firstDifference(a, b []string) string {
	for i := 0; i < len(a) || i < len(b); i++ {
		switch {
		case i == len(a):
			return "missing " + b[i]
		case i == len(b) || a[i] < b[i]:
			return "extra " + a[i]
		case a[i] > b[i]:
			return "missing " + b[i]
		}
	}
	return "none"
}

// BenchmarkWrittenSince measures finding the keys a catch-up sends a
// peer that missed the last 10,000 updates of a keyspace of a million
// keys, beyond its delta buffer: by the log of writes and by a scan of
// every key, the way taken before the log and still when it does not
// reach back.
func BenchmarkWrittenSince(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a keyspace of a million keys")
	}
	const n, missed = 1_000_000, 10_000
	ks := NewKeyspace[string]("us-east", func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) })
	ks.mustInit()
	ks.AddPeer("eu-west")
	p := ks.peers["eu-west"]
	add := func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, "item-0") }
	for i := range n {
		if err := ks.Update("cart-"+strconv.Itoa(i), add); err != nil {
			b.Fatal(err)
		}
		p.acked = ks.next
	}
	for i := range missed {
		if err := ks.Update("cart-"+strconv.Itoa(i*97%n), add); err != nil {
			b.Fatal(err)
		}
	}
	low := p.acked
	if got := len(ks.written.since(low, false, nil)); got != missed {
		b.Fatalf("the log finds %d keys, want %d", got, missed)
	}
	b.Run("log", func(b *testing.B) {
		for b.Loop() {
			ks.written.since(low, false, nil)
		}
	})
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			ks.scanSince(low, false, nil)
		}
	})
}
