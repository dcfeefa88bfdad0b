package merge_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
	"pgregory.net/rapid"
)

// TestKeyspaceConverges is the property: any interleaving of updates to
// a few keys, syncs, tree passes, deliveries, duplicates, drops and clock
// ticks among three keyspaces, with buffers small enough to overflow
// into catch-ups, followed by quiescence with retransmission, ends with
// every keyspace holding, for each key, the join of every delta its
// updates returned — and nothing else.
func TestKeyspaceConverges(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		maxDeltas := rapid.IntRange(0, 8).Draw(rt, "maxDeltas")
		rto := time.Duration(rapid.IntRange(0, 300).Draw(rt, "rtoMs")) * time.Millisecond
		c := newKSCluster(rt, 3, merge.WithMaxDeltas(maxDeltas), merge.WithRetransmitTimeout(rto))
		checkKSConverges(rt, c, maxDeltas, func() (int, int) {
			i := rapid.IntRange(0, 2).Draw(rt, "from")
			return i, (i + rapid.IntRange(1, 2).Draw(rt, "hop")) % 3
		})
	})
}

// checkKSConverges runs the property on c: any interleaving of updates,
// syncs and tree passes between the pairs pair draws, deliveries,
// duplicates, drops and clock ticks, then quiescence, leaves every
// keyspace holding the join of every delta written, per key.
func checkKSConverges(rt *rapid.T, c *ksCluster, maxDeltas int, pair func() (int, int)) {
	want := map[string]*set{} // the join of every delta, per key
	pick := func() int { return rapid.IntRange(0, len(c.queue)-1).Draw(rt, "packet") }
	rt.Repeat(map[string]func(*rapid.T){
		"update": func(rt *rapid.T) {
			at := rapid.IntRange(0, len(c.ks)-1).Draw(rt, "at")
			key := fmt.Sprintf("k%d", rapid.IntRange(0, 5).Draw(rt, "key"))
			e := fmt.Sprintf("e%d", rapid.IntRange(0, 3).Draw(rt, "elem"))
			removes := rapid.Bool().Draw(rt, "remove")
			c.update(at, key, func(w vclock.ReplicaID, s *set) *set {
				var d *set
				if removes {
					d = s.Remove(e)
				} else {
					d = s.Add(w, e)
				}
				if d != nil {
					if want[key] == nil {
						want[key] = newSet()
					}
					want[key].Merge(d)
				}
				return d
			})
		},
		"sync": func(rt *rapid.T) { c.sync(pair()) },
		"tree": func(rt *rapid.T) {
			i, j := pair()
			msg, err := c.ks[i].SyncDigest(c.ids[j])
			if err != nil {
				rt.Fatal(err)
			}
			if msg != nil {
				c.queue = append(c.queue, packet{i, j, msg})
			}
		},
		"deliver": func(rt *rapid.T) {
			if len(c.queue) == 0 {
				rt.Skip("nothing queued")
			}
			c.deliver(c.take(pick()))
		},
		"duplicate": func(rt *rapid.T) {
			if len(c.queue) == 0 {
				rt.Skip("nothing queued")
			}
			c.deliver(c.queue[pick()])
		},
		"drop": func(rt *rapid.T) {
			if len(c.queue) == 0 {
				rt.Skip("nothing queued")
			}
			c.take(pick())
		},
		"tick": func(rt *rapid.T) {
			c.advance(time.Duration(rapid.IntRange(1, 400).Draw(rt, "ms")) * time.Millisecond)
		},
		"": func(rt *rapid.T) {
			for i, k := range c.ks {
				if s := k.Stats(); s.Buffered > maxDeltas || s.Rejected != 0 {
					rt.Fatalf("%s: got %+v with at most %d deltas allowed and no refusal", c.ids[i], s, maxDeltas)
				}
			}
		},
	})
	c.queue = nil // whatever is in flight is lost
	c.settle()
	empty := encode(rt, newSet())
	for i := range c.ks {
		got := c.snapshot(i)
		for key, w := range want {
			wb := encode(rt, w)
			if bytes.Equal(wb, empty) {
				wb = nil // the empty state: no key
			}
			if !bytes.Equal(got[key], wb) {
				rt.Fatalf("%s, key %s: got %x, want %x", c.ids[i], key, got[key], wb)
			}
			delete(got, key)
		}
		for key := range got {
			rt.Fatalf("%s holds key %s, which no update wrote", c.ids[i], key)
		}
	}
	c.requireConverged()
}
