package merge_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
	"pgregory.net/rapid"
)

// The partial meshes the forwarding tests run on.
var ksTopologies = map[string]struct {
	n    int
	link func(i, j int) (bool, []merge.PeerOption)
}{
	// A ring of five, each keyspace forwarding to its two neighbours.
	"ring": {5, func(i, j int) (bool, []merge.PeerOption) {
		return (i+1)%5 == j || (j+1)%5 == i, []merge.PeerOption{merge.Forward()}
	}},
	// A line of four: a tree, every write relayed up to three hops.
	"line": {4, func(i, j int) (bool, []merge.PeerOption) {
		return i-j == 1 || j-i == 1, []merge.PeerOption{merge.Forward()}
	}},
	// Two regions of three, a full mesh each, joined by one relay each
	// (keyspaces 0 and 3), remote peers of each other.
	"regions": {6, func(i, j int) (bool, []merge.PeerOption) {
		if i/3 == j/3 {
			return true, []merge.PeerOption{merge.Forward()}
		}
		return i%3 == 0 && j%3 == 0, []merge.PeerOption{merge.Remote()}
	}},
}

// TestKeyspaceConvergesOnPartialMesh is TestKeyspaceConverges's property
// on partial meshes whose keyspaces forward what they receive: any
// interleaving of updates, syncs between peers, tree passes, deliveries,
// duplicates, drops and clock ticks, with buffers small enough to
// overflow, followed by quiescence, ends with every keyspace holding, for
// each key, the join of every delta written — though most keyspaces are
// not peers of each other.
func TestKeyspaceConvergesOnPartialMesh(t *testing.T) {
	for name, top := range ksTopologies {
		t.Run(name, func(t *testing.T) {
			rapid.Check(t, func(rt *rapid.T) {
				maxDeltas := rapid.IntRange(0, 8).Draw(rt, "maxDeltas")
				rto := time.Duration(rapid.IntRange(0, 300).Draw(rt, "rtoMs")) * time.Millisecond
				c := newKSTopology(rt, top.n, top.link, merge.WithMaxDeltas(maxDeltas), merge.WithRetransmitTimeout(rto))
				checkKSConverges(rt, c, maxDeltas, func() (int, int) {
					i := rapid.IntRange(0, top.n-1).Draw(rt, "from")
					return i, rapid.SampledFrom(c.peers[i]).Draw(rt, "to")
				})
			})
		})
	}
}

// TestRelaysCrossEachBoundaryOnce: four regions of three keyspaces, a
// full mesh in each, joined by one relay per region whose peers in the
// other regions are Remote. Each write's delta crosses each of the three
// region boundaries once: the bytes delivered across regions, envelopes
// and acknowledgements included, stay within 1.5 × 3 × the encoded size
// of the deltas written, where a full mesh of the twelve moves each
// delta to the nine keyspaces of the other regions.
func TestRelaysCrossEachBoundaryOnce(t *testing.T) {
	relays := func(i, j int) (bool, []merge.PeerOption) {
		if i/3 == j/3 {
			return true, []merge.PeerOption{merge.Forward()}
		}
		return i%3 == 0 && j%3 == 0, []merge.PeerOption{merge.Remote()}
	}
	mesh := func(i, j int) (bool, []merge.PeerOption) { return true, nil }
	crossing := func(link func(i, j int) (bool, []merge.PeerOption)) (cross, deltas int) {
		c := newKSTopology(t, 12, link)
		for round := range 5 {
			for w := range 100 {
				at, key := (round*100+w)%12, fmt.Sprintf("key%d", round*100+w)
				c.update(at, key, func(id vclock.ReplicaID, s *set) *set {
					d := s.Add(id, "item")
					deltas += len(key) + len(encode(t, d))
					return d
				})
			}
			c.advance(time.Millisecond)
			for c.syncAll(); len(c.queue) > 0; c.syncAll() {
				for len(c.queue) > 0 {
					p := c.take(0)
					if p.from/3 != p.to/3 {
						cross += len(p.data)
					}
					c.deliver(p)
				}
			}
		}
		c.requireConverged()
		return cross, deltas
	}
	cross, deltas := crossing(relays)
	if limit := 1.5 * 3 * float64(deltas); float64(cross) > limit {
		t.Errorf("relays: %d bytes crossed regions for %d bytes of deltas: %.2f× the deltas, want ≤ 4.5×", cross, deltas, float64(cross)/float64(deltas))
	}
	meshCross, _ := crossing(mesh)
	if meshCross < 2*cross {
		t.Errorf("full mesh: %d bytes crossed regions, relays %d: want the mesh to cost at least twice as much", meshCross, cross)
	}
	t.Logf("bytes across regions per byte of delta: relays %.2f, full mesh %.2f", float64(cross)/float64(deltas), float64(meshCross)/float64(deltas))
}
