package merge_test

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// FuzzReceive feeds Receive arbitrary bytes, both as they are and with a
// checksum appended so that the decoder behind the checksum is reached.
// It is seeded with real messages of every kind, checksums removed.
// Whatever the input, Receive must not panic, and an input it refuses
// must leave the replica as it was — unless it claims events of the
// replica's writer that were never issued: the repair for that renews
// the writer.
func FuzzReceive(f *testing.F) {
	_, msgs := messages(f)
	for _, m := range msgs {
		f.Add(unseal(m))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, _ := messages(t)
		r := c.reps[1]
		for _, msg := range [][]byte{body, seal(body)} {
			before := snap(t, r)
			reply, err := r.Receive(msg)
			if err != nil {
				if errors.Is(err, merge.ErrUnissued) {
					c, _ = messages(t) // renewed: start afresh
					r = c.reps[1]
					continue
				}
				if after := snap(t, r); !after.equal(before) {
					t.Fatalf("refused (%v) but changed the replica", err)
				}
				continue
			}
			// An accepted message's reply is itself a valid message for
			// a replica named like the sender, with a clock that
			// accepts it.
			if reply != nil {
				peer := merge.New[*crdt.ORSet[string]]("us-east", newSet, merge.WithClock(hlc.New(hlc.WithMaxOffset(0))), merge.WithRetransmitTimeout(time.Second))
				if err := peer.AddPeer("eu-west"); err != nil {
					t.Fatal(err)
				}
				if _, err := peer.Receive(reply); err != nil {
					t.Fatalf("the reply to an accepted message was refused: %v", err)
				}
			}
		}
	})
}

// FuzzReceiveAttacks delivers a sequence of messages, each sealed with a
// valid checksum, to one of two replicas — as from its peer, from a third
// peer, or from the replica's own past — then lets them write and sync
// honestly, and requires them equal, with every write made after the
// attack, within bounded rounds and one digest exchange (a peer's own
// writes that reached one replica only reach the other through it). It is seeded with the attacks of wedge_test.go. The
// input is a series of messages, each a big-endian uint16 length and the
// message body without its checksum.
func FuzzReceiveAttacks(f *testing.F) {
	for _, seed := range attackSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c := newCluster(t, 2, newSet)
		for _, r := range c.reps {
			if err := r.AddPeer(mallory); err != nil {
				t.Fatal(err)
			}
		}
		c.update(0, add("before"))
		c.settle()
		for k := 0; len(in) >= 2 && k < 8; k++ {
			n := int(in[0])<<8 | int(in[1])
			in = in[2:]
			if n > len(in) {
				n = len(in)
			}
			body := in[:n]
			in = in[n:]
			_, _ = c.reps[1].Receive(seal(body))
		}
		// Writes made before may be gone: a payload that claims to have
		// seen an event and holds none of it removes it, as a peer that
		// saw it may. Writes made after the attack must all survive.
		var want []string
		for k := 0; k < 3; k++ {
			for i := range c.reps {
				e := fmt.Sprint("after-", i, "-", k)
				c.update(i, add(e))
				want = append(want, e)
			}
			c.settleLoose(20)
		}
		// What the attacker wrote as itself reached one replica only; the
		// periodic digest check an operator runs evens that out.
		c.digestRequest(0, 1)
		c.settleLoose(20)
		c.requireConverged()
		got := c.reps[0].State()
		for _, e := range want {
			if !got.Contains(e) {
				t.Fatalf("honest write %s lost; state %v", e, got)
			}
		}
	})
}

// attackSeeds returns the hostile messages of the regression tests,
// framed for FuzzReceiveAttacks, as they would reach eu-west from us-east
// (or mallory) in its cluster: one seed per message, and one of them all.
// A payload timestamp ahead of its message (TestFutureTimestampRefused)
// has no seed: an ORSet holds no timestamps.
func attackSeeds(f *testing.F) [][]byte {
	c := newCluster(f, 2, newSet)
	c.update(0, add("before"))
	c.settle()
	empty := encode(f, newSet())
	us, eu := c.from(0, 1), env{from: mallory, to: c.ids[1], inc: 7, time: c.stamp()}
	ack := us
	ack.ackInc, ack.ack = merge.Incarnation(c.reps[1]), 1<<40
	future := eu
	future.time = math.MaxUint64 - 1
	stale := us
	stale.inc, stale.time = 12345, 1
	stranger := eu
	stranger.from = "stranger"
	atBound := us
	atBound.time = hlc.MakeTimestamp(uint64(time.Unix(0, c.now).Add(c.reps[1].Clock().MaxOffset()).UnixMilli()), 65535)
	// A dot already issued, for another element: us-east's first, which
	// tagged "before", and the receiver's own first, never issued.
	var reused, own crdt.ORSet[string]
	reused.Add(c.reps[0].Writer(), "reused")
	own.Add(c.reps[1].Writer(), "reused")
	big := newSet()
	for k := range 500 {
		big.Add("stranger", fmt.Sprint("junk-", k))
	}
	msgs := [][]byte{
		forge(mDelta, us, u(0), u(1<<63), bin(empty)),
		forge(mDelta, us, u(0), u(math.MaxUint64), bin(empty)),
		forge(mState, us, u(1<<63), boolean(false), bin(empty)),
		forge(mDelta, eu, u(0), u(1), bin(orsetClaiming(c.reps[1].Writer(), vclock.MaxCounter, true))),
		forge(mDelta, eu, u(0), u(1), bin(orsetClaiming(c.reps[0].Writer(), 1000, true))),
		forge(mDelta, eu, u(0), u(1), bin(orsetClaiming(c.reps[0].Writer(), 1000, false))),
		forge(mAck, ack),
		forge(mAck, future),
		forge(mAck, stale),
		forge(mDigest, us, boolean(false), bin(make([]byte, 32))),
		forge(mDelta, us, u(0), u(1), bin(encode(f, &reused))),
		forge(mDelta, eu, u(0), u(1), bin(encode(f, &own))),
		forge(mState, stranger, u(1), boolean(false), bin(encode(f, big))),
		forge(mAck, atBound),
	}
	var seeds [][]byte
	frame := func(ms ...[]byte) []byte {
		var b []byte
		for _, m := range ms {
			m = unseal(m)
			b = append(b, byte(len(m)>>8), byte(len(m)))
			b = append(b, m...)
		}
		return b
	}
	for _, m := range msgs {
		seeds = append(seeds, frame(m))
	}
	return append(seeds, frame(msgs...))
}
