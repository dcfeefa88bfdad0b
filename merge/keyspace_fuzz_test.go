package merge

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
)

// ksFuzzPair returns two connected keyspaces of sets keyed by strings,
// with a virtual clock, that have exchanged deltas, a catch-up and a
// tree pass, and every message they sent, checksums included.
func ksFuzzPair(t testing.TB) (a, b *Keyspace[string, *crdt.ORSet[string]], msgs [][]byte) {
	t.Helper()
	now := int64(1795628315123) * 1e6
	newSet := func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }
	mk := func(id vclock.ReplicaID, seed byte) *Keyspace[string, *crdt.ORSet[string]] {
		clock := hlc.New(hlc.WithPhysicalClock(func() int64 { return now }))
		return NewKeyspace[string](id, newSet, WithClock(clock), WithMaxDeltas(4), WithRandom(bytes.NewReader(bytes.Repeat([]byte{seed}, 64))))
	}
	a, b = mk("us-east", 1), mk("eu-west", 2)
	a.AddPeer(b.ID())
	b.AddPeer(a.ID())
	exchange := func(from, to *Keyspace[string, *crdt.ORSet[string]]) {
		for {
			msg, err := from.Sync(to.ID())
			if err != nil {
				t.Fatal(err)
			}
			if msg == nil {
				return
			}
			msgs = append(msgs, msg)
			reply, err := to.Receive(msg)
			if err != nil {
				t.Fatal(err)
			}
			if reply != nil {
				msgs = append(msgs, reply)
				if _, err := from.Receive(reply); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for i := range 12 {
		k := fmt.Sprintf("cart-%d", i%5)
		a.Update(k, func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] {
			return s.Add(w, fmt.Sprint("item-", i))
		})
		if i%3 == 0 {
			b.Update(k, func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, "b") })
		}
		if i == 2 || i == 11 {
			exchange(a, b)
			exchange(b, a)
			now += 3e9
		}
	}
	b.Update("only-b", func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, "z") })
	exchange(a, b) // ends the catch-up b acknowledged, so that a tree pass may start
	msg, err := a.SyncDigest(b.ID())
	if err != nil || msg == nil {
		t.Fatalf("SyncDigest: %x, %v", msg, err)
	}
	msgs = append(msgs, msg)
	reply, err := b.Receive(msg)
	if err != nil {
		t.Fatal(err)
	}
	msgs = append(msgs, reply)
	if _, err := a.Receive(reply); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		now += 3e9
		exchange(a, b)
		exchange(b, a)
	}
	if a.Root() != b.Root() {
		t.Fatal("the fuzz seeds' keyspaces did not converge")
	}
	return a, b, msgs
}

// ksSnapshot is what a refused message must leave as it was.
type ksSnapshot struct {
	root uint64
	keys int
}

func snapKS[K Key, T crdt.State[T]](ks *Keyspace[K, T]) ksSnapshot {
	return ksSnapshot{ks.Root(), ks.Len()}
}

// FuzzKeyspaceReceive feeds a keyspace arbitrary bytes, as they are and
// resealed with a valid checksum, so that the decoder behind the checksum
// is reached; it is seeded with every message of a real conversation.
// Whatever the input, Receive must not panic, and an input it refuses
// must leave the keys as they were.
func FuzzKeyspaceReceive(f *testing.F) {
	_, _, msgs := ksFuzzPair(f)
	for _, m := range msgs {
		f.Add(m[:len(m)-checksumLen])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, b, _ := ksFuzzPair(t)
		for _, msg := range [][]byte{body, seal(bytes.Clone(body))} {
			before := snapKS(b)
			if _, err := b.Receive(msg); err != nil {
				var me *MessageError
				if !errors.As(err, &me) {
					t.Fatalf("a refusal that is not a *MessageError: %v", err)
				}
				if after := snapKS(b); after != before {
					t.Fatalf("refused (%v) but changed the keyspace: %+v, was %+v", err, after, before)
				}
			}
		}
	})
}

// FuzzKeyspaceMessage decodes arbitrary bytes as a keyspace message with
// string keys and with int8 keys: the decoder must not panic, and what it
// accepts must encode back to exactly the input (the format is canonical).
func FuzzKeyspaceMessage(f *testing.F) {
	_, _, msgs := ksFuzzPair(f)
	for _, m := range msgs {
		f.Add(m[:len(m)-checksumLen])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		msg := seal(bytes.Clone(body))
		ksRoundTrip(t, msg, newKeyCodec[string]())
		ksRoundTrip(t, msg, newKeyCodec[int8]())
	})
}

