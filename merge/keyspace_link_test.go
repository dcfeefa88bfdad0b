package merge_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/converge-go/converge/merge"
)

// ksLink is two keyspaces, us-east and eu-west, that have greeted each
// other.
func ksLink(t *testing.T) *ksCluster {
	c := newKSCluster(t, 2, merge.WithRetransmitTimeout(time.Second))
	c.settle()
	return c
}

// write updates n keys at us-east, named prefix-0 …, and returns the
// messages us-east's Sync has for eu-west, taken off the queue.
func (c *ksCluster) writeAndSync(prefix string, n int) []packet {
	c.t.Helper()
	for i := range n {
		c.update(0, fmt.Sprintf("%s-%d", prefix, i), add("item"))
	}
	c.sync(0, 1)
	out := c.queue
	c.queue = nil
	return out
}

func (c *ksCluster) unacked() uint64 {
	c.t.Helper()
	return c.ks[0].Lag()[0].Unacked
}

// TestKeyspaceResendsOnlyTheLostMessage: of three messages of deltas,
// the first is lost; once the timeout passes, us-east sends it again,
// alone, and eu-west's acknowledgement then covers all three: nothing it
// received is sent twice.
func TestKeyspaceResendsOnlyTheLostMessage(t *testing.T) {
	c := ksLink(t)
	lost := c.writeAndSync("a", 10)
	c.advance(10 * time.Millisecond)
	kept := append(c.writeAndSync("b", 10), c.writeAndSync("c", 10)...)
	if len(lost) != 1 || len(kept) != 2 {
		t.Fatalf("got %d and %d messages, want 1 and 2", len(lost), len(kept))
	}
	for _, p := range kept {
		c.deliver(p)
	}
	c.sync(1, 0) // eu-west's acknowledgement: the first is missing
	c.deliverAll()
	if got := c.unacked(); got != 30 {
		t.Fatalf("unacknowledged after the loss: %d, want 30", got)
	}
	c.advance(1100 * time.Millisecond)
	c.sync(0, 1)
	if len(c.queue) != 1 {
		t.Fatalf("%d messages after the timeout, want the lost one alone", len(c.queue))
	}
	if got, want := len(c.queue[0].data), len(lost[0].data); got > want+16 {
		t.Errorf("the resent message is %d bytes, the lost one %d: more than it was sent again", got, want)
	}
	c.deliverAll()
	c.sync(1, 0)
	c.deliverAll()
	if got := c.unacked(); got != 0 {
		t.Errorf("unacknowledged once the lost message arrived: %d, want 0", got)
	}
	c.sync(0, 1)
	if len(c.queue) != 0 {
		t.Errorf("us-east still sends %d messages", len(c.queue))
	}
}

// TestKeyspaceJoinsIntervalsBeyondALoss: after a lost message, 40 more
// arrive, each its own interval; once the lost one arrives, the
// acknowledgement covers all 41 — more than the 16 separate intervals a
// peer remembers, which are joined as they touch.
func TestKeyspaceJoinsIntervalsBeyondALoss(t *testing.T) {
	c := ksLink(t)
	c.writeAndSync("lost", 1)
	for i := range 40 {
		c.advance(time.Millisecond)
		for _, p := range c.writeAndSync(fmt.Sprintf("k%d", i), 1) {
			c.deliver(p)
		}
	}
	c.advance(1100 * time.Millisecond)
	c.sync(0, 1) // the lost message, again
	c.deliverAll()
	c.sync(1, 0)
	c.deliverAll()
	if got := c.unacked(); got != 0 {
		t.Errorf("unacknowledged after the lost message arrived: %d, want 0", got)
	}
}

// TestKeyspaceProbesASilentPeer: eu-west is down. us-east sends its
// deltas, then, at the timeout, the first message again, whole; from then
// on eu-west is silent, and us-east sends nothing new, only probes of at
// most 16 keys at the backed-off timeout. Once eu-west answers, the rest
// follows.
func TestKeyspaceProbesASilentPeer(t *testing.T) {
	c := ksLink(t)
	first := c.writeAndSync("a", 100)
	c.advance(1100 * time.Millisecond)
	resent := c.writeAndSync("b", 0)
	if len(first) != 1 || len(resent) != 1 || len(resent[0].data) < len(first[0].data) {
		t.Fatalf("first retransmission: %d messages, want the first message whole", len(resent))
	}
	if more := c.writeAndSync("c", 50); len(more) != 0 {
		t.Fatalf("%d messages of new deltas to a silent peer, want none", len(more))
	}
	c.advance(2100 * time.Millisecond)
	probe := c.writeAndSync("d", 0)
	if len(probe) != 1 || len(probe[0].data) > len(first[0].data)/4 {
		t.Fatalf("probe: %d messages, want one of at most 16 keys (%d bytes; the first message was %d)", len(probe), len(probe[0].data), len(first[0].data))
	}
	c.deliver(probe[0]) // eu-west is back
	c.sync(1, 0)
	c.deliverAll()
	c.settle()
	c.requireConverged()
	if got := c.ks[1].Len(); got != 150 {
		t.Errorf("eu-west holds %d keys, want 150", got)
	}
}

// TestKeyspaceAcknowledgesInTheNextSync: Receive answers deltas with no
// reply; eu-west's next Sync acknowledges them in the envelope of its own
// deltas — one message, no bare acknowledgement — and, with nothing of
// its own to send, in an acknowledgement alone.
func TestKeyspaceAcknowledgesInTheNextSync(t *testing.T) {
	c := ksLink(t)
	for _, p := range c.writeAndSync("a", 3) {
		if reply, err := c.ks[1].Receive(p.data); err != nil || reply != nil {
			t.Fatalf("Receive of deltas: reply %x, %v; want none", reply, err)
		}
	}
	c.update(1, "eu-key", add("item"))
	c.sync(1, 0)
	if len(c.queue) != 1 || c.queue[0].data[2] != 40 {
		t.Fatalf("eu-west's Sync: %d messages, want its deltas alone", len(c.queue))
	}
	c.deliverAll()
	if got := c.unacked(); got != 0 {
		t.Errorf("us-east's deltas unacknowledged after eu-west's deltas arrived: %d", got)
	}
	c.writeAndSync("b", 1)
	c.queue = nil
	for _, p := range c.writeAndSync("c", 1) {
		c.deliver(p)
	}
	c.sync(1, 0)
	if len(c.queue) != 1 || c.queue[0].data[2] != 41 {
		t.Fatalf("eu-west's Sync with nothing to send: %d messages, want one acknowledgement", len(c.queue))
	}
}
