package merge_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// snapshot is everything a refused message must leave as it was: the
// state, the counters and the lag figures, except those that count the
// refusal.
type snapshot struct {
	state []byte
	stats merge.Stats
	lag   []merge.PeerLag
	last  hlc.Timestamp
}

func snap(t tb, r *merge.Replica[*crdt.ORSet[string]]) snapshot {
	t.Helper()
	s := snapshot{state: encode(t, r.State()), stats: r.Stats(), last: r.Clock().Last()}
	s.stats.Rejected, s.stats.ClockRejected, s.stats.Clock = 0, 0, hlc.Stats{}
	for _, l := range r.Lag() {
		l.Rejected, l.ClockRejected, l.StaleRefused, l.ClaimsRefused, l.OldestUnacked = 0, 0, 0, 0, 0
		s.lag = append(s.lag, l)
	}
	return s
}

func (s snapshot) equal(o snapshot) bool {
	return bytes.Equal(s.state, o.state) && s.stats == o.stats && reflect.DeepEqual(s.lag, o.lag)
}

// messages returns one of every kind of message us-east sends eu-west,
// and the cluster, whose eu-west has received none of them.
func messages(t tb) (*cluster[*crdt.ORSet[string]], map[string][]byte) {
	t.Helper()
	c := newCluster(t, 2, newSet, merge.WithMaxDeltas(3))
	msgs := map[string][]byte{}
	c.update(0, add("a"))
	c.update(0, add("b"))
	c.update(1, add("x"))
	c.syncAll()
	c.deliverAll() // now us-east has acks and data from eu-west to acknowledge
	c.update(0, add("c"))
	c.update(0, remove("a"))
	msgs["delta"] = c.sync(0, 1)
	for i := 0; i < 5; i++ {
		c.update(0, add(fmt.Sprint("overflow-", i)))
	}
	c.advance(time.Hour)
	msgs["state"] = c.sync(0, 1)
	c.update(1, add("y"))
	c.sync(1, 0)
	c.deliver(c.take(len(c.queue) - 1))
	msgs["ack"] = c.queue[len(c.queue)-1].data
	d, err := c.reps[0].SyncDigest(c.ids[1])
	if err != nil {
		t.Fatal(err)
	}
	msgs["digest"] = d
	c.queue = nil
	// A retirement: a delta whose context carries a retired range.
	if err := c.reps[0].Retire("ap-south"); err != nil {
		t.Fatal(err)
	}
	msgs["retire"] = c.sync(0, 1)
	c.queue = nil
	return c, msgs
}

func TestMessagesAreRealistic(t *testing.T) {
	c, msgs := messages(t)
	for name, m := range msgs {
		if _, err := c.reps[1].Receive(m); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	c.reps[1].Read(func(s *crdt.ORSet[string]) {
		if len(s.Retired()) != 1 {
			t.Errorf("the retirement did not arrive: %v", s.Retired())
		}
	})
}

// refused checks that msg is refused with an error matching want and
// leaves r as it was.
func refused(t *testing.T, r *merge.Replica[*crdt.ORSet[string]], what string, msg []byte, want error) {
	t.Helper()
	before := snap(t, r)
	rejected := r.Stats().Rejected
	reply, err := r.Receive(msg)
	if err == nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want an error matching %v", what, err, want)
	}
	var me *merge.MessageError
	if !errors.As(err, &me) {
		t.Fatalf("%s: got %T, want *merge.MessageError", what, err)
	}
	if reply != nil {
		t.Fatalf("%s: got a reply to a refused message", what)
	}
	if after := snap(t, r); !after.equal(before) {
		t.Fatalf("%s: a refused message changed the replica:\n got %+v\nwant %+v", what, after, before)
	}
	if got := r.Stats().Rejected; got != rejected+1 {
		t.Fatalf("%s: Rejected went from %d to %d, want +1", what, rejected, got)
	}
}

func TestTruncatedMessages(t *testing.T) {
	c, msgs := messages(t)
	for name, m := range msgs {
		for n := 0; n < len(m); n++ {
			refused(t, c.reps[1], fmt.Sprintf("%s cut to %d of %d bytes", name, n, len(m)), m[:n], merge.ErrMalformed)
		}
		// The checksum does not save a truncated body.
		body := unseal(m)
		for n := 0; n < len(body); n++ {
			refused(t, c.reps[1], fmt.Sprintf("%s body cut to %d bytes, resealed", name, n), seal(body[:n]), nil)
		}
	}
}

