package natsync_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/natsync"
	"github.com/converge-go/converge/vclock"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A stopped replica, restarted from its store, replays from its peers'
// streams what they wrote while it was down — even with those peers gone
// by then, so that nothing but the streams can have brought it.
func TestStreamReplaysWhatAReplicaMissed(t *testing.T) {
	s := startServer(t, true)
	all := ids(3)
	stream := natsync.WithStream(natsync.Stream{})
	r0, r1 := newReplica(t, all[0], all), newReplica(t, all[1], all)
	t0 := startTransport(t, connect(t, s.ClientURL()), r0, stream)
	t1 := startTransport(t, connect(t, s.ClientURL()), r1, stream)
	store := merge.NewMemoryStore()
	open := opener(t, all[2], all, store)
	r2 := open()
	nc2 := connect(t, s.ClientURL())
	t2 := startTransport(t, nc2, r2, stream)
	add(t, t0, "r0-before", 3)
	add(t, t2, "r2-before", 3)
	waitEqual(t, 10*time.Second, 6, r0, r1, r2)

	// r2 stops; the others write, then stop too.
	t2.Close()
	r2.Close()
	nc2.Close()
	for i := range 10 {
		add(t, t0, fmt.Sprint("r0-down", i), 1)
		add(t, t1, fmt.Sprint("r1-down", i), 1)
		time.Sleep(5 * time.Millisecond)
	}
	waitEqual(t, 10*time.Second, 26, r0, r1)
	time.Sleep(100 * time.Millisecond) // the last bundles reach the streams
	t0.Close()
	t1.Close()

	r2 = open()
	t2 = startTransport(t, connect(t, s.ClientURL()), r2, stream)
	waitEqual(t, 15*time.Second, 26, r0, r2) // bundles pulled and not taken come back after the ack wait (5 s)
	if st := t2.Stats(); st.StreamReceived == 0 {
		t.Errorf("restarted r2 read %d bundles from the streams, want some", st.StreamReceived)
	}
	for _, l := range r2.Lag() {
		if l.FullStatesReceived != 0 {
			t.Errorf("r2 got %d full states from %s, want none: the streams alone were to bring it", l.FullStatesReceived, l.Peer)
		}
	}

	// The writers come back; everyone writes and agrees.
	t0 = startTransport(t, connect(t, s.ClientURL()), r0, stream)
	t1 = startTransport(t, connect(t, s.ClientURL()), r1, stream)
	add(t, t0, "r0-after", 2)
	add(t, t1, "r1-after", 2)
	add(t, t2, "r2-after", 2)
	waitEqual(t, 10*time.Second, 32, r0, r1, r2)
}

// A replica down for longer than its peers' streams keep catches up by
// merge's own anti-entropy: the greeting of its restart, a digest
// exchange, a full state.
func TestStreamRetentionFallsBackToAntiEntropy(t *testing.T) {
	s := startServer(t, true)
	all := ids(2)
	stream := natsync.WithStream(natsync.Stream{MaxMsgs: 2})
	// A retransmission timeout beyond the test: each bundle carries only
	// the deltas not sent before, so the two kept hold the last writes
	// only.
	r0 := merge.New(all[0], newCart, merge.WithRetransmitTimeout(time.Hour))
	addPeers(t, r0, all)
	t0 := startTransport(t, connect(t, s.ClientURL()), r0, stream, natsync.WithDigestInterval(time.Hour))
	store := merge.NewMemoryStore()
	open := opener(t, all[1], all, store)
	r1 := open()
	nc1 := connect(t, s.ClientURL())
	t1 := startTransport(t, nc1, r1, stream)
	add(t, t0, "before", 2)
	waitEqual(t, 10*time.Second, 2, r0, r1)
	t1.Close()
	r1.Close()
	nc1.Close()
	for i := range 20 {
		if err := update(t0, func(w vclock.ReplicaID, s cart) cart { return s.Add(w, "down-"+string(rune('a'+i))) }); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)

	r1 = open()
	t1 = startTransport(t, connect(t, s.ClientURL()), r1, stream)
	waitEqual(t, 15*time.Second, 22, r0, r1)
	var full uint64
	for _, l := range r1.Lag() {
		full += l.FullStatesReceived
	}
	if full == 0 {
		t.Errorf("r1 caught up with %d full states, want one at least: the stream kept only 2 bundles", full)
	}
	_ = t1
}

