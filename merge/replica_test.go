package merge_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

func TestSyncConverges(t *testing.T) {
	c := newCluster(t, 3, newSet)
	for i := range c.reps {
		c.update(i, add(fmt.Sprint("from-", c.ids[i])))
	}
	c.syncAll()
	c.deliverAll()
	c.requireConverged()
	if got := c.reps[0].State().Len(); got != 3 {
		t.Fatalf("got %d elements, want 3", got)
	}
	// Everything is acknowledged, the greetings answered: nothing is left
	// to send, and nothing buffered.
	c.settle()
	for i, r := range c.reps {
		for _, l := range r.Lag() {
			if l.FullStatesSent != 0 {
				t.Fatalf("%s: %+v, want no full state", c.ids[i], l)
			}
		}
	}
	c.advance(time.Hour)
	c.syncAll()
	if len(c.queue) != 0 {
		t.Fatalf("got %d messages after convergence, want none", len(c.queue))
	}
	for i, r := range c.reps {
		if s := r.Stats(); s.Buffered != 0 || s.BufferedBytes != 0 {
			t.Errorf("%s: %d deltas (%d bytes) buffered after every ack, want none", c.ids[i], s.Buffered, s.BufferedBytes)
		}
	}
}

func TestDuplicatesAreHarmless(t *testing.T) {
	c := newCluster(t, 2, newCounter)
	c.update(0, func(id vclock.ReplicaID, s *crdt.PNCounter) *crdt.PNCounter { return s.Inc(id, 5) })
	msg := c.sync(0, 1)
	for i := 0; i < 3; i++ {
		c.deliver(packet{0, 1, msg})
	}
	c.deliverAll()
	if got := c.reps[1].State().Value(); got != 5 {
		t.Fatalf("got %d after a delta delivered 3 times, want 5", got)
	}
	c.requireConverged()
}

func TestReorderingIsHarmless(t *testing.T) {
	c := newCluster(t, 2, newSet)
	var msgs [][]byte
	for _, e := range []string{"a", "b", "c", "d"} {
		c.update(0, add(e))
		msgs = append(msgs, c.sync(0, 1)) // each carries only the new delta
	}
	c.update(0, remove("b"))
	msgs = append(msgs, c.sync(0, 1))
	c.queue = nil
	// Deliver backwards; acknowledgements go back as they come.
	for i := len(msgs) - 1; i >= 0; i-- {
		c.deliver(packet{0, 1, msgs[i]})
	}
	c.deliverAll()
	c.requireConverged()
	if got := slices.Collect(c.reps[1].State().All()); !slices.Equal(got, []string{"a", "c", "d"}) {
		t.Fatalf("got %v, want [a c d]", got)
	}
	// The receiver merged the later intervals while it waited for the
	// first, so the last acknowledgement covers all five deltas.
	if l := c.reps[0].Lag()[0]; l.Acked != 5 || l.Unacked != 0 {
		t.Fatalf("got Acked %d, Unacked %d, want 5, 0", l.Acked, l.Unacked)
	}
}

func TestLossRecoveredByRetransmission(t *testing.T) {
	c := newCluster(t, 2, newSet)
	c.update(0, add("a"))
	c.sync(0, 1)
	c.queue = nil // lost
	c.update(0, add("b"))
	c.sync(0, 1) // carries only b: a was sent, and the timeout has not passed
	c.deliverAll()
	if c.reps[1].State().Contains("a") {
		t.Fatal("a arrived although its message was lost")
	}
	if l := c.reps[0].Lag()[0]; l.Acked != 0 || l.Unacked != 2 {
		t.Fatalf("got Acked %d, Unacked %d; want 0, 2 (b is merged but cannot be acknowledged before a)", l.Acked, l.Unacked)
	}
	if msg := c.sync(0, 1); msg != nil {
		t.Fatal("Sync sent again before the retransmission timeout")
	}
	c.advance(merge.DefaultRetransmitTimeout)
	if c.sync(0, 1) == nil {
		t.Fatal("Sync did not retransmit after the timeout")
	}
	c.deliverAll()
	c.requireConverged()
	if l := c.reps[0].Lag()[0]; l.Acked != 2 || l.FullStatesSent != 0 {
		t.Fatalf("got Acked %d, FullStatesSent %d; want 2, 0", l.Acked, l.FullStatesSent)
	}
}

