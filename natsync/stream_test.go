package natsync_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/natsync"
	"github.com/converge-go/converge/vclock"
	"github.com/nats-io/nats.go"
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
	open := func() *merge.Replica[cart] {
		r, err := merge.Open(all[2], newCart, store, replicaOpts...)
		if err != nil {
			t.Fatal(err)
		}
		addPeers(t, r, all)
		return r
	}
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
	open := func() *merge.Replica[cart] {
		r, err := merge.Open(all[1], newCart, store, replicaOpts...)
		if err != nil {
			t.Fatal(err)
		}
		addPeers(t, r, all)
		return r
	}
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
