package merge_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// TestConcurrentUse runs, at once, writers on every replica, a goroutine
// per ordered pair of replicas exchanging messages (dropping some), and
// readers of the state and the figures; then lets the replicas settle
// and requires them Equal. Run it with -race.
func TestConcurrentUse(t *testing.T) {
	const n, writes = 4, 300
	ids := regionIDs[:n]
	reps := make([]*merge.Replica[*crdt.ORSet[string]], n)
	for i, id := range ids {
		reps[i] = merge.New(id, newSet, merge.WithRetransmitTimeout(0), merge.WithMaxDeltas(64))
		for _, p := range ids {
			if p != id {
				if err := reps[i].AddPeer(p); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// exchange sends i's message to j and j's reply back, losing each
	// with probability loss; it reports whether anything was sent.
	exchange := func(rng *rand.Rand, i, j int, loss float64, digest bool) (bool, error) {
		var msg []byte
		var err error
		if digest {
			msg, err = reps[i].SyncDigest(ids[j])
		} else {
			msg, err = reps[i].Sync(ids[j])
		}
		if err != nil || msg == nil || rng.Float64() < loss {
			return msg != nil, err
		}
		reply, err := reps[j].Receive(msg)
		if err != nil || reply == nil || rng.Float64() < loss {
			return true, err
		}
		_, err = reps[i].Receive(reply)
		return true, err
	}

	var writers, others sync.WaitGroup
	var done atomic.Bool
	errs := make(chan error, n*n)
	for i := range reps {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for k := 0; k < writes; k++ {
				e := fmt.Sprintf("%s-%d", ids[i], k)
				err := reps[i].Update(func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] {
					if k%10 == 9 { // remove one of our own earlier elements
						return s.Remove(fmt.Sprintf("%s-%d", ids[i], k-5))
					}
					return s.Add(w, e)
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
		for j := range reps {
			if i == j {
				continue
			}
			others.Add(1)
			go func() {
				defer others.Done()
				rng := rand.New(rand.NewPCG(uint64(i), uint64(j)))
				for k := 0; !done.Load(); k++ {
					if _, err := exchange(rng, i, j, 0.1, k%50 == 49); err != nil {
						errs <- fmt.Errorf("%s→%s: %w", ids[i], ids[j], err)
						return
					}
				}
			}()
		}
		others.Add(1)
		go func() { // a reader
			defer others.Done()
			for !done.Load() {
				reps[i].Lag()
				reps[i].Stats()
				reps[i].Read(func(s *crdt.ORSet[string]) { s.Len() })
				if _, err := reps[i].Digest(); err != nil {
					errs <- err
					return
				}
				reps[i].State()
			}
		}()
	}
	writers.Wait()
	done.Store(true)
	others.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// Settle without loss.
	rng := rand.New(rand.NewPCG(0, 0))
	for round := 0; ; round++ {
		if round == 20 {
			t.Fatal("no quiescence")
		}
		busy := false
		for i := range reps {
			for j := range reps {
				if i != j {
					sent, err := exchange(rng, i, j, 0, false)
					if err != nil {
						t.Fatal(err)
					}
					busy = busy || sent
				}
			}
		}
		if !busy {
			break
		}
	}
	want := reps[0].State()
	for i, r := range reps {
		if got := r.State(); !got.Equal(want) {
			t.Fatalf("%s differs from %s after settling", ids[i], ids[0])
		}
	}
	if got, wantLen := want.Len(), n*(writes-2*writes/10); got != wantLen {
		t.Fatalf("got %d elements, want %d", got, wantLen)
	}
}