func TestLostAcknowledgement(t *testing.T) {
	c := newCluster(t, 2, newSet, merge.WithRetransmitTimeout(0))
	c.update(0, add("a"))
	c.sync(0, 1)
	c.deliver(c.take(0))
	c.queue = nil // the ack is lost
	c.update(0, add("b"))
	msg := c.sync(0, 1)
	if msg == nil {
		t.Fatal("no message")
	}
	c.deliverAll()
	c.requireConverged()
	if l := c.reps[0].Lag()[0]; l.Acked != 2 {
		t.Fatalf("got Acked %d, want 2", l.Acked)
	}
}

func TestPartitionLongerThanBuffer(t *testing.T) {
	c := newCluster(t, 3, newSet, merge.WithMaxDeltas(8))
	c.update(0, add("before"))
	c.syncAll()
	c.deliverAll()

	// us-east and eu-west are cut off from each other; ap-south still
	// reaches both. us-east writes more than its buffer holds.
	for i := 0; i < 20; i++ {
		c.advance(100 * time.Millisecond)
		c.update(0, add(fmt.Sprint("during-", i)))
		c.update(1, add(fmt.Sprint("eu-", i)))
		c.syncAll()
		var kept []packet
		for _, p := range c.queue {
			if p.from+p.to != 1 { // drop every packet between 0 and 1
				kept = append(kept, p)
			}
		}
		c.queue = kept
		c.deliverAll()
	}
	if s := c.reps[0].Stats(); s.Buffered > 8 || s.Overflowed == 0 {
		t.Fatalf("got %d buffered, %d overflowed; want at most 8, some", s.Buffered, s.Overflowed)
	}
	lag := c.reps[0].Lag() // ap-south, eu-west
	if !lag[1].NeedsFullState || lag[1].Unacked != 20 {
		t.Fatalf("eu-west: got %+v, want NeedsFullState and 20 unacked", lag[1])
	}
	if lag[1].OldestUnacked < 1900*time.Millisecond {
		t.Fatalf("eu-west: oldest unacked delta is %v old, want about 2s", lag[1].OldestUnacked)
	}
	if lag[0].NeedsFullState || lag[0].Unacked != 0 {
		t.Fatalf("ap-south: got %+v, want it caught up", lag[0])
	}

	// The partition heals.
	c.settle()
	c.requireConverged()
	if got, want := c.reps[0].State().Len(), 41; got != want {
		t.Fatalf("got %d elements, want %d", got, want)
	}
	// One full state went into the partition, at the first
	// retransmission after the overflow (1 s); the timeout then doubled to
	// 2 s, past the end of the partition, and the next one got through.
	lag = c.reps[0].Lag()
	if lag[1].FullStatesSent != 2 || lag[0].FullStatesSent != 0 {
		t.Fatalf("got FullStatesSent %d to eu-west and %d to ap-south, want 2 and 0", lag[1].FullStatesSent, lag[0].FullStatesSent)
	}
	if got := c.reps[1].Lag()[1].FullStatesReceived; got != 1 {
		t.Fatalf("eu-west: got FullStatesReceived %d from us-east, want 1", got)
	}
	if lag[1].NeedsFullState || lag[1].OldestUnacked != 0 {
		t.Fatalf("eu-west: got %+v after healing", lag[1])
	}
}

func TestGarbageCollection(t *testing.T) {
	c := newCluster(t, 3, newSet)
	for i := 0; i < 10; i++ {
		c.update(0, add(fmt.Sprint(i)))
	}
	if s := c.reps[0].Stats(); s.Buffered != 10 || s.BufferedBytes == 0 {
		t.Fatalf("got %d buffered (%d bytes), want 10", s.Buffered, s.BufferedBytes)
	}
	// Only eu-west acknowledges: ap-south still needs everything.
	c.sync(0, 1)
	c.deliverAll()
	if s := c.reps[0].Stats(); s.Buffered != 10 {
		t.Fatalf("got %d buffered with one peer behind, want 10", s.Buffered)
	}
	c.update(0, add("x"))
	c.sync(0, 2)
	c.deliverAll()
	// ap-south has all 11; eu-west 10: one is kept for it.
	if s := c.reps[0].Stats(); s.Buffered != 1 {
		t.Fatalf("got %d buffered, want 1", s.Buffered)
	}
	c.sync(0, 1)
	c.deliverAll()
	if s := c.reps[0].Stats(); s.Buffered != 0 || s.BufferedBytes != 0 || s.Overflowed != 0 {
		t.Fatalf("got %+v, want an empty buffer and nothing overflowed", s)
	}
}

