package merge_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// reopen replaces replica i with one opened from store, as a process
// restarting does, with the peers of the cluster.
func reopen[T crdt.State[T]](c *cluster[T], i int, newState func() T, store merge.Store, opts ...merge.Option) {
	c.t.Helper()
	clock := hlc.New(hlc.WithPhysicalClock(func() int64 { return c.now + c.skew[i] }))
	r, err := merge.Open(c.ids[i], newState, store, append([]merge.Option{merge.WithClock(clock), c.random()}, opts...)...)
	if err != nil {
		c.t.Fatal(err)
	}
	for j, id := range c.ids {
		if j != i {
			if err := r.AddPeer(id); err != nil {
				c.t.Fatal(err)
			}
		}
	}
	c.reps[i] = r
}

func requireElems(t tb, s *crdt.ORSet[string], want []string) {
	t.Helper()
	got := slices.Collect(s.All())
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("holds %v, want %v", got, want)
	}
}

func TestOpenRestoresStateAndClock(t *testing.T) {
	store := merge.NewMemoryStore()
	r, err := merge.Open("us-east", newSet, store)
	if err != nil {
		t.Fatal(err)
	}
	first := r.Writer()
	for _, e := range []string{"hat", "scarf", "gloves"} {
		if err := r.Update(add(e)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Update(remove("scarf")); err != nil {
		t.Fatal(err)
	}
	last := r.Clock().Last()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Update(add("boots")); !errors.Is(err, merge.ErrClosed) {
		t.Fatalf("Update after Close: %v, want ErrClosed", err)
	}
	requireElems(t, r.State(), []string{"hat", "gloves"})

	// The next process: its wall clock is an hour behind.
	behind := time.Now().Add(-time.Hour).UnixNano()
	clock := hlc.New(hlc.WithPhysicalClock(func() int64 { return behind }))
	r2, err := merge.Open("us-east", newSet, store, merge.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	requireElems(t, r2.State(), []string{"hat", "gloves"})
	if r2.Writer() == first {
		t.Fatalf("the reopened replica writes as %s again", first)
	}
	if now := r2.Clock().Now(); now <= last {
		t.Fatalf("the reopened clock issued %v, not after %v", now, last)
	}
	if err := r2.Update(add("boots")); err != nil {
		t.Fatal(err)
	}
	requireElems(t, r2.State(), []string{"hat", "gloves", "boots"})
}

// TestOpenStoresWhatItReceives: a payload merged by Receive is on the
// store when Receive returns, and so survives a restart with nobody to
// send it again.
func TestOpenStoresWhatItReceives(t *testing.T) {
	c := newCluster(t, 2, newSet)
	store := merge.NewMemoryStore()
	reopen(c, 0, newSet, store)
	c.update(1, add("hat"))
	c.settle()
	reopen(c, 0, newSet, store)
	requireElems(t, c.reps[0].State(), []string{"hat"})
}

// slowStore is a MemoryStore whose Appends take a while, as an fsync
// does, and can be made to fail.
type slowStore struct {
	*merge.MemoryStore
	delay time.Duration
	mu    sync.Mutex
	fail  error
}

func (s *slowStore) Append(records [][]byte, floor hlc.Timestamp) error {
	time.Sleep(s.delay)
	s.mu.Lock()
	err := s.fail
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.MemoryStore.Append(records, floor)
}

func TestGroupCommit(t *testing.T) {
	store := &slowStore{MemoryStore: merge.NewMemoryStore(), delay: 2 * time.Millisecond}
	r, err := merge.Open("us-east", newCounter, store)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := r.Update(func(w vclock.ReplicaID, c *crdt.PNCounter) *crdt.PNCounter { return c.Inc(w, 1) }); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// Every Update returned once durable, and they shared Appends.
	if n := store.Appends(); n >= writers*each/2 {
		t.Fatalf("%d Appends for %d Updates by %d writers: no group commit", n, writers*each, writers)
	}
	r2, err := merge.Open("us-east", newCounter, store)
	if err != nil {
		t.Fatal(err)
	}
	if v := r2.State().Value(); v != writers*each {
		t.Fatalf("reopened with %d, want %d", v, writers*each)
	}
}

// TestAppendFailureStopsTheReplica: once an Append fails, the Updates
// waiting on it and every later one fail with the cause, and nothing more
// changes: the log holds no hole.
func TestAppendFailureStopsTheReplica(t *testing.T) {
	store := &slowStore{MemoryStore: merge.NewMemoryStore()}
	r, err := merge.Open("us-east", newSet, store)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Update(add("hat")); err != nil {
		t.Fatal(err)
	}
	full := errors.New("disk full")
	store.fail = full
	if err := r.Update(add("scarf")); !errors.Is(err, full) || !errors.Is(err, merge.ErrClosed) {
		t.Fatalf("Update on a failing store: %v, want disk full and ErrClosed", err)
	}
	store.fail = nil
	if err := r.Update(add("gloves")); !errors.Is(err, full) {
		t.Fatalf("Update after the failure: %v, want disk full", err)
	}
	requireElems(t, r.State(), []string{"hat", "scarf"})
	if err := r.Compact(); !errors.Is(err, full) {
		t.Fatalf("Compact after the failure: %v, want disk full", err)
	}
	r2, err := merge.Open("us-east", newSet, store)
	if err != nil {
		t.Fatal(err)
	}
	requireElems(t, r2.State(), []string{"hat"})
}

// TestCompactWhileWriting: compactions running next to writers keep
// every write, and leave only the records since the last one.
func TestCompactWhileWriting(t *testing.T) {
	store := merge.NewMemoryStore()
	r, err := merge.Open("us-east", newSet, store)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	const writers, each = 4, 50
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range each {
				if err := r.Update(add(fmt.Sprintf("%d-%d", i, k))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	compactions := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-done:
				compactions <- n
				return
			default:
			}
			if err := r.Compact(); err != nil {
				t.Error(err)
			}
			n++
		}
	}()
	wg.Wait()
	close(done)
	if n := <-compactions; n == 0 {
		t.Fatal("no compaction ran")
	}
	if err := r.Compact(); err != nil {
		t.Fatal(err)
	}
	st, _ := store.Load()
	if len(st.Records) != 0 || st.Next != writers*each {
		t.Fatalf("after a last compaction: %d records, next %d; want 0 and %d", len(st.Records), st.Next, writers*each)
	}
	r.Close()
	r2, err := merge.Open("us-east", newSet, store)
	if err != nil {
		t.Fatal(err)
	}
	if n := r2.State().Len(); n != writers*each {
		t.Fatalf("reopened with %d elements, want %d", n, writers*each)
	}
}

func TestMemoryStoreCompactRange(t *testing.T) {
	s := merge.NewMemoryStore()
	if err := s.Append([][]byte{{1}, {2}, {3}}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact([]byte{9}, 2); err != nil {
		t.Fatal(err)
	}
	for _, through := range []uint64{1, 4} {
		if err := s.Compact([]byte{8}, through); !errors.Is(err, merge.ErrCompactRange) {
			t.Fatalf("Compact through %d: %v, want ErrCompactRange", through, err)
		}
	}
	st, _ := s.Load()
	if string(st.Snapshot) != "\x09" || len(st.Records) != 1 || st.Next != 3 {
		t.Fatalf("a refused compaction changed the store: %+v", st)
	}
}

func TestOpenRefusesWhatItCannotDecode(t *testing.T) {
	for name, st := range map[string]merge.Stored{
		"snapshot": {Snapshot: []byte{0xc1}},
		"record":   {Records: [][]byte{{0xc1}}, Next: 1},
	} {
		s := merge.NewMemoryStore()
		if st.Snapshot != nil {
			s.Compact(st.Snapshot, 0)
		}
		s.Append(st.Records, 0)
		if _, err := merge.Open("us-east", newSet, s); err == nil {
			t.Errorf("%s: Open accepted an undecodable %s", name, name)
		}
	}
	if _, err := merge.Open[*crdt.ORSet[string]]("us-east", newSet, nil); err == nil {
		t.Error("Open accepted a nil Store")
	}
}

// TestRestartWithPeers: a durable replica restarts, with what its peers
// sent it on its own store, writes at once, and the cluster converges
// with nothing refused.
func TestRestartWithPeers(t *testing.T) {
	c := newCluster(t, 3, newSet)
	store := merge.NewMemoryStore()
	reopen(c, 0, newSet, store)
	c.update(0, add("hat"))
	c.update(1, add("scarf"))
	c.settle()
	c.update(0, add("gloves")) // durable here, sent nowhere
	reopen(c, 0, newSet, store)
	c.update(0, add("boots"))
	rounds, refused := c.settleLoose(10)
	requireAll(t, c, []string{"hat", "scarf", "gloves", "boots"})
	c.requireConverged()
	if refused != 0 || rounds > 3 {
		t.Fatalf("%d refusals and %d rounds after the restart", refused, rounds)
	}
}

// TestRestartedPeerAcknowledgesBeforeFullState checks the rule for a peer
// that restarts holding every delta (it replayed them from a log): its
// greeting, which acknowledges nothing, does not draw a full state at
// once; its acknowledgement, which follows, settles it with nothing
// more; and a restarted peer that never acknowledges gets the full state
// after one retransmission timeout.
func TestRestartedPeerAcknowledgesBeforeFullState(t *testing.T) {
	const rto = 20 * time.Millisecond
	for _, acks := range []bool{true, false} {
		hub := merge.New("hub", newSet, merge.WithRetransmitTimeout(rto), merge.WithMaxDeltas(2))
		store := merge.NewMemoryStore()
		peer, err := merge.Open("peer", newSet, store, merge.WithRetransmitTimeout(rto))
		if err != nil {
			t.Fatal(err)
		}
		hub.AddPeer("peer")
		peer.AddPeer("hub")
		for _, e := range []string{"a", "b", "c", "d", "e"} {
			if err := hub.Update(add(e)); err != nil {
				t.Fatal(err)
			}
			settle(t, hub, peer)
		}
		peer.Close()
		time.Sleep(2 * time.Millisecond) // its clock past what it sent
		peer, err = merge.Open("peer", newSet, store, merge.WithRetransmitTimeout(rto))
		if err != nil {
			t.Fatal(err)
		}
		peer.AddPeer("hub")
		hello, err := peer.Sync("hub") // the restart's digest, or a greeting: it acknowledges none of hub's deltas
		if err != nil || hello == nil {
			t.Fatalf("restarted peer's first Sync: %v, %v", hello, err)
		}
		if _, err := hub.Receive(hello); err != nil {
			t.Fatal(err)
		}
		if msg, _ := hub.Sync("peer"); msg != nil && msg[2] == 33 {
			t.Fatalf("acks=%v: hub sent the restarted peer its full state at once", acks)
		}
		if acks {
			// A delta of the hub's current incarnation reaches the peer,
			// which acknowledges every delta it holds.
			hub.Update(add("f"))
			msg, _ := hub.Sync("peer")
			reply, err := peer.Receive(msg)
			if err != nil || reply == nil {
				t.Fatalf("peer's reply: %v, %v", reply, err)
			}
			if _, err := hub.Receive(reply); err != nil {
				t.Fatal(err)
			}
			settle(t, hub, peer)
			for _, l := range hub.Lag() {
				if l.FullStatesSent != 0 {
					t.Errorf("hub sent %d full states to a restarted peer that acknowledged everything", l.FullStatesSent)
				}
			}
			continue
		}
		time.Sleep(2 * rto)
		if msg, _ := hub.Sync("peer"); msg == nil || msg[2] != 33 {
			t.Errorf("a restarted peer silent for a retransmission timeout: hub sent %v, want its full state", msg)
		}
	}
}