func ksRoundTrip[K Key](t *testing.T, msg []byte, c keyCodec[K]) {
	m, err := decodeKSMessage(msg, wire.Limits{}, c)
	if err != nil {
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("an error matching neither ErrMalformed nor ErrUnsupported: %v", err)
		}
		return
	}
	if out := encodeKS(m); !bytes.Equal(out, msg) {
		t.Fatalf("decoded and encoded again:\n%x, want\n%x", out, msg)
	}
}

// encodeKS encodes a decoded message with the package's encoders.
func encodeKS[K Key](m ksMessage[K]) []byte {
	e := &envelope{m.sender, vclock.ReplicaID(m.recipient), m.inc, m.time, m.ackInc, m.ack}
	es := make([]ksOut, len(m.entries))
	for i, x := range m.entries {
		es[i] = ksOut{key: x.enc, payload: x.payload}
	}
	switch m.kind {
	case kindKeyspaceDelta:
		return appendKSDelta(e, m.from, m.to, es)
	case kindKeyspaceAck:
		return appendKSAck(e)
	case kindKeyspaceTree:
		return appendKSTree(e, m.request, m.reply, m.nodes, m.hashes)
	}
	return appendKSStates(e, m.request, m.push, m.reply, m.buckets, es)
}

// TestKeyspaceRefusalsChangeNothing runs the fuzz target's check on
// every seed, each with one byte flipped at every offset.
func TestKeyspaceRefusalsChangeNothing(t *testing.T) {
	_, _, msgs := ksFuzzPair(t)
	_, b, _ := ksFuzzPair(t)
	refused := 0
	for _, m := range msgs {
		for i := 0; i < len(m)-checksumLen; i += 3 {
			bad := bytes.Clone(m[:len(m)-checksumLen])
			bad[i] ^= 0x41
			bad = seal(bad)
			before := snapKS(b)
			if _, err := b.Receive(bad); err != nil {
				refused++
				if after := snapKS(b); after != before {
					t.Fatalf("refused (%v) but changed the keyspace", err)
				}
			}
			ksRoundTrip(t, bad, newKeyCodec[string]())
		}
	}
	if refused == 0 {
		t.Fatal("no corrupted message was refused")
	}
}

// A fuzzStore holds what the fuzzer gives as a store's snapshot and
// record.
type fuzzStore struct{ snapshot, record []byte }

func (s *fuzzStore) Load() (Stored, error) {
	st := Stored{Snapshot: s.snapshot, Next: 1, Records: [][]byte{s.record}}
	return st, nil
}
func (s *fuzzStore) Append([][]byte, hlc.Timestamp) error { return nil }
func (s *fuzzStore) Compact([]byte, uint64) error         { return nil }
func (s *fuzzStore) Close() error                         { return nil }

// FuzzOpenKeyspace gives OpenKeyspace a store holding any snapshot and
// record: it opens the keyspace or refuses the store with an error, and
// never panics; a keyspace it opens encodes what it holds.
func FuzzOpenKeyspace(f *testing.F) {
	newSet := func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }
	store := NewMemoryStore()
	ks, err := OpenKeyspace[string]("a", newSet, store)
	if err != nil {
		f.Fatal(err)
	}
	ks.Update("cart-1", func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, "x") })
	ks.Update("cart-2", func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, "y") })
	ks.Compact()
	ks.Update("cart-1", func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, "z") })
	st, _ := store.Load()
	f.Add(st.Snapshot, st.Records[0])
	f.Add([]byte{0x90}, []byte{0x92, 0xa1, 0x6b, 0xc4, 0x00})
	f.Fuzz(func(t *testing.T, snapshot, record []byte) {
		ks, err := OpenKeyspace[string]("a", newSet, &fuzzStore{snapshot, record})
		if err != nil {
			return
		}
		for k, s := range ks.All() {
			if _, err := s.MarshalBinary(); err != nil {
				t.Fatalf("key %q: opened, and its state does not encode: %v", k, err)
			}
		}
	})
}