func TestNoPeersKeepsNoDeltas(t *testing.T) {
	r := merge.New[*crdt.ORSet[string]]("solo", newSet)
	for i := 0; i < 5; i++ {
		if err := r.Update(func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, fmt.Sprint(i)) }); err != nil {
			t.Fatal(err)
		}
	}
	if s := r.Stats(); s.Buffered != 0 || s.Deltas != 5 {
		t.Fatalf("got %+v, want 5 deltas and none buffered", s)
	}
	// A peer added later gets the full state.
	if err := r.AddPeer("late"); err != nil {
		t.Fatal(err)
	}
	late := merge.New[*crdt.ORSet[string]]("late", newSet)
	if err := late.AddPeer("solo"); err != nil {
		t.Fatal(err)
	}
	msg, err := r.Sync("late")
	if err != nil || msg == nil {
		t.Fatalf("Sync: %v, %v", msg, err)
	}
	reply, err := late.Receive(msg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Receive(reply); err != nil {
		t.Fatal(err)
	}
	if l := r.Lag()[0]; l.FullStatesSent != 1 || l.Acked != 5 {
		t.Fatalf("got %+v", l)
	}
	if late.State().Len() != 5 {
		t.Fatal("the late peer did not get the state")
	}
}

func TestNilDeltaBuffersNothing(t *testing.T) {
	c := newCluster(t, 2, newSet)
	c.settle() // the first messages, which greet each incarnation
	c.update(0, func(vclock.ReplicaID, *crdt.ORSet[string]) *crdt.ORSet[string] { return nil })
	if s := c.reps[0].Stats(); s.Deltas != 0 {
		t.Fatalf("got %d deltas, want 0", s.Deltas)
	}
	if c.sync(0, 1) != nil {
		t.Fatal("Sync sent something for a nil delta")
	}
}

func TestDeltaGroups(t *testing.T) {
	c := newCluster(t, 3, newSet)
	for i := 0; i < 50; i++ {
		c.update(0, add(fmt.Sprint(i)))
	}
	// One message per peer carries the join of all 50 deltas.
	c.sync(0, 1)
	c.sync(0, 2)
	if len(c.queue) != 2 {
		t.Fatalf("got %d messages, want 2", len(c.queue))
	}
	c.deliver(c.take(0))
	c.deliver(c.take(0))
	if got := c.reps[1].State().Len(); got != 50 {
		t.Fatalf("got %d elements from one message, want 50", got)
	}
	c.deliverAll()
	c.requireConverged()
}

