package merge_test

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// epoch is the virtual time clusters start at.
var epoch = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixNano()

var regionIDs = []vclock.ReplicaID{"us-east", "eu-west", "ap-south", "us-west", "sa-east"}

// tb is what the harness needs of a *testing.T or a *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// A cluster is a full mesh of replicas with virtual clocks and a network
// the test controls packet by packet.
type cluster[T crdt.State[T]] struct {
	t     tb
	now   int64 // virtual Unix ns; every clock reads it plus its skew
	skew  []int64
	ids   []vclock.ReplicaID
	reps  []*merge.Replica[T]
	queue []packet
	seeds uint64 // incarnation sources handed out
}

// random returns a deterministic source of incarnation numbers, a new one
// each call, so that a run is reproducible.
func (c *cluster[T]) random() merge.Option {
	c.seeds++
	return merge.WithRandom(seeded(c.seeds))
}

type packet struct {
	from, to int
	data     []byte
}

func (p packet) String() string { return fmt.Sprintf("%d→%d (%d bytes)", p.from, p.to, len(p.data)) }

func newCluster[T crdt.State[T]](t tb, n int, newState func() T, opts ...merge.Option) *cluster[T] {
	c := &cluster[T]{t: t, now: epoch, skew: make([]int64, n), ids: regionIDs[:n]}
	for i := 0; i < n; i++ {
		clock := hlc.New(hlc.WithPhysicalClock(func() int64 { return c.now + c.skew[i] }))
		c.reps = append(c.reps, merge.New(c.ids[i], newState, append([]merge.Option{merge.WithClock(clock), c.random()}, opts...)...))
	}
	for i, r := range c.reps {
		for j, id := range c.ids {
			if i != j {
				if err := r.AddPeer(id); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return c
}

func (c *cluster[T]) advance(d time.Duration) { c.now += int64(d) }

// update runs f as an Update at replica i.
func (c *cluster[T]) update(i int, f func(id vclock.ReplicaID, s T) T) {
	c.t.Helper()
	if err := c.reps[i].Update(f); err != nil {
		c.t.Fatal(err)
	}
}

// sync queues replica i's message to j, if it has one, and returns it.
func (c *cluster[T]) sync(i, j int) []byte {
	c.t.Helper()
	msg, err := c.reps[i].Sync(c.ids[j])
	if err != nil {
		c.t.Fatalf("%s.Sync(%s): %v", c.ids[i], c.ids[j], err)
	}
	if msg != nil {
		c.queue = append(c.queue, packet{i, j, msg})
	}
	return msg
}

func (c *cluster[T]) syncAll() {
	for i := range c.reps {
		for j := range c.reps {
			if i != j {
				c.sync(i, j)
			}
		}
	}
}

func (c *cluster[T]) digestRequest(i, j int) {
	c.t.Helper()
	msg, err := c.reps[i].SyncDigest(c.ids[j])
	if err != nil {
		c.t.Fatal(err)
	}
	c.queue = append(c.queue, packet{i, j, msg})
}

// take removes and returns queued packet k.
func (c *cluster[T]) take(k int) packet {
	p := c.queue[k]
	c.queue = append(c.queue[:k], c.queue[k+1:]...)
	return p
}

// deliver hands p to its recipient and queues the reply.
func (c *cluster[T]) deliver(p packet) {
	c.t.Helper()
	reply, err := c.reps[p.to].Receive(p.data)
	if err != nil {
		c.t.Fatalf("%s.Receive(%v): %v", c.ids[p.to], p, err)
	}
	if reply != nil {
		c.queue = append(c.queue, packet{p.to, p.from, reply})
	}
}

// deliverLoose hands p to its recipient and queues the reply, counting a
// refusal instead of failing: for the rounds after a hostile message,
// in which honest messages may be refused until a repair has run.
func (c *cluster[T]) deliverLoose(p packet) (refused bool) {
	c.t.Helper()
	reply, err := c.reps[p.to].Receive(p.data)
	if reply != nil {
		c.queue = append(c.queue, packet{p.to, p.from, reply})
	}
	return err != nil
}

// settleLoose is settle with deliverLoose: it returns the rounds run
// until one sent nothing, and the refusals on the way, or fails after
// max rounds.
func (c *cluster[T]) settleLoose(max int) (rounds, refusals int) {
	c.t.Helper()
	for round := 0; round < max; round++ {
		c.advance(2 * merge.DefaultRetransmitTimeout)
		c.syncAll()
		if len(c.queue) == 0 {
			return round, refusals
		}
		for n := 0; len(c.queue) > 0; n++ {
			if n > 100000 {
				c.t.Fatalf("messages never stop: %v", c.queue[:5])
			}
			if c.deliverLoose(c.take(0)) {
				refusals++
			}
		}
	}
	c.t.Fatalf("no quiescence after %d rounds", max)
	return max, refusals
}

// deliverAll delivers queued packets in order, replies included, until
// none is left.
func (c *cluster[T]) deliverAll() {
	c.t.Helper()
	for n := 0; len(c.queue) > 0; n++ {
		if n > 100000 {
			c.t.Fatalf("messages never stop: %v", c.queue[:5])
		}
		c.deliver(c.take(0))
	}
}

// settle runs rounds of sync-everyone-and-deliver-everything, letting the
// retransmission timeout pass between rounds, until a round sends nothing.
func (c *cluster[T]) settle() int {
	c.t.Helper()
	for round := 0; round < 10; round++ {
		c.advance(2 * merge.DefaultRetransmitTimeout)
		c.syncAll()
		if len(c.queue) == 0 {
			return round
		}
		c.deliverAll()
	}
	c.t.Fatalf("no quiescence after 10 rounds")
	return 0
}

// requireConverged fails unless every replica's state encodes identically.
func (c *cluster[T]) requireConverged() {
	c.t.Helper()
	want := encode(c.t, c.reps[0].State())
	for i, r := range c.reps[1:] {
		if got := encode(c.t, r.State()); !bytes.Equal(got, want) {
			c.t.Fatalf("replica %s differs from %s:\n got %x\nwant %x", c.ids[i+1], c.ids[0], got, want)
		}
	}
}

func encode(t tb, v encoding.BinaryAppender) []byte {
	t.Helper()
	b, err := v.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newSet() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }
func newCounter() *crdt.PNCounter { return new(crdt.PNCounter) }

func add(e string) func(vclock.ReplicaID, *crdt.ORSet[string]) *crdt.ORSet[string] {
	return func(id vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(id, e) }
}

func remove(e string) func(vclock.ReplicaID, *crdt.ORSet[string]) *crdt.ORSet[string] {
	return func(_ vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Remove(e) }
}

// seal replaces a message's checksum, or appends one to a body, so that
// tests reach the decoder behind it: the CRC-32C of every byte before the
// checksum field, as a bin of 4 bytes.
func seal(body []byte) []byte {
	b := append([]byte(nil), body...)
	return binary.BigEndian.AppendUint32(append(b, 0xc4, 4), crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

// unseal returns a message without its checksum field.
func unseal(msg []byte) []byte { return msg[:len(msg)-6] }
