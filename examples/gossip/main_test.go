package main

import (
	"bytes"
	"fmt"
	"log"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/converge-go/converge/vclock"
	"github.com/hashicorp/memberlist"
)

// TestGossip starts four nodes on 127.0.0.1, writes on each, kills one,
// writes on the others — a remove concurrent with a re-add among them —
// restarts the killed node with an empty state, joined to one seed only,
// and requires every node to converge, within the bound, to the expected
// cart and likes. The restarted node then writes, and the others accept
// it. Last, it shuts everything down and checks that every port used is
// free again.
func TestGossip(t *testing.T) {
	nodes := startCluster(t, 4, nil)
	n1, n2, n3, n4 := nodes[0], nodes[1], nodes[2], nodes[3]
	ports := []int{n1.port(), n2.port(), n3.port(), n4.port()}

	n1.addToCart("socks")
	n1.like(10)
	n2.addToCart("scarf")
	n2.like(20)
	n2.unlike(5)
	n3.addToCart("hat")
	n3.like(30)
	n4.addToCart("gloves")
	n4.like(40)
	wantState(t, nodes, []string{"gloves", "hat", "scarf", "socks"}, 95)

	if err := n4.kill(); err != nil {
		t.Fatal(err)
	}
	n1.removeFromCart("hat")
	n3.addToCart("hat") // concurrent with n1's remove: the add wins
	n2.removeFromCart("gloves")
	n2.addToCart("belt")
	n3.unlike(3)

	restart := time.Now()
	n4 = newNode(n1.cluster, "n4", 2, testLogger(t))
	if err := n4.start(n4.config(quiet)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n4.kill() })
	ports = append(ports, n4.port())
	if err := n4.join(n1); err != nil {
		t.Fatal(err)
	}
	nodes[3] = n4
	wantState(t, nodes, []string{"belt", "hat", "scarf", "socks"}, 92)
	t.Logf("converged %v after the restart", time.Since(restart).Round(time.Millisecond))

	// Caught up, the restarted node may write again under its old
	// ReplicaID: its new dots follow the old ones it has merged.
	n4.addToCart("cap")
	n4.like(1)
	wantState(t, nodes, []string{"belt", "cap", "hat", "scarf", "socks"}, 93)
	wantNoneRefused(t, nodes)

	for _, n := range nodes {
		if err := n.kill(); err != nil {
			t.Fatal(err)
		}
	}
	for _, port := range ports {
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("TCP port %d still in use after Shutdown: %v", port, err)
		} else {
			ln.Close()
		}
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Errorf("UDP port %d still in use after Shutdown: %v", port, err)
		} else {
			pc.Close()
		}
	}
}

// TestPushPullAlone turns gossip and probes off, so that no delta is
// broadcast: the periodic push/pull of full states alone must converge.
func TestPushPullAlone(t *testing.T) {
	nodes := startCluster(t, 3, func(c *memberlist.Config) {
		c.GossipInterval = 0
		c.ProbeInterval = 0
	})
	writeOnEach(nodes)
	wantState(t, nodes, []string{"a0", "a1", "a2"}, 3)
	wantNoneRefused(t, nodes)
}

// TestBroadcastAlone turns push/pull off after the joins: the broadcast
// deltas alone must converge.
func TestBroadcastAlone(t *testing.T) {
	nodes := startCluster(t, 3, func(c *memberlist.Config) { c.PushPullInterval = 0 })
	writeOnEach(nodes)
	wantState(t, nodes, []string{"a0", "a1", "a2"}, 3)
	wantNoneRefused(t, nodes)
}

// TestClustersStayApart checks that a node of another cluster — another
// memberlist Label — cannot join, and that no state crosses: on a shared
// host a dead member's port may be reused by a stranger that the living
// still contact, and without labels the two clusters' states would merge.
func TestClustersStayApart(t *testing.T) {
	nodes := startCluster(t, 2, nil)
	nodes[0].addToCart("ours")
	stranger := newNode(newCluster(), "n3", 1, testLogger(t))
	if err := stranger.start(stranger.config(quiet)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stranger.kill() })
	stranger.addToCart("theirs")

	if err := stranger.join(nodes[0]); err == nil {
		t.Error("a node of another cluster joined, want an error")
	}
	if got := nodes[0].members(); got != 2 {
		t.Errorf("got %d members, want 2", got)
	}
	for _, n := range append(nodes[:1], stranger) {
		cart, _ := n.snapshot()
		if got := cart.Len(); got != 1 {
			t.Errorf("%s: got cart %v, want one element", n.name, cart)
		}
	}
}

