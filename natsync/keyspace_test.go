package natsync_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/natsync"
	"github.com/converge-go/converge/natsync/internal/natstest"
	"github.com/converge-go/converge/vclock"
)

// newKeyspace returns keyspace id with every other of all as a peer.
func newKeyspace(t testing.TB, id vclock.ReplicaID, all []vclock.ReplicaID) *merge.Keyspace[string, cart] {
	t.Helper()
	ks := merge.NewKeyspace[string](id, newCart, replicaOpts...)
	for _, p := range all {
		if p != id {
			if err := ks.AddPeer(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ks
}

// waitKeyspacesEqual waits until every keyspace holds want keys and all
// have the same tree root, then checks that every key's state is equal.
func waitKeyspacesEqual(t testing.TB, timeout time.Duration, want int, ks ...*merge.Keyspace[string, cart]) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok := true
		for _, k := range ks {
			ok = ok && k.Len() == want && k.Root() == ks[0].Root()
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, k := range ks {
				fmt.Fprintf(&b, "\n%s: %d keys, root %x", k.ID(), k.Len(), k.Root())
			}
			t.Fatalf("not converged after %v, want %d keys each:%s", timeout, want, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for key, s := range ks[0].All() {
		for _, k := range ks[1:] {
			k.Read(key, func(o cart) {
				if !o.Equal(s) {
					t.Errorf("%s: %s holds %d elements, %s %d", key, ks[0].ID(), s.Len(), k.ID(), o.Len())
				}
			})
		}
	}
}

// TestKeyspacesOverSupercluster runs one keyspace per region in three
// clusters joined by gateways, every region writing to keys the others
// write too, through 20% loss of what the Transports publish: every
// keyspace ends with the same states, the loss repaired by
// retransmission and tree passes.
func TestKeyspacesOverSupercluster(t *testing.T) {
	wan, err := natstest.Supercluster("us", "eu", "ap")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wan.Shutdown)
	servers := wan.Servers
	all := ids(3)
	loss := &lossy{rng: rand.New(rand.NewPCG(3, 4)), p: 0.2}
	var ks []*merge.Keyspace[string, cart]
	var ts []*natsync.Transport
	for i, id := range all {
		k := newKeyspace(t, id, all)
		tr, err := natsync.New(connect(t, servers[i].ClientURL()), "carts", k, transportOpts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tr.Close() })
		natsync.SetDrop(tr, loss.drop)
		ks, ts = append(ks, k), append(ts, tr)
	}
	const keys, writes = 40, 60
	var wg sync.WaitGroup
	for i := range ks {
		wg.Go(func() {
			for j := range writes {
				key := fmt.Sprintf("cart-%d", (i*7+j)%keys)
				err := ks[i].Update(key, func(w vclock.ReplicaID, s cart) cart { return s.Add(w, fmt.Sprint(all[i], "-", j)) })
				if err != nil {
					t.Error(err)
				}
				ts[i].Notify()
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Wait()
	waitKeyspacesEqual(t, 30*time.Second, keys, ks...)
	total := 0
	for _, s := range ks[0].All() {
		total += s.Len()
	}
	if total != len(ks)*writes {
		t.Errorf("%d elements over every key, want %d", total, len(ks)*writes)
	}
	loss.mu.Lock()
	lost := loss.lost
	loss.mu.Unlock()
	if lost == 0 {
		t.Error("no message lost: the test does not test repair")
	}
	for _, tr := range ts {
		if st := tr.Stats(); st.Bundles == 0 || st.Received == 0 || st.Refused != 0 || st.Malformed != 0 {
			t.Errorf("%s: %+v, want bundles published and received, none refused or malformed", tr.Node().ID(), st)
		}
	}
}

// TestKeyspacesWithStreams carries keyspaces through JetStream streams:
// a keyspace that stops, while the others write, replays what they wrote
// from their streams when it starts again on the same state.
func TestKeyspacesWithStreams(t *testing.T) {
	s := startServer(t, true)
	all := ids(3)
	stream := natsync.WithStream(natsync.Stream{})
	var ks []*merge.Keyspace[string, cart]
	var ts []*natsync.Transport
	for _, id := range all {
		k := newKeyspace(t, id, all)
		tr, err := natsync.New(connect(t, s.ClientURL()), "carts", k, append(append([]natsync.Option{}, transportOpts...), stream)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tr.Close() })
		ks, ts = append(ks, k), append(ts, tr)
	}
	write := func(i int, key, e string) {
		t.Helper()
		if err := ks[i].Update(key, func(w vclock.ReplicaID, s cart) cart { return s.Add(w, e) }); err != nil {
			t.Fatal(err)
		}
		ts[i].Notify()
	}
	for i := range ks {
		write(i, fmt.Sprint("cart-", i), "before")
	}
	waitKeyspacesEqual(t, 10*time.Second, 3, ks...)

	ts[2].Close()
	for j := range 20 {
		write(j%2, fmt.Sprint("cart-", j%5), fmt.Sprint("down-", j))
		time.Sleep(2 * time.Millisecond)
	}
	tr, err := natsync.New(connect(t, s.ClientURL()), "carts", ks[2], append(append([]natsync.Option{}, transportOpts...), stream)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	waitKeyspacesEqual(t, 15*time.Second, 5, ks...)
	if st := tr.Stats(); st.StreamReceived == 0 {
		t.Error("the keyspace back read nothing from the streams")
	}
}
