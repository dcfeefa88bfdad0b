package natsync_test

import (
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/natsync"
	"github.com/converge-go/converge/natsync/internal/natstest"
	"github.com/converge-go/converge/vclock"
	"github.com/nats-io/nats.go"
)

type cart = *crdt.ORSet[string]

func newCart() cart { return new(crdt.ORSet[string]) }

// Options the tests give every replica and transport: short timers, so
// that repairs happen within a test's patience.
var (
	replicaOpts   = []merge.Option{merge.WithRetransmitTimeout(200 * time.Millisecond)}
	transportOpts = []natsync.Option{
		natsync.WithSyncInterval(20 * time.Millisecond),
		natsync.WithDigestInterval(300 * time.Millisecond),
	}
)

func startServer(t testing.TB, jetStream bool) *natstest.Server {
	t.Helper()
	dir := ""
	if jetStream {
		dir = t.TempDir()
	}
	s, err := natstest.Start(natstest.Options(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func connect(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := natstest.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// ids returns the replica IDs r0, r1, ...
func ids(n int) []vclock.ReplicaID {
	out := make([]vclock.ReplicaID, n)
	for i := range out {
		out[i] = vclock.ReplicaID(fmt.Sprintf("r%d", i))
	}
	return out
}

// newReplica returns replica id with every other of all as a peer.
func newReplica(t testing.TB, id vclock.ReplicaID, all []vclock.ReplicaID) *merge.Replica[cart] {
	t.Helper()
	r := merge.New(id, newCart, replicaOpts...)
	addPeers(t, r, all)
	return r
}

func addPeers(t testing.TB, r *merge.Replica[cart], all []vclock.ReplicaID) {
	t.Helper()
	for _, p := range all {
		if p != r.ID() {
			if err := r.AddPeer(p); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func startTransport(t testing.TB, nc *nats.Conn, r *merge.Replica[cart], opts ...natsync.Option) *natsync.Transport {
	t.Helper()
	tr, err := natsync.New(nc, "carts", r, append(append([]natsync.Option{}, transportOpts...), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// add writes n items named prefix-0, prefix-1, ... through tr.
func add(t testing.TB, tr *natsync.Transport, prefix string, n int) {
	t.Helper()
	for i := range n {
		err := update(tr, func(w vclock.ReplicaID, s cart) cart { return s.Add(w, fmt.Sprintf("%s-%d", prefix, i)) })
		if err != nil {
			t.Fatal(err)
		}
	}
}

// waitEqual waits until every replica holds want elements and all are
// equal.
func waitEqual(t testing.TB, timeout time.Duration, want int, rs ...*merge.Replica[cart]) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		first := rs[0].State()
		ok := first.Len() == want
		for _, r := range rs[1:] {
			ok = ok && r.State().Equal(first)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, r := range rs {
				fmt.Fprintf(&b, "\n%s: %d elements", r.ID(), r.State().Len())
			}
			t.Fatalf("not converged after %v, want %d elements each:%s", timeout, want, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A lossy network: the tests' transports lose a share of what they
// publish.
type lossy struct {
	mu   sync.Mutex
	rng  *rand.Rand
	p    float64
	lost int
}

func (l *lossy) drop(string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rng.Float64() < l.p {
		l.lost++
		return true
	}
	return false
}

func TestThreeReplicasConvergeDespiteLoss(t *testing.T) {
	s := startServer(t, false)
	all := ids(3)
	loss := &lossy{rng: rand.New(rand.NewPCG(1, 2)), p: 0.3}
	var rs []*merge.Replica[cart]
	var ts []*natsync.Transport
	for _, id := range all {
		r := newReplica(t, id, all)
		tr := startTransport(t, connect(t, s.ClientURL()), r)
		natsync.SetDrop(tr, loss.drop)
		rs, ts = append(rs, r), append(ts, tr)
	}
	var wg sync.WaitGroup
	for i, tr := range ts {
		wg.Go(func() {
			for j := range 40 {
				if err := update(tr, func(w vclock.ReplicaID, s cart) cart { return s.Add(w, fmt.Sprint(all[i], "-", j)) }); err != nil {
					t.Error(err)
				}
				time.Sleep(2 * time.Millisecond) // a bundle a write, mostly
			}
		})
	}
	wg.Wait()
	waitEqual(t, 20*time.Second, 3*40, rs...)
	loss.mu.Lock()
	lost := loss.lost
	loss.mu.Unlock()
	if lost < 10 {
		t.Fatalf("lost %d messages, want 10 or more: the test would test little", lost)
	}
	for _, tr := range ts {
		st := tr.Stats()
		if st.Bundles == 0 || st.Received == 0 {
			t.Errorf("%s: %+v, want bundles published and messages received", tr.Node().ID(), st)
		}
	}
	t.Logf("lost %d messages; r0: %+v", lost, ts[0].Stats())
}

// A write is published once, in one bundle, whatever the number of
// peers, and every peer receives it.
func TestOnePublishPerWrite(t *testing.T) {
	s := startServer(t, false)
	all := ids(4)
	var rs []*merge.Replica[cart]
	var ts []*natsync.Transport
	for _, id := range all {
		r := newReplica(t, id, all)
		// No digests, and retransmission far away: only writes publish.
		tr := startTransport(t, connect(t, s.ClientURL()), r, natsync.WithDigestInterval(0))
		rs, ts = append(rs, r), append(ts, tr)
	}
	// Let the greetings settle.
	add(t, ts[0], "warm", 1)
	waitEqual(t, 10*time.Second, 1, rs...)
	time.Sleep(300 * time.Millisecond)
	before := ts[0].Stats().Bundles
	const writes = 10
	for i := range writes {
		add(t, ts[0], fmt.Sprint("w", i), 1)
		waitEqual(t, 10*time.Second, 2+i, rs...)
	}
	if got := ts[0].Stats().Bundles - before; got > writes {
		t.Errorf("published %d bundles for %d writes to 3 peers, want at most %d", got, writes, writes)
	}
}

func TestReconnectAfterServerRestart(t *testing.T) {
	s := startServer(t, true)
	all := ids(2)
	r0, r1 := newReplica(t, all[0], all), newReplica(t, all[1], all)
	t0 := startTransport(t, connect(t, s.ClientURL()), r0)
	t1 := startTransport(t, connect(t, s.ClientURL()), r1)
	add(t, t0, "before", 5)
	waitEqual(t, 10*time.Second, 5, r0, r1)

	s.Shutdown()
	s.WaitForShutdown()
	// Writes while the server is down stay in the replica, or in the
	// connection's reconnect buffer.
	add(t, t0, "down", 5)
	add(t, t1, "down1", 5)
	s2, err := s.Restart()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s2.Shutdown)
	add(t, t1, "after", 5)
	waitEqual(t, 15*time.Second, 20, r0, r1)
	for _, tr := range []*natsync.Transport{t0, t1} {
		if st := tr.Stats(); st.Reconnects == 0 || st.Disconnects == 0 {
			t.Errorf("%s: %d reconnects, %d disconnects, want both counted", tr.Node().ID(), st.Reconnects, st.Disconnects)
		}
	}
}

func TestGatewayJoinsTwoClusters(t *testing.T) {
	wan, err := natstest.Supercluster("east", "west")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wan.Shutdown)
	servers := wan.Servers
	all := ids(4) // r0, r1 in east; r2, r3 in west
	var rs []*merge.Replica[cart]
	var ts []*natsync.Transport
	for i, id := range all {
		r := newReplica(t, id, all)
		tr := startTransport(t, connect(t, servers[i/2].ClientURL()), r)
		rs, ts = append(rs, r), append(ts, tr)
	}
	for i, tr := range ts {
		add(t, tr, string(all[i]), 10)
	}
	waitEqual(t, 15*time.Second, 40, rs...)
}

func TestNewRefusesBadNames(t *testing.T) {
	s := startServer(t, false)
	nc := connect(t, s.ClientURL())
	r := merge.New("us-east", newCart)
	if _, err := natsync.New(nc, "carts.eu", r); err == nil {
		t.Error(`New with set "carts.eu": got nil error, want ErrName`)
	}
	if _, err := natsync.New(nc, "carts", merge.New("us east", newCart)); err == nil {
		t.Error(`New with replica "us east": got nil error, want ErrName`)
	}
}

// update writes f to the replica tr carries and asks tr to send it at
// once, as an application does.
func update(tr *natsync.Transport, f func(w vclock.ReplicaID, s cart) cart) error {
	err := tr.Node().(*merge.Replica[cart]).Update(f)
	tr.Notify()
	return err
}

// TestDuplicatesAreHarmless publishes every message of three counter
// replicas twice — bundles, replies and digests, into the streams too —
// and checks that each counts every write exactly once: a duplicate is
// merged as a no-op, never applied twice.
func TestDuplicatesAreHarmless(t *testing.T) {
	for _, withStream := range []bool{false, true} {
		t.Run(fmt.Sprint("stream=", withStream), func(t *testing.T) {
			s := startServer(t, withStream)
			all := ids(3)
			var opts []natsync.Option
			if withStream {
				opts = append(opts, natsync.WithStream(natsync.Stream{Memory: true}))
			}
			// An observer counts the bundles on the wire.
			var seen atomic.Int64
			if _, err := connect(t, s.ClientURL()).Subscribe(natsync.DefaultPrefix+".likes.b.*", func(*nats.Msg) { seen.Add(1) }); err != nil {
				t.Fatal(err)
			}
			var rs []*merge.Replica[*crdt.PNCounter]
			var ts []*natsync.Transport
			for _, id := range all {
				r := merge.New(id, func() *crdt.PNCounter { return new(crdt.PNCounter) }, replicaOpts...)
				for _, p := range all {
					if p != id {
						r.AddPeer(p)
					}
				}
				tr, err := natsync.New(connect(t, s.ClientURL()), "likes", r, append(append([]natsync.Option{}, transportOpts...), opts...)...)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { tr.Close() })
				natsync.SetDuplicate(tr, func(string) bool { return true })
				rs, ts = append(rs, r), append(ts, tr)
			}
			const writes = 30
			for i := range writes {
				for j, r := range rs {
					if err := r.Update(func(w vclock.ReplicaID, c *crdt.PNCounter) *crdt.PNCounter { return c.Inc(w, 1) }); err != nil {
						t.Fatal(err)
					}
					ts[j].Notify()
				}
				if i%10 == 0 {
					time.Sleep(5 * time.Millisecond)
				}
			}
			want := int64(writes * len(rs))
			deadline := time.Now().Add(15 * time.Second)
			for {
				ok := true
				for _, r := range rs {
					ok = ok && r.State().Value() == want
				}
				if ok {
					break
				}
				if time.Now().After(deadline) {
					for _, r := range rs {
						t.Errorf("%s counts %d, want %d", r.ID(), r.State().Value(), want)
					}
					t.FailNow()
				}
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(200 * time.Millisecond) // duplicates still in flight arrive
			for _, r := range rs {
				if v := r.State().Value(); v != want {
					t.Errorf("%s counts %d once the duplicates arrived, want %d", r.ID(), v, want)
				}
			}
			var bundles uint64
			for _, tr := range ts {
				bundles += tr.Stats().Bundles
			}
			if n := seen.Load(); uint64(n) < bundles*3/2 {
				t.Errorf("%d bundles on the wire for %d published: the duplicates did not go out", n, bundles)
			}
		})
	}
}

// TestCloseReleasesEverything runs two replicas over a JetStream server,
// then closes the Transports, the connections and the server: every
// goroutine they started ends, and the server's port is free again.
func TestCloseReleasesEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := natstest.Start(natstest.Options(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	all := ids(2)
	var rs []*merge.Replica[cart]
	var ts []*natsync.Transport
	var conns []*nats.Conn
	for _, id := range all {
		nc, err := natstest.Connect(s.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		r := newReplica(t, id, all)
		tr, err := natsync.New(nc, "carts", r, append(append([]natsync.Option{}, transportOpts...), natsync.WithStream(natsync.Stream{}))...)
		if err != nil {
			t.Fatal(err)
		}
		rs, ts, conns = append(rs, r), append(ts, tr), append(conns, nc)
	}
	add(t, ts[0], "a", 5)
	add(t, ts[1], "b", 5)
	waitEqual(t, 10*time.Second, 10, rs...)
	for i := range ts {
		ts[i].Close()
		conns[i].Close()
	}
	addr := s.Addr().String()
	s.Shutdown()
	s.WaitForShutdown()
	if n := natstest.Goroutines(before, 10*time.Second); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after everything closed, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Errorf("the server's port %s is still taken: %v", addr, err)
	} else {
		ln.Close()
	}
}
