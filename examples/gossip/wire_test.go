package main

import (
	"bytes"
	"errors"
	"log"
	"testing"

	"github.com/converge-go/converge/crdt"
)

// TestReceiveRefuses feeds a node messages that are malformed or that no
// correct node could send, and requires each to be refused, counted, and
// to leave the state as it was.
func TestReceiveRefuses(t *testing.T) {
	// A writer that shares n1's ReplicaID: its first add has the dot of
	// n1's first add, with another element.
	var rogue crdt.ORSet[string]
	forged := mustEncode(t, values{cart: rogue.Add("n1", "forged")})
	cart := mustEncode(t, values{cart: new(crdt.ORSet[string])})
	likes := mustEncode(t, values{likes: new(crdt.PNCounter)})

	for _, tc := range []struct {
		name string
		msg  []byte
		want error // nil: any error
	}{
		{"empty", nil, errMalformed},
		{"version 0", []byte{0}, errMalformed},
		{"version 2", []byte{2}, errMalformed},
		{"unknown tag", []byte{wireVersion, 3, 0}, errMalformed},
		{"tag 0", []byte{wireVersion, 0, 0}, errMalformed},
		{"tags out of order", append(append([]byte{}, likes...), cart[1:]...), errMalformed},
		{"tag twice", append(append([]byte{}, cart...), cart[1:]...), errMalformed},
		{"no length", []byte{wireVersion, tagCart}, errMalformed},
		{"length beyond the end", append([]byte{wireVersion, tagCart, 100}, cart[3:]...), errMalformed},
		{"length not shortest", append([]byte{wireVersion, tagCart, cart[2] | 0x80, 0}, cart[3:]...), errMalformed},
		{"huge length", []byte{wireVersion, tagCart, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, errMalformed},
		{"cart truncated", append([]byte{wireVersion, tagCart, cart[2] - 1}, cart[3:len(cart)-1]...), crdt.ErrMalformed},
		{"likes after a bad cart", append([]byte{wireVersion, tagCart, 1, 0xc1}, likes[1:]...), crdt.ErrMalformed},
		{"cart not an ORSet", append([]byte{wireVersion, tagCart}, likes[2:]...), crdt.ErrMalformed},
		{"likes not a PNCounter", append([]byte{wireVersion, tagLikes}, cart[2:]...), crdt.ErrMalformed},
		{"forged dot", forged, crdt.ErrInconsistent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			n := newNode("test", "n1", 1, log.New(&logs, "", 0))
			n.addToCart("socks")
			n.like(2)
			cartBefore, likesBefore := n.snapshot()

			if _, err := decodeMessage(tc.msg); err == nil && tc.want != crdt.ErrInconsistent {
				t.Errorf("decodeMessage(%x) = nil error, want %v", tc.msg, tc.want)
			} else if err != nil && !errors.Is(err, tc.want) {
				t.Errorf("decodeMessage(%x): got %v, want %v", tc.msg, err, tc.want)
			}
			n.NotifyMsg(tc.msg)
			n.MergeRemoteState(tc.msg, false)

			if got := n.refused.Load(); got != 2 {
				t.Errorf("got %d refused, want 2", got)
			}
			if logs.Len() == 0 {
				t.Error("got no log line, want one per refusal")
			}
			cartAfter, likesAfter := n.snapshot()
			if !cartAfter.Equal(cartBefore) || !likesAfter.Equal(likesBefore) {
				t.Errorf("got state cart=%v likes=%d, want it unchanged, cart=%v likes=%d",
					cartAfter, likesAfter.Value(), cartBefore, likesBefore.Value())
			}
		})
	}
}

// TestMessageRoundTrip checks that a node's full state survives the
// message encoding, and that a node merges it.
func TestMessageRoundTrip(t *testing.T) {
	a := newNode("test", "a", 1, log.New(&bytes.Buffer{}, "", 0))
	a.addToCart("socks")
	a.addToCart("hat")
	a.removeFromCart("hat")
	a.like(7)
	a.unlike(2)

	b := newNode("test", "b", 1, a.log)
	b.MergeRemoteState(a.LocalState(false), false)
	if !a.sameAs(b) {
		t.Errorf("got %v after merging the state of %v", b, a)
	}
	if got := b.refused.Load(); got != 0 {
		t.Errorf("got %d refused, want 0", got)
	}
}

// FuzzReceive checks that no input makes a node panic, that whatever
// decodes encodes back to the same bytes — the encoding is canonical —
// and that a node merges what decodes.
func FuzzReceive(f *testing.F) {
	var s crdt.ORSet[string]
	var c crdt.PNCounter
	f.Add(mustEncode(f, values{cart: s.Add("x", "socks"), likes: c.Inc("x", 3)}))
	f.Add(mustEncode(f, values{cart: s.Remove("socks")}))
	f.Add(mustEncode(f, values{likes: c.Dec("y", 1)}))
	f.Add(mustEncode(f, values{cart: &s, likes: &c}))
	f.Add([]byte{wireVersion})
	f.Fuzz(func(t *testing.T, msg []byte) {
		n := newNode("test", "n", 1, log.New(&bytes.Buffer{}, "", 0))
		n.addToCart("socks")
		n.like(1)
		n.NotifyMsg(msg)
		v, err := decodeMessage(msg)
		if err != nil {
			return
		}
		again, err := encodeMessage(v)
		if err != nil {
			t.Fatalf("encoding decoded values: %v", err)
		}
		if !bytes.Equal(again, msg) {
			t.Fatalf("decoded %x, encoded back %x", msg, again)
		}
	})
}

func mustEncode(tb testing.TB, v values) []byte {
	tb.Helper()
	b, err := encodeMessage(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
