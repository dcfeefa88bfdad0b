package merge_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
	"pgregory.net/rapid"
)

// An op draws one update for a property: its name and the change.
type op[T any] struct {
	name  string
	apply func(id vclock.ReplicaID, s T) T
}

// checkConvergence is the property: any interleaving of updates, syncs,
// digest requests, deliveries, duplicates, drops and clock ticks among
// three replicas, followed by quiescence with retransmission, ends with
// every replica holding the same state. model, if set, checks the final
// state against the ops that ran.
func checkConvergence[T crdt.State[T]](t *testing.T, newState func() T, gen *rapid.Generator[op[T]], model func(t *rapid.T, ops []op[T], final T)) {
	rapid.Check(t, func(rt *rapid.T) {
		maxDeltas := rapid.IntRange(0, 6).Draw(rt, "maxDeltas")
		rto := time.Duration(rapid.IntRange(0, 300).Draw(rt, "rtoMs")) * time.Millisecond
		c := newCluster(rt, 3, newState, merge.WithMaxDeltas(maxDeltas), merge.WithRetransmitTimeout(rto))
		for i := range c.skew {
			c.skew[i] = int64(rapid.IntRange(-100, 100).Draw(rt, "skewMs")) * int64(time.Millisecond)
		}
		var ops []op[T]
		pair := func() (int, int) {
			i := rapid.IntRange(0, 2).Draw(rt, "from")
			return i, (i + rapid.IntRange(1, 2).Draw(rt, "hop")) % 3
		}
		pick := func() int { return rapid.IntRange(0, len(c.queue)-1).Draw(rt, "packet") }
		rt.Repeat(map[string]func(*rapid.T){
			"update": func(rt *rapid.T) {
				o := gen.Draw(rt, "op")
				ops = append(ops, o)
				c.update(rapid.IntRange(0, 2).Draw(rt, "at"), o.apply)
			},
			"sync": func(rt *rapid.T) { c.sync(pair()) },
			"digest": func(rt *rapid.T) {
				c.digestRequest(pair())
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
				for i, r := range c.reps {
					if s := r.Stats(); s.Buffered > maxDeltas || s.Rejected != 0 {
						rt.Fatalf("%s: got %+v with at most %d deltas allowed", c.ids[i], s, maxDeltas)
					}
				}
			},
		})
		c.queue = nil // whatever is in flight is lost
		c.settle()
		c.requireConverged()
		for i, r := range c.reps {
			for _, l := range r.Lag() {
				if l.Unacked != 0 || l.NeedsFullState {
					rt.Fatalf("%s: %s still lags after quiescence: %+v", c.ids[i], l.Peer, l)
				}
			}
			if s := r.Stats(); s.Buffered != 0 {
				rt.Fatalf("%s: %d deltas still buffered after quiescence", c.ids[i], s.Buffered)
			}
		}
		if model != nil {
			model(rt, ops, c.reps[0].State())
		}
	})
}

func TestPropertyORSet(t *testing.T) {
	elems := rapid.SampledFrom([]string{"a", "b", "c", "d"})
	gen := rapid.Custom(func(t *rapid.T) op[*crdt.ORSet[string]] {
		e := elems.Draw(t, "elem")
		if rapid.IntRange(0, 2).Draw(t, "kind") == 0 {
			return op[*crdt.ORSet[string]]{"remove " + e, remove(e)}
		}
		return op[*crdt.ORSet[string]]{"add " + e, add(e)}
	})
	checkConvergence(t, newSet, gen, func(t *rapid.T, ops []op[*crdt.ORSet[string]], final *crdt.ORSet[string]) {
		// An element added and never removed anywhere is in the set.
		added, removed := map[string]bool{}, map[string]bool{}
		for _, o := range ops {
			var e string
			if _, err := fmt.Sscanf(o.name, "add %s", &e); err == nil {
				added[e] = true
			} else if _, err := fmt.Sscanf(o.name, "remove %s", &e); err == nil {
				removed[e] = true
			}
		}
		for e := range added {
			if !removed[e] && !final.Contains(e) {
				t.Fatalf("%s was added, never removed, and is missing from %v", e, final)
			}
		}
		for e := range final.All() {
			if !added[e] {
				t.Fatalf("%s was never added but is in %v", e, final)
			}
		}
	})
}

func TestPropertyPNCounter(t *testing.T) {
	gen := rapid.Custom(func(t *rapid.T) op[*crdt.PNCounter] {
		n := rapid.Uint64Range(1, 10).Draw(t, "n")
		if rapid.Bool().Draw(t, "dec") {
			return op[*crdt.PNCounter]{fmt.Sprint("-", n), func(id vclock.ReplicaID, c *crdt.PNCounter) *crdt.PNCounter { return c.Dec(id, n) }}
		}
		return op[*crdt.PNCounter]{fmt.Sprint("+", n), func(id vclock.ReplicaID, c *crdt.PNCounter) *crdt.PNCounter { return c.Inc(id, n) }}
	})
	checkConvergence(t, newCounter, gen, func(t *rapid.T, ops []op[*crdt.PNCounter], final *crdt.PNCounter) {
		var want int64
		for _, o := range ops {
			var n int64
			fmt.Sscan(o.name, &n)
			want += n
		}
		if got := final.Value(); got != want {
			t.Fatalf("got %d, want %d", got, want)
		}
	})
}