func TestBitFlips(t *testing.T) {
	c, msgs := messages(t)
	for name, m := range msgs {
		for bit := 0; bit < 8*len(m); bit++ {
			flipped := bytes.Clone(m)
			flipped[bit/8] ^= 1 << (bit % 8)
			refused(t, c.reps[1], fmt.Sprintf("%s with bit %d flipped", name, bit), flipped, merge.ErrMalformed)
		}
	}
}

func TestBitFlipsBehindTheChecksum(t *testing.T) {
	// A flip the checksum does not see (resealed, as by an attacker) may
	// make another valid message; if it is refused, nothing changes —
	// except when it claims events of the receiver's writer it never
	// issued: the receiver then renews its writer, the repair for that.
	c, msgs := messages(t)
	accepted, renewed := 0, 0
	for name, m := range msgs {
		body := unseal(m)
		for bit := 0; bit < 8*len(body); bit++ {
			r := c.reps[1]
			before := snap(t, r)
			flipped := bytes.Clone(body)
			flipped[bit/8] ^= 1 << (bit % 8)
			_, err := r.Receive(seal(flipped))
			if err == nil || errors.Is(err, merge.ErrUnissued) {
				if err == nil {
					accepted++
				} else {
					renewed++
					if r.Stats().Renewals != 1 {
						t.Fatalf("%s with bit %d flipped: %v, and %d renewals, want 1", name, bit, err, r.Stats().Renewals)
					}
				}
				c2, _ := messages(t) // start afresh
				c.reps[1] = c2.reps[1]
				continue
			}
			if after := snap(t, r); !after.equal(before) {
				t.Fatalf("%s with bit %d flipped and resealed: refused but changed the replica", name, bit)
			}
		}
	}
	t.Logf("%d resealed flips made valid messages, %d claimed unissued events", accepted, renewed)
}

// body builds a message body: a header for kind with the envelope
// fields of us-east writing to eu-west, then rest, then room for the
// checksum in the field count.
func body(kind wire.Kind, nrest int, inc uint64, rest ...func([]byte) []byte) []byte {
	b := wire.AppendHeader(nil, kind, 6+nrest+1)
	b = wire.AppendString(b, "us-east")
	b = wire.AppendString(b, "eu-west")
	b = wire.AppendUint(b, inc)
	b = wire.AppendUint(b, uint64(hlc.FromTime(time.Unix(0, epoch))))
	b = wire.AppendUint(b, 0)
	b = wire.AppendUint(b, 0)
	for _, f := range rest {
		b = f(b)
	}
	return b
}

func u(v uint64) func([]byte) []byte    { return func(b []byte) []byte { return wire.AppendUint(b, v) } }
func raw(p ...byte) func([]byte) []byte { return func(b []byte) []byte { return append(b, p...) } }
func bin(p []byte) func([]byte) []byte {
	return func(b []byte) []byte { return wire.AppendBytes(b, p) }
}

