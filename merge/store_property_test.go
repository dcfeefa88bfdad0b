package merge_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
	"pgregory.net/rapid"
)

// copyStore returns a MemoryStore holding what st holds, numbered alike:
// a backup of a store, taken at one moment.
func copyStore(t tb, st merge.Stored) *merge.MemoryStore {
	t.Helper()
	m := merge.NewMemoryStore()
	first := st.Next - uint64(len(st.Records))
	if err := m.Append(make([][]byte, first), st.Floor); err != nil {
		t.Fatal(err)
	}
	if st.Snapshot != nil {
		if err := m.Compact(st.Snapshot, first); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Append(st.Records, st.Floor); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRestartFromAnyBackup is the property that a durable replica may
// come back from its store, or from any earlier backup of it, and write
// at once: after a final honest phase of bounded rounds every replica is
// equal, nothing stays refused, and every acknowledged write is there
// but those the restore took back — acknowledged by the restarted
// replica alone, after the backup, and held by no other replica.
func TestRestartFromAnyBackup(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		maxDeltas := rapid.IntRange(0, 8).Draw(rt, "maxDeltas")
		opts := []merge.Option{merge.WithMaxDeltas(maxDeltas)}
		c := newCluster(rt, 3, newCarts, opts...)
		store := merge.NewMemoryStore()
		reopen(c, 0, newCarts, store, opts...)
		var backups []*merge.MemoryStore
		var written []string
		holds := func(s *carts, e string) bool {
			for _, set := range s.All() {
				if set.Contains(e) {
					return true
				}
			}
			return false
		}
		n := 0
		write := func(rt *rapid.T, i int) {
			e := fmt.Sprintf("w%d", n)
			n++
			key := rapid.SampledFrom([]string{"alice", "bob"}).Draw(rt, "cart")
			c.update(i, func(w vclock.ReplicaID, m *carts) *carts {
				return m.Update(key, func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, e) })
			})
			written = append(written, e)
		}
		pick := func() int { return rapid.IntRange(0, len(c.queue)-1).Draw(rt, "packet") }
		rt.Repeat(map[string]func(*rapid.T){
			"write": func(rt *rapid.T) { write(rt, rapid.IntRange(0, 2).Draw(rt, "at")) },
			"sync": func(rt *rapid.T) {
				i := rapid.IntRange(0, 2).Draw(rt, "from")
				c.sync(i, (i+rapid.IntRange(1, 2).Draw(rt, "hop"))%3)
			},
			"deliver": func(rt *rapid.T) {
				if len(c.queue) == 0 {
					rt.Skip("nothing queued")
				}
				c.deliverLoose(c.take(pick()))
			},
			"duplicate": func(rt *rapid.T) {
				if len(c.queue) == 0 {
					rt.Skip("nothing queued")
				}
				c.deliverLoose(c.queue[pick()])
			},
			"drop": func(rt *rapid.T) {
				if len(c.queue) == 0 {
					rt.Skip("nothing queued")
				}
				c.take(pick())
			},
			"tick": func(rt *rapid.T) {
				c.advance(time.Duration(rapid.IntRange(0, 600).Draw(rt, "ms")) * time.Millisecond)
			},
			"compact": func(rt *rapid.T) {
				if err := c.reps[0].Compact(); err != nil {
					rt.Fatal(err)
				}
			},
			"backup": func(rt *rapid.T) {
				st, err := store.Load()
				if err != nil {
					rt.Fatal(err)
				}
				backups = append(backups, copyStore(rt, st))
			},
			"restart": func(rt *rapid.T) {
				// From the store as the crash left it, or from a backup,
				// in the same millisecond or later, then a write at once.
				if k := rapid.IntRange(-1, len(backups)-1).Draw(rt, "backup"); k >= 0 {
					st, _ := backups[k].Load()
					from := copyStore(rt, st)
					r, err := merge.Open(c.ids[0], newCarts, from)
					if err != nil {
						rt.Fatal(err)
					}
					back := r.State() // what the backup holds
					r.Close()
					written = slices.DeleteFunc(written, func(e string) bool {
						return !holds(back, e) && !holds(c.reps[1].State(), e) && !holds(c.reps[2].State(), e)
					})
					store = from
				}
				c.advance(time.Duration(rapid.IntRange(0, 2).Draw(rt, "ms")) * time.Millisecond)
				reopen(c, 0, newCarts, store, opts...)
				write(rt, 0)
			},
		})
		c.queue = nil
		rounds, _ := c.settleLoose(20)
		c.requireConverged()
		final := c.reps[0].State()
		for _, e := range written {
			if !holds(final, e) {
				rt.Fatalf("acknowledged write %s lost: final state %v", e, final)
			}
		}
		if rounds > 8 {
			rt.Fatalf("%d rounds to quiescence", rounds)
		}
	})
}