// TestRun runs the program and checks its conclusion from its output:
// every line but the timing is fixed, and nothing was refused.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	logs := &syncBuffer{}
	if err := run(&out, log.New(logs, "", 0)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := []string{
		"3 nodes gossip on 127.0.0.1: n1 n2 n3",
		"n1 adds socks, likes 10; n2 adds scarf, likes 20, unlikes 5; n3 adds hat, likes 30",
		"converged: cart={hat scarf socks} likes=55",
		"n3 killed; while it is down n1 removes hat and adds gloves, n2 unlikes 3",
		"n3 restarted empty: cart={} likes=0; it joins n1 and n2",
		"n1 cart={scarf socks gloves} likes=52",
		"n2 cart={scarf socks gloves} likes=52",
		"n3 cart={scarf socks gloves} likes=52",
		"n3 caught up; all 3 nodes equal: true; messages refused: 0",
	}
	if len(lines) != len(want)+1 {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want)+1, out.String())
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d: got %q, want %q", i+1, lines[i], w)
		}
	}
	if last := lines[len(want)]; !regexp.MustCompile(`^converged in \d+ ms$`).MatchString(last) {
		t.Errorf("last line: got %q, want converged in N ms", last)
	}
	if s := logs.String(); s != "" {
		t.Errorf("got log output, want none:\n%s", s)
	}
}

// startCluster starts size nodes, n1 to n<size>, joins each to the first,
// and waits until every node sees them all. tune, if not nil, adjusts each
// memberlist configuration. The nodes are shut down when the test ends.
func startCluster(t *testing.T, size int, tune func(*memberlist.Config)) []*node {
	t.Helper()
	cluster := newCluster()
	var nodes []*node
	for i := range size {
		n := newNode(cluster, vclock.ReplicaID(fmt.Sprintf("n%d", i+1)), 1, testLogger(t))
		c := n.config(quiet)
		if tune != nil {
			tune(c)
		}
		if err := n.start(c); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.kill() })
		if i > 0 {
			if err := n.join(nodes[0]); err != nil {
				t.Fatal(err)
			}
		}
		nodes = append(nodes, n)
	}
	err := waitFor(timeout, "full membership", func() bool {
		for _, n := range nodes {
			if n.members() != size {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return nodes
}

// writeOnEach makes node i add "a<i>" and like once.
func writeOnEach(nodes []*node) {
	for i, n := range nodes {
		n.addToCart(fmt.Sprintf("a%d", i))
		n.like(1)
	}
}

// wantState waits, within timeout, until every node holds the same state,
// then checks that state: the cart holds wantCart and likes is wantLikes.
func wantState(t *testing.T, nodes []*node, wantCart []string, wantLikes int64) {
	t.Helper()
	if err := waitFor(timeout, "convergence", func() bool { return converged(nodes) }); err != nil {
		for _, n := range nodes {
			t.Logf("%s: %v", n.name, n)
		}
		t.Fatal(err)
	}
	for _, n := range nodes {
		cart, likes := n.snapshot()
		got := slices.Sorted(cart.All())
		if !slices.Equal(got, wantCart) {
			t.Errorf("%s: got cart %v, want %v", n.name, got, wantCart)
		}
		if got := likes.Value(); got != wantLikes {
			t.Errorf("%s: got likes %d (+%v -%v), want %d", n.name, got,
				maps.Collect(likes.Increments().All()), maps.Collect(likes.Decrements().All()), wantLikes)
		}
	}
}

// wantNoneRefused checks that no node refused a message.
func wantNoneRefused(t *testing.T, nodes []*node) {
	t.Helper()
	for _, n := range nodes {
		if got := n.refused.Load(); got != 0 {
			t.Errorf("%s: got %d refused messages, want 0", n.name, got)
		}
	}
}

// testLogger returns a logger for refused messages that fails the test
// when written to while the test runs. memberlist's goroutines may
// outlive the test by a moment, so it must not call t.Log itself.
func testLogger(t *testing.T) *log.Logger {
	buf := &syncBuffer{}
	t.Cleanup(func() {
		if s := buf.String(); s != "" {
			t.Errorf("refused messages:\n%s", s)
		}
	})
	return log.New(buf, "", 0)
}

// A syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