func TestDigestExchange(t *testing.T) {
	c := newCluster(t, 2, newSet)
	c.update(0, add("a"))
	c.settle() // the first exchanges, digests among them
	full := func(i int) uint64 { return c.reps[i].Lag()[0].FullStatesSent }
	before := []uint64{full(0), full(1)}

	// Equal replicas exchange only digests.
	c.digestRequest(0, 1)
	req := c.queue[0]
	c.deliver(c.take(0))
	if len(c.queue) != 1 {
		t.Fatalf("got %d replies, want 1", len(c.queue))
	}
	resp := c.queue[0]
	c.deliverAll()
	if len(req.data) > 100 || len(resp.data) > 100 {
		t.Fatalf("digest messages of %d and %d bytes", len(req.data), len(resp.data))
	}
	for i, r := range c.reps {
		if l := r.Lag()[0]; l.FullStatesSent != before[i] || l.Agreed == 0 {
			t.Fatalf("%s: got %+v after a digest exchange between equal replicas", c.ids[i], l)
		}
	}

	// Replicas that differ by deltas in flight, which their buffers still
	// hold, leave the difference to the deltas: the answer waits.
	c.update(1, add("in-flight"))
	c.digestRequest(0, 1)
	c.deliverAll()
	if l := c.reps[1].Lag()[0]; l.StatesDeferred == 0 || l.FullStatesSent != before[1] {
		t.Fatalf("eu-west: got %+v, want the state deferred", l)
	}
	c.settle()
	c.requireConverged()
	before = []uint64{full(0), full(1)}

	// Replicas that differ beyond their buffers exchange full states,
	// both ways if both lack something.
	c.reps[0].RemovePeer(c.ids[1])
	c.reps[1].RemovePeer(c.ids[0])
	c.update(0, add("only-0"))
	c.update(1, add("only-1"))
	if err := c.reps[0].AddPeer(c.ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := c.reps[1].AddPeer(c.ids[0]); err != nil {
		t.Fatal(err)
	}
	c.digestRequest(0, 1)
	c.deliverAll() // digest, state(push), state, ack
	c.requireConverged()
	for i, r := range c.reps {
		if n := r.Lag()[0].FullStatesSent - before[i]; n != 1 {
			t.Fatalf("%s sent %d full states, want 1", c.ids[i], n)
		}
	}
	// The states carried the deltas: nothing left to send but what the
	// peers already have, which they acknowledge.
	c.settle()
	c.requireConverged()
}

// restart replaces replica i with a new incarnation, as a process
// restarting does, and restores state into it, if not nil, as the process
// restores what it persisted: merged in by an Update, so that the restored
// state goes to the peers as a delta.
func restart[T crdt.State[T]](c *cluster[T], i int, newState func() T, state T, opts ...merge.Option) {
	c.t.Helper()
	c.advance(time.Second)
	clock := hlc.New(hlc.WithPhysicalClock(func() int64 { return c.now + c.skew[i] }))
	r := merge.New(c.ids[i], newState, append([]merge.Option{merge.WithClock(clock), c.random()}, opts...)...)
	for j, id := range c.ids {
		if j != i {
			if err := r.AddPeer(id); err != nil {
				c.t.Fatal(err)
			}
		}
	}
	var none T
	if any(state) != any(none) {
		if err := r.Update(func(_ vclock.ReplicaID, s T) T { s.Merge(state); return state }); err != nil {
			c.t.Fatal(err)
		}
	}
	c.reps[i] = r
}

func TestRestartedPeerCatchesUp(t *testing.T) {
	c := newCluster(t, 3, newSet, merge.WithMaxDeltas(4))
	for i := 0; i < 10; i++ {
		c.update(i%3, add(fmt.Sprint(i)))
	}
	c.settle()
	// eu-west writes, and crashes before its message leaves. It restarts
	// from its persisted state, with a new incarnation that numbers its
	// deltas from 0 again, and writes.
	c.update(1, add("unsent"))
	c.sync(1, 0)
	c.queue = nil
	restart(c, 1, newSet, c.reps[1].State(), merge.WithMaxDeltas(4))
	c.update(1, add("after-restart"))
	// Its peers believe it has what its previous incarnation
	// acknowledged until they hear from the new one, and then send it
	// what it lacks; it sends them its restored state and its new write.
	c.settle()
	c.requireConverged()
	if got := c.reps[0].State().Len(); got != 12 {
		t.Fatalf("got %d elements, want 12", got)
	}
}

func TestRestartWithLostStateCatchesUp(t *testing.T) {
	// A replica that lost its state gets its old writes back from a peer
	// at once with a digest exchange.
	c := newCluster(t, 2, newSet)
	for i := 0; i < 10; i++ {
		c.update(1, add(fmt.Sprint(i)))
	}
	c.settle()
	restart(c, 1, newSet, nil)
	c.digestRequest(1, 0)
	c.deliverAll()
	c.update(1, add("after-restart"))
	c.settle()
	c.requireConverged()
	if got := c.reps[0].State().Len(); got != 11 {
		t.Fatalf("got %d elements, want 11", got)
	}
}

func TestRestartedReplicaWritesAtOnce(t *testing.T) {
	// A replica that lost its state writes before it has caught up: as a
	// new incarnation it writes under a new writer ID, so its new write
	// cannot reuse the event of its old one, and both survive.
	c := newCluster(t, 2, newSet)
	c.update(1, add("old"))
	c.settle()
	restart(c, 1, newSet, nil)
	c.update(1, add("new"))
	c.settle()
	c.requireConverged()
	if got := slices.Collect(c.reps[0].State().All()); !slices.Equal(got, []string{"new", "old"}) {
		t.Fatalf("got %v, want [new old]", got)
	}
}

func TestStaleIncarnation(t *testing.T) {
	// A message from a peer's previous incarnation, delivered after its
	// restart, is refused as stale and changes nothing; the replicas
	// still converge, and the old write, restored, survives.
	c := newCluster(t, 2, newSet, merge.WithMaxDeltas(2))
	c.update(1, add("old"))
	old := c.sync(1, 0)
	c.queue = nil
	restart(c, 1, newSet, c.reps[1].State(), merge.WithMaxDeltas(2))
	for i := 0; i < 5; i++ {
		c.update(0, add(fmt.Sprint(i)))
		c.update(1, add(fmt.Sprint("new-", i)))
	}
	c.syncAll()
	c.deliverAll()
	if _, err := c.reps[0].Receive(old); !errors.Is(err, merge.ErrStaleIncarnation) {
		t.Fatalf("the old incarnation's late message: got %v, want ErrStaleIncarnation", err)
	}
	c.settle()
	c.requireConverged()
	if !c.reps[0].State().Contains("old") {
		t.Fatal("the old incarnation's write was lost")
	}
}

func TestUnknownPeerAndMisaddressed(t *testing.T) {
	c := newCluster(t, 3, newSet)
	c.update(0, add("a"))
	msg := c.sync(0, 1)
	// To the wrong replica.
	if _, err := c.reps[2].Receive(msg); !errors.Is(err, merge.ErrMisaddressed) {
		t.Fatalf("got %v, want ErrMisaddressed", err)
	}
	// From a replica removed as a peer.
	c.reps[1].RemovePeer(c.ids[0])
	_, err := c.reps[1].Receive(msg)
	if !errors.Is(err, merge.ErrUnknownPeer) {
		t.Fatalf("got %v, want ErrUnknownPeer", err)
	}
	var me *merge.MessageError
	if !errors.As(err, &me) || me.From != c.ids[0] {
		t.Fatalf("got %#v, want a *MessageError from %s", err, c.ids[0])
	}
	if _, err := c.reps[0].Sync("nobody"); !errors.Is(err, merge.ErrUnknownPeer) {
		t.Fatalf("Sync: got %v, want ErrUnknownPeer", err)
	}
	if _, err := c.reps[0].SyncDigest("nobody"); !errors.Is(err, merge.ErrUnknownPeer) {
		t.Fatalf("SyncDigest: got %v, want ErrUnknownPeer", err)
	}
	if err := c.reps[0].AddPeer(c.ids[0]); err == nil {
		t.Fatal("AddPeer of itself succeeded")
	}
	if err := c.reps[0].AddPeer(""); err == nil {
		t.Fatal("AddPeer of an empty ID succeeded")
	}
	if got := c.reps[0].Peers(); !slices.Equal(got, []vclock.ReplicaID{"ap-south", "eu-west"}) {
		t.Fatalf("got peers %v", got)
	}
}

func TestClockOffsetRejected(t *testing.T) {
	c := newCluster(t, 2, newSet)
	c.skew[0] = int64(time.Second) // us-east's clock runs 1 s fast: beyond the 500 ms default
	c.update(0, add("a"))
	msg := c.sync(0, 1)
	before := encode(t, c.reps[1].State())
	_, err := c.reps[1].Receive(msg)
	if !errors.Is(err, hlc.ErrClockOffset) {
		t.Fatalf("got %v, want ErrClockOffset", err)
	}
	if got := encode(t, c.reps[1].State()); !bytes.Equal(got, before) {
		t.Fatal("a refused message changed the state")
	}
	if s := c.reps[1].Stats(); s.ClockRejected != 1 || s.Rejected != 1 || s.Clock.Rejected != 1 {
		t.Fatalf("got %+v, want 1 clock rejection", s)
	}
	if l := c.reps[1].Lag()[0]; l.ClockRejected != 1 || l.Rejected != 1 || l.MessagesReceived != 0 {
		t.Fatalf("got %+v", l)
	}
	// The clock comes back: the retransmission goes through.
	c.skew[0] = 0
	c.advance(2 * time.Second)
	c.queue = nil
	c.settle()
	c.requireConverged()
}

// TestConflictingEventDefersToItsSource: two processes that share a
// writer ID (a bug: two processes given one incarnation) write different
// elements with the same dot. The second one's delta, in the writer's
// own replica's name, overrules what the receiver held; the first one's
// next state overrules it back. The receiver refuses nothing of its own
// writer's: it is that writer's source.
func TestConflictingEventDefersToItsSource(t *testing.T) {
	c := newCluster(t, 2, newSet)
	c.update(0, add("a"))
	c.syncAll()
	c.deliverAll()
	c.advance(time.Second) // later than the real one's messages: taken for a restart
	impostor := merge.New[*crdt.ORSet[string]](c.ids[0], newSet, merge.WithClock(hlc.New(hlc.WithPhysicalClock(func() int64 { return c.now }))))
	if err := impostor.AddPeer(c.ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := impostor.Update(func(_ vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] {
		return s.Add(c.reps[0].Writer(), "b")
	}); err != nil {
		t.Fatal(err)
	}
	msg, err := impostor.Sync(c.ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.reps[1].Receive(msg); err != nil {
		t.Fatal(err)
	}
	requireElems(t, c.reps[1].State(), []string{"b"})
	if n := c.reps[1].Lag()[0].Overruled; n != 1 {
		t.Fatalf("Overruled = %d, want 1", n)
	}

	// eu-west's state now holds, for us-east's writer, what us-east never
	// wrote: us-east refuses it, unchanged, and sends its own.
	msg = forge(mState, c.from(1, 0), u(0), boolean(false), bin(encode(t, c.reps[1].State())))
	before := encode(t, c.reps[0].State())
	if _, err := c.reps[0].Receive(msg); !errors.Is(err, crdt.ErrInconsistent) {
		t.Fatalf("us-east took its own writer's event from another: %v, want ErrInconsistent", err)
	}
	if got := encode(t, c.reps[0].State()); !bytes.Equal(got, before) {
		t.Fatal("a refused message changed the state")
	}
	c.queue = nil
	rounds, _ := c.settleLoose(10)
	c.requireConverged()
	requireElems(t, c.reps[1].State(), []string{"a"})
	if rounds > 4 {
		t.Fatalf("%d rounds to converge", rounds)
	}
}

func TestLagFigures(t *testing.T) {
	c := newCluster(t, 2, newCounter)
	c.update(0, func(id vclock.ReplicaID, s *crdt.PNCounter) *crdt.PNCounter { return s.Inc(id, 1) })
	c.advance(300 * time.Millisecond)
	c.update(0, func(id vclock.ReplicaID, s *crdt.PNCounter) *crdt.PNCounter { return s.Inc(id, 1) })
	c.advance(200 * time.Millisecond)
	l := c.reps[0].Lag()[0]
	if l.Peer != c.ids[1] || l.Acked != 0 || l.Unacked != 2 || l.OldestUnacked != 500*time.Millisecond {
		t.Fatalf("got %+v, want 2 unacked, the oldest 500ms old", l)
	}
	msg := c.sync(0, 1)
	c.deliverAll()
	l = c.reps[0].Lag()[0]
	if l.Acked != 2 || l.Unacked != 0 || l.OldestUnacked != 0 || l.MessagesSent != 1 || l.BytesSent != uint64(len(msg)) || l.MessagesReceived != 1 || l.BytesReceived == 0 || l.LastReceived == 0 {
		t.Fatalf("got %+v after the ack", l)
	}
	r := c.reps[1].Lag()[0]
	if r.MessagesReceived != 1 || r.BytesReceived != uint64(len(msg)) || r.MessagesSent != 1 || r.BytesSent != l.BytesReceived {
		t.Fatalf("receiver: got %+v", r)
	}
}

func TestRandomNetwork(t *testing.T) {
	// A quick, seeded soak: random updates, syncs, drops, duplicates and
	// delays among 4 replicas with skewed clocks and a small buffer.
	rng := rand.New(rand.NewPCG(1, 2))
	c := newCluster(t, 4, newSet, merge.WithMaxDeltas(5), merge.WithRetransmitTimeout(200*time.Millisecond))
	c.skew = []int64{0, int64(40 * time.Millisecond), -int64(30 * time.Millisecond), int64(100 * time.Millisecond)}
	for step := 0; step < 3000; step++ {
		c.advance(time.Duration(rng.IntN(20)) * time.Millisecond)
		switch k := rng.IntN(10); {
		case k < 3:
			i, e := rng.IntN(4), fmt.Sprint(rng.IntN(30))
			if rng.IntN(3) == 0 {
				c.update(i, remove(e))
			} else {
				c.update(i, add(e))
			}
		case k < 5:
			i, j := rng.IntN(4), rng.IntN(4)
			if i != j {
				c.sync(i, j)
			}
		case len(c.queue) == 0:
		case k < 8:
			c.deliver(c.take(rng.IntN(len(c.queue))))
		case k < 9:
			c.deliver(c.queue[rng.IntN(len(c.queue))]) // duplicate
		default:
			c.take(rng.IntN(len(c.queue))) // loss
		}
	}
	c.queue = nil
	c.settle()
	c.requireConverged()
}
