package merge_test

import (
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
)

// FuzzReceive feeds Receive arbitrary bytes, both as they are and with a
// checksum appended so that the decoder behind the checksum is reached.
// It is seeded with real messages of every kind, checksums removed.
// Whatever the input, Receive must not panic, and an input it refuses
// must leave the replica as it was.
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