// A Transport with a stream keeps working across a server restart that
// keeps the store: the consumers resume.
func TestStreamSurvivesServerRestart(t *testing.T) {
	s := startServer(t, true)
	all := ids(2)
	stream := natsync.WithStream(natsync.Stream{})
	r0, r1 := newReplica(t, all[0], all), newReplica(t, all[1], all)
	conns := []*nats.Conn{connect(t, s.ClientURL()), connect(t, s.ClientURL())}
	t0 := startTransport(t, conns[0], r0, stream)
	t1 := startTransport(t, conns[1], r1, stream)
	add(t, t0, "before", 3)
	waitEqual(t, 10*time.Second, 3, r0, r1)
	s2, err := s.Restart()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s2.Shutdown)
	add(t, t0, "after0", 3)
	add(t, t1, "after1", 3)
	waitEqual(t, 20*time.Second, 9, r0, r1)
}

// TestStreamReplayCostsTheMissedDeltas takes a region down — its replica
// stopped, then its server killed and restarted on its JetStream store —
// while the other region writes, and counts what the restarted replica
// receives until it has caught up: the bundles replayed from the stream,
// at most twice the encoded size of the deltas it missed. Each write adds
// 20 elements (deltas of about 320 bytes); a bundle's envelope adds about
// 60 bytes a message, which for one-element deltas would be most of it.
// The writer's retransmission timeout is longer than the outage: each
// retransmission to the peer that is down is kept in the stream too, and
// replayed, adding the deltas unacknowledged at that time once more (see
// "JetStream" in the package documentation).
func TestStreamReplayCostsTheMissedDeltas(t *testing.T) {
	s := startServer(t, true)
	all := ids(2)
	stream := natsync.WithStream(natsync.Stream{})
	r0 := merge.New(all[0], newCart, merge.WithRetransmitTimeout(time.Minute))
	addPeers(t, r0, all)
	t0 := startTransport(t, connect(t, s.ClientURL()), r0, stream)
	store := merge.NewMemoryStore()
	open := opener(t, all[1], all, store)
	r1 := open()
	nc1 := connect(t, s.ClientURL())
	t1 := startTransport(t, nc1, r1, stream)
	add(t, t0, "before", 3)
	waitEqual(t, 10*time.Second, 3, r0, r1)
	t1.Close()
	r1.Close()
	nc1.Close()

	const writes, perWrite = 30, 20
	missed := 0
	for i := range writes {
		err := update(t0, func(w vclock.ReplicaID, s cart) cart {
			d := new(crdt.ORSet[string])
			for j := range perWrite {
				d.Merge(s.Add(w, fmt.Sprintf("down-%02d-%02d", i, j)))
			}
			b, err := d.MarshalBinary()
			if err != nil {
				t.Error(err)
			}
			missed += len(b)
			return d
		})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Every bundle r0 published is in its stream before the restart.
	waitStreamHolds(t, s.ClientURL(), all[0], t0.Stats().Bundles)

	// The region's server is killed and restarted on its store.
	s2, err := s.Restart()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s2.Shutdown)
	r1 = open()
	t1 = startTransport(t, connect(t, s2.ClientURL()), r1, stream)
	waitEqual(t, 20*time.Second, 3+writes*perWrite, r0, r1)
	st := t1.Stats()
	t.Logf("missed %d deltas of %d bytes in all; received %d bytes (%.2fx) in %d messages, %d from the stream",
		writes, missed, st.ReceivedBytes, float64(st.ReceivedBytes)/float64(missed), st.Received, st.StreamReceived)
	if st.StreamReceived == 0 {
		t.Error("nothing replayed from the stream")
	}
	for _, l := range r1.Lag() {
		if l.FullStatesReceived != 0 {
			t.Errorf("r1 got %d full states from %s, want none: the stream was to bring it", l.FullStatesReceived, l.Peer)
		}
	}
	if st.ReceivedBytes > 2*uint64(missed) {
		t.Errorf("received %d bytes to catch up on %d bytes of deltas, want at most twice", st.ReceivedBytes, missed)
	}
}

// waitStreamHolds waits until the stream of replica id holds n bundles.
func waitStreamHolds(t *testing.T, url string, id vclock.ReplicaID, n uint64) {
	t.Helper()
	js, err := jetstream.New(connect(t, url))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, natsync.StreamName(natsync.DefaultPrefix, "carts", id))
	if err != nil {
		t.Fatal(err)
	}
	for {
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatalf("stream of %s: %v", id, err)
		}
		if info.State.Msgs >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("stream of %s holds %d bundles, want %d", id, info.State.Msgs, n)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// opener returns a func that opens replica id on store, with every other
// of all as a peer: the same replica, restarted, at each call.
func opener(t *testing.T, id vclock.ReplicaID, all []vclock.ReplicaID, store merge.Store) func() *merge.Replica[cart] {
	return func() *merge.Replica[cart] {
		t.Helper()
		r, err := merge.Open(id, newCart, store, replicaOpts...)
		if err != nil {
			t.Fatal(err)
		}
		addPeers(t, r, all)
		return r
	}
}