func TestHostileMessages(t *testing.T) {
	c, msgs := messages(t)
	r := c.reps[1]
	const (
		kindDelta  = 32
		kindState  = 33
		kindAck    = 34
		kindDigest = 35
	)
	inc := uint64(1) // any incarnation will do: a new one is a restart
	set := encode(t, newSet())
	var counter crdt.PNCounter
	counter.Inc("us-east", 1)
	ts, _ := hlc.Timestamp(1).MarshalBinary()

	tests := []struct {
		name string
		msg  []byte
		want error
	}{
		{"empty", nil, merge.ErrMalformed},
		{"checksum only", seal(nil), merge.ErrMalformed},
		{"a crdt value", seal(set), merge.ErrMalformed},
		{"a timestamp", seal(ts), merge.ErrMalformed},
		{"unknown kind", seal(body(100, 0, inc)), merge.ErrUnsupported},
		{"future version", seal(append([]byte{0x97, 2, kindAck}, body(kindAck, 0, inc)[3:]...)), merge.ErrUnsupported},
		{"ack with a field more", seal(body(kindAck, 1, inc, u(1))), merge.ErrMalformed},
		{"delta without payload", seal(body(kindDelta, 2, inc, u(0), u(1))), merge.ErrMalformed},
		{"empty interval", seal(body(kindDelta, 3, inc, u(1), u(1), bin(set))), merge.ErrMalformed},
		{"backwards interval", seal(body(kindDelta, 3, inc, u(2), u(1), bin(set))), merge.ErrMalformed},
		{"zero incarnation", seal(body(kindAck, 0, 0)), merge.ErrMalformed},
		{"payload of the wrong type", seal(body(kindDelta, 3, inc, u(0), u(1), bin(encode(t, &counter)))), merge.ErrMalformed},
		{"payload not canonical", seal(body(kindDelta, 3, inc, u(0), u(1), bin(append(set, 0)))), merge.ErrMalformed},
		{"payload as a string", seal(body(kindDelta, 3, inc, u(0), u(1), raw(0xa1, 'x'))), merge.ErrMalformed},
		{"state flag not a bool", seal(body(kindState, 3, inc, u(1), u(1), bin(set))), merge.ErrMalformed},
		{"short digest", seal(body(kindDigest, 2, inc, raw(0xc2), bin(make([]byte, 31)))), merge.ErrMalformed},
		{"huge payload claim", seal(body(kindDelta, 3, inc, u(0), u(1), raw(0xc6, 0xff, 0xff, 0xff, 0xff))), merge.ErrMalformed},
		{"huge sender claim", seal(append(wire.AppendHeader(nil, kindAck, 7), 0xdb, 0xff, 0xff, 0xff, 0xff)), merge.ErrMalformed},
		{"huge field count", seal([]byte{0xdd, 0xff, 0xff, 0xff, 0xff, 1, kindAck}), merge.ErrMalformed},
		{"huge payload element count", seal(body(kindDelta, 3, inc, u(0), u(1), bin([]byte{0x97, 1, 20, 0xc2, 0xdd, 0xff, 0xff, 0xff, 0xff}))), merge.ErrMalformed},
		{"trailing field", seal(append(unseal(msgs["ack"]), 0x01)), merge.ErrMalformed},
		{"field after the checksum", append(bytes.Clone(msgs["ack"]), 0x01), merge.ErrMalformed},
		{"from an unknown replica", seal(bytes.Replace(unseal(msgs["delta"]), []byte("us-east"), []byte("us-eas!"), 1)), merge.ErrUnknownPeer},
		{"to another replica", seal(bytes.Replace(unseal(msgs["delta"]), []byte("eu-west"), []byte("eu-wes!"), 1)), merge.ErrMisaddressed},
		{"from itself", seal(bytes.Replace(unseal(msgs["delta"]), []byte("us-east"), []byte("eu-west"), 1)), merge.ErrUnknownPeer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { refused(t, r, tt.name, tt.msg, tt.want) })
	}

	t.Run("acknowledges deltas never issued", func(t *testing.T) {
		// eu-west has issued 2 deltas; us-east claims to have 1000.
		c, _ := messages(t)
		c.reps[1].Update(func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, "z") })
		m, _ := c.reps[1].Sync("us-east")
		reply, err := c.reps[0].Receive(m)
		if err != nil {
			t.Fatal(err)
		}
		// Rewrite the ack (the last field of the envelope) to 1000: it is
		// ignored, counted, and the full state is due to reset the count.
		b := unseal(reply)
		forged := append(bytes.Clone(b[:len(b)-1]), wire.AppendUint(nil, 1000)...)
		before := c.reps[1].Lag()[0]
		if _, err := c.reps[1].Receive(seal(forged)); err != nil {
			t.Fatalf("forged ack: %v", err)
		}
		after := c.reps[1].Lag()[0]
		if after.Peer != "us-east" || after.AcksIgnored != before.AcksIgnored+1 || after.Acked != before.Acked {
			t.Fatalf("after a forged ack: %+v, before %+v", after, before)
		}
		if m, _ := c.reps[1].Sync("us-east"); m == nil || m[2] != 33 {
			t.Fatalf("the next Sync to us-east: %x, want the full state", m)
		}
	})
}

func TestHugeClaimsAllocateLittle(t *testing.T) {
	c, _ := messages(t)
	r := c.reps[1]
	msg := seal(body(32, 3, 1, u(0), u(1), bin([]byte{0x97, 1, 20, 0xc2, 0xdd, 0x7f, 0xff, 0xff, 0xff})))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 100; i++ {
		if _, err := r.Receive(msg); err == nil {
			t.Fatal("accepted")
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 100; per > 64<<10 {
		t.Fatalf("a message claiming 2^31 elements allocated %d bytes", per)
	}
}
